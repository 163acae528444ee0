"""Order support: a small shop agent that resolves requests offline.

Run the demo conversations (offline, on LocalModel):

    .venv/bin/python examples/order_support.py

or talk to it yourself:

    .venv/bin/python examples/order_support.py --chat

It shows the three things resolvekit is for: a playbook that *changes* the backend (cancel an
order, change an address) after an explicit yes, a read that answers from the system of record
(order status), and a handoff with the whole context when judgement is needed (a shipped order).
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel

import resolvekit as rk
from resolvekit.chat import chat

Reason = Literal["no longer needed", "ordered by mistake"]


class Order(BaseModel):
    id: str
    status: Literal["pending", "shipped", "delivered", "cancelled"]
    item: str
    address: str


@dataclass
class Shop:
    """The system of record: orders by id, per customer."""

    orders: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {
            "W1000001": {"id": "W1000001", "status": "pending", "item": "desk lamp",
                         "address": "12 Oak St, Springfield 12345", "customer": "c-1"},
            "W1000002": {"id": "W1000002", "status": "shipped", "item": "office chair",
                         "address": "12 Oak St, Springfield 12345", "customer": "c-1"},
            "W2000001": {"id": "W2000001", "status": "pending", "item": "bookshelf",
                         "address": "9 Elm Rd, Shelbyville 54321", "customer": "c-2"},
        }
    )  # fmt: skip


class OrderStatus(rk.Intent):
    """Customer asks where an order is or what its status is."""

    examples = [
        "where is my order",
        "has my package shipped yet",
        "what's the status of order W1000001",
        "track my order",
        "when will my order arrive",
    ]
    order_id: str = rk.Slot(pattern=r"#?W\d{7}", ask="What is your order number? It starts with W.")


class CancelOrder(rk.Intent):
    """Customer wants to cancel an order that has not shipped."""

    examples = [
        "cancel my order",
        "I want to cancel order W1000001",
        "please cancel my purchase",
        "I don't want the lamp anymore, cancel it",
        "stop my order",
    ]
    order_id: str = rk.Slot(pattern=r"#?W\d{7}", ask="Which order should I cancel?")
    reason: Reason = rk.Slot(
        ask="Why would you like to cancel: no longer needed, or ordered by mistake?",
        synonyms={
            "no longer needed": ["don't need it", "do not need it", "changed my mind"],
            "ordered by mistake": ["by mistake", "by accident", "wrong item", "mistake"],
        },
    )


class ChangeAddress(rk.Intent):
    """Customer wants to change the delivery address of an order."""

    examples = [
        "change my delivery address",
        "ship it to a different address",
        "I moved, update the shipping address",
        "wrong address on my order",
    ]
    order_id: str = rk.Slot(pattern=r"#?W\d{7}", ask="Which order is it for?")
    address: str = rk.Slot(ask="What is the new address?")


agent: rk.Agent[Shop] = rk.Agent(
    name="Shop support",
    model="local",
    store="memory://",
    instructions="Help customers of the shop with their orders.",
    deps=Shop(),  # the default backend, so `resolvekit chat examples/order_support.py` works
)


def _owned(ctx: rk.Context[Shop], order_id: str) -> dict[str, Any]:
    """Authorisation lives in code: customers only see their own orders."""
    order = ctx.deps.orders.get(order_id.lstrip("#"))
    if order is None or order["customer"] != ctx.customer_id:
        raise rk.ToolRefusal(f"no order {order_id} on this account")
    return order


@agent.tool(effect="read")
def get_order(ctx: rk.Context[Shop], order_id: str) -> Order:
    """Look up one of the customer's orders.

    Args:
        order_id: the order number, e.g. W1000001.
    """
    return Order(**_owned(ctx, order_id))


@agent.tool(effect="write", confirm=True)
def cancel_order(ctx: rk.Context[Shop], order_id: str, reason: Reason) -> Order:
    """Cancel a pending order."""
    order = _owned(ctx, order_id)
    if order["status"] != "pending":
        raise rk.ToolRefusal(f"order {order_id} is {order['status']}")
    order["status"] = "cancelled"
    return Order(**order)


@agent.tool(effect="write", confirm=True)
def change_address(ctx: rk.Context[Shop], order_id: str, address: str) -> Order:
    """Change the delivery address of a pending order."""
    order = _owned(ctx, order_id)
    order["address"] = address
    return Order(**order)


async def _order(ctx: rk.Context[Shop], order_id: str) -> Order | None:
    """The customer's order, or None if it is not theirs; any other failure is not "not found"
    and goes to a human with the error."""
    found = await ctx.try_call(get_order, order_id=order_id)
    if isinstance(found, rk.ToolError):
        if found.kind == "refused":
            return None
        raise found
    order: Order = found
    return order


@agent.playbook(OrderStatus)
async def order_status(ctx: rk.Context[Shop], intent: OrderStatus) -> rk.PlaybookOutcome:
    order = await _order(ctx, intent.order_id)
    if order is None:
        return ctx.refuse("unknown order", reply=f"I can't find order {intent.order_id}.")
    return ctx.resolve(f"Order {order.id} ({order.item}) is {order.status}.")


@agent.playbook(CancelOrder)
async def cancel(ctx: rk.Context[Shop], intent: CancelOrder) -> rk.PlaybookOutcome:
    order = await _order(ctx, intent.order_id)
    if order is None:
        return ctx.refuse("unknown order", reply=f"I can't find order {intent.order_id}.")
    if order.status != "pending":
        return ctx.escalate(f"order {order.id} is already {order.status}; needs a return")
    if not await ctx.confirm(f"Cancel order {order.id} ({order.item})?"):
        return ctx.resolve("customer kept the order", reply="OK, I've left the order as it is.")
    await ctx.call(cancel_order, order_id=order.id, reason=intent.reason)
    return ctx.resolve(f"Order {order.id} is cancelled. The refund goes to your original payment.")


@agent.playbook(ChangeAddress)
async def change(ctx: rk.Context[Shop], intent: ChangeAddress) -> rk.PlaybookOutcome:
    order = await _order(ctx, intent.order_id)
    if order is None:
        return ctx.refuse("unknown order", reply=f"I can't find order {intent.order_id}.")
    if order.status != "pending":
        return ctx.refuse(
            "already shipped", reply=f"Order {order.id} has already {order.status}, sorry."
        )
    if not await ctx.confirm(f"Ship order {order.id} to {intent.address}?"):
        return ctx.resolve("address unchanged", reply="OK, the address stays as it was.")
    await ctx.call(change_address, order_id=order.id, address=intent.address)
    return ctx.resolve(f"Done: order {order.id} will go to {intent.address}.")


DEMO: list[tuple[str, list[str]]] = [
    ("c-1", ["hi", "where is my order W1000002?"]),
    ("c-1", ["I want to cancel order W1000001", "I don't need it anymore", "yes please"]),
    ("c-2", ["I moved, please change the delivery address of W2000001",
             "221B Baker Street, London NW1 6XE", "yes"]),
    ("c-1", ["cancel W1000002, I ordered it by mistake"]),
]  # fmt: skip


async def demo(shop: Shop) -> list[rk.TurnResult]:
    """Play the demo conversations; returns every turn's result."""
    results = []
    for customer, lines in DEMO:
        print(f"--- customer {customer}")
        for line in lines:
            result = await agent.handle(customer, line, deps=shop)
            results.append(result)
            print(f"  customer: {line}")
            print(f"  agent:    {result.reply}   [{result.outcome}]")
    print("--- orders now")
    for order in shop.orders.values():
        print(f"  {order['id']}: {order['status']:<9} -> {order['address']}")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chat", action="store_true", help="talk to the agent yourself")
    parser.add_argument("--customer", default="c-1", help="who you are in --chat (c-1 or c-2)")
    args = parser.parse_args()
    shop = Shop()
    if args.chat:
        asyncio.run(chat(agent, customer_id=args.customer, deps=shop))
    else:
        asyncio.run(demo(shop))


if __name__ == "__main__":
    main()
