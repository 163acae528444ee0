"""Consent you can prove: a confirm=True write runs only on a clear yes to *that* question.

Written as the attacker would: refusals holding yes-words, questions, hedges, a model that says
yes to everything, a playbook that forgets to check the answer, a stale answer to an older
question. Each test checks the backend (the write), not just the reply.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import resolvekit as rk
from resolvekit.consent import read_consent
from resolvekit.models import ModelRequest, ModelResponse
from resolvekit.models.local import LocalModel

from .shop import Backend, Order, build_agent, one_write_agent
from .test_knowledge_agent import knowledge

START = "cancel order W1234567, I ordered it by mistake"

REFUSALS_WITH_YES_WORDS = [
    "no, I didn't say yes",
    "I never said yes",
    "I never agreed to that",
    "keep the order please",
    "no thanks, ok bye",
    "nope, all good",
    "no, is that ok?",
    "is it ok?",
    "ok?",
    "sure?",
    "no wait, I found it",
    "yes... actually no",
    "sure, NOT",
    "ok no",
    "don't go ahead",
    "yes but not now",
    "Yes, please don't.",
    "I said no, not yes",
    "fine, no",
    "nein danke",
    "yes W7654321",  # a different order: a correction, not consent to W1234567
    "maybe",
    "I guess so",
    "hmm",
    "right, my son says hi",
    "yes and no",
    "ok but only if it's free",
]


def always_yes() -> rk.FunctionModel:
    """A model that starts the cancellation (the agent's first intent) and says yes to every
    confirmation."""

    def decide(request: ModelRequest) -> ModelResponse:
        if request.pending is not None and request.pending.kind == "confirm":
            return ModelResponse(decision=rk.Confirm(answer="yes"), confidence=1.0)
        return ModelResponse(
            decision=rk.StartIntent(
                intent=request.intents[0].name,
                slots={"order_id": "W1234567", "reason": "ordered by mistake"},
            ),
            confidence=1.0,
        )

    return rk.FunctionModel(decide)


async def confirm_with(model: rk.Model, answer: str, **options: Any) -> tuple[Backend, Any]:
    backend = Backend()
    agent = build_agent(backend, model, **options)
    asked = await agent.handle("c", START)
    assert asked.pending == "confirm", asked.reply
    return backend, await agent.handle("c", answer)


@pytest.mark.parametrize("answer", REFUSALS_WITH_YES_WORDS)
async def test_a_model_that_says_yes_to_everything_cannot_confirm_a_non_yes(answer: str) -> None:
    backend, result = await confirm_with(always_yes(), answer)
    assert backend.writes == []
    assert result.outcome != "resolved" or "kept" in result.reply


@pytest.mark.parametrize("answer", REFUSALS_WITH_YES_WORDS)
async def test_local_model_never_reads_a_non_yes_as_yes(answer: str) -> None:
    backend, _ = await confirm_with(LocalModel.for_tests(), answer)
    assert backend.writes == []


@pytest.mark.parametrize(
    "answer",
    ["yes", "Yes please", "yeah go ahead", "sure, do it", "ok", "y", "👍", "yes cancel W1234567",
     "yse", "Yes, that's correct.", "confirm", "absolutely, go ahead", "um yes please"],
)  # fmt: skip
@pytest.mark.parametrize("model", ["local", "always_yes"])
async def test_a_clear_yes_runs_the_write_once(answer: str, model: str) -> None:
    chosen = LocalModel.for_tests() if model == "local" else always_yes()
    backend, result = await confirm_with(chosen, answer)
    assert backend.writes == [("cancel", "W1234567")]
    assert result.outcome == "resolved"


async def test_a_refusal_is_a_no_and_the_playbook_takes_its_no_branch() -> None:
    backend, result = await confirm_with(always_yes(), "I never agreed to that")
    assert backend.writes == []
    assert (result.outcome, result.reply) == ("resolved", "customer kept the order")


async def test_unclear_is_asked_once_then_the_question_stays_open() -> None:
    backend = Backend()
    agent = build_agent(backend, always_yes())
    await agent.handle("c", START)
    first = await agent.handle("c", "maybe")
    assert first.reply == "Just to be sure, please answer yes or no: Cancel order W1234567?"
    for hedge in ("I guess", "hmm", "whatever"):
        later = await agent.handle("c", hedge)
        assert later.pending == "confirm" and later.outcome == "awaiting_customer"
        assert later.reply.startswith("I haven't done anything yet.")
    assert backend.writes == []
    done = await agent.handle("c", "yes")
    assert done.outcome == "resolved" and backend.writes == [("cancel", "W1234567")]


async def test_a_question_at_a_confirmation_is_answered_and_the_confirmation_asked_again() -> None:
    backend = Backend()
    agent = build_agent(backend, always_yes(), knowledge=knowledge())
    await agent.handle("c", START)
    answered = await agent.handle("c", "wait, how long do I have to return an item?")
    assert "30 days" in answered.reply
    assert answered.reply.endswith("Now, back to your request: Cancel order W1234567?")
    assert answered.pending == "confirm" and backend.writes == []
    done = await agent.handle("c", "ok, yes please cancel it")
    assert done.outcome == "resolved" and backend.writes == [("cancel", "W1234567")]


async def test_a_question_with_no_knowledge_base_is_asked_again() -> None:
    backend, result = await confirm_with(always_yes(), "is it ok?")
    assert result.reply == "Just to be sure, please answer yes or no: Cancel order W1234567?"
    assert result.pending == "confirm" and backend.writes == []
    assert result.outcome == "awaiting_customer"


async def test_the_consent_is_recorded_with_the_write() -> None:
    backend = Backend()
    agent = build_agent(backend, always_yes())
    asked = await agent.handle("c", START)
    await agent.handle("c", "yes please", message_id="m-2")
    conversation = await agent.store.open_conversation("c")
    assert conversation is not None
    (run,) = conversation.runs
    confirm = next(s for s in run.journal if s.kind == "confirm")
    assert confirm.result is True
    assert confirm.evidence is not None
    assert confirm.evidence["text"] == "yes please"
    assert confirm.evidence["message_id"] == "m-2"
    assert confirm.evidence["question_id"] == asked.question_id
    assert (confirm.evidence["model"], confirm.evidence["reader"]) == ("yes", "yes")
    write = next(s for s in run.journal if s.kind == "call" and s.key == "cancel_order")
    assert write.index > confirm.index and write.status == "done"


async def test_an_answer_to_another_question_does_not_confirm_this_one() -> None:
    backend = Backend()
    agent = build_agent(backend, always_yes())
    asked = await agent.handle("c", START)
    stale = await agent.handle("c", "yes", reply_to="an-older-question")
    assert stale.reply == "That answer was for an earlier question. Cancel order W1234567?"
    assert stale.pending == "confirm" and backend.writes == []
    done = await agent.handle("c", "yes", reply_to=asked.question_id)
    assert done.outcome == "resolved" and backend.writes == [("cancel", "W1234567")]


def recording(backend: Backend) -> Callable[..., Order]:
    def cancel_order(order_id: str) -> Order:
        """Cancel an order."""
        backend.writes.append(("cancel", order_id))
        return Order(id=order_id, status="cancelled")

    return cancel_order


async def test_a_playbook_that_ignores_a_no_cannot_write() -> None:
    """The engine's own check: the write needs a yes in the journal, whatever the code does."""

    async def careless(ctx: Any, intent: Any, cancel: rk.Tool[Any]) -> rk.PlaybookOutcome:
        await ctx.confirm(f"Cancel order {intent.order_id}?")  # the answer is ignored: a bug
        await ctx.call(cancel, order_id=intent.order_id)
        return ctx.resolve("cancelled")

    backend = Backend()
    agent = one_write_agent(backend, always_yes(), recording(backend), careless)
    await agent.handle("c", START)
    result = await agent.handle("c", "no")
    assert backend.writes == []
    assert result.outcome == "escalated"
    assert isinstance(result.error, rk.UnconfirmedWrite)


async def test_a_yes_is_used_by_one_write_only() -> None:
    async def greedy(ctx: Any, intent: Any, cancel: rk.Tool[Any]) -> rk.PlaybookOutcome:
        if await ctx.confirm(f"Cancel order {intent.order_id}?"):
            await ctx.call(cancel, order_id=intent.order_id)
            await ctx.call(cancel, order_id="W7654321")  # not what the yes was for
        return ctx.resolve("cancelled")

    backend = Backend()
    agent = one_write_agent(backend, always_yes(), recording(backend), greedy)
    await agent.handle("c", START)
    result = await agent.handle("c", "yes")
    assert backend.writes == [("cancel", "W1234567")]
    assert isinstance(result.error, rk.UnconfirmedWrite)


async def test_a_lenient_policy_takes_a_models_paraphrase_but_never_a_refusal() -> None:
    lenient = rk.ConsentPolicy(require_reader_yes=False)
    backend, result = await confirm_with(always_yes(), "make it happen", consent=lenient)
    assert backend.writes == [("cancel", "W1234567")] and result.outcome == "resolved"
    strict_backend, strict = await confirm_with(always_yes(), "make it happen")
    assert strict_backend.writes == [] and strict.pending == "confirm"
    for refusal in ("I never agreed to that", "maybe", "is it ok?", "yes W7654321"):
        refused_backend, _ = await confirm_with(always_yes(), refusal, consent=lenient)
        assert refused_backend.writes == [], refusal


async def test_free_mode_writes_need_the_same_consent() -> None:
    backend = Backend()
    calls = {"n": 0}

    def decide(request: ModelRequest) -> ModelResponse:
        if request.pending is not None:
            return ModelResponse(decision=rk.Confirm(answer="yes"))
        calls["n"] += 1
        if calls["n"] == 1:
            return ModelResponse(
                decision=rk.CallTool(
                    tool="cancel_order",
                    args={"order_id": "W1234567", "reason": "ordered by mistake"},
                )
            )
        return ModelResponse(decision=rk.Reply(text="done"))

    agent = build_agent(backend, rk.FunctionModel(decide), free_mode=True)
    asked = await agent.handle("c", "cancel W1234567")
    assert asked.pending == "tool_confirm"
    refused = await agent.handle("c", "I never said yes")
    assert backend.writes == [] and refused.reply.startswith("OK, I haven't done that")
    calls["n"] = 0
    await agent.handle("c", "cancel W1234567")
    done = await agent.handle("c", "yes go ahead")
    assert backend.writes == [("cancel", "W1234567")] and done.reply == "done"


def answering(answer: str) -> rk.FunctionModel:
    """Like :func:`always_yes`, but the model reads every confirmation as ``answer``."""

    def decide(request: ModelRequest) -> ModelResponse:
        if request.pending is not None and request.pending.kind == "confirm":
            return ModelResponse(decision=rk.Confirm(answer=answer), confidence=1.0)  # type: ignore[arg-type]
        return ModelResponse(
            decision=rk.StartIntent(
                intent="CancelOrder",
                slots={"order_id": "W1234567", "reason": "ordered by mistake"},
            ),
            confidence=1.0,
        )

    return rk.FunctionModel(decide)


async def confirm_step(agent: rk.Agent[Backend]) -> Any:
    conversation = await agent.store.open_conversation("c")
    assert conversation is not None
    return next(s for run in conversation.runs for s in run.journal if s.kind == "confirm")


@pytest.mark.parametrize("policy", [rk.ConsentPolicy(), rk.ConsentPolicy(require_reader_yes=False)])
async def test_a_models_no_wins_over_a_customers_yes(policy: rk.ConsentPolicy) -> None:
    """The stricter reading wins both ways: the model may turn a yes into a no."""
    backend = Backend()
    agent = build_agent(backend, answering("no"), consent=policy)
    await agent.handle("c", START)
    result = await agent.handle("c", "yes please")
    assert backend.writes == []
    assert (result.outcome, result.reply) == ("resolved", "customer kept the order")
    step = await confirm_step(agent)
    assert step.result is False
    assert (step.evidence["model"], step.evidence["reader"], step.evidence["answer"]) == (
        "no",
        "yes",
        "no",
    )
    (traced,) = [e.data for e in result.trace if e.kind == "confirm"]
    assert (traced["model"], traced["reader"], traced["answer"]) == ("no", "yes", "no")
    assert policy.decide("no", read_consent("yes please")) == "no"


async def test_a_refusal_is_recorded_as_a_no_in_the_journal() -> None:
    backend = Backend()
    agent = build_agent(backend, always_yes())
    await agent.handle("c", START)
    await agent.handle("c", "no thanks")
    step = await confirm_step(agent)
    assert step.status == "done" and step.result is False
    assert (step.evidence["reader"], step.evidence["answer"]) == ("no", "no")


@pytest.mark.parametrize("policy", [rk.ConsentPolicy(), rk.ConsentPolicy(require_reader_yes=False)])
@pytest.mark.parametrize("answer", ["yes", "make it happen"])
async def test_a_model_that_is_unsure_makes_the_engine_ask_again(
    policy: rk.ConsentPolicy, answer: str
) -> None:
    """An unsure model never lets a write through, even when the customer wrote a clear yes or
    the policy is lenient: the question is asked again and stays open."""
    backend = Backend()
    agent = build_agent(backend, answering("unsure"), consent=policy)
    await agent.handle("c", START)
    result = await agent.handle("c", answer)
    assert backend.writes == []
    assert result.reply == "Just to be sure, please answer yes or no: Cancel order W1234567?"
    assert (result.outcome, result.pending) == ("awaiting_customer", "confirm")
    step = await confirm_step(agent)
    assert step.status == "pending" and step.result is None


async def test_a_lenient_policy_takes_a_yes_with_words_it_cannot_account_for() -> None:
    """ "yes, make it happen": the reader finds a yes and words beyond it (unclear); a lenient
    policy lets the model's yes stand, the default one asks again."""
    assert read_consent("yes, make it happen").reason == "words beyond a yes"
    lenient = rk.ConsentPolicy(require_reader_yes=False)
    backend, result = await confirm_with(always_yes(), "yes, make it happen", consent=lenient)
    assert backend.writes == [("cancel", "W1234567")] and result.outcome == "resolved"
    strict_backend, strict = await confirm_with(always_yes(), "yes, make it happen")
    assert strict_backend.writes == [] and strict.pending == "confirm"
