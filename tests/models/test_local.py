"""LocalModel: offline turn decisions from embeddings and extractors.

About internals: these tests also check private helpers directly
(``resolvekit.models.local._records``).
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any, Literal

import pytest

import resolvekit as rk
from resolvekit.messages import Message
from resolvekit.models import ModelRequest, Pending
from resolvekit.models.local import LocalModel, training_data

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from engine.shop import Backend, CancelOrder, OrderStatus, build_agent

INTENTS = [CancelOrder.spec(), OrderStatus.spec()]
OPEN = frozenset(
    {"start_intent", "answer_from_knowledge", "ask_clarification", "escalate", "reply"}
)
YES_NO = OPEN | {"fill_slots", "confirm"}


def request(text: str, **fields: object) -> ModelRequest:
    fields.setdefault("allowed", OPEN)
    fields.setdefault("intents", INTENTS)
    return ModelRequest(messages=[Message(role="customer", text=text)], **fields)  # type: ignore[arg-type]


async def answer(
    model: LocalModel,
    text: str,
    intent: type[rk.Intent],
    asked: str,
    question: str = "?",
    **fields: object,
) -> rk.Decision:
    """The model's decision when ``text`` answers the pending question for slot ``asked`` of
    ``intent`` (``fields``: more of the request, such as the slots already given)."""
    spec = intent.spec()
    pending = Pending(kind="slot", question=question, slot=spec.slot(asked), intent=spec.name)
    known = {i.name for i in INTENTS}
    fields.setdefault("intents", INTENTS if spec.name in known else [spec])
    fields.setdefault("active_intent", spec.name)
    response = await model.request(
        request(text, allowed=YES_NO - {"confirm"}, pending=pending, **fields)
    )
    return response.decision


@pytest.fixture
def model() -> LocalModel:
    return LocalModel.for_tests()


async def test_intent_with_slots_from_the_first_message(model: LocalModel) -> None:
    response = await model.request(request("I want to cancel order #W1234567"))
    # The slot's pattern accepts "#W1234567" as written, so the value keeps its "#".
    assert response.decision == rk.StartIntent(
        intent="CancelOrder", slots={"order_id": "#W1234567"}
    )
    assert response.confidence is not None and 0.5 < response.confidence <= 1.0
    assert [label for label, _ in response.alternatives][:2] == ["CancelOrder", "OrderStatus"]


async def test_human_request_and_sentiment_signals(model: LocalModel) -> None:
    response = await model.request(request("this is useless, let me talk to a real person"))
    assert isinstance(response.decision, rk.Escalate)
    assert response.signals.human_request is True
    assert response.signals.sentiment is not None and response.signals.sentiment < 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hello!", rk.Reply(text="Hello! How can I help you today?")),
        ("thanks a lot", rk.Reply(text="You're welcome! Is there anything else I can help with?")),
        ("bye", rk.Reply(text="Goodbye, and thanks for getting in touch!", close=True)),
    ],
)
async def test_small_talk(model: LocalModel, text: str, expected: rk.Reply) -> None:
    assert (await model.request(request(text))).decision == expected


@pytest.mark.parametrize(
    ("text", "answer"), [("yes please", "yes"), ("no, keep it", "no"), ("hmm not sure", "unsure")]
)
async def test_confirmation_answers(model: LocalModel, text: str, answer: str) -> None:
    pending = Pending(kind="confirm", question="Cancel order W1234567?", intent="CancelOrder")
    response = await model.request(
        request(
            text,
            allowed=YES_NO,
            pending=pending,
            active_intent="CancelOrder",
            slots={"order_id": "W1234567", "reason": "ordered by mistake"},
        )
    )
    assert response.decision == rk.Confirm(answer=answer)  # type: ignore[arg-type]


async def test_correction_while_confirming(model: LocalModel) -> None:
    pending = Pending(kind="confirm", question="Cancel order W1234567?", intent="CancelOrder")
    response = await model.request(
        request(
            "no, the other order: W7654321",
            allowed=YES_NO,
            pending=pending,
            active_intent="CancelOrder",
            slots={"order_id": "W1234567"},
        )
    )
    assert response.decision == rk.FillSlots(slots={"order_id": "W7654321"})


async def test_pending_slot_is_filled_from_the_answer(model: LocalModel) -> None:
    decision = await answer(
        model, "it was ordered by mistake", CancelOrder, "reason", slots={"order_id": "W1234567"}
    )
    assert decision == rk.FillSlots(slots={"reason": "ordered by mistake"})


async def test_unrecognised_answer_is_handed_to_the_engine_to_validate(model: LocalModel) -> None:
    decision = await answer(model, "the blue one", CancelOrder, "order_id")
    assert decision == rk.FillSlots(slots={"order_id": "the blue one"})


class Passenger(rk.Intent):
    """Change a booking."""

    last_name: str = rk.Slot(ask="What is your last name?")
    bags: int = rk.Slot(ask="How many bags?")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Sure: Rossi.", "Rossi"), ("it's Cohen thanks", "Cohen"), ("rossi", "Rossi")],
)
async def test_a_name_answer_keeps_only_the_name(
    model: LocalModel, text: str, expected: str
) -> None:
    decision = await answer(model, text, Passenger, "last_name")
    assert decision == rk.FillSlots(slots={"last_name": expected})


@pytest.mark.parametrize("text", ["June 17 please", "2 bags", "the 14th"])
async def test_an_answer_with_no_name_is_not_taken_as_a_name(model: LocalModel, text: str) -> None:
    decision = await answer(model, text, Passenger, "last_name", question="What is your last name?")
    assert isinstance(decision, rk.AskClarification)
    assert decision.text == "Sorry, I didn't catch the name. What is your last name?"


@pytest.mark.parametrize(("text", "expected"), [("one", 1), ("two please", 2), ("just 3", 3)])
async def test_a_number_word_answers_a_count(model: LocalModel, text: str, expected: int) -> None:
    decision = await answer(model, text, Passenger, "bags", slots={"last_name": "Rossi"})
    assert decision == rk.FillSlots(slots={"bags": expected})


@pytest.mark.parametrize("text", ["I don't know", "not sure", "I'm sorry, I don't know."])
async def test_dont_know_to_a_slot_question_is_not_called_an_invalid_value(
    model: LocalModel, text: str
) -> None:
    asked = "That doesn't look like a valid order id. What is the order number?"
    decision = await answer(model, text, CancelOrder, "order_id", question=asked)
    assert isinstance(decision, rk.AskClarification)
    assert decision.text.startswith("No problem.")
    assert decision.text.endswith(" What is the order number?")  # the plain question
    assert "valid" not in decision.text


async def test_dont_know_repeated_ends_in_a_handoff() -> None:
    agent = build_agent(
        Backend(),
        LocalModel.for_tests(),
        escalation=rk.EscalationPolicy(max_clarifications=2),
    )
    assert (await agent.handle("c", "cancel my order")).reply == "What is the order number?"
    replies = [await agent.handle("c", "I don't know") for _ in range(3)]
    assert [r.outcome for r in replies] == ["awaiting_customer", "awaiting_customer", "escalated"]
    assert replies[0].reply.startswith("No problem.")
    assert replies[2].handoff is not None and replies[2].handoff.intent == "CancelOrder"


async def test_clear_topic_switch_while_a_question_is_pending(model: LocalModel) -> None:
    decision = await answer(
        model, "where is my order W7654321", CancelOrder, "reason", slots={"order_id": "W1234567"}
    )
    assert decision == rk.StartIntent(intent="OrderStatus", slots={"order_id": "W7654321"})


async def test_out_of_scope_goes_to_knowledge(model: LocalModel) -> None:
    response = await model.request(request("quantum chromodynamics lecture notes"))
    assert response.decision == rk.AnswerFromKnowledge(query="quantum chromodynamics lecture notes")


async def test_ordinal_pick_among_offered_intents(model: LocalModel) -> None:
    response = await model.request(
        request("the second one", offered=["CancelOrder", "OrderStatus"])
    )
    assert response.decision == rk.StartIntent(intent="OrderStatus")


async def test_relative_dates_become_iso_dates() -> None:
    class Reschedule(rk.Intent):
        """Move a delivery to another day."""

        examples = ["move my delivery", "deliver it another day", "reschedule the delivery"]
        day: dt.date = rk.Slot(ask="Which day?")

    model = LocalModel.for_tests()
    model._today = lambda: dt.date(2026, 11, 26)
    response = await model.request(
        request("please reschedule the delivery to tomorrow", intents=[Reschedule.spec(), *INTENTS])
    )
    assert response.decision == rk.StartIntent(intent="Reschedule", slots={"day": "2026-11-27"})


async def test_a_single_intent_agent_still_detects_out_of_scope() -> None:
    model = LocalModel.for_tests()
    inside = await model.request(request("cancel my order please", intents=[CancelOrder.spec()]))
    outside = await model.request(request("tell me a joke", intents=[CancelOrder.spec()]))
    assert isinstance(inside.decision, rk.StartIntent)
    assert isinstance(outside.decision, rk.AnswerFromKnowledge)


def test_training_data_uses_examples_description_and_name() -> None:
    texts, labels = training_data([CancelOrder.spec()])
    assert texts == [
        "cancel my order",
        "I don't want order W1234567 anymore",
        "cancel order",
        "Customer wants to cancel an order that has not shipped.",
    ]
    assert set(labels) == {"CancelOrder"}


async def test_classifier_is_trained_once_per_intent_set(model: LocalModel) -> None:
    await model.request(request("cancel my order"))
    first = model._classifier
    await model.request(request("where is my order"))
    assert model._classifier is first
    await model.request(request("cancel my order", intents=[CancelOrder.spec()]))
    assert model._classifier is not first


async def test_whole_conversation_on_the_test_model_across_channels() -> None:
    backend = Backend()
    agent = build_agent(backend, "test")
    first = await agent.handle("c", "hi, I need to cancel order W1234567", channel="chat")
    assert first.reply == "Why do you want to cancel?"
    second = await agent.handle("c", "I ordered it by mistake", channel="voice")
    assert second.reply == "Cancel order W1234567?"
    third = await agent.handle("c", "yes go ahead", channel="email")
    assert third.outcome == "resolved"
    assert backend.writes == [("cancel", "W1234567")]
    status = await agent.handle("c", "and where is that order now?", channel="chat")
    assert status.reply == "Order W1234567 is cancelled"  # the order id was not asked again


@pytest.mark.slow
async def test_minilm_local_model_understands_paraphrases() -> None:
    class Refund(rk.Intent):
        """Customer wants their money back for an order."""

        examples = ["I want a refund", "give me my money back", "refund my purchase"]
        method: Literal["card", "gift card"] = rk.Slot(ask="Card or gift card?")

    model = LocalModel()
    intents = [CancelOrder.spec(), OrderStatus.spec(), Refund.spec()]
    paraphrases = {
        "could you call off my purchase W1234567": "CancelOrder",
        "has my parcel been dispatched yet?": "OrderStatus",
        "I'd like to be reimbursed to my card": "Refund",
    }
    for text, intent in paraphrases.items():
        response = await model.request(request(text, intents=intents))
        assert isinstance(response.decision, rk.StartIntent), text
        assert response.decision.intent == intent, text
    refund = await model.request(request("I'd like to be reimbursed to my card", intents=intents))
    assert refund.decision == rk.StartIntent(intent="Refund", slots={"method": "card"})


async def test_free_text_ask_gets_the_whole_message(model: LocalModel) -> None:
    from resolvekit.models import SlotSpec

    pending = Pending(
        kind="ask", question="Which order?", slot=SlotSpec(name="answer", kind="text")
    )
    response = await model.request(
        request(
            "#W6247578, that's the one.",
            allowed=YES_NO - {"confirm"},
            pending=pending,
            active_intent="CancelOrder",
        )
    )
    assert response.decision == rk.FillSlots(slots={"answer": "#W6247578, that's the one."})


class CancellationPolicy:
    """A knowledge base that knows the cancellation policy and nothing else."""

    async def answer(self, query: str, k: int = 3, *, model: Any = None) -> rk.KnowledgeAnswer:
        if "cancel" in query:
            text = "Pending orders can be cancelled for free."
            return rk.KnowledgeAnswer(query=query, text=text, answerable=True)
        return rk.KnowledgeAnswer(query=query, text="", answerable=False)


async def test_a_question_about_an_intent_is_answered_not_acted_on() -> None:
    """ "What happens when I cancel an order?" shares words with CancelOrder but asks for no
    action: the policy answers it; without a policy the cancel flow takes it; a request to
    cancel still starts the flow."""
    question = "what happens when I cancel an order?"
    agent = build_agent(Backend(), LocalModel.for_tests(), knowledge=CancellationPolicy())
    answered = await agent.handle("c-1", question)
    assert (answered.outcome, answered.intent) == ("answered", None)
    assert answered.reply == "Pending orders can be cancelled for free."
    request = await agent.handle("c-2", "cancel order W1234567")
    assert request.intent == "CancelOrder"
    without = build_agent(Backend(), LocalModel.for_tests())
    assert (await without.handle("c-3", question)).intent == "CancelOrder"


async def test_a_question_while_a_slot_is_pending_is_answered_then_the_slot_asked_again() -> None:
    agent = build_agent(Backend(), LocalModel.for_tests(), knowledge=CancellationPolicy())
    assert (await agent.handle("c", "where is my order?")).reply == "Which order?"
    aside = await agent.handle("c", "what happens when I cancel an order?")
    assert aside.reply == (
        "Pending orders can be cancelled for free.\nNow, back to your request: Which order?"
    )
    assert (await agent.handle("c", "W1234567")).intent == "OrderStatus"


async def test_two_requests_in_one_message_are_both_taken_in_order() -> None:
    backend = Backend()
    agent = build_agent(backend, LocalModel.for_tests())
    first = await agent.handle("c", "where is my order W1234567 and cancel order W7654321")
    assert first.intent == "OrderStatus" and first.outcome == "resolved"
    assert first.reply.endswith(
        "You also asked about something else (cancel order). Shall we do that now?"
    )
    second = await agent.handle("c", "yes")
    assert second.intent == "CancelOrder" and second.slots["order_id"] == "W7654321"


@pytest.mark.parametrize(
    "text",
    [
        "I was tracking my package and I want to cancel my order",  # context, then a request
        "my order is late and cancel my order",
        "cancel order W1234567 and cancel W7654321",  # one intent: its playbook's business
    ],
)
async def test_one_request_with_context_is_not_split(model: LocalModel, text: str) -> None:
    response = await model.request(request(text))
    assert isinstance(response.decision, rk.StartIntent)
    assert response.decision.then == []


async def test_answering_the_old_question_when_offered_to_go_back_is_a_yes() -> None:
    agent = build_agent(Backend(), LocalModel.for_tests())
    asked = await agent.handle("c", "cancel order W1234567")
    assert asked.reply == "Why do you want to cancel?"
    aside = await agent.handle("c", "actually, track my package W7654321 first")
    assert aside.intent == "OrderStatus" and aside.slots["order_id"] == "W7654321"
    assert aside.reply.endswith("Shall we go back to your earlier request (cancel order)?")
    back = await agent.handle("c", "I ordered it by mistake")
    assert back.intent == "CancelOrder" and back.slots["reason"] == "ordered by mistake"
    assert back.reply == "Cancel order W1234567?"


@pytest.mark.parametrize(
    ("last", "text", "reply", "close"),
    [
        ("Done. Is there anything else I can help you with?", "no thanks", "Goodbye", True),
        ("Done. Is there anything else I can help you with?", "yes please", "What else", False),
        ("Hello! How can I help you today?", "yes", "What can I help you with?", False),
    ],
)
async def test_a_bare_yes_or_no_with_no_open_question(
    model: LocalModel, last: str, text: str, reply: str, close: bool
) -> None:
    messages = [Message(role="agent", text=last), Message(role="customer", text=text)]
    response = await model.request(ModelRequest(messages=messages, allowed=OPEN, intents=INTENTS))
    assert isinstance(response.decision, rk.Reply)
    assert reply in response.decision.text and response.decision.close is close


@pytest.mark.parametrize("text", ["no, cancel my order", "yes cancel order W1234567"])
async def test_a_yes_or_no_with_a_request_in_it_is_the_request(
    model: LocalModel, text: str
) -> None:
    response = await model.request(request(text))
    assert isinstance(response.decision, rk.StartIntent)


class CancelBooking(rk.Intent):
    """Customer wants to cancel a flight booking."""

    examples = ["cancel my booking", "I want to cancel my flight", "cancel reservation K7Q2ZD"]
    booking_ref: str = rk.Slot(pattern=r"[A-Z0-9]{6}", ask="What is your booking reference?")
    passenger: str = rk.Slot(ask="Whose booking is it?")


@pytest.mark.parametrize(
    "text", ["cancel my booking", "Please cancel my flight", "CANCEL my booking, Robert here"]
)
def test_words_are_not_taken_for_a_code_pattern(text: str) -> None:
    """[A-Z0-9]{6} fits "CANCEL", "PLEASE" and "ROBERT" once upper-cased: words written as
    words are not booking references; a code in capitals or with digits is."""
    model = LocalModel.for_tests()
    slots = model.prefill(text, CancelBooking.spec())
    assert slots.get("booking_ref") in (None, "CANCEL")  # "CANCEL" typed in capitals may be one
    assert model.prefill("cancel k7q2zd", CancelBooking.spec())["booking_ref"] == "K7Q2ZD"
    assert model.prefill("cancel KQZDAB", CancelBooking.spec())["booking_ref"] == "KQZDAB"


async def _booking_answer(text: str, asked: str, **known: str) -> rk.FillSlots:
    """LocalModel's decision when ``text`` answers the CancelBooking question for ``asked``."""
    decision = await answer(LocalModel.for_tests(), text, CancelBooking, asked, slots=known)
    assert isinstance(decision, rk.FillSlots)
    return decision


async def test_a_name_answer_does_not_overwrite_a_code_already_given() -> None:
    decision = await _booking_answer("Robert Johnson", "passenger", booking_ref="K7Q2ZD")
    assert decision.slots == {"passenger": "Robert Johnson"}


async def test_a_sentence_answering_a_code_question_is_not_read_as_the_code() -> None:
    decision = await _booking_answer("sorry I cannot find it", "booking_ref")
    # Handed to the engine whole, which rejects it against the pattern and asks again.
    assert decision.slots == {"booking_ref": "sorry I cannot find it"}


async def test_a_question_clause_is_a_request_of_its_own_and_values_carry_over() -> None:
    """ "Where is W1234567? also I want to cancel it": the status now, the cancellation offered
    next with the order number already given (not asked again)."""
    agent = build_agent(Backend(), LocalModel.for_tests())
    first = await agent.handle("c", "where is my order W1234567? also I want to cancel my order")
    assert first.intent == "OrderStatus"
    assert first.reply.endswith("(cancel order). Shall we do that now?")
    second = await agent.handle("c", "yes")
    assert second.intent == "CancelOrder" and second.slots["order_id"] == "W1234567"
    assert second.reply == "Why do you want to cancel?"


async def test_a_question_before_saying_yes_is_answered_then_the_confirmation_asked_again() -> None:
    agent = build_agent(Backend(), LocalModel.for_tests(), knowledge=CancellationPolicy())
    asked = await agent.handle("c", "cancel order W1234567, I ordered it by mistake")
    assert asked.reply == "Cancel order W1234567?"
    aside = await agent.handle("c", "what happens when I cancel an order?")
    assert aside.reply == (
        "Pending orders can be cancelled for free.\nNow, back to your request: "
        "Cancel order W1234567?"
    )
    assert (await agent.handle("c", "yes")).outcome == "resolved"


async def test_a_bare_yes_is_not_taken_as_a_free_text_answer() -> None:
    decision = await answer(
        LocalModel.for_tests(), "yes", CancelBooking, "passenger", question="Whose booking is it?"
    )
    assert decision == rk.AskClarification(text="Whose booking is it?")
    named = await _booking_answer("Robert Johnson", "passenger")
    assert named.slots == {"passenger": "Robert Johnson"}


class ChangePlan(rk.Intent):
    """Customer wants another subscription plan or billing period."""

    examples = ["switch me to the pro plan", "change my plan", "upgrade to team, billed yearly"]
    plan: Literal["basic", "pro", "team"] = rk.Slot(ask="Which plan?")
    period: Literal["monthly", "annual"] = rk.Slot(ask="Monthly or annual?")


async def test_a_correction_right_after_a_finished_request_redoes_it() -> None:
    agent: rk.Agent[None] = rk.Agent(model=LocalModel.for_tests(), store="memory://", handoff=[])
    changes: list[tuple[str, str]] = []

    @agent.playbook(ChangePlan)
    async def change(ctx: rk.Context[None], intent: ChangePlan) -> rk.PlaybookOutcome:
        if not await ctx.confirm(f"Switch to {intent.plan} ({intent.period})?"):
            return ctx.resolve("kept", reply="OK, nothing changed.")
        changes.append((intent.plan, intent.period))
        return ctx.resolve(f"Done: {intent.plan} ({intent.period}).")

    assert (await agent.handle("c", "switch me to pro monthly")).reply == "Switch to pro (monthly)?"
    assert (await agent.handle("c", "yes")).outcome == "resolved"
    redo = await agent.handle("c", "actually make it annual")
    assert redo.intent == "ChangePlan" and redo.reply == "Switch to pro (annual)?"
    assert (await agent.handle("c", "yes")).outcome == "resolved"
    assert changes == [("pro", "monthly"), ("pro", "annual")]


def test_my_counts_as_the_customers_own_only_before_a_record_the_intents_name() -> None:
    from resolvekit.models.local import _records
    from resolvekit.understanding.extract import is_information_question

    records = _records(INTENTS)  # "cancel my order", "where is my order", order_id
    assert "order" in records
    assert is_information_question("can I bring my dog to the store?", records=records)
    assert not is_information_question("where is my order?", records=records)
    assert not is_information_question("can I bring my dog to the store?")  # no records given


def test_what_is_derived_from_the_intents_is_computed_once_per_intent_set() -> None:
    model = LocalModel.for_tests()
    first = model._view(INTENTS)
    assert model._view(list(INTENTS)) is first  # the same spec objects: reused
    other = model._view([CancelOrder.spec()])
    assert other is not first and other.labels == ["CancelOrder"] * len(other.texts)
    assert model._view(INTENTS) is not first  # a changed set is derived again


class Move(rk.Intent):
    """Update my address."""

    postcode: str = rk.Slot(ask="What's your postcode?")
    address: str = rk.Slot(ask="What's the new address?")


async def test_an_answer_fills_only_the_slot_asked(model: LocalModel) -> None:
    # The address holds a postcode; the postcode given (and verified) earlier stays.
    decision = await answer(
        model, "5 Elm Road, Leeds LS2 9JT", Move, "address", slots={"postcode": "LS3 3AB"}
    )
    assert decision == rk.FillSlots(slots={"address": "5 Elm Road, Leeds LS2 9JT"})


@pytest.mark.parametrize(
    "text", ["sorry, the postcode is LS1 1AA", "no wait, it should be LS1 1AA for the postcode"]
)
async def test_another_slot_named_or_corrected_is_changed(model: LocalModel, text: str) -> None:
    decision = await answer(model, text, Move, "address", slots={"postcode": "LS2 9JT"})
    assert isinstance(decision, rk.FillSlots)
    assert decision.slots["postcode"] == "LS1 1AA"
