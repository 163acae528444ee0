"""Session stores: persistence, channels, locking, history, corruption and concurrency."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path

import pytest

import resolvekit as rk
from resolvekit.models import ModelRequest
from resolvekit.sessions import Conversation, open_store
from resolvekit.sessions.memory import MemoryStore
from resolvekit.sessions.postgres import PostgresStore
from resolvekit.sessions.sqlite import SQLiteStore

from ..engine.shop import Backend, build_agent


async def test_round_trip_open_history_and_token(store: rk.Store) -> None:
    conversation = Conversation.new("c-1", "chat")
    conversation.transcript.append(rk.Message(role="customer", text="hi"))
    conversation.resume_token = "tok"
    await store.save(conversation)
    loaded = await store.open_conversation("c-1")
    assert loaded is not None and loaded.to_json() == conversation.to_json()
    assert (await store.find_by_resume_token("tok")) is not None
    assert await store.open_conversation("someone-else") is None
    loaded.status = "closed"
    await store.save(loaded)
    assert await store.open_conversation("c-1") is None
    assert [c.id for c in await store.history("c-1")] == [conversation.id]


async def test_stale_save_is_refused(store: rk.Store) -> None:
    conversation = Conversation.new("c-1", "chat")
    await store.save(conversation)
    first = await store.get(conversation.id)
    second = await store.get(conversation.id)
    assert first is not None and second is not None
    await store.save(first)
    with pytest.raises(rk.ConcurrentUpdate):
        await store.save(second)


async def test_conversation_follows_the_customer_across_channels(store: rk.Store) -> None:
    backend = Backend()
    model = rk.ScriptedModel(
        [
            rk.StartIntent(intent="CancelOrder", slots={"order_id": "W1234567"}),
            rk.FillSlots(slots={"reason": "ordered by mistake"}),
            rk.Confirm(answer="yes"),
        ]
    )
    agent = build_agent(backend, model, store=store)
    chat = await agent.handle("c-42", "cancel W1234567", channel="chat")
    voice = await agent.handle("c-42", "I ordered it by mistake", channel="voice")
    email = await agent.handle("c-42", "Yes, go ahead.", channel="email")
    assert chat.conversation_id == voice.conversation_id == email.conversation_id
    assert voice.reply == "Cancel order W1234567?"  # the order number was not asked again
    assert email.outcome == "resolved"
    assert backend.writes == [("cancel", "W1234567")]
    conversation = await store.get(chat.conversation_id)
    assert conversation is not None
    assert [m.channel for m in conversation.transcript if m.role == "customer"] == [
        "chat",
        "voice",
        "email",
    ]
    # The model saw the whole cross-channel transcript on the last turn.
    assert [m.text for m in model.requests[-1].messages if m.role == "customer"] == [
        "cancel W1234567",
        "I ordered it by mistake",
        "Yes, go ahead.",
    ]


async def test_concurrent_messages_for_one_customer_are_serialised(store: rk.Store) -> None:
    inside = 0
    overlaps = []

    async def slow(request: ModelRequest) -> rk.Reply:
        nonlocal inside
        inside += 1
        overlaps.append(inside)
        await asyncio.sleep(0.01)
        inside -= 1
        return rk.Reply(text=f"got {request.text}")

    agent = build_agent(Backend(), rk.FunctionModel(slow), store=store)
    first, second = await asyncio.gather(agent.handle("c-1", "one"), agent.handle("c-1", "two"))
    assert max(overlaps) == 1
    assert first.conversation_id == second.conversation_id
    conversation = await store.get(first.conversation_id)
    assert conversation is not None
    assert [m.text for m in conversation.transcript] == ["one", "got one", "two", "got two"]


async def test_different_customers_are_not_serialised(store: rk.Store) -> None:
    inside = 0
    both = asyncio.Event()

    async def slow(request: ModelRequest) -> rk.Reply:
        # Each turn waits (up to 5 s) for the other customer's turn to be inside too: if the
        # store serialised them, the second would only start after the first gave up.
        nonlocal inside
        inside += 1
        if inside == 2:
            both.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(both.wait(), 5)
        inside -= 1
        return rk.Reply(text="ok")

    agent = build_agent(Backend(), rk.FunctionModel(slow), store=store)
    await asyncio.gather(agent.handle("a", "x"), agent.handle("b", "y"))
    assert both.is_set()


async def test_idle_conversation_is_closed_and_becomes_history(store: rk.Store) -> None:
    model = rk.ScriptedModel(
        [
            rk.StartIntent(intent="OrderStatus", slots={"order_id": "W1234567"}),
            rk.Reply(text="Hi again"),
        ]
    )
    agent = build_agent(Backend(), model, store=store, idle_timeout=0.0)
    first = await agent.handle("c", "where is W1234567")
    await asyncio.sleep(0.01)
    second = await agent.handle("c", "hello")
    assert second.conversation_id != first.conversation_id
    assert "order status" in model.requests[-1].history[0]


async def test_corrupt_row_is_a_typed_error_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    store = SQLiteStore(path)
    conversation = Conversation.new("c-1", "chat")
    await store.save(conversation)
    raw = sqlite3.connect(path)
    raw.execute("UPDATE conversations SET data = '{not json' WHERE id = ?", (conversation.id,))
    raw.commit()
    with pytest.raises(rk.CorruptStore, match=conversation.id):
        await store.open_conversation("c-1")
    agent = build_agent(Backend(), rk.ScriptedModel([]), store=store)
    with pytest.raises(rk.CorruptStore):
        await agent.handle("c-1", "hello")
    assert raw.execute("SELECT data FROM conversations").fetchone()[0] == "{not json"


def test_a_file_that_is_not_a_database_is_a_typed_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(rk.CorruptStore, match="not a usable SQLite database"):
        SQLiteStore(path)


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    SQLiteStore(path)
    raw = sqlite3.connect(path)
    raw.execute("UPDATE meta SET value = '99' WHERE key = 'schema'")
    raw.commit()
    with pytest.raises(rk.CorruptStore, match="newer"):
        SQLiteStore(path)


def test_sqlite_uses_wal(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_open_store_urls(tmp_path: Path) -> None:
    assert isinstance(open_store("memory://"), MemoryStore)
    sqlite_store = open_store(f"sqlite:///{tmp_path}/x.db")
    assert isinstance(sqlite_store, SQLiteStore)
    assert sqlite_store.path == f"{tmp_path}/x.db"
    postgres = open_store("postgresql://app:secret@db.internal/support")
    assert isinstance(postgres, PostgresStore)
    assert "secret" not in repr(postgres)  # nothing connects before the first call
    assert isinstance(open_store("postgres://db.internal/support"), PostgresStore)
    with pytest.raises(rk.UserError, match="Unknown store URL"):
        open_store("mysql://x")


async def test_agent_close_closes_its_store(tmp_path: Path) -> None:
    agent = build_agent(
        Backend(), rk.ScriptedModel([rk.Reply(text="hi")]), store=f"sqlite:///{tmp_path}/s.db"
    )
    await agent.close()  # never opened: nothing to do
    await agent.handle("c", "hello")
    store = agent.store
    assert isinstance(store, SQLiteStore)
    await agent.close()
    await agent.close()  # twice is fine
    with pytest.raises(sqlite3.ProgrammingError):
        store._db.execute("SELECT 1")
