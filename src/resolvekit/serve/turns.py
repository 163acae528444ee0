"""Turns in flight: each runs in a task of its own, so a client that leaves does not stop it,
and shutdown waits for all of them; plus the redacted traces of recent turns."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import OrderedDict, deque
from typing import TYPE_CHECKING, Any

from ..live import TurnObserver, observe
from .errors import ApiError

if TYPE_CHECKING:
    from ..results import TraceEvent, TurnResult
    from .config import ServedAgent

__all__ = ["TURN_FIELDS", "Turns", "result_json"]

TURN_FIELDS = (
    "reply",
    "outcome",
    "intent",
    "pending",
    "question_id",
    "options",
    "citations",
    "handoff",
    "duplicate",
    "confidence",
    "conversation_id",
)
"""What the API returns of a :class:`~resolvekit.TurnResult` (its redacted export)."""

TRACES_PER_CUSTOMER = 20


def result_json(agent: ServedAgent, result: TurnResult) -> dict[str, Any]:
    """The API's view of a turn: :data:`TURN_FIELDS` of the result's export, redacted with the
    agent's policy."""
    # the fields left out are emptied first: redacting a whole trace per turn costs more than
    # the turn itself
    exported = dataclasses.replace(result, trace=[], slots={}, error=None).export(agent.redaction)
    return {name: exported.get(name) for name in TURN_FIELDS}


class Turns:
    """Runs turns detached from the request that asked for them."""

    def __init__(self, agent: ServedAgent, recent_traces: int) -> None:
        self.agent = agent
        self.tasks: set[asyncio.Task[TurnResult]] = set()
        self.draining = False
        self._traces: OrderedDict[str, deque[tuple[str | None, float, list[TraceEvent]]]] = (
            OrderedDict()
        )
        self._recent = recent_traces

    def start(
        self,
        customer_id: str,
        text: str,
        *,
        channel: str,
        message_id: str | None,
        reply_to: str | None,
        deps: Any = None,
        observer: TurnObserver | None = None,
    ) -> asyncio.Task[TurnResult]:
        """Start the turn in its own task (which ``observer`` watches, if given)."""
        if self.draining:
            raise ApiError(503, "shutting_down", "the server is shutting down", retry_after=1)
        coro = self.agent.handle(
            customer_id,
            text,
            channel=channel,
            deps=deps,
            message_id=message_id,
            reply_to=reply_to,
        )
        if observer is None:
            task = asyncio.create_task(coro)
        else:
            with observe(observer):  # the task copies the context, observer included
                task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(lambda done: self._finished(customer_id, message_id, done))
        return task

    def _finished(
        self, customer_id: str, message_id: str | None, task: asyncio.Task[TurnResult]
    ) -> None:
        self.tasks.discard(task)
        if task.cancelled() or task.exception() is not None or self._recent <= 0:
            return
        result = task.result()
        if result.duplicate:
            return
        # kept raw, redacted when read: most traces are never read
        kept = self._traces.pop(customer_id, None) or deque(maxlen=TRACES_PER_CUSTOMER)
        kept.append((message_id, time.time(), result.trace))
        self._traces[customer_id] = kept
        while len(self._traces) > self._recent:
            self._traces.popitem(last=False)

    def traces(self, customer_id: str) -> list[dict[str, Any]] | None:
        """The customer's recent turns' redacted traces in this process, oldest first."""
        kept = self._traces.get(customer_id)
        if not kept:
            return None
        redactor = self.agent.redaction
        return [
            {
                "message_id": message_id,
                "at": at,
                "trace": [
                    {
                        "kind": e.kind,
                        "data": e.data if redactor is None else redactor.redact_value(e.data),
                        "at": e.at,
                    }
                    for e in trace
                ],
            }
            for message_id, at, trace in kept
        ]

    def ran(self, customer_id: str, message_id: str | None, at: float) -> bool:
        """Whether this process ran the customer's turn of ``message_id`` (when the message had
        none: a turn that ended after ``at``, the time the message was taken in) and still
        keeps its trace."""
        kept = self._traces.get(customer_id) or ()
        if message_id is not None:
            return any(kept_id == message_id for kept_id, _, _ in kept)
        return any(ended >= at for _, ended, _ in kept)

    async def drain(self, wait: float) -> int:
        """Refuse new turns and wait up to ``wait`` seconds for those running.

        Returns:
            How many were still running after ``wait``.
        """
        self.draining = True
        if not self.tasks:
            return 0
        _, pending = await asyncio.wait(set(self.tasks), timeout=wait)
        return len(pending)
