"""The terminal chat and the scripted demo of the retail example."""

from __future__ import annotations

import io

import pytest

from examples.retail import build_agent
from examples.retail.__main__ import chat, demo, main

from .retail_data import fresh_db, require_data

require_data()


async def test_chat_introduces_the_customer_and_explains_a_turn() -> None:
    db = fresh_db()
    lines = iter(["I want to cancel an order", "/why", ""])
    out = io.StringIO()
    agent = build_agent(model="test")
    await chat(agent, db, db.users["yusuf_rossi_9620"], read=lambda _: next(lines), out=out)
    text = out.getvalue()
    assert "email: yusuf.rossi7301@example.com   zip: 19122" in text
    assert "#W2378156  delivered" in text
    assert "agent> Before I can help" in text
    assert "intent: CancelOrder" in text and "tool authenticated_user({}) -> done" in text
    assert "escalation: none" in text


async def test_demo_exchanges_the_thermostat() -> None:
    db = fresh_db()
    out = io.StringIO()
    await demo(build_agent(model="test"), db, out=out)
    assert db.orders["#W2378156"].exchange_new_items == ["7747408585"]
    assert "delivered -> exchange requested" in out.getvalue()


def test_unknown_user_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--user", "nobody_0000", "--model", "test"]) == 2
    assert "No user 'nobody_0000'" in capsys.readouterr().err
