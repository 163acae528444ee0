"""An in-process store: conversations kept as JSON in a dict (isolated copies, like a database)."""

from __future__ import annotations

import contextlib
import json
import time

from ..exceptions import ConcurrentUpdate
from . import Conversation, _Locks

__all__ = ["MemoryStore"]


class MemoryStore:
    """Keeps conversations in memory; for tests, evals and single-process demos."""

    def __init__(self) -> None:
        self._rows: dict[str, str] = {}
        self._locks = _Locks()

    def _load(self, raw: str) -> Conversation:
        return Conversation.from_json(json.loads(raw))

    async def open_conversation(self, customer_id: str) -> Conversation | None:
        found = [
            c
            for c in map(self._load, self._rows.values())
            if c.customer_id == customer_id and c.status != "closed"
        ]
        return max(found, key=lambda c: c.updated_at) if found else None

    async def get(self, conversation_id: str) -> Conversation | None:
        raw = self._rows.get(conversation_id)
        return self._load(raw) if raw is not None else None

    async def find_by_resume_token(self, token: str) -> Conversation | None:
        for raw in self._rows.values():
            conversation = self._load(raw)
            if conversation.resume_token == token:
                return conversation
        return None

    async def save(self, conversation: Conversation) -> None:
        raw = self._rows.get(conversation.id)
        if raw is not None and json.loads(raw)["version"] != conversation.version:
            raise ConcurrentUpdate(
                f"Conversation {conversation.id} was saved by someone else since it was loaded"
            )
        conversation.version += 1
        conversation.updated_at = time.time()
        self._rows[conversation.id] = json.dumps(conversation.to_json())

    async def history(self, customer_id: str, limit: int = 5) -> list[Conversation]:
        closed = [
            c
            for c in map(self._load, self._rows.values())
            if c.customer_id == customer_id and c.status == "closed"
        ]
        return sorted(closed, key=lambda c: c.updated_at, reverse=True)[:limit]

    def lock(self, customer_id: str) -> contextlib.AbstractAsyncContextManager[None]:
        return self._locks.hold(customer_id)

    async def close(self) -> None:
        return None
