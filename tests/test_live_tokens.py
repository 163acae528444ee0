"""Provisional ``token`` text in a turn's live events: a model's streamed words are retracted
whenever the engine does not then say them (resolvekit.live.Provisional, wired by the turn)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import resolvekit as rk
from resolvekit.exceptions import ModelConnectionError
from resolvekit.live import Provisional, current_observer, observe
from resolvekit.messages import AskClarification, Decision, Escalate, FillSlots, Reply
from resolvekit.models import ModelRequest
from resolvekit.models.function import FunctionModel


class Seen(list[tuple[str, dict[str, Any]]]):
    def __call__(self, kind: str, data: dict[str, Any]) -> None:
        self.append((kind, data))

    def live(self) -> list[tuple[str, str]]:
        """The token, retract and say events, as ``(kind, text)``."""
        return [(k, d.get("text", "")) for k, d in self if k in ("token", "retract", "say")]


def speaking(*answers: tuple[str, Decision | Exception]) -> FunctionModel:
    """A model that streams each answer's words as tokens, then returns (or raises) it."""
    script = list(answers)

    def decide(request: ModelRequest) -> Decision:
        words, decision = script.pop(0)
        observer = current_observer()
        assert observer is not None, "the turn makes its observer current for the model"
        for word in words.split(" "):
            observer("token", {"text": word + " "})
        if isinstance(decision, Exception):
            raise decision
        return decision

    return FunctionModel(decide)


class CheckOrder(rk.Intent):
    """Customer asks where an order is."""

    order_id: str = rk.Slot(ask="What is the order number?")


async def turn(model: FunctionModel, **options: Any) -> tuple[rk.TurnResult, Seen]:
    agent: rk.Agent[None] = rk.Agent(name="Acme", model=model, store="memory://", **options)

    @agent.playbook(CheckOrder)
    async def check(ctx: rk.Context[None], intent: CheckOrder) -> None:
        ctx.say(f"Order {intent.order_id} is on its way.")

    seen = Seen()
    with observe(seen):
        result = await agent.handle("c1", "hello")
    return result, seen


async def test_tokens_that_are_said_are_not_retracted() -> None:
    result, seen = await turn(speaking(("Hi, how can I help?", Reply(text="Hi, how can I help?"))))
    assert result.reply == "Hi, how can I help?"
    words = [("token", w) for w in ("Hi, ", "how ", "can ", "I ", "help? ")]
    assert seen.live() == [*words, ("say", "Hi, how can I help?")]


async def test_a_decision_the_engine_rejects_is_retracted_before_the_next_tokens() -> None:
    model = speaking(
        ("Your slots are", FillSlots(slots={"x": "1"})),  # no slot is pending: invalid
        ("Hello there", Reply(text="Hello there")),
    )
    result, seen = await turn(model)
    assert result.reply == "Hello there"
    first = [("token", w) for w in ("Your ", "slots ", "are ")]
    second = [("token", w) for w in ("Hello ", "there ")]
    assert seen.live() == [*first, ("retract", ""), *second, ("say", "Hello there")]
    model_events = [k for k, _ in seen if k in ("model", "retract")]
    assert model_events == ["retract", "model", "model"]  # retracted as the rejection is noted


async def test_text_replaced_by_a_handoff_is_retracted_before_it() -> None:
    model = speaking(("I will refund you now", Escalate(reason="refund needs a person")))
    result, seen = await turn(model, handoff=[])
    kinds = [k for k, _ in seen.live()]
    assert kinds[:5] == ["token"] * 5
    assert kinds[5] == "retract" and kinds[6] == "say"
    assert result.reply.startswith(seen.live()[6][1])


async def test_a_clarification_said_with_more_words_is_not_retracted() -> None:
    model = speaking(("Which order?", AskClarification(text="Which order?")))
    result, seen = await turn(model)
    assert "retract" not in [k for k, _ in seen]
    assert result.reply.startswith("Which order?")


async def test_tokens_of_a_failed_request_are_retracted_by_the_end_of_the_turn() -> None:
    model = speaking(("Half an ans", ModelConnectionError("the line dropped")))
    result, seen = await turn(model, handoff=[])
    assert result.outcome == "escalated"
    live = seen.live()
    assert [k for k, _ in live[:3]] == ["token"] * 3 and live[3] == ("retract", "")
    assert "retract" not in [k for k, _ in live[4:]]


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        ([("token", "a"), ("retract", ""), ("retract", "")], [("token", "a"), ("retract", "")]),
        ([("retract", ""), ("say", "x")], [("say", "x")]),  # nothing provisional: dropped
        ([("token", "ab"), ("say", " ab c")], [("token", "ab"), ("say", " ab c")]),
        ([("token", "ab"), ("say", "b")], [("token", "ab"), ("retract", ""), ("say", "b")]),
        (
            [("token", "a"), ("model", ""), ("token", "b")],
            [("token", "a"), ("model", ""), ("retract", ""), ("token", "b")],
        ),
        ([("token", "a"), ("settle", "")], [("token", "a"), ("retract", "")]),
    ],
)
def test_provisional_rules(events: list[tuple[str, str]], expected: list[tuple[str, str]]) -> None:
    seen = Seen()
    provisional = Provisional(seen)
    call: Callable[[str, dict[str, Any]], None] = provisional
    for kind, text in events:
        if kind == "settle":
            provisional.settle()
        else:
            call(kind, {"text": text} if text else {})
    assert [(k, d.get("text", "")) for k, d in seen] == expected


class Recorder(rk.Model):
    """Starts the intent, then answers knowledge questions, recording who observes then."""

    capabilities = frozenset({"answer"})
    name = "recorder"

    def __init__(self) -> None:
        self.observers: list[Any] = []

    async def request(self, request: ModelRequest) -> rk.ModelResponse:
        if request.task == "answer":
            self.observers.append(current_observer())
            return rk.ModelResponse(decision=Reply(text="Within 30 days [1]."), confidence=0.9)
        if request.pending is not None and request.pending.slot is not None:
            answer = FillSlots(slots={request.pending.slot.name: request.text})
            return rk.ModelResponse(decision=answer, confidence=0.9)
        return rk.ModelResponse(decision=rk.StartIntent(intent="ReturnItem"), confidence=0.9)


async def test_a_parked_playbook_searches_under_the_current_turns_observer() -> None:
    from resolvekit.knowledge import KnowledgeBase
    from resolvekit.understanding.embedders import HashingEmbedder

    class ReturnItem(rk.Intent):
        """Return an item."""

    kb = KnowledgeBase(embedder=HashingEmbedder())
    kb.add([{"question": "How long can I return?", "answer": "Within 30 days of delivery."}])
    model = Recorder()
    agent: rk.Agent[None] = rk.Agent(
        name="Acme", model=model, store="memory://", knowledge=kb, parked_playbooks=10
    )

    @agent.playbook(ReturnItem)
    async def return_item(ctx: rk.Context[None], intent: ReturnItem) -> rk.PlaybookOutcome:
        await ctx.search("How long can I return?")  # turn 1
        await ctx.ask("When did it arrive?")  # parks the playbook
        await ctx.search("How long can I return? (2)")  # turn 2
        await ctx.ask("Anything else?")
        await ctx.search("How long can I return? (3)")  # turn 3
        return ctx.resolve("ok")

    first, third = Seen(), Seen()
    with observe(first):
        await agent.handle("c1", "return order W1")
    await agent.handle("c1", "yesterday")  # nobody observes this turn
    with observe(third):
        done = await agent.handle("c1", "no")
    assert done.outcome == "resolved"
    assert [type(o) for o in model.observers] == [Provisional, type(None), Provisional]
    assert model.observers[0] is not model.observers[2]
    assert first != [] and third != []
