"""Conversations and where they are kept.

A :class:`Conversation` holds everything needed to continue talking to a customer on any channel
and in any process: the transcript, the playbook runs with their journals, what the agent is
waiting for, facts the customer gave, and the handoff if a human took over. It serialises to plain
JSON, by one serialiser (a pydantic ``TypeAdapter``). A :class:`Store` keeps conversations keyed by
customer; :func:`open_store` builds one from a URL (``"memory://"``, ``"sqlite:///path/to.db"``,
``"postgresql://host/db"``), and :class:`~resolvekit.sessions.encrypted.EncryptedStore` encrypts
any built-in one at rest (its :class:`Codec`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
import weakref
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import TypeAdapter, ValidationError
from pydantic_core import from_json, to_json

from ..exceptions import CorruptStore, UserError
from ..messages import Message, Usage

__all__ = [
    "DEFAULT_WRITE_DEADLINE",
    "FREE_RUN",
    "MAX_RECEIPTS",
    "PLAIN",
    "PROCESS_ID",
    "Codec",
    "Conversation",
    "PendingState",
    "PlaybookRun",
    "Step",
    "Store",
    "open_store",
    "process_id",
]

FREE_RUN = "_free"
"""Id and intent of the run that journals free-mode tool calls."""

PROCESS_ID = uuid.uuid4().hex[:16]
"""This process's identity in journals and locks (a new one per process start, and in a forked
child: call :func:`process_id` when it is needed, since ``from ... import PROCESS_ID`` keeps the
value it had at import)."""


def process_id() -> str:
    """:data:`PROCESS_ID` as it is now (a forked child has its own)."""
    return PROCESS_ID


def _new_process_id() -> None:
    global PROCESS_ID
    PROCESS_ID = uuid.uuid4().hex[:16]


os.register_at_fork(after_in_child=_new_process_id)

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
        """The conversation as plain JSON (what a store keeps; ``archive_out`` left out)."""
        data: dict[str, Any] = _CONVERSATION.dump_python(self, mode="json", **_DUMP)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Conversation:
        """A conversation from :meth:`to_json`'s output (or an older row missing newer fields).

        Raises:
            pydantic.ValidationError: the data does not describe a conversation.
        """
        return _CONVERSATION.validate_python(data)

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


_TRANSIENT = {"archive_out"}
"""Fields of a :class:`Conversation` that are never stored in its row."""

_DUMP: dict[str, Any] = {"exclude": _TRANSIENT, "exclude_none": True}
"""How a conversation is dumped. Fields that are None are left out: every optional field of
these dataclasses defaults to None (a test holds it), so a row is smaller and reads back the
same. Values inside ``Any`` fields (tool results, facts, slots) are plain JSON, whose ``null``
values are kept."""

_CONVERSATION: TypeAdapter[Conversation] = TypeAdapter(Conversation)
"""The one serialiser of conversations (nested runs, steps, messages and usage included)."""


@runtime_checkable
class Store(Protocol):
    """Where conversations live. Implementations: memory, SQLite and PostgreSQL (and
    :class:`~resolvekit.sessions.encrypted.EncryptedStore` around any of them).

    Every method may raise :class:`~resolvekit.exceptions.StoreUnavailable` (retry later,
    nothing was written half-way) and :class:`~resolvekit.exceptions.CorruptStore` (a stored
    record cannot be read; it is left untouched).
    """

    async def open_conversation(self, customer_id: str) -> Conversation | None:
        """The customer's open or handed-off conversation, if any (whatever the channel)."""
        ...

    async def get(self, conversation_id: str) -> Conversation | None: ...

    async def find_by_resume_token(self, token: str) -> Conversation | None: ...

    async def save(self, conversation: Conversation) -> None:
        """Persist; bumps ``conversation.version``, and moves ``conversation.archive_out`` to
        the archive in the same transaction (``archived`` counts them, ``archive_out`` is
        emptied). A save that raises leaves the conversation as it was.

        Raises:
            ConcurrentUpdate: the stored version is newer than the one loaded, or the customer
                already has another conversation that is not closed.
        """
        ...

    async def history(self, customer_id: str, limit: int = 5) -> list[Conversation]:
        """The customer's closed conversations, newest first."""
        ...

    async def inflight(self, before: float, limit: int = 100) -> list[tuple[str, str]]:
        """``(conversation_id, customer_id)`` of conversations not closed whose
        :meth:`Conversation.inflight_until` (as of their last save) is earlier than ``before``,
        oldest first: writes that were started and may have been interrupted by a crash."""
        ...

    async def archived(self, conversation_id: str) -> list[dict[str, Any]]:
        """The records moved out of a conversation by its saves (``archive_out``), in order."""
        ...

    def lock(self, customer_id: str) -> contextlib.AbstractAsyncContextManager[None]:
        """Serialise turns of one customer (across processes for SQLite and PostgreSQL).

        Raises:
            ConcurrentUpdate: another process held the customer's turn too long.
        """
        ...

    async def close(self) -> None: ...


class Codec(Protocol):
    """How a store keeps the JSON of a conversation (and of each archive record) in its
    ``data`` column: :data:`PLAIN` as is, or encrypted (:mod:`resolvekit.sessions.encrypted`).
    """

    def encode(self, data: bytes) -> str:
        """The stored text for JSON ``data``."""
        ...

    def decode(self, stored: str) -> bytes | str:
        """The JSON back from the stored text.

        Raises:
            ValueError: the text cannot be decoded (wrong key, damaged); the message says why.
        """
        ...


class PlainCodec:
    """Keeps the JSON as it is (readable with ``data::jsonb`` or SQLite's ``json_extract``)."""

    def encode(self, data: bytes) -> str:
        return data.decode()

    def decode(self, stored: str) -> bytes | str:
        if stored.startswith(_FERNET_PREFIX):
            raise ValueError("it is encrypted: open the store with EncryptedStore and its key")
        return stored


_FERNET_PREFIX = "gAAAAA"
"""How every Fernet token starts (version byte 0x80 and a timestamp's high bytes)."""

PLAIN: Codec = PlainCodec()
"""The codec of a store that does not encrypt."""


def encode_conversation(conversation: Conversation) -> bytes:
    """The JSON a store keeps for a conversation (``archive_out`` left out)."""
    return _CONVERSATION.dump_json(conversation, **_DUMP)


def decode_conversation(
    conversation_id: str, raw: object, *, where: str, codec: Codec = PLAIN
) -> Conversation:
    """A stored row's ``data`` as a :class:`Conversation`, checked for consistency.

    Raises:
        CorruptStore: the data cannot be decoded, does not describe a conversation, or
            contradicts itself (a pending question pointing at no run or no journal step);
            the message names the row and ``where`` it lives, and never quotes its content.
    """
    if not isinstance(raw, str):
        raise _corrupt(conversation_id, where, f"its data is {type(raw).__name__}, not text")
    try:
        conversation = _CONVERSATION.validate_json(codec.decode(raw))
    except ValidationError as exc:
        raise _corrupt(conversation_id, where, _summary(exc)) from None
    except ValueError as exc:  # the codec's refusal
        raise _corrupt(conversation_id, where, str(exc)) from None
    problem = _inconsistency(conversation_id, conversation)
    if problem is not None:
        raise _corrupt(conversation_id, where, problem)
    conversation.archive_out = []
    return conversation


def _corrupt(conversation_id: str, where: str, why: str) -> CorruptStore:
    return CorruptStore(
        f"Conversation {conversation_id} in {where} cannot be decoded ({why}); "
        f"the row is left untouched"
    )


def _summary(exc: ValidationError) -> str:
    """What is wrong, by field, without the values (they may be a customer's words)."""
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    parts = [f"{'.'.join(map(str, e['loc'])) or 'row'}: {e['msg']}" for e in errors[:3]]
    more = f"; and {len(errors) - 3} more" if len(errors) > 3 else ""
    return "; ".join(parts) + more


def _inconsistency(conversation_id: str, conversation: Conversation) -> str | None:
    """Why a decoded conversation cannot be the row's, or None when it can."""
    if conversation.id != conversation_id:
        return "its JSON holds another conversation's id"
    pending = conversation.pending
    if pending is None or pending.run_id is None:
        return None
    run = conversation.run(pending.run_id)
    if run is None:
        return f"pending.run_id {pending.run_id!r} names no run"
    if pending.step is not None and not 0 <= pending.step < len(run.journal):
        return (
            f"pending.step {pending.step} is outside run {run.id!r}'s journal "
            f"of {len(run.journal)} steps"
        )
    return None


def encode_record(record: dict[str, Any], codec: Codec) -> str:
    """An archive record as stored."""
    return codec.encode(to_json(record))


def decode_record(conversation_id: str, seq: int, raw: object, *, where: str, codec: Codec) -> Any:
    """A stored archive record back as JSON.

    Raises:
        CorruptStore: the record cannot be decoded or is not a JSON object.
    """
    if not isinstance(raw, str):
        raise CorruptStore(
            f"Archive record {seq} of conversation {conversation_id} in {where} is "
            f"{type(raw).__name__}, not text; it is left untouched"
        )
    try:
        record = from_json(codec.decode(raw))
    except ValueError as exc:  # the codec's refusal, or invalid JSON (neither quotes the data)
        raise CorruptStore(
            f"Archive record {seq} of conversation {conversation_id} in {where} cannot be "
            f"decoded ({exc}); it is left untouched"
        ) from None
    if not isinstance(record, dict):
        raise CorruptStore(
            f"Archive record {seq} of conversation {conversation_id} in {where} is not a JSON "
            f"object; it is left untouched"
        )
    return record


ROW_COLUMNS = "customer_id, status, updated_at, version, resume_token, inflight_until, data"
"""The columns of a stored conversation after its id, in the order of :attr:`RowWrite.values`."""


@dataclass(kw_only=True)
class RowWrite:
    """What one save writes, encoded (see :func:`stamp_for_save`)."""

    expected: int
    """The version the stored row must still have (0 and no row: a new conversation)."""
    inflight_until: float | None
    """:meth:`Conversation.inflight_until` as of this save."""
    data: str
    """The conversation's JSON, as the store's codec keeps it."""
    archive: list[tuple[int, str]]
    """``(seq, stored record)`` to append to the conversation's archive."""
    values: tuple[object, ...]
    """The row's values in the order of :data:`ROW_COLUMNS`."""
    committed: bool = False
    """Set by the store once its transaction committed: a save interrupted after that (a
    cancelled task) keeps the conversation's new version instead of putting the old one back."""


@contextlib.contextmanager
def stamp_for_save(conversation: Conversation, codec: Codec = PLAIN) -> Iterator[RowWrite]:
    """Prepare a save: bump the version and ``updated_at``, move ``archive_out`` into the
    archive count, and encode the row and the records.

    A store writes the :class:`RowWrite` in one transaction inside the ``with`` block and sets
    ``committed``. If the block raises before that, the conversation is put back as it was
    (version, ``updated_at``, ``archived``, ``archive_out``).
    """
    before = (
        conversation.version,
        conversation.updated_at,
        conversation.archived,
        conversation.archive_out,
    )
    conversation.version += 1
    conversation.updated_at = time.time()
    conversation.archived += len(before[3])
    conversation.archive_out = []
    write: RowWrite | None = None
    try:
        write = _row_write(conversation, codec, expected=before[0], records=before[3])
        yield write
    except BaseException:
        if write is None or not write.committed:
            (
                conversation.version,
                conversation.updated_at,
                conversation.archived,
                conversation.archive_out,
            ) = before
        raise


def _row_write(
    conversation: Conversation, codec: Codec, *, expected: int, records: list[dict[str, Any]]
) -> RowWrite:
    inflight_until = conversation.inflight_until()
    data = codec.encode(encode_conversation(conversation))
    first = conversation.archived - len(records)
    return RowWrite(
        expected=expected,
        inflight_until=inflight_until,
        data=data,
        archive=[(first + i, encode_record(record, codec)) for i, record in enumerate(records)],
        values=(
            conversation.customer_id,
            conversation.status,
            conversation.updated_at,
            conversation.version,
            conversation.resume_token,
            inflight_until,
            data,
        ),
    )


UPGRADE_SUMMARY = (
    "closed by resolvekit's schema upgrade: a second open conversation for this customer"
)
"""The summary of a conversation closed by the upgrade to one open conversation per customer."""


def closed_for_upgrade(raw: str, version: int) -> str | None:
    """A plain row's JSON with ``status`` closed, :data:`UPGRADE_SUMMARY` and ``version``; None
    when the JSON cannot be read (the row's data is then left untouched)."""
    try:
        data = from_json(raw)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    data.update(status="closed", summary=UPGRADE_SUMMARY, version=version)
    return to_json(data).decode()


def inflight_of(raw: str, conversation_id: str, where: str) -> float | None:
    """:meth:`Conversation.inflight_until` of a plain row's JSON (None when unreadable)."""
    try:
        return decode_conversation(conversation_id, raw, where=where).inflight_until()
    except CorruptStore:
        return None


DUPLICATE_OPEN = (
    "SELECT id, version, data FROM {t} AS c WHERE status <> 'closed' AND EXISTS ("
    "SELECT 1 FROM {t} AS d WHERE d.customer_id = c.customer_id AND d.status <> 'closed' AND "
    "(d.updated_at > c.updated_at OR (d.updated_at = c.updated_at AND d.id > c.id)))"
)
"""Conversations that are not their customer's most recently updated open one (``{t}``: the
table), for the schema upgrade that allows one open conversation per customer."""


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
