"""SQLiteStore.lock across processes: leases serialise one customer's turns, survive a busy
event loop, and are taken over once a crashed holder's lease expires."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import sqlite3
import threading
import time
from pathlib import Path

import pytest

import resolvekit as rk
from resolvekit.sessions import Conversation
from resolvekit.sessions.sqlite import SQLiteStore

from ..engine.shop import Backend, build_agent
from . import _lease_workers

spawn = multiprocessing.get_context("spawn")


def _leases(path: Path) -> list[tuple[str, str]]:
    raw = sqlite3.connect(path)
    try:
        return raw.execute("SELECT customer_id, owner FROM locks").fetchall()
    finally:
        raw.close()


async def test_a_held_lease_makes_another_store_wait_then_time_out(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    holder = SQLiteStore(path)
    waiter = SQLiteStore(path, lock_timeout=0.2)
    async with holder.lock("c-1"):
        assert [c for c, _ in _leases(path)] == ["c-1"]
        started = time.monotonic()
        with pytest.raises(rk.ConcurrentUpdate, match="another process"):
            async with waiter.lock("c-1"):
                pass
        assert time.monotonic() - started >= 0.2
        async with waiter.lock("c-2"):  # another customer is free
            pass
    assert _leases(path) == []  # released on exit
    async with waiter.lock("c-1"):
        pass
    await holder.close()
    await waiter.close()


async def test_a_waiting_turn_goes_on_when_the_holder_releases(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    stores = [SQLiteStore(path), SQLiteStore(path)]
    order: list[str] = []

    async def turn(store: SQLiteStore, name: str) -> None:
        async with store.lock("c-1"):
            order.append(f"start {name}")
            await asyncio.sleep(0.05)
            order.append(f"end {name}")

    await asyncio.gather(turn(stores[0], "a"), turn(stores[1], "b"))
    assert order in (
        ["start a", "end a", "start b", "end b"],
        ["start b", "end b", "start a", "end a"],
    )
    for store in stores:
        await store.close()


async def test_two_agents_on_one_file_take_turns_for_one_customer(tmp_path: Path) -> None:
    """Two stores on one file stand for two worker processes: no sticky routing needed."""
    path = tmp_path / "s.db"
    inside = 0
    overlaps: list[int] = []

    async def slow(request: rk.ModelRequest) -> rk.Reply:
        nonlocal inside
        inside += 1
        overlaps.append(inside)
        await asyncio.sleep(0.05)
        inside -= 1
        return rk.Reply(text=f"got {request.text}")

    stores = [SQLiteStore(path), SQLiteStore(path)]
    agents = [build_agent(Backend(), rk.FunctionModel(slow), store=s) for s in stores]
    first, second = await asyncio.gather(
        agents[0].handle("c-1", "one"), agents[1].handle("c-1", "two")
    )
    assert max(overlaps) == 1
    assert first.conversation_id == second.conversation_id
    conversation = await stores[0].get(first.conversation_id)
    assert conversation is not None and len(conversation.transcript) == 4
    for store in stores:
        await store.close()


async def test_an_expired_lease_is_taken_over(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "s.db"
    store = SQLiteStore(path, lock_timeout=0.1)
    raw = sqlite3.connect(path)
    raw.execute("INSERT INTO locks VALUES ('c-1', 'crashed:1', ?)", (time.time() - 1,))
    raw.execute("INSERT INTO locks VALUES ('c-2', 'alive:1', ?)", (time.time() + 60,))
    raw.commit()
    raw.close()
    with caplog.at_level(logging.WARNING, logger="resolvekit.sessions.sqlite"):
        async with store.lock("c-1"):
            pass
    assert (
        "took over the expired lease on customer 'c-1'" in caplog.text
        and "crashed:1" in caplog.text
    )
    with pytest.raises(rk.ConcurrentUpdate):
        async with store.lock("c-2"):
            pass
    await store.close()


async def test_the_heartbeat_keeps_a_lease_while_the_event_loop_is_blocked(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.db"
    holder = SQLiteStore(path, lease_ttl=0.3)
    outcome: list[str] = []

    def contend() -> None:
        async def main() -> None:
            waiter = SQLiteStore(path, lock_timeout=0.8)
            try:
                async with waiter.lock("c-1"):
                    outcome.append("taken")
            except rk.ConcurrentUpdate:
                outcome.append("refused")
            await waiter.close()

        asyncio.run(main())

    async with holder.lock("c-1"):
        contender = threading.Thread(target=contend)
        contender.start()
        time.sleep(1.2)  # noqa: ASYNC251 (a turn hogging the loop for 4 lease lifetimes)
        contender.join()
    assert outcome == ["refused"]
    await holder.close()


async def test_a_lease_attempt_cancelled_midway_leaves_no_lease(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    holder = SQLiteStore(path)
    waiter = SQLiteStore(path)
    async with holder.lock("c-1"):

        async def wait_for_lock() -> None:
            async with waiter.lock("c-1"):
                pass

        waiting = asyncio.create_task(wait_for_lock())
        await asyncio.sleep(0.05)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
    await asyncio.sleep(0.05)
    assert _leases(path) == []
    await holder.close()
    await waiter.close()


def test_two_processes_take_strict_turns_for_one_customer(tmp_path: Path) -> None:
    db, log, ready = tmp_path / "s.db", tmp_path / "turns.log", tmp_path / "ready"
    ready.mkdir()
    SQLiteStore(db)  # the schema, before the two start
    workers = [
        spawn.Process(
            target=_lease_workers.take_turns, args=(str(db), str(log), name, 5, str(ready))
        )
        for name in ("a", "b")
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    lines = log.read_text().splitlines()
    assert len(lines) == 20
    for start, end in zip(lines[::2], lines[1::2], strict=True):
        assert start.startswith("start ") and end == start.replace("start", "end", 1)
    assert {line.split()[1] for line in lines} == {"a", "b"}


def test_a_killed_holders_lease_is_taken_over_after_it_expires(tmp_path: Path) -> None:
    db, held = tmp_path / "s.db", tmp_path / "held"
    SQLiteStore(db)
    holder = spawn.Process(target=_lease_workers.hold_forever, args=(str(db), str(held), 1.5))
    holder.start()
    try:
        deadline = time.monotonic() + 60
        while not held.exists():
            assert time.monotonic() < deadline and holder.is_alive()
            time.sleep(0.01)
        assert holder.pid is not None
        os.kill(holder.pid, signal.SIGKILL)
        holder.join(timeout=10)
        killed = time.monotonic()

        async def take_over() -> float:
            store = SQLiteStore(db, lock_timeout=0.05)
            with pytest.raises(rk.ConcurrentUpdate):  # the lease outlives its holder a while
                async with store.lock("c-1"):
                    pass
            store.lock_timeout = 10.0
            async with store.lock("c-1"):
                taken = time.monotonic()
            await store.close()
            return taken

        taken = asyncio.run(take_over())
        # Renewed every 0.5 s, so it expires 1-1.5 s after the kill, not much later.
        assert taken - killed < 3.0
    finally:
        if holder.is_alive():
            holder.kill()
            holder.join()


async def test_a_private_in_memory_database_needs_no_lease() -> None:
    store = SQLiteStore(":memory:")
    async with store.lock("c-1"):
        assert store._db.execute("SELECT count(*) FROM locks").fetchone()[0] == 0
    await store.save(Conversation.new("c-1", "chat"))
    await store.close()


def _use_after_fork(path: str, conversation_id: str, parent_id: str) -> None:
    """In a forked child: the store inherited from the parent still works, on its own thread."""

    async def main() -> None:
        from resolvekit.sessions import process_id

        store = inherited[0]
        assert process_id() != parent_id
        async with store.lock("c-1"):
            conversation = await store.get(conversation_id)
            assert conversation is not None
            await store.save(conversation)
        await store.close()

    asyncio.run(main())


inherited: list[SQLiteStore] = []


def test_a_store_opened_before_a_fork_works_in_the_child(tmp_path: Path) -> None:
    """A pre-forking server may build the agent and its store before forking its workers."""
    from resolvekit.sessions import process_id

    path = tmp_path / "s.db"
    store = SQLiteStore(path)
    conversation = Conversation.new("c-1", "chat")
    asyncio.run(store.save(conversation))
    inherited[:] = [store]
    child = multiprocessing.get_context("fork").Process(
        target=_use_after_fork, args=(str(path), conversation.id, process_id())
    )
    child.start()
    child.join(timeout=30)
    if child.is_alive():
        child.kill()
    assert child.exitcode == 0
    saved = asyncio.run(store.get(conversation.id))
    assert saved is not None and saved.version == 2  # the child's save landed
    asyncio.run(store.close())
