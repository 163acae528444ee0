"""A durable outbox for handoff packets: one file per packet waiting to be delivered, and a
dead-letter file for the packets that could not be.

The outbox is written *ahead* of the first attempt, so a crash at any instant leaves the packet
on disk: it is re-sent by the next :meth:`~resolvekit.helpdesk.OutboxTarget.flush` with the same
idempotency key, and a receiver that dedupes on that key sees it once. A packet leaves the
outbox only when the receiver acknowledged it, or to the dead-letter file with the reason.

Layout of the directory::

    pending/<key>.json      one packet waiting (written atomically: temp file, fsync, rename)
    dead_letter.jsonl       one JSON line per packet given up on, with the reason
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._json import dump, load

__all__ = ["DeadLetter", "Outbox", "OutboxEntry"]

log = logging.getLogger("resolvekit.helpdesk")


@dataclass(kw_only=True)
class OutboxEntry:
    """One handoff packet waiting for its target."""

    key: str
    """The idempotency key: stable for one handoff and one target, sent with every attempt."""
    target: str
    """Which target owns the entry (``webhook:https://...``, ``zendesk:https://...``)."""
    packet: dict[str, Any]
    """The redacted handoff, as JSON data."""
    created_at: float
    """When the packet was first handed to the target."""
    next_at: float
    """Not re-sent by a sweep before this time."""
    attempts: int = 0
    """HTTP attempts made so far."""
    last_error: str | None = None
    """Why the last attempt failed."""
    progress: dict[str, Any] = field(default_factory=dict)
    """What a multi-step delivery has done already (a Freshdesk ticket id, a note sent...)."""


@dataclass(kw_only=True)
class DeadLetter:
    """A packet given up on: after too many attempts, or refused for good (a 4xx)."""

    entry: OutboxEntry
    reason: str
    dead_at: float


class Outbox:
    """Packets waiting for delivery, in files under ``directory`` (created when needed).

    Args:
        directory: where the ``pending/`` files and ``dead_letter.jsonl`` live.
        clock: the time source (tests pass a simulated clock).
    """

    def __init__(self, directory: Path | str, *, clock: Callable[[], float] = time.time) -> None:
        self.directory = Path(directory)
        self.clock = clock
        self._lock = threading.Lock()

    @property
    def dead_letter_path(self) -> Path:
        """The dead-letter file (JSON Lines)."""
        return self.directory / "dead_letter.jsonl"

    def _pending_dir(self) -> Path:
        return self.directory / "pending"

    def _path(self, key: str) -> Path:
        if not key or "/" in key or key.startswith("."):
            raise ValueError(f"not an outbox key: {key!r}")
        return self._pending_dir() / f"{key}.json"

    def get(self, key: str) -> OutboxEntry | None:
        """The waiting entry with this key, or None."""
        path = self._path(key)
        try:
            return load(OutboxEntry, json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return None

    def save(self, entry: OutboxEntry) -> None:
        """Write ``entry`` durably (a crash leaves the old file or the new one, never half)."""
        path = self._path(entry.key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{entry.key}.{os.getpid()}.{threading.get_ident()}.tmp")
        data = json.dumps(dump(entry), ensure_ascii=False).encode("utf-8")
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)

    def remove(self, key: str) -> None:
        """Forget a delivered entry."""
        self._path(key).unlink(missing_ok=True)

    def pending(self, target: str | None = None) -> list[OutboxEntry]:
        """Every waiting entry (of one target if given), oldest first.

        A file that cannot be read is logged and left where it is (never deleted).
        """
        folder = self._pending_dir()
        if not folder.is_dir():
            return []
        entries = []
        for path in sorted(folder.glob("*.json")):
            try:
                entry = load(OutboxEntry, json.loads(path.read_text(encoding="utf-8")))
            except FileNotFoundError:
                continue  # delivered meanwhile
            except ValueError as exc:
                log.error("outbox file %s is damaged and is left in place: %s", path, exc)
                continue
            if target is None or entry.target == target:
                entries.append(entry)
        return sorted(entries, key=lambda e: (e.created_at, e.key))

    def due(self, target: str) -> list[OutboxEntry]:
        """The target's waiting entries whose next attempt is due, oldest first."""
        now = self.clock()
        return [e for e in self.pending(target) if e.next_at <= now]

    def bury(self, entry: OutboxEntry, reason: str) -> DeadLetter:
        """Move ``entry`` to the dead-letter file with ``reason`` (appended and synced first,
        then the pending file removed: a crash in between leaves both, never neither)."""
        letter = DeadLetter(entry=entry, reason=reason, dead_at=self.clock())
        line = json.dumps(dump(letter), ensure_ascii=False) + "\n"
        self.directory.mkdir(parents=True, exist_ok=True)
        with self._lock, open(self.dead_letter_path, "a", encoding="utf-8") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())
        self.remove(entry.key)
        return letter

    def dead_letters(self) -> list[DeadLetter]:
        """Every packet given up on, oldest first."""
        if not self.dead_letter_path.exists():
            return []
        lines = self.dead_letter_path.read_text(encoding="utf-8").splitlines()
        return [load(DeadLetter, json.loads(line)) for line in lines if line.strip()]

    def requeue(self) -> int:
        """Put every dead letter back in the outbox (attempts reset, due now) and empty the
        dead-letter file: after fixing what refused them (a token, a field). Returns how many."""
        letters = self.dead_letters()
        for letter in letters:
            entry = letter.entry
            entry.attempts, entry.next_at = 0, self.clock()
            entry.last_error = f"requeued after: {letter.reason}"
            self.save(entry)
        if letters:
            with self._lock:
                self.dead_letter_path.write_text("", encoding="utf-8")
        return len(letters)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
