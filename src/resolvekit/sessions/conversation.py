"""A customer's conversation as data: the transcript, playbook runs with their write-ahead
journals, what the agent is waiting for, facts, receipts; one serialiser (a pydantic
``TypeAdapter``) turns it into a row's JSON and back."""

from __future__ import annotations

import operator
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import TypeAdapter

from ..messages import KEPT_JSON, Message, Usage

__all__ = [
    "DEFAULT_WRITE_DEADLINE",
    "FREE_RUN",
    "MAX_RECEIPTS",
    "PROCESS_ID",
    "Conversation",
    "PendingState",
    "PlaybookRun",
    "Step",
    "encode_conversation",
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

StepKind = Literal[
    "call", "ask", "confirm", "approve", "search", "say", "remember", "verify", "check"
]
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
    schema: str | None = None
    """For a call of a connected tool: the digest of the tool's shape when it was called
    (:attr:`Tool.fingerprint`); replaying it against another shape fails loudly."""
    human: dict[str, Any] | None = None
    """For a step a human agent made in the console (``resolvekit console``): ``{"name": ...,
    "request": ...}``, who and which click (a repeated click finds this step and calls nothing
    again); None for the agent's own steps."""

    def __setattr__(self, name: str, value: Any) -> None:
        # Any field given a value drops the JSON the step kept (see encode_conversation); a
        # finished step changing is rare (a re-validated answer) and starts every run's kept
        # prefix over.
        if self.__dict__.pop(_KEPT_JSON, None) is not None:
            _Prefix.generation += 1
        object.__setattr__(self, name, value)


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

    kind: Literal["slot", "ask", "confirm", "tool_confirm", "resume", "approval"]
    question: str
    run_id: str | None = None
    slot: str | None = None
    """For ``slot``: the slot name; for ``ask``: the answer's name."""
    step: int | None = None
    """For ``ask``/``confirm``/``approval``: the journal step waiting for the answer."""
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
    identity: Any = None
    """Who the customer is, as the agent's verify step returned it (JSON-compatible), once
    verified in this conversation (``ctx.identity``); None before."""
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

    def awaiting_approval(self) -> float | None:
        """When the approval this conversation waits for was requested (None: it waits for
        none)."""
        pending = self.pending
        return pending.asked_at if pending is not None and pending.kind == "approval" else None

    def inflight_until(self) -> float | None:
        """The latest deadline of a write still ``started`` (journaled ahead of its call and
        not known to have finished), or None when there is none."""
        return _inflight_until(self, _Prefix.valid_length)


def _inflight_until(
    conversation: Conversation, finished: Callable[[PlaybookRun], int]
) -> float | None:
    """:meth:`Conversation.inflight_until`, skipping each run's first ``finished(run)`` steps
    (finished ones: none of them is a started write)."""
    deadlines = [
        step.deadline if step.deadline is not None else step.at + DEFAULT_WRITE_DEADLINE
        for run in conversation.runs
        for step in run.journal[finished(run) :]
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


def encode_conversation(conversation: Conversation) -> bytes:
    """The JSON a store keeps for a conversation (``archive_out`` left out).

    A long playbook's journal is most of a row, and all but its last steps are the same as at
    the previous save: each finished step keeps its JSON and is encoded again only after one of
    its fields is assigned, so a save costs what changed, not the journal's length.
    (The engine never changes a finished step's values in place, and a playbook gets copies
    of tool results: :meth:`resolvekit.tools.Tool.load_result`.)
    """
    if not any(run.journal for run in conversation.runs):
        return _CONVERSATION.dump_json(conversation, **_DUMP)
    rest = _CONVERSATION.dump_json(conversation, exclude={*_TRANSIENT, "runs"}, exclude_none=True)
    # Keys first, then the rest of each object: the same JSON with another key order, built
    # with one join (a long journal's bytes are copied once, not once per enclosing object).
    parts = [b'{"runs":[']
    for i, run in enumerate(conversation.runs):
        run_rest = _RUN.dump_json(run, exclude={"journal"}, exclude_none=True)
        journal = b",".join(_Prefix.journal_parts(run))
        parts += [b"," if i else b"", b'{"journal":[', journal, b"],", run_rest[1:]]
    parts += [b"],", rest[1:]]
    return b"".join(parts)


def _step_json(step: Step) -> bytes:
    kept: bytes | None = step.__dict__.get(_KEPT_JSON)
    if kept is not None:
        return kept
    data = _STEP.dump_json(step, exclude_none=True)
    if step.status in ("done", "error"):  # finished: its values no longer change
        step.__dict__[_KEPT_JSON] = data
    return data


_KEPT_JSON = KEPT_JSON
"""Where a finished step keeps its JSON; assigning any of its fields drops it
(``Step.__setattr__``)."""


class _Prefix:
    """The JSON of a run's leading finished steps, kept on the run between saves, so a save
    does not visit the steps of a long journal one by one. Only ever extended: a store that
    wrote the first ``k`` of them (:mod:`resolvekit.sessions._split`) knows they are still the
    same while the run keeps this very object."""

    generation = 0
    """Bumped whenever a finished step is changed anywhere: every kept prefix is then stale."""

    __slots__ = ("generation_then", "jsons", "steps")

    def __init__(self, steps: list[Step], jsons: list[bytes]) -> None:
        self.steps, self.jsons, self.generation_then = steps, jsons, _Prefix.generation

    @staticmethod
    def valid_length(run: PlaybookRun) -> int:
        """How many leading steps of ``run.journal`` the kept prefix still covers (0: none)."""
        kept = _Prefix._valid(run)
        return len(kept.steps) if kept is not None else 0

    @staticmethod
    def _valid(run: PlaybookRun) -> _Prefix | None:
        kept: _Prefix | None = run.__dict__.get(_KEPT_PREFIX)
        if kept is None or kept.generation_then != _Prefix.generation:
            return None
        steps, journal = kept.steps, run.journal
        if len(journal) < len(steps) or not all(map(operator.is_, steps, journal)):
            return None
        return kept

    @staticmethod
    def extended(run: PlaybookRun) -> _Prefix:
        """The run's kept prefix (a new one when it is stale), extended in place over every
        leading finished step."""
        kept = _Prefix._valid(run)
        if kept is None:
            kept = run.__dict__[_KEPT_PREFIX] = _Prefix([], [])
        steps, jsons, journal = kept.steps, kept.jsons, run.journal
        for i in range(len(steps), len(journal)):
            step = journal[i]
            if step.status not in ("done", "error"):
                break
            steps.append(step)
            jsons.append(_step_json(step))
        return kept

    @staticmethod
    def journal_parts(run: PlaybookRun) -> list[bytes]:
        """Each journal step's JSON; the kept prefix extended over every leading finished
        step."""
        kept = _Prefix.extended(run)
        journal = run.journal
        return kept.jsons + [_step_json(step) for step in journal[len(kept.steps) :]]


_KEPT_PREFIX = "_resolvekit_prefix"


_RUN: TypeAdapter[PlaybookRun] = TypeAdapter(PlaybookRun)
_STEP: TypeAdapter[Step] = TypeAdapter(Step)
