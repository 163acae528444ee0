"""resolvekit.live: an observer sees a turn's events as they happen, in every engine path."""

from __future__ import annotations

from typing import Any

import pytest

from resolvekit.live import current_observer, observe
from tests.engine.shop import Backend, build_agent


class Seen(list[tuple[str, dict[str, Any]]]):
    def __call__(self, kind: str, data: dict[str, Any]) -> None:
        self.append((kind, data))


@pytest.mark.parametrize("parked", [0, 10])
async def test_an_observer_sees_tools_and_reply_text(parked: int) -> None:
    agent = build_agent(Backend(), "test", handoff=[], parked_playbooks=parked)
    first = Seen()
    with observe(first):
        asked = await agent.handle("c1", "cancel order W1234567, no longer needed")
    kinds = [k for k, _ in first]
    assert kinds.index("tool_started") < kinds.index("tool") < kinds.index("say")
    assert ("tool_started", {"tool": "get_order", "args": {"order_id": "W1234567"}}) in first
    assert [d["text"] for k, d in first if k == "say"] == [asked.reply]
    assert [(e.kind, e.data) for e in asked.trace] == [(k, d) for k, d in first if k not in (
        "say", "tool_started")]  # fmt: skip
    second = Seen()
    with observe(second):  # the playbook goes on (parked or replayed): the new turn's observer
        done = await agent.handle("c1", "yes")
    started = [d["tool"] for k, d in second if k == "tool_started"]
    assert started == ["cancel_order"]
    assert "\n".join(d["text"] for k, d in second if k == "say") == done.reply


async def test_a_failing_observer_is_dropped_and_the_turn_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    agent = build_agent(Backend(), "test", handoff=[])
    calls = []

    def broken(kind: str, data: dict[str, Any]) -> None:
        calls.append(kind)
        raise RuntimeError("observer bug")

    with observe(broken):
        result = await agent.handle("c1", "where is order W1234567")
    assert result.outcome == "resolved"
    assert len(calls) == 1
    assert "observer failed" in caplog.text


async def test_nobody_observes_outside_the_block() -> None:
    seen = Seen()
    with observe(seen):
        assert current_observer() is seen
    assert current_observer() is None
    agent = build_agent(Backend(), "test", handoff=[])
    await agent.handle("c1", "where is order W1234567")
    assert seen == []


async def test_what_a_playbook_says_is_heard_before_its_next_tool() -> None:
    import resolvekit as rk

    class Lookup(rk.Intent):
        """Customer wants an order looked up."""

        examples = ["look up my order", "find my order"]

    agent: rk.Agent[None] = rk.Agent("A", model="test", store="memory://", handoff=[])

    @agent.tool(effect="read")
    async def search_orders(ctx: rk.Context[None]) -> int:
        """Search (slow in real life)."""
        return 3

    @agent.playbook(Lookup)
    async def lookup(ctx: rk.Context[None], intent: Lookup) -> rk.PlaybookOutcome:
        ctx.say("One moment, I'm looking.")
        found = await ctx.call(search_orders)
        return ctx.resolve(f"Found {found} orders")

    seen = Seen()
    with observe(seen):
        result = await agent.handle("c1", "look up my order")
    live = [(k, d.get("text") or d.get("tool")) for k, d in seen if k in ("say", "tool_started")]
    assert live == [
        ("say", "One moment, I'm looking."),
        ("tool_started", "search_orders"),
        ("say", "Found 3 orders"),
    ]
    assert result.reply == "One moment, I'm looking.\nFound 3 orders"
