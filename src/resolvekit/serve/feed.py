"""A customer's messages after a point, read from the store: ``GET
/v1/customers/{customer_id}/messages?after=<cursor>&wait=<seconds>`` (``docs/serving.md``).

What a human agent writes in the console, and what the bot says when the conversation is
handed back or an approval is decided, is written to the conversation's transcript by another
process than the one serving the customer's client. The feed reads the store (never this
process's memory), so any worker answers it: a long poll reads the customer's conversation every
``ServeConfig.feed_interval`` seconds and answers as soon as there is something new (a line, a
change of status) or when ``wait`` runs out.

A cursor is opaque to clients. It names the last line they were given (the conversation, the
line's time and which of the lines of that time it is, so clocks that disagree between workers
do not matter) and the status they saw.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import ApiError
from .views import VISIBLE_ROLES, line_json, pending_json

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from ..messages import Message
    from ..sessions import Conversation
    from .auth import Gate
    from .config import ServedAgent
    from .turns import Turns

__all__ = ["MAX_LINES", "MAX_WAIT", "Cursor", "Feed"]

MAX_WAIT = 30.0
"""The longest ``wait`` a long poll may ask for (seconds)."""
MAX_LINES = 100
"""Lines per answer; ``more`` says there are others (ask again from the cursor)."""
_PREFIX = "c1."
_STATUSES = frozenset({"open", "handed_off", "closed"})


@dataclass(frozen=True, kw_only=True)
class Cursor:
    """Where a client is: after the ``nth`` line stamped ``at`` of ``conversation_id``, having
    seen ``status``. The start: nothing seen."""

    conversation_id: str | None = None
    at: float | None = None
    """The time of the last line given; None: no line yet (the conversation's start)."""
    nth: int = 0
    """Which of the lines stamped ``at`` it was (1 for the first)."""
    status: str | None = None

    def encode(self) -> str:
        raw = json.dumps([self.conversation_id, self.at, self.nth, self.status])
        return _PREFIX + base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """The cursor ``text`` encodes.

        Raises:
            ApiError: 400 ``invalid_cursor`` when it is not one this service gave.
        """
        try:
            if not text.startswith(_PREFIX) or len(text) > 1000:
                raise ValueError("not a cursor")
            body = text[len(_PREFIX) :]
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            conversation_id, at, nth, status = json.loads(raw)
            return cls(
                conversation_id=None if conversation_id is None else _checked(conversation_id, str),
                at=None if at is None else float(_checked(at, int | float)),
                nth=_checked(nth, int),
                status=None if status is None else _status(status),
            )
        except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
            raise ApiError(
                400, "invalid_cursor", "the cursor is not one this service gave"
            ) from None

    @classmethod
    def after(cls, conversation: Conversation, lines: int) -> Cursor:
        """The cursor of a client given the first ``lines`` lines of the transcript."""
        transcript = conversation.transcript[:lines]
        if not transcript:
            return cls(conversation_id=conversation.id, status=conversation.status)
        at = transcript[-1].at
        nth = sum(1 for line in transcript if line.at == at)
        return cls(conversation_id=conversation.id, at=at, nth=nth, status=conversation.status)

    def position(self, transcript: list[Message]) -> int:
        """How many lines of ``transcript`` (this cursor's conversation's) the client has."""
        if self.at is None:
            return 0
        seen = 0
        for index, line in enumerate(transcript):
            if line.at == self.at:
                seen += 1
                if seen == self.nth:
                    return index + 1
        # the line moved to the archive (a long conversation): what came after it, by time
        return next((i for i, line in enumerate(transcript) if line.at > self.at), len(transcript))


def _checked(value: Any, kind: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, kind):
        raise TypeError("a cursor field of the wrong type")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("a cursor time that is not finite")
    if isinstance(value, int) and value < 0:
        raise ValueError("a negative cursor count")
    return value


def _status(value: Any) -> str:
    if value not in _STATUSES:
        raise ValueError("an unknown status")
    return str(value)


class Feed:
    """Answers ``GET .../messages`` from the store."""

    def __init__(self, agent: ServedAgent, gate: Gate, turns: Turns, interval: float) -> None:
        self.agent = agent
        self.gate = gate
        self.turns = turns
        self.interval = interval

    async def messages(self, request: Request) -> Response:
        """The customer's lines after ``after``, waiting up to ``wait`` seconds for one."""
        from starlette.responses import JSONResponse

        customer_id = await self.gate.customer(request)
        query = request.query_params
        cursor = Cursor.decode(query["after"]) if query.get("after") else Cursor()
        wait = _wait(query.get("wait"))
        deadline = time.monotonic() + wait
        while True:
            answer, news = await self.read(customer_id, cursor)
            left = deadline - time.monotonic()
            if news or left <= 0 or self.turns.draining or await request.is_disconnected():
                return JSONResponse(answer, headers={"Cache-Control": "no-store"})
            await asyncio.sleep(min(self.interval, left))

    async def read(self, customer_id: str, cursor: Cursor) -> tuple[dict[str, Any], bool]:
        """The answer for a client at ``cursor``, and whether it holds anything new."""
        store = self.agent.store
        current = await store.open_conversation(customer_id)
        earlier: Conversation | None = None
        if cursor.conversation_id is not None and (
            current is None or current.id != cursor.conversation_id
        ):
            # the client's conversation was closed: the rest of it first, if it is theirs
            found = await store.get(cursor.conversation_id)
            if found is not None and found.customer_id == customer_id:
                earlier = found
        lines: list[dict[str, Any]] = []
        last = cursor
        more = False
        for conversation, start in self._parts(cursor, earlier, current):
            for index in range(start, len(conversation.transcript)):
                line = conversation.transcript[index]
                if line.role not in VISIBLE_ROLES or not line.text:
                    continue
                if len(lines) == MAX_LINES:
                    more = True
                    break
                last = Cursor.after(conversation, index + 1)
                lines.append({**line_json(self.agent, line), "cursor": last.encode()})
            if more:
                break
            # a client given every line of a conversation is at its end, status included
            last = Cursor.after(conversation, len(conversation.transcript))
        shown = current if current is not None and not more else earlier
        answer: dict[str, Any] = {
            "conversation_id": shown.id if shown else None,
            "status": shown.status if shown else None,
            "pending": None,
            "messages": lines,
            "cursor": last.encode(),
            "more": more,
        }
        if shown is not None and shown is current and current.pending is not None:
            pending = pending_json(self.agent, current)
            redactor = self.agent.redaction
            answer["pending"] = pending if redactor is None else redactor.redact_value(pending)
        news = bool(lines) or (last.conversation_id, last.status) != (
            cursor.conversation_id,
            cursor.status,
        )
        return answer, news

    @staticmethod
    def _parts(
        cursor: Cursor, earlier: Conversation | None, current: Conversation | None
    ) -> list[tuple[Conversation, int]]:
        """The conversations to read, with the index to read each from."""
        parts: list[tuple[Conversation, int]] = []
        if earlier is not None:
            parts.append((earlier, cursor.position(earlier.transcript)))
        if current is not None:
            mine = current.id == cursor.conversation_id
            parts.append((current, cursor.position(current.transcript) if mine else 0))
        return parts


def _wait(text: str | None) -> float:
    if text is None or text == "":
        return 0.0
    try:
        wait = float(text)
    except ValueError:
        wait = -1.0
    if not 0 <= wait <= MAX_WAIT:  # NaN too
        raise ApiError(
            422, "invalid_request", f"wait is a number of seconds from 0 to {MAX_WAIT:g}"
        )
    return wait
