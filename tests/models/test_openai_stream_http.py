"""End to end over HTTP: an agent on OpenAIModel (pointed at the fake OpenAI server, which
streams) served by ``create_app`` under a real uvicorn on 127.0.0.1; an httpx client reads the
Server-Sent Events as they arrive: ``token`` events, then the ``delta`` that settles them."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx2
import pytest
from _openai_server import FakeOpenAIServer, Scripted, sse_bytes, stream_chunks, tool_call

import resolvekit as rk
from resolvekit.models.openai import OpenAIModel, OpenAISettings
from resolvekit.redaction import DEFAULT_REDACTOR
from tests.serve.widget_server import serve_agent

pytestmark = pytest.mark.usefixtures("allow_openai_requests")

KEY = "test-key"


class CheckOrder(rk.Intent):
    """Customer asks where an order is."""

    order_id: str = rk.Slot(ask="What is the order number?")


@pytest.fixture
def fake() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as running:
        yield running


def agent_on(fake: FakeOpenAIServer, **options: Any) -> rk.Agent[None]:
    settings = OpenAISettings(retry_initial=0.001, retry_max_wait=0.01, timeout=30.0)
    model = OpenAIModel("gpt-4.1-mini", base_url=fake.url, api_key="sk-test", settings=settings)
    agent: rk.Agent[None] = rk.Agent(name="Acme", model=model, store="memory://", **options)

    @agent.playbook(CheckOrder)
    async def check(ctx: rk.Context[None], intent: CheckOrder) -> None:
        ctx.say(f"Order {intent.order_id} is on its way.")

    return agent


@contextlib.contextmanager
def serving(agent: rk.Agent[None]) -> Iterator[str]:
    """``create_app(agent)`` under uvicorn in a thread, on a free port; its base URL."""
    with serve_agent(agent, None, api_keys=[KEY]) as running:
        yield running.url


async def stream(url: str, text: str) -> AsyncIterator[tuple[str, Any]]:
    """The events of one streamed turn, each as soon as it arrives."""
    headers = {"Authorization": f"Bearer {KEY}"}
    async with (
        httpx2.AsyncClient(timeout=60) as client,
        client.stream(
            "POST", f"{url}/v1/customers/c1/messages/stream", json={"text": text}, headers=headers
        ) as response,
    ):
        assert response.status_code == 200
        event = None
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                event = line[len("event: ") :]
            elif line.startswith("data: "):
                yield event or "", json.loads(line[len("data: ") :])


REPLY = "Hello! I can help with orders, refunds and anything about your account today."


async def test_reply_tokens_stream_over_http_before_the_turn_ends(
    fake: FakeOpenAIServer,
) -> None:
    resume = threading.Event()
    body = tool_call("reply", {"text": REPLY})
    paused = Scripted(
        body=body, pause_at=len(sse_bytes(stream_chunks(body)[:12])), pause=20, resume=resume
    )
    fake.push(paused)
    got: list[tuple[str, Any]] = []
    with serving(agent_on(fake, redaction=None)) as url:
        async for event in stream(url, "hi"):
            if event[0] == "token" and not resume.is_set():
                # The model is still answering (the fake server waits) and the client already
                # has words of the reply.
                assert paused.resumed is None
                resume.set()
            got.append(event)
    assert paused.resumed is True
    names = [name for name, _ in got]
    tokens = [data["text"] for name, data in got if name == "token"]
    assert len(tokens) >= 5
    assert names == ["token"] * len(tokens) + ["delta", "done"]
    assert "".join(tokens) == REPLY == got[-2][1]["text"] == got[-1][1]["reply"]
    assert fake.bodies[0]["stream"] is True


async def test_a_retried_stream_is_retracted_over_http(fake: FakeOpenAIServer) -> None:
    first = tool_call("reply", {"text": "Your refund of $500 is approved and sent."})
    fake.push(
        Scripted(body=first, cut=len(sse_bytes(stream_chunks(first))) // 2),
        tool_call("reply", {"text": "Which order is it about?"}),
    )
    with serving(agent_on(fake, redaction=None)) as url:
        got = [event async for event in stream(url, "refund please")]
    names = [name for name, _ in got]
    retract = names.index("retract")
    assert names[:retract] and set(names[:retract]) == {"token"}
    after = [data["text"] for name, data in got[retract:] if name == "token"]
    assert "".join(after) == "Which order is it about?"
    assert names[-2:] == ["delta", "done"] and got[-1][1]["reply"] == "Which order is it about?"


async def test_with_redaction_tokens_go_out_a_sentence_at_a_time_and_masked(
    fake: FakeOpenAIServer,
) -> None:
    reply = (
        "Your card 4111 1111 1111 1111 is on file. "
        "We will call you on +44 20 7946 0958 today!\nAnything else?"
    )
    fake.push(Scripted(body=tool_call("reply", {"text": reply}), piece=2))
    with serving(agent_on(fake)) as url:  # the default redaction policy
        got = [event async for event in stream(url, "hi")]
    tokens = [data["text"] for name, data in got if name == "token"]
    assert tokens == [
        "Your card [card ****1111] is on file. ",
        "We will call you on [phone ****58] today!\n",
    ]
    assert got[-2] == ("delta", {"text": DEFAULT_REDACTOR.redact_text(reply)})
    wire = json.dumps(got)
    assert "4111 1111" not in wire and "7946" not in wire
