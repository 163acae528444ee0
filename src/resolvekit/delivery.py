"""Where handoff packets go: a Python callback, a JSON Lines queue, or any
:class:`HandoffTarget` (a ticketing system, a webhook...)."""

from __future__ import annotations

import asyncio
import inspect
import json
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from .handoffs import Handoff, redact_handoff
from .redaction import DEFAULT_REDACTOR, Redactor

__all__ = ["CallbackTarget", "HandoffTarget", "JSONLQueue"]


@runtime_checkable
class HandoffTarget(Protocol):
    """Where handoffs go (a ticketing system, a queue, a webhook...)."""

    async def deliver(self, handoff: Handoff) -> None: ...


@dataclass
class CallbackTarget:
    """Deliver each handoff to a Python callable (sync or async).

    The packet is the one the agent built: redacted by its policy (see :func:`build_handoff`).
    """

    callback: Callable[[Handoff], Awaitable[None] | None]

    async def deliver(self, handoff: Handoff) -> None:
        result = self.callback(handoff)
        if inspect.isawaitable(result):
            await result


@dataclass
class JSONLQueue:
    """Append each handoff as one JSON line to a file (a simple, durable work queue).

    Packets are redacted again on write, so one built elsewhere (or with ``redactor=None``)
    reaches the file masked too.
    """

    path: Path | str
    redactor: Redactor | None = field(default=DEFAULT_REDACTOR, kw_only=True)
    """The policy applied to each packet before it is written (None: write it as given)."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    async def deliver(self, handoff: Handoff) -> None:
        handoff = redact_handoff(handoff, self.redactor)
        line = json.dumps(handoff.model_dump(mode="json")) + "\n"
        await asyncio.to_thread(self._append, line)

    def _append(self, line: str) -> None:
        path = Path(self.path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, path.open("a", encoding="utf-8") as handle:
            handle.write(line)

    def read(self) -> list[Handoff]:
        """All handoffs in the queue, oldest first."""
        path = Path(self.path)
        if not path.exists():
            return []
        return [
            Handoff.model_validate_json(line)
            for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
