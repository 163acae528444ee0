"""``checkout``: a turn gets the object its store saved last, never a stale or half-changed one.

About internals: the built-in stores' ``checkout`` and their ``recent`` cache (the agent reads
conversations through them; the Store protocol does not have to)."""

from __future__ import annotations

from pathlib import Path

import pytest

import resolvekit as rk
from resolvekit.sessions import Conversation, checkout
from resolvekit.sessions.memory import MemoryStore
from resolvekit.sessions.postgres import PostgresStore
from resolvekit.sessions.sqlite import SQLiteStore

from .conftest import new_table


async def _saved(store: rk.Store, customer_id: str = "c-1") -> Conversation:
    """A conversation saved once, then checked out and saved by a turn (so it is kept)."""
    await store.save(Conversation.new(customer_id, "chat"))
    turn = await checkout(store, customer_id)
    assert turn is not None
    turn.facts["step"] = 1
    await store.save(turn)
    return turn


async def test_a_turn_gets_the_object_the_last_turn_saved(store: rk.Store) -> None:
    saved = await _saved(store)
    again = await checkout(store, "c-1")
    assert again is saved  # not decoded again
    assert again.facts == {"step": 1}


async def test_a_turn_that_fails_before_saving_leaves_nothing_behind(store: rk.Store) -> None:
    saved = await _saved(store)
    turn = await checkout(store, "c-1")
    assert turn is saved
    turn.facts["step"] = 2  # changed, then the turn fails: no save
    turn.runs.clear()
    fresh = await checkout(store, "c-1")
    assert fresh is not None and fresh is not turn
    assert fresh.facts == {"step": 1}


async def test_a_failed_save_forgets_the_object(store: rk.Store) -> None:
    saved = await _saved(store)
    turn = await checkout(store, "c-1")
    assert turn is saved
    stale = await store.get(saved.id)
    assert stale is not None
    stale.facts["by"] = "someone else"
    await store.save(stale)  # another writer moves the row on
    turn.facts["step"] = 3
    with pytest.raises(rk.ConcurrentUpdate):
        await store.save(turn)
    fresh = await checkout(store, "c-1")
    assert fresh is not None and fresh is not turn and fresh is not stale
    assert fresh.facts == {"step": 1, "by": "someone else"}


async def test_objects_read_outside_a_turn_stay_the_callers(store: rk.Store) -> None:
    saved = await _saved(store)
    mine = await store.get(saved.id)
    assert mine is not None and mine is not saved
    mine.facts["step"] = 9
    await store.save(mine)
    mine.facts["step"] = 10  # the caller keeps changing its copy without saving
    turn = await checkout(store, "c-1")
    assert turn is not None and turn is not mine
    assert turn.facts == {"step": 9}
    opened = await store.open_conversation("c-1")
    assert opened is not None and opened is not turn  # open_conversation is always a copy


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_another_process_save_is_seen(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    def build() -> rk.Store:
        if kind == "sqlite":
            return SQLiteStore(tmp_path / "s.db")
        return PostgresStore(request.getfixturevalue("postgres_url"), table=table)

    table = new_table()
    mine, theirs = build(), build()
    try:
        saved = await _saved(mine)
        other = await checkout(theirs, "c-1")
        assert other is not None and other is not saved
        other.facts["step"] = "theirs"
        await theirs.save(other)
        turn = await checkout(mine, "c-1")
        assert turn is not None and turn is not saved
        assert turn.facts == {"step": "theirs"}
    finally:
        await mine.close()
        await theirs.close()


async def test_the_cache_is_bounded() -> None:
    store = MemoryStore()
    store.recent.size = 2
    kept = [await _saved(store, f"c-{i}") for i in range(3)]
    assert await checkout(store, "c-0") is not kept[0]  # the oldest went first
    assert await checkout(store, "c-2") is kept[2]


async def test_a_store_without_checkout_is_read_with_open_conversation() -> None:
    class Plain:
        def __init__(self) -> None:
            self.inner = MemoryStore()

        async def open_conversation(self, customer_id: str) -> Conversation | None:
            return await self.inner.open_conversation(customer_id)

    plain = Plain()
    await plain.inner.save(Conversation.new("c-1", "chat"))
    found = await checkout(plain, "c-1")  # type: ignore[arg-type]
    assert found is not None and found.customer_id == "c-1"


class Survey(rk.Intent):
    """Answer questions until the customer says stop."""

    examples = ["start the survey"]


async def test_the_agent_keeps_a_long_conversation_without_decoding_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import resolvekit.sessions.memory as memory

    decoded: list[str] = []
    real = memory.decode_conversation

    def counting(conversation_id: str, raw: str | bytes, **kwargs: object) -> Conversation:
        decoded.append(conversation_id)
        return real(conversation_id, raw, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(memory, "decode_conversation", counting)
    agent = rk.Agent("survey", store=MemoryStore(), handoff=[])

    @agent.playbook(Survey)
    async def survey(ctx: rk.Context[None], intent: Survey) -> rk.PlaybookOutcome:
        while (await ctx.ask("Anything else?")) != "stop":
            pass
        return ctx.resolve("done")

    first = await agent.handle("c-1", "start the survey")
    assert first.reply == "Anything else?"
    for i in range(6):
        await agent.handle("c-1", f"answer {i}")
    # The first turn creates the conversation; the second decodes it once; then none.
    assert len(decoded) == 1
    assert (await agent.handle("c-1", "stop")).outcome == "resolved"
