"""``GET /v1/customers/{id}/messages``: a customer's lines after a cursor, read from the store —
a human agent's replies written by the console reach the customer's client, none twice; the
long poll answers as soon as something is new; auth, bad cursors, redaction."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from typing import Any

import pytest
from starlette.requests import Request

from resolvekit.console import Console
from resolvekit.messages import Message
from resolvekit.serve import feed
from resolvekit.serve.feed import Cursor

from .conftest import shop_agent

M = "/v1/customers/c1/messages"
HANDOFF = "cancel order W5555555, ordered by mistake"
"""The shop agent hands this over to a person (the order cannot be cancelled)."""


def error(response: Any) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


async def handed_off(client: Any, message_id: str = "m1") -> str:
    """The customer asks for what needs a person; the conversation's id."""
    body = (await client.post(M, json={"text": HANDOFF, "message_id": message_id})).json()
    assert body["outcome"] == "escalated", body
    return str(body["conversation_id"])


async def read(client: Any, cursor: str | None = None, **params: Any) -> dict[str, Any]:
    query = {**params, **({"after": cursor} if cursor else {})}
    response = await client.get(M, params=query)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_human_reply_after_the_cursor_then_the_hand_back(make_client: Any) -> None:
    agent = shop_agent()
    console = Console(agent)
    async with make_client(agent) as client:
        await client.post(M, json={"text": "where is order W1234567", "message_id": "m0"})
        start = (await client.get("/v1/customers/c1/conversation")).json()["cursor"]
        conversation_id = await handed_off(client)

        first = await read(client, start)
        assert [(m["role"], m.get("message_id")) for m in first["messages"]] == [
            ("customer", "m1"),
            ("agent", "m1"),
        ]
        assert first["status"] == "handed_off"
        assert first["conversation_id"] == conversation_id
        nothing = await read(client, first["cursor"])
        assert nothing["messages"] == [] and nothing["cursor"] == first["cursor"]

        await console.reply(conversation_id, "Hi, I'm Alex. I'll look into W5555555.", human="Alex")
        await console.reply(conversation_id, "Done: it is refunded.", human="Alex")
        human = await read(client, first["cursor"])
        assert [(m["role"], m["text"], m.get("author")) for m in human["messages"]] == [
            ("human_agent", "Hi, I'm Alex. I'll look into W5555555.", "Alex"),
            ("human_agent", "Done: it is refunded.", "Alex"),
        ]
        # each line's own cursor: a client that lost the second line gets exactly it again
        again = await read(client, human["messages"][0]["cursor"])
        assert [m["text"] for m in again["messages"]] == ["Done: it is refunded."]
        assert again["cursor"] == human["cursor"]

        await console.hand_back(conversation_id, human="Alex")
        back = await read(client, human["cursor"])
        assert back["status"] == "open", "the status changed: the client clears its banner"
        assert back["cursor"] != human["cursor"]

    # the whole conversation, read page by page from the start: every line once, in order
    seen: list[tuple[str, str]] = []
    cursor = None
    async with make_client(agent) as client:
        while True:
            page = await read(client, cursor)
            seen += [(m["role"], m["text"]) for m in page["messages"]]
            if not page["messages"]:
                break
            cursor = page["cursor"]
    stored = await agent.conversation("c1")
    assert stored is not None
    assert seen == [(m.role, m.text) for m in stored.transcript if m.role != "tool"]


async def test_a_long_poll_answers_as_soon_as_a_human_writes(make_client: Any) -> None:
    agent = shop_agent()
    console = Console(agent)
    async with make_client(agent, feed_interval=0.05) as client:
        conversation_id = await handed_off(client)
        cursor = (await read(client))["cursor"]

        quiet = time.monotonic()
        idle = await read(client, cursor, wait=0.5)
        assert idle["messages"] == [] and idle["cursor"] == cursor
        assert time.monotonic() - quiet >= 0.45, "nothing new: it waits the time asked"

        started = time.monotonic()
        waiting = asyncio.create_task(read(client, cursor, wait=25))
        await asyncio.sleep(0.3)
        assert not waiting.done()
        await console.reply(conversation_id, "Alex here, one moment.", human="Alex")
        got = await asyncio.wait_for(waiting, 20)
        assert time.monotonic() - started < 10, "it answered early, not after 25 s"
        assert [m["text"] for m in got["messages"]] == ["Alex here, one moment."]

        # a hand-back with no line to say is news too: the status
        waiting = asyncio.create_task(read(client, got["cursor"], wait=25))
        await asyncio.sleep(0.2)
        await console.hand_back(conversation_id, human="Alex")
        back = await asyncio.wait_for(waiting, 20)
        assert back["status"] == "open"


async def test_a_customer_may_read_only_their_own_messages(make_client: Any) -> None:
    def authorize(request: Request, customer_id: str | None) -> bool:
        return customer_id is not None and request.headers.get("x-user") == customer_id

    async with make_client(api_keys=[], authorize=authorize) as client:
        said = await client.post(M, json={"text": HANDOFF}, headers={"x-user": "c1"})
        assert said.status_code == 200
        mine = await client.get(M, headers={"x-user": "c1"})
        assert mine.status_code == 200 and mine.json()["messages"]
        other = await client.get(M, headers={"x-user": "c2"})
        assert error(other) == (403, "forbidden")
        # a cursor of c1's conversation gives c2 nothing of it
        cursor = Cursor(conversation_id=mine.json()["conversation_id"]).encode()
        theirs = await client.get(
            "/v1/customers/c2/messages", params={"after": cursor}, headers={"x-user": "c2"}
        )
        assert theirs.status_code == 200 and theirs.json()["messages"] == []
        assert theirs.json()["conversation_id"] is None
    async with make_client() as client:
        client.headers.pop("Authorization")
        assert error(await client.get(M)) == (401, "unauthorized")


def _cursor_of(data: Any) -> str:
    return "c1." + base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "c1.!!!",
        "c1.",
        _cursor_of({"a": 1}),
        _cursor_of(["conv", 1.0, -1, "open"]),
        _cursor_of(["conv", "noon", 1, "open"]),
        _cursor_of(["conv", 1.0, 1, "sleeping"]),
        _cursor_of([7, 1.0, 1, "open"]),
        _cursor_of(["conv", 1.0, True, "open"]),
        "c1." + "A" * 2000,
    ],
)
async def test_a_garbage_cursor_is_refused(make_client: Any, cursor: str) -> None:
    async with make_client() as client:
        await client.post(M, json={"text": "where is order W1234567"})
        refused = await client.get(M, params={"after": cursor})
        assert error(refused) == (400, "invalid_cursor")


@pytest.mark.parametrize("wait", ["-1", "31", "soon", "nan"])
async def test_a_bad_wait_is_refused(make_client: Any, wait: str) -> None:
    async with make_client() as client:
        assert error(await client.get(M, params={"wait": wait})) == (422, "invalid_request")


async def test_lines_are_redacted_like_every_other_output(make_client: Any) -> None:
    agent = shop_agent()
    async with make_client(agent) as client:
        conversation_id = await handed_off(client)
        cursor = (await read(client))["cursor"]
        await Console(agent).reply(
            conversation_id, "Refunded to your card 4111 1111 1111 1111.", human="Alex"
        )
        lines = (await read(client, cursor))["messages"]
    assert "4111 1111 1111 1111" not in lines[0]["text"]
    assert "****1111" in lines[0]["text"]


async def test_the_next_conversation_follows_the_closed_one(make_client: Any) -> None:
    """A cursor of a conversation closed since: the rest of it, then the new one."""
    agent = shop_agent()
    async with make_client(agent) as client:
        conversation_id = await handed_off(client)
        cursor = (await read(client))["cursor"]
        await Console(agent).reply(conversation_id, "Sorted, bye!", human="Alex")
        closed = await agent.store.get(conversation_id)
        assert closed is not None
        closed.status = "closed"
        await agent.store.save(closed)
        await client.post(M, json={"text": "where is order W1234567", "message_id": "n1"})
        both = await read(client, cursor)
    said = [(m["role"], m["text"], m.get("message_id")) for m in both["messages"]]
    assert said[0] == ("human_agent", "Sorted, bye!", None)
    assert said[1:] == [
        ("customer", "where is order W1234567", "n1"),
        ("agent", "Order W1234567 is pending", "n1"),
    ]
    assert both["conversation_id"] != conversation_id and both["status"] == "open"


async def test_a_long_conversation_comes_in_pages(
    make_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(feed, "MAX_LINES", 3)
    agent = shop_agent()
    async with make_client(agent) as client:
        for i in range(4):
            await client.post(M, json={"text": f"where is order W123456{i}"})
        first = await read(client)
        second = await read(client, first["cursor"])
        third = await read(client, second["cursor"])
    assert [len(p["messages"]) for p in (first, second, third)] == [3, 3, 2]
    assert first["more"] and second["more"] and not third["more"]
    stored = await agent.conversation("c1")
    assert stored is not None
    texts = [m["text"] for p in (first, second, third) for m in p["messages"]]
    assert texts == [line.text for line in stored.transcript]


def test_a_cursor_finds_its_line_among_lines_of_the_same_time() -> None:
    lines = [Message(role="agent", text=str(i), at=at) for i, at in enumerate([1, 2, 2, 2, 3])]
    assert Cursor(conversation_id="c", at=2.0, nth=2).position(lines) == 3
    assert Cursor(conversation_id="c", at=3.0, nth=1).position(lines) == 5
    assert Cursor(conversation_id="c").position(lines) == 0
    # its line moved to the archive: what came after it, by time
    assert Cursor(conversation_id="c", at=1.5, nth=1).position(lines) == 1
    assert Cursor(conversation_id="c", at=9.0, nth=1).position(lines) == 5
    cursor = Cursor(conversation_id="c", at=2.0, nth=3, status="handed_off")
    assert Cursor.decode(cursor.encode()) == cursor


async def test_the_question_asked_on_hand_back_comes_with_its_buttons(make_client: Any) -> None:
    """Handed back mid-request, the bot asks whether to go on: the line (not the customer's
    own) and the open question with its yes/no come through the feed."""
    agent = shop_agent()
    async with make_client(agent) as client:
        await client.post(M, json={"text": "I want to cancel order W1234567", "message_id": "m1"})
        asked = {"text": "let me talk to a human", "message_id": "m2"}
        handed = (await client.post(M, json=asked)).json()
        assert handed["outcome"] == "escalated", handed
        cursor = (await client.get("/v1/customers/c1/conversation")).json()["cursor"]
        conversation, _ = await Console(agent).hand_back(handed["conversation_id"], human="Alex")
        assert conversation.pending is not None and conversation.pending.kind == "resume"
        back = await read(client, cursor, wait=5)
    assert [(m["role"], m.get("message_id")) for m in back["messages"]] == [("agent", None)]
    assert back["messages"][0]["text"] == conversation.pending.question
    assert back["status"] == "open"
    assert back["pending"]["kind"] == "resume" and back["pending"]["options"] == ["yes", "no"]
    assert back["pending"]["question_id"] == conversation.pending.id
