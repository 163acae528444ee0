"""The retail agent runs unchanged on an LLM: OpenAIModel over the fake OpenAI server.

The "LLM" here is scripted turn by turn from the agent's last question, the way a function-calling
model would answer; the agent code is exactly the one LocalModel runs.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from _openai_server import FakeOpenAIServer, tool_call

from resolvekit.models.openai import OpenAIModel, OpenAISettings

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

retail = pytest.importorskip("examples.retail")
from examples.retail.db import DataMissing, load_db  # noqa: E402

pytestmark = pytest.mark.usefixtures("allow_openai_requests")


def _answer(reply: str, email: str) -> dict[str, Any]:
    """What a function-calling LLM answers to the agent's question."""
    lowered = reply.lower()
    if "email" in lowered:
        return tool_call("fill_slots", {"identity": email, "confidence": 0.9})
    if "proceed" in lowered or "confirm" in lowered:
        return tool_call("confirm", {"answer": "yes", "confidence": 0.9})
    if "reason" in lowered or "why" in lowered:
        return tool_call("fill_slots", {"reason": "no longer needed", "confidence": 0.9})
    raise AssertionError(f"unexpected question from the agent: {reply!r}")


async def test_retail_cancellation_on_an_llm(server: FakeOpenAIServer) -> None:
    try:
        db = load_db()
    except DataMissing:
        pytest.skip("τ²-bench retail data not available")
    order = next(o for o in db.orders.values() if o.status == "pending")
    email = db.users[order.user_id].email
    model = OpenAIModel(
        "gpt-4.1-mini",
        base_url=server.url,
        api_key="sk-test",
        settings=OpenAISettings(retry_initial=0.001, retry_max_wait=0.01),
    )
    agent = retail.build_agent(model=model, knowledge=False)
    server.push(
        tool_call(
            "start_cancel_order",
            {"order_id": order.order_id, "reason": "no longer needed", "confidence": 0.9},
        )
    )
    result = await agent.handle("c", f"Please cancel my order {order.order_id}", deps=db)
    for _ in range(6):
        if result.outcome != "awaiting_customer":
            break
        server.push(_answer(result.reply, email))
        # What the customer types matters at a confirmation: the engine reads it too.
        said = "yes, go ahead" if result.pending == "confirm" else "(customer answers)"
        result = await agent.handle("c", said, deps=db)
    assert result.outcome == "resolved", result.reply
    assert db.orders[order.order_id].status == "cancelled"
    assert result.usage.requests >= 1
    conversation = await agent.conversation("c")
    assert conversation is not None
    assert conversation.usage.requests == len(server.requests)
