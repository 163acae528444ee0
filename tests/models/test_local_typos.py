"""LocalModel's typo reading: the settings, and the second look that runs only for a message
out of scope or unsure."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

import resolvekit as rk
from resolvekit.messages import Message
from resolvekit.models import ModelRequest
from resolvekit.models.local import LocalModel
from resolvekit.models.local_rules import Prediction
from resolvekit.specs import IntentSpec
from resolvekit.understanding.embedders import HashingEmbedder

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from engine.shop import CancelOrder, OrderStatus

INTENTS = [CancelOrder.spec(), OrderStatus.spec()]
OPEN = frozenset({"start_intent", "answer_from_knowledge", "ask_clarification", "escalate"})


class Counting(LocalModel):
    """A LocalModel that records the texts it classifies."""

    def __init__(self, **settings: object) -> None:
        super().__init__(embedder=HashingEmbedder(), **settings)  # type: ignore[arg-type]
        self.classified: list[str] = []

    def classify(self, text: str, intents: Sequence[IntentSpec]) -> Prediction:
        self.classified.append(text)
        return super().classify(text, intents)


async def decide(model: LocalModel, text: str) -> rk.ModelResponse:
    messages = [Message(role="customer", text=text)]
    return await model.request(ModelRequest(allowed=OPEN, messages=messages, intents=INTENTS))


async def test_a_message_not_understood_is_read_again_with_its_typos_corrected() -> None:
    model = Counting()
    response = await decide(model, "pls cancle ordr")
    assert response.decision == rk.StartIntent(intent="CancelOrder")
    assert model.classified == ["pls cancle ordr", "please cancel order"]
    assert response.signals.respelled == [
        ("pls", "please"),
        ("cancle", "cancel"),
        ("ordr", "order"),
    ]


async def test_a_confident_message_is_classified_once() -> None:
    model = Counting()
    response = await decide(model, "cancel my order")
    assert isinstance(response.decision, rk.StartIntent)
    assert model.classified == ["cancel my order"]
    assert response.signals.respelled == []


async def test_typos_off_reads_messages_only_as_written() -> None:
    model = Counting(typos=False)
    response = await decide(model, "pls cancle ordr")
    assert not isinstance(response.decision, rk.StartIntent)
    assert model.classified == ["pls cancle ordr"]
    assert model.respelled("pls cancle ordr", INTENTS) is None
    model.typos = True  # a setting: applies at once, no refit
    assert (await decide(model, "pls cancle ordr")).decision == rk.StartIntent(intent="CancelOrder")


async def test_a_correction_that_does_not_help_is_not_taken() -> None:
    model = Counting()
    response = await decide(model, "wat is teh wether")
    assert len(model.classified) == 2  # read again, still not an intent: left as it was
    assert not isinstance(response.decision, rk.StartIntent)
    assert response.signals.respelled == []


async def test_a_request_for_a_person_is_read_with_its_typos() -> None:
    response = await decide(Counting(), "lemme tlak 2 sum1 real")
    assert isinstance(response.decision, rk.Escalate)
    assert response.signals.human_request
    assert ("tlak", "talk") in response.signals.respelled
    written = await decide(Counting(), "can i speak to a human")
    assert written.signals.respelled == []  # understood as written: no correction recorded


def test_known_words_are_never_corrected_and_are_corrected_towards() -> None:
    model = LocalModel(embedder=HashingEmbedder(), known_words=["Flexi fare", "SkyLink"])
    assert model.respelled("change my flexi fare on skylink", INTENTS) is None
    fixed = model.respelled("change my flexo fare on skylnk", INTENTS)
    assert fixed is not None and fixed.text == "change my flexi fare on skylink"
    assert LocalModel(embedder=HashingEmbedder()).respelled("skylnk", INTENTS) is None


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"typos": "yes"}, "typos must be True or False"),
        ({"known_words": "SkyLink"}, "not one string"),
        ({"known_words": ["ok", " "]}, "known_words must be non-empty strings"),
    ],
)
def test_bad_settings_are_user_errors(settings: dict[str, object], message: str) -> None:
    with pytest.raises(rk.UserError, match=message):
        LocalModel(**settings)  # type: ignore[arg-type]
    model = LocalModel()
    ((name, value),) = settings.items()
    with pytest.raises(rk.UserError, match=message):
        setattr(model, name, value)
    assert model.typos is True and model.known_words == ()


class FlightStatus(rk.Intent):
    """Customer asks whether a flight is on time."""

    examples = [
        "what is the status of flight RA306",
        "is my flight on time",
        "has flight RA412 been delayed",
        "status of my flight please",
    ]
    flight: str = rk.Slot(pattern=r"[A-Za-z]{2}\d{2,4}", ask="Which flight?")


class ChangeFlight(rk.Intent):
    """Customer wants to move a booked flight to another date."""

    examples = [
        "change my flight date",
        "I need to move my flight to another day",
        "can I rebook my flight for next week",
        "reschedule my booking",
    ]


OTHERS = {
    "BaggageAllowance": ["how many bags can I take", "what is the baggage allowance"],
    "CancelBooking": ["cancel my booking", "I want to cancel my trip"],
    "ChooseSeat": ["can I pick a window seat", "choose my seat"],
    "RequestRefund": ["I want my money back", "refund my ticket"],
    "CheckIn": ["check me in for my flight", "how do I check in online"],
    "SpecialMeal": ["I need a vegetarian meal", "order a special meal"],
    "UpdateContact": ["update my phone number", "change the email on my booking"],
}


def airline() -> rk.Agent[None]:
    agent: rk.Agent[None] = rk.Agent(model=LocalModel.for_tests(), store="memory://", handoff=[])

    async def done(ctx: rk.Context[None], intent: rk.Intent) -> rk.PlaybookOutcome:
        return ctx.resolve("done")

    for name, examples in OTHERS.items():
        doc = f"Customer: {examples[0]}."
        agent.playbook(type(name, (rk.Intent,), {"examples": examples, "__doc__": doc}))(done)

    @agent.playbook(FlightStatus)
    async def status(ctx: rk.Context[None], intent: FlightStatus) -> rk.PlaybookOutcome:
        return ctx.resolve(f"{intent.flight.upper()} is on time")

    @agent.playbook(ChangeFlight)
    async def change(ctx: rk.Context[None], intent: ChangeFlight) -> rk.PlaybookOutcome:
        return ctx.resolve("moved")

    return agent


@pytest.mark.parametrize(
    ("text", "intent", "reply"),
    [
        ("whats the staus of ra306", "FlightStatus", "RA306 is on time"),
        ("pls chnage my flite date", "ChangeFlight", "moved"),
    ],
)
async def test_the_reported_airline_messages(text: str, intent: str, reply: str) -> None:
    # Issue #15's messages, end to end: the flight number comes from the text as written. (This
    # small agent places them even as written; the tests above show what the reading adds.)
    read = await airline().handle("typed", text)
    assert (read.outcome, read.intent, read.reply) == ("resolved", intent, reply)


async def test_a_typo_ridden_request_for_a_person_while_a_slot_is_asked() -> None:
    agent = airline()
    asked = await agent.handle("c", "is my flight on time")
    assert asked.pending == "slot"
    handed = await agent.handle("c", "lemme tlak 2 sum1 real")
    assert handed.outcome == "escalated"
