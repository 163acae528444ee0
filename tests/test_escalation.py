"""Escalation in detail: when the policy hands over, and what the packet a human receives holds
(actions, knowledge, transcript, summary, the suggested next step) and how it is delivered."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import resolvekit as rk
from resolvekit.delivery import CallbackTarget, JSONLQueue
from resolvekit.escalation import PolicyInput
from resolvekit.handoffs import Handoff, build_handoff, redact, redact_handoff, summarize
from resolvekit.sessions import FREE_RUN, Conversation, PlaybookRun, Step


def observed(**changes: Any) -> PolicyInput:
    values: dict[str, Any] = {
        "intent": "CancelOrder",
        "confidence": 0.9,
        "clarifications": 0,
        "tool_failures": 0,
        "human_request": False,
        "sentiment": 0.0,
        "text": "cancel my order",
    }
    return PolicyInput(**{**values, **changes})


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, None),
        ({"human_request": True}, ("customer asked for a human", "normal")),
        ({"intent": "Bereavement"}, ("intent Bereavement always needs a human", "normal")),
        ({"intent": None}, None),
        ({"sentiment": -0.61}, ("customer is upset", "high")),
        ({"sentiment": -0.6}, None),  # at the floor is not below it
        ({"sentiment": None}, None),
        ({"tool_failures": 2}, ("2 tool failures", "high")),
        ({"tool_failures": 1}, None),
        ({"clarifications": 3}, ("the agent could not understand the request", "normal")),
        ({"clarifications": 2}, None),
        ({"text": "I want to speak to a lawyer"}, ("legal threat", "normal")),
    ],
)
def test_the_policy_hands_over_for_each_reason(
    changes: dict[str, Any], expected: tuple[str, str] | None
) -> None:
    policy = rk.EscalationPolicy(
        always_human=frozenset({"Bereavement"}),
        rule=lambda seen: "legal threat" if "lawyer" in seen.text else "",
    )
    assert policy.check(observed(**changes)) == expected


def test_the_policy_checks_in_order_and_can_be_relaxed() -> None:
    everything = observed(
        human_request=True, sentiment=-1.0, tool_failures=5, clarifications=5, intent="X"
    )
    assert rk.EscalationPolicy().check(everything) == ("customer asked for a human", "normal")
    relaxed = rk.EscalationPolicy(
        honour_human_request=False,
        sentiment_floor=None,
        max_tool_failures=10,
        max_clarifications=10,
    )
    assert relaxed.check(everything) is None
    assert relaxed.check(observed(human_request=True)) is None


def conversation() -> Conversation:
    conv = Conversation(id="conv-1", customer_id="c-42", channel="email")
    conv.transcript += [
        rk.Message(role="customer", text="cancel W1234567 and email jane@example.com"),
        rk.Message(role="tool", text='{"secret": "tool output"}'),
        rk.Message(role="agent", text="Cancel order W1234567?"),
        rk.Message(role="customer", text="yes"),
    ]
    run = PlaybookRun(id="r1", intent="CancelOrder", status="resolved", summary="cancelled")
    run.slots = {"order_id": "W1234567", "reason": "no longer needed"}
    run.journal = [
        Step(index=0, kind="search", key="cancellation policy"),
        Step(index=1, kind="call", key="get_order", args={"order_id": "W1234567"}, effect="read"),
        Step(index=2, kind="confirm", key="Cancel order W1234567?", result=True),
        Step(index=3, kind="call", key="cancel_order", args={"order_id": "W1234567"},
             effect="write", result={"status": "cancelled"}),
    ]  # fmt: skip
    free = PlaybookRun(id=FREE_RUN, intent=FREE_RUN, status="free")
    free.journal = [
        Step(index=0, kind="call", key="ping", status="error", error={"kind": "timeout"}),
        Step(index=1, kind="call", key="pong"),
    ]
    conv.runs = [run, free]
    conv.facts = {"email": "jane@example.com"}
    return conv


def packet(conv: Conversation, **changes: Any) -> Handoff:
    options: dict[str, Any] = {
        "reason": "customer asked for a human",
        "priority": "high",
        "confidence": 0.5,
        "intent": "CancelOrder",
        "slots": {"order_id": "W1234567"},
        "pending_action": None,
        "error": None,
        "redactor": None,
    }
    return build_handoff(conv, **{**options, **changes})


def test_the_packet_holds_every_action_query_and_message() -> None:
    handoff = packet(conversation())
    assert (handoff.conversation_id, handoff.customer_id, handoff.channel) == (
        "conv-1",
        "c-42",
        "email",
    )
    assert (handoff.reason, handoff.priority, handoff.confidence, handoff.intent) == (
        "customer asked for a human",
        "high",
        0.5,
        "CancelOrder",
    )
    assert handoff.slots == {"order_id": "W1234567"}
    assert handoff.facts == {"email": "jane@example.com"}
    assert [a.model_dump() for a in handoff.actions] == [
        {"tool": "get_order", "args": {"order_id": "W1234567"}, "status": "done",
         "result": None, "error": None, "effect": "read", "intent": "CancelOrder",
         "human": None},
        {"tool": "cancel_order", "args": {"order_id": "W1234567"}, "status": "done",
         "result": {"status": "cancelled"}, "error": None, "effect": "write",
         "intent": "CancelOrder", "human": None},
        {"tool": "ping", "args": {}, "status": "error", "result": None,
         "error": {"kind": "timeout"}, "effect": None, "intent": None, "human": None},
        {"tool": "pong", "args": {}, "status": "done", "result": None,
         "error": None, "effect": None, "intent": None, "human": None},
    ]  # fmt: skip
    assert handoff.knowledge == ["cancellation policy"]
    assert [(m["role"], m["text"], m["channel"]) for m in handoff.transcript] == [
        ("customer", "cancel W1234567 and email jane@example.com", "chat"),
        ("agent", "Cancel order W1234567?", "chat"),
        ("customer", "yes", "chat"),
    ]
    assert all(isinstance(m["at"], float) for m in handoff.transcript)
    assert handoff.error is None and handoff.pending_action is None
    assert len(handoff.resume_token) >= 16
    assert packet(conversation()).resume_token != handoff.resume_token


def test_the_summary_says_what_was_asked_and_done() -> None:
    conv = conversation()
    expected = (
        "Customer c-42 on email, 2 message(s). cancel order (order_id=W1234567, reason=no "
        "longer needed): resolved - cancelled; tools used directly: ping, pong."
    )
    assert summarize(conv) == expected
    assert packet(conv).summary == expected + " Handed over because: customer asked for a human."
    assert packet(conv, summary="The model's summary.").summary == "The model's summary."


def test_the_summary_of_an_empty_conversation() -> None:
    conv = Conversation(id="conv-2", customer_id="c-7")
    assert summarize(conv) == "Customer c-7 on chat, 0 message(s). No request identified."
    conv.runs = [
        PlaybookRun(id=FREE_RUN, intent=FREE_RUN, status="free"),
        PlaybookRun(id="r", intent="OrderStatus", status="collecting"),
    ]
    assert summarize(conv) == "Customer c-7 on chat, 0 message(s). order status: collecting."


@pytest.mark.parametrize(
    ("pending", "writes", "expected"),
    [
        ("Cancel order W1234567?", True,
         "The agent was waiting for the customer's answer to: 'Cancel order W1234567?'."),
        (None, True,
         "Check the completed changes above and follow up on the reason for handoff."),
        (None, False, "No change was made; take the request from the summary above."),
    ],
)  # fmt: skip
def test_the_suggested_next_step(pending: str | None, writes: bool, expected: str) -> None:
    conv = conversation()
    if not writes:
        conv.runs[0].journal[3].status = "error"
    assert packet(conv, pending_action=pending).suggested_next_step == expected


def test_only_identifiers_escape_redaction() -> None:
    conv = conversation()
    conv.customer_id = "jane@example.com"
    handoff = packet(
        conv,
        reason="call me on +44 20 7946 0958",
        error="ToolError: card 4111 1111 1111 1111",
        redactor=rk.Redactor(),
    )
    assert handoff.customer_id == "jane@example.com"  # an identifier: kept to look it up
    assert handoff.reason == "call me on [phone ****58]"
    assert handoff.error == "ToolError: card [card ****1111]"
    assert handoff.facts == {"email": "j***@example.com"}
    assert handoff.transcript[0]["text"] == "cancel W1234567 and email j***@example.com"
    assert redact_handoff(handoff, None) is handoff
    assert redact("jane@example.com") == "j***@example.com"


async def test_a_callback_target_takes_sync_and_async_callables() -> None:
    got: list[str] = []

    async def later(handoff: Handoff) -> None:
        got.append("async " + handoff.reason)

    handoff = packet(conversation())
    await CallbackTarget(lambda h: got.append("sync " + h.reason)).deliver(handoff)  # type: ignore[func-returns-value]
    await CallbackTarget(later).deliver(handoff)
    assert got == ["sync customer asked for a human", "async customer asked for a human"]


async def test_the_jsonl_queue_appends_one_masked_line_per_packet(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "folder" / "handoffs.jsonl"
    queue = JSONLQueue(path)
    assert queue.read() == []
    first = packet(conversation(), reason="email jane@example.com")
    await queue.deliver(first)
    await queue.deliver(packet(conversation(), reason="second"))
    with path.open("a", encoding="utf-8") as handle:
        handle.write("\n   \n")  # blank lines are skipped
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(lines) == 2 and json.loads(lines[0])["reason"] == "email j***@example.com"
    read = queue.read()
    assert [h.reason for h in read] == ["email j***@example.com", "second"]
    assert read[0].resume_token == first.resume_token
    raw = JSONLQueue(tmp_path / "raw.jsonl", redactor=None)
    await raw.deliver(first)
    assert raw.read()[0].reason == "email jane@example.com"


async def test_a_handoff_from_a_turn_carries_the_pending_question_and_the_error() -> None:
    from tests.engine.shop import Backend, build_agent

    model = rk.ScriptedModel(
        [
            rk.StartIntent(intent="CancelOrder", slots={"order_id": "W1234567"}),
            rk.Escalate(reason="customer wants a manager", priority="urgent"),
        ]
    )
    agent = build_agent(Backend(), model, handoff=[])
    await agent.handle("c", "cancel W1234567")
    result = await agent.handle("c", "get me your manager")
    handoff = result.handoff
    assert handoff is not None
    assert (handoff.reason, handoff.priority, handoff.intent) == (
        "customer wants a manager",
        "urgent",
        "CancelOrder",
    )
    assert handoff.pending_action == "Why do you want to cancel?"
    assert handoff.slots == {"order_id": "W1234567"}
    assert handoff.error is None
