"""The Server-Sent Events route: typed events in order, a confirmation, an escalation, errors."""

from __future__ import annotations

import json
from typing import Any

from .conftest import FlakyStore, shop_agent

S = "/v1/customers/c1/messages/stream"


def events(text: str) -> list[tuple[str, Any]]:
    """Parse a text/event-stream body (comment blocks, the pings, left out)."""
    out = []
    for block in text.strip().split("\n\n"):
        if block.startswith(":"):
            continue
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        out.append((lines["event"], json.loads(lines["data"])))
    return out


async def test_a_turn_as_events(make_client: Any) -> None:
    async with make_client() as client:
        first = await client.post(S, json={"text": "cancel order W1234567, no longer needed"})
        assert first.headers["content-type"].startswith("text/event-stream")
        got = events(first.text)
        names = [name for name, _ in got]
        assert names == ["tool_started", "tool_finished", "delta", "confirmation", "done"]
        assert got[0][1] == {"tool": "get_order", "args": {"order_id": "W1234567"}}
        assert got[1][1] == {"tool": "get_order", "status": "done"}
        assert got[2][1] == {"text": "Cancel order W1234567?"}
        confirmation, done = got[3][1], got[4][1]
        assert confirmation == {
            "question_id": done["question_id"],
            "prompt": "Cancel order W1234567?",
            "options": ["yes", "no"],
        }
        assert done["outcome"] == "awaiting_customer"
        second = events((await client.post(S, json={"text": "yes", "message_id": "y"})).text)
        assert [n for n, _ in second] == ["tool_started", "tool_finished", "delta", "done"]
        assert second[0][1]["tool"] == "cancel_order"
        assert second[-1][1]["outcome"] == "resolved"
        retry = events((await client.post(S, json={"text": "yes", "message_id": "y"})).text)
        assert retry == [
            ("delta", {"text": "Order W1234567 cancelled"}),
            ("done", {**second[-1][1], "duplicate": True}),
        ]


async def test_a_failed_tool_and_an_escalation(make_client: Any) -> None:
    async with make_client() as client:
        failed = events((await client.post(S, json={"text": "where is order W0000000"})).text)
        assert (
            "tool_finished",
            {"tool": "get_order", "status": "error", "error": "refused"},
        ) in failed
        handed = events(
            (await client.post(
                "/v1/customers/c2/messages/stream",
                json={"text": "cancel order W5555555, ordered by mistake"},
            )).text
        )  # fmt: skip
    names = [n for n, _ in handed]
    assert "escalated" in names and names[-1] == "done"
    escalated = dict(handed)["escalated"]
    assert escalated["reason"] == "order already shipped"
    assert dict(handed)["done"]["outcome"] == "escalated"


async def test_errors_before_and_during_the_stream(make_client: Any) -> None:
    store = FlakyStore()
    async with make_client(shop_agent(store=store)) as client:
        bad = await client.post(S, json={"text": ""})
        assert bad.status_code == 422  # refused before the turn began: a plain error
        assert bad.json()["error"]["code"] == "message_empty"
        store.down = True
        down = await client.post(S, json={"text": "where is W1234567"})
        assert down.status_code == 503
        assert down.json()["error"]["code"] == "store_unavailable"
        store.down, store.saves_fail = False, True
        failed = await client.post(S, json={"text": "where is W1234567"})
    assert failed.status_code == 200  # the stream had started: the failure is its last event
    got = events(failed.text)
    assert [name for name, _ in got] == ["tool_started", "tool_finished", "delta", "error"]
    assert got[-1][1]["code"] == "store_unavailable"


async def test_a_quiet_stream_is_pinged(make_client: Any, monkeypatch: Any) -> None:
    import asyncio

    import resolvekit as rk
    from resolvekit.serve import stream

    monkeypatch.setattr(stream, "PING_SECONDS", 0.05)

    class Slow(rk.Intent):
        """Customer wants a slow thing."""

        examples = ["do the slow thing"]

    agent: rk.Agent[None] = rk.Agent("Slow", model="test", store="memory://", handoff=[])

    @agent.tool(effect="read")
    async def wait_a_bit(ctx: rk.Context[None]) -> int:
        """Wait."""
        await asyncio.sleep(0.5)
        return 1

    @agent.playbook(Slow)
    async def slow(ctx: rk.Context[None], intent: Slow) -> rk.PlaybookOutcome:
        await ctx.call(wait_a_bit)
        return ctx.resolve("done")

    async with make_client(agent) as client:
        body = (await client.post(S, json={"text": "do the slow thing"})).text
    assert ": ping\n\n" in body
    assert [name for name, _ in events(body)] == ["tool_started", "tool_finished", "delta", "done"]
