"""SQLiteStore under faults: typed errors, retries, nothing half-written, a free event loop,
cancelled saves and the schema upgrade."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

import resolvekit as rk
from resolvekit.sessions import Conversation, PlaybookRun, Step
from resolvekit.sessions.base import UPGRADE_SUMMARY
from resolvekit.sessions.sqlite import SCHEMA_VERSION, SQLiteStore


class Faulty:
    """A connection whose statements matching ``match`` fail with SQLite error ``name``
    (``times`` times, then they work)."""

    def __init__(self, db: sqlite3.Connection, match: str, name: str, times: int = 1000) -> None:
        self._db = db
        self.match = match
        self.name = name
        self.times = times
        self.failed = 0

    def _check(self, sql: str) -> None:
        if self.match in sql and self.failed < self.times:
            self.failed += 1
            error = sqlite3.OperationalError(f"injected {self.name}")
            error.sqlite_errorname = self.name
            raise error

    def execute(self, sql: str, *args: Any) -> Any:
        self._check(sql)
        return self._db.execute(sql, *args)

    def executemany(self, sql: str, *args: Any) -> Any:
        self._check(sql)
        return self._db.executemany(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)


def _stored(path: Path, conversation_id: str) -> tuple[int, int]:
    """The stored row's version and the number of its archive records."""
    raw = sqlite3.connect(path)
    try:
        (version,) = raw.execute(
            "SELECT version FROM conversations WHERE id = ?", (conversation_id,)
        ).fetchone()
        (records,) = raw.execute(
            "SELECT count(*) FROM archive WHERE conversation_id = ?", (conversation_id,)
        ).fetchone()
    finally:
        raw.close()
    return version, records


async def _saved_once(store: SQLiteStore) -> Conversation:
    conversation = Conversation.new("c-1", "chat")
    await store.save(conversation)
    conversation.archive_out = [{"n": 0}]
    conversation.transcript.append(rk.Message(role="customer", text="hello"))
    return conversation


def _unchanged(conversation: Conversation) -> None:
    assert conversation.version == 1
    assert conversation.archive_out == [{"n": 0}] and conversation.archived == 0


async def test_a_locked_database_is_unavailable_and_nothing_is_written(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    store = SQLiteStore(path, busy_timeout=0.05)
    conversation = await _saved_once(store)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process in the middle of a write
    try:
        with pytest.raises(rk.StoreUnavailable, match=r"SQLITE_BUSY.*retry later"):
            await store.save(conversation)
        _unchanged(conversation)
        assert (await store.get(conversation.id)) is not None  # readers are not blocked
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert _stored(path, conversation.id) == (1, 0)
    await store.save(conversation)  # the retry goes through
    assert _stored(path, conversation.id) == (2, 1)
    await store.close()


async def test_a_read_only_database_is_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    store = SQLiteStore(path)
    conversation = await _saved_once(store)
    store._db.execute("PRAGMA query_only = ON")  # as a read-only file or mount behaves
    with pytest.raises(rk.StoreUnavailable, match="SQLITE_READONLY"):
        await store.save(conversation)
    _unchanged(conversation)
    assert _stored(path, conversation.id) == (1, 0)
    await store.close()


async def test_a_full_disk_is_unavailable_and_nothing_is_written(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    store = SQLiteStore(path)
    conversation = await _saved_once(store)
    (pages,) = store._db.execute("PRAGMA page_count").fetchone()
    store._db.execute(f"PRAGMA max_page_count = {pages}")  # the disk is full
    conversation.archive_out = [{"n": 0, "text": "x" * 200_000}]
    with pytest.raises(rk.StoreUnavailable, match="SQLITE_FULL"):
        await store.save(conversation)
    assert conversation.version == 1 and conversation.archived == 0
    assert _stored(path, conversation.id) == (1, 0)
    await store.close()


@pytest.mark.parametrize("name", ["SQLITE_IOERR_WRITE", "SQLITE_BUSY", "SQLITE_PROTOCOL"])
async def test_a_transient_failure_is_retried_inside_the_store(tmp_path: Path, name: str) -> None:
    path = tmp_path / "s.db"
    store = SQLiteStore(path)
    conversation = await _saved_once(store)
    faulty = Faulty(store._db, "INSERT INTO archive", name, times=2)
    store._db = faulty  # type: ignore[assignment]
    await store.save(conversation)  # two failures, then the third attempt works
    assert faulty.failed == 2
    assert _stored(path, conversation.id) == (2, 1)
    await store.close()


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("SQLITE_IOERR_FSYNC", rk.StoreUnavailable),
        ("SQLITE_CANTOPEN", rk.StoreUnavailable),
        ("SQLITE_LOCKED_SHAREDCACHE", rk.StoreUnavailable),
        ("SQLITE_CORRUPT", rk.CorruptStore),
        ("SQLITE_NOTADB", rk.CorruptStore),
        ("SQLITE_ERROR", rk.StoreError),
    ],
)
async def test_a_failure_in_the_middle_of_a_save_is_typed_and_rolled_back(
    tmp_path: Path, name: str, error: type[rk.StoreError]
) -> None:
    path = tmp_path / "s.db"
    store = SQLiteStore(path)
    conversation = await _saved_once(store)
    # The row is updated, then writing the archive record fails: the update is rolled back.
    faulty = Faulty(store._db, "INSERT INTO archive", name)
    store._db = faulty  # type: ignore[assignment]
    with pytest.raises(error, match=name) as caught:
        await store.save(conversation)
    assert type(caught.value) is error
    assert faulty.failed == (3 if error is rk.StoreUnavailable else 1)  # only transient: retried
    _unchanged(conversation)
    assert _stored(path, conversation.id) == (1, 0)
    await store.close()


async def test_a_damaged_read_is_corrupt_store(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    store._db = Faulty(store._db, "SELECT", "SQLITE_CORRUPT")  # type: ignore[assignment]
    with pytest.raises(rk.CorruptStore, match="not a usable SQLite database"):
        await store.open_conversation("c-1")
    await store.close()


async def test_the_event_loop_keeps_running_while_a_save_waits_for_the_database(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.db"
    store = SQLiteStore(path, busy_timeout=5.0)
    conversation = await _saved_once(store)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    ticks = 0

    async def heartbeat() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    beating = asyncio.create_task(heartbeat())
    saving = asyncio.create_task(store.save(conversation))
    await asyncio.sleep(0.5)
    assert not saving.done()  # still waiting for the other writer...
    assert ticks >= 20  # ...while the loop ran (about 50 ticks; a blocked loop gives 0 or 1)
    other.execute("COMMIT")
    await saving
    beating.cancel()
    other.close()
    assert _stored(path, conversation.id) == (2, 1)
    await store.close()


async def test_a_cancelled_save_keeps_the_conversation_in_step_with_its_row(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.db"
    store = SQLiteStore(path, busy_timeout=5.0)
    conversation = await _saved_once(store)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    saving = asyncio.create_task(store.save(conversation))
    await asyncio.sleep(0.1)
    saving.cancel()
    await asyncio.sleep(0.1)
    assert not saving.done()  # the started write runs to its end first
    other.execute("COMMIT")
    with pytest.raises(asyncio.CancelledError):
        await saving
    other.close()
    # It was written after all: the copy knows, so its next save is not refused as stale.
    assert _stored(path, conversation.id) == (2, 1)
    assert conversation.version == 2 and conversation.archive_out == []
    await store.save(conversation)
    await store.close()


async def test_a_closed_store_says_so(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    await store.close()
    with pytest.raises(rk.StoreError, match="closed"):
        await store.get("x")


def test_an_unopenable_path_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(rk.StoreUnavailable, match="SQLITE_CANTOPEN"):
        SQLiteStore(tmp_path / "missing-directory" / "s.db")


def test_bad_times_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(rk.UserError, match="lease_ttl"):
        SQLiteStore(tmp_path / "s.db", lease_ttl=0)
    with pytest.raises(rk.UserError, match="synchronous"):
        SQLiteStore(tmp_path / "s.db", synchronous="OFF")  # type: ignore[arg-type]


def test_synchronous_full_is_applied(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db", synchronous="FULL")
    assert store._db.execute("PRAGMA synchronous").fetchone()[0] == 2


# -- the schema upgrade ------------------------------------------------------------------------

_V1 = """
CREATE TABLE conversations (
    id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, status TEXT NOT NULL,
    updated_at REAL NOT NULL, version INTEGER NOT NULL, resume_token TEXT, data TEXT NOT NULL
);
CREATE INDEX conversations_customer ON conversations (customer_id, status, updated_at);
CREATE INDEX conversations_token ON conversations (resume_token);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO meta (key, value) VALUES ('schema', '1');
"""


def _v1_row(
    raw: sqlite3.Connection, conversation: Conversation, *, data: str | None = None
) -> None:
    raw.execute(
        "INSERT INTO conversations VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            conversation.id,
            conversation.customer_id,
            conversation.status,
            conversation.updated_at,
            conversation.version,
            conversation.resume_token,
            data if data is not None else json.dumps(conversation.to_json()),
        ),
    )


def _conversation(customer_id: str, status: str, updated_at: float) -> Conversation:
    conversation = Conversation.new(customer_id, "chat")
    conversation.status = status  # type: ignore[assignment]
    conversation.updated_at = updated_at
    conversation.version = 3
    return conversation


async def test_upgrade_from_schema_1_closes_second_open_conversations(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    raw = sqlite3.connect(path)
    raw.executescript(_V1)
    a_old = _conversation("a", "open", 1.0)
    a_new = _conversation("a", "open", 2.0)
    a_closed = _conversation("a", "closed", 3.0)
    b_handed = _conversation("b", "handed_off", 5.0)
    b_open = _conversation("b", "open", 4.0)
    d_broken = _conversation("d", "open", 1.0)
    d_open = _conversation("d", "open", 2.0)
    c_writing = _conversation("c", "open", 1.0)
    run = PlaybookRun(id="r1", intent="Pay")
    run.journal.append(
        Step(index=0, kind="call", key="charge", status="started", at=1.0, deadline=9.0)
    )
    c_writing.runs.append(run)
    for conversation in (a_old, a_new, a_closed, b_handed, b_open, d_open, c_writing):
        _v1_row(raw, conversation)
    _v1_row(raw, d_broken, data="{not json")
    raw.commit()

    store = SQLiteStore(path)
    assert store._db.execute("SELECT value FROM meta").fetchone()[0] == str(SCHEMA_VERSION)
    for kept in (a_new, b_handed, d_open, c_writing):
        loaded = await store.get(kept.id)
        assert loaded is not None and loaded.status == kept.status and loaded.version == 3
    for closed in (a_old, b_open):
        loaded = await store.get(closed.id)
        assert loaded is not None
        assert (loaded.status, loaded.summary, loaded.version) == ("closed", UPGRADE_SUMMARY, 4)
        assert raw.execute(
            "SELECT status, version FROM conversations WHERE id = ?", (closed.id,)
        ).fetchone() == ("closed", 4)
    # An unreadable duplicate is closed in its column; its data is left as it was.
    assert raw.execute(
        "SELECT status, data FROM conversations WHERE id = ?", (d_broken.id,)
    ).fetchone() == ("closed", "{not json")
    assert (await store.open_conversation("a")) is not None
    assert [c.id for c in await store.history("a")] == [a_closed.id, a_old.id]
    # Started writes from before the upgrade are found, and the index now holds.
    assert await store.inflight(10.0) == [(c_writing.id, "c")]
    with pytest.raises(rk.ConcurrentUpdate):
        await store.save(Conversation.new("a", "chat"))
    await store.close()
    raw.close()
    again = SQLiteStore(path)  # upgraded once; opening again changes nothing
    loaded = await again.get(a_old.id)
    assert loaded is not None and loaded.version == 4
    await again.close()


def test_a_new_file_has_the_current_schema(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    tables = {r[0] for r in store._db.execute("SELECT name FROM sqlite_master")}
    assert {"conversations", "meta", "archive", "locks", "conversations_one_open"} <= tables
    assert store._db.execute("SELECT value FROM meta").fetchone()[0] == str(SCHEMA_VERSION)
