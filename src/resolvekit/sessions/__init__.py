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

from ..exceptions import UserError
from .base import PLAIN, Codec, Store, checkout, decode_conversation
from .conversation import (
    DEFAULT_WRITE_DEADLINE,
    FREE_RUN,
    MAX_RECEIPTS,
    PROCESS_ID,
    Conversation,
    PendingState,
    PlaybookRun,
    Step,
    encode_conversation,
    process_id,
)

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
    "checkout",
    "decode_conversation",
    "encode_conversation",
    "open_store",
    "process_id",
]


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
