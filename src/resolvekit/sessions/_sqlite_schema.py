"""The SQLite store's schema: creating a file's tables and upgrading an older file."""

from __future__ import annotations

import logging
import sqlite3

from ..exceptions import CorruptStore
from .base import DUPLICATE_OPEN, closed_for_upgrade, inflight_of

__all__ = ["SCHEMA_VERSION", "schema_of", "upgrade"]

log = logging.getLogger("resolvekit")

SCHEMA_VERSION = 4
"""1: conversations and meta. 2: one open conversation per customer (a partial unique index),
``inflight_until``, the ``archive`` and ``locks`` tables. 3: ``approval_since`` (conversations
waiting for an approval; older rows wait for none). 4: the ``steps`` table, journal steps
stored beside their row (:mod:`._split`; older rows keep their journals inline until their
next save)."""

_TABLES = (
    "CREATE TABLE IF NOT EXISTS conversations (id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, "
    "status TEXT NOT NULL, updated_at REAL NOT NULL, version INTEGER NOT NULL, "
    "resume_token TEXT, data TEXT NOT NULL, inflight_until REAL, approval_since REAL)",
    "CREATE INDEX IF NOT EXISTS conversations_customer "
    "ON conversations (customer_id, status, updated_at)",
    "CREATE INDEX IF NOT EXISTS conversations_token ON conversations (resume_token)",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
)
_V2 = (
    "CREATE UNIQUE INDEX IF NOT EXISTS conversations_one_open "
    "ON conversations (customer_id) WHERE status != 'closed'",
    "CREATE INDEX IF NOT EXISTS conversations_inflight "
    "ON conversations (inflight_until) WHERE inflight_until IS NOT NULL",
    "CREATE TABLE IF NOT EXISTS archive (conversation_id TEXT NOT NULL, seq INTEGER NOT NULL, "
    "data TEXT NOT NULL, PRIMARY KEY (conversation_id, seq)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS locks (customer_id TEXT PRIMARY KEY, owner TEXT NOT NULL, "
    "expires_at REAL NOT NULL)",
    "CREATE INDEX IF NOT EXISTS conversations_approval "
    "ON conversations (approval_since) WHERE approval_since IS NOT NULL",
    "CREATE TABLE IF NOT EXISTS steps (conversation_id TEXT NOT NULL, run_id TEXT NOT NULL, "
    "pos INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (conversation_id, run_id, pos)) "
    "WITHOUT ROWID",
)


def schema_of(db: sqlite3.Connection, path: str) -> int | None:
    """The file's schema version (None: a new file); a newer one raises CorruptStore."""
    try:
        row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return None
        raise
    if row is None:
        return None
    if not str(row[0]).isdigit() or int(row[0]) > SCHEMA_VERSION:
        raise CorruptStore(
            f"{path} uses store schema {row[0]}, newer than this resolvekit's "
            f"{SCHEMA_VERSION}; upgrade resolvekit"
        )
    return int(row[0])


def upgrade(db: sqlite3.Connection, found: int | None, path: str) -> None:
    """Bring a new or older file to :data:`SCHEMA_VERSION` (inside a write transaction)."""
    if found == SCHEMA_VERSION:
        return  # another process upgraded it first
    for statement in _TABLES:
        db.execute(statement)
    columns = {row[1] for row in db.execute("PRAGMA table_info(conversations)")}
    if "inflight_until" not in columns:
        db.execute("ALTER TABLE conversations ADD COLUMN inflight_until REAL")
        _backfill_inflight(db, path)
    if "approval_since" not in columns:
        db.execute("ALTER TABLE conversations ADD COLUMN approval_since REAL")
    _close_duplicates(db, path)
    for statement in _V2:
        db.execute(statement)
    db.execute(
        "INSERT INTO meta (key, value) VALUES ('schema', ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (str(SCHEMA_VERSION),),
    )
    if found is not None:
        log.info("%s upgraded from store schema %s to %s", path, found, SCHEMA_VERSION)


def _backfill_inflight(db: sqlite3.Connection, path: str) -> None:
    rows = db.execute(
        "SELECT id, data FROM conversations WHERE status != 'closed' AND data LIKE '%\"started\"%'"
    ).fetchall()
    for conversation_id, data in rows:
        until = inflight_of(data, conversation_id, path)
        if until is not None:
            db.execute(
                "UPDATE conversations SET inflight_until = ? WHERE id = ?",
                (until, conversation_id),
            )


def _close_duplicates(db: sqlite3.Connection, path: str) -> None:
    """Close all but each customer's most recently updated open conversation."""
    rows = db.execute(DUPLICATE_OPEN.format(t="conversations")).fetchall()
    for conversation_id, version, data in rows:
        closed = closed_for_upgrade(data, version + 1)
        db.execute(
            "UPDATE conversations SET status = 'closed', version = ?, data = ? WHERE id = ?",
            (version + 1 if closed else version, closed or data, conversation_id),
        )
    if rows:
        log.warning(
            "%s: closed %d conversations that were a customer's second open one "
            "(one open conversation per customer from store schema 2)",
            path,
            len(rows),
        )
