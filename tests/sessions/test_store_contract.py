"""What every built-in store guarantees: one open conversation per customer, interrupted writes
found, and an archive written with the row or not at all."""

from __future__ import annotations

import time

import pytest

import resolvekit as rk
from resolvekit.sessions import Conversation, PendingState, PlaybookRun, Step


def _with_started_write(customer_id: str, at: float, deadline: float | None = None) -> Conversation:
    conversation = Conversation.new(customer_id, "chat")
    run = PlaybookRun(id="r1", intent="Pay")
    run.journal.append(Step(index=0, kind="call", key="get_invoice", at=at))
    run.journal.append(
        Step(index=1, kind="call", key="charge", status="started", at=at, deadline=deadline)
    )
    conversation.runs.append(run)
    return conversation


async def test_a_second_open_conversation_for_a_customer_is_refused(store: rk.Store) -> None:
    first = Conversation.new("c-1", "chat")
    await store.save(first)
    second = Conversation.new("c-1", "email")
    with pytest.raises(rk.ConcurrentUpdate, match="already has an open conversation"):
        await store.save(second)
    assert second.version == 0
    assert await store.get(second.id) is None
    loaded = await store.open_conversation("c-1")
    assert loaded is not None and loaded.id == first.id  # nothing overwritten
    # Once the first is closed, a new one may open; the old one cannot be reopened beside it.
    loaded.status = "closed"
    await store.save(loaded)
    await store.save(second)
    loaded.status = "open"
    with pytest.raises(rk.ConcurrentUpdate):
        await store.save(loaded)
    # A handed-off conversation counts as open; other customers are not affected.
    await store.save(Conversation.new("c-2", "chat"))


async def test_inflight_finds_started_writes_oldest_first(store: rk.Store) -> None:
    now = time.time()
    late = _with_started_write("late", at=now - 10, deadline=now - 1)
    early = _with_started_write("early", at=now - 20, deadline=now - 5)
    future = _with_started_write("future", at=now, deadline=now + 600)
    default = _with_started_write("default", at=now - 400)  # at + DEFAULT_WRITE_DEADLINE (300)
    closed = _with_started_write("closed", at=now - 30, deadline=now - 30)
    closed.status = "closed"
    quiet = Conversation.new("quiet", "chat")
    for conversation in (late, early, future, default, closed, quiet):
        await store.save(conversation)
    assert await store.inflight(now) == [
        (default.id, "default"),
        (early.id, "early"),
        (late.id, "late"),
    ]
    assert await store.inflight(now, limit=1) == [(default.id, "default")]
    assert await store.inflight(now - 50) == [(default.id, "default")]
    # The write finishes: the next save clears the conversation's deadline.
    late.runs[0].journal[1].status = "done"
    await store.save(late)
    assert [c for c, _ in await store.inflight(now + 3600)] == [default.id, early.id, future.id]


async def test_archive_keeps_records_in_order_across_saves(store: rk.Store) -> None:
    conversation = Conversation.new("c-1", "chat")
    await store.save(conversation)
    assert await store.archived(conversation.id) == []
    conversation.archive_out = [{"n": 0, "text": "a"}, {"n": 1}]
    await store.save(conversation)
    assert conversation.archive_out == [] and conversation.archived == 2
    await store.save(conversation)  # nothing to move
    conversation.archive_out = [{"n": 2, "nested": {"x": [1, None]}}]
    await store.save(conversation)
    assert conversation.archived == 3
    assert await store.archived(conversation.id) == [
        {"n": 0, "text": "a"},
        {"n": 1},
        {"n": 2, "nested": {"x": [1, None]}},
    ]
    loaded = await store.get(conversation.id)
    assert loaded is not None and loaded.archived == 3 and loaded.archive_out == []
    assert await store.archived("unknown") == []


async def test_a_refused_save_stores_no_archive_record(store: rk.Store) -> None:
    conversation = Conversation.new("c-1", "chat")
    await store.save(conversation)
    stale = await store.get(conversation.id)
    assert stale is not None
    await store.save(conversation)
    stale.archive_out = [{"n": 0}]
    updated_at = stale.updated_at
    with pytest.raises(rk.ConcurrentUpdate):
        await store.save(stale)
    # The copy is left as it was, ready to be reloaded and retried.
    assert stale.archive_out == [{"n": 0}] and stale.archived == 0
    assert stale.version == 1 and stale.updated_at == updated_at
    assert await store.archived(conversation.id) == []
    # A second open conversation is refused with its records too.
    other = Conversation.new("c-1", "chat")
    other.archive_out = [{"n": 0}]
    with pytest.raises(rk.ConcurrentUpdate):
        await store.save(other)
    assert await store.archived(other.id) == [] and other.archive_out == [{"n": 0}]


async def test_a_save_that_cannot_be_encoded_leaves_the_conversation_as_it_was(
    store: rk.Store,
) -> None:
    conversation = Conversation.new("c-1", "chat")
    await store.save(conversation)
    conversation.facts["bad"] = object()  # not JSON
    conversation.archive_out = [{"n": 0}]
    with pytest.raises(ValueError, match="serialize"):
        await store.save(conversation)
    assert conversation.version == 1 and conversation.archive_out == [{"n": 0}]
    del conversation.facts["bad"]
    await store.save(conversation)
    assert await store.archived(conversation.id) == [{"n": 0}]


async def test_handed_off_lists_the_conversations_a_human_has_oldest_first(
    store: rk.Store,
) -> None:
    first, second, open_one, closed = (Conversation.new(c, "chat") for c in "abcd")
    first.status = second.status = "handed_off"
    closed.status = "closed"
    for conversation in (first, open_one, second, closed):
        await store.save(conversation)
    listed = await store.handed_off()  # type: ignore[attr-defined]
    assert [c.id for c in listed] == [first.id, second.id]
    assert [c.id for c in await store.handed_off(limit=1)] == [first.id]  # type: ignore[attr-defined]
    # A listing is read-only: what it returns is a copy, saving nothing.
    listed[0].status = "open"
    assert [c.id for c in await store.handed_off()] == [first.id, second.id]  # type: ignore[attr-defined]


def _waiting_for_approval(customer_id: str, asked_at: float) -> Conversation:
    conversation = Conversation.new(customer_id, "chat")
    run = PlaybookRun(id="r1", intent="Refund", status="waiting")
    run.journal.append(Step(index=0, kind="approve", key="refund 120", status="pending"))
    conversation.runs.append(run)
    conversation.pending = PendingState(
        kind="approval", question="needs approval", run_id="r1", step=0, asked_at=asked_at
    )
    return conversation


@pytest.mark.parametrize("encrypted", [False, True])
async def test_awaiting_approval_lists_waiting_conversations_longest_first(
    store: rk.Store, encrypted: bool
) -> None:
    if encrypted:
        store = rk.EncryptedStore(store, key=rk.EncryptedStore.new_key())
    now = time.time()
    newer = _waiting_for_approval("newer", now - 10)
    older = _waiting_for_approval("older", now - 3600)
    closed = _waiting_for_approval("closed", now - 7200)
    closed.status = "closed"
    for conversation in (newer, older, closed, Conversation.new("quiet", "chat")):
        await store.save(conversation)
    assert await store.awaiting_approval() == [(older.id, "older"), (newer.id, "newer")]
    assert await store.awaiting_approval(limit=1) == [(older.id, "older")]
    # Decided: the next save takes the conversation off the list.
    older.pending = None
    older.runs[0].journal[0].status = "done"
    await store.save(older)
    assert await store.awaiting_approval() == [(newer.id, "newer")]
