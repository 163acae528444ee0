"""The demo suite's shop: orders, cancellations, address changes, refunds and a help centre.

The backend state is a plain dict (``{"orders": {...}, "refunds": [...]}``) given to the agent as
``deps``; tools read and change it through ``ctx.deps``.
"""

from __future__ import annotations

from typing import Any, Literal

from ..._text import normalize
from ...agent import Agent
from ...escalation import EscalationPolicy
from ...exceptions import ToolRefusal
from ...intents import Intent, Slot
from ...messages import Citation
from ...models import Model
from ...playbooks import Context, KnowledgeAnswer, PlaybookOutcome

__all__ = ["HelpCentre", "build_agent"]

Shop = dict[str, Any]
Reason = Literal["no longer needed", "ordered by mistake"]
ORDER_ID = r"W\d{4}"
REFUND_LIMIT = 100.0
"""Refunds above this need a person's approval."""


class OrderStatus(Intent):
    """Customer asks where an order is."""

    examples = ("where is my order", "track my package")
    order_id: str = Slot(pattern=ORDER_ID, ask="What is your order number?")


class CancelOrder(Intent):
    """Customer wants to cancel an order that has not shipped."""

    examples = ("cancel my order",)
    order_id: str = Slot(pattern=ORDER_ID, ask="What is your order number?")
    reason: Reason = Slot(ask="May I ask why you want to cancel?")


class ChangeAddress(Intent):
    """Customer wants an order delivered to another address."""

    examples = ("change my delivery address",)
    order_id: str = Slot(pattern=ORDER_ID, ask="What is your order number?")
    address: str = Slot(ask="What is the new delivery address?")


class RefundDamaged(Intent):
    """Customer received a damaged item and wants a refund."""

    examples = ("my item arrived broken", "refund for a damaged item")
    order_id: str = Slot(pattern=ORDER_ID, ask="What is your order number?")


class HelpCentre:
    """A tiny keyword-matched knowledge source standing in for a real index."""

    ARTICLES = (
        (
            "returns",
            "Returns",
            "You can return any item within 30 days of delivery for a full refund.",
            ("return", "returns", "days", "policy"),
        ),
        (
            "address",
            "Changing your address",
            "You can change a delivery address yourself: see https://help.example.com/address",
            ("address", "ship", "send", "deliver", "flat"),
        ),
        (
            "shipping",
            "Shipping times",
            "Orders ship within 2 business days.",
            ("shipping", "long", "arrive"),
        ),
    )

    async def answer(
        self, query: str, k: int = 3, *, model: Model | None = None
    ) -> KnowledgeAnswer:
        """The article sharing the most keywords with ``query`` (``k`` and ``model`` unused:
        one article, written by hand)."""
        words = set(normalize(query).split())
        scored = [(len(words & set(keys)), a) for a in self.ARTICLES for keys in [a[3]]]
        score, best = max(scored, key=lambda pair: pair[0])
        if score == 0:
            return KnowledgeAnswer(query=query, text="", answerable=False)
        doc_id, title, text, _ = best
        citation = Citation(doc_id=doc_id, title=title, source=f"https://help.example.com/{doc_id}")
        return KnowledgeAnswer(
            query=query, text=text, answerable=True, score=float(score), citations=[citation]
        )


def build_agent(model: Model | str | None = None) -> Agent[Shop]:
    """The demo shop's agent; ``model`` defaults to the deterministic keyword model."""
    from .model import keyword_model

    agent: Agent[Shop] = Agent(
        name="Demo shop",
        model=model if model is not None else keyword_model(),
        store="memory://",
        knowledge=HelpCentre(),
        escalation=EscalationPolicy(sentiment_floor=None),
    )

    @agent.tool
    async def get_order(ctx: Context[Shop], order_id: str) -> dict[str, Any]:
        """Look up an order.

        Args:
            order_id: the order number, e.g. W1001.
        """
        order = ctx.deps["orders"].get(order_id)
        if order is None:
            raise ToolRefusal(f"there is no order {order_id}")
        return {"id": order_id, **order}

    @agent.tool(effect="write", confirm=True)
    async def cancel_order(ctx: Context[Shop], order_id: str, reason: Reason) -> str:
        """Cancel a pending order."""
        order = ctx.deps["orders"][order_id]
        if order["status"] != "pending":
            raise ToolRefusal(f"order {order_id} is {order['status']}")
        order["status"] = "cancelled"
        return "cancelled"

    @agent.tool(effect="write", confirm=True)
    async def change_address(ctx: Context[Shop], order_id: str, address: str) -> str:
        """Change the delivery address of an order that has not shipped."""
        order = ctx.deps["orders"][order_id]
        if order["status"] != "pending":
            raise ToolRefusal(f"order {order_id} is {order['status']}")
        order["address"] = address
        return address

    @agent.tool(effect="write", confirm=True)
    async def issue_refund(ctx: Context[Shop], order_id: str, amount: float) -> float:
        """Refund an amount to the customer's payment method."""
        ctx.deps["refunds"].append({"order_id": order_id, "amount": amount})
        return amount

    @agent.playbook(OrderStatus)
    async def status(ctx: Context[Shop], intent: OrderStatus) -> PlaybookOutcome:
        order = await ctx.call(get_order, order_id=intent.order_id)
        if order["status"] == "shipped":
            return ctx.resolve(
                f"Order {intent.order_id} has shipped; tracking number {order['tracking']}."
            )
        return ctx.resolve(f"Order {intent.order_id} is {order['status']}.")

    @agent.playbook(CancelOrder)
    async def cancel(ctx: Context[Shop], intent: CancelOrder) -> PlaybookOutcome:
        order = await ctx.call(get_order, order_id=intent.order_id)
        if order["status"] != "pending":
            return ctx.refuse(
                f"order {intent.order_id} is {order['status']}",
                reply=f"Order {intent.order_id} has already shipped, so it can't be cancelled. "
                "You can return it within 30 days of delivery.",
            )
        if not await ctx.confirm(f"Shall I cancel order {intent.order_id} ({order['item']})?"):
            return ctx.resolve("customer kept the order", reply="OK, I've left it as it is.")
        await ctx.call(cancel_order, order_id=intent.order_id, reason=intent.reason)
        return ctx.resolve(f"Order {intent.order_id} has been cancelled.")

    @agent.playbook(ChangeAddress)
    async def readdress(ctx: Context[Shop], intent: ChangeAddress) -> PlaybookOutcome:
        order = await ctx.call(get_order, order_id=intent.order_id)
        if order["status"] != "pending":
            return ctx.refuse(
                f"order {intent.order_id} is {order['status']}",
                reply=f"Order {intent.order_id} has already shipped; its address can't change.",
            )
        question = f"Shall I send order {intent.order_id} to {intent.address}?"
        if not await ctx.confirm(question):
            return ctx.resolve("address kept", reply="OK, the address stays as it is.")
        await ctx.call(change_address, order_id=intent.order_id, address=intent.address)
        return ctx.resolve(f"Order {intent.order_id} will now go to {intent.address}.")

    @agent.playbook(RefundDamaged)
    async def refund(ctx: Context[Shop], intent: RefundDamaged) -> PlaybookOutcome:
        order = await ctx.call(get_order, order_id=intent.order_id)
        amount = float(order["total"])
        if amount > REFUND_LIMIT:
            return ctx.escalate(f"refund of ${amount:.2f} needs approval", priority="normal")
        if not await ctx.confirm(f"Shall I refund ${amount:.2f} for order {intent.order_id}?"):
            return ctx.resolve("no refund wanted", reply="OK, no refund then.")
        await ctx.call(issue_refund, order_id=intent.order_id, amount=amount)
        return ctx.resolve(f"I've refunded ${amount:.2f} for order {intent.order_id}.")

    return agent
