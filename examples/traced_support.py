"""Traced support: every turn of a small order agent exported as an OpenTelemetry span tree.

Run it (offline, on the deterministic test model; needs ``pip install 'resolvekit[otel]'``):

    .venv/bin/python examples/traced_support.py

It prints each turn's spans as a tree, with their durations and a few attributes. Swap the
in-memory exporter for an OTLP one (``opentelemetry-exporter-otlp``) to see the same trees in
Jaeger, Tempo or Honeycomb. The customer writes their email address and card number: look for
them in the output, they are masked (see docs/observability.md).
"""

from __future__ import annotations

import asyncio

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import resolvekit as rk
from resolvekit.tracing import TURN_SPAN, instrument

ORDERS = {"W1000001": "pending", "W1000002": "shipped"}
SHOWN = ("resolvekit.outcome", "resolvekit.intent", "gen_ai.tool.name", "error.type",
         "resolvekit.handoff.reason", "resolvekit.channel")  # fmt: skip


class CancelOrder(rk.Intent):
    """Customer wants to cancel an order."""

    examples = ["cancel my order", "I want to cancel order W1000001"]
    order_id: str = rk.Slot(pattern=r"#?W\d{7}", ask="What is the order number?")


agent: rk.Agent[None] = rk.Agent(name="Traced shop", model="test", store="memory://", handoff=[])


@agent.tool(effect="read")
def order_status(order_id: str) -> str:
    """The order's status."""
    return ORDERS.get(order_id, "unknown")


@agent.tool(effect="write", confirm=True)
def cancel_order(order_id: str) -> str:
    """Cancel a pending order."""
    ORDERS[order_id] = "cancelled"
    return "cancelled"


@agent.playbook(CancelOrder)
async def cancel(ctx: rk.Context[None], intent: CancelOrder) -> rk.PlaybookOutcome:
    if await ctx.call(order_status, order_id=intent.order_id) != "pending":
        return ctx.escalate("order already shipped")
    if not await ctx.confirm(f"Cancel order {intent.order_id}?"):
        return ctx.resolve("kept")
    await ctx.call(cancel_order, order_id=intent.order_id)
    return ctx.resolve(f"Order {intent.order_id} cancelled")


DEMO = [
    ("c-1", "I want to cancel order W1000001, email me at jane@example.com"),
    ("c-1", "yes"),
    ("c-2", "cancel order W1000002, my card is 4111 1111 1111 1111"),
]


def render(spans: list[ReadableSpan]) -> list[str]:
    """Each turn's spans as an indented tree: name, milliseconds, chosen attributes."""
    children: dict[int | None, list[ReadableSpan]] = {}
    for span in spans:
        children.setdefault(span.parent.span_id if span.parent else None, []).append(span)
    lines: list[str] = []

    def walk(span: ReadableSpan, depth: int) -> None:
        ms = ((span.end_time or 0) - (span.start_time or 0)) / 1e6
        attributes = span.attributes or {}
        shown = ", ".join(f"{k.split('.')[-1]}={attributes[k]!s}" for k in SHOWN if k in attributes)
        lines.append(f"{'  ' * depth}{span.name}  {ms:.2f} ms  {shown}".rstrip())
        below = children.get(span.context.span_id if span.context else None, [])
        for child in sorted(below, key=lambda s: s.start_time or 0):
            walk(child, depth + 1)

    for root in children.get(None, []):
        if root.name == TURN_SPAN:
            walk(root, 0)
    return lines


async def demo() -> list[str]:
    """Play the demo turns with tracing on; print and return the rendered trees."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrument(agent, tracer_provider=provider)  # or rk.Agent(..., tracing=True)
    await agent.warm_up()  # so the first turn's span times the turn, not the model's loading
    for customer, text in DEMO:
        await agent.handle(customer, text, channel="chat")
    lines = render(list(exporter.get_finished_spans()))
    print("\n".join(lines))
    provider.shutdown()
    return lines


if __name__ == "__main__":
    asyncio.run(demo())
