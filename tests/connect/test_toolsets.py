"""Toolsets: composition (filter, prefix, rename, overrides), ``agent.tools`` as the one view,
calls by name, and a tool routed to the agent's tool of its name."""

from __future__ import annotations

from typing import Any

import pytest

import resolvekit as rk

from ..engine.shop import Backend, Order


class Cancel(rk.Intent):
    """Cancel an order."""

    examples = ["cancel my order", "cancel order W1234567"]
    order_id: str = rk.Slot(pattern=r"#?W\d{7}")


def make_tools() -> list[rk.Tool[Any]]:
    @rk.tool
    def get_order(ctx: rk.Context[Backend], order_id: str) -> Order:
        """Look an order up."""
        return Order(**ctx.deps.orders[order_id])

    @rk.tool(effect="write")
    def cancel_order(ctx: rk.Context[Backend], order_id: str) -> Order:
        """Cancel an order."""
        ctx.deps.orders[order_id]["status"] = "cancelled"
        ctx.deps.writes.append(("cancel_order", order_id))
        return Order(**ctx.deps.orders[order_id])

    return [get_order, cancel_order]


def test_combinators_filter_prefix_rename_and_override() -> None:
    base = rk.FunctionToolset(make_tools(), name="crm")
    assert set(base.filtered(["get_order"]).tools()) == {"get_order"}
    assert set(base.filtered(lambda t: t.effect == "write").tools()) == {"cancel_order"}
    prefixed = base.prefixed("crm")
    assert set(prefixed.tools()) == {"crm.get_order", "crm.cancel_order"}
    assert prefixed.tools()["crm.get_order"].name == "crm.get_order"
    renamed = base.renamed({"get_order": "lookup"})
    assert set(renamed.tools()) == {"lookup", "cancel_order"}
    overridden = base.with_overrides(
        {"cancel_order": rk.ToolOverride(confirm=True, timeout=3.0, description="Cancel it.")}
    )
    tool = overridden.tools()["cancel_order"]
    assert (tool.confirm, tool.timeout, tool.description) == (True, 3.0, "Cancel it.")
    assert base.tools()["cancel_order"].confirm is False  # the original is not changed
    assert overridden.tools() is overridden.tools()  # computed once until the inner changes
    with pytest.raises(rk.UserError, match="confirm=True only makes sense"):
        base.with_overrides({"get_order": rk.ToolOverride(confirm=True)}).tools()
    with pytest.raises(rk.UserError, match="not valid"):
        base.renamed(lambda name: name + " !").tools()


async def test_agent_tools_is_one_view_and_names_must_not_clash() -> None:
    agent: rk.Agent[Backend] = rk.Agent("a", model="test", store="memory://", handoff=[])

    @agent.tool
    def ping(ctx: rk.Context[Backend]) -> str:
        """Ping."""
        return "pong"

    crm = agent.add_toolset(rk.FunctionToolset(make_tools(), name="crm").prefixed("crm"))
    assert set(agent.tools) == {"ping", "crm.get_order", "crm.cancel_order"}
    assert agent.tools["crm.get_order"] is crm.tools()["crm.get_order"]
    agent.add_toolset(rk.FunctionToolset([make_tools()[0]], name="other").prefixed("crm"))
    with pytest.raises(rk.UserError, match="offered by toolsets 'crm' and 'other'"):
        await agent.start_tools()


async def test_playbook_calls_a_connected_tool_by_name_through_the_gates() -> None:
    backend = Backend()
    agent: rk.Agent[Backend] = rk.Agent(
        "a", model="test", store="memory://", handoff=[], deps=backend,
        escalation=rk.EscalationPolicy(max_tool_failures=5),
    )  # fmt: skip
    agent.add_toolset(
        rk.FunctionToolset(make_tools(), name="crm")
        .with_overrides({"cancel_order": rk.ToolOverride(confirm=True)})
        .prefixed("crm")
    )
    seen: list[Any] = []

    @agent.playbook(Cancel)
    async def cancel(ctx: rk.Context[Backend], intent: Cancel) -> rk.PlaybookOutcome:
        order = await ctx.call("crm.get_order", order_id=intent.order_id)
        seen.append(order)
        missing = await ctx.try_call("crm.no_such_tool", order_id=intent.order_id)
        seen.append(missing)
        bad = await ctx.try_call("crm.get_order", order_id=42)
        seen.append(bad)
        if not await ctx.confirm(f"Cancel order {intent.order_id}?"):
            return ctx.resolve("kept")
        await ctx.call("crm.cancel_order", order_id=intent.order_id)
        return ctx.resolve("cancelled")

    result = await agent.handle("c1", "cancel order W1234567")
    assert result.outcome == "awaiting_customer", result
    assert isinstance(seen[0], Order)  # the tool's own declared type
    assert isinstance(seen[1], rk.ToolError) and seen[1].kind == "unavailable"
    assert isinstance(seen[2], rk.ToolError) and seen[2].kind == "invalid_arguments"
    result = await agent.handle("c1", "yes")
    assert result.outcome == "resolved", result
    assert backend.writes == [("cancel_order", "W1234567")]


async def test_a_write_by_name_still_needs_the_customers_yes() -> None:
    backend = Backend()
    agent: rk.Agent[Backend] = rk.Agent(
        "a", model="test", store="memory://", handoff=[], deps=backend
    )
    agent.add_toolset(
        rk.FunctionToolset(make_tools()).with_overrides(
            {"cancel_order": rk.ToolOverride(confirm=True)}
        )
    )

    @agent.playbook(Cancel)
    async def cancel(ctx: rk.Context[Backend], intent: Cancel) -> rk.PlaybookOutcome:
        await ctx.call("cancel_order", order_id=intent.order_id)
        return ctx.resolve("cancelled")

    result = await agent.handle("c1", "cancel order W1234567")
    assert result.outcome == "escalated"
    assert backend.writes == []


async def test_a_tool_object_runs_as_the_agents_tool_of_its_name() -> None:
    """A Python tool is the typed interface; the toolset's tool of the same name runs."""
    backend = Backend()
    get_order, _ = make_tools()
    calls: list[str] = []

    @rk.tool(name="get_order")
    def remote_get_order(ctx: rk.Context[Backend], order_id: str) -> dict[str, Any]:
        calls.append(order_id)
        return {"id": order_id, "status": "pending", "total": 10.0}

    agent: rk.Agent[Backend] = rk.Agent(
        "a", model="test", store="memory://", handoff=[], deps=backend,
        toolsets=[rk.FunctionToolset([remote_get_order])],
    )  # fmt: skip
    seen: list[Any] = []

    @agent.playbook(Cancel)
    async def cancel(ctx: rk.Context[Backend], intent: Cancel) -> rk.PlaybookOutcome:
        seen.append(await ctx.call(get_order, order_id=intent.order_id))
        return ctx.resolve("looked")

    result = await agent.handle("c1", "cancel order W1234567")
    assert result.outcome == "resolved"
    assert calls == ["W1234567"]
    assert isinstance(seen[0], Order) and seen[0].id == "W1234567"


async def test_free_mode_offers_toolset_tools_to_the_model() -> None:
    backend = Backend()
    requests: list[rk.ModelRequest] = []

    def decide(request: rk.ModelRequest) -> Any:
        requests.append(request)
        if not any(m.role == "tool" for m in request.messages):
            return rk.CallTool(tool="crm.get_order", args={"order_id": "W1234567"})
        return rk.Reply(text="It is pending.")

    agent: rk.Agent[Backend] = rk.Agent(
        "a", model=rk.FunctionModel(decide), store="memory://", handoff=[], deps=backend,
        free_mode=True, toolsets=[rk.FunctionToolset(make_tools()).prefixed("crm")],
    )  # fmt: skip
    result = await agent.handle("c1", "where is my order W1234567")
    assert result.reply == "It is pending."
    assert {t.name for t in requests[0].tools} == {"crm.get_order", "crm.cancel_order"}


class Counting(rk.FunctionToolset):
    """Counts its connections being closed."""

    def __init__(self) -> None:
        super().__init__(make_tools(), name="crm")
        self.closed = 0

    async def close(self) -> None:
        self.closed += 1


async def test_a_toolset_shared_by_agents_is_closed_by_the_last_one() -> None:
    # The retail eval builds one agent per conversation over one shared connection: closing
    # one conversation's agent must not cut the others off.
    shared = Counting()
    first, second = (
        rk.Agent("a", model="test", store="memory://", toolsets=[shared.prefixed("crm.")])
        for _ in range(2)
    )
    await first.warm_up()
    await second.warm_up()
    assert shared.users == 2
    await first.close()
    assert shared.closed == 0
    await first.close()  # twice is still one agent letting go
    assert (shared.users, shared.closed) == (1, 0)
    await second.close()
    assert (shared.users, shared.closed) == (0, 1)


async def test_an_agent_that_never_used_a_toolset_closes_it_only_when_nobody_does() -> None:
    shared = Counting()
    user = rk.Agent("a", model="test", store="memory://", toolsets=[shared])
    idle = rk.Agent("b", model="test", store="memory://", toolsets=[shared])
    await user.warm_up()
    await idle.close()
    assert shared.closed == 0
    await user.close()
    assert shared.closed == 1
    lone = rk.Agent("c", model="test", store="memory://", toolsets=[Counting()])
    await lone.close()
    assert lone.toolsets[1].closed == 1  # type: ignore[attr-defined]


async def test_a_toolset_added_to_a_running_agent_is_held_by_it() -> None:
    shared = Counting()
    other = rk.Agent("a", model="test", store="memory://", toolsets=[shared])
    await other.warm_up()
    late = rk.Agent("b", model="test", store="memory://")
    await late.warm_up()
    late.add_toolset(shared)
    await late.close()
    assert (shared.users, shared.closed) == (1, 0)  # still used by the other agent
    await other.close()
    assert shared.closed == 1
