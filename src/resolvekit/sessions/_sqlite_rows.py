"""The SQLite store's reads and writes of conversation rows, run on its worker thread: a save
writes the row, the journal steps that changed (table ``steps``, :mod:`._split`) and the
archive records in one transaction; a read takes a row and its steps from one snapshot."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass

from ..exceptions import ConcurrentUpdate
from .base import ROW_COLUMNS, RowWrite, save_conflict
from .conversation import Conversation

__all__ = ["StoredRow", "read_rows", "transaction", "write_row"]

_ASSIGN = ", ".join(f"{column} = ?" for column in ROW_COLUMNS.split(", "))


@dataclass(frozen=True)
class StoredRow:
    """A conversation row as read, with its journal steps (by run id and position)."""

    id: str
    version: int
    data: object
    steps: dict[str, dict[int, str]]


@contextlib.contextmanager
def transaction(db: sqlite3.Connection, begin: str = "BEGIN IMMEDIATE") -> Iterator[None]:
    """A transaction: by default a write one (the write lock is taken at once, waiting up to
    the busy timeout); ``"BEGIN"`` for a read from one snapshot. Committed at the end, rolled
    back on any error."""
    db.execute(begin)
    try:
        yield
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
        raise


def read_rows(db: sqlite3.Connection, sql: str, params: tuple[object, ...]) -> list[StoredRow]:
    """The rows ``sql`` selects (``id, version, data``), each with its steps, from one
    snapshot (a save committed in between cannot mix two versions)."""
    with transaction(db, "BEGIN"):
        rows = db.execute(sql, params).fetchall()
        found = []
        for conversation_id, version, data in rows:
            steps: dict[str, dict[int, str]] = {}
            for run_id, position, step in db.execute(
                "SELECT run_id, pos, data FROM steps WHERE conversation_id = ?",
                (conversation_id,),
            ):
                steps.setdefault(run_id, {})[position] = step
            found.append(StoredRow(conversation_id, version, data, steps))
    return found


def write_row(db: sqlite3.Connection, conversation: Conversation, write: RowWrite) -> None:
    """Write one save (see :class:`RowWrite`) in one transaction; sets ``write.committed``.

    Raises:
        ConcurrentUpdate: the row's version is not the expected one (or, for a save that
            writes only changed steps, the row is gone), or the customer already has another
            open conversation.
    """
    steps = write.steps
    with transaction(db):
        try:
            cursor = db.execute(
                f"UPDATE conversations SET {_ASSIGN} WHERE id = ? AND version = ?",
                (*write.values, conversation.id, write.expected),
            )
            if cursor.rowcount == 0:
                if steps is not None and steps.delta:
                    raise _conflict(conversation, write, None)
                db.execute(
                    f"INSERT INTO conversations (id, {ROW_COLUMNS}) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (conversation.id, *write.values),
                )
        except sqlite3.IntegrityError as exc:
            raise _conflict(conversation, write, exc) from None
        if steps is not None:
            cid = conversation.id
            if steps.clear:
                db.execute("DELETE FROM steps WHERE conversation_id = ?", (cid,))
            for run_id in steps.drop_runs:
                db.execute(
                    "DELETE FROM steps WHERE conversation_id = ? AND run_id = ?", (cid, run_id)
                )
            for run_id, base, end in steps.trims:
                db.execute(
                    "DELETE FROM steps WHERE conversation_id = ? AND run_id = ? "
                    "AND (pos < ? OR pos >= ?)",
                    (cid, run_id, base, end),
                )
            db.executemany(
                "INSERT INTO steps (conversation_id, run_id, pos, data) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (conversation_id, run_id, pos) DO UPDATE SET data = excluded.data",
                [(cid, run_id, position, data) for run_id, position, data in steps.upserts],
            )
        db.executemany(
            "INSERT INTO archive (conversation_id, seq, data) VALUES (?, ?, ?)",
            [(conversation.id, seq, data) for seq, data in write.archive],
        )
    write.committed = True


def _conflict(
    conversation: Conversation, write: RowWrite, exc: sqlite3.IntegrityError | None
) -> ConcurrentUpdate:
    second_open = exc is not None and "customer_id" in str(exc)
    return save_conflict(conversation, write, second_open=second_open)
