"""A small shop as an MCP server (the ``mcp`` SDK's MCPServer), for the connector tests.

Run: ``python mcp_shop.py STATE.json`` (stdio) or ``python mcp_shop.py STATE.json --http PORT``.
The state file holds the orders and every write applied, so a test can count writes across a
server killed and started again.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations
from pydantic import BaseModel

STATE = Path(sys.argv[1])
server = MCPServer("shop", log_level="WARNING")


class Order(BaseModel):
    id: str
    status: str
    notes: list[str] = []


def load() -> dict[str, Any]:
    if not STATE.exists():
        data = {"orders": {"W1": {"id": "W1", "status": "pending", "notes": []}}, "writes": []}
        save(data)
    return json.loads(STATE.read_text())


def save(data: dict[str, Any]) -> None:
    tmp = STATE.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, STATE)


def order_of(data: dict[str, Any], order_id: str) -> dict[str, Any]:
    order = data["orders"].get(order_id)
    if order is None:
        raise ToolError("Order not found")
    return order


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def get_order(order_id: str, ctx: Context) -> Order:
    """Status and notes of an order.

    Args:
        order_id: the order id, e.g. W1.
    """
    meta = ctx.request_context.meta
    user = (meta or {}).get("user") if isinstance(meta, dict) else getattr(meta, "user", None)
    if user == "mallory":
        raise ToolError("Order not found")
    return Order(**order_of(load(), order_id))


@server.tool(annotations=ToolAnnotations(destructive_hint=True))
def cancel_order(order_id: str, reason: str, idempotency_key: str = "") -> Order:
    """Cancel a pending order (idempotent with a key)."""
    data = load()
    for write in data["writes"]:
        if idempotency_key and write["key"] == idempotency_key:
            return Order(**write["result"])
    order = order_of(data, order_id)
    if order["status"] != "pending":
        raise ToolError(f"Order {order_id} is {order['status']}")
    order["status"] = "cancelled"
    data["writes"].append({"tool": "cancel_order", "key": idempotency_key, "result": order})
    save(data)
    if reason == "crash after write":
        os._exit(1)  # the kill point: the write is in, the answer never leaves
    return Order(**order)


@server.tool()
def add_note(order_id: str, text: str, ctx: Context) -> Order:
    """Add a note to an order (no idempotency key)."""
    data = load()
    order = order_of(data, order_id)
    order["notes"].append(text)
    meta = ctx.request_context.meta
    key = dict(meta or {}).get("resolvekit/idempotency_key") if meta is not None else None
    data["writes"].append({"tool": "add_note", "key": key, "result": order})
    save(data)
    if text == "crash after write":
        os._exit(1)
    return Order(**order)


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
async def sleep(seconds: float) -> str:
    """Wait, then answer (a hanging server)."""
    await asyncio.sleep(seconds)
    return "awake"


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def die() -> str:
    """Exit in the middle of the call."""
    os._exit(3)


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
async def garble(ctx: Context) -> str:
    """Answer with something that is not a tool result, then hang."""
    message = {"jsonrpc": "2.0", "id": ctx.request_id, "result": {"content": "not a list"}}
    if ctx.request_id.isdigit():
        message["id"] = int(ctx.request_id)
    os.write(1, (json.dumps(message) + "\n").encode())
    await asyncio.sleep(60)
    return "late"


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def writes() -> int:
    """How many writes the shop has applied."""
    return len(load()["writes"])


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
async def change_tools(ctx: Context) -> str:
    """Replace get_order by a version that wants a customer id too, and add loyalty_points."""

    def get_order(order_id: str, customer_id: str) -> Order:
        """Status of an order (now by customer)."""
        return Order(**order_of(load(), order_id))

    def loyalty_points(customer_id: str) -> int:
        """Loyalty points of a customer."""
        return 42

    server.remove_tool("get_order")
    server.add_tool(get_order, annotations=ToolAnnotations(read_only_hint=True))
    server.add_tool(loyalty_points, annotations=ToolAnnotations(read_only_hint=True))
    await ctx.session.send_tool_list_changed()
    return "changed"


if __name__ == "__main__":
    if "--http" in sys.argv:
        port = int(sys.argv[sys.argv.index("--http") + 1])
        server.run("streamable-http", host="127.0.0.1", port=port)
    else:
        server.run()
