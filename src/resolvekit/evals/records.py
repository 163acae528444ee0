"""What the runner keeps of each conversation: one JSON line per (agent, scenario, trial)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ._state import DiffEntry
from .errors import ReportError

if TYPE_CHECKING:
    from ..redaction import Redactor

__all__ = [
    "ConversationRecord",
    "ToolCallRecord",
    "TurnRecord",
    "Verdict",
    "append_record",
    "read_records",
    "redact_record",
]

Verdict = Literal[
    "resolved",
    "escalated_correctly",
    "refused_correctly",
    "deflected",
    "escalated_wrongly",
    "failed",
]
"""The one class each conversation is scored into (see docs/evals.md for the decision table)."""


class TurnRecord(BaseModel):
    """One message of the transcript."""

    role: Literal["customer", "agent"]
    text: str
    outcome: str | None = None
    """For agent turns: the turn's outcome."""
    ms: float | None = None
    """For agent turns: the wall time of ``agent.handle``, milliseconds. With several
    conversations at once it includes waiting for the others (and the harness)."""
    cpu_ms: float | None = None
    """For agent turns: the agent's own time, milliseconds: the CPU time of its code on the
    event loop and in the worker threads it used (see :mod:`resolvekit.evals._clock`); waiting
    for anything else is not counted."""


class ToolCallRecord(BaseModel):
    """One tool call the agent made (from the turn traces), or a gold reference action."""

    tool: str
    args: dict[str, Any] = Field(default_factory=dict)
    status: str = "done"
    result: Any = None
    error: Any = None


class ConversationRecord(BaseModel):
    """Everything about one scored conversation."""

    model_config = ConfigDict(extra="ignore")

    agent: str
    """Which agent played: ``agent``, or a baseline (``do_nothing``, ``gold``)."""
    scenario: str
    trial: int
    seed: int
    tags: list[str] = Field(default_factory=list)
    intent: str
    expected: str
    verdict: Verdict
    reason: str
    """Why the verdict (the decision-table row that fired)."""
    turns: list[TurnRecord] = Field(default_factory=list)
    tool_calls: list[ToolCallRecord] = Field(default_factory=list)
    escalated: bool = False
    handoff_reason: str | None = None
    final_outcome: str | None = None
    stop_reason: str = ""
    changed: bool = False
    """The backend state differs from the initial state."""
    state_ok: bool = True
    """The end-state check passed (diff empty and predicate true)."""
    diff: list[DiffEntry] = Field(default_factory=list)
    """Expected vs actual end state, where they differ."""
    check_message: str | None = None
    facts_missing: list[str] = Field(default_factory=list)
    forbidden_called: list[str] = Field(default_factory=list)
    customer_turns: int = 0
    repeated_questions: int = 0
    """Agent questions asked again word for word."""
    repeated_info: int = 0
    """Times the customer had to give information it had already given."""
    latencies_ms: list[float] = Field(default_factory=list)
    """Wall time of each agent turn (``TurnRecord.ms``)."""
    agent_cpu_ms: list[float] = Field(default_factory=list)
    """The agent's own CPU time of each agent turn (``TurnRecord.cpu_ms``)."""
    usage: dict[str, float] = Field(default_factory=dict)
    error: str | None = None
    duration_s: float = 0.0

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.agent, self.scenario, self.trial)

    @property
    def success(self) -> bool:
        """The conversation met its expectation (what pass^k counts)."""
        return self.verdict in ("resolved", "escalated_correctly", "refused_correctly")


_RECORD_LABELS = frozenset(
    {"agent", "scenario", "trial", "seed", "tags", "intent", "expected", "verdict"}
    | {"escalated", "final_outcome", "changed", "state_ok", "customer_turns"}
    | {"repeated_questions", "repeated_info", "latencies_ms", "agent_cpu_ms", "usage"}
    | {"duration_s"}
)
"""Record fields kept as they are: the (agent, scenario, trial) key a resumed run looks up,
labels and numbers. Everything else (transcript, tool calls, diff, reasons, errors) is
redacted."""


def redact_record(
    record: ConversationRecord,
    redactor: Redactor | None,
    *,
    memo: dict[str, str] | None = None,
) -> ConversationRecord:
    """A copy of ``record`` with its content redacted (``redactor=None``: ``record`` itself).

    The key (``agent``, ``scenario``, ``trial``), the seed, labels and numbers are kept, so a
    redacted results file is still resumable and scores the same.

    Args:
        record: the record.
        redactor: the policy.
        memo: remembers the redaction of each string across calls (give the same dict for
            every record of a run: conversations repeat the same names, addresses and ids).
            The result is the same with or without it.
    """
    if redactor is None:
        return record
    from ..redaction import Redactor

    if memo is not None and type(redactor).redact_value is Redactor.redact_value:
        # The same walk as Redactor.redact_value, strings remembered, models copied rather
        # than dumped and validated again; anything unusual takes the general path below.
        try:
            return _redact_copy(record, redactor, memo)
        except _NotPlain:
            pass
    data = record.model_dump()
    for key, value in data.items():
        if key not in _RECORD_LABELS:
            data[key] = redactor.redact_value(value)
    return ConversationRecord.model_validate(data)


_MEMO_LIMIT = 100_000
"""Strings a redaction memo holds before it starts over."""
_PARTS = (TurnRecord, ToolCallRecord, DiffEntry)
"""The models a record holds in its lists."""


class _NotPlain(Exception):
    """A value the fast path of :func:`redact_record` leaves to the general one."""


def _redact_copy(
    record: ConversationRecord, redactor: Redactor, memo: dict[str, str]
) -> ConversationRecord:
    update: dict[str, Any] = {}
    for name, value in record.__dict__.items():
        if name in _RECORD_LABELS:
            continue
        if type(value) is list and value and isinstance(value[0], _PARTS):
            update[name] = [_redact_part(part, redactor, memo) for part in value]
        else:
            update[name] = _plain(value, redactor, memo)
    return record.model_copy(update=update)


def _redact_part(part: Any, redactor: Redactor, memo: dict[str, str]) -> Any:
    if not isinstance(part, _PARTS):
        raise _NotPlain
    fields = {name: _plain(value, redactor, memo) for name, value in part.__dict__.items()}
    return part.model_copy(update=fields)


def _plain(value: Any, redactor: Redactor, memo: dict[str, str]) -> Any:
    """``redactor.redact_value(value)`` for plain data (strings, dicts, lists, numbers that
    stay numbers), strings looked up in ``memo`` first; raises :class:`_NotPlain` otherwise."""
    kind = type(value)
    if kind is str:
        done = memo.get(value)
        if done is None:
            if len(memo) >= _MEMO_LIMIT:
                memo.clear()
            done = memo[value] = redactor.redact_text(value)
        return done
    if kind is dict:
        return {key: _plain(item, redactor, memo) for key, item in value.items()}
    if kind is list:
        return [_plain(item, redactor, memo) for item in value]
    if value is None or kind is bool:
        return value
    if (kind is int or kind is float) and redactor.redact_value(value) is value:
        return value
    raise _NotPlain


def append_record(path: Path, record: ConversationRecord) -> None:
    """Append one record as a JSON line (flushed, so an interrupted run loses nothing done)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(record.model_dump_json() + "\n")
        handle.flush()


def read_records(path: Path, *, repair: bool = False) -> list[ConversationRecord]:
    """Read a results file; a torn last line (an interrupted write) is ignored.

    Args:
        path: the JSONL file (missing: no records).
        repair: rewrite the file without a torn last line, so appending can continue.

    Raises:
        ReportError: a line other than the last is not a valid record.
    """
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    records = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            records.append(ConversationRecord.model_validate(json.loads(line)))
        except (json.JSONDecodeError, ValidationError) as exc:
            if number == len(lines):
                if repair:
                    kept = "".join(line + "\n" for line in lines[:-1])
                    path.write_text(kept, encoding="utf-8")
                break
            raise ReportError(f"{path}:{number}: not a conversation record: {exc}") from exc
    return records
