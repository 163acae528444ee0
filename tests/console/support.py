"""An agent whose conversation was handed to a human, for the console tests: the engine tests'
order shop (get_order, cancel_order) with a small knowledge source and a reply target that
records what customers are sent."""

from __future__ import annotations

from typing import Any

import resolvekit as rk
from resolvekit.console import HumanReply
from tests.engine.shop import Backend, CancelOrder, build_agent

KEY = "console-test-key"


class Faq:
    """A knowledge source with one answer."""

    async def answer(self, query: str, k: int = 3, *, model: Any = None) -> rk.KnowledgeAnswer:
        if "refund" in query.lower():
            return rk.KnowledgeAnswer(
                query=query,
                text="Refunds reach your card within 5 business days.",
                answerable=True,
                citations=[rk.Citation(doc_id="refunds", title="Refund policy")],
            )
        return rk.KnowledgeAnswer(query=query, text="", answerable=False)


class Outbox:
    """A reply target that keeps what would be sent to customers."""

    def __init__(self) -> None:
        self.sent: list[HumanReply] = []

    def __call__(self, reply: HumanReply) -> None:
        self.sent.append(reply)


def shop_agent(backend: Backend, store: str = "memory://") -> rk.Agent[Backend]:
    """The engine tests' cancel agent (get_order, cancel_order) with a playbook that finds an
    order a human already cancelled and says so, naming its tools as strings."""
    agent = build_agent(backend, "test", handoff=[], knowledge=Faq(), store=store)

    async def cancel(ctx: rk.Context[Backend], intent: CancelOrder) -> rk.PlaybookOutcome:
        order = await ctx.call("get_order", order_id=intent.order_id)
        if order.status == "cancelled":
            return ctx.resolve(f"Order {order.id} is cancelled.")
        if order.status != "pending":
            return ctx.escalate(f"order {order.id} is {order.status}")
        if not await ctx.confirm(f"Cancel order {order.id}?"):
            return ctx.resolve("customer kept the order")
        await ctx.call("cancel_order", order_id=order.id, reason=intent.reason)
        return ctx.resolve(f"Order {order.id} cancelled")

    agent.playbooks["CancelOrder"] = cancel  # in place of the engine tests' playbook
    return agent


HANDED_OFF = [
    "I want to cancel order W1234567",
    "this is useless, when will my refund arrive? let me talk to a human",
]
"""The customer's messages: a cancellation, then a person asked for mid-request."""


async def hand_off(agent: rk.Agent[Backend], customer: str = "c-1") -> str:
    """Play :data:`HANDED_OFF` for ``customer``; returns the conversation id."""
    result = None
    for text in HANDED_OFF:
        result = await agent.handle(customer, text)
    assert result is not None and result.outcome == "escalated", result
    return result.conversation_id
