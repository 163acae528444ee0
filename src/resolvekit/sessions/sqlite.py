"""The default store: one SQLite file in WAL mode.

Each conversation is one row holding its JSON; a ``version`` column gives optimistic concurrency
across processes (a stale save raises :class:`ConcurrentUpdate`), and an in-process lock per
customer serialises turns. Rows that cannot be decoded raise :class:`CorruptStore` naming the row;
they are never overwritten.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from pathlib import Path

from ..exceptions import ConcurrentUpdate, CorruptStore
from . import ROW_COLUMNS, Conversation, _Locks, decode_conversation, stamp_for_save

__all__ = ["SQLiteStore"]

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL,
    status TEXT NOT NULL,
    updated_at REAL NOT NULL,
    version INTEGER NOT NULL,
    resume_token TEXT,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS conversations_customer
    ON conversations (customer_id, status, updated_at);
CREATE INDEX IF NOT EXISTS conversations_token ON conversations (resume_token);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class SQLiteStore:
    """Conversations in a SQLite file (WAL, ``synchronous=NORMAL``).

    Args:
        path: the database file (created if missing); ``":memory:"`` for a private in-memory db.

    Raises:
        CorruptStore: the file is not a SQLite database or was written by a newer schema.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._locks = _Locks()
        self._db_lock = threading.Lock()
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=5000")
            self._db.executescript(_SCHEMA)
            row = self._db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
            if row is None:
                self._db.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema', ?)", (str(SCHEMA_VERSION),)
                )
            elif int(row[0]) > SCHEMA_VERSION:
                raise CorruptStore(
                    f"{self.path} uses store schema {row[0]}, newer than this resolvekit's "
                    f"{SCHEMA_VERSION}; upgrade resolvekit"
                )
        except sqlite3.DatabaseError as exc:
            raise CorruptStore(f"{self.path} is not a usable SQLite database: {exc}") from exc

    def _decode(self, conversation_id: str, raw: str) -> Conversation:
        return decode_conversation(conversation_id, raw, where=self.path)

    def _query(self, sql: str, params: tuple[object, ...]) -> list[tuple[str, str]]:
        try:
            with self._db_lock:
                return self._db.execute(sql, params).fetchall()
        except sqlite3.DatabaseError as exc:
            raise CorruptStore(f"{self.path}: {exc}") from exc

    async def open_conversation(self, customer_id: str) -> Conversation | None:
        rows = self._query(
            "SELECT id, data FROM conversations WHERE customer_id = ? AND status != 'closed' "
            "ORDER BY updated_at DESC LIMIT 1",
            (customer_id,),
        )
        return self._decode(*rows[0]) if rows else None

    async def get(self, conversation_id: str) -> Conversation | None:
        rows = self._query("SELECT id, data FROM conversations WHERE id = ?", (conversation_id,))
        return self._decode(*rows[0]) if rows else None

    async def find_by_resume_token(self, token: str) -> Conversation | None:
        rows = self._query("SELECT id, data FROM conversations WHERE resume_token = ?", (token,))
        return self._decode(*rows[0]) if rows else None

    async def save(self, conversation: Conversation) -> None:
        expected, row = stamp_for_save(conversation)
        try:
            with self._db_lock:
                cursor = self._db.execute(
                    "UPDATE conversations SET customer_id=?, status=?, updated_at=?, version=?, "
                    "resume_token=?, data=? WHERE id=? AND version=?",
                    (*row, conversation.id, expected),
                )
                if cursor.rowcount == 0:
                    try:
                        self._db.execute(
                            f"INSERT INTO conversations (id, {ROW_COLUMNS}) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?)",
                            (conversation.id, *row),
                        )
                    except sqlite3.IntegrityError:
                        conversation.version = expected
                        raise ConcurrentUpdate(
                            f"Conversation {conversation.id} was saved by another writer since "
                            f"it was loaded (version {expected})"
                        ) from None
        except sqlite3.DatabaseError as exc:
            conversation.version = expected
            raise CorruptStore(f"{self.path}: cannot save: {exc}") from exc

    async def history(self, customer_id: str, limit: int = 5) -> list[Conversation]:
        rows = self._query(
            "SELECT id, data FROM conversations WHERE customer_id = ? AND status = 'closed' "
            "ORDER BY updated_at DESC LIMIT ?",
            (customer_id, limit),
        )
        return [self._decode(*row) for row in rows]

    def lock(self, customer_id: str) -> contextlib.AbstractAsyncContextManager[None]:
        return self._locks.hold(customer_id)

    async def close(self) -> None:
        with self._db_lock:
            self._db.close()
