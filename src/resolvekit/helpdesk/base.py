"""The delivery loop every helpdesk target shares: write ahead to the outbox, send with retries,
defer what fails for now, bury what is refused for good."""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypedDict, Unpack

from .._retry import backoff_delay, retry_async
from ..exceptions import UserError
from ..handoffs import Handoff, redact_handoff
from ..redaction import DEFAULT_REDACTOR, Redactor
from ._http import Permanent, Transient
from .outbox import Outbox, OutboxEntry

__all__ = ["DeliveryPolicy", "FlushReport", "OutboxTarget", "TargetOptions", "handoff_key"]

log = logging.getLogger("resolvekit.helpdesk")

Fate = Literal["delivered", "deferred", "dead"]


def handoff_key(handoff: Handoff, target: str) -> str:
    """The idempotency key of one handoff at one target: the same on every attempt and every
    process (derived from the conversation id and the handoff's resume token), and short
    enough for a Freshdesk tag (26 characters)."""
    digest = hashlib.sha256(
        f"{target}\n{handoff.conversation_id}\n{handoff.resume_token}".encode()
    ).hexdigest()
    return "rk" + digest[:24]


@dataclass(kw_only=True)
class DeliveryPolicy:
    """How hard a target tries before a packet waits, and before it is given up on."""

    attempts: int = 3
    """HTTP attempts per delivery or sweep, with backoff in between (``Retry-After`` wins)."""
    initial_wait: float = 0.5
    """The first wait between attempts in one delivery, in seconds (doubling, with jitter)."""
    max_wait: float = 20.0
    """Longest wait inside one delivery; a ``Retry-After`` longer than this defers the packet
    to a later sweep instead of holding the caller."""
    sweep_wait: float = 30.0
    """After a failed delivery, the first wait before a sweep retries it (doubling per failed
    sweep, capped by ``max_sweep_wait``)."""
    max_sweep_wait: float = 600.0
    """Longest wait between two sweeps' attempts of one packet."""
    max_attempts: int = 100
    """After this many HTTP attempts in all the packet goes to the dead-letter file."""
    timeout: float = 10.0
    """Seconds per HTTP request."""
    inline_sweep: int = 5
    """After a delivery that succeeded, at most this many waiting packets are re-sent in the
    same call (the customer's turn waits for them); the sweep sends the rest."""

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.max_attempts < 1:
            raise UserError("DeliveryPolicy: attempts and max_attempts must be >= 1")
        if min(self.initial_wait, self.max_wait, self.sweep_wait, self.timeout) < 0:
            raise UserError("DeliveryPolicy: waits and timeout must be >= 0")


class TargetOptions(TypedDict, total=False):
    """Keyword options every helpdesk target takes."""

    policy: DeliveryPolicy | None
    """Retries, timeouts and when to give up (default: :class:`DeliveryPolicy`)."""
    redactor: Redactor | None
    """The policy applied to the packet before it is stored or sent (default:
    :data:`~resolvekit.DEFAULT_REDACTOR`; None: as given)."""
    clock: Callable[[], float]
    """The time source (tests simulate an hour passing)."""
    sleep: Callable[[float], Awaitable[None]] | None
    """The async sleep between attempts (tests record the waits instead)."""


@dataclass(kw_only=True)
class FlushReport:
    """What one sweep did: keys of packets delivered, still waiting, and given up on."""

    delivered: list[str] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)
    dead: list[str] = field(default_factory=list)


class OutboxTarget:
    """A :class:`~resolvekit.HandoffTarget` that never loses a packet.

    :meth:`deliver` writes the redacted packet to the outbox, then tries to send it; what fails
    for now waits for a later sweep (:meth:`flush`, also run after every delivery, or
    ``resolvekit deliver --retry``); what the receiver refuses for good, or still fails after
    ``policy.max_attempts``, goes to the dead-letter file with the reason. Every attempt carries
    the same idempotency key. Subclasses implement :meth:`_send`.
    """

    kind = "target"

    def __init__(
        self, *, endpoint: str, outbox: Path | str | Outbox, **options: Unpack[TargetOptions]
    ) -> None:
        if not endpoint.startswith(("http://", "https://")):
            raise UserError(f"{type(self).__name__}: not an http(s) URL: {endpoint!r}")
        if importlib.util.find_spec("httpx2") is None:
            raise UserError(
                f'{type(self).__name__} needs httpx2: pip install "resolvekit[helpdesk]"'
            )
        self.endpoint = endpoint.rstrip("/")
        self.clock = options.get("clock", time.time)
        self.outbox = outbox if isinstance(outbox, Outbox) else Outbox(outbox, clock=self.clock)
        self.policy = options.get("policy") or DeliveryPolicy()
        self.redactor = options.get("redactor", DEFAULT_REDACTOR)
        self.sleep = options.get("sleep")
        self._busy: set[str] = set()

    @property
    def name(self) -> str:
        """How the outbox tells this target's packets from others' sharing the directory."""
        return f"{self.kind}:{self.endpoint}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.endpoint!r})"

    async def deliver(self, handoff: Handoff) -> None:
        """Keep the redacted packet in the outbox, then send it; when that worked, also re-send
        up to ``policy.inline_sweep`` waiting packets (the helpdesk is back).

        Runs inside the customer's turn (``Agent`` awaits its targets before it returns), so
        keep ``attempts`` x ``timeout`` small there; the sweep has all the time it needs.
        Never raises for the receiver's failures: the packet waits or is dead-lettered (logged).
        """
        handoff = redact_handoff(handoff, self.redactor)
        key = handoff_key(handoff, self.name)
        entry = await asyncio.to_thread(self.outbox.get, key)
        if entry is None:
            now = self.clock()
            entry = OutboxEntry(
                key=key,
                target=self.name,
                packet=handoff.model_dump(mode="json"),
                created_at=now,
                next_at=now,
            )
            await asyncio.to_thread(self.outbox.save, entry)
        if await self._attempt(entry) == "delivered" and self.policy.inline_sweep > 0:
            await self.flush(limit=self.policy.inline_sweep)

    async def flush(self, *, limit: int | None = None) -> FlushReport:
        """Re-send the packets of this target whose next attempt is due, oldest first (the
        sweep; at most ``limit`` of them)."""
        report = FlushReport()
        due = await asyncio.to_thread(self.outbox.due, self.name)
        for entry in due[:limit]:
            fate = await self._attempt(entry)
            if fate is not None:
                getattr(report, fate).append(entry.key)
        return report

    async def _attempt(self, entry: OutboxEntry) -> Fate | None:
        if entry.key in self._busy:
            return None  # another task of this process is sending it right now
        self._busy.add(entry.key)
        try:
            return await self._attempt_unlocked(entry)
        finally:
            self._busy.discard(entry.key)

    async def _attempt_unlocked(self, entry: OutboxEntry) -> Fate:
        import httpx2

        policy = self.policy

        async def once() -> None:
            entry.attempts += 1
            await self._send(entry, client)

        def retryable(exc: BaseException) -> bool:
            if not isinstance(exc, Transient):
                return False
            return exc.retry_after is None or exc.retry_after <= policy.max_wait

        try:
            async with httpx2.AsyncClient(timeout=policy.timeout) as client:
                await retry_async(
                    once,
                    attempts=policy.attempts,
                    retry_on=retryable,
                    initial=policy.initial_wait,
                    max_wait=policy.max_wait,
                    retry_after=lambda exc: getattr(exc, "retry_after", None),
                    sleep=self.sleep,
                    what=f"handoff delivery to {self.name}",
                )
        except Permanent as exc:
            return await self._bury(entry, f"refused: {exc}")
        except (KeyError, TypeError, ValueError) as exc:  # a 2xx we cannot read: counted, kept
            return await self._defer(entry, Transient(f"unexpected answer: {exc!r}"))
        except Transient as exc:
            return await self._defer(entry, exc)
        await asyncio.to_thread(self.outbox.remove, entry.key)
        return "delivered"

    async def _defer(self, entry: OutboxEntry, exc: Transient) -> Fate:
        """Keep the packet for a later sweep (or bury it after ``max_attempts``)."""
        policy = self.policy
        entry.last_error = str(exc)
        if entry.attempts >= policy.max_attempts:
            return await self._bury(entry, f"gave up after {entry.attempts} attempts: {exc}")
        rounds = max(1, -(-entry.attempts // policy.attempts))
        wait = backoff_delay(
            rounds, initial=policy.sweep_wait, max_wait=policy.max_sweep_wait, jitter=0.2
        )
        entry.next_at = self.clock() + max(wait, exc.retry_after or 0.0)
        await asyncio.to_thread(self.outbox.save, entry)
        log.warning("handoff %s to %s waits in the outbox: %s", entry.key, self.name, exc)
        return "deferred"

    async def _bury(self, entry: OutboxEntry, reason: str) -> Fate:
        await asyncio.to_thread(self.outbox.bury, entry, reason)
        log.error(
            "handoff %s to %s moved to the dead-letter file %s: %s",
            entry.key,
            self.name,
            self.outbox.dead_letter_path,
            reason,
        )
        return "dead"

    async def _save_progress(self, entry: OutboxEntry) -> None:
        """Persist what a multi-step delivery has done, before the next step."""
        await asyncio.to_thread(self.outbox.save, entry)

    async def _send(self, entry: OutboxEntry, client: Any) -> None:
        """Send one packet once; raise ``Transient`` or ``Permanent`` from ``_http``."""
        raise NotImplementedError
