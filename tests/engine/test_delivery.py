"""Idempotent delivery, typed errors and recovery without a new message.

A webhook delivers the same message several times; a process dies in the middle of a turn and
the message is delivered again; the text is not valid Unicode; a model or a knowledge source
raises something resolvekit does not know. Each test checks the backend and what ``handle``
returns or raises.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import resolvekit as rk
from resolvekit.models import ModelRequest, ModelResponse
from resolvekit.sessions import FREE_RUN, MAX_RECEIPTS
from resolvekit.sessions.memory import MemoryStore

from .shop import Backend, Order, build_agent, one_write_agent
from .test_consent import START, always_yes


async def test_a_redelivered_message_returns_the_stored_result_and_runs_nothing() -> None:
    backend = Backend()
    agent = build_agent(backend, always_yes())
    await agent.handle("c", START, message_id="m1")
    first = await agent.handle("c", "yes", message_id="m2")
    assert first.outcome == "resolved" and not first.duplicate
    for _ in range(3):  # a webhook retried three more times
        again = await agent.handle("c", "yes", message_id="m2")
        assert again.duplicate
        assert (again.reply, again.outcome, again.intent) == (
            first.reply,
            first.outcome,
            first.intent,
        )
    assert backend.writes == [("cancel", "W1234567")]
    conversation = await agent.conversation("c")
    assert conversation is not None
    assert [m.text for m in conversation.transcript if m.role == "customer"] == [START, "yes"]


async def test_concurrent_duplicates_run_once() -> None:
    backend = Backend()
    agent = build_agent(backend, always_yes())
    await agent.handle("c", START, message_id="m1")
    results = await asyncio.gather(*(agent.handle("c", "yes", message_id="m2") for _ in range(4)))
    assert backend.writes == [("cancel", "W1234567")]
    assert sum(not r.duplicate for r in results) == 1


async def test_a_late_retry_never_answers_the_next_question() -> None:
    backend = Backend()
    model = rk.ScriptedModel(
        [
            rk.StartIntent(
                intent="CancelOrder", slots={"order_id": "W1234567", "reason": "ordered by mistake"}
            ),
            rk.Confirm(answer="yes"),
            rk.StartIntent(
                intent="CancelOrder", slots={"order_id": "W7654321", "reason": "ordered by mistake"}
            ),
        ]
    )
    agent = build_agent(backend, model)
    await agent.handle("c", "cancel W1234567", message_id="m1")
    await agent.handle("c", "yes", message_id="m2")
    second = await agent.handle("c", "cancel W7654321 too", message_id="m3")
    assert second.pending == "confirm"
    late = await agent.handle("c", "yes", message_id="m2")  # the first yes, delivered late
    assert late.duplicate
    assert backend.writes == [("cancel", "W1234567")]
    conversation = await agent.conversation("c")
    assert conversation is not None and conversation.pending is not None
    assert conversation.pending.question == "Cancel order W7654321?"


async def test_a_retry_after_the_conversation_closed_is_still_a_duplicate() -> None:
    model = rk.FunctionModel(lambda request: rk.Reply(text="Goodbye!", close=True))
    agent = build_agent(Backend(), model)
    bye = await agent.handle("c", "bye", message_id="m1")
    assert await agent.conversation("c") is None  # closed
    again = await agent.handle("c", "bye", message_id="m1")
    assert again.duplicate and again.reply == bye.reply
    assert await agent.conversation("c") is None


async def test_receipts_are_bounded() -> None:
    agent = build_agent(Backend(), rk.FunctionModel(lambda request: rk.Reply(text="hi")))
    for n in range(MAX_RECEIPTS + 5):
        await agent.handle("c", f"hello {n}", message_id=f"m{n}")
    conversation = await agent.conversation("c")
    assert conversation is not None
    assert len(conversation.receipts) == MAX_RECEIPTS
    assert "m0" not in conversation.receipts and f"m{MAX_RECEIPTS + 4}" in conversation.receipts
    assert (await agent.handle("c", "hello 0", message_id="m0")).duplicate is False


# -- a process dying in the middle of a turn ---------------------------------------------------


class Crash(BaseException):
    """Stands in for SIGKILL: nothing after it runs, no finally-save lands."""


class FreezingStore(MemoryStore):
    """A memory store that stops persisting once it is frozen (the process is dead)."""

    def __init__(self) -> None:
        super().__init__()
        self.frozen = False

    async def save(self, conversation: rk.Conversation) -> None:
        if not self.frozen:
            await super().save(conversation)


def crashing_shop(
    backend: Backend,
    store: FreezingStore,
    model: rk.Model,
    *,
    idempotent: bool,
    crash_after_commit: list[bool],
    **options: Any,
) -> rk.Agent[Backend]:
    """The shop, with a cancel write that can die right after the backend committed it."""

    def commit(order_id: str, key: str | None) -> Order:
        if key is None or key not in backend.seen_keys:
            backend.writes.append(("cancel", order_id))
            if key is not None:
                backend.seen_keys.add(key)
        if crash_after_commit and crash_after_commit.pop():
            store.frozen = True
            raise Crash
        return Order(id=order_id, status="cancelled")

    def cancel_keyed(order_id: str, idempotency_key: str) -> Order:
        """Cancel an order."""
        return commit(order_id, idempotency_key)

    def cancel_plain(order_id: str) -> Order:
        """Cancel an order."""
        return commit(order_id, None)

    write = cancel_keyed if idempotent else cancel_plain
    return one_write_agent(backend, model, write, store=store, **options)


@pytest.mark.parametrize("idempotent", [True, False])
async def test_a_redelivery_after_a_crash_finishes_the_turn_and_never_writes_twice(
    idempotent: bool,
) -> None:
    backend, store = Backend(), FreezingStore()
    crash = [True]
    agent = crashing_shop(
        backend, store, always_yes(), idempotent=idempotent, crash_after_commit=crash
    )
    await agent.handle("c", START, message_id="m1")
    with pytest.raises(Crash):
        await agent.handle("c", "yes", message_id="m2")
    assert backend.writes == [("cancel", "W1234567")]
    store.frozen = False  # a new process, the same database
    restarted = crashing_shop(
        backend, store, always_yes(), idempotent=idempotent, crash_after_commit=[]
    )
    again = await restarted.handle("c", "yes", message_id="m2")
    assert backend.writes == [("cancel", "W1234567")]
    if idempotent:
        assert again.outcome == "resolved" and again.reply == "Order W1234567 cancelled"
    else:
        assert again.outcome == "escalated" and again.handoff is not None
        assert "unknown" in again.handoff.reason
    conversation = await store.open_conversation("c")
    assert conversation is not None
    customer_lines = [m.text for m in conversation.transcript if m.role == "customer"]
    assert customer_lines == [START, "yes"]  # the redelivered message is not recorded twice
    assert (await restarted.handle("c", "yes", message_id="m2")).duplicate


async def test_a_plain_write_interrupted_is_handed_over_even_if_the_playbook_catches_it() -> None:
    backend, store = Backend(), FreezingStore()

    def cancel_order(order_id: str) -> Order:
        """Cancel an order."""
        backend.writes.append(("cancel", order_id))
        store.frozen = True
        raise Crash

    async def swallowing(ctx: Any, intent: Any, cancel: rk.Tool[Any]) -> rk.PlaybookOutcome:
        if await ctx.confirm(f"Cancel order {intent.order_id}?"):
            done = await ctx.try_call(cancel, order_id=intent.order_id)
            if isinstance(done, rk.ToolError):  # swallowed: "sorry, it failed"
                return ctx.resolve("could not cancel", reply="Sorry, that failed.")
        return ctx.resolve("cancelled")

    agent = one_write_agent(backend, always_yes(), cancel_order, swallowing, store=store)
    await agent.handle("c", START)
    with pytest.raises(Crash):
        await agent.handle("c", "yes")
    store.frozen = False
    after = await agent.handle("c", "hello?")
    assert backend.writes == [("cancel", "W1234567")]
    assert after.outcome == "escalated" and after.handoff is not None
    assert after.handoff.reason.startswith("the outcome of cancel_order is unknown")


async def test_a_write_that_times_out_goes_to_a_human() -> None:
    async def cancel_order(order_id: str) -> Order:
        """Cancel an order."""
        await asyncio.sleep(1)
        return Order(id=order_id, status="cancelled")

    async def trying(ctx: Any, intent: Any, cancel: rk.Tool[Any]) -> rk.PlaybookOutcome:
        if await ctx.confirm(f"Cancel order {intent.order_id}?"):
            await ctx.try_call(cancel, order_id=intent.order_id)
        return ctx.resolve("done")

    agent = one_write_agent(
        Backend(), always_yes(), cancel_order, trying, tool_options={"timeout": 0.05}
    )
    await agent.handle("c", START)
    result = await agent.handle("c", "yes")
    assert result.outcome == "escalated" and result.handoff is not None
    assert "unknown" in result.handoff.reason


def free_shop(
    backend: Backend, store: FreezingStore, *, idempotent: bool, crash: list[bool]
) -> rk.Agent[Backend]:
    """Free mode: the model calls the cancel write itself (after the engine's confirmation)."""

    def decide(request: ModelRequest) -> ModelResponse:
        if request.pending is not None:
            return ModelResponse(decision=rk.Confirm(answer="yes"))
        if request.messages and request.messages[-1].role == "tool":
            return ModelResponse(decision=rk.Reply(text="Cancelled."))
        return ModelResponse(decision=rk.CallTool(tool="cancel_order", args={"order_id": "W1"}))

    return crashing_shop(
        backend,
        store,
        rk.FunctionModel(decide),
        idempotent=idempotent,
        crash_after_commit=crash,
        free_mode=True,
    )


@pytest.mark.parametrize("idempotent", [True, False])
async def test_free_mode_recovers_an_interrupted_write(idempotent: bool) -> None:
    backend, store = Backend(), FreezingStore()
    agent = free_shop(backend, store, idempotent=idempotent, crash=[True])
    asked = await agent.handle("c", "cancel W1")
    assert asked.pending == "tool_confirm"
    with pytest.raises(Crash):
        await agent.handle("c", "yes", message_id="y")
    store.frozen = False
    restarted = free_shop(backend, store, idempotent=idempotent, crash=[])
    again = await restarted.handle("c", "yes", message_id="y")
    assert backend.writes == [("cancel", "W1")]
    if idempotent:
        assert again.outcome == "replied" and again.reply == "Cancelled."
    else:
        assert again.outcome == "escalated" and again.handoff is not None
        assert again.handoff.reason.startswith("the outcome of cancel_order is unknown")
    conversation = await store.open_conversation("c")
    assert conversation is not None
    assert conversation.inflight_until() is None


async def test_the_sweep_recovers_writes_whose_customer_never_writes_again() -> None:
    backend, store = Backend(), FreezingStore()
    reported: list[rk.Handoff] = []
    agent = crashing_shop(backend, store, always_yes(), idempotent=False, crash_after_commit=[True])
    await agent.handle("c", START)
    with pytest.raises(Crash):
        await agent.handle("c", "yes")
    store.frozen = False
    restarted = crashing_shop(backend, store, always_yes(), idempotent=False, crash_after_commit=[])
    restarted.handoff_targets.append(rk.CallbackTarget(reported.append))
    assert await restarted.recover() == []  # the write's deadline has not passed yet
    (result,) = await restarted.recover(older_than=-3600)
    assert result.outcome == "escalated" and len(reported) == 1
    assert "unknown_outcome" in reported[0].reason
    assert await restarted.recover(older_than=-3600) == []  # nothing left
    assert backend.writes == [("cancel", "W1234567")]


async def test_idle_timeout_does_not_close_a_conversation_with_an_interrupted_write() -> None:
    backend, store = Backend(), FreezingStore()
    agent = crashing_shop(backend, store, always_yes(), idempotent=True, crash_after_commit=[True])
    started = await agent.handle("c", START)
    with pytest.raises(Crash):
        await agent.handle("c", "yes")
    store.frozen = False
    restarted = crashing_shop(
        backend, store, always_yes(), idempotent=True, crash_after_commit=[], idle_timeout=0
    )
    result = await restarted.handle("c", "hello")
    assert result.conversation_id == started.conversation_id  # not closed as idle
    assert backend.writes == [("cancel", "W1234567")]
    assert any(e.kind == "playbook" and e.data.get("event") == "recover" for e in result.trace)


# -- bad text and broken components -------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["cancel \ud83d", "\ud83d\ude00 cancel", "cancel\x00 W1234567", "cancel \x1b[31m"]
)
async def test_invalid_unicode_and_control_characters_are_cleaned_and_stored(text: str) -> None:
    store = rk.SQLiteStore(":memory:")
    agent = build_agent(Backend(), always_yes(), store=store)
    result = await agent.handle("c", text)
    assert result.pending == "confirm"
    conversation = await store.open_conversation("c")
    assert conversation is not None
    said = conversation.transcript[0].text
    assert said.encode("utf-8") and "\x00" not in said and "\x1b" not in said


@pytest.mark.parametrize("customer_id", ["", "   ", None, 42])
async def test_a_bad_customer_id_is_a_user_error(customer_id: Any) -> None:
    agent = build_agent(Backend(), always_yes())
    with pytest.raises(rk.UserError, match="customer_id"):
        await agent.handle(customer_id, "hello")


@pytest.mark.parametrize("text", ["", "   ", "\x00\x00", None])
async def test_an_empty_message_is_rejected_and_nothing_is_stored(text: Any) -> None:
    agent = build_agent(Backend(), always_yes())
    with pytest.raises(rk.InvalidMessage):
        await agent.handle("c", text)
    assert await agent.conversation("c") is None


@pytest.mark.parametrize(
    "error", [OSError("connection reset"), ValueError("bad"), KeyError("x"), IndexError("y")]
)
async def test_any_exception_from_a_model_becomes_a_handoff(error: Exception) -> None:
    def broken(request: ModelRequest) -> ModelResponse:
        raise error

    agent = build_agent(Backend(), rk.FunctionModel(broken))
    result = await agent.handle("c", "cancel W1234567")
    assert result.outcome == "escalated" and result.handoff is not None
    assert result.error is error
    assert type(error).__name__ in result.handoff.reason


async def test_a_broken_knowledge_source_becomes_a_handoff() -> None:
    class Broken:
        async def answer(self, query: str, k: int = 3, *, model: Any = None) -> rk.KnowledgeAnswer:
            raise RuntimeError("index offline")

    model = rk.FunctionModel(lambda request: rk.AnswerFromKnowledge(query="returns"))
    agent = build_agent(Backend(), model, knowledge=Broken())
    result = await agent.handle("c", "how do returns work?")
    assert result.outcome == "escalated"
    assert isinstance(result.error, RuntimeError)


async def test_an_unexpected_error_outside_the_turn_is_an_internal_error() -> None:
    class Exploding(MemoryStore):
        async def checkout(self, customer_id: str) -> rk.Conversation | None:
            raise AttributeError("a bug in a custom store")

    agent = build_agent(Backend(), always_yes(), store=Exploding())
    with pytest.raises(rk.InternalError) as raised:
        await agent.handle("c", "hello")
    assert isinstance(raised.value.__cause__, AttributeError)


@pytest.mark.parametrize("policy", ["default", "custom", "raw"])
async def test_the_agents_redaction_policy_reaches_the_handoff(policy: str) -> None:
    from resolvekit.redaction import Redactor

    options: dict[str, Any] = {}
    if policy == "custom":
        options["redaction"] = Redactor(extra_patterns=(("loyalty", r"LY-\d{6}"),))
    elif policy == "raw":
        options["redaction"] = None
    model = rk.FunctionModel(lambda request: rk.Escalate(reason="customer asked for a human"))
    agent = build_agent(Backend(), model, **options)
    text = "call me on +44 20 7946 0958, card 4111.1111.1111.1111, loyalty LY-123456"
    result = await agent.handle("c", text)
    assert result.handoff is not None
    said = result.handoff.transcript[0]["text"]
    if policy == "raw":
        assert said == text
    else:
        assert "4111.1111.1111.1111" not in said and "7946 0958" not in said
        assert ("LY-123456" in said) is (policy == "default")


async def test_a_long_conversation_stays_bounded_and_loses_nothing() -> None:
    from resolvekit.engine.bookkeeping import KEEP_MESSAGES, KEEP_RUNS

    backend = Backend()
    script = [
        rk.StartIntent(intent="OrderStatus", slots={"order_id": "W1234567"}),
        rk.Reply(text="anything else?"),
    ]
    n = {"i": 0}

    def decide(request: ModelRequest) -> ModelResponse:
        n["i"] += 1
        return ModelResponse(decision=script[n["i"] % 2])

    agent = build_agent(backend, rk.FunctionModel(decide))
    turns = 3 * KEEP_MESSAGES
    for i in range(turns):
        await agent.handle("c", f"message {i}")
    conversation = await agent.store.open_conversation("c")
    assert conversation is not None
    assert len(conversation.transcript) < 2 * KEEP_MESSAGES
    assert len([r for r in conversation.runs]) < 2 * KEEP_RUNS + 1
    archived = await agent.store.archived(conversation.id)
    assert conversation.archived == len(archived)
    said = [
        m["text"]
        for record in archived
        if record["kind"] == "messages"
        for m in record["messages"]
        if m["role"] == "customer"
    ] + [m.text for m in conversation.transcript if m.role == "customer"]
    assert said == [f"message {i}" for i in range(turns)]  # in order, none lost, none twice
    runs = [r for r in archived if r["kind"] == "run"]
    assert len(runs) + len(conversation.runs) == turns // 2
    assert all(r["run"]["status"] == "resolved" for r in runs)


async def test_free_mode_journal_stays_bounded_and_keys_never_repeat() -> None:
    from resolvekit.engine.bookkeeping import KEEP_STEPS

    backend = Backend()

    def decide(request: ModelRequest) -> ModelResponse:
        if request.messages and request.messages[-1].role == "tool":
            return ModelResponse(decision=rk.Reply(text="done"))
        return ModelResponse(decision=rk.CallTool(tool="get_order", args={"order_id": "W1234567"}))

    agent = build_agent(backend, rk.FunctionModel(decide), free_mode=True)
    for i in range(3 * KEEP_STEPS):
        await agent.handle("c", f"status {i}")
    conversation = await agent.store.open_conversation("c")
    assert conversation is not None
    free = conversation.run(FREE_RUN)
    assert free is not None and len(free.journal) < 2 * KEEP_STEPS and free.base > 0
    assert [s.index for s in free.journal] == list(range(free.base, free.base + len(free.journal)))
    archived = [
        s
        for record in await agent.store.archived(conversation.id)
        if record["kind"] == "steps"
        for s in record["steps"]
    ]
    indexes = [s["index"] for s in archived] + [s.index for s in free.journal]
    assert indexes == list(range(3 * KEEP_STEPS))


async def test_override_swaps_the_model_and_deps_and_puts_them_back() -> None:
    backend, other = Backend(), Backend()
    agent = build_agent(backend, rk.FunctionModel(lambda request: rk.Reply(text="own")))
    own_model = agent.model
    with agent.override(model=rk.FunctionModel(lambda r: rk.Reply(text="other")), deps=other):
        assert agent.deps is other
        assert (await agent.handle("c", "hi")).reply == "other"
    assert agent.model is own_model and agent.deps is backend
    assert (await agent.handle("c", "hi")).reply == "own"
    with pytest.raises(RuntimeError), agent.override(model="test"):
        raise RuntimeError("a failing test inside")
    assert agent.model is own_model


async def test_async_with_warms_up_and_closes() -> None:
    closed: list[bool] = []

    class Closing(MemoryStore):
        async def close(self) -> None:
            closed.append(True)

    agent = build_agent(Backend(), "test", store=Closing())
    async with agent as running:
        assert running is agent
        assert agent.model.name == "local"  # resolved by warm_up
        await agent.handle("c", "where is my order W1234567")
    assert closed == [True]
