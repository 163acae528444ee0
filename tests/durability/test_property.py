"""Property: whatever the customer types and whatever the model answers, ``handle`` raises only
documented errors and no write runs without a recorded, engine-read yes.

Random conversations (several customers, message ids with redeliveries, ``reply_to`` values)
of random text (lone surrogates, NULs, control characters, 1 MB messages, refusals holding
yes-words) against a model that answers at random: any decision with random fields, garbage
objects, or exceptions of any type. Over the examples below that is more than 10,000 messages.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import resolvekit as rk
from resolvekit.models import Model, ModelRequest, ModelResponse, Signals
from resolvekit.understanding.consent import read_consent

from ..engine.shop import Backend, build_agent

DOCUMENTED = (rk.InvalidMessage, rk.UserError, rk.StoreError, rk.InternalError)
"""What ``Agent.handle`` may raise (docs/deployment.md, "Guarantees")."""

EXAMPLES = 220
MESSAGES = 50

WORDS = [
    "yes", "no", "I never said yes", "keep the order please", "ok?", "sure", "maybe",
    "cancel my order W1234567", "cancel W7654321", "where is W1234567", "by mistake",
    "no longer needed", "hmm", "yes W7654321", "👍", "nope, all good", "talk to a human",
    "\ud83d", "\udc00 yes", "\x00", "\x1b[2J", "yes\x00", " ", "", "🤖" * 3, "Ｙｅｓ",
]  # fmt: skip

HUGE = "<1 MB of text>"
"""Stands for a 1 MB message (expanded when sent, so a failing example prints short)."""

texts = st.one_of(
    st.sampled_from(WORDS),
    st.text(max_size=60),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=30),
    st.builds(lambda a, b: f"{a} {b}", st.sampled_from(WORDS), st.sampled_from(WORDS)),
    st.just(HUGE),
    st.just("yes " * 1500),
)

slot_values = st.one_of(
    st.sampled_from(["W1234567", "W7654321", "W0000000", "ordered by mistake", "nonsense"]),
    st.integers(),
    st.none(),
    st.text(max_size=10),
)
slots = st.dictionaries(st.sampled_from(["order_id", "reason", "color", ""]), slot_values)
intents = st.sampled_from(["CancelOrder", "OrderStatus", "Nope", ""])

decisions = st.one_of(
    st.builds(rk.StartIntent, intent=intents, slots=slots),
    st.builds(rk.FillSlots, slots=slots),
    st.builds(rk.Confirm, answer=st.sampled_from(["yes", "yes", "yes", "no", "unsure"])),
    st.builds(rk.AnswerFromKnowledge, query=st.text(max_size=20)),
    st.builds(rk.AskClarification, text=st.text(max_size=20), options=st.lists(intents)),
    st.builds(
        rk.CallTool,
        tool=st.sampled_from(["cancel_order", "get_order", "teleport"]),
        args=st.one_of(
            st.builds(lambda o: {"order_id": o, "reason": "ordered by mistake"}, slot_values),
            st.dictionaries(st.text(max_size=5), slot_values),
        ),
    ),
    st.builds(rk.Escalate, reason=st.text(max_size=20)),
    st.builds(rk.Reply, text=st.text(max_size=20), close=st.booleans()),
)

CANCEL = rk.StartIntent(
    intent="CancelOrder", slots={"order_id": "W1234567", "reason": "ordered by mistake"}
)
CALL = rk.CallTool(
    tool="cancel_order", args={"order_id": "W1234567", "reason": "ordered by mistake"}
)
likely = st.sampled_from([CANCEL, CALL, rk.Confirm(answer="yes"), rk.Confirm(answer="yes")])
"""What a model says on the way to a write: drawn often, so confirmations are attacked often."""

answers = st.one_of(
    likely.map(lambda d: ("decision", d)),
    decisions.map(lambda d: ("decision", d)),
    st.tuples(
        st.just("response"),
        st.builds(
            ModelResponse,
            decision=decisions,
            confidence=st.one_of(st.none(), st.floats(allow_nan=True)),
            alternatives=st.lists(st.tuples(intents, st.floats())),
            signals=st.builds(
                Signals,
                human_request=st.booleans(),
                sentiment=st.one_of(st.none(), st.floats(allow_nan=True)),
            ),
        ),
    ),
    st.sampled_from(
        [
            ("raise", OSError("reset")),
            ("raise", ValueError("bad")),
            ("raise", rk.ModelTimeout("slow")),
            ("raise", rk.UnexpectedModelBehavior("junk")),
            ("raise", KeyError("k")),
            ("garbage", None),
            ("garbage", {"kind": "nonsense"}),
            ("garbage", "yes"),
        ]
    ),
)


class ChaosModel(Model):
    """Answers with the next drawn behaviour, cycling."""

    name = "chaos"

    def __init__(self, script: list[tuple[str, Any]]) -> None:
        self.script = script
        self.n = 0

    async def request(self, request: ModelRequest) -> ModelResponse:
        kind, value = self.script[self.n % len(self.script)]
        self.n += 1
        if kind == "raise":
            raise value
        if kind == "decision":
            return ModelResponse(decision=value, confidence=1.0)
        return value  # type: ignore[no-any-return]  # a response, or garbage on purpose


messages = st.lists(
    st.tuples(
        st.integers(0, 2),  # customer
        texts,
        st.one_of(st.none(), st.integers(0, 8).map(str)),  # message id (redeliveries)
        st.one_of(st.none(), st.just("stale"), st.just("current")),  # reply_to
    ),
    min_size=MESSAGES,
    max_size=MESSAGES,
)


def check_writes(conversation: rk.Conversation) -> int:
    """Every completed write follows a confirmation that both the journal and the engine's own
    reader hold to be a yes; returns the number of completed writes."""
    writes = 0
    for run in conversation.runs:
        for position, step in enumerate(run.journal):
            if step.kind != "call" or step.key != "cancel_order" or step.status == "error":
                continue
            writes += 1
            earlier = [s for s in run.journal[:position] if s.kind == "confirm"]
            assert earlier, "a write with no confirmation before it"
            confirm = earlier[-1]
            assert confirm.status == "done" and confirm.result is True
            assert confirm.evidence is not None
            assert confirm.evidence["reader"] == "yes"
            assert read_consent(confirm.evidence["text"], confirm.key).answer == "yes"
    return writes


@pytest.mark.parametrize("free_mode", [False, True])
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(script=st.lists(answers, min_size=1, max_size=40), conversation=messages)
def test_handle_raises_only_documented_errors_and_never_writes_without_a_yes(
    free_mode: bool, script: list[tuple[str, Any]], conversation: list[Any]
) -> None:
    backend = Backend()
    agent = build_agent(backend, ChaosModel(script), free_mode=free_mode, handoff=[])
    last_question: dict[str, str | None] = {}

    async def play() -> None:
        for customer, text, message_id, reply_to in conversation:
            who = f"c{customer}"
            if reply_to == "current":
                reply_to = last_question.get(who)
            if text == HUGE:
                text = "x" * 1_000_000
            try:
                result = await agent.handle(who, text, message_id=message_id, reply_to=reply_to)
            except DOCUMENTED:
                continue
            last_question[who] = result.question_id
        writes = 0
        for n in range(3):
            open_one = await agent.store.open_conversation(f"c{n}")
            for stored in [open_one, *await agent.store.history(f"c{n}", limit=100)]:
                if stored is not None:
                    writes += check_writes(stored)
        assert len(backend.writes) == writes, "a write that is not in any journal"

    asyncio.run(play())
