"""Connected support: an agent whose tools live in another process, an MCP server.

The same file is both sides. Run the demo (it starts the server itself, over stdio)::

    .venv/bin/python examples/connected_support.py

- the **server** (``--serve``) is a small order system built with the ``mcp`` SDK's MCPServer:
  ``get_order`` (annotated read-only) and ``cancel_order`` (destructive, idempotent with a key);
- the **agent** connects it with :class:`resolvekit.connect.MCPToolset`, prefixes its tools
  (``orders.get_order``), declares the result type it wants, and calls them from a playbook
  exactly like Python tools. The write waits for the customer's yes, carries the engine's
  idempotency key, and is journaled like any other.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

import resolvekit as rk
from resolvekit.connect import MCPToolset

ORDERS = Path(os.environ.get("ORDERS_FILE", "orders.json"))


class Order(BaseModel):
    id: str
    status: Literal["pending", "shipped", "cancelled"]
    item: str


# -- the server: another team's order system ----------------------------------------------------


def serve() -> None:
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError
    from mcp_types import ToolAnnotations

    server = MCPServer("orders", log_level="WARNING")
    if not ORDERS.exists():
        orders = {"W1000001": {"id": "W1000001", "status": "pending", "item": "desk lamp"}}
        ORDERS.write_text(json.dumps({"orders": orders, "keys": {}}))

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    def get_order(order_id: str) -> Order:
        """Status and item of an order."""
        data = json.loads(ORDERS.read_text())
        if order_id not in data["orders"]:
            raise ToolError("Order not found")
        return Order(**data["orders"][order_id])

    @server.tool(annotations=ToolAnnotations(destructive_hint=True, idempotent_hint=True))
    def cancel_order(order_id: str, idempotency_key: str = "") -> Order:
        """Cancel a pending order."""
        data = json.loads(ORDERS.read_text())
        if idempotency_key in data["keys"]:  # a retry of a write already done
            return Order(**data["keys"][idempotency_key])
        order = data["orders"].get(order_id)
        if order is None or order["status"] != "pending":
            raise ToolError("Only pending orders can be cancelled")
        order["status"] = "cancelled"
        data["keys"][idempotency_key] = order
        ORDERS.write_text(json.dumps(data))
        return Order(**order)

    server.run()


# -- the agent --------------------------------------------------------------------------------


class CancelOrder(rk.Intent):
    """Customer wants to cancel an order."""

    examples = ["cancel my order", "I want to cancel order W1000001"]
    order_id: str = rk.Slot(pattern=r"W\d{7}", ask="What is the order number?")


def build_agent(model: rk.Model | str = "local") -> rk.Agent[None]:
    # The server is this file too: it gets the same import path and the same orders file.
    env = {"ORDERS_FILE": str(ORDERS), "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    orders = MCPToolset.stdio(sys.executable, [__file__, "--serve"], env=env, name="orders")
    typed = orders.with_overrides(
        {
            "get_order": rk.ToolOverride(returns=Order),
            "cancel_order": rk.ToolOverride(returns=Order, timeout=10),
        }
    )
    agent: rk.Agent[None] = rk.Agent(
        "Connected support", model=model, store="memory://", handoff=[],
        toolsets=[typed.prefixed("orders")],
    )  # fmt: skip

    @agent.playbook(CancelOrder)
    async def cancel(ctx: rk.Context[None], intent: CancelOrder) -> rk.PlaybookOutcome:
        found = await ctx.try_call("orders.get_order", order_id=intent.order_id)
        if isinstance(found, rk.ToolError):
            return ctx.refuse(found.message, reply=f"I couldn't find {intent.order_id}.")
        if found.status != "pending":
            return ctx.escalate(f"order {found.id} is {found.status}")
        if not await ctx.confirm(f"Cancel order {found.id} ({found.item})?"):
            return ctx.resolve("customer kept the order")
        done = await ctx.call("orders.cancel_order", order_id=found.id)
        return ctx.resolve(f"Order {done.id} is {done.status}")

    return agent


async def demo(model: rk.Model | str = "local") -> list[rk.TurnResult]:
    agent = build_agent(model)
    results = []
    async with agent:  # starts the server and lists its tools; stops it on the way out
        print("tools:", sorted(agent.tools))
        for text in ["I want to cancel order W1000001", "yes please"]:
            result = await agent.handle("c-1", text)
            results.append(result)
            print(f"customer: {text}\nagent:    {result.reply}  [{result.outcome}]")
    return results


if __name__ == "__main__":
    if "--serve" in sys.argv:
        serve()
    else:
        asyncio.run(demo())
