"""``GET .../trace`` behind several workers: two apps on one SQLite store, a turn on one and the
trace read on the other, rendered from the store (tool calls, the confirmation's evidence, the
escalation), redacted, and marked with its source."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2

from resolvekit.serve.traces import stored_turns

from .conftest import AUTH, client_for, shop_agent

M = "/v1/customers/c1/messages"
T = "/v1/customers/c1/trace"


@contextlib.asynccontextmanager
async def two_workers(tmp_path: Path) -> AsyncIterator[tuple[httpx2.AsyncClient, ...]]:
    """Clients of two apps (two workers, each its own agent) on one SQLite file."""
    store = f"sqlite:///{tmp_path / 'support.db'}"
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(
                client_for(shop_agent(store=store).to_asgi(api_keys=["test-key"]), AUTH)
            )
            for _ in range(2)
        ]
        yield tuple(clients)


def events(trace: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["data"] for turn in trace["turns"] for e in turn["trace"] if e["kind"] == kind]


async def test_a_turn_on_one_worker_traced_on_the_other(tmp_path: Path) -> None:
    async with two_workers(tmp_path) as (a, b):
        first = {
            "text": "cancel order W1234567, my card is 4111 1111 1111 1111",
            "message_id": "m1",
        }
        asked = (await a.post(M, json=first)).json()
        yes = {"text": "yes", "message_id": "m2", "reply_to": asked["question_id"]}
        if asked["pending"] == "slot":  # the reason first
            asked = (await a.post(M, json={"text": "no longer needed", "message_id": "m1b"})).json()
            yes["reply_to"] = asked["question_id"]
        assert asked["pending"] == "confirm", asked
        assert (await a.post(M, json=yes)).json()["outcome"] == "resolved"

        here = (await a.get(T)).json()
        assert here["source"] == "process"
        assert "model" in [e["kind"] for turn in here["turns"] for e in turn["trace"]]

        there = await b.get(T)
        assert there.status_code == 200, there.text
        trace = there.json()
        assert trace["source"] == "store" and trace["customer_id"] == "c1"
        assert [turn["message_id"] for turn in trace["turns"]][-1] == "m2"
        tools = [(e["tool"], e["status"]) for e in events(trace, "tool")]
        assert ("get_order", "done") in tools and ("cancel_order", "done") in tools
        confirmed = events(trace, "confirm")[-1]
        assert confirmed["result"] is True
        assert confirmed["evidence"]["message_id"] == "m2"
        assert {"event": "resolved"}.items() <= events(trace, "playbook")[-1].items()
        said = events(trace, "message")[0]["text"]
        assert "4111 1111 1111 1111" not in said and "****1111" in said, "redacted"
        assert "4111 1111 1111 1111" not in there.text

        # B now runs the latest turn: A no longer has it, so A answers from the store
        await b.post(M, json={"text": "where is order W1234567", "message_id": "m3"})
        assert (await a.get(T)).json()["source"] == "store"
        assert (await b.get(T)).json()["source"] == "process"
        assert (await a.get(T, params={"source": "process"})).json()["source"] == "process"


async def test_an_escalation_traced_from_the_store(tmp_path: Path) -> None:
    async with two_workers(tmp_path) as (a, b):
        body = {"text": "cancel order W5555555, ordered by mistake", "message_id": "m1"}
        assert (await a.post(M, json=body)).json()["outcome"] == "escalated"
        trace = (await b.get(T)).json()
    assert trace["source"] == "store"
    escalation = events(trace, "escalation")
    assert len(escalation) == 1 and escalation[0]["reason"]
    assert events(trace, "playbook")[-1]["event"] == "escalated"


async def test_what_the_trace_route_refuses(tmp_path: Path) -> None:
    async with two_workers(tmp_path) as (a, b):
        missing = await b.get(T)
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "no_trace"
        await a.post(M, json={"text": "where is order W1234567"})
        only_here = await b.get(T, params={"source": "process"})
        assert only_here.status_code == 404, "B ran no turn of c1"
        bad = await b.get(T, params={"source": "elsewhere"})
        assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_request"
        assert (await b.get(T, params={"source": "store"})).json()["source"] == "store"


async def test_lines_and_steps_grouped_by_the_message_before_them() -> None:
    agent = shop_agent()
    await agent.handle("c9", "cancel order W1234567", message_id="x1")
    await agent.handle("c9", "no longer needed", message_id="x2")
    conversation = await agent.conversation("c9")
    assert conversation is not None
    turns = stored_turns(conversation)
    assert [turn["message_id"] for turn in turns] == ["x1", "x2"]
    first, second = ([e["kind"] for e in turn["trace"]] for turn in turns)
    assert first == ["message", "playbook", "message"]  # asked, the run started, its question
    assert second[0] == "message" and "tool" in second and second[-1] == "message"
    assert all(e["at"] >= turns[1]["at"] for e in turns[1]["trace"])
