"""The turn engine in detail: the recovery sweep, slot filling, knowledge answers and
clarifications, free-mode calls and their confirmation, playbook failures and closing."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from pydantic import ValidationInfo, field_validator, model_validator

import resolvekit as rk
from resolvekit.messages import Citation
from resolvekit.playbooks import KnowledgeAnswer
from resolvekit.sessions import FREE_RUN, PlaybookRun, Step
from resolvekit.sessions.memory import MemoryStore

from .shop import Backend, Order, build_agent, untimed
from .test_consent import START, always_yes
from .test_delivery import Crash, FreezingStore, crashing_shop, free_shop


async def crashed_playbook(idempotent: bool) -> tuple[Backend, FreezingStore]:
    backend, store = Backend(), FreezingStore()
    agent = crashing_shop(
        backend, store, always_yes(), idempotent=idempotent, crash_after_commit=[True]
    )
    await agent.handle("c", START)
    with pytest.raises(Crash):
        await agent.handle("c", "yes")
    store.frozen = False
    return backend, store


# -- the sweep -------------------------------------------------------------------------------


async def test_the_sweep_finishes_an_idempotent_write_and_the_playbook() -> None:
    backend, store = await crashed_playbook(idempotent=True)
    agent = crashing_shop(backend, store, always_yes(), idempotent=True, crash_after_commit=[])
    assert await agent.recover() == []  # the deadline has not passed
    (result,) = await agent.recover(older_than=-3600)
    assert (result.outcome, result.reply) == ("resolved", "Order W1234567 cancelled")
    assert backend.writes == [("cancel", "W1234567")]
    (recovered,) = [e.data for e in result.trace if e.data.get("event") == "recover"]
    assert (recovered["intent"], isinstance(recovered["run"], str)) == ("Cancel", True)
    assert await agent.recover(older_than=-3600) == []


async def test_the_sweep_hands_a_plain_interrupted_write_to_a_human() -> None:
    backend, store = await crashed_playbook(idempotent=False)
    agent = crashing_shop(backend, store, always_yes(), idempotent=False, crash_after_commit=[])
    reported: list[rk.Handoff] = []
    agent.handoff_targets.append(rk.CallbackTarget(reported.append))
    (result,) = await agent.recover(older_than=-3600)
    assert result.outcome == "escalated"
    (handoff,) = reported
    assert handoff.reason == (
        "cancel_order failed (unknown_outcome): the call was interrupted and the tool takes no "
        "idempotency key, so it is not repeated; a human must check whether it took effect"
    )
    assert handoff.priority == "high"
    assert backend.writes == [("cancel", "W1234567")]


async def test_the_sweep_leaves_a_conversation_a_human_already_has() -> None:
    backend, store = await crashed_playbook(idempotent=True)
    conversation = await store.open_conversation("c")
    assert conversation is not None
    conversation.status = "handed_off"
    await store.save(conversation)
    agent = crashing_shop(backend, store, always_yes(), idempotent=True, crash_after_commit=[])
    assert await agent.recover(older_than=-3600) == []
    assert backend.writes == [("cancel", "W1234567")]


async def test_a_recovery_that_fails_is_handed_over_with_the_error() -> None:
    backend, store = await crashed_playbook(idempotent=True)
    agent = crashing_shop(backend, store, always_yes(), idempotent=True, crash_after_commit=[])
    del agent.intents["Cancel"]  # a deploy dropped the intent the run belongs to
    (result,) = await agent.recover(older_than=-3600)
    assert result.outcome == "escalated" and result.handoff is not None
    assert (result.handoff.reason, result.handoff.priority) == (
        "recovery failed: KeyError: 'Cancel'",
        "high",
    )
    assert isinstance(result.error, KeyError)


async def test_the_sweep_recovers_a_free_mode_call() -> None:
    backend, store = Backend(), FreezingStore()
    agent = free_shop(backend, store, idempotent=False, crash=[True])
    await agent.handle("c", "cancel W1")
    with pytest.raises(Crash):
        await agent.handle("c", "yes")
    store.frozen = False
    agent = free_shop(backend, store, idempotent=False, crash=[])
    (result,) = await agent.recover(older_than=-3600)
    assert result.outcome == "escalated" and backend.writes == [("cancel", "W1")]
    assert [e.data for e in result.trace if e.kind == "free"] == [
        {"event": "recover", "tool": "cancel_order", "step": 1}
    ]


async def crash_a_free_mode_write_then_lose_its_tool() -> tuple[
    Backend, FreezingStore, rk.TurnResult
]:
    backend, store = Backend(), FreezingStore()
    agent = free_shop(backend, store, idempotent=True, crash=[True])
    await agent.handle("c", "cancel W1")
    with pytest.raises(Crash):
        await agent.handle("c", "yes", message_id="y")
    store.frozen = False
    agent = free_shop(backend, store, idempotent=True, crash=[])
    del agent.tools["cancel_order"]  # a deploy removed the tool
    return backend, store, await agent.handle("c", "hello?")


async def test_a_free_mode_call_whose_tool_is_gone_is_not_made_again() -> None:
    backend, store, result = await crash_a_free_mode_write_then_lose_its_tool()
    conversation = await store.get(result.conversation_id)
    assert conversation is not None
    (message,) = [m for m in conversation.transcript if m.role == "tool"]
    assert json.loads(message.text) == {
        "tool": "cancel_order",
        "kind": "unknown_outcome",
        "message": "the tool is gone",
    }
    free = conversation.run(FREE_RUN)
    assert free is not None and free.journal[-1].status == "error"
    assert backend.writes == [("cancel", "W1")]


async def test_a_free_mode_call_whose_tool_is_gone_goes_to_a_human() -> None:
    """Was a bug (engine/free.recover_free marked the call unknown_outcome but never told a
    human; the model went on and told the customer 'Cancelled.')."""
    _, _, result = await crash_a_free_mode_write_then_lose_its_tool()
    assert result.outcome == "escalated" and result.handoff is not None
    assert result.handoff.reason.startswith("the outcome of cancel_order is unknown")


# -- slots and answers -----------------------------------------------------------------------


async def test_an_invalid_answer_to_a_slot_question_is_asked_again_with_the_reason() -> None:
    model = rk.ScriptedModel(
        [rk.StartIntent(intent="CancelOrder"), rk.FillSlots(slots={"order_id": "12345"})]
    )
    agent = build_agent(Backend(), model)
    assert (await agent.handle("c", "cancel")).reply == "What is the order number?"
    again = await agent.handle("c", "12345")
    assert again.reply == "That doesn't look like a valid order id. What is the order number?"
    assert again.pending == "slot"


async def test_an_answer_to_a_playbook_question_is_traced() -> None:
    class Name(rk.Intent):
        """Ask a name."""

    agent = build_agent(
        Backend(),
        rk.ScriptedModel([rk.StartIntent(intent="Name"), rk.FillSlots(slots={"who": "Ana"})]),
    )

    @agent.playbook(Name)
    async def name(ctx: rk.Context[Backend], intent: Name) -> rk.PlaybookOutcome:
        return ctx.resolve("Hi " + await ctx.ask("Who?", name="who"))

    await agent.handle("c", "name")
    done = await agent.handle("c", "Ana")
    assert done.reply == "Hi Ana"
    assert [e.data for e in done.trace if e.kind == "ask"] == [
        {"event": "answered", "step": 0, "value": "Ana"}
    ]


async def _end_first_run(agent: rk.Agent[Backend], status: str) -> None:
    """End customer c's first run with ``status``, nothing pending, as a later turn would."""
    conversation = await agent.store.open_conversation("c")
    assert conversation is not None
    conversation.runs[0].status = status  # type: ignore[assignment]
    conversation.pending = None
    await agent.store.save(conversation)


@pytest.mark.parametrize("status", ["resolved", "refused", "escalated", "cancelled", "failed"])
async def test_an_id_a_finished_run_used_is_asked_again_whatever_its_end(status: str) -> None:
    model = rk.ScriptedModel(
        [
            rk.StartIntent(intent="CancelOrder", slots={"order_id": "W1234567"}),
            rk.StartIntent(intent="CancelOrder", slots={}),
        ]
    )
    agent = build_agent(Backend(), model)
    await agent.handle("c", "cancel W1234567")
    await _end_first_run(agent, status)
    again = await agent.handle("c", "cancel another order")
    assert again.reply == "What is the order number?"


async def test_a_value_that_is_not_an_id_is_reused_by_the_same_request() -> None:
    model = rk.ScriptedModel(
        [
            rk.StartIntent(intent="CancelOrder", slots={"reason": "ordered by mistake"}),
            rk.StartIntent(intent="CancelOrder", slots={}),
        ]
    )
    agent = build_agent(Backend(), model)
    await agent.handle("c", "cancel, I ordered by mistake")
    await _end_first_run(agent, "cancelled")
    again = await agent.handle("c", "cancel another")
    assert again.slots == {"reason": "ordered by mistake"}
    assert again.reply == "What is the order number?"


class Recorder:
    """A knowledge source that answers only about returns, and records what it was asked."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, int]] = []

    async def answer(self, query: str, k: int = 3, *, model: Any = None) -> KnowledgeAnswer:
        self.asked.append((query, k))
        if "return" not in query:
            return KnowledgeAnswer(query=query, text="", answerable=False, score=0.1)
        return KnowledgeAnswer(
            query=query,
            text="30 days.",
            answerable=True,
            score=0.9,
            citations=[Citation(doc_id="returns")],
        )


async def test_a_knowledge_answer_is_traced_and_asks_for_three_passages() -> None:
    source = Recorder()
    model = rk.ScriptedModel([rk.AnswerFromKnowledge(query="return window")])
    agent = build_agent(Backend(), model, knowledge=source)
    result = await agent.handle("c", "how long to return?")
    assert (result.outcome, result.reply) == ("answered", "30 days.")
    assert result.citations == [Citation(doc_id="returns")]
    assert source.asked == [("return window", 3)]
    assert untimed(result.trace, "knowledge") == [
        {"query": "return window", "answerable": True, "score": 0.9, "hits": 1}
    ]


async def test_an_unanswerable_question_at_a_confirmation_keeps_the_confirmation_open() -> None:
    backend = Backend()
    agent = build_agent(backend, always_yes(), knowledge=Recorder())
    await agent.handle("c", START)
    result = await agent.handle("c", "can I pay with bitcoin?")
    assert result.reply == (
        "I couldn't find a reliable answer to that. Now, back to your request: "
        "Cancel order W1234567?"
    )
    assert (result.outcome, result.pending) == ("awaiting_customer", "confirm")
    assert backend.writes == []


async def test_an_unanswerable_question_with_no_intents_asks_for_more() -> None:
    model = rk.ScriptedModel([rk.AnswerFromKnowledge(query="bitcoin")])
    agent: rk.Agent[None] = rk.Agent(
        name="faq", model=model, store="memory://", knowledge=Recorder(), handoff=[]
    )
    result = await agent.handle("c", "bitcoin?")
    assert result.reply == (
        "I couldn't find a reliable answer to that. "
        "Could you tell me a bit more about what you need?"
    )
    assert result.outcome == "awaiting_customer"


@pytest.mark.parametrize(
    ("intents", "listed"),
    [
        (["CancelOrder"], "cancel order"),
        (
            ["CancelOrder", "OrderStatus", "TrackParcel"],
            "cancel order, order status or track parcel",
        ),
    ],
)
async def test_an_off_topic_question_lists_what_the_agent_can_do(
    intents: list[str], listed: str
) -> None:
    model = rk.ScriptedModel([rk.AnswerFromKnowledge(query="bitcoin")])
    agent = build_agent(Backend(), model, knowledge=Recorder())
    for name in list(agent.intents):
        if name not in intents:
            del agent.intents[name]

    class TrackParcel(rk.Intent):
        """Track a parcel."""

    if "TrackParcel" in intents:

        @agent.playbook(TrackParcel)
        async def track(ctx: rk.Context[Backend], intent: TrackParcel) -> rk.PlaybookOutcome:
            return ctx.resolve("on its way")

    result = await agent.handle("c", "bitcoin?")
    assert result.reply == (
        "I couldn't find a reliable answer to that. "
        f"Here is what I can help with: {listed}. What would you like to do?"
    )


async def test_the_list_of_what_the_agent_can_do_reads_well_with_verb_titles() -> None:
    # Titles are often verb phrases ("cancel an order", docs/playbooks.md): "I can help you
    # with cancel an order" is not English; the list must read with either kind of title.
    model = rk.ScriptedModel([rk.AnswerFromKnowledge(query="bitcoin")])
    agent = build_agent(Backend(), model, knowledge=Recorder())
    for name in list(agent.intents):
        if name != "CancelOrder":
            del agent.intents[name]
    cancel = agent.intents["CancelOrder"]
    before = cancel.intent_title
    cancel.intent_title = "cancel an order"
    try:
        result = await agent.handle("c", "bitcoin?")
    finally:
        cancel.intent_title = before
    assert "help you with cancel" not in result.reply
    assert result.reply.endswith(
        "Here is what I can help with: cancel an order. What would you like to do?"
    )


async def test_a_good_answer_resets_the_clarification_count() -> None:
    unclear = rk.AskClarification(text="Which one?")
    answer = rk.AnswerFromKnowledge(query="return window")
    model = rk.ScriptedModel([unclear, unclear, answer, unclear, unclear])
    agent = build_agent(
        Backend(),
        model,
        knowledge=Recorder(),
        escalation=rk.EscalationPolicy(max_clarifications=2),
    )
    for text in ("a", "b", "returns?", "c", "d"):
        result = await agent.handle("c", text)
        assert result.outcome != "escalated", text


async def test_a_clarification_offers_the_options_in_words() -> None:
    model = rk.ScriptedModel([rk.AskClarification(text="Which one?", options=["CancelOrder"])])
    result = await build_agent(Backend(), model).handle("c", "hmm")
    assert result.reply == "Which one? Did you mean cancel order?"


# -- free mode -------------------------------------------------------------------------------


def free_agent(steps: list[Any], **options: Any) -> tuple[rk.Agent[Backend], Backend]:
    backend = Backend()
    agent = build_agent(backend, rk.ScriptedModel(steps), free_mode=True, **options)
    return agent, backend


async def test_free_mode_runs_exactly_its_step_budget_of_calls() -> None:
    reads: list[str] = []
    steps = [rk.CallTool(tool="lookup", args={"order_id": "W1234567"})] * 4
    agent, _ = free_agent(steps, max_steps=3)

    @agent.tool(effect="read")
    def lookup(order_id: str) -> str:
        """Look up."""
        reads.append(order_id)
        return "pending"

    result = await agent.handle("c", "status?")
    assert result.outcome == "escalated" and len(reads) == 3
    assert result.handoff is not None
    assert result.handoff.reason == "step budget of 3 tool calls exhausted"


async def test_a_free_mode_write_is_confirmed_by_the_engine_in_the_journal() -> None:
    steps = [
        rk.CallTool(
            tool="cancel_order", args={"order_id": "W1234567", "reason": "ordered by mistake"}
        ),
        rk.Confirm(answer="yes"),
        rk.Reply(text="Cancelled."),
    ]
    agent, backend = free_agent(steps)
    asked = await agent.handle("c", "cancel W1234567")
    question = (
        "To confirm: Cancel a pending order (order id: W1234567, reason: ordered by mistake). "
        "Shall I go ahead?"
    )
    assert (asked.reply, asked.outcome, asked.pending) == (
        question,
        "awaiting_customer",
        "tool_confirm",
    )
    conversation = await agent.store.open_conversation("c")
    assert conversation is not None and conversation.pending is not None
    assert conversation.pending.run_id == FREE_RUN
    free = conversation.run(FREE_RUN)
    assert free is not None and free.status == "free"
    (step,) = free.journal
    assert (step.index, step.kind, step.key, step.status) == (0, "confirm", question, "pending")
    done = await agent.handle("c", "yes")
    assert done.reply == "Cancelled." and backend.writes == [("cancel", "W1234567")]
    conversation = await agent.store.open_conversation("c")
    assert conversation is not None
    free = conversation.run(FREE_RUN)
    assert free is not None
    assert [(s.index, s.kind, s.status) for s in free.journal] == [
        (0, "confirm", "done"),
        (1, "call", "done"),
    ]


async def test_a_free_mode_confirmation_quotes_the_description_without_its_period() -> None:
    agent, _ = free_agent([rk.CallTool(tool="wipe", args={})])

    @agent.tool(effect="write", confirm=True, description="Reset the XBOX.")
    def wipe() -> str:
        return "ok"

    asked = await agent.handle("c", "reset it")
    assert asked.reply == "To confirm: Reset the XBOX (). Shall I go ahead?"


async def test_a_free_mode_result_is_in_the_transcript_for_the_model() -> None:
    steps = [
        rk.CallTool(tool="get_order", args={"order_id": "W1234567"}),
        rk.CallTool(tool="get_order", args={"order_id": "W0000000"}),
        rk.Reply(text="Done."),
    ]
    agent, _ = free_agent(steps)
    await agent.handle("c", "status?", channel="email")
    conversation = await agent.store.open_conversation("c")
    assert conversation is not None
    tool_lines = [m for m in conversation.transcript if m.role == "tool"]
    assert [(m.channel, m.tool_call) for m in tool_lines] == [
        ("email", {"name": "get_order", "args": {"order_id": "W1234567"}}),
        ("email", {"name": "get_order", "args": {"order_id": "W0000000"}}),
    ]
    assert json.loads(tool_lines[0].text) == Order(
        id="W1234567", status="pending", items=["lamp"]
    ).model_dump(mode="json")
    assert json.loads(tool_lines[1].text) == {
        "tool": "get_order",
        "kind": "refused",
        "message": "no order W0000000",
    }


async def test_a_free_mode_handoff_is_not_about_an_intent() -> None:
    steps = [rk.CallTool(tool="get_order", args={"order_id": "W1234567"}), rk.Escalate(reason="x")]
    agent, _ = free_agent(steps)
    result = await agent.handle("c", "status?")
    assert result.handoff is not None
    assert (result.handoff.intent, result.handoff.slots) == (None, {})


# -- failures and closing --------------------------------------------------------------------


async def test_a_crashing_playbook_fails_its_run_and_hands_over_urgently() -> None:
    class Boom(rk.Intent):
        """Crash."""

    agent = build_agent(Backend(), rk.ScriptedModel([rk.StartIntent(intent="Boom")]), handoff=[])

    @agent.playbook(Boom)
    async def boom(ctx: rk.Context[Backend], intent: Boom) -> rk.PlaybookOutcome:
        raise ValueError("bad data")

    result = await agent.handle("c", "boom")
    assert result.handoff is not None
    assert (result.handoff.reason, result.handoff.priority) == (
        "playbook Boom crashed: ValueError: bad data",
        "high",
    )
    conversation = await agent.store.get(result.conversation_id)
    assert conversation is not None and conversation.runs[0].status == "failed"


async def test_closing_cancels_the_request_being_collected() -> None:
    model = rk.ScriptedModel(
        [
            rk.StartIntent(intent="CancelOrder", slots={"order_id": "W1234567"}),
            rk.Reply(text="Bye!", close=True),
        ]
    )
    agent = build_agent(Backend(), model)
    assert (await agent.handle("c", "cancel W1234567")).pending == "slot"
    bye = await agent.handle("c", "never mind, bye")
    assert (bye.reply, bye.pending) == ("Bye!", None)
    conversation = await agent.store.get(bye.conversation_id)
    assert conversation is not None and conversation.status == "closed"
    assert [(r.intent, r.status) for r in conversation.runs] == [("CancelOrder", "cancelled")]
    assert conversation.pending is None


async def test_closing_cancels_a_suspended_request() -> None:
    model = rk.ScriptedModel(
        [
            rk.StartIntent(intent="CancelOrder", slots={"order_id": "W1234567"}),
            rk.StartIntent(intent="OrderStatus", slots={}),
            rk.Reply(text="Bye!", close=True),
        ]
    )
    agent = build_agent(Backend(), model)
    await agent.handle("c", "cancel W1234567")
    asked = await agent.handle("c", "actually where is it?")
    assert asked.pending == "resume"
    bye = await agent.handle("c", "no, bye")
    assert (bye.reply, bye.pending) == ("Bye!", None)
    conversation = await agent.store.get(bye.conversation_id)
    assert conversation is not None
    assert [(r.intent, r.status) for r in conversation.runs] == [
        ("CancelOrder", "cancelled"),
        ("OrderStatus", "resolved"),
    ]
    assert conversation.pending is None


async def test_closing_keeps_finished_requests_as_they_ended() -> None:
    model = rk.ScriptedModel(
        [
            rk.StartIntent(intent="OrderStatus", slots={"order_id": "W1234567"}),
            rk.Reply(text="Bye!", close=True),
        ]
    )
    agent = build_agent(Backend(), model)
    await agent.handle("c", "where is W1234567")
    bye = await agent.handle("c", "bye")
    conversation = await agent.store.get(bye.conversation_id)
    assert conversation is not None
    assert [r.status for r in conversation.runs] == ["resolved"]


# -- the audit trail of a turn ---------------------------------------------------------------


async def test_a_confirmation_is_traced_with_both_readings() -> None:
    backend = Backend()
    agent = build_agent(backend, always_yes())
    asked = await agent.handle("c", START)
    done = await agent.handle("c", "yes please")
    (event,) = [e.data for e in done.trace if e.kind == "confirm"]
    assert event == {
        "kind": "confirm",
        "question": "Cancel order W1234567?",
        "question_id": asked.question_id,
        "model": "yes",
        "reader": "yes",
        "reason": "consent",
        "cue": "yes",
        "answer": "yes",
    }


async def test_a_stale_answer_is_traced_and_waits_for_the_customer() -> None:
    agent = build_agent(Backend(), always_yes())
    asked = await agent.handle("c", START)
    stale = await agent.handle("c", "yes", reply_to="q-old")
    assert (stale.outcome, stale.pending) == ("awaiting_customer", "confirm")
    assert [e.data for e in stale.trace if e.kind == "confirm"] == [
        {"event": "stale", "answers": "q-old", "open": asked.question_id}
    ]


async def test_an_escalation_is_traced_with_its_reason_and_priority() -> None:
    model = rk.ScriptedModel([rk.Escalate(reason="legal threat", priority="urgent")])
    result = await build_agent(Backend(), model).handle("c", "I'll sue")
    assert untimed(result.trace, "escalation") == [{"reason": "legal threat", "priority": "urgent"}]


class Summarizer(rk.FunctionModel):
    capabilities = frozenset({"summarize"})


async def test_the_summary_request_allows_only_a_reply_about_no_open_question() -> None:
    seen: list[rk.ModelRequest] = []

    def decide(request: rk.ModelRequest) -> Any:
        if request.task == "summarize":
            seen.append(request)
            return rk.Reply(text="  Customer wants a manager.  ")
        if request.pending is None:
            return rk.StartIntent(intent="CancelOrder", slots={"order_id": "W1234567"})
        return rk.Escalate(reason="needs approval")

    agent = build_agent(Backend(), Summarizer(decide), handoff=[])
    await agent.handle("c", "cancel W1234567")
    result = await agent.handle("c", "get me a manager")
    (request,) = seen
    assert request.allowed == frozenset({"reply"})
    assert (request.pending, request.retry_error) == (None, None)
    assert result.handoff is not None
    assert result.handoff.summary == (
        "Customer wants a manager. Handed over because: needs approval."
    )
    assert result.handoff.pending_action == "Why do you want to cancel?"


@pytest.mark.parametrize("answer", ["raise", "blank", "not a reply"])
async def test_a_failed_summary_falls_back_to_the_engines_own(answer: str) -> None:
    def decide(request: rk.ModelRequest) -> Any:
        if request.task == "summarize":
            if answer == "raise":
                raise ConnectionError("model down")
            return rk.Reply(text="   ") if answer == "blank" else rk.Escalate(reason="?")
        return rk.Escalate(reason="needs approval")

    result = await build_agent(Backend(), Summarizer(decide)).handle("c", "refund me twice")
    assert result.handoff is not None
    assert result.handoff.summary == (
        "Customer c on chat, 1 message(s). No request identified. "
        "Handed over because: needs approval."
    )
    failures = [e.data for e in result.trace if e.kind == "model" and "task" in e.data]
    if answer == "raise":
        assert failures == [{"task": "summarize", "error": "ConnectionError: model down"}]
    else:
        assert failures == []


async def test_a_handoff_carries_the_models_confidence() -> None:
    def decide(request: rk.ModelRequest) -> rk.ModelResponse:
        return rk.ModelResponse(decision=rk.Escalate(reason="unsure"), confidence=0.42)

    result = await build_agent(Backend(), rk.FunctionModel(decide)).handle("c", "hmm")
    assert result.handoff is not None and result.handoff.confidence == 0.42


# -- playbook runs, confirmations and resumes ------------------------------------------------


@pytest.mark.parametrize(("parked", "event"), [(10, "resume"), (0, "replay")])
async def test_a_run_is_traced_as_a_first_run_then_as_a_resume_or_a_replay(
    parked: int, event: str
) -> None:
    """A parked playbook is resumed where it waits; without parking it is replayed."""
    agent = build_agent(Backend(), always_yes(), parked_playbooks=parked)
    first = await agent.handle("c", START)
    done = await agent.handle("c", "yes")
    runs = [e.data for e in first.trace if e.kind == "playbook" and e.data.get("event") == "run"]
    assert runs == [{"event": "run", "intent": "CancelOrder", "steps": 0}]
    later = [e.data for e in done.trace if e.data.get("event") in ("replay", "resume")]
    assert later == [{"event": event, "intent": "CancelOrder", "steps": 2}]


async def test_a_playbook_that_returns_nothing_is_resolved() -> None:
    class Wave(rk.Intent):
        """Wave."""

    agent = build_agent(Backend(), rk.ScriptedModel([rk.StartIntent(intent="Wave")]))

    @agent.playbook(Wave)
    async def wave(ctx: rk.Context[Backend], intent: Wave) -> None:
        ctx.say("👋")

    result = await agent.handle("c", "wave")
    assert (result.outcome, result.reply) == ("resolved", "👋\nWave completed")


async def test_an_uncaught_tool_error_is_the_turns_error() -> None:
    model = rk.ScriptedModel([rk.StartIntent(intent="OrderStatus", slots={"order_id": "W0000000"})])
    result = await build_agent(Backend(), model, handoff=[]).handle("c", "where is W0000000")
    assert isinstance(result.error, rk.ToolError)
    assert result.handoff is not None
    assert result.handoff.reason == "get_order failed (refused): no order W0000000"
    assert result.handoff.error == (
        "ToolError: Tool 'get_order' failed (refused): no order W0000000"
    )


async def test_a_playbook_error_is_handed_over_with_its_message() -> None:
    model = rk.ScriptedModel(
        [
            rk.StartIntent(intent="CancelOrder", slots={"order_id": "W1234567"}),
            rk.FillSlots(slots={"reason": "no longer needed"}),
        ]
    )
    agent = build_agent(Backend(), model, handoff=[])

    async def cancel(ctx: rk.Context[Backend], intent: Any) -> rk.PlaybookOutcome:
        await ctx.call(agent.tools["cancel_order"], order_id="W1234567", reason="no longer needed")
        return ctx.resolve("?")

    agent.playbooks["CancelOrder"] = cancel  # a playbook that forgot to ask

    await agent.handle("c", "cancel W1234567")
    result = await agent.handle("c", "no longer needed")
    assert isinstance(result.error, rk.UnconfirmedWrite)
    assert result.handoff is not None and result.handoff.reason == str(result.error)


async def test_the_consent_evidence_says_how_the_answer_was_read() -> None:
    agent = build_agent(Backend(), always_yes())
    await agent.handle("c", START)
    before = time.time()
    await agent.handle("c", "yes please")
    conversation = await agent.store.open_conversation("c")
    assert conversation is not None
    confirm = next(s for s in conversation.runs[0].journal if s.kind == "confirm")
    assert confirm.evidence is not None
    assert (confirm.evidence["reason"], confirm.evidence["answer"]) == ("consent", "yes")
    assert before <= confirm.evidence["at"] <= time.time()


async def test_a_confirmation_answer_resets_the_clarification_count() -> None:
    unclear = rk.AskClarification(text="Sorry?")
    model = rk.ScriptedModel(
        [
            rk.StartIntent(intent="OrderStatus", slots={"order_id": "W1234567"}),
            unclear,
            unclear,
            rk.StartIntent(
                intent="CancelOrder", slots={"order_id": "W1234567", "reason": "ordered by mistake"}
            ),
            rk.Confirm(answer="no"),
            unclear,
            unclear,
        ]
    )
    agent = build_agent(Backend(), model, escalation=rk.EscalationPolicy(max_clarifications=2))
    for text in ("where is W1234567", "a", "b", "cancel it", "no", "c", "d"):
        result = await agent.handle("c", text)
        assert result.outcome != "escalated", text


async def test_a_queued_request_takes_what_the_customer_said_since() -> None:
    backend = Backend()
    model = rk.ScriptedModel(
        [
            rk.StartIntent(
                intent="OrderStatus",
                slots={"order_id": "W1234567"},
                then=[rk.StartIntent(intent="CancelOrder", slots={})],
            ),
            rk.Confirm(answer="yes"),
            rk.FillSlots(slots={"reason": "ordered by mistake"}),
            rk.Confirm(answer="yes"),
        ]
    )
    agent = build_agent(backend, model)
    await agent.handle("c", "where is W1234567, and cancel it")
    second = await agent.handle("c", "yes")
    assert (second.outcome, second.reply) == ("awaiting_customer", "Why do you want to cancel?")
    assert second.slots == {"order_id": "W1234567"}
    conversation = await agent.store.open_conversation("c")
    assert conversation is not None
    queued = [r for r in conversation.runs if r.intent == "CancelOrder"]
    assert [(r.status, r.queued) for r in queued] == [("collecting", False)]
    await agent.handle("c", "by mistake")
    done = await agent.handle("c", "yes")
    assert (done.outcome, done.reply) == ("resolved", "Order W1234567 cancelled")
    assert backend.writes == [("cancel", "W1234567")]


async def test_declining_to_go_back_drops_the_request() -> None:
    model = rk.ScriptedModel(
        [
            rk.StartIntent(
                intent="OrderStatus",
                slots={"order_id": "W1234567"},
                then=[rk.StartIntent(intent="CancelOrder", slots={})],
            ),
            rk.Confirm(answer="no"),
        ]
    )
    agent = build_agent(Backend(), model)
    await agent.handle("c", "where is W1234567, and cancel it")
    dropped = await agent.handle("c", "no")
    assert (dropped.outcome, dropped.reply) == ("replied", "OK, I've dropped that request.")


async def test_declining_a_free_mode_write_is_a_reply() -> None:
    steps = [
        rk.CallTool(
            tool="cancel_order", args={"order_id": "W1234567", "reason": "ordered by mistake"}
        ),
        rk.Confirm(answer="no"),
    ]
    agent, backend = free_agent(steps)
    await agent.handle("c", "cancel W1234567")
    declined = await agent.handle("c", "no")
    assert (declined.outcome, declined.pending) == ("replied", None)
    assert declined.reply == "OK, I haven't done that. Is there anything else I can help with?"
    assert backend.writes == []


async def test_a_free_mode_confirmation_after_compaction_confirms_the_right_step() -> None:
    from resolvekit.engine.bookkeeping import KEEP_STEPS

    store = MemoryStore()  # it keeps an archive, so the engine compacts its rows
    steps = [
        rk.Reply(text="Hello."),
        rk.Reply(text="Hello again."),
        rk.CallTool(
            tool="cancel_order", args={"order_id": "W1234567", "reason": "ordered by mistake"}
        ),
        rk.Confirm(answer="yes"),
        rk.Reply(text="Cancelled."),
    ]
    agent, backend = free_agent(steps, store=store)
    await agent.handle("c", "hi")
    conversation = await store.open_conversation("c")
    assert conversation is not None
    free = PlaybookRun(id=FREE_RUN, intent=FREE_RUN, status="free")
    free.journal = [Step(index=i, kind="call", key="get_order") for i in range(2 * KEEP_STEPS)]
    conversation.runs.append(free)
    await store.save(conversation)
    await agent.handle("c", "hello again")  # the turn compacts the old steps
    conversation = await store.open_conversation("c")
    assert conversation is not None
    assert conversation.run(FREE_RUN).base == KEEP_STEPS  # type: ignore[union-attr]
    asked = await agent.handle("c", "cancel W1234567")
    assert asked.pending == "tool_confirm"
    done = await agent.handle("c", "yes")
    assert (done.reply, done.error) == ("Cancelled.", None)
    assert backend.writes == [("cancel", "W1234567")]


async def test_a_slot_value_that_is_not_json_is_stored_as_text() -> None:
    import datetime

    class Book(rk.Intent):
        """Book a day."""

        day: datetime.date = rk.Slot(ask="Which day?")

    agent = build_agent(
        Backend(), rk.ScriptedModel([rk.StartIntent(intent="Book", slots={"day": "2026-12-24"})])
    )

    @agent.playbook(Book)
    async def book(ctx: rk.Context[Backend], intent: Book) -> rk.PlaybookOutcome:
        return ctx.resolve(f"booked {intent.day:%d %B}")

    result = await agent.handle("c", "book the 24th")
    assert (result.reply, result.slots) == ("booked 24 December", {"day": "2026-12-24"})


async def test_starting_the_same_request_again_fills_it() -> None:
    model = rk.ScriptedModel(
        [
            rk.StartIntent(intent="CancelOrder", slots={"order_id": "W1234567"}),
            rk.StartIntent(intent="CancelOrder", slots={"reason": "ordered by mistake"}),
        ]
    )
    agent = build_agent(Backend(), model)
    await agent.handle("c", "cancel W1234567")
    again = await agent.handle("c", "cancel it, I ordered it by mistake")
    assert (again.reply, again.pending) == ("Cancel order W1234567?", "confirm")


async def test_starting_a_request_resets_the_clarification_count() -> None:
    unclear = rk.AskClarification(text="Sorry?")
    model = rk.ScriptedModel(
        [
            unclear,
            unclear,
            rk.StartIntent(intent="OrderStatus", slots={"order_id": "W1234567"}),
            unclear,
            unclear,
        ]
    )
    agent = build_agent(Backend(), model, escalation=rk.EscalationPolicy(max_clarifications=2))
    for text in ("a", "b", "where is W1234567", "c", "d"):
        result = await agent.handle("c", text)
        assert result.outcome != "escalated", text


async def test_a_resolved_request_resets_the_tool_failure_count() -> None:
    model = rk.ScriptedModel(
        [
            rk.StartIntent(intent="OrderStatus", slots={"order_id": "W0000000"}),
            rk.StartIntent(intent="OrderStatus", slots={"order_id": "W1234567"}),
        ]
    )
    agent = build_agent(
        Backend(), model, escalation=rk.EscalationPolicy(max_tool_failures=2), handoff=[]
    )
    first = await agent.handle("c", "where is W0000000")  # fails: one tool failure
    assert first.outcome == "escalated"
    conversation = await agent.store.get(first.conversation_id)
    assert conversation is not None
    conversation.status, conversation.handoff = "open", None  # a human gives it back
    await agent.store.save(conversation)
    assert (await agent.handle("c", "where is W1234567")).outcome == "resolved"
    conversation = await agent.store.get(first.conversation_id)
    assert conversation is not None and conversation.counters["tool_failures"] == 0


async def test_two_requests_of_the_same_kind_in_one_message_are_two_runs() -> None:
    backend = Backend()
    model = rk.ScriptedModel(
        [
            rk.StartIntent(
                intent="CancelOrder",
                slots={"order_id": "W1234567", "reason": "ordered by mistake"},
                then=[
                    rk.StartIntent(
                        intent="CancelOrder",
                        slots={"order_id": "W7654321", "reason": "no longer needed"},
                    )
                ],
            ),
            rk.Confirm(answer="yes"),
            rk.Confirm(answer="yes"),
            rk.Confirm(answer="yes"),
        ]
    )
    agent = build_agent(backend, model)
    first = await agent.handle("c", "cancel W1234567 and W7654321")
    assert first.reply == "Cancel order W1234567?"
    trace = [e.data for e in first.trace if e.kind == "playbook"]
    queued, started = trace[0], trace[1]
    assert (queued["event"], queued["intent"]) == ("queued", "CancelOrder")
    assert (started["event"], started["intent"]) == ("start", "CancelOrder")
    assert queued["run"] != started["run"] and all(isinstance(e["run"], str) for e in trace[:2])
    done = await agent.handle("c", "yes")
    assert done.reply == (
        "Order W1234567 cancelled\n"
        "You also asked about something else (cancel order). Shall we do that now?"
    )
    assert (await agent.handle("c", "yes")).reply == "Cancel order W7654321?"
    assert (await agent.handle("c", "yes")).reply == "Order W7654321 cancelled"
    assert backend.writes == [("cancel", "W1234567"), ("cancel", "W7654321")]


async def test_a_queued_request_reads_the_message_that_asked_for_it() -> None:
    class Note(rk.Intent):
        """Take a note."""

    seen: list[str] = []
    model = rk.ScriptedModel(
        [
            rk.StartIntent(
                intent="OrderStatus",
                slots={"order_id": "W1234567"},
                then=[rk.StartIntent(intent="Note")],
            ),
            rk.Confirm(answer="yes"),
        ]
    )
    agent = build_agent(Backend(), model)

    @agent.playbook(Note)
    async def note(ctx: rk.Context[Backend], intent: Note) -> rk.PlaybookOutcome:
        seen.append(ctx.request_text)
        return ctx.resolve("noted")

    await agent.handle("c", "where is W1234567, and note that I moved")
    await agent.handle("c", "yes")
    assert seen == ["where is W1234567, and note that I moved"]


async def test_switching_requests_is_traced() -> None:
    model = rk.ScriptedModel(
        [
            rk.StartIntent(intent="CancelOrder", slots={"order_id": "W1234567"}),
            rk.StartIntent(intent="OrderStatus", slots={"order_id": "W7654321"}),
        ]
    )
    agent = build_agent(Backend(), model)
    first = await agent.handle("c", "cancel W1234567")
    (started,) = [e.data for e in first.trace if e.data.get("event") == "start"]
    switched = await agent.handle("c", "where is W7654321?")
    events = [e.data for e in switched.trace if e.kind == "playbook"]
    assert events[0] == {"event": "suspended", "intent": "CancelOrder", "run": started["run"]}
    assert (events[1]["event"], events[1]["intent"]) == ("start", "OrderStatus")
    assert switched.reply.endswith("Shall we go back to your earlier request (cancel order)?")


async def test_every_remembered_value_is_reused_not_only_the_first() -> None:
    class Contact(rk.Intent):
        """Update contact details."""

        email: str = rk.Slot(ask="Email?")
        phone: str = rk.Slot(ask="Phone?")
        city: str = rk.Slot(ask="City?")

    model = rk.ScriptedModel(
        [
            rk.StartIntent(
                intent="Contact", slots={"email": "a@example.com", "phone": "1", "city": "Oslo"}
            ),
            rk.StartIntent(intent="Contact", slots={"email": "b@example.com"}),
        ]
    )
    agent = build_agent(Backend(), model)

    @agent.playbook(Contact)
    async def contact(ctx: rk.Context[Backend], intent: Contact) -> rk.PlaybookOutcome:
        return ctx.resolve(f"{intent.email} {intent.phone} {intent.city}")

    await agent.handle("c", "update my contact")
    again = await agent.handle("c", "change my email to b@example.com")
    assert again.reply == "b@example.com 1 Oslo"
    reused = [e.data for e in again.trace if e.kind == "slot" and e.data["event"] == "reused"]
    assert reused == [
        {"event": "reused", "slot": "phone", "value": "1"},
        {"event": "reused", "slot": "city", "value": "Oslo"},
    ]


async def test_an_id_used_up_does_not_stop_other_values_being_reused() -> None:
    class Refund(rk.Intent):
        """Refund a charge."""

        charge_id: str = rk.Slot(pattern=r"CH\d{4}", ask="Which charge?")
        note: str = rk.Slot(ask="Any note?")

    model = rk.ScriptedModel(
        [
            rk.StartIntent(intent="Refund", slots={"charge_id": "CH1001", "note": "late"}),
            rk.StartIntent(intent="Refund", slots={}),
        ]
    )
    agent = build_agent(Backend(), model)

    @agent.playbook(Refund)
    async def refund(ctx: rk.Context[Backend], intent: Refund) -> rk.PlaybookOutcome:
        return ctx.resolve(f"refunded {intent.charge_id}")

    await agent.handle("c", "refund CH1001, it was late")
    again = await agent.handle("c", "I want another refund")
    assert (again.reply, again.slots) == ("Which charge?", {"note": "late"})


# -- slot validation -------------------------------------------------------------------------


async def test_each_slot_is_validated_on_its_own_and_traced() -> None:
    model = rk.ScriptedModel(
        [
            rk.StartIntent(
                intent="CancelOrder", slots={"order_id": "12345", "reason": "ordered by mistake"}
            )
        ]
    )
    result = await build_agent(Backend(), model).handle("c", "cancel 12345, by mistake")
    assert result.slots == {"reason": "ordered by mistake"}
    assert result.reply == "That doesn't look like a valid order id. What is the order number?"
    slot_events = [e.data for e in result.trace if e.kind == "slot"]
    assert slot_events == [
        {
            "event": "invalid",
            "slot": "order_id",
            "value": "12345",
            "error": "That doesn't look like a valid order id.",
        },
        {"event": "set", "slot": "reason", "value": "ordered by mistake"},
    ]


class Transfer(rk.Intent):
    """Move money between two accounts."""

    source: str = rk.Slot(ask="From which account?")
    target: str = rk.Slot(ask="To which account?")

    @field_validator("target")
    @classmethod
    def _differs(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("source") == value:
            raise ValueError("must differ from the source account")
        return value


async def test_a_slot_that_fails_with_the_others_is_asked_again() -> None:
    model = rk.ScriptedModel(
        [
            rk.StartIntent(intent="Transfer", slots={"source": "A1", "target": "A1"}),
            rk.FillSlots(slots={"target": "B2"}),
        ]
    )
    agent = build_agent(Backend(), model)

    @agent.playbook(Transfer)
    async def transfer(ctx: rk.Context[Backend], intent: Transfer) -> rk.PlaybookOutcome:
        return ctx.resolve(f"moved from {intent.source} to {intent.target}")

    asked = await agent.handle("c", "move money from A1 to A1")
    assert (asked.pending, asked.slots) == ("slot", {"source": "A1"})
    assert asked.reply.endswith("To which account?")
    assert "must differ from the source account" in asked.reply
    assert (await agent.handle("c", "B2")).reply == "moved from A1 to B2"


class Window(rk.Intent):
    """Book a delivery window."""

    start: int = rk.Slot(ask="From when?")
    end: int = rk.Slot(ask="Until when?")

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.end <= self.start:
            raise ValueError("the window ends before it starts")
        return self


async def test_an_intent_that_fails_as_a_whole_is_a_developer_error() -> None:
    model = rk.ScriptedModel([rk.StartIntent(intent="Window", slots={"start": 9, "end": 8})])
    agent = build_agent(Backend(), model)

    @agent.playbook(Window)
    async def window(ctx: rk.Context[Backend], intent: Window) -> rk.PlaybookOutcome:
        return ctx.resolve("booked")

    with pytest.raises(rk.UserError, match="Intent Window does not validate"):
        await agent.handle("c", "deliver between 9 and 8")


# -- deciding --------------------------------------------------------------------------------


def unsure_between(confidence: float, *names: str) -> rk.FunctionModel:
    def decide(request: rk.ModelRequest) -> rk.ModelResponse:
        return rk.ModelResponse(
            decision=rk.StartIntent(intent=names[0], slots={"order_id": "W1234567"}),
            confidence=confidence,
            alternatives=[(name, confidence) for name in names],
        )

    return rk.FunctionModel(decide)


async def test_a_decision_at_the_confidence_floor_is_acted_on() -> None:
    agent = build_agent(
        Backend(), unsure_between(0.35, "OrderStatus"), escalation=rk.EscalationPolicy()
    )
    result = await agent.handle("c", "where is W1234567")
    assert (result.outcome, result.reply) == ("resolved", "Order W1234567 is pending")


class Alpha(rk.Intent):
    """A third request."""


class Beta(rk.Intent):
    """A fourth request."""


async def test_at_most_three_requests_are_offered() -> None:
    model = unsure_between(0.2, "OrderStatus", "CancelOrder", "Alpha", "Beta")
    agent = build_agent(Backend(), model)

    async def done(ctx: rk.Context[Backend], intent: Any) -> rk.PlaybookOutcome:
        return ctx.resolve("done")

    agent.playbook(Alpha)(done)
    agent.playbook(Beta)(done)
    result = await agent.handle("c", "hmm")
    assert result.reply == (
        "I want to make sure I help with the right thing. "
        "Did you mean order status, cancel order or alpha?"
    )


async def test_an_answer_to_go_back_that_gives_the_missing_value_goes_back() -> None:
    """ "Shall we go back to the cancellation?" - "ordered by mistake": yes, with the answer."""
    model = rk.ScriptedModel(
        [
            rk.StartIntent(intent="CancelOrder", slots={"order_id": "W1234567"}),
            rk.StartIntent(intent="OrderStatus", slots={"order_id": "W7654321"}),
            rk.FillSlots(slots={"reason": "ordered by mistake"}),
        ]
    )
    agent = build_agent(Backend(), model)
    await agent.handle("c", "cancel W1234567")
    offered = await agent.handle("c", "where is W7654321?")
    assert offered.pending == "resume"
    back = await agent.handle("c", "I ordered it by mistake")
    assert (back.reply, back.pending) == ("Cancel order W1234567?", "confirm")
    assert back.slots == {"order_id": "W1234567", "reason": "ordered by mistake"}


async def test_an_answer_to_do_a_queued_request_fills_it_with_what_is_known() -> None:
    model = rk.ScriptedModel(
        [
            rk.StartIntent(
                intent="OrderStatus",
                slots={"order_id": "W1234567"},
                then=[rk.StartIntent(intent="CancelOrder", slots={})],
            ),
            rk.FillSlots(slots={"reason": "ordered by mistake"}),
        ]
    )
    agent = build_agent(Backend(), model)
    offered = await agent.handle("c", "where is W1234567, and cancel it")
    assert offered.pending == "resume"
    back = await agent.handle("c", "cancel it, I ordered it by mistake")
    assert (back.reply, back.pending) == ("Cancel order W1234567?", "confirm")
    conversation = await agent.store.open_conversation("c")
    assert conversation is not None
    (cancel,) = [r for r in conversation.runs if r.intent == "CancelOrder"]
    assert (cancel.status, cancel.queued) == ("waiting", False)
    assert cancel.slots == {"order_id": "W1234567", "reason": "ordered by mistake"}


async def test_filling_a_slot_resets_the_clarification_count() -> None:
    unclear = rk.AskClarification(text="Sorry?")
    model = rk.ScriptedModel(
        [
            rk.StartIntent(intent="CancelOrder", slots={}),
            unclear,
            unclear,
            rk.FillSlots(slots={"order_id": "W1234567"}),
            unclear,
            unclear,
        ]
    )
    agent = build_agent(Backend(), model, escalation=rk.EscalationPolicy(max_clarifications=2))
    for text in ("cancel", "a", "b", "W1234567", "c", "d"):
        result = await agent.handle("c", text)
        assert result.outcome != "escalated", text


async def test_every_write_with_an_unknown_outcome_is_named_in_one_handoff() -> None:
    import asyncio

    class Both(rk.Intent):
        """Two writes."""

    agent = build_agent(Backend(), rk.ScriptedModel([rk.StartIntent(intent="Both")]), handoff=[])

    @agent.tool(effect="write", timeout=0.01)
    async def refund_card() -> str:
        await asyncio.sleep(1)
        return "late"

    @agent.tool(effect="write", timeout=0.01)
    async def email_receipt() -> str:
        await asyncio.sleep(1)
        return "late"

    @agent.playbook(Both)
    async def both(ctx: rk.Context[Backend], intent: Both) -> rk.PlaybookOutcome:
        await ctx.try_call(refund_card)
        await ctx.try_call(email_receipt)
        return ctx.resolve("done")

    result = await agent.handle("c", "refund and email me")
    assert result.handoff is not None
    assert result.handoff.reason == (
        "the outcome of email_receipt, refund_card is unknown after an interruption; check the "
        "system before doing it again"
    )
    assert result.handoff.priority == "high"


# -- the turn itself -------------------------------------------------------------------------


async def test_a_plain_reply_has_no_handoff_or_error_and_is_kept_on_its_channel() -> None:
    def decide(request: rk.ModelRequest) -> rk.ModelResponse:
        usage = rk.Usage(requests=1, prompt_tokens=12, completion_tokens=3)
        return rk.ModelResponse(decision=rk.Reply(text="Hello!"), usage=usage)

    agent = build_agent(Backend(), rk.FunctionModel(decide))
    result = await agent.handle("c", "hi", channel="email")
    assert (result.reply, result.outcome, result.handoff, result.error) == (
        "Hello!",
        "replied",
        None,
        None,
    )
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (12, 3)
    conversation = await agent.store.open_conversation("c")
    assert conversation is not None
    assert [(m.role, m.text, m.channel) for m in conversation.transcript] == [
        ("customer", "hi", "email"),
        ("agent", "Hello!", "email"),
    ]


async def test_a_message_while_a_human_has_the_conversation_returns_the_handoff() -> None:
    model = rk.ScriptedModel([rk.Escalate(reason="customer wants a manager")])
    agent = build_agent(Backend(), model, handoff=[])
    escalated = await agent.handle("c", "manager now")
    waiting = await agent.handle("c", "hello??")
    assert waiting.handoff is not None and escalated.handoff is not None
    assert waiting.handoff.resume_token == escalated.handoff.resume_token
    assert waiting.handoff.reason == "customer wants a manager"


async def test_a_question_answered_during_a_request_reports_that_request() -> None:
    backend = Backend()
    agent = build_agent(backend, always_yes(), knowledge=Recorder())
    await agent.handle("c", START)
    result = await agent.handle("c", "what is your return policy?")
    assert (result.outcome, result.intent) == ("answered", "CancelOrder")


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (rk.ModelTimeout("no answer in 30s"), "the model failed: no answer in 30s"),
        (
            rk.ToolError("kb", "timeout", "slow"),
            "engine error: Tool 'kb' failed (timeout): slow",
        ),
        (RuntimeError("index offline"), "internal error: RuntimeError: index offline"),
    ],
)
async def test_a_failing_turn_is_handed_over_urgently_with_the_reason(
    error: Exception, reason: str
) -> None:
    class Broken:
        async def answer(self, query: str, k: int = 3, *, model: Any = None) -> KnowledgeAnswer:
            raise error

    def decide(request: rk.ModelRequest) -> Any:
        if isinstance(error, rk.ModelError):
            raise error
        return rk.AnswerFromKnowledge(query="returns")

    agent = build_agent(Backend(), rk.FunctionModel(decide), knowledge=Broken(), handoff=[])
    result = await agent.handle("c", "how do returns work?")
    assert result.handoff is not None
    assert (result.handoff.reason, result.handoff.priority) == (reason, "high")
    assert result.error is error


async def test_an_engine_error_is_raised_when_asked_to() -> None:
    class Broken:
        async def answer(self, query: str, k: int = 3, *, model: Any = None) -> KnowledgeAnswer:
            raise rk.ToolError("kb", "timeout", "slow")

    model = rk.FunctionModel(lambda request: rk.AnswerFromKnowledge(query="returns"))
    agent = build_agent(Backend(), model, knowledge=Broken(), raise_errors=True)
    with pytest.raises(rk.ToolError):
        await agent.handle("c", "how do returns work?")


@pytest.mark.parametrize("free_calls_before", [False, True])
async def test_a_redelivery_after_a_crash_before_anything_happened_is_handled_normally(
    free_calls_before: bool,
) -> None:
    calls = {"n": 0}

    def decide(request: rk.ModelRequest) -> Any:
        calls["n"] += 1
        if request.text == "status?":
            if request.messages[-1].role == "tool":
                return rk.Reply(text="Pending.")
            return rk.CallTool(tool="get_order", args={"order_id": "W1234567"})
        if calls["n"] == (4 if free_calls_before else 1):
            raise Crash  # the process dies while the model thinks
        return rk.Reply(text="Hello!")

    store = FreezingStore()
    agent = build_agent(Backend(), rk.FunctionModel(decide), store=store, free_mode=True)
    if free_calls_before:
        assert (await agent.handle("c", "status?")).reply == "Pending."
        calls["n"] = 3
    with pytest.raises(Crash):
        await agent.handle("c", "hi", message_id="m-1")
    again = await agent.handle("c", "hi", message_id="m-1")
    assert (again.reply, again.duplicate) == ("Hello!", False)


async def test_a_redelivered_yes_finishes_the_playbook_without_asking_the_model_again() -> None:
    """The customer's yes was acted on before the crash: its redelivery finishes that work and
    reads nothing again, even when the conversation has free-mode calls of its own."""
    backend, store = Backend(), FreezingStore()
    asked: list[str] = []

    def decide(request: rk.ModelRequest) -> Any:
        asked.append(request.text)
        if request.pending is not None:
            return rk.Confirm(answer="yes")
        if request.messages[-1].role == "tool":
            return rk.Reply(text="Looked it up.")
        if "check" in request.text:
            return rk.CallTool(tool="lookup", args={"order_id": "W1234567"})
        return rk.StartIntent(
            intent="Cancel", slots={"order_id": "W1234567", "reason": "ordered by mistake"}
        )

    def shop(crash: list[bool]) -> rk.Agent[Backend]:
        agent = crashing_shop(
            backend,
            store,
            rk.FunctionModel(decide),
            idempotent=True,
            crash_after_commit=crash,
            free_mode=True,
        )

        @agent.tool(effect="read")
        def lookup(order_id: str) -> str:
            """Look an order up."""
            return "pending"

        return agent

    agent = shop([True])
    assert (await agent.handle("c", "check W1234567")).reply == "Looked it up."
    await agent.handle("c", START)
    with pytest.raises(Crash):
        await agent.handle("c", "yes", message_id="y")
    store.frozen = False
    asked.clear()
    again = await shop([]).handle("c", "yes", message_id="y")
    assert (again.outcome, again.reply) == ("resolved", "Order W1234567 cancelled")
    assert asked == []
    assert backend.writes == [("cancel", "W1234567")]


async def test_a_recovered_playbook_that_asks_again_leaves_the_new_message_unread() -> None:
    backend, store = Backend(), FreezingStore()
    model_calls: list[str] = []

    def decide(request: rk.ModelRequest) -> Any:
        model_calls.append(request.text)
        if request.pending is not None:
            return rk.Confirm(answer="yes")
        return rk.StartIntent(
            intent="Cancel", slots={"order_id": "W1234567", "reason": "ordered by mistake"}
        )

    def shop(crash: list[bool]) -> rk.Agent[Backend]:
        agent = crashing_shop(
            backend, store, rk.FunctionModel(decide), idempotent=True, crash_after_commit=crash
        )

        async def cancel(ctx: rk.Context[Backend], intent: Any) -> rk.PlaybookOutcome:
            if not await ctx.confirm(f"Cancel order {intent.order_id}?"):
                return ctx.resolve("kept")
            await ctx.call(agent.tools["cancel_order"], order_id=intent.order_id)
            rating = await ctx.ask("Done. How would you rate this chat?")
            return ctx.resolve(f"rated {rating}")

        agent.playbooks["Cancel"] = cancel
        return agent

    agent = shop([True])
    await agent.handle("c", START)
    with pytest.raises(Crash):
        await agent.handle("c", "yes")
    store.frozen = False
    model_calls.clear()
    result = await shop([]).handle("c", "hello? did it work?")
    assert (result.outcome, result.reply) == (
        "awaiting_customer",
        "Done. How would you rate this chat?",
    )
    assert model_calls == []  # the new message waits: the recovery asked a question first
    assert backend.writes == [("cancel", "W1234567")]


async def test_answering_a_confirmation_resets_the_clarification_count() -> None:
    """Questions the knowledge base could not answer while a confirmation was open count as
    clarifications; the customer's answer to the confirmation starts the count again."""

    def decide(request: rk.ModelRequest) -> Any:
        if request.pending is not None:
            return rk.Confirm(answer="yes")
        if "bitcoin" in request.text:
            return rk.AnswerFromKnowledge(query=request.text)
        return rk.StartIntent(
            intent="CancelOrder", slots={"order_id": "W1234567", "reason": "ordered by mistake"}
        )

    backend = Backend()
    agent = build_agent(
        backend,
        rk.FunctionModel(decide),
        knowledge=Recorder(),
        escalation=rk.EscalationPolicy(max_clarifications=2),
    )
    await agent.handle("c", START)
    for text in (
        "can I pay with bitcoin?",
        "and with bitcoin cash?",
        "yes",
        "bitcoin?",
        "bitcoin!",
    ):
        result = await agent.handle("c", text)
        assert result.outcome != "escalated", text
    assert backend.writes == [("cancel", "W1234567")]


async def test_a_recovered_free_mode_call_is_in_the_transcript_for_the_model() -> None:
    backend, store = Backend(), FreezingStore()
    agent = free_shop(backend, store, idempotent=True, crash=[True])
    await agent.handle("c", "cancel W1")
    with pytest.raises(Crash):
        await agent.handle("c", "yes", message_id="y")
    store.frozen = False
    again = await free_shop(backend, store, idempotent=True, crash=[]).handle(
        "c", "yes", message_id="y"
    )
    assert again.reply == "Cancelled."
    conversation = await store.get(again.conversation_id)
    assert conversation is not None
    (message,) = [m for m in conversation.transcript if m.role == "tool"]
    assert message.tool_call == {"name": "cancel_order", "args": {"order_id": "W1"}}
    assert json.loads(message.text) == {"id": "W1", "status": "cancelled", "items": []}


async def test_each_model_decision_is_traced() -> None:
    model = rk.ScriptedModel([rk.Reply(text="Hello!")])
    result = await build_agent(Backend(), model).handle("c", "hi")
    (event,) = [e.data for e in result.trace if e.kind == "model"]
    assert set(event) == {
        "decision", "confidence", "alternatives", "ms", "invalid", "attempt", "model",
    }  # fmt: skip
    assert event["model"] == "scripted"  # the name of the model that decided
    assert event["decision"]["kind"] == "reply" and event["decision"]["text"] == "Hello!"
    assert (event["confidence"], event["alternatives"], event["invalid"], event["attempt"]) == (
        1.0,
        [],
        None,
        0,
    )
    assert isinstance(event["ms"], float) and 0 <= event["ms"] < 60_000


async def test_a_yes_to_go_back_to_a_queued_request_takes_it_up() -> None:
    model = rk.ScriptedModel(
        [
            rk.StartIntent(
                intent="OrderStatus",
                slots={"order_id": "W1234567"},
                then=[rk.StartIntent(intent="CancelOrder", slots={"reason": "ordered by mistake"})],
            ),
            rk.Confirm(answer="yes"),
        ]
    )
    agent = build_agent(Backend(), model)
    offered = await agent.handle("c", "where is W1234567, and cancel it, I ordered it by mistake")
    assert offered.pending == "resume"
    back = await agent.handle("c", "yes")
    assert (back.reply, back.pending, back.intent) == (
        "Cancel order W1234567?",
        "confirm",
        "CancelOrder",
    )
    conversation = await agent.store.open_conversation("c")
    assert conversation is not None
    (cancel,) = [r for r in conversation.runs if r.intent == "CancelOrder"]
    assert (cancel.status, cancel.queued) == ("waiting", False)
