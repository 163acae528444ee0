"""The turn loop: decision validation, clarification, escalation policy and handoffs."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

import resolvekit as rk
from resolvekit.models import ModelRequest, ModelResponse, Signals

from .shop import Backend, CancelOrder, build_agent


async def test_unknown_intent_is_sent_back_to_the_model_once_with_the_error() -> None:
    model = rk.ScriptedModel(
        [
            rk.StartIntent(intent="CancelSubscription"),
            rk.StartIntent(intent="OrderStatus", slots={"order_id": "W1234567"}),
        ]
    )
    result = await build_agent(Backend(), model).handle("c", "where is W1234567")
    assert result.reply == "Order W1234567 is pending"
    retry = model.requests[1].retry_error
    assert retry is not None and "unknown intent 'CancelSubscription'" in retry
    invalid = [e.data for e in result.trace if e.kind == "model" and e.data["invalid"]]
    assert len(invalid) == 1


async def test_twice_invalid_decision_falls_back_to_clarification_then_escalation() -> None:
    bad = rk.CallTool(tool="get_order", args={})  # free mode is off: not allowed
    model = rk.ScriptedModel([bad] * 6)
    agent = build_agent(Backend(), model)
    replies = [(await agent.handle("c", f"gibberish {i}")) for i in range(3)]
    assert [r.outcome for r in replies] == ["awaiting_customer", "awaiting_customer", "escalated"]
    assert replies[0].reply == "Sorry, I didn't quite get that. Could you say it another way?"
    assert replies[2].handoff is not None
    assert replies[2].handoff.reason == "still unclear after 2 clarifications"


async def test_unknown_slot_names_and_fill_without_active_intent_are_invalid() -> None:
    model = rk.ScriptedModel(
        [
            rk.StartIntent(intent="OrderStatus", slots={"color": "red"}),
            rk.FillSlots(slots={"order_id": "W1234567"}),
        ]
    )
    result = await build_agent(Backend(), model).handle("c", "hm")
    assert [e.data["invalid"] for e in result.trace if e.kind == "model"] == [
        "intent 'OrderStatus' has no slots ['color']",
        "decision 'fill_slots' is not allowed now; choose one of "
        "['answer_from_knowledge', 'ask_clarification', 'escalate', 'reply', 'start_intent']",
    ]
    assert result.outcome == "awaiting_customer"


async def test_low_confidence_intent_asks_which_of_the_nearest_intents() -> None:
    def unsure(request: ModelRequest) -> ModelResponse:
        return ModelResponse(
            decision=rk.StartIntent(intent="CancelOrder"),
            confidence=0.2,
            alternatives=[("CancelOrder", 0.2), ("OrderStatus", 0.18)],
        )

    agent = build_agent(Backend(), rk.FunctionModel(unsure))
    result = await agent.handle("c", "my order thing")
    assert result.outcome == "awaiting_customer"
    assert result.reply == (
        "I want to make sure I help with the right thing. "
        "Did you mean cancel order or order status?"
    )
    assert result.confidence == 0.2
    conversation = await agent.conversation("c")
    assert conversation is not None and conversation.offered == ["CancelOrder", "OrderStatus"]


@pytest.mark.parametrize(
    ("signals", "policy", "reason"),
    [
        (Signals(human_request=True), rk.EscalationPolicy(), "customer asked for a human"),
        (Signals(sentiment=-0.9), rk.EscalationPolicy(), "customer is upset"),
        (
            Signals(),
            rk.EscalationPolicy(always_human=frozenset({"CancelOrder"})),
            "intent CancelOrder always needs a human",
        ),
        (
            Signals(),
            rk.EscalationPolicy(rule=lambda seen: "VIP" if "VIP" in seen.text else None),
            "VIP",
        ),
    ],
)
async def test_escalation_policy_vetoes_the_decision(
    signals: Signals, policy: rk.EscalationPolicy, reason: str
) -> None:
    backend = Backend()

    def decide(request: ModelRequest) -> ModelResponse:
        return ModelResponse(
            decision=rk.StartIntent(intent="CancelOrder", slots={"order_id": "W1234567"}),
            confidence=0.9,
            signals=signals,
        )

    agent = build_agent(backend, rk.FunctionModel(decide), escalation=policy)
    result = await agent.handle("c", "VIP here: cancel W1234567, get me a human")
    assert result.outcome == "escalated"
    assert result.handoff is not None and result.handoff.reason == reason
    assert backend.writes == []


@pytest.mark.parametrize(
    ("failure", "then"),
    [(ConnectionError("backend down"), "escalated"), (rk.ToolRefusal("not found"), "refused")],
)
async def test_repeated_tool_failures_escalate_on_the_next_turn_but_refusals_do_not(
    failure: Exception, then: str
) -> None:
    """Errors count towards ``max_tool_failures``; a refusal (a business "no" the playbook
    relays) is an answer, not a failure."""

    class Lookup(rk.Intent):
        """Look up, tolerating failures."""

    model = rk.ScriptedModel([rk.StartIntent(intent="Lookup"), rk.StartIntent(intent="Lookup")])
    agent = build_agent(Backend(), model, escalation=rk.EscalationPolicy(max_tool_failures=2))

    @agent.tool(retry=rk.RetryPolicy(attempts=1))
    def down() -> str:
        raise failure

    @agent.playbook(Lookup)
    async def lookup(ctx: rk.Context[Backend], intent: Lookup) -> rk.PlaybookOutcome:
        await ctx.try_call(down)
        await ctx.try_call(down)
        return ctx.refuse("could not look it up", reply="Sorry, our systems are down.")

    assert (await agent.handle("c", "look up")).outcome == "refused"
    second = await agent.handle("c", "again please")
    assert second.outcome == then
    if then == "escalated":
        assert second.handoff is not None and second.handoff.reason == "2 tool failures"
        assert second.handoff.priority == "high"


async def test_handoff_packet_has_the_whole_context_and_is_delivered(tmp_path: Path) -> None:
    delivered: list[rk.Handoff] = []
    queue = rk.JSONLQueue(tmp_path / "handoffs.jsonl")
    model = rk.ScriptedModel(
        [
            rk.StartIntent(
                intent="CancelOrder",
                slots={"order_id": "W5555555", "reason": "no longer needed"},
            )
        ]
    )
    agent = build_agent(Backend(), model, handoff=[rk.CallbackTarget(delivered.append), queue])
    result = await agent.handle("c-9", "cancel W5555555, my card 4111 1111 1111 1111 a@b.com")
    handoff = result.handoff
    assert handoff is not None
    assert result.reply.startswith("I'm passing this to a colleague")
    assert (handoff.reason, handoff.intent, handoff.customer_id) == (
        "order already shipped",
        "CancelOrder",
        "c-9",
    )
    assert handoff.slots == {"order_id": "W5555555", "reason": "no longer needed"}
    assert [(a.tool, a.status, a.result["status"]) for a in handoff.actions] == [
        ("get_order", "done", "delivered")
    ]
    customer_line = handoff.transcript[0]["text"]
    assert "[card ****1111]" in customer_line and "a***@b.com" in customer_line
    assert "4111 1111" not in customer_line
    assert "cancel order (order_id=W5555555, reason=no longer needed)" in handoff.summary
    assert handoff.resume_token
    assert delivered == [handoff]
    assert queue.read() == [handoff]
    schema = rk.Handoff.model_json_schema()
    assert {"reason", "actions", "transcript", "resume_token"} <= set(schema["properties"])
    json.dumps(schema)


async def test_messages_during_handoff_are_kept_and_resume_gives_control_back() -> None:
    model = rk.ScriptedModel(
        [
            rk.Escalate(reason="customer wants a manager"),
            rk.StartIntent(intent="OrderStatus", slots={"order_id": "W1234567"}),
        ]
    )
    agent = build_agent(Backend(), model)
    escalated = await agent.handle("c", "manager now")
    assert escalated.handoff is not None
    waiting = await agent.handle("c", "hello??")
    assert waiting.outcome == "escalated"
    assert waiting.reply.startswith("Thanks, I've added that")
    assert model.remaining == 1  # the model was not consulted while a human has it
    conversation = await agent.resume(escalated.handoff.resume_token, note="Apologised; fine now")
    assert conversation.status == "open"
    assert conversation.transcript[-1].role == "human_agent"
    back = await agent.handle("c", "where is W1234567?")
    assert back.reply == "Order W1234567 is pending"
    with pytest.raises(rk.UserError, match="resume token"):
        await agent.resume(escalated.handoff.resume_token)


async def test_resume_offers_the_request_that_was_interrupted() -> None:
    """The customer asked for a person while a cancellation waited for its yes; after the human
    gives the conversation back, a yes picks the cancellation up where it stopped."""
    backend = Backend()
    model = rk.ScriptedModel(
        [
            rk.StartIntent(
                intent="CancelOrder", slots={"order_id": "W1234567", "reason": "ordered by mistake"}
            ),
            rk.Escalate(reason="customer asked for a human"),
            rk.Confirm(answer="yes"),  # "yes, let's go back to it"
            rk.Confirm(answer="yes"),  # "yes, cancel it"
        ]
    )
    agent = build_agent(backend, model, handoff=[])
    asked = await agent.handle("c", "cancel W1234567, I ordered it by mistake")
    assert asked.reply == "Cancel order W1234567?"
    escalated = await agent.handle("c", "can I talk to a person first?")
    assert escalated.handoff is not None and escalated.handoff.pending_action is not None
    conversation = await agent.resume(escalated.handoff.resume_token, note="Customer verified")
    assert conversation.pending is not None
    assert conversation.pending.question == (
        "Shall we go back to your earlier request (cancel order)?"
    )
    again = await agent.handle("c", "yes")
    assert again.reply == "Cancel order W1234567?"
    done = await agent.handle("c", "yes")
    assert done.outcome == "resolved"
    assert backend.writes == [("cancel", "W1234567")]


async def test_resume_can_drop_the_interrupted_request() -> None:
    model = rk.ScriptedModel(
        [
            rk.StartIntent(intent="CancelOrder", slots={"order_id": "W1234567"}),
            rk.Escalate(reason="customer asked for a human"),
        ]
    )
    agent = build_agent(Backend(), model, handoff=[])
    await agent.handle("c", "cancel W1234567")
    escalated = await agent.handle("c", "human please")
    assert escalated.handoff is not None
    conversation = await agent.resume(escalated.handoff.resume_token, continue_request=False)
    assert conversation.pending is None


async def test_a_broken_handoff_target_does_not_lose_the_turn() -> None:
    def broken(handoff: rk.Handoff) -> None:
        raise RuntimeError("ticketing down")

    agent = build_agent(
        Backend(),
        rk.ScriptedModel([rk.Escalate(reason="x")]),
        handoff=rk.CallbackTarget(broken),
    )
    result = await agent.handle("c", "human")
    assert result.outcome == "escalated"
    conversation = await agent.conversation("c")
    assert conversation is not None and conversation.status == "handed_off"


async def test_a_handoff_with_no_target_configured_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    model = rk.ScriptedModel([rk.Escalate(reason="x"), rk.Escalate(reason="y")])
    agent = build_agent(Backend(), model)
    with caplog.at_level(logging.WARNING, logger="resolvekit"):
        await agent.handle("c-1", "human")
        await agent.handle("c-2", "human")
    warnings = [r.getMessage() for r in caplog.records if "no handoff target" in r.getMessage()]
    assert len(warnings) == 1 and "handoff=[]" in warnings[0]
    quiet = build_agent(Backend(), rk.ScriptedModel([rk.Escalate(reason="x")]), handoff=[])
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="resolvekit"):
        assert (await quiet.handle("c", "human")).handoff is not None
    assert not caplog.records


async def test_model_failure_escalates_with_the_error() -> None:
    def failing(request: ModelRequest) -> ModelResponse:
        raise rk.ModelTimeout("no answer in 30s")

    result = await build_agent(Backend(), rk.FunctionModel(failing)).handle("c", "hi")
    assert result.outcome == "escalated"
    assert isinstance(result.error, rk.ModelTimeout)


async def test_knowledge_answer_and_unanswerable_question() -> None:
    class Knowledge:
        async def answer(self, query: str, k: int = 3, *, model: Any = None) -> rk.KnowledgeAnswer:
            if "return" in query:
                return rk.KnowledgeAnswer(
                    query=query,
                    text="You can return items within 30 days.",
                    answerable=True,
                    score=0.9,
                    citations=[rk.Citation(doc_id="returns", title="Returns")],
                )
            return rk.KnowledgeAnswer(query=query, text="", answerable=False)

    model = rk.ScriptedModel(
        [
            rk.AnswerFromKnowledge(query="return window"),
            rk.AnswerFromKnowledge(query="meaning of life"),
        ]
    )
    agent = build_agent(Backend(), model, knowledge=Knowledge())
    answered = await agent.handle("c", "how long do I have to return?")
    assert (answered.outcome, answered.reply) == (
        "answered",
        "You can return items within 30 days.",
    )
    assert answered.citations[0].doc_id == "returns"
    unknown = await agent.handle("c", "what is the meaning of life?")
    assert unknown.outcome == "awaiting_customer"
    assert unknown.reply == (
        "I couldn't find a reliable answer to that. Here is what I can help with: cancel order "
        "or order status. What would you like to do?"
    )


class ReturnsKnowledge:
    """Knows the return window, nothing else."""

    async def answer(self, query: str, k: int = 3, *, model: Any = None) -> rk.KnowledgeAnswer:
        if "return" in query:
            return rk.KnowledgeAnswer(
                query=query, text="You can return items within 30 days.", answerable=True
            )
        return rk.KnowledgeAnswer(query=query, text="", answerable=False)


async def test_a_question_is_answered_from_knowledge_else_the_fallback_intent_starts() -> None:
    start = rk.StartIntent(intent="CancelOrder", slots={"order_id": "W1234567"})
    model = rk.ScriptedModel(
        [
            rk.AnswerFromKnowledge(query="how do returns work?", otherwise=start),
            rk.AnswerFromKnowledge(query="what happens when I cancel?", otherwise=start),
        ]
    )
    agent = build_agent(Backend(), model, knowledge=ReturnsKnowledge())
    answered = await agent.handle("c", "how do returns work?")
    assert (answered.outcome, answered.intent) == ("answered", None)
    fallback = await agent.handle("c", "what happens when I cancel W1234567?")
    assert fallback.intent == "CancelOrder"
    assert fallback.reply == "Why do you want to cancel?"
    assert [e.data.get("event") for e in fallback.trace if e.kind == "knowledge"] == [
        None,
        "fallback",
    ]
    (event,) = [e.data for e in fallback.trace if e.data.get("event") == "fallback"]
    assert event == {"event": "fallback", "intent": "CancelOrder"}


async def test_the_fallback_intent_is_checked_like_any_start() -> None:
    bad = rk.AnswerFromKnowledge(query="q", otherwise=rk.StartIntent(intent="Nope", slots={}))
    model = rk.ScriptedModel([bad, bad])
    result = await build_agent(Backend(), model).handle("c", "q")
    assert result.outcome == "awaiting_customer"  # two invalid decisions: a clarification
    error = model.requests[1].retry_error
    assert error is not None and "unknown intent 'Nope'" in error


async def test_an_unanswerable_question_mid_flow_returns_to_the_open_question() -> None:
    model = rk.ScriptedModel(
        [
            rk.StartIntent(intent="CancelOrder", slots={}),
            rk.AnswerFromKnowledge(query="do you take bitcoin?"),
            rk.AnswerFromKnowledge(query="what is the return window?"),
        ]
    )
    agent = build_agent(Backend(), model, knowledge=ReturnsKnowledge())
    await agent.handle("c", "cancel my order")
    unknown = await agent.handle("c", "do you take bitcoin?")
    assert unknown.reply == (
        "I couldn't find a reliable answer to that. "
        "Now, back to your request: What is the order number?"
    )
    known = await agent.handle("c", "what is the return window?")
    assert known.reply.endswith("Now, back to your request: What is the order number?")


async def test_reply_with_close_ends_the_conversation_and_it_becomes_history() -> None:
    model = rk.ScriptedModel(
        [
            rk.StartIntent(intent="OrderStatus", slots={"order_id": "W1234567"}),
            rk.Reply(text="Goodbye!", close=True),
            rk.Reply(text="Hello again"),
        ]
    )
    agent = build_agent(Backend(), model)
    first = await agent.handle("c", "where is W1234567")
    await agent.handle("c", "thanks, bye")
    again = await agent.handle("c", "hi")
    assert again.conversation_id != first.conversation_id
    history = model.requests[-1].history
    assert len(history) == 1
    assert "order status (order_id=W1234567): resolved" in history[0]


async def test_llm_models_write_the_handoff_summary() -> None:
    class Summarizer(rk.FunctionModel):
        capabilities = frozenset({"summarize"})

    def decide(request: ModelRequest) -> rk.Escalate | rk.Reply:
        if request.task == "summarize":
            assert [m.text for m in request.messages] == ["refund me twice"]
            return rk.Reply(text="Customer wants a double refund.")
        return rk.Escalate(reason="needs approval")

    result = await build_agent(Backend(), Summarizer(decide)).handle("c", "refund me twice")
    assert result.handoff is not None
    assert result.handoff.summary == (
        "Customer wants a double refund. Handed over because: needs approval."
    )


async def test_developer_mistakes_fail_loudly_instead_of_handing_over() -> None:
    class Sloppy(rk.Intent):
        """A playbook that returns the wrong thing."""

    agent = build_agent(Backend(), rk.ScriptedModel([rk.StartIntent(intent="Sloppy")]))

    @agent.playbook(Sloppy)
    async def sloppy(ctx: rk.Context[Backend], intent: Sloppy) -> str:
        return "done"

    with pytest.raises(rk.UserError, match=r"returned str; return ctx\.resolve"):
        await agent.handle("c", "go")
    conversation = await agent.conversation("c")
    assert conversation is not None and conversation.transcript[-1].text == "go"


async def test_a_missing_model_dependency_is_a_user_error() -> None:
    def missing(request: ModelRequest) -> ModelResponse:
        raise rk.UserError("SentenceTransformerEmbedder needs sentence-transformers")

    agent = build_agent(Backend(), rk.FunctionModel(missing))
    with pytest.raises(rk.UserError, match="needs sentence-transformers"):
        await agent.handle("c", "hi")


async def test_customers_are_told_intents_by_their_titles() -> None:
    class TalkToHuman(rk.Intent):
        """Pass the customer to a person."""

        intent_title = "talk to a person"

    class Nothing:
        async def answer(self, query: str, k: int = 3, *, model: Any = None) -> rk.KnowledgeAnswer:
            return rk.KnowledgeAnswer(query=query, text="", answerable=False)

    agent = build_agent(
        Backend(),
        rk.ScriptedModel([rk.AnswerFromKnowledge(query="meaning of life")]),
        knowledge=Nothing(),
    )

    @agent.playbook(TalkToHuman)
    async def talk(ctx: rk.Context[Backend], intent: TalkToHuman) -> rk.PlaybookOutcome:
        return ctx.resolve("ok")

    unknown = await agent.handle("c", "what is the meaning of life?")
    assert "cancel order, order status or talk to a person." in unknown.reply
    assert TalkToHuman.spec().title == "talk to a person"
    assert CancelOrder.spec().title == "cancel order"  # the name in words by default
