"""PostgresStore against a real PostgreSQL server: locks across processes, errors, bad rows."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import time

import pytest

import resolvekit as rk
from resolvekit.models import ModelRequest
from resolvekit.sessions import Conversation, PlaybookRun, Step
from resolvekit.sessions.base import UPGRADE_SUMMARY
from resolvekit.sessions.postgres import SCHEMA_VERSION, PostgresStore

from ..engine.shop import Backend, build_agent
from .conftest import new_table

psycopg = pytest.importorskip("psycopg")


async def _sql(url: str, query: str, params: tuple[object, ...] = ()) -> None:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute(query, params)


async def test_two_workers_take_turns_for_one_customer(postgres_url: str) -> None:
    """Two stores on one table stand for two worker processes: the same customer's messages
    arriving at both at once are serialised, not lost to a stale save."""
    table = new_table()
    inside = 0
    overlaps: list[int] = []

    async def slow(request: ModelRequest) -> rk.Reply:
        nonlocal inside
        inside += 1
        overlaps.append(inside)
        await asyncio.sleep(0.05)
        inside -= 1
        return rk.Reply(text=f"got {request.text}")

    stores = [PostgresStore(postgres_url, table=table) for _ in range(2)]
    agents = [build_agent(Backend(), rk.FunctionModel(slow), store=s) for s in stores]
    try:
        first, second = await asyncio.gather(
            agents[0].handle("c-1", "one"), agents[1].handle("c-1", "two")
        )
        assert max(overlaps) == 1
        assert first.conversation_id == second.conversation_id
        conversation = await stores[0].get(first.conversation_id)
        assert conversation is not None
        texts = [m.text for m in conversation.transcript]
        assert sorted(texts) == ["got one", "got two", "one", "two"]
        assert texts[1] == f"got {texts[0]}" and texts[3] == f"got {texts[2]}"
        # Other customers are not held up by the lock.
        inside, overlaps[:] = 0, []
        await asyncio.gather(agents[0].handle("a", "x"), agents[1].handle("b", "y"))
        assert max(overlaps) == 2
    finally:
        for store in stores:
            await store.close()


async def test_lock_held_elsewhere_times_out_with_a_typed_error(postgres_url: str) -> None:
    table = new_table()
    holder = PostgresStore(postgres_url, table=table)
    waiter = PostgresStore(postgres_url, table=table, lock_timeout=0.2)
    try:
        async with holder.lock("c-1"):
            started = time.monotonic()
            with pytest.raises(rk.ConcurrentUpdate, match="another process"):
                async with waiter.lock("c-1"):
                    pass
            assert time.monotonic() - started >= 0.2
            async with waiter.lock("c-2"):  # another customer is free
                pass
        async with waiter.lock("c-1"):  # released on exit
            pass
    finally:
        await holder.close()
        await waiter.close()


async def test_lock_survives_a_dropped_lock_connection(postgres_url: str) -> None:
    store = PostgresStore(postgres_url, table=new_table())
    try:
        async with store.lock("c-1"):
            assert store._lock_conn is not None
            await store._lock_conn.close()  # the server releases the lock with the connection
        async with store.lock("c-1"):  # a fresh lock connection
            pass
    finally:
        await store.close()


async def test_corrupt_row_is_a_typed_error_and_left_untouched(postgres_url: str) -> None:
    table = new_table()
    store = PostgresStore(postgres_url, table=table)
    try:
        conversation = Conversation.new("c-1", "chat")
        await store.save(conversation)
        broken = f"UPDATE {table} SET data = '{{not json' WHERE id = %s"
        await _sql(postgres_url, broken, (conversation.id,))
        with pytest.raises(rk.CorruptStore, match=conversation.id):
            await store.open_conversation("c-1")
        agent = build_agent(Backend(), rk.ScriptedModel([]), store=store)
        with pytest.raises(rk.CorruptStore):
            await agent.handle("c-1", "hello")
        async with await psycopg.AsyncConnection.connect(postgres_url) as conn:
            cursor = await conn.execute(f"SELECT data FROM {table}")
            assert await cursor.fetchall() == [("{not json",)]
    finally:
        await store.close()


async def test_text_that_jsonb_would_refuse_round_trips(postgres_url: str) -> None:
    """A NUL character is valid customer text but not valid in a jsonb value."""
    store = PostgresStore(postgres_url, table=new_table())
    try:
        conversation = Conversation.new("c-1", "chat")
        conversation.transcript.append(rk.Message(role="customer", text="a\x00b \u2603 \U0001f600"))
        await store.save(conversation)
        loaded = await store.get(conversation.id)
        assert loaded is not None and loaded.transcript[0].text == "a\x00b \u2603 \U0001f600"
    finally:
        await store.close()


async def test_newer_schema_is_refused(postgres_url: str) -> None:
    table = new_table()
    first = PostgresStore(postgres_url, table=table)
    await first.get("x")  # creates the tables
    await first.close()
    await _sql(
        postgres_url,
        f"UPDATE {table}_meta SET value = %s WHERE key = 'schema'",
        (str(SCHEMA_VERSION + 1),),
    )
    second = PostgresStore(postgres_url, table=table)
    with pytest.raises(rk.CorruptStore, match="newer"):
        await second.get("x")
    await second.close()


async def test_failed_save_keeps_the_version(postgres_url: str) -> None:
    store = PostgresStore(postgres_url, table=new_table())
    try:
        conversation = Conversation.new("c-1", "chat")
        await store.save(conversation)
        stale = await store.get(conversation.id)
        assert stale is not None
        await store.save(conversation)
        with pytest.raises(rk.ConcurrentUpdate):
            await store.save(stale)
        assert stale.version == 1  # unchanged by the refused save
        assert len(store._idle) == 1  # the refusal did not cost the connection
    finally:
        await store.close()


async def test_unreachable_server_is_a_store_error_without_the_password() -> None:
    store = PostgresStore(
        "postgresql://app:hunter2@127.0.0.1:1/support", connect_timeout=0.5, lock_timeout=0.5
    )
    with pytest.raises(rk.StoreError) as caught:
        await store.open_conversation("c-1")
    assert "hunter2" not in str(caught.value) and "127.0.0.1" in str(caught.value)
    with pytest.raises(rk.StoreError):
        async with store.lock("c-1"):
            pass
    await store.close()


def test_bad_arguments_are_user_errors() -> None:
    with pytest.raises(rk.UserError, match="table"):
        PostgresStore("postgresql://x/y", table="conversations; DROP TABLE users")
    with pytest.raises(rk.UserError, match="max_connections"):
        PostgresStore("postgresql://x/y", max_connections=0)


def test_a_new_event_loop_gets_new_connections(postgres_url: str) -> None:
    """A sync web framework may call ``asyncio.run`` per request: the store keeps working."""
    store = PostgresStore(postgres_url, table=new_table())
    agent = build_agent(Backend(), rk.FunctionModel(lambda r: rk.Reply(text="ok")), store=store)
    first = asyncio.run(agent.handle("c-1", "one"))
    second = asyncio.run(agent.handle("c-1", "two"))
    assert first.conversation_id == second.conversation_id

    async def transcript() -> list[str]:
        conversation = await store.get(first.conversation_id)
        await store.close()
        assert conversation is not None
        return [m.text for m in conversation.transcript]

    assert asyncio.run(transcript()) == ["one", "ok", "two", "ok"]


async def test_a_connection_the_server_dropped_is_replaced(postgres_url: str) -> None:
    """After a server restart or idle timeout, the first read does not fail the turn."""
    store = PostgresStore(postgres_url, table=new_table())
    try:
        conversation = Conversation.new("c-1", "chat")
        await store.save(conversation)
        assert len(store._idle) == 1
        pid = store._idle[0].info.backend_pid
        await _sql(postgres_url, "SELECT pg_terminate_backend(%s)", (pid,))
        loaded = await store.open_conversation("c-1")
        assert loaded is not None and loaded.id == conversation.id
        assert [c.info.backend_pid for c in store._idle] != [pid]
        await store.save(loaded)  # the save goes through on the new connection
    finally:
        await store.close()


async def test_unreachable_server_is_store_unavailable() -> None:
    store = PostgresStore("postgresql://app:pw@127.0.0.1:1/support", connect_timeout=0.5)
    with pytest.raises(rk.StoreUnavailable, match="retry later"):
        await store.save(Conversation.new("c-1", "chat"))
    with pytest.raises(rk.StoreUnavailable):
        async with store.lock("c-1"):
            pass
    await store.close()


async def test_a_read_only_server_is_store_unavailable_and_nothing_changes(
    postgres_url: str,
) -> None:
    table = new_table()
    writer = PostgresStore(postgres_url, table=table)
    conversation = Conversation.new("c-1", "chat")
    await writer.save(conversation)
    # A standby after a failover, or a database set read-only, refuses writes.
    separator = "&" if "?" in postgres_url else "?"
    read_only_url = f"{postgres_url}{separator}options=-c%20default_transaction_read_only%3Don"
    reader = PostgresStore(read_only_url, table=table)
    conversation.archive_out = [{"n": 0}]
    try:
        with pytest.raises(rk.StoreUnavailable, match="read-only"):
            await reader.save(conversation)
        assert conversation.version == 1 and conversation.archive_out == [{"n": 0}]
        assert (await reader.get(conversation.id)) is not None  # reads still work
    finally:
        await reader.close()
        await writer.close()


async def test_a_failure_in_the_middle_of_a_save_writes_nothing(postgres_url: str) -> None:
    table = new_table()
    store = PostgresStore(postgres_url, table=table)
    try:
        conversation = Conversation.new("c-1", "chat")
        await store.save(conversation)
        # The row's update goes through, then the archive insert fails: all is rolled back.
        await _sql(
            postgres_url,
            f"CREATE FUNCTION {table}_refuse() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'archive refused'; END $$",
        )
        await _sql(
            postgres_url,
            f"CREATE TRIGGER {table}_refuse BEFORE INSERT ON {table}_archive "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_refuse()",
        )
        conversation.archive_out = [{"n": 0}]
        with pytest.raises(rk.StoreError, match="archive refused"):
            await store.save(conversation)
        assert conversation.version == 1 and conversation.archive_out == [{"n": 0}]
        stored = await store.get(conversation.id)
        assert stored is not None and stored.version == 1 and stored.archived == 0
        await _sql(postgres_url, f"DROP TRIGGER {table}_refuse ON {table}_archive")
        await store.save(conversation)
        assert await store.archived(conversation.id) == [{"n": 0}]
    finally:
        await store.close()


async def test_upgrade_from_schema_1_closes_second_open_conversations(postgres_url: str) -> None:
    table = new_table()
    await _sql(
        postgres_url,
        f"CREATE TABLE {table} (id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, "
        "status TEXT NOT NULL, updated_at DOUBLE PRECISION NOT NULL, version INTEGER NOT NULL, "
        "resume_token TEXT, data TEXT NOT NULL)",
    )
    await _sql(postgres_url, f"CREATE TABLE {table}_meta (key TEXT PRIMARY KEY, value TEXT)")
    await _sql(postgres_url, f"INSERT INTO {table}_meta VALUES ('schema', '1')")
    rows = []
    for name, status, updated_at in [
        ("old", "open", 1.0),
        ("new", "open", 2.0),
        ("handed", "handed_off", 0.5),
        ("closed", "closed", 3.0),
    ]:
        conversation = Conversation.new("a", "chat")
        conversation.status = status  # type: ignore[assignment]
        conversation.updated_at, conversation.version = updated_at, 3
        if name == "new":
            run = PlaybookRun(id="r1", intent="Pay")
            run.journal.append(
                Step(index=0, kind="call", key="charge", status="started", deadline=9.0)
            )
            conversation.runs.append(run)
        rows.append(conversation)
        await _sql(
            postgres_url,
            f"INSERT INTO {table} VALUES (%s, %s, %s, %s, %s, NULL, %s)",
            (
                conversation.id,
                "a",
                status,
                updated_at,
                3,
                json.dumps(conversation.to_json()),
            ),
        )
    old, new, handed, closed = rows
    store = PostgresStore(postgres_url, table=table)
    try:
        current = await store.open_conversation("a")
        assert current is not None and current.id == new.id and current.version == 3
        for duplicate in (old, handed):
            loaded = await store.get(duplicate.id)
            assert loaded is not None
            assert (loaded.status, loaded.summary, loaded.version) == (
                "closed",
                UPGRADE_SUMMARY,
                4,
            )
        assert await store.inflight(10.0) == [(new.id, "a")]
        with pytest.raises(rk.ConcurrentUpdate, match="already has an open conversation"):
            await store.save(Conversation.new("a", "chat"))
        async with await psycopg.AsyncConnection.connect(postgres_url) as conn:
            cursor = await conn.execute(f"SELECT value FROM {table}_meta")
            assert await cursor.fetchall() == [(str(SCHEMA_VERSION),)]
            cursor = await conn.execute(
                f"SELECT status, version FROM {table} WHERE id = %s", (old.id,)
            )
            assert await cursor.fetchall() == [("closed", 4)]
        assert closed.id in [c.id for c in await store.history("a")]
    finally:
        await store.close()


inherited: list[PostgresStore] = []


def _use_after_fork(conversation_id: str) -> None:
    async def main() -> None:
        store = inherited[0]
        async with store.lock("c-1"):
            conversation = await store.get(conversation_id)
            assert conversation is not None
            await store.save(conversation)
        await store.close()

    asyncio.run(main())


def test_a_store_used_before_a_fork_works_in_the_child_and_the_parent(postgres_url: str) -> None:
    """The child opens its own connections and leaves the parent's sockets alone."""
    store = PostgresStore(postgres_url, table=new_table())
    conversation = Conversation.new("c-1", "chat")

    async def before() -> int:
        await store.save(conversation)
        async with store.lock("c-1"):
            pass
        return store._idle[0].info.backend_pid

    pid = asyncio.run(before())
    inherited[:] = [store]
    child = multiprocessing.get_context("fork").Process(
        target=_use_after_fork, args=(conversation.id,)
    )
    child.start()
    child.join(timeout=30)
    if child.is_alive():
        child.kill()
    assert child.exitcode == 0

    async def after() -> None:
        # Same loop-less parent: a new loop, but the parent's server sessions were not ended.
        loaded = await store.get(conversation.id)
        assert loaded is not None and loaded.version == 2
        await store.close()

    async def backends() -> list[int]:
        async with await psycopg.AsyncConnection.connect(postgres_url) as conn:
            cursor = await conn.execute("SELECT pid FROM pg_stat_activity")
            return [row[0] for row in await cursor.fetchall()]

    assert pid in asyncio.run(backends())  # the child did not end the parent's session
    asyncio.run(after())
