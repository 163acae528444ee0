"""The store protocol and what every store shares: encoding rows (with a :class:`Codec`),
decoding them into checked conversations, stamping saves, per-customer locks."""

from __future__ import annotations

import asyncio
import contextlib
import time
import weakref
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from pydantic import ValidationError
from pydantic_core import from_json, to_json

from ..exceptions import ConcurrentUpdate, CorruptStore
from ._split import StepWrites, committed, decode_split, split_write
from .conversation import (
    _CONVERSATION,
    Conversation,
    encode_conversation,
)

__all__ = ["PLAIN", "Codec", "Recent", "Store", "checkout"]


@runtime_checkable
class Store(Protocol):
    """Where conversations live. Implementations: memory, SQLite and PostgreSQL (and
    :class:`~resolvekit.sessions.encrypted.EncryptedStore` around any of them).

    Every method may raise :class:`~resolvekit.exceptions.StoreUnavailable` (retry later,
    nothing was written half-way) and :class:`~resolvekit.exceptions.CorruptStore` (a stored
    record cannot be read; it is left untouched).

    Optional, outside the protocol (every built-in store has it; the handoff inbox of
    ``resolvekit console`` needs it): ``async handed_off(limit=100) -> list[Conversation]``,
    the conversations a human has (status ``handed_off``), least recently saved first: a
    read-only listing.
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

    async def awaiting_approval(self, limit: int = 100) -> list[tuple[str, str]]:
        """``(conversation_id, customer_id)`` of conversations not closed that wait for an
        approval (:meth:`Conversation.awaiting_approval` as of their last save), the longest
        waiting first."""
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
    """How a store keeps the JSON of a conversation (and of each archive record and journal
    step) in its ``data`` column: :data:`PLAIN` as is, or encrypted
    (:mod:`resolvekit.sessions.encrypted`).

    Optional, outside the protocol: ``decode_current(stored) -> (json, current)``, whether
    ``stored`` is already in the form ``encode`` writes now (a journal step that is not, under
    an older key for instance, is written again by the conversation's next save; without the
    method, every step is written again by the first save after a read).
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

    def decode_current(self, stored: str) -> tuple[bytes | str, bool]:
        """:meth:`decode`, and True: plain text is what this codec writes."""
        return self.decode(stored), True


_FERNET_PREFIX = "gAAAAA"
"""How every Fernet token starts (version byte 0x80 and a timestamp's high bytes)."""

PLAIN: Codec = PlainCodec()
"""The codec of a store that does not encrypt."""


def decode_conversation(
    conversation_id: str,
    raw: object,
    *,
    where: str,
    codec: Codec = PLAIN,
    steps: Mapping[str, Mapping[int, str]] | None = None,
    owner: object = None,
) -> Conversation:
    """A stored row's ``data`` as a :class:`Conversation`, checked for consistency.

    Args:
        steps: for a store that keeps journal steps apart (:mod:`._split`): the row's stored
            steps by run id and position; ``owner`` is that store.

    Raises:
        CorruptStore: the data cannot be decoded, does not describe a conversation, or
            contradicts itself (a pending question pointing at no run or no journal step, a
            journal step missing); the message names the row and ``where`` it lives, and
            never quotes its content.
    """
    if not isinstance(raw, str):
        raise _corrupt(conversation_id, where, f"its data is {type(raw).__name__}, not text")
    finish = None
    try:
        data = codec.decode(raw)
        if steps is not None:
            data, finish = decode_split(data, steps, owner=owner, codec=codec, plain=codec is PLAIN)
        conversation = _CONVERSATION.validate_json(data)
    except ValidationError as exc:
        raise _corrupt(conversation_id, where, _summary(exc)) from None
    except ValueError as exc:  # the codec's refusal, a missing step
        raise _corrupt(conversation_id, where, str(exc)) from None
    problem = _inconsistency(conversation_id, conversation)
    if problem is not None:
        raise _corrupt(conversation_id, where, problem)
    conversation.archive_out = []
    if finish is not None:
        finish(conversation)
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
    # Steps are numbered from ``run.base`` (free mode's journal moves its oldest to the archive).
    if pending.step is not None and not run.base <= pending.step < run.base + len(run.journal):
        return (
            f"pending.step {pending.step} is outside run {run.id!r}'s journal "
            f"of {len(run.journal)} steps from {run.base}"
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


ROW_COLUMNS = (
    "customer_id, status, updated_at, version, resume_token, inflight_until, data, approval_since"
)
"""The columns of a stored conversation after its id, in the order of :attr:`RowWrite.values`."""


@dataclass(kw_only=True)
class RowWrite:
    """What one save writes, encoded (see :func:`stamp_for_save`)."""

    expected: int
    """The version the stored row must still have (0 and no row: a new conversation)."""
    inflight_until: float | None
    """:meth:`Conversation.inflight_until` as of this save."""
    data: str
    """The conversation's JSON, as the store's codec keeps it (without its journals when
    ``steps`` is set)."""
    steps: StepWrites | None
    """For a store that keeps journal steps apart: the steps to write beside the row."""
    archive: list[tuple[int, str]]
    """``(seq, stored record)`` to append to the conversation's archive."""
    values: tuple[object, ...]
    """The row's values in the order of :data:`ROW_COLUMNS`."""
    committed: bool = False
    """Set by the store once its transaction committed: a save interrupted after that (a
    cancelled task) keeps the conversation's new version instead of putting the old one back."""


def save_conflict(
    conversation: Conversation, write: RowWrite, *, second_open: bool
) -> ConcurrentUpdate:
    """The error of a save refused by the store: the customer already has another open
    conversation (``second_open``), or the row moved on since the conversation was loaded."""
    if second_open:
        return ConcurrentUpdate(
            f"Customer {conversation.customer_id!r} already has an open conversation; "
            f"conversation {conversation.id} was not saved"
        )
    return ConcurrentUpdate(
        f"Conversation {conversation.id} was saved by another writer since it was loaded "
        f"(version {write.expected})"
    )


class Recent:
    """The conversations a store saved at the end of a turn, kept as objects: checking out a
    row whose version is the one this store saved hands back that object instead of decoding
    the row again (decoding is most of a long conversation's per-turn cost).

    Only objects handed out by ``checkout`` are kept when saved (an object read with ``get``
    or ``open_conversation`` stays the caller's), and checking out takes the object out: a
    turn that fails before saving leaves nothing half-changed behind, the next checkout
    decodes the row. Another writer's save changes the row's version, so a stale object is
    never returned.

    Args:
        size: how many conversations to keep (the least recently saved go first).
    """

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._items: OrderedDict[str, Conversation] = OrderedDict()
        # by id(): a Conversation (an eq dataclass) is not hashable
        self._lent: weakref.WeakValueDictionary[int, Conversation] = weakref.WeakValueDictionary()

    def take(self, conversation_id: str, version: int) -> Conversation | None:
        """The kept object for this row version, removed from the cache; else ``None``."""
        found = self._items.pop(conversation_id, None)
        return found if found is not None and found.version == version else None

    def lend(self, conversation: Conversation) -> Conversation:
        """Mark ``conversation`` as checked out for a turn (kept when it is saved)."""
        self._lent[id(conversation)] = conversation
        return conversation

    def put(self, conversation: Conversation) -> None:
        """Keep ``conversation`` (just saved) if it was checked out."""
        if self._lent.get(id(conversation)) is not conversation:
            return
        del self._lent[id(conversation)]
        if self.size <= 0:
            return
        self._items[conversation.id] = conversation
        self._items.move_to_end(conversation.id)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def drop(self, conversation_id: str) -> None:
        self._items.pop(conversation_id, None)


async def checkout(store: Store, customer_id: str) -> Conversation | None:
    """The customer's open conversation for a turn, taken under the customer's lock: the
    object the store saved last when its row is unchanged (built-in stores keep it), else
    :meth:`Store.open_conversation`."""
    take = getattr(store, "checkout", None)
    if take is None:
        return await store.open_conversation(customer_id)
    found: Conversation | None = await take(customer_id)
    return found


@contextlib.contextmanager
def stamp_for_save(
    conversation: Conversation,
    codec: Codec = PLAIN,
    recent: Recent | None = None,
    *,
    split: object = None,
) -> Iterator[RowWrite]:
    """Prepare a save: bump the version and ``updated_at``, move ``archive_out`` into the
    archive count, and encode the row and the records; with ``split`` (the store, when it
    keeps journal steps apart: :mod:`._split`), the row without its journals and the steps
    that changed since this object was last saved to or read from that store.

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
        write = _row_write(conversation, codec, split, expected=before[0], records=before[3])
        yield write
    except BaseException:
        if write is not None and write.committed and write.steps is not None:
            committed(conversation, write.steps)
        if write is None or not write.committed:
            (
                conversation.version,
                conversation.updated_at,
                conversation.archived,
                conversation.archive_out,
            ) = before
            if recent is not None:
                recent.drop(conversation.id)
        raise
    if write.steps is not None:
        committed(conversation, write.steps)
    if recent is not None:
        recent.put(conversation)


def _row_write(
    conversation: Conversation,
    codec: Codec,
    split: object,
    *,
    expected: int,
    records: list[dict[str, Any]],
) -> RowWrite:
    steps = None
    if split is None:
        inflight_until = conversation.inflight_until()
        data = codec.encode(encode_conversation(conversation))
    else:
        head, steps, inflight_until = split_write(
            conversation, owner=split, codec=codec, expected=expected
        )
        data = codec.encode(head)
    first = conversation.archived - len(records)
    return RowWrite(
        expected=expected,
        inflight_until=inflight_until,
        data=data,
        steps=steps,
        archive=[(first + i, encode_record(record, codec)) for i, record in enumerate(records)],
        values=(
            conversation.customer_id,
            conversation.status,
            conversation.updated_at,
            conversation.version,
            conversation.resume_token,
            inflight_until,
            data,
            conversation.awaiting_approval(),
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
