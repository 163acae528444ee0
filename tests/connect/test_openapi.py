"""An OpenAPI service as a toolset, against a real Starlette app under uvicorn on a free local
port: operations to tools, validation before the request, effects by method, the
Idempotency-Key header, auth from the application, Retry-After, size cap and typed faults, and a
kill between a write and its answer."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

import resolvekit as rk
from resolvekit.connect import OpenAPIToolset, bearer

from .conftest import Served


def writes(state: Path) -> list[dict[str, Any]]:
    return list(json.loads(state.read_text())["writes"])


def service(served: Served, **options: Any) -> OpenAPIToolset:
    return OpenAPIToolset(f"http://127.0.0.1:{served.port}/openapi.json", **options)


@pytest.fixture
async def shop(http_shop: Served) -> AsyncIterator[OpenAPIToolset]:
    toolset = service(
        http_shop,
        timeout=2,
        retry=rk.RetryPolicy(attempts=3, initial=0.05, max_wait=1.0),
        max_response_bytes=100_000,
        auth=bearer(lambda ctx: "t0ken"),
    )
    await toolset.start()
    try:
        yield toolset
    finally:
        await toolset.close()


async def test_operations_become_tools_with_effects_by_method(shop: OpenAPIToolset) -> None:
    tools = shop.tools()
    get, cancel, note = tools["get_order"], tools["cancel_order"], tools["add_note"]
    assert (get.effect, get.confirm) == ("read", False)
    assert (cancel.effect, cancel.confirm, cancel.idempotent) == ("write", True, True)
    assert (note.effect, note.confirm, note.idempotent) == ("write", True, False)
    # path parameter and flattened body; the Idempotency-Key header is the engine's
    assert set(cancel.parameters["properties"]) == {"order_id", "reason"}
    assert sorted(cancel.parameters["required"]) == ["order_id", "reason"]
    with pytest.raises(rk.ToolError) as info:
        cancel.validate_args({"order_id": "W1", "reason": "bored"})
    assert info.value.kind == "invalid_arguments"
    assert await get.invoke(None, {"order_id": "W1"}, None) == {
        "id": "W1", "status": "pending", "notes": [],
    }  # fmt: skip
    with pytest.raises(rk.ToolError, match="Order not found") as info:
        await get.invoke(None, {"order_id": "W9"}, None)
    assert info.value.kind == "refused"
    assert await tools["whoami"].invoke(None, {}, None) == {"authorization": "Bearer t0ken"}


async def test_writes_carry_the_idempotency_key(shop: OpenAPIToolset, shop_state: Path) -> None:
    cancel = shop.tools()["cancel_order"]
    args = {"order_id": "W1", "reason": "no longer needed"}
    first = await cancel.invoke(None, args, "conv:run:1")
    again = await cancel.invoke(None, args, "conv:run:1")  # a redelivery: same answer
    assert first == again and first["status"] == "cancelled"
    assert [w["key"] for w in writes(shop_state)] == ["conv:run:1"]
    with pytest.raises(rk.ToolError, match="Non-pending") as info:
        await cancel.invoke(None, args, "conv:run:2")
    assert info.value.kind == "refused"


async def test_faults_are_typed(shop: OpenAPIToolset) -> None:
    tools = shop.tools()

    async def kind(name: str, args: dict[str, Any] | None = None) -> str:
        with pytest.raises(rk.ToolError) as info:
            await tools[name].invoke(None, args or {}, None)
        return info.value.kind

    assert await kind("slow", {"seconds": 10}) == "timeout"
    assert await kind("broken") == "unavailable"  # 500 on a read, retried, then given up
    assert await kind("huge") == "bad_result"
    assert await kind("garbage") == "bad_result"
    assert await kind("liar") == "bad_result"
    # 429 with Retry-After: waited for and retried
    assert (await tools["busy"].invoke(None, {}, None))["calls"] % 2 == 0


async def test_unreachable_service_is_unavailable(http_shop: Served) -> None:
    toolset = service(http_shop, retry=rk.RetryPolicy(attempts=1))
    await toolset.start()
    http_shop.stop()
    try:
        with pytest.raises(rk.ToolError) as info:
            await toolset.tools()["get_order"].invoke(None, {"order_id": "W1"}, None)
        assert info.value.kind == "unavailable"
    finally:
        await toolset.close()


class Cancel(rk.Intent):
    """Cancel an order."""

    examples = ["cancel my order", "cancel order W1"]
    order_id: str = rk.Slot(pattern=r"W\d+")


async def test_kill_between_write_and_answer(http_shop: Served, shop_state: Path) -> None:
    """The service applies the write and dies before answering. The idempotent operation is
    retried with the same key on the restarted service: one write. The other one is handed to a
    human as unknown_outcome: one write, never two."""
    toolset = service(http_shop, timeout=10, retry=rk.RetryPolicy(attempts=4, initial=0.5))
    agent: rk.Agent[None] = rk.Agent(
        "a", model="test", store="memory://", handoff=[], toolsets=[toolset]
    )

    @agent.playbook(Cancel)
    async def cancel(ctx: rk.Context[None], intent: Cancel) -> rk.PlaybookOutcome:
        if not await ctx.confirm("Go ahead?"):
            return ctx.resolve("kept")
        await ctx.call("add_note", order_id=intent.order_id, text="crash after write")
        return ctx.resolve("noted")

    try:
        assert (await agent.handle("c1", "cancel order W1")).outcome == "awaiting_customer"
        result = await agent.handle("c1", "yes")
        assert result.outcome == "escalated"
        assert result.handoff is not None and "unknown" in result.handoff.reason
        assert len(writes(shop_state)) == 1

        http_shop.start()
        crash = {"order_id": "W1", "reason": "crash after write"}
        cancel_tool = toolset.tools()["cancel_order"]
        import asyncio
        import threading

        restarted = threading.Event()

        def restart_when_dead() -> None:
            assert http_shop.process is not None
            http_shop.process.wait(30)
            http_shop.start()
            restarted.set()

        watcher = threading.Thread(target=restart_when_dead)
        watcher.start()
        out = await cancel_tool.invoke(None, crash, "conv:run:7")
        await asyncio.to_thread(watcher.join, 60)
        assert out["status"] == "cancelled"
        assert [w["tool"] for w in writes(shop_state)] == ["add_note", "cancel_order"]
    finally:
        await agent.close()
