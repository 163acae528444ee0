"""An in-process store: conversations kept as JSON (isolated copies, like a database).

Rows are indexed by customer and resume token, so a turn decodes only the conversations it
returns. Journal steps are kept beside their row (:mod:`._split`): a save copies the steps
that changed, not the whole journal. It keeps the database stores' rules: a stale save raises
:class:`ConcurrentUpdate`, a customer has at most one conversation that is not closed, and a
save moves the conversation's ``archive_out`` to the archive all at once or not at all.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from ..exceptions import ConcurrentUpdate
from .base import (
    PLAIN,
    Codec,
    Recent,
    RowWrite,
    _Locks,
    decode_conversation,
    decode_record,
    stamp_for_save,
)
from .conversation import Conversation

__all__ = ["MemoryStore"]

_WHERE = "the memory store"


@dataclass(kw_only=True)
class _Row:
    customer_id: str
    status: str
    updated_at: float
    version: int
    resume_token: str | None
    inflight_until: float | None
    data: str
    """The conversation's JSON as the store's codec keeps it (without its journals)."""
    approval_since: float | None = None
    steps: dict[str, dict[int, str]] = field(default_factory=dict)
    """The journal steps as stored, by run id and position."""


class MemoryStore:
    """Keeps conversations in memory; for tests, evals and single-process demos."""

    def __init__(self) -> None:
        self._rows: dict[str, _Row] = {}
        self._by_customer: dict[str, list[str]] = {}
        self._by_token: dict[str, str] = {}
        self._archive: dict[str, list[str]] = {}
        self._locks = _Locks()
        self.codec: Codec = PLAIN
        """How rows are kept (:class:`~resolvekit.sessions.encrypted.EncryptedStore` sets it)."""
        self.recent = Recent()
        """The conversations saved last, returned as they are while their row is unchanged."""

    def _customer_rows(self, customer_id: str) -> list[tuple[str, _Row]]:
        return [(cid, self._rows[cid]) for cid in self._by_customer.get(customer_id, [])]

    def _decode(self, conversation_id: str, row: _Row, *, reuse: bool = False) -> Conversation:
        if not reuse:
            return decode_conversation(
                conversation_id,
                row.data,
                where=_WHERE,
                codec=self.codec,
                steps=row.steps,
                owner=self,
            )
        kept = self.recent.take(conversation_id, row.version)
        return self.recent.lend(kept or self._decode(conversation_id, row))

    async def open_conversation(self, customer_id: str) -> Conversation | None:
        return self._open(customer_id, reuse=False)

    async def checkout(self, customer_id: str) -> Conversation | None:
        """:meth:`open_conversation` for a turn (under the customer's lock): the object this
        store saved last when the row is unchanged, instead of a fresh copy."""
        return self._open(customer_id, reuse=True)

    def _open(self, customer_id: str, *, reuse: bool) -> Conversation | None:
        rows = [(cid, r) for cid, r in self._customer_rows(customer_id) if r.status != "closed"]
        if not rows:
            return None
        found, row = max(rows, key=lambda item: item[1].updated_at)
        return self._decode(found, row, reuse=reuse)

    async def get(self, conversation_id: str) -> Conversation | None:
        row = self._rows.get(conversation_id)
        return self._decode(conversation_id, row) if row is not None else None

    async def find_by_resume_token(self, token: str) -> Conversation | None:
        conversation_id = self._by_token.get(token)
        return await self.get(conversation_id) if conversation_id is not None else None

    async def save(self, conversation: Conversation) -> None:
        with stamp_for_save(conversation, self.codec, self.recent, split=self) as write:
            self._check(conversation, write)
            self._write(conversation, write)
            write.committed = True

    def _check(self, conversation: Conversation, write: RowWrite) -> None:
        """Raise :class:`ConcurrentUpdate` for a stale copy or a second open conversation."""
        old = self._rows.get(conversation.id)
        if (old.version != write.expected) if old is not None else _delta(write):
            raise ConcurrentUpdate(
                f"Conversation {conversation.id} was saved by someone else since it was loaded"
            )
        if conversation.status == "closed":
            return
        for other_id, other in self._customer_rows(conversation.customer_id):
            if other_id != conversation.id and other.status != "closed":
                raise ConcurrentUpdate(
                    f"Customer {conversation.customer_id!r} already has an open conversation "
                    f"({other_id}); conversation {conversation.id} was not saved"
                )

    def _write(self, conversation: Conversation, write: RowWrite) -> None:
        old = self._rows.get(conversation.id)
        if old is None:
            self._by_customer.setdefault(conversation.customer_id, []).append(conversation.id)
        elif old.resume_token is not None:
            self._by_token.pop(old.resume_token, None)
        if conversation.resume_token is not None:
            self._by_token[conversation.resume_token] = conversation.id
        self._rows[conversation.id] = _Row(
            customer_id=conversation.customer_id,
            status=conversation.status,
            updated_at=conversation.updated_at,
            version=conversation.version,
            resume_token=conversation.resume_token,
            inflight_until=write.inflight_until,
            data=write.data,
            approval_since=conversation.awaiting_approval(),
            steps=_steps_after(old.steps if old is not None else {}, write),
        )
        if write.archive:
            self._archive.setdefault(conversation.id, []).extend(r for _, r in write.archive)

    async def history(self, customer_id: str, limit: int = 5) -> list[Conversation]:
        closed = [(cid, r) for cid, r in self._customer_rows(customer_id) if r.status == "closed"]
        closed.sort(key=lambda item: item[1].updated_at, reverse=True)
        return [self._decode(cid, r) for cid, r in closed[:limit]]

    async def inflight(self, before: float, limit: int = 100) -> list[tuple[str, str]]:
        found = [
            (row.inflight_until, cid, row.customer_id)
            for cid, row in self._rows.items()
            if row.status != "closed"
            and row.inflight_until is not None
            and row.inflight_until < before
        ]
        found.sort()
        return [(cid, customer_id) for _, cid, customer_id in found[:limit]]

    async def handed_off(self, limit: int = 100) -> list[Conversation]:
        found = [(r.updated_at, cid) for cid, r in self._rows.items() if r.status == "handed_off"]
        found.sort()
        return [self._decode(cid, self._rows[cid]) for _, cid in found[:limit]]

    async def awaiting_approval(self, limit: int = 100) -> list[tuple[str, str]]:
        found = sorted(
            (row.approval_since, cid, row.customer_id)
            for cid, row in self._rows.items()
            if row.status != "closed" and row.approval_since is not None
        )
        return [(cid, customer_id) for _, cid, customer_id in found[:limit]]

    async def conversation_ids(self, *, updated_since: float | None = None) -> list[str]:
        """Ids of every stored conversation (open, handed off or closed), least recently
        updated first; with ``updated_since``, only those saved at or after it. Read-only: for
        reports (``resolvekit report``), which then ``get`` each one."""
        rows = sorted(self._rows.items(), key=lambda item: (item[1].updated_at, item[0]))
        return [
            cid for cid, row in rows if updated_since is None or row.updated_at >= updated_since
        ]

    async def archived(self, conversation_id: str) -> list[dict[str, Any]]:
        return [
            decode_record(conversation_id, seq, raw, where=_WHERE, codec=self.codec)
            for seq, raw in enumerate(self._archive.get(conversation_id, []))
        ]

    def lock(self, customer_id: str) -> contextlib.AbstractAsyncContextManager[None]:
        return self._locks.hold(customer_id)

    async def close(self) -> None:
        return None


def _delta(write: RowWrite) -> bool:
    return write.steps is not None and write.steps.delta


def _steps_after(steps: dict[str, dict[int, str]], write: RowWrite) -> dict[str, dict[int, str]]:
    """The row's stored steps with the save's step writes applied (in place: a save copies
    only the steps that changed)."""
    writes = write.steps
    if writes is None:
        return {}
    if writes.clear:
        steps = {}
    for run_id in writes.drop_runs:
        steps.pop(run_id, None)
    for run_id, base, end in writes.trims:
        run_steps = steps.get(run_id, {})
        for position in [p for p in run_steps if not base <= p < end]:
            del run_steps[position]
    for run_id, position, data in writes.upserts:
        steps.setdefault(run_id, {})[position] = data
    return steps
