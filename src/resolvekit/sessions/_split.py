"""A conversation stored split in two: its row without the playbooks' journals, and each journal
step on its own (the memory and SQLite stores), so that a save writes what changed, not the
whole journal again.

In the row's JSON a run's ``journal`` is the number of its steps stored apart (an int, where a
whole row has the list); step ``i`` of a run is stored under ``(run id, run.base + i)``. A row
whose runs carry their journals inline (written before steps were stored apart, or a run whose
id is not unique) is read as it is and split by its next save.

What a save may skip is known from :class:`_Stored`, left on the conversation object by the
last save or load through the same store: the version it wrote or read, and per run how many
leading finished steps it stored (the run's kept :class:`~.conversation._Prefix`, which only
grows while no finished step changes). The stores' optimistic version check makes it safe: a
save that skips steps writes only if the row still has the version this object last saw, so
the steps beside it are the ones that object wrote or read.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter
from pydantic_core import from_json, to_json

from ..messages import Message
from .conversation import (
    _CONVERSATION,
    _KEPT_JSON,
    _KEPT_PREFIX,
    _RUN,
    _TRANSIENT,
    Conversation,
    _inflight_until,
    _Prefix,
    _step_json,
)

__all__ = ["StepWrites", "decode_split", "split_write"]

_STORED = "_resolvekit_stored"
"""Where a conversation object keeps its :class:`_Stored`."""


@dataclass(frozen=True)
class _RunStored:
    prefix: _Prefix
    """The run's kept prefix when it was saved or loaded."""
    finished: int
    """How many of ``prefix``'s steps are stored."""
    base: int
    count: int
    """Steps stored: positions ``base`` to ``base + count - 1``."""


@dataclass(frozen=True)
class _Stored:
    """What one store holds of a conversation object, as of ``version``."""

    owner: object
    codec: object
    version: int
    runs: dict[str, _RunStored]

    # A copied or pickled conversation knows nothing stored (and never copies the store).
    def __deepcopy__(self, memo: dict[int, Any]) -> None:
        return None

    def __reduce__(self) -> tuple[type[None], tuple[()]]:
        return type(None), ()


@dataclass(kw_only=True)
class StepWrites:
    """The journal steps one save writes beside the row, in this order."""

    clear: bool
    """Delete every stored step of the conversation first (a save that knows nothing stored:
    the row is new, or was last written by another object or process)."""
    drop_runs: list[str] = field(default_factory=list)
    """Runs no longer in the conversation: delete their steps."""
    trims: list[tuple[str, int, int]] = field(default_factory=list)
    """``(run id, base, end)``: delete the run's steps outside ``base <= position < end``."""
    upserts: list[tuple[str, int, str]] = field(default_factory=list)
    """``(run id, position, stored JSON)`` to insert or replace."""
    after: _Stored | None = None
    """What is stored once the save commits (see :func:`committed`)."""

    @property
    def delta(self) -> bool:
        """The save skips steps it knows are stored: the row must still have the expected
        version (a missing row is a conflict, never a new row with half its steps)."""
        return not self.clear


def split_write(
    conversation: Conversation, *, owner: object, codec: Any, expected: int
) -> tuple[bytes, StepWrites, float | None]:
    """The row's JSON without the journals, the steps to write (encoded with ``codec``) and
    :meth:`Conversation.inflight_until` (the journals' finished prefixes are checked once)."""
    stored: _Stored | None = conversation.__dict__.get(_STORED)
    if stored is not None and not (
        stored.owner is owner and stored.codec is codec and stored.version == expected
    ):
        stored = None
    writes = StepWrites(clear=stored is None)
    ids = [run.id for run in conversation.runs]
    unique = len(set(ids)) == len(ids)
    after: dict[str, _RunStored] = {}
    finished: dict[int, int] = {}
    parts = [b'{"runs":[']
    for i, run in enumerate(conversation.runs):
        if not unique and ids.count(run.id) > 1:  # stored inline: steps are keyed by run id
            parts += [b"," if i else b"", _RUN.dump_json(run, exclude_none=True)]
            continue
        kept = _Prefix.extended(run)
        finished[id(run)] = len(kept.steps)
        journal, base = run.journal, run.base
        before = stored.runs.get(run.id) if stored is not None else None
        start = 0
        if before is not None and before.prefix is kept and before.base == base:
            start = min(before.finished, len(kept.steps))
        for index in range(start, len(journal)):
            data = kept.jsons[index] if index < len(kept.steps) else _step_json(journal[index])
            writes.upserts.append((run.id, base + index, codec.encode(data)))
        if before is not None and (before.base != base or before.count > len(journal)):
            writes.trims.append((run.id, base, base + len(journal)))
        after[run.id] = _RunStored(kept, len(kept.steps), base, len(journal))
        run_rest = _RUN.dump_json(run, exclude={"journal"}, exclude_none=True)
        parts += [b"," if i else b"", b'{"journal":%d,' % len(journal), run_rest[1:]]
    if stored is not None:
        writes.drop_runs = [run_id for run_id in stored.runs if run_id not in after]
    rest = _CONVERSATION.dump_json(conversation, exclude=_HEAD_EXCLUDED, exclude_none=True)
    parts += [b'],"transcript":[', b",".join(map(_message_json, conversation.transcript))]
    parts += [b"],", rest[1:]]
    writes.after = _Stored(owner, codec, conversation.version, after)
    inflight = _inflight_until(conversation, lambda run: finished.get(id(run), 0))
    return b"".join(parts), writes, inflight


_HEAD_EXCLUDED = {*_TRANSIENT, "runs", "transcript"}
_MESSAGE: TypeAdapter[Message] = TypeAdapter(Message)


def _message_json(message: Message) -> bytes:
    """A transcript line's JSON, kept on the message until one of its fields is assigned
    (``Message.__setattr__``): a save encodes the lines added since the last one."""
    kept: bytes | None = message.__dict__.get(_KEPT_JSON)
    if kept is None:
        kept = message.__dict__[_KEPT_JSON] = _MESSAGE.dump_json(message, exclude_none=True)
    return kept


def committed(conversation: Conversation, writes: StepWrites) -> None:
    """Record on the conversation what its committed save stored."""
    conversation.__dict__[_STORED] = writes.after


class SplitError(ValueError):
    """A stored conversation that cannot be put back together (the message says why)."""


def decode_split(
    raw: bytes | str,
    steps: Mapping[str, Mapping[int, str]],
    *,
    owner: object,
    codec: Any,
    plain: bool = False,
) -> tuple[bytes | str, Any]:
    """The whole conversation's JSON from a row's (decoded) JSON and its stored steps, and a
    ``finish(conversation)`` to call once it is validated (it keeps each finished step's
    stored JSON and records what is stored); a row with inline journals comes back as it is.
    ``plain``: the codec keeps JSON as it is (steps are then not decoded one by one).

    Raises:
        SplitError: a step the row counts is missing or cannot be decoded, or a run that
            has its steps apart has no id.
    """
    try:
        head = from_json(raw)
    except ValueError:
        return raw, _no_marker  # validating it says what is wrong
    runs = head.get("runs", []) if isinstance(head, dict) else None
    if not isinstance(runs, list) or not any(
        isinstance(run, dict) and _count(run.get("journal")) is not None for run in runs
    ):
        return raw, _no_marker  # whole, as every row was before steps were stored apart
    del head["runs"]
    parts = [b'{"runs":[']
    kept: dict[int, tuple[str, int, list[bytes]]] = {}
    current = True
    for i, run in enumerate(runs):
        if not isinstance(run, dict):
            raise SplitError(f"run {i} is not a JSON object")
        count = _count(run.get("journal"))
        if count is None:  # inline
            journal = to_json(run.pop("journal", []))
        else:
            del run["journal"]
            run_id, base = run.get("id"), run.get("base", 0)
            if not isinstance(run_id, str) or _count(base) is None:
                raise SplitError(f"run {i} has no id or base")
            datas, fresh = _stored_steps(steps.get(run_id, {}), run_id, base, count, codec, plain)
            current = current and fresh
            kept[i] = (run_id, base, datas)
            journal = b"[" + b",".join(datas) + b"]"
        parts += [b"," if i else b"", b'{"journal":', journal, _rest(run)]
    parts += [b"]", _rest(head)]

    def finish(conversation: Conversation) -> None:
        after: dict[str, _RunStored] = {}
        for i, (run_id, base, datas) in kept.items():
            journal = conversation.runs[i].journal
            finished = next(
                (n for n, step in enumerate(journal) if step.status not in ("done", "error")),
                len(journal),
            )
            for step, data in zip(journal[:finished], datas, strict=False):
                step.__dict__[_KEPT_JSON] = data
            prefix = _Prefix(journal[:finished], datas[:finished])
            conversation.runs[i].__dict__[_KEPT_PREFIX] = prefix
            after[run_id] = _RunStored(prefix, len(prefix.steps), base, len(datas))
        if current:  # else the next save writes every step again (a rotated key, plain text)
            conversation.__dict__[_STORED] = _Stored(owner, codec, conversation.version, after)

    return b"".join(parts), finish


def _no_marker(conversation: Conversation) -> None:
    return None


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _rest(data: dict[str, Any]) -> bytes:
    """The rest of an object whose first member was just written."""
    return b"," + to_json(data)[1:] if data else b"}"


def _stored_steps(
    stored: Mapping[int, str], run_id: str, base: int, count: int, codec: Any, plain: bool
) -> tuple[list[bytes], bool]:
    """A run's stored steps as JSON, and whether all are stored as the codec writes now."""
    try:
        texts = [stored[position] for position in range(base, base + count)]
    except KeyError as exc:
        raise SplitError(f"step {exc.args[0]} of run {run_id!r} is missing") from None
    if plain:
        with contextlib.suppress(AttributeError):  # not text: said below
            return [text.encode() for text in texts], True
    datas, current = [], True
    for position, text in enumerate(texts, start=base):
        data, fresh = _decode_step(codec, text, run_id, position)
        datas.append(data)
        current = current and fresh
    return datas, current


def _decode_step(codec: Any, stored: str, run_id: str, position: int) -> tuple[bytes, bool]:
    """A stored step's JSON, and whether it is stored as the codec writes now (False: under
    an older key, or plain text accepted by an encrypting codec)."""
    if not isinstance(stored, str):
        raise SplitError(f"step {position} of run {run_id!r} is {type(stored).__name__}")
    checked = getattr(codec, "decode_current", None)
    try:
        data, fresh = checked(stored) if checked is not None else (codec.decode(stored), False)
    except ValueError as exc:
        raise SplitError(f"step {position} of run {run_id!r}: {exc}") from None
    return (data.encode() if isinstance(data, str) else data), fresh
