"""OpenTelemetry traces of turns: the span tree a turn exports, its timing, its errors, and that
nothing the customer wrote reaches a span unredacted."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

import resolvekit as rk
from resolvekit.knowledge import KnowledgeBase
from resolvekit.models.base import ModelResponse
from resolvekit.tracing import TURN_SPAN, customer_hash, instrument, is_instrumented
from resolvekit.understanding.embedders import HashingEmbedder

from .engine.shop import Backend, build_agent

pytest.importorskip("opentelemetry.sdk")

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)
from opentelemetry.trace import StatusCode

FAQ = [
    {"question": "How long do I have to return an item?",
     "answer": "You can return items within 30 days of delivery for a full refund."},
]  # fmt: skip

EMAIL, CARD, PHONE = "jane.doe@example.com", "4111 1111 1111 1111", "+44 20 7946 0958"
PII = f"my email is {EMAIL}, card {CARD}, phone {PHONE}"


@pytest.fixture
def exported() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


def traced_agent(model: rk.Model, provider: TracerProvider, **options: Any) -> rk.Agent[Backend]:
    agent = build_agent(Backend(), model, handoff=[], **options)
    instrument(agent, tracer_provider=provider)
    return agent


def turns(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.name == TURN_SPAN]


def tree(exporter: InMemorySpanExporter, root: ReadableSpan) -> list[Any]:
    """``root``'s children as ``[name, [children...]]`` in start order (names only)."""
    spans = exporter.get_finished_spans()
    assert root.context is not None

    def below(span_id: int) -> list[Any]:
        children = sorted(
            (s for s in spans if s.parent is not None and s.parent.span_id == span_id),
            key=lambda s: s.start_time or 0,
        )
        return [
            [c.name, below(c.context.span_id)] if c.context and below(c.context.span_id) else c.name
            for c in children
        ]

    return below(root.context.span_id)


def only(exporter: InMemorySpanExporter, name: str) -> ReadableSpan:
    (span,) = [s for s in exporter.get_finished_spans() if s.name == name]
    return span


async def test_a_conversation_exports_the_expected_span_tree_per_turn(
    exported: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = exported
    kb = KnowledgeBase(embedder=HashingEmbedder())
    kb.add(FAQ)
    model = rk.ScriptedModel(
        [
            rk.StartIntent(intent="CancelOrder", slots={"order_id": "W1234567"}),
            rk.FillSlots(slots={"reason": "no longer needed"}),
            rk.Confirm(answer="yes"),
            rk.AnswerFromKnowledge(query="how long do I have to return an item"),
        ]
    )
    agent = traced_agent(model, provider, knowledge=kb)
    await agent.handle("cust-1", "cancel order W1234567", channel="web")
    await agent.handle("cust-1", "no longer needed")
    await agent.handle("cust-1", "yes")
    await agent.handle("cust-1", "how long do I have to return an item?")

    first, second, third, fourth = turns(exporter)
    assert tree(exporter, first) == ["chat scripted"]  # asks for the reason
    assert tree(exporter, second) == [
        "chat scripted",
        ["resolvekit.playbook CancelOrder", ["execute_tool get_order"]],
    ]
    assert tree(exporter, third) == [
        "chat scripted",
        ["resolvekit.playbook CancelOrder", ["execute_tool cancel_order"]],
    ]
    assert tree(exporter, fourth) == ["chat scripted", "retrieval knowledge"]

    assert dict(first.attributes or {}) == {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": "Acme",
        "resolvekit.customer.hash": customer_hash("cust-1"),
        "resolvekit.channel": "web",
        "resolvekit.message_id.present": False,
        "resolvekit.conversation_id": first.attributes["resolvekit.conversation_id"],  # type: ignore[index]
        "resolvekit.intent": "CancelOrder",
        "resolvekit.outcome": "awaiting_customer",
        "resolvekit.confidence": 1.0,
        "resolvekit.duplicate": False,
        "resolvekit.pending": "slot",
    }
    assert [(e.name, dict(e.attributes or {})) for e in first.events] == [
        ("playbook", {"resolvekit.event": "start", "resolvekit.intent": "CancelOrder"}),
        ("slot", {"resolvekit.event": "set", "resolvekit.slot": "order_id"}),
    ]
    assert third.attributes is not None and third.attributes["resolvekit.outcome"] == "resolved"
    chat = next(s for s in exporter.get_finished_spans() if s.parent == third.context)
    assert dict(chat.attributes or {}) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "scripted",
        "resolvekit.decision": "confirm",
        "resolvekit.confidence": 1.0,
        "resolvekit.attempt": 0,
    }
    write = only(exporter, "execute_tool cancel_order")
    assert dict(write.attributes or {}) == {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "cancel_order",
        "resolvekit.tool.status": "done",
        "resolvekit.tool.effect": "write",
        "resolvekit.tool.idempotency_key": False,
    }
    assert write.status.status_code == StatusCode.UNSET
    done = [s for s in exporter.get_finished_spans() if s.name.startswith("resolvekit.playbook")]
    assert [(s.attributes or {}).get("resolvekit.playbook.outcome") for s in done] == [
        None,  # the second turn's run waits for the confirmation
        "resolved",
    ]
    retrieval = only(exporter, "retrieval knowledge").attributes or {}
    assert retrieval["gen_ai.retrieval.query.text"] == "how long do I have to return an item"
    assert (
        retrieval["resolvekit.knowledge.answerable"],
        retrieval["resolvekit.knowledge.hits"],
    ) == (
        True,
        1,
    )
    assert isinstance(retrieval["resolvekit.knowledge.top_score"], float)
    assert all(
        s.context.trace_id == s.parent.trace_id
        for s in exporter.get_finished_spans()
        if s.parent and s.context
    )


async def test_an_escalating_turn_has_a_handoff_span(
    exported: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = exported
    model = rk.ScriptedModel(
        [
            rk.StartIntent(
                intent="CancelOrder", slots={"order_id": "W5555555", "reason": "no longer needed"}
            )
        ]
    )
    agent = traced_agent(model, provider)
    result = await agent.handle("c", "cancel W5555555, no longer needed")
    assert result.outcome == "escalated"
    (turn,) = turns(exporter)
    assert tree(exporter, turn) == [
        "chat scripted",
        ["resolvekit.playbook CancelOrder", ["execute_tool get_order"]],
        "resolvekit.handoff",
    ]
    handoff = only(exporter, "resolvekit.handoff").attributes or {}
    assert (handoff["resolvekit.handoff.reason"], handoff["resolvekit.handoff.priority"]) == (
        "order already shipped",
        "normal",
    )
    playbook = only(exporter, "resolvekit.playbook CancelOrder").attributes or {}
    assert playbook["resolvekit.playbook.outcome"] == "escalated"
    assert (turn.attributes or {})["resolvekit.outcome"] == "escalated"


async def test_a_tool_that_raises_records_an_error_status(
    exported: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = exported
    model = rk.ScriptedModel([rk.StartIntent(intent="OrderStatus", slots={"order_id": "W0000000"})])
    agent = traced_agent(model, provider)
    await agent.handle("c", "where is W0000000")
    failed = only(exporter, "execute_tool get_order")
    assert failed.status.status_code == StatusCode.ERROR
    assert failed.status.description == "no order W0000000"
    assert (failed.attributes or {})["error.type"] == "refused"
    assert (failed.attributes or {})["resolvekit.tool.status"] == "error"


async def test_spans_carry_the_real_start_and_end_of_each_step(
    exported: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = exported
    agent = rk.Agent(name="Slow", model=rk.ScriptedModel([
        rk.CallTool(tool="slow_lookup", args={}), rk.Reply(text="done"),
    ]), store="memory://", free_mode=True, handoff=[])  # fmt: skip

    @agent.tool(effect="read")
    async def slow_lookup() -> str:
        """Takes a while."""
        with trace.get_tracer("mine", tracer_provider=provider).start_as_current_span("inner"):
            await asyncio.sleep(0.05)
        return "ok"

    instrument(agent, tracer_provider=provider)
    await agent.handle("c", "look it up")
    (turn,) = turns(exporter)
    # The tool's own span nests under the turn (open while it runs), beside its call's span.
    assert tree(exporter, turn) == [
        "chat scripted",
        "execute_tool slow_lookup",
        "inner",
        "chat scripted",
    ]
    call = only(exporter, "execute_tool slow_lookup")
    inner = only(exporter, "inner")
    assert call.start_time and call.end_time and inner.start_time and inner.end_time
    assert call.end_time - call.start_time >= 45_000_000  # the sleep is inside the span
    for span in exporter.get_finished_spans():
        if span is not turn:
            assert turn.start_time <= span.start_time <= span.end_time <= turn.end_time  # type: ignore[operator]


async def test_customer_pii_never_reaches_an_exported_span(
    exported: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = exported

    def model(request: rk.ModelRequest) -> Any:
        if "returns" in request.text:
            return rk.AnswerFromKnowledge(query=request.text)
        return rk.Escalate(reason=f"customer says: {request.text}", priority="high")

    kb = KnowledgeBase(embedder=HashingEmbedder())
    kb.add(FAQ)
    agent = traced_agent(rk.FunctionModel(model), provider, knowledge=kb)
    await agent.handle(EMAIL, f"returns? {PII}", channel=f"sms {PHONE}")
    await agent.handle(EMAIL, f"a person please, {PII}")
    shown = _everything(exporter.get_finished_spans())
    assert "customer says" in shown and "returns?" in shown  # the strings are there, masked
    for secret in (EMAIL, CARD, PHONE, "4111111111111111", "7946"):
        assert secret not in shown

    raw = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(raw))
    other = build_agent(Backend(), rk.FunctionModel(model), handoff=[], knowledge=kb)
    instrument(other, tracer_provider=provider, redactor=None)
    await other.handle("someone", f"a person please, {PII}")
    assert EMAIL in _everything(raw.get_finished_spans())  # the test would see a leak


def _everything(spans: Any) -> str:
    parts: list[str] = []
    for span in spans:
        parts += [span.name, str(span.status.description)]
        parts += [f"{k}={v}" for k, v in (span.attributes or {}).items()]
        for event in span.events:
            parts += [event.name, *(f"{k}={v}" for k, v in (event.attributes or {}).items())]
    return "\n".join(parts)


async def test_a_refused_message_ends_the_turn_span_in_error(
    exported: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = exported
    agent = traced_agent(rk.ScriptedModel([]), provider)
    with pytest.raises(rk.InvalidMessage):
        await agent.handle("c", "   ")
    with pytest.raises(rk.UserError):  # the same error as untraced, not one of tracing's
        await agent.handle(None, "hello")  # type: ignore[arg-type]
    refused, bad_id = turns(exporter)
    assert refused.status.status_code == StatusCode.ERROR
    assert (refused.attributes or {})["error.type"] == "InvalidMessage"
    assert (bad_id.attributes or {})["error.type"] == "UserError"


async def test_a_duplicate_delivery_is_a_turn_span_marked_duplicate_with_no_steps(
    exported: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = exported
    agent = traced_agent(rk.ScriptedModel([rk.Reply(text="hello")]), provider)
    await agent.handle("c", "hi", message_id="m1")
    await agent.handle("c", "hi", message_id="m1")
    first, again = turns(exporter)
    assert (first.attributes or {})["resolvekit.duplicate"] is False
    assert (again.attributes or {})["resolvekit.duplicate"] is True
    assert (again.attributes or {})["resolvekit.message_id.present"] is True
    assert tree(exporter, again) == []


async def test_token_usage_follows_the_genai_conventions(
    exported: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = exported
    counted = ModelResponse(
        decision=rk.Reply(text="hi"),
        usage=rk.Usage(requests=1, prompt_tokens=120, completion_tokens=7),
        model_name="gpt-test",
    )
    agent = traced_agent(rk.ScriptedModel([counted]), provider)
    await agent.handle("c", "hello")
    chat = only(exporter, "chat gpt-test").attributes or {}
    assert (chat["gen_ai.usage.input_tokens"], chat["gen_ai.usage.output_tokens"]) == (120, 7)
    (turn,) = turns(exporter)
    assert (turn.attributes or {})["gen_ai.usage.input_tokens"] == 120


def test_tracing_is_off_by_default_and_one_argument_turns_it_on() -> None:
    assert not is_instrumented(rk.Agent(model="test", store="memory://"))
    agent = rk.Agent(model="test", store="memory://", tracing=True)
    assert is_instrumented(agent)
    handle = agent.handle
    instrument(agent)  # again: unchanged, not wrapped twice
    assert agent.handle is handle


async def test_a_customer_key_makes_the_customer_hash_unguessable(
    exported: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = exported
    agent = build_agent(Backend(), rk.ScriptedModel([rk.Reply(text="hi")]), handoff=[])
    instrument(agent, tracer_provider=provider, customer_key="k1")
    await agent.handle("+15550109999", "hello")
    (turn,) = turns(exporter)
    shown = (turn.attributes or {})["resolvekit.customer.hash"]
    assert shown == customer_hash("+15550109999", "k1") != customer_hash("+15550109999")
    assert customer_hash("+15550109999", "k2") != shown


async def test_a_turn_from_the_email_webhook_is_traced_under_the_resolved_customer(
    exported: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    pytest.importorskip("starlette")
    import json

    from resolvekit.serve.channels import Channels
    from resolvekit.serve.signing import signed_headers

    from .serve.conftest import client_for

    provider, exporter = exported
    agent = traced_agent(rk.ScriptedModel([rk.Reply(text="hi Jane")]), provider)
    app = agent.to_asgi(channels=Channels(secret="s", resolve_customer=lambda c, a: "c-42"))
    payload = {"from": "jane@example.com", "text": "hello", "message_id": "m1"}
    body = json.dumps(payload).encode()
    async with client_for(app) as client:
        signed = signed_headers("s", body)
        answered = await client.post("/v1/channels/email", content=body, headers=signed)
    assert answered.json()["send"]["text"] == "hi Jane"
    (turn,) = turns(exporter)
    attributes = turn.attributes or {}
    assert (attributes["resolvekit.channel"], attributes["resolvekit.customer.hash"]) == (
        "email",
        customer_hash("c-42"),
    )


async def test_a_tool_that_crashes_records_its_error_kind_and_a_redacted_message(
    exported: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = exported
    model = rk.ScriptedModel([rk.CallTool(tool="charge", args={}), rk.Reply(text="sorry")])
    agent = rk.Agent(name="Pay", model=model, store="memory://", free_mode=True, handoff=[])

    @agent.tool(effect="read")
    def charge() -> str:
        """Charge the card on file."""
        raise RuntimeError(f"card {CARD} declined for {EMAIL}")

    instrument(agent, tracer_provider=provider)
    await agent.handle("c", "charge me")
    failed = only(exporter, "execute_tool charge")
    assert failed.status.status_code == StatusCode.ERROR
    assert (failed.attributes or {})["error.type"] == "exception"
    assert "declined" in str(failed.status.description)
    assert CARD not in str(failed.status.description)
    assert EMAIL not in str(failed.status.description)
