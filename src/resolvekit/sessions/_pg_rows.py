"""The PostgreSQL store's reads and writes of conversation rows: a save writes the row, the
journal steps that changed (table ``<table>_steps``, :mod:`._split`) and the archive records in
one transaction; a read takes rows and their steps in one statement (one snapshot)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._split import StepWrites
from .base import ROW_COLUMNS, RowWrite, save_conflict
from .conversation import Conversation

if TYPE_CHECKING:
    import psycopg

__all__ = ["StoredRow", "read_sql", "steps_table", "stored_rows", "write_row"]

_ASSIGN = ", ".join(f"{column} = %s" for column in ROW_COLUMNS.split(", "))


def steps_table(table: str) -> str:
    """The statement creating the steps table beside ``table`` (schema 4)."""
    return (
        f"CREATE TABLE IF NOT EXISTS {table}_steps (conversation_id TEXT NOT NULL, "
        "run_id TEXT NOT NULL, pos INTEGER NOT NULL, data TEXT NOT NULL, "
        "PRIMARY KEY (conversation_id, run_id, pos))"
    )


@dataclass(frozen=True)
class StoredRow:
    """A conversation row as read, with its journal steps (by run id and position)."""

    id: str
    version: int
    data: str
    steps: dict[str, dict[int, str]]


def read_sql(table: str, where: str, *, order: str = "id", limit: str = "") -> str:
    """One statement selecting the rows of ``table`` that match ``where`` (in ``order``, at
    most ``limit``) with each row's steps as three arrays: a statement reads one snapshot, so
    a save committed meanwhile cannot mix two versions."""
    return (
        "SELECT c.id, c.version, c.data, s.runs, s.positions, s.datas FROM ("
        f"SELECT id, version, data, row_number() OVER (ORDER BY {order}) AS n FROM {table} "
        f"WHERE {where} ORDER BY {order} {limit}) AS c LEFT JOIN LATERAL (SELECT "
        "array_agg(run_id) AS runs, array_agg(pos) AS positions, array_agg(data) AS datas "
        f"FROM {table}_steps WHERE conversation_id = c.id) AS s ON true ORDER BY c.n"
    )


def stored_rows(rows: list[tuple[Any, ...]]) -> list[StoredRow]:
    """The rows :func:`read_sql` selected, with their steps by run id and position."""
    found = []
    for conversation_id, version, data, runs, positions, datas in rows:
        steps: dict[str, dict[int, str]] = {}
        for run_id, position, step in zip(runs or (), positions or (), datas or (), strict=True):
            steps.setdefault(run_id, {})[position] = step
        found.append(StoredRow(conversation_id, version, data, steps))
    return found


async def write_row(
    conn: psycopg.AsyncConnection[Any], table: str, conversation: Conversation, write: RowWrite
) -> None:
    """Write one save (see :class:`RowWrite`): the row under the version check, then its
    steps and archive records, all in the caller's transaction (or alone: one statement).

    Raises:
        ConcurrentUpdate: the row's version is not the expected one (or, for a save that
            writes only changed steps, the row is gone).
        psycopg.errors.UniqueViolation: the customer already has another open conversation.
    """
    t, cid, steps = table, conversation.id, write.steps
    if steps is not None and _only_upserts(write, steps):
        # The common turn (steps appended or changed, nothing deleted): one statement, the
        # steps written only if the row's version matched (atomic by itself).
        cursor = await conn.execute(
            f"WITH saved AS (UPDATE {t} SET {_ASSIGN} WHERE id = %s AND version = %s "
            f"RETURNING id), written AS (INSERT INTO {t}_steps (conversation_id, run_id, pos, "
            "data) SELECT saved.id, u.r, u.p, u.d FROM saved, "
            f"{_UNNEST} {_UPSERT}) SELECT count(*) FROM saved",
            (*write.values, cid, write.expected, *_columns(steps)),
        )
        found = await cursor.fetchone()
        if found is None or found[0] != 1:
            raise save_conflict(conversation, write, second_open=False)
        return
    cursor = await conn.execute(
        f"UPDATE {t} SET {_ASSIGN} WHERE id = %s AND version = %s",
        (*write.values, cid, write.expected),
    )
    if cursor.rowcount == 0:
        if steps is not None and steps.delta:
            raise save_conflict(conversation, write, second_open=False)
        cursor = await conn.execute(
            f"INSERT INTO {t} (id, {ROW_COLUMNS}) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING",
            (cid, *write.values),
        )
        if cursor.rowcount == 0:
            raise save_conflict(conversation, write, second_open=False)
    if steps is not None:
        if steps.clear:
            await conn.execute(f"DELETE FROM {t}_steps WHERE conversation_id = %s", (cid,))
        if steps.drop_runs:
            await conn.execute(
                f"DELETE FROM {t}_steps WHERE conversation_id = %s AND run_id = ANY(%s)",
                (cid, steps.drop_runs),
            )
        for run_id, base, end in steps.trims:
            await conn.execute(
                f"DELETE FROM {t}_steps WHERE conversation_id = %s AND run_id = %s "
                "AND (pos < %s OR pos >= %s)",
                (cid, run_id, base, end),
            )
        if steps.upserts:
            await conn.execute(
                f"INSERT INTO {t}_steps (conversation_id, run_id, pos, data) "
                f"SELECT %s, u.r, u.p, u.d FROM {_UNNEST} {_UPSERT}",
                (cid, *_columns(steps)),
            )
    if write.archive:
        async with conn.cursor() as archive:
            await archive.executemany(
                f"INSERT INTO {t}_archive (conversation_id, seq, data) VALUES (%s, %s, %s)",
                [(cid, seq, data) for seq, data in write.archive],
            )


_UNNEST = "unnest(%s::text[], %s::int[], %s::text[]) AS u(r, p, d)"
_UPSERT = "ON CONFLICT (conversation_id, run_id, pos) DO UPDATE SET data = excluded.data"


def _columns(steps: StepWrites) -> tuple[list[str], list[int], list[str]]:
    """The steps to upsert as three arrays (run ids, positions, stored JSON)."""
    return (
        [run_id for run_id, _, _ in steps.upserts],
        [position for _, position, _ in steps.upserts],
        [data for _, _, data in steps.upserts],
    )


def _only_upserts(write: RowWrite, steps: StepWrites) -> bool:
    """A save that updates the row (no insert) and upserts steps, deleting none."""
    return (
        steps.delta
        and not (steps.drop_runs or steps.trims or write.archive)
        and bool(steps.upserts)
    )


def needs_transaction(write: RowWrite) -> bool:
    """More than one statement (the row's, or the row's with its upserted steps, is atomic
    by itself)."""
    steps = write.steps
    if steps is None or _only_upserts(write, steps):
        return bool(write.archive)
    return bool(write.archive or steps.clear or steps.drop_runs or steps.trims or steps.upserts)
