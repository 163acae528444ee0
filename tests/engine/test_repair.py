"""Repair patterns are named, documented and replaceable; the defaults behave as documented."""

from __future__ import annotations

import resolvekit as rk
from resolvekit.models import ModelRequest, ModelResponse
from resolvekit.repair import HandOver, Say, Situation

from .shop import Backend, build_agent
from .test_consent import START, always_yes


def test_the_default_patterns_are_named_and_documented() -> None:
    repairs = rk.Repairs()
    names = ["clarification", "value_not_given", "unclear_confirmation"]
    names += ["question_at_confirmation", "stale_answer"]
    for name in names:
        pattern = getattr(repairs, name)
        assert pattern.__doc__, name


async def test_an_impatient_confirmation_pattern_hands_over() -> None:
    def impatient(situation: Situation) -> Say | HandOver:
        if situation.attempts >= 2:
            return HandOver("the customer hesitated twice", "high")
        return Say(f"Yes or no? {situation.question}")

    backend = Backend()
    agent = build_agent(backend, always_yes(), repairs=rk.Repairs(unclear_confirmation=impatient))
    await agent.handle("c", START)
    first = await agent.handle("c", "maybe")
    assert first.reply == "Yes or no? Cancel order W1234567?"
    second = await agent.handle("c", "hmm")
    assert second.outcome == "escalated" and second.handoff is not None
    assert (second.handoff.reason, second.handoff.priority) == (
        "the customer hesitated twice",
        "high",
    )
    assert backend.writes == []


async def test_the_default_keeps_an_unclear_confirmation_open_forever() -> None:
    backend = Backend()
    agent = build_agent(backend, always_yes())
    await agent.handle("c", START)
    for _ in range(6):
        result = await agent.handle("c", "maybe")
        assert result.pending == "confirm" and result.outcome == "awaiting_customer"
    assert backend.writes == []


async def test_value_not_given_hands_over_after_the_limit_by_default() -> None:
    def never_gives(request: ModelRequest) -> ModelResponse:
        if request.pending is not None:
            return ModelResponse(decision=rk.FillSlots(slots={"order_id": "not an order"}))
        return ModelResponse(decision=rk.StartIntent(intent="OrderStatus"))

    agent = build_agent(Backend(), rk.FunctionModel(never_gives))
    await agent.handle("c", "where is my order")
    replies = [await agent.handle("c", "dunno") for _ in range(3)]
    assert [r.outcome for r in replies] == ["awaiting_customer", "awaiting_customer", "escalated"]
    assert replies[-1].handoff is not None
    assert replies[-1].handoff.reason == "the customer could not give the order id"


async def test_a_custom_value_pattern_sees_the_slot_and_the_attempts() -> None:
    seen: list[tuple[str | None, int]] = []

    def patient(situation: Situation) -> Say | HandOver:
        seen.append((situation.slot, situation.attempts))
        return Say(f"Take your time. {situation.default}")

    def never_gives(request: ModelRequest) -> ModelResponse:
        if request.pending is not None:
            return ModelResponse(decision=rk.FillSlots(slots={"order_id": "not an order"}))
        return ModelResponse(decision=rk.StartIntent(intent="OrderStatus"))

    agent = build_agent(
        Backend(), rk.FunctionModel(never_gives), repairs=rk.Repairs(value_not_given=patient)
    )
    await agent.handle("c", "where is my order")
    for _ in range(5):
        result = await agent.handle("c", "dunno")
    assert result.outcome == "awaiting_customer"
    assert result.reply.startswith("Take your time.")
    assert seen == [("order_id", n) for n in range(1, 6)]


async def test_clarification_pattern_decides_when_to_stop_asking() -> None:
    def once(situation: Situation) -> Say | HandOver:
        return HandOver("no second guess") if situation.attempts > 1 else Say(situation.default)

    model = rk.FunctionModel(lambda request: rk.AskClarification(text="Which order?"))
    agent = build_agent(Backend(), model, repairs=rk.Repairs(clarification=once))
    first = await agent.handle("c", "hm")
    assert first.reply == "Which order?" and first.outcome == "awaiting_customer"
    second = await agent.handle("c", "hm?")
    assert second.outcome == "escalated" and second.handoff is not None
    assert second.handoff.reason == "no second guess"


async def test_every_repair_is_in_the_trace() -> None:
    agent = build_agent(Backend(), always_yes())
    await agent.handle("c", START)
    result = await agent.handle("c", "maybe")
    (event,) = [e for e in result.trace if e.kind == "repair"]
    assert event.data == {"pattern": "unclear_confirmation", "attempts": 1, "action": "Say"}
