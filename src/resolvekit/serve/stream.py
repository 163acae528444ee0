"""Server-Sent Events for one turn: what a UI renders while the agent works."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from ..exceptions import ResolvekitError
from .errors import error_for
from .turns import result_json

if TYPE_CHECKING:
    from ..results import TurnResult
    from .config import ServedAgent

__all__ = ["EVENTS", "LiveEvents", "sse"]

log = logging.getLogger("resolvekit.serve")

EVENTS = (
    "tool_started",
    "tool_finished",
    "token",
    "retract",
    "delta",
    "escalated",
    "confirmation",
    "done",
    "error",
)
"""The event types of a stream, in the order a UI may meet them (``done`` or ``error`` last)."""

_CONFIRMATIONS = ("confirm", "tool_confirm", "resume")

_SENTENCE_END = re.compile(r"(?:[.!?]\s|\n)")
"""Where redacted token text may be released: no built-in redaction pattern spans a sentence
end (a ``.``, ``!`` or ``?`` followed by white space) or a line break."""

PING_SECONDS = 15.0
"""A stream with no event for this long gets a comment line (``: ping``), which SSE clients
ignore, so that proxies do not close it while a slow tool or model works."""


def sse(event: str, data: Any) -> bytes:
    """One Server-Sent Event."""
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


class LiveEvents:
    """Turns the engine's live events (:mod:`resolvekit.live`) into redacted stream events."""

    def __init__(self, agent: ServedAgent) -> None:
        self.agent = agent
        self.queue: asyncio.Queue[tuple[str, Any] | None] = asyncio.Queue()
        self.last_said = ""
        self.held = ""
        """Token text not yet sent: with a redaction policy, tokens are released a sentence at
        a time (each sentence redacted), so that no number or address goes out in pieces the
        policy cannot recognise."""
        self.shown = False
        """Token text was sent since the last ``delta`` or ``retract``."""
        self.started = asyncio.Event()
        """Set by the first event, or when the turn ends without one."""

    def _redact(self, value: Any) -> Any:
        redactor = self.agent.redaction
        return value if redactor is None else redactor.redact_value(value)

    def __call__(self, kind: str, data: dict[str, Any]) -> None:
        """The observer: called in the turn's task, never blocks."""
        if kind == "tool_started":
            event: tuple[str, Any] = (
                "tool_started",
                {"tool": data.get("tool"), "args": self._redact(data.get("args") or {})},
            )
        elif kind == "tool":
            status = data.get("status") or "error"
            finished = {"tool": data.get("tool"), "status": status}
            if status != "done":
                finished["error"] = data.get("kind")
            event = ("tool_finished", finished)
        elif kind == "token":
            text = self._release(str(data.get("text", "")))
            if not text:
                return
            self.shown = True
            event = ("token", {"text": text})
        elif kind == "retract":
            self.held = ""
            if not self.shown:
                return
            self.shown = False
            event = ("retract", {})
        elif kind == "say":
            self.last_said = str(data.get("text", ""))
            self.held, self.shown = "", False
            event = ("delta", {"text": self._redact(self.last_said)})
        elif kind == "escalation":
            event = (
                "escalated",
                {
                    "reason": self._redact(data.get("reason")),
                    "priority": data.get("priority"),
                },
            )
        else:
            return
        self.queue.put_nowait(event)
        self.started.set()

    def _release(self, text: str) -> str:
        """What of the token text may be sent now (redacted), holding back an unfinished
        sentence when there is a redaction policy."""
        if self.agent.redaction is None:
            return text
        self.held += text
        ends = list(_SENTENCE_END.finditer(self.held))
        if not ends:
            return ""
        cut = ends[-1].end()
        ready, self.held = self.held[:cut], self.held[cut:]
        return str(self._redact(ready))

    async def first(self, task: asyncio.Task[TurnResult]) -> None:
        """Wait for the first event or the end of the turn, so that a turn refused before it
        began (an empty message, a store that is down) answers a plain HTTP error instead of
        a stream; raises that error."""
        task.add_done_callback(lambda _: self.started.set())
        await self.started.wait()
        if task.done() and not task.cancelled() and task.exception() is not None:
            task.result()

    async def events(self, task: asyncio.Task[TurnResult]) -> AsyncIterator[bytes]:
        """The stream: live events until the turn ends, then ``confirmation`` (when the turn
        waits for a yes or no), then ``done`` with the result, or ``error``."""
        task.add_done_callback(lambda _: self.queue.put_nowait(None))
        while True:
            try:
                item = await asyncio.wait_for(self.queue.get(), PING_SECONDS)
            except TimeoutError:  # a comment line keeps proxies from closing a quiet stream
                yield b": ping\n\n"
                continue
            if item is None:
                break
            yield sse(*item)
        try:
            result = task.result()
        except ResolvekitError as exc:
            error = error_for(exc)
            yield sse("error", error.body()["error"])
            return
        except Exception as exc:  # the turn task itself failed outside the agent
            log.exception("a streamed turn failed")
            yield sse("error", {"code": "internal", "message": type(exc).__name__})
            return
        data = result_json(self.agent, result)
        if result.duplicate and data["reply"]:  # a retry: nothing ran, the stored reply
            yield sse("delta", {"text": data["reply"]})
        if result.pending in _CONFIRMATIONS:
            prompt = self.last_said or result.reply.rsplit("\n", 1)[-1]
            yield sse(
                "confirmation",
                {
                    "question_id": result.question_id,
                    "prompt": self._redact(prompt),
                    "options": data["options"],
                },
            )
        yield sse("done", data)
