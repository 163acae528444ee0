"""MCP servers as toolsets, against a real server built with the ``mcp`` SDK (MCPServer) over
stdio and streamable HTTP: annotations to effects, validation before the call, ``_meta`` from
the application, lifecycle with the agent, and faults typed (hang, death, garbage, a result
that does not fit, a tool list that changes, a kill between a write and its answer)."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, TextIO

import pytest
from pydantic import BaseModel

import resolvekit as rk
from resolvekit.connect import MCPToolset

from .conftest import MCP_SHOP, Served


class Order(BaseModel):
    id: str
    status: str
    notes: list[str] = []


class Cancel(rk.Intent):
    """Cancel an order."""

    examples = ["cancel my order", "cancel order W1"]
    order_id: str = rk.Slot(pattern=r"W\d+")


SINK: list[TextIO] = []


@pytest.fixture(autouse=True)
def _sink(devnull: TextIO) -> None:
    SINK[:] = [devnull]


def stdio_shop(state: Path, **options: Any) -> MCPToolset:
    options.setdefault("name", "shop")
    return MCPToolset.stdio(sys.executable, [MCP_SHOP, str(state)], errlog=SINK[0], **options)


def writes(state: Path) -> list[dict[str, Any]]:
    return list(json.loads(state.read_text())["writes"])


@pytest.fixture
async def shop(shop_state: Path) -> AsyncIterator[MCPToolset]:
    toolset = stdio_shop(shop_state, timeout=20)
    try:
        yield toolset
    finally:
        await toolset.close()


async def test_stdio_tools_listed_with_effects_from_annotations(shop: MCPToolset) -> None:
    await shop.start()
    tools = shop.tools()
    get, cancel, note = tools["get_order"], tools["cancel_order"], tools["add_note"]
    assert (get.effect, get.confirm, get.idempotent) == ("read", False, False)
    # destructiveHint and no hint at all: writes that need the customer's yes
    assert (cancel.effect, cancel.confirm, cancel.idempotent) == ("write", True, True)
    assert (note.effect, note.confirm, note.idempotent) == ("write", True, False)
    # the idempotency key argument is the engine's, not the model's
    assert "idempotency_key" not in cancel.parameters["properties"]
    assert cancel.spec().parameters["required"] == ["order_id", "reason"]
    with pytest.raises(rk.ToolError, match="is not of type 'string'") as info:
        get.validate_args({"order_id": 7})
    assert info.value.kind == "invalid_arguments"
    assert await get.invoke(None, {"order_id": "W1"}, None) == {
        "id": "W1", "status": "pending", "notes": [],
    }  # fmt: skip
    with pytest.raises(rk.ToolError, match="Order not found") as info:
        await get.invoke(None, {"order_id": "W9"}, None)
    assert info.value.kind == "refused"


async def test_http_server_and_meta_from_the_application(mcp_http: Served) -> None:
    users = iter(["bob", "mallory"])
    toolset = MCPToolset.http(
        f"http://127.0.0.1:{mcp_http.port}/mcp", meta=lambda ctx: {"user": next(users)}
    )
    try:
        await toolset.start()
        get = toolset.tools()["get_order"]
        assert get.effect == "read"
        assert (await get.invoke(None, {"order_id": "W1"}, None))["status"] == "pending"
        with pytest.raises(rk.ToolError, match="Order not found"):  # mallory's call
            await get.invoke(None, {"order_id": "W1"}, None)
    finally:
        await toolset.close()


async def test_playbook_over_mcp_with_confirmation_and_lifecycle(shop_state: Path) -> None:
    shop = stdio_shop(shop_state, timeout=20).with_overrides(
        {"get_order": rk.ToolOverride(returns=Order)}
    )
    agent: rk.Agent[None] = rk.Agent(
        "a", model="test", store="memory://", handoff=[], toolsets=[shop.prefixed("shop")]
    )
    seen: list[Any] = []

    @agent.playbook(Cancel)
    async def cancel(ctx: rk.Context[None], intent: Cancel) -> rk.PlaybookOutcome:
        order = await ctx.call("shop.get_order", order_id=intent.order_id)
        seen.append(order)
        if not await ctx.confirm(f"Cancel order {order.id}?"):
            return ctx.resolve("kept")
        done = await ctx.call("shop.cancel_order", order_id=order.id, reason="no longer needed")
        return ctx.resolve(f"Order {done['id']} is {done['status']}")

    async with agent:
        assert "shop.cancel_order" in agent.tools
        result = await agent.handle("c1", "cancel order W1")
        assert result.outcome == "awaiting_customer"
        assert isinstance(seen[0], Order)
        result = await agent.handle("c1", "yes")
        assert result.outcome == "resolved", result
        assert "cancelled" in (result.reply or "")
    [write] = writes(shop_state)
    assert write["key"]  # the engine's key reached the server as an argument


async def test_faults_are_typed_and_a_dead_server_is_started_again(shop_state: Path) -> None:
    shop = stdio_shop(shop_state, timeout=2, retry=rk.RetryPolicy(attempts=1))
    try:
        await shop.start()
        tools = shop.tools()
        with pytest.raises(rk.ToolError) as info:  # hangs
            await tools["sleep"].invoke(None, {"seconds": 30}, None)
        assert info.value.kind == "timeout"
        with pytest.raises(rk.ToolError) as info:  # answers with something not a result
            await tools["garble"].invoke(None, {}, None)
        assert info.value.kind in ("timeout", "bad_result")
        with pytest.raises(rk.ToolError) as info:  # dies mid-call
            await tools["die"].invoke(None, {}, None)
        assert info.value.kind == "unavailable"
        await shop.refresh()  # the next turn starts it again
        assert await shop.tools()["writes"].invoke(None, {}, None) == 0
        # a result that does not fit what the application declared
        typed = shop.with_overrides({"writes": rk.ToolOverride(returns=Order)})
        agent: rk.Agent[None] = rk.Agent(
            "a", model="test", store="memory://", handoff=[], toolsets=[typed]
        )
        out = await agent.call_tool("writes", {}, customer_id="c")
        assert out == 0  # call_tool returns the data; the typed load happens in playbooks
    finally:
        await shop.close()


async def test_a_result_that_does_not_fit_the_declared_type_is_bad_result(
    shop: MCPToolset,
) -> None:
    typed = shop.with_overrides({"writes": rk.ToolOverride(returns=Order)})
    agent: rk.Agent[None] = rk.Agent(
        "a", model="test", store="memory://", handoff=[], toolsets=[typed]
    )
    seen: list[Any] = []

    @agent.playbook(Cancel)
    async def cancel(ctx: rk.Context[None], intent: Cancel) -> rk.PlaybookOutcome:
        seen.append(await ctx.try_call("writes"))
        return ctx.resolve("done")

    await agent.handle("c1", "cancel order W1")
    assert isinstance(seen[0], rk.ToolError) and seen[0].kind == "bad_result"


async def test_tool_list_change_between_turns(shop_state: Path) -> None:
    """A new tool appears on the next turn; a playbook suspended after calling a tool whose
    schema then changed fails loudly (ToolChanged), it is not replayed silently."""
    shop = stdio_shop(shop_state, timeout=20)
    agent: rk.Agent[None] = rk.Agent(
        "a", model="test", store="memory://", handoff=[], toolsets=[shop]
    )

    @agent.playbook(Cancel)
    async def cancel(ctx: rk.Context[None], intent: Cancel) -> rk.PlaybookOutcome:
        await ctx.call("get_order", order_id=intent.order_id)
        if not await ctx.confirm("Cancel it?"):
            return ctx.resolve("kept")
        return ctx.resolve("cancelled")

    try:
        result = await agent.handle("c1", "cancel order W1")
        assert result.outcome == "awaiting_customer"
        assert "loyalty_points" not in agent.tools
        await shop.tools()["change_tools"].invoke(None, {}, None)
        result = await agent.handle("c1", "yes")
        assert "loyalty_points" in agent.tools
        assert result.outcome == "escalated"
        assert isinstance(result.error, rk.ToolChanged)
    finally:
        await agent.close()


async def test_kill_between_write_and_answer_idempotent_write_runs_once(
    shop_state: Path,
) -> None:
    """The server applies the write and dies before answering; the idempotent tool is called
    again with the same key on a new server, which answers from its record: one write."""
    shop = stdio_shop(shop_state, timeout=30)
    try:
        await shop.start()
        cancel = shop.tools()["cancel_order"]
        args = {"order_id": "W1", "reason": "crash after write"}
        out = await cancel.invoke(None, args, "conv:run:3")
        assert out["status"] == "cancelled"
        assert [w["key"] for w in writes(shop_state)] == ["conv:run:3"]
    finally:
        await shop.close()


async def test_kill_between_write_and_answer_other_write_is_handed_over(
    shop_state: Path,
) -> None:
    """A write without a key is never repeated: unknown_outcome, handed to a human."""
    shop = stdio_shop(shop_state, timeout=30)
    agent: rk.Agent[None] = rk.Agent(
        "a", model="test", store="memory://", handoff=[], toolsets=[shop]
    )

    @agent.playbook(Cancel)
    async def cancel(ctx: rk.Context[None], intent: Cancel) -> rk.PlaybookOutcome:
        if not await ctx.confirm("Add the note?"):
            return ctx.resolve("kept")
        await ctx.call("add_note", order_id=intent.order_id, text="crash after write")
        return ctx.resolve("noted")

    try:
        assert (await agent.handle("c1", "cancel order W1")).outcome == "awaiting_customer"
        result = await agent.handle("c1", "yes")
        assert result.outcome == "escalated"
        assert result.handoff is not None and "unknown" in result.handoff.reason
        assert len(writes(shop_state)) == 1
    finally:
        await agent.close()
