"""An in-process store: conversations kept as JSON (isolated copies, like a database).

Rows are indexed by customer, so a turn decodes only the conversations it returns.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

from pydantic_core import from_json, to_json

from ..exceptions import ConcurrentUpdate
from . import Conversation, _Locks

__all__ = ["MemoryStore"]


@dataclass(kw_only=True)
class _Row:
    customer_id: str
    status: str
    updated_at: float
    version: int
    resume_token: str | None
    data: bytes


class MemoryStore:
    """Keeps conversations in memory; for tests, evals and single-process demos."""

    def __init__(self) -> None:
        self._rows: dict[str, _Row] = {}
        self._by_customer: dict[str, list[str]] = {}
        self._by_token: dict[str, str] = {}
        self._locks = _Locks()

    def _customer_rows(self, customer_id: str) -> list[tuple[str, _Row]]:
        return [(cid, self._rows[cid]) for cid in self._by_customer.get(customer_id, [])]

    async def open_conversation(self, customer_id: str) -> Conversation | None:
        rows = [(cid, r) for cid, r in self._customer_rows(customer_id) if r.status != "closed"]
        if not rows:
            return None
        _, row = max(rows, key=lambda item: item[1].updated_at)
        return Conversation.from_json(from_json(row.data))

    async def get(self, conversation_id: str) -> Conversation | None:
        row = self._rows.get(conversation_id)
        return Conversation.from_json(from_json(row.data)) if row is not None else None

    async def find_by_resume_token(self, token: str) -> Conversation | None:
        conversation_id = self._by_token.get(token)
        return await self.get(conversation_id) if conversation_id is not None else None

    async def save(self, conversation: Conversation) -> None:
        old = self._rows.get(conversation.id)
        if old is not None and old.version != conversation.version:
            raise ConcurrentUpdate(
                f"Conversation {conversation.id} was saved by someone else since it was loaded"
            )
        conversation.version += 1
        conversation.updated_at = time.time()
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
            data=to_json(conversation.to_json()),
        )

    async def history(self, customer_id: str, limit: int = 5) -> list[Conversation]:
        closed = [r for _, r in self._customer_rows(customer_id) if r.status == "closed"]
        closed.sort(key=lambda r: r.updated_at, reverse=True)
        return [Conversation.from_json(from_json(r.data)) for r in closed[:limit]]

    def lock(self, customer_id: str) -> contextlib.AbstractAsyncContextManager[None]:
        return self._locks.hold(customer_id)

    async def close(self) -> None:
        return None
