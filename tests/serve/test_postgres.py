"""Two app instances (two workers) on one PostgreSQL store: concurrent messages of one
customer, sent to both, are handled one at a time; none is lost or doubled, retries included."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any

from resolvekit.sessions.postgres import PostgresStore

from .conftest import AUTH, client_for, shop_agent


async def test_two_workers_share_one_customer(postgres_url: str) -> None:
    table = f"serve_{uuid.uuid4().hex[:10]}"
    agents = [shop_agent(store=PostgresStore(postgres_url, table=table)) for _ in range(2)]
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(client_for(a.to_asgi(api_keys=["test-key"]), AUTH))
            for a in agents
        ]
        messages = [f"where is order W1234567 (message {i})" for i in range(12)]

        async def send(i: int, text: str, worker: int) -> Any:
            client = clients[worker]
            body = {"text": text, "message_id": f"m{i}"}
            response = await client.post("/v1/customers/c1/messages", json=body)
            assert response.status_code == 200, response.text
            return response.json()

        first = await asyncio.gather(*(send(i, t, i % 2) for i, t in enumerate(messages)))
        # every message again, to the other worker this time: all stored, none runs twice
        again = await asyncio.gather(*(send(i, t, 1 - i % 2) for i, t in enumerate(messages)))
        assert not any(r["duplicate"] for r in first)
        assert all(r["duplicate"] for r in again)
        assert {r["conversation_id"] for r in first} == {first[0]["conversation_id"]}
        conv = (await clients[1].get("/v1/customers/c1/conversation")).json()
    said = [m["text"] for m in conv["transcript"] if m["role"] == "customer"]
    assert sorted(said) == sorted(messages)  # each once
    roles = [m["role"] for m in conv["transcript"]]
    assert roles == ["customer", "agent"] * len(messages)  # one turn at a time


def test_resolvekit_serve_with_workers(serve_process: Any, postgres_url: str) -> None:
    """``resolvekit serve --workers 2`` on PostgreSQL: concurrent messages of one customer."""
    import httpx2

    customer = f"w-{uuid.uuid4().hex[:8]}"
    server = serve_process(
        f"tests.serve.apps:shop --workers 2 --store {postgres_url}", command=True
    )
    url = f"{server.url}/v1/customers/{customer}/messages"
    messages = [f"where is order W1234567 (message {i})" for i in range(8)]

    async def send_all() -> list[Any]:
        async with httpx2.AsyncClient(timeout=120) as client:
            replies = await asyncio.gather(
                *(
                    client.post(url, json={"text": t, "message_id": f"m{i}"})
                    for i, t in enumerate(messages)
                )
            )
            conv = await client.get(url.removesuffix("/messages") + "/conversation")
        return [*replies, conv]

    *replies, conv = asyncio.run(send_all())
    server.terminate()
    server.wait()
    assert all(r.status_code == 200 for r in replies), [r.text for r in replies]
    said = [m["text"] for m in conv.json()["transcript"] if m["role"] == "customer"]
    assert sorted(said) == sorted(messages)
    assert [m["role"] for m in conv.json()["transcript"]] == ["customer", "agent"] * len(messages)


async def test_two_workers_push_a_human_reply_and_trace_each_others_turns(
    postgres_url: str,
) -> None:
    """Worker A serves the customer; a human replies from a console on worker B: A's long poll
    answers with the reply. A turn on A is traced on B, from the store."""
    from resolvekit.console import Console

    table = f"serve_{uuid.uuid4().hex[:10]}"
    agents = [shop_agent(store=PostgresStore(postgres_url, table=table)) for _ in range(2)]
    async with contextlib.AsyncExitStack() as stack:
        a, b = [
            await stack.enter_async_context(
                client_for(agent.to_asgi(api_keys=["test-key"], feed_interval=0.1), AUTH)
            )
            for agent in agents
        ]
        body = {"text": "cancel order W5555555, ordered by mistake", "message_id": "m1"}
        handed = (await a.post("/v1/customers/c1/messages", json=body)).json()
        assert handed["outcome"] == "escalated"
        trace = (await b.get("/v1/customers/c1/trace")).json()
        assert trace["source"] == "store"
        assert trace["turns"][-1]["message_id"] == "m1"

        cursor = (await a.get("/v1/customers/c1/conversation")).json()["cursor"]
        params = {"after": cursor, "wait": 25}
        waiting = asyncio.create_task(a.get("/v1/customers/c1/messages", params=params))
        await asyncio.sleep(0.5)
        await Console(agents[1]).reply(handed["conversation_id"], "Alex here.", human="Alex")
        got = (await asyncio.wait_for(waiting, 20)).json()
    assert [(m["role"], m["text"], m["author"]) for m in got["messages"]] == [
        ("human_agent", "Alex here.", "Alex")
    ]
