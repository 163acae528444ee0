"""A multi-turn playbook conversation end to end: Agent + OpenAIModel + the fake OpenAI server."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import pytest
from _openai_server import FakeOpenAIServer, logprob_tokens, tool_call
from pydantic import BaseModel

import resolvekit as rk
from resolvekit.models.openai import OpenAIModel, OpenAISettings

pytestmark = pytest.mark.usefixtures("allow_openai_requests")

Reason = Literal["no longer needed", "ordered by mistake"]


class Order(BaseModel):
    id: str
    status: str


@dataclass
class Shop:
    orders: dict[str, str] = field(default_factory=lambda: {"W1234567": "pending"})
    cancelled: list[str] = field(default_factory=list)


class CancelOrder(rk.Intent):
    """Customer wants to cancel an order that has not shipped."""

    examples: ClassVar[list[str]] = ["cancel my order"]
    order_id: str = rk.Slot(pattern=r"#?W\d{7}", ask="What is the order number?")
    reason: Reason = rk.Slot(ask="Why do you want to cancel?")


def build(shop: Shop, model: rk.Model) -> rk.Agent[Shop]:
    agent: rk.Agent[Shop] = rk.Agent(
        name="Acme", model=model, deps=shop, store="memory://", raise_errors=True
    )

    @agent.tool(effect="read")
    def get_order(ctx: rk.Context[Shop], order_id: str) -> Order:
        """Look up an order."""
        order_id = order_id.lstrip("#")
        return Order(id=order_id, status=ctx.deps.orders[order_id])

    @agent.tool(effect="write", confirm=True)
    def cancel_order(ctx: rk.Context[Shop], order_id: str, reason: Reason) -> Order:
        """Cancel a pending order."""
        ctx.deps.cancelled.append(order_id)
        ctx.deps.orders[order_id] = "cancelled"
        return Order(id=order_id, status="cancelled")

    @agent.playbook(CancelOrder)
    async def cancel(ctx: rk.Context[Shop], intent: CancelOrder) -> rk.PlaybookOutcome:
        order = await ctx.call(get_order, order_id=intent.order_id)
        if not await ctx.confirm(f"Cancel order {order.id}?"):
            return ctx.resolve("customer kept the order")
        await ctx.call(cancel_order, order_id=order.id, reason=intent.reason)
        return ctx.resolve(f"Order {order.id} cancelled")

    return agent


def offered(body: dict[str, Any]) -> set[str]:
    return {t["function"]["name"] for t in body["tools"]}


async def test_cancel_order_conversation_over_the_wire(server: FakeOpenAIServer) -> None:
    shop = Shop()
    model = OpenAIModel(
        "gpt-4.1-mini",
        base_url=server.url,
        api_key="sk-test",
        settings=OpenAISettings(retry_initial=0.001, retry_max_wait=0.01),
    )
    agent = build(shop, model)
    name_tokens = logprob_tokens(('{"name": "', 0.0), ("start_cancel_order", -0.05), ('"}', 0.0))
    server.push(
        tool_call("start_cancel_order", {}, logprobs=name_tokens),
        # An invalid slot value first: corrected once inside the model, invisible to the engine.
        tool_call("fill_slots", {"order_id": "1234567"}),
        tool_call("fill_slots", {"order_id": "#W1234567", "confidence": 0.9}),
        tool_call("fill_slots", {"reason": "ordered by mistake", "confidence": 0.9}),
        tool_call("confirm", {"answer": "yes", "confidence": 0.95}),
    )

    first = await agent.handle("cust-1", "I want to cancel my order")
    assert first.outcome == "awaiting_customer"
    assert first.reply == "What is the order number?"
    assert first.confidence == pytest.approx(math.exp(-0.05))
    assert "fill_slots" not in offered(server.bodies[0])

    second = await agent.handle("cust-1", "It's #W1234567")
    assert second.reply == "Why do you want to cancel?"
    assert second.usage.requests == 2  # the correction is a second request in the same turn
    assert "does not match" in server.bodies[2]["messages"][-1]["content"]
    fill = server.bodies[1]["tools"]
    fill_params = next(t for t in fill if t["function"]["name"] == "fill_slots")["function"]
    assert {"order_id", "reason"} <= set(fill_params["parameters"]["properties"])

    third = await agent.handle("cust-1", "I ordered it by mistake")
    assert third.outcome == "awaiting_customer"
    assert third.reply is not None
    assert "Cancel order W1234567?" in third.reply
    assert shop.cancelled == []  # nothing written before the customer's yes

    fourth = await agent.handle("cust-1", "yes please")
    assert "confirm" in offered(server.bodies[4])
    assert fourth.outcome == "resolved"
    assert shop.cancelled == ["W1234567"]  # the write ran exactly once
    assert shop.orders["W1234567"] == "cancelled"
    assert fourth.confidence == pytest.approx(0.95)
    assert len(server.requests) == 5

    # The system prompt carried the playbook's state on the last turn.
    system = server.bodies[4]["messages"][0]["content"]
    assert "Active request: CancelOrder." in system
    assert "a yes/no confirmation" in system
    conversation = await agent.conversation("cust-1")
    assert conversation is not None
    assert conversation.usage.requests == 5
    assert conversation.usage.cost > 0
