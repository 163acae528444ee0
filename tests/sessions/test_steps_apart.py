"""Journal steps stored beside the row (memory, SQLite and PostgreSQL): a save writes only the
steps that changed, and whatever happened to the journals in between, what a store reads back
is exactly the conversation that was saved.

About internals: spies on ``sessions._split`` (what a save writes) and reads the SQLite file's
``steps`` table (PostgreSQL's ``<table>_steps``) and an older schema directly."""

from __future__ import annotations

import copy
import pickle
import random
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

import resolvekit as rk
from resolvekit.sessions import Conversation, PlaybookRun, Step, checkout, encode_conversation
from resolvekit.sessions import base as store_base
from resolvekit.sessions._split import StepWrites
from resolvekit.sessions.memory import MemoryStore
from resolvekit.sessions.postgres import PostgresStore
from resolvekit.sessions.sqlite import SQLiteStore

from .conftest import new_table


@pytest.fixture(params=["memory", "sqlite", "encrypted", "postgres", "postgres-encrypted"])
async def split_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    """A store that keeps steps apart: memory, SQLite and PostgreSQL, the last two also
    encrypted."""
    built: Any
    if request.param == "memory":
        built = MemoryStore()
    elif request.param == "sqlite":
        built = SQLiteStore(tmp_path / "s.db")
    elif request.param == "postgres":
        built = PostgresStore(request.getfixturevalue("postgres_url"), table=new_table())
    else:
        pytest.importorskip("cryptography")
        inner: Any = SQLiteStore(tmp_path / "s.db")
        if request.param == "postgres-encrypted":
            inner = PostgresStore(request.getfixturevalue("postgres_url"), table=new_table())
        built = rk.EncryptedStore(inner, rk.EncryptedStore.new_key())
    yield built
    await built.close()


@pytest.fixture
def written(monkeypatch: pytest.MonkeyPatch) -> list[StepWrites]:
    """The step writes of every save from now on."""
    seen: list[StepWrites] = []
    real = store_base.split_write

    def spy(*args: Any, **kwargs: Any) -> Any:
        head, writes, inflight = real(*args, **kwargs)
        seen.append(writes)
        return head, writes, inflight

    monkeypatch.setattr(store_base, "split_write", spy)
    return seen


def _step(index: int, status: str = "done", **fields: Any) -> Step:
    return Step(
        index=index,
        kind="call",
        key="lookup",
        args={"n": index},
        status=status,  # type: ignore[arg-type]
        result={"n": index, "square": index * index} if status == "done" else None,
        **fields,
    )


def _long(customer_id: str = "c-1", steps: int = 300) -> Conversation:
    conversation = Conversation.new(customer_id, "chat")
    run = PlaybookRun(id="r1", intent="Loop", status="waiting")
    run.journal = [_step(i) for i in range(steps)]
    run.journal.append(Step(index=steps, kind="ask", key="Next?", status="pending"))
    conversation.runs.append(run)
    return conversation


async def test_a_turn_saves_the_steps_that_changed_not_the_journal(
    split_store: Any, written: list[StepWrites]
) -> None:
    await split_store.save(_long())
    assert written[-1].clear and len(written[-1].upserts) == 301  # new: every step
    for turn in range(3):
        conversation = await checkout(split_store, "c-1")
        assert conversation is not None
        journal = conversation.runs[0].journal
        journal[-1].status, journal[-1].result = "done", str(turn)  # the answer came
        journal.append(_step(len(journal)))
        journal.append(Step(index=len(journal), kind="ask", key="Next?", status="pending"))
        await split_store.save(conversation)
        writes = written[-1]
        assert not writes.clear and not writes.trims and not writes.drop_runs
        positions = [position for _, position, _ in writes.upserts]
        assert positions == [len(journal) - 3, len(journal) - 2, len(journal) - 1]
    loaded = await split_store.get(conversation.id)
    assert loaded is not None and loaded.to_json() == conversation.to_json()
    assert len(loaded.runs[0].journal) == 307


async def _saved_and_read(store: Any) -> tuple[Conversation, Conversation]:
    """A long conversation saved, and a copy read back."""
    saved = _long()
    await store.save(saved)
    loaded = await store.get(saved.id)
    assert loaded is not None
    return saved, loaded


async def test_a_conversation_read_back_saves_only_what_changed_too(
    split_store: Any, written: list[StepWrites]
) -> None:
    """The object another process would decode (not the one saved last) knows what is stored."""
    saved, loaded = await _saved_and_read(split_store)
    loaded.runs[0].journal.append(_step(301))
    await split_store.save(loaded)
    assert [position for _, position, _ in written[-1].upserts] == [300, 301]
    again = await split_store.get(saved.id)
    assert again is not None and again.to_json() == loaded.to_json()


async def test_a_stale_copy_that_writes_only_its_changes_is_refused(split_store: Any) -> None:
    first, other = await _saved_and_read(split_store)
    first.runs[0].journal.append(_step(301))
    await split_store.save(first)
    del other.runs[0].journal[10:]  # a stale copy rewinds: it must not write over the row
    with pytest.raises(rk.ConcurrentUpdate):
        await split_store.save(other)
    loaded = await split_store.get(first.id)
    assert loaded is not None and loaded.to_json() == first.to_json()


async def test_a_row_removed_meanwhile_is_not_written_back_in_part(split_store: Any) -> None:
    conversation = _long()
    await split_store.save(conversation)
    inner = getattr(split_store, "store", split_store)
    if isinstance(inner, MemoryStore):
        del inner._rows[conversation.id]
    elif isinstance(inner, PostgresStore):
        await inner._rows(f"DELETE FROM {inner.table} RETURNING id", ())
    else:
        inner._db.execute("DELETE FROM conversations")
    conversation.runs[0].journal.append(_step(301))
    with pytest.raises(rk.ConcurrentUpdate, match="since it was loaded"):
        await split_store.save(conversation)  # two steps are not a conversation
    assert await split_store.get(conversation.id) is None


async def test_a_conversation_saved_elsewhere_first_is_written_whole(
    split_store: Any, tmp_path: Path
) -> None:
    conversation = _long()
    elsewhere = SQLiteStore(tmp_path / "elsewhere.db")
    await elsewhere.save(conversation)
    conversation.runs[0].journal.append(_step(301))
    await split_store.save(conversation)
    loaded = await split_store.get(conversation.id)
    assert loaded is not None and loaded.to_json() == conversation.to_json()
    await elsewhere.close()


async def test_a_copied_or_pickled_conversation_saves_whole(split_store: Any) -> None:
    saved = _long()
    await split_store.save(saved)
    for how in (copy.deepcopy, lambda c: pickle.loads(pickle.dumps(c))):
        copied = how(await split_store.get(saved.id))
        copied.runs[0].journal.append(_step(len(copied.runs[0].journal)))
        await split_store.save(copied)  # a full save: it knew nothing stored
        loaded = await split_store.get(saved.id)
        assert loaded is not None and loaded.to_json() == copied.to_json()


# -- whatever happens to the journals, the store reads back what was saved ---------------------


def _mutate(conversation: Conversation, rng: random.Random, serial: list[int]) -> None:
    """One random change of the kinds the engine makes (and a few it does not)."""
    runs = conversation.runs
    run = rng.choice(runs) if runs else None
    choice = rng.randrange(14)
    serial[0] += 1
    n = serial[0]
    transcript = conversation.transcript
    if choice == 11:  # a transcript line
        transcript.append(rk.Message(role="customer", text=f"line {n}"))
    elif choice == 12 and transcript:  # a line changed in place
        rng.choice(transcript).text = f"edited {n}"
    elif choice == 13:  # old lines moved to the archive
        del transcript[: rng.randrange(len(transcript) + 1)]
    elif run is None or choice == 0:
        conversation.runs.append(PlaybookRun(id=f"run{n}", intent="Loop"))
    elif choice in (1, 2, 3):
        run.journal.append(_step(n, status=rng.choice(["done", "done", "pending", "started"])))
    elif choice == 4 and run.journal:  # a pending or started step finishes
        step = rng.choice(run.journal)
        step.status, step.result = "done", {"finished": n}
    elif choice == 5 and run.journal:  # a finished step changes (a re-validated answer)
        rng.choice(run.journal).result = {"changed": n}
    elif choice == 6 and run.journal:  # a correction rewinds
        del run.journal[rng.randrange(len(run.journal)) :]
    elif choice == 7 and run.journal:  # free mode moves its oldest steps to the archive
        cut = rng.randrange(len(run.journal) + 1)
        del run.journal[:cut]
        run.base += cut
    elif choice == 8 and run.journal:  # a step replaced in place
        run.journal[rng.randrange(len(run.journal))] = _step(n)
    elif choice == 9:  # a run archived whole
        conversation.runs.remove(run)
    else:
        run.journal = [*run.journal, _step(n)]  # a new list


async def _stored_steps(store: Any, conversation_id: str) -> int:
    """How many steps the store keeps for the conversation (none left behind)."""
    inner = getattr(store, "store", store)
    if isinstance(inner, MemoryStore):
        return sum(map(len, inner._rows[conversation_id].steps.values()))
    if isinstance(inner, PostgresStore):
        rows = await inner._rows(
            f"SELECT count(*) FROM {inner.table}_steps WHERE conversation_id = %s",
            (conversation_id,),
        )
        return int(rows[0][0])
    (count,) = inner._db.execute(
        "SELECT count(*) FROM steps WHERE conversation_id = ?", (conversation_id,)
    ).fetchone()
    return int(count)


@pytest.mark.parametrize("seed", range(4))
async def test_random_changes_read_back_exactly(split_store: Any, seed: int) -> None:
    rng = random.Random(seed)
    serial = [0]
    conversation = Conversation.new("c-1", "chat")
    for _ in range(60):
        for _ in range(rng.randrange(1, 5)):
            _mutate(conversation, rng, serial)
        await split_store.save(conversation)
        loaded = await split_store.get(conversation.id)
        assert loaded is not None
        assert loaded.to_json() == conversation.to_json()
        journals = sum(len(run.journal) for run in conversation.runs)
        assert await _stored_steps(split_store, conversation.id) == journals
        if rng.random() < 0.3:  # go on with the object read back (another process would)
            conversation = loaded


# -- an older file, and broken ones ------------------------------------------------------------

_SCHEMA_3 = """
CREATE TABLE conversations (id TEXT PRIMARY KEY, customer_id TEXT NOT NULL,
    status TEXT NOT NULL, updated_at REAL NOT NULL, version INTEGER NOT NULL,
    resume_token TEXT, data TEXT NOT NULL, inflight_until REAL, approval_since REAL);
CREATE INDEX conversations_customer ON conversations (customer_id, status, updated_at);
CREATE INDEX conversations_token ON conversations (resume_token);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE UNIQUE INDEX conversations_one_open ON conversations (customer_id)
    WHERE status != 'closed';
CREATE INDEX conversations_inflight ON conversations (inflight_until)
    WHERE inflight_until IS NOT NULL;
CREATE TABLE archive (conversation_id TEXT NOT NULL, seq INTEGER NOT NULL,
    data TEXT NOT NULL, PRIMARY KEY (conversation_id, seq)) WITHOUT ROWID;
CREATE TABLE locks (customer_id TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at REAL NOT NULL);
CREATE INDEX conversations_approval ON conversations (approval_since)
    WHERE approval_since IS NOT NULL;
INSERT INTO meta (key, value) VALUES ('schema', '3');
"""


async def test_a_schema_3_file_opens_and_its_rows_are_split_by_their_next_save(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v3.db"
    raw = sqlite3.connect(path, isolation_level=None)
    raw.executescript(_SCHEMA_3)
    old = _long()
    old.version = 4
    raw.execute(
        "INSERT INTO conversations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            old.id,
            "c-1",
            "open",
            old.updated_at,
            4,
            None,
            encode_conversation(old).decode(),
            None,
            None,
        ),
    )
    store = SQLiteStore(path)
    assert raw.execute("SELECT value FROM meta").fetchone() == ("4",)
    turn = await checkout(store, "c-1")
    assert turn is not None and turn.to_json() == old.to_json()
    turn.runs[0].journal.append(_step(301))
    await store.save(turn)
    assert raw.execute("SELECT count(*) FROM steps").fetchone() == (302,)
    (data,) = raw.execute("SELECT data FROM conversations").fetchone()
    assert '"journal":302' in data and "square" not in data  # the steps live apart now
    await store.close()
    again = SQLiteStore(path)
    loaded = await again.get(old.id)
    assert loaded is not None and loaded.to_json() == turn.to_json()
    await again.close()
    raw.close()


async def test_a_missing_or_damaged_step_is_corrupt_store(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    store = SQLiteStore(path)
    conversation = _long()
    await store.save(conversation)
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute('UPDATE steps SET data = \'{"index": 7, "kind": "call"\' WHERE pos = 7')
    with pytest.raises(
        rk.CorruptStore, match=f"Conversation {conversation.id} .* cannot be decoded"
    ):
        await store.get(conversation.id)
    raw.execute("DELETE FROM steps WHERE pos = 7")
    with pytest.raises(rk.CorruptStore, match=r"step 7 of run 'r1' is missing.*left untouched"):
        await store.get(conversation.id)
    assert raw.execute("SELECT count(*) FROM steps").fetchone() == (300,)  # nothing repaired
    await store.close()
    raw.close()


async def test_steps_under_an_older_key_are_encrypted_again_by_the_next_save(
    tmp_path: Path,
) -> None:
    pytest.importorskip("cryptography")
    old_key, new_key = rk.EncryptedStore.new_key(), rk.EncryptedStore.new_key()
    path = tmp_path / "s.db"
    before = rk.EncryptedStore(SQLiteStore(path), old_key)
    conversation = _long()
    await before.save(conversation)
    await before.close()
    rotated = rk.EncryptedStore(SQLiteStore(path), [new_key, old_key])
    loaded = await rotated.get(conversation.id)
    assert loaded is not None
    loaded.runs[0].journal.append(_step(301))
    await rotated.save(loaded)
    await rotated.close()
    newest_only = rk.EncryptedStore(SQLiteStore(path), new_key)
    again = await newest_only.get(conversation.id)
    assert again is not None and again.to_json() == loaded.to_json()
    await newest_only.close()


async def test_a_schema_3_postgres_table_is_upgraded_and_its_rows_split_by_their_next_save(
    postgres_url: str,
) -> None:
    import psycopg

    table = new_table()
    first = PostgresStore(postgres_url, table=table)
    old = _long()
    await first.save(old)  # creates the tables; the row is then put back as schema 3 had it
    await first.close()
    old.version = 4
    async with await psycopg.AsyncConnection.connect(postgres_url, autocommit=True) as raw:
        await raw.execute(f"DROP TABLE {table}_steps")
        await raw.execute(f"UPDATE {table}_meta SET value = '3'")
        await raw.execute(
            f"UPDATE {table} SET data = %s, version = 4",
            (encode_conversation(old).decode(),),
        )
        store = PostgresStore(postgres_url, table=table)
        turn = await checkout(store, "c-1")
        assert turn is not None and turn.to_json() == old.to_json()
        turn.runs[0].journal.append(_step(301))
        await store.save(turn)
        cursor = await raw.execute(f"SELECT value FROM {table}_meta")
        assert await cursor.fetchall() == [("4",)]
        cursor = await raw.execute(f"SELECT count(*) FROM {table}_steps")
        assert await cursor.fetchall() == [(302,)]
        cursor = await raw.execute(f"SELECT data FROM {table}")
        (data,) = await cursor.fetchone() or ("",)
        assert '"journal":302' in data and "square" not in data  # the steps live apart now
        await store.close()
    again = PostgresStore(postgres_url, table=table)
    loaded = await again.get(old.id)
    assert loaded is not None and loaded.to_json() == turn.to_json()
    await again.close()
