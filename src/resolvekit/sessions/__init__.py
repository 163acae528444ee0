"""Conversations and where they are kept.

A :class:`Conversation` holds everything needed to continue talking to a customer on any channel
and in any process: the transcript, the playbook runs with their journals, what the agent is
waiting for, facts the customer gave, and the handoff if a human took over. It serialises to plain
JSON. A :class:`Store` keeps conversations keyed by customer; :func:`open_store` builds one from a
URL (``"memory://"``, ``"sqlite:///path/to.db"``, ``"postgresql://host/db"``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic_core import from_json, to_json

from ..exceptions import CorruptStore, UserError
from ..messages import Message, Usage

__all__ = [
    "DEFAULT_WRITE_DEADLINE",
    "FREE_RUN",
    "MAX_RECEIPTS",
    "PROCESS_ID",
    "Conversation",
    "PendingState",
    "PlaybookRun",
    "Step",
    "Store",
    "open_store",
]

FREE_RUN = "_free"
"""Id and intent of the run that journals free-mode tool calls."""

PROCESS_ID = uuid.uuid4().hex[:16]
"""This process's identity in journals and locks (a new one per process start)."""

MAX_RECEIPTS = 100
"""Message ids remembered per conversation for idempotent delivery."""

DEFAULT_WRITE_DEADLINE = 300.0
"""Seconds after which a started write without its own deadline is taken as interrupted."""

StepKind = Literal["call", "ask", "confirm", "search", "say", "remember"]
StepStatus = Literal["pending", "started", "done", "error"]
RunStatus = Literal[
    "collecting",
    "waiting",
    "suspended",
    "resolved",
    "escalated",
    "refused",
    "cancelled",
    "failed",
    "free",
]
"""``free`` marks the journal of tool calls made in free agentic mode (never replayed)."""


@dataclass(kw_only=True)
class Step:
    """One journaled ``ctx.*`` call of a playbook run."""

    index: int
    kind: StepKind
    key: str
    """Tool name, question text, search query, fact name..."""
    args: dict[str, Any] = field(default_factory=dict)
    status: StepStatus = "done"
    """``pending``: waiting for the customer; ``started``: a write begun but not known to have
    finished (journaled ahead of the call); ``done``; ``error``."""
    result: Any = None
    error: dict[str, Any] | None = None
    effect: str | None = None
    idempotency_key: str | None = None
    at: float = field(default_factory=time.time)
    evidence: dict[str, Any] | None = None
    """For an answered ``confirm``: how the answer was read (the customer's words, the message
    id, the confirmation id it answers, the model's and the engine's readings), the proof of
    consent behind a confirmed write."""
    deadline: float | None = None
    """For a ``started`` call: the time by which its outcome is known (timeout and retries
    included). Until then a live process may still be running it; after it, with the
    customer's lock free, the call is treated as interrupted by a crash."""
    owner: str | None = None
    """For a ``started`` call: the process that started it (see :data:`PROCESS_ID`)."""

    def to_json(self) -> dict[str, Any]:
        data = {
            "index": self.index,
            "kind": self.kind,
            "key": self.key,
            "args": self.args,
            "status": self.status,
            "result": self.result,
            "error": self.error,
            "effect": self.effect,
            "idempotency_key": self.idempotency_key,
            "at": self.at,
        }
        for name in ("evidence", "deadline", "owner"):
            if getattr(self, name) is not None:
                data[name] = getattr(self, name)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Step:
        return cls(**data)


@dataclass(kw_only=True)
class PlaybookRun:
    """One execution of an intent's playbook, possibly across many customer turns."""

    id: str
    intent: str
    slots: dict[str, Any] = field(default_factory=dict)
    """Slot values collected so far (JSON-compatible)."""
    status: RunStatus = "collecting"
    journal: list[Step] = field(default_factory=list)
    superseded: list[Step] = field(default_factory=list)
    """Steps discarded by a slot correction, kept for the audit trail."""
    summary: str = ""
    opening: str = ""
    """The customer message that started the run (what the customer asked for, in their words)."""
    started_at: float = field(default_factory=time.time)
    queued: bool = False
    """Asked for in the same message as an earlier request and not started yet."""
    base: int = 0
    """The index of ``journal[0]``: earlier steps were moved to the archive (free mode's
    journal only; a playbook run is archived whole once finished)."""

    @property
    def active(self) -> bool:
        return self.status in ("collecting", "waiting")

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "intent": self.intent,
            "slots": self.slots,
            "status": self.status,
            "journal": [s.to_json() for s in self.journal],
            "superseded": [s.to_json() for s in self.superseded],
            "summary": self.summary,
            "opening": self.opening,
            "started_at": self.started_at,
            "queued": self.queued,
            "base": self.base,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PlaybookRun:
        return cls(
            id=data["id"],
            intent=data["intent"],
            slots=data.get("slots", {}),
            status=data.get("status", "collecting"),
            journal=[Step.from_json(s) for s in data.get("journal", [])],
            superseded=[Step.from_json(s) for s in data.get("superseded", [])],
            summary=data.get("summary", ""),
            opening=data.get("opening", ""),
            started_at=data.get("started_at", 0.0),
            queued=data.get("queued", False),
            base=data.get("base", 0),
        )


@dataclass(kw_only=True)
class PendingState:
    """What the agent asked and is waiting for."""

    kind: Literal["slot", "ask", "confirm", "tool_confirm", "resume"]
    question: str
    run_id: str | None = None
    slot: str | None = None
    """For ``slot``: the slot name; for ``ask``: the answer's name."""
    step: int | None = None
    """For ``ask``/``confirm``: the journal step waiting for the answer."""
    tool: dict[str, Any] | None = None
    """For ``tool_confirm`` (free mode): ``{"name": ..., "args": ...}``."""
    attempts: int = 0
    """How many times the question was re-asked after an unusable answer."""
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    """Identifies this question: an answer bound to another id does not answer it
    (``TurnResult.question_id``, ``Agent.handle(reply_to=...)``)."""
    asked_at: float = field(default_factory=time.time)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "asked_at": self.asked_at,
            "kind": self.kind,
            "question": self.question,
            "run_id": self.run_id,
            "slot": self.slot,
            "step": self.step,
            "tool": self.tool,
            "attempts": self.attempts,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PendingState:
        return cls(**data)


@dataclass(kw_only=True)
class Conversation:
    """A customer's conversation, across channels and turns."""

    id: str
    customer_id: str
    status: Literal["open", "handed_off", "closed"] = "open"
    channel: str = "chat"
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)
    transcript: list[Message] = field(default_factory=list)
    runs: list[PlaybookRun] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    """Values the customer gave (slot values, remembered facts), reusable by later intents."""
    pending: PendingState | None = None
    counters: dict[str, int] = field(default_factory=dict)
    """``clarifications``, ``tool_failures``, ``fallbacks``... for the escalation policy."""
    offered: list[str] = field(default_factory=list)
    """Intents offered in the last clarification ("did you mean A or B?")."""
    handoff: dict[str, Any] | None = None
    resume_token: str | None = None
    summary: str = ""
    history: list[str] = field(default_factory=list)
    """Summaries of the customer's earlier (closed) conversations, newest last."""
    usage: Usage = field(default_factory=Usage)
    version: int = 0
    """Incremented by every save; a store refuses a save from a stale copy."""
    receipts: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Results of the last :data:`MAX_RECEIPTS` messages delivered with a ``message_id``
    (id -> stored :class:`~resolvekit.results.TurnResult`), oldest first: a redelivered
    message gets its stored result and runs nothing."""
    current_message: str | None = None
    """The ``message_id`` of the turn in progress (saved with the write-ahead checkpoint), so a
    redelivery after a crash continues that turn instead of reading the message again."""
    archived: int = 0
    """How many records were moved out of this row into the store's archive (finished runs,
    old transcript lines) to keep the row bounded."""
    archive_out: list[dict[str, Any]] = field(default_factory=list, repr=False, compare=False)
    """Records to move to the archive on the next save (not part of the row's JSON)."""

    @classmethod
    def new(cls, customer_id: str, channel: str) -> Conversation:
        return cls(id=uuid.uuid4().hex, customer_id=customer_id, channel=channel)

    def run(self, run_id: str | None) -> PlaybookRun | None:
        return next((r for r in self.runs if r.id == run_id), None)

    @property
    def active_run(self) -> PlaybookRun | None:
        """The run the agent is working on (collecting slots or waiting on the customer)."""
        for run in reversed(self.runs):
            if run.active:
                return run
        return None

    @property
    def suspended_runs(self) -> list[PlaybookRun]:
        return [r for r in self.runs if r.status == "suspended"]

    def bump(self, counter: str) -> int:
        self.counters[counter] = self.counters.get(counter, 0) + 1
        return self.counters[counter]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "customer_id": self.customer_id,
            "status": self.status,
            "channel": self.channel,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "transcript": [m.to_json() for m in self.transcript],
            "runs": [r.to_json() for r in self.runs],
            "facts": self.facts,
            "pending": self.pending.to_json() if self.pending else None,
            "counters": self.counters,
            "offered": self.offered,
            "handoff": self.handoff,
            "resume_token": self.resume_token,
            "summary": self.summary,
            "history": self.history,
            "usage": self.usage.to_json(),
            "version": self.version,
            "receipts": self.receipts,
            "current_message": self.current_message,
            "archived": self.archived,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Conversation:
        pending = data.get("pending")
        return cls(
            id=data["id"],
            customer_id=data["customer_id"],
            status=data.get("status", "open"),
            channel=data.get("channel", "chat"),
            created_at=data.get("created_at", 0.0),
            updated_at=data.get("updated_at", 0.0),
            transcript=[Message.from_json(m) for m in data.get("transcript", [])],
            runs=[PlaybookRun.from_json(r) for r in data.get("runs", [])],
            facts=data.get("facts", {}),
            pending=PendingState.from_json(pending) if pending else None,
            counters=data.get("counters", {}),
            offered=data.get("offered", []),
            handoff=data.get("handoff"),
            resume_token=data.get("resume_token"),
            summary=data.get("summary", ""),
            history=data.get("history", []),
            usage=Usage.from_json(data.get("usage", {})),
            version=data.get("version", 0),
            receipts=data.get("receipts", {}),
            current_message=data.get("current_message"),
            archived=data.get("archived", 0),
        )

    def inflight_until(self) -> float | None:
        """The latest deadline of a write still ``started`` (journaled ahead of its call and
        not known to have finished), or None when there is none."""
        deadlines = [
            step.deadline if step.deadline is not None else step.at + DEFAULT_WRITE_DEADLINE
            for run in self.runs
            for step in run.journal
            if step.kind == "call" and step.status == "started"
        ]
        return max(deadlines) if deadlines else None


@runtime_checkable
class Store(Protocol):
    """Where conversations live. Implementations: memory, SQLite and PostgreSQL."""

    async def open_conversation(self, customer_id: str) -> Conversation | None:
        """The customer's open or handed-off conversation, if any (whatever the channel)."""
        ...

    async def get(self, conversation_id: str) -> Conversation | None: ...

    async def find_by_resume_token(self, token: str) -> Conversation | None: ...

    async def save(self, conversation: Conversation) -> None:
        """Persist; bumps ``conversation.version``.

        Raises:
            ConcurrentUpdate: the stored version is newer than the one loaded.
        """
        ...

    async def history(self, customer_id: str, limit: int = 5) -> list[Conversation]:
        """The customer's closed conversations, newest first."""
        ...

    def lock(self, customer_id: str) -> contextlib.AbstractAsyncContextManager[None]:
        """Serialise turns of one customer within this process."""
        ...

    async def close(self) -> None: ...


def decode_conversation(conversation_id: str, raw: str | bytes, *, where: str) -> Conversation:
    """A stored row's JSON as a :class:`Conversation`.

    Raises:
        CorruptStore: the JSON cannot be decoded; names the row and ``where`` it lives.
    """
    try:
        return Conversation.from_json(from_json(raw))
    except (ValueError, KeyError, TypeError) as exc:
        raise CorruptStore(
            f"Conversation {conversation_id} in {where} cannot be decoded ({exc}); "
            f"the row is left untouched"
        ) from exc


ROW_COLUMNS = "customer_id, status, updated_at, version, resume_token, data"
"""The columns of a stored conversation after its id, in the order of :func:`stamp_for_save`."""


def stamp_for_save(conversation: Conversation) -> tuple[int, tuple[object, ...]]:
    """Bump the conversation's version and ``updated_at`` for a save.

    Returns the version the stored row must still have, and the row's values in the order of
    :data:`ROW_COLUMNS`. A store whose save fails puts ``conversation.version`` back.
    """
    expected = conversation.version
    conversation.version += 1
    conversation.updated_at = time.time()
    row = (
        conversation.customer_id,
        conversation.status,
        conversation.updated_at,
        conversation.version,
        conversation.resume_token,
        to_json(conversation.to_json()).decode(),
    )
    return expected, row


class _Locks:
    """Per-key asyncio locks that disappear when nobody holds or waits for them."""

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        async with lock:
            yield


def open_store(url: str | Store | None) -> Store:
    """Build a store from a URL: ``memory://``, ``sqlite:///relative.db`` / ``sqlite:////abs.db``,
    or ``postgresql://user:pass@host/db`` (:class:`~resolvekit.sessions.postgres.PostgresStore`).

    Raises:
        UserError: an unknown scheme.
    """
    if url is None:
        url = "sqlite:///resolvekit.db"
    if not isinstance(url, str):
        if isinstance(url, Store):
            return url
        raise UserError(f"store must be a Store or a URL, not {type(url).__name__}")
    if url in ("memory", "memory://", ":memory:"):
        from .memory import MemoryStore

        return MemoryStore()
    if url.startswith("sqlite://"):
        from .sqlite import SQLiteStore

        path = url.removeprefix("sqlite://")
        path = path[1:] if path.startswith("/") else path
        return SQLiteStore(path or "resolvekit.db")
    if url.startswith(("postgresql://", "postgres://")):
        from .postgres import PostgresStore

        return PostgresStore(url)
    raise UserError(
        f"Unknown store URL {url!r}: use 'memory://', 'sqlite:///path/to/file.db' or "
        "'postgresql://user:password@host/database'"
    )
