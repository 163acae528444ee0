"""A tiny order-support domain shared by the engine tests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel

import resolvekit as rk

Reason = Literal["no longer needed", "ordered by mistake"]


class Order(BaseModel):
    id: str
    status: str
    items: list[str] = []


@dataclass
class Backend:
    """The system that holds the truth; counts every write."""

    orders: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {
            "W1234567": {"id": "W1234567", "status": "pending", "items": ["lamp"]},
            "W7654321": {"id": "W7654321", "status": "pending", "items": ["desk"]},
            "W5555555": {"id": "W5555555", "status": "delivered", "items": ["chair"]},
        }
    )
    writes: list[tuple[str, str]] = field(default_factory=list)
    seen_keys: set[str] = field(default_factory=set)


class CancelOrder(rk.Intent):
    """Customer wants to cancel an order that has not shipped."""

    examples = ["cancel my order", "I don't want order W1234567 anymore"]
    order_id: str = rk.Slot(pattern=r"#?W\d{7}", ask="What is the order number?")
    reason: Reason = rk.Slot(ask="Why do you want to cancel?")


class OrderStatus(rk.Intent):
    """Customer asks where an order is."""

    examples = ["where is my order", "track my package"]
    order_id: str = rk.Slot(pattern=r"#?W\d{7}", ask="Which order?")


def build_agent(backend: Backend, model: rk.Model, **options: Any) -> rk.Agent[Backend]:
    """The cancel/status agent from the issue, wired to ``backend``."""
    options.setdefault("store", "memory://")
    agent: rk.Agent[Backend] = rk.Agent(name="Acme", model=model, deps=backend, **options)

    @agent.tool(effect="read")
    def get_order(ctx: rk.Context[Backend], order_id: str) -> Order:
        """Look up an order.

        Args:
            order_id: the order number, e.g. W1234567.
        """
        data = ctx.deps.orders.get(order_id)
        if data is None:
            raise rk.ToolRefusal(f"no order {order_id}")
        return Order(**data)

    @agent.tool(effect="write", confirm=True)
    def cancel_order(ctx: rk.Context[Backend], order_id: str, reason: Reason) -> Order:
        """Cancel a pending order."""
        order = ctx.deps.orders[order_id]  # an unknown order raises: no write happened
        ctx.deps.writes.append(("cancel", order_id))
        order["status"] = "cancelled"
        return Order(**order)

    @agent.playbook(CancelOrder)
    async def cancel(ctx: rk.Context[Backend], intent: CancelOrder) -> rk.PlaybookOutcome:
        order = await ctx.call(get_order, order_id=intent.order_id)
        if order.status != "pending":
            return ctx.escalate("order already shipped", priority="normal")
        if not await ctx.confirm(f"Cancel order {order.id}?"):
            return ctx.resolve("customer kept the order")
        await ctx.call(cancel_order, order_id=order.id, reason=intent.reason)
        return ctx.resolve(f"Order {order.id} cancelled")

    @agent.playbook(OrderStatus)
    async def status(ctx: rk.Context[Backend], intent: OrderStatus) -> rk.PlaybookOutcome:
        order = await ctx.call(get_order, order_id=intent.order_id)
        return ctx.resolve(f"Order {order.id} is {order.status}")

    return agent


class Cancel(rk.Intent):
    """Cancel an order."""

    examples = ["cancel my order"]
    order_id: str = rk.Slot(pattern=r"#?W\d{7}")
    reason: str = rk.Slot()


WriteFn = Callable[..., Any]
PlaybookFn = Callable[[rk.Context[Backend], Cancel, rk.Tool[Any]], Awaitable[rk.PlaybookOutcome]]


async def confirm_then_call(
    ctx: rk.Context[Backend], intent: Cancel, cancel: rk.Tool[Any]
) -> rk.PlaybookOutcome:
    """The well-behaved playbook: write only after a yes."""
    if not await ctx.confirm(f"Cancel order {intent.order_id}?"):
        return ctx.resolve("kept")
    await ctx.call(cancel, order_id=intent.order_id)
    return ctx.resolve(f"Order {intent.order_id} cancelled")


def one_write_agent(
    backend: Backend,
    model: rk.Model,
    write: WriteFn,
    playbook: PlaybookFn = confirm_then_call,
    *,
    tool_options: dict[str, Any] | None = None,
    **options: Any,
) -> rk.Agent[Backend]:
    """An agent with one intent (``Cancel``), one write tool ``cancel_order`` (``write``,
    ``confirm=True`` unless ``tool_options`` say otherwise) and the given playbook: the shape of
    the consent, crash and recovery tests."""
    options.setdefault("store", "memory://")
    agent: rk.Agent[Backend] = rk.Agent(
        name="Acme", model=model, deps=backend, handoff=[], **options
    )
    cancel = agent.tool(
        **{"effect": "write", "confirm": True, "name": "cancel_order", **(tool_options or {})}
    )(write)

    @agent.playbook(Cancel)
    async def run(ctx: rk.Context[Backend], intent: Cancel) -> rk.PlaybookOutcome:
        return await playbook(ctx, intent, cancel)

    return agent


def untimed(events: list[rk.TraceEvent], kind: str) -> list[dict[str, Any]]:
    """The data of ``events`` of ``kind``, each checked to carry its duration (``ms``, a
    non-negative float) and returned without it."""
    found = [dict(e.data) for e in events if e.kind == kind]
    for data in found:
        ms = data.pop("ms")
        assert isinstance(ms, float) and ms >= 0, data
    return found
