"""Typos and chat shorthand through ``Agent.handle`` (issue #15): the retail and bank example
agents on ``model="test"``, each case checked against the same agent with
``LocalModel(typos=False)`` so the test shows what the correction changes."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest

import resolvekit as rk
from examples.bank import BankDataMissing, banking77_dir, demo_state
from examples.bank import build_agent as bank_agent
from examples.retail import build_agent as retail_agent
from resolvekit.models.local import LocalModel

from .retail_data import fresh_db, require_data

_ids = itertools.count()


def local(agent: rk.Agent[Any]) -> LocalModel:
    model = agent.model
    inner = getattr(model, "inner", model)  # the retail agent wraps its LocalModel
    assert isinstance(inner, LocalModel)
    return inner


def respelled(result: rk.TurnResult) -> list[list[Any]]:
    return [
        e.data["respelled"] for e in result.trace if e.kind == "model" and "respelled" in e.data
    ]


@pytest.fixture(scope="module")
def retail() -> Iterator[rk.Agent[Any]]:
    require_data()
    agent = retail_agent(model="test", store="memory://", raise_errors=True, handoff=[])
    yield agent
    local(agent).typos = True


@pytest.fixture(scope="module")
def bank() -> Iterator[rk.Agent[Any]]:
    try:
        banking77_dir()
    except BankDataMissing as exc:
        pytest.skip(f"BANKING77 data missing: {exc}")
    agent = bank_agent(model="test", raise_errors=True)
    yield agent
    local(agent).typos = True


async def both_ways(agent: rk.Agent[Any], text: str, **deps: Any) -> tuple[rk.TurnResult, ...]:
    """The turn with typo reading on, then with it off (fresh customers); the customer's words
    are kept as written in the transcript either way."""
    results = []
    for typos in (True, False):
        local(agent).typos = typos
        customer = f"typo-{next(_ids)}"
        results.append(await agent.handle(customer, text, **deps))
        conversation = await agent.conversation(customer)
        assert conversation is not None
        assert [m.text for m in conversation.transcript if m.role == "customer"] == [text]
    local(agent).typos = True
    return tuple(results)


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("pls cancle ordr", "CancelOrder"),
        ("wheres my ordr", "OrderStatus"),
        ("pls chnage my adress", "ModifyUserAddress"),
        ("whats the staus of my ordr", "OrderStatus"),
    ],
)
async def test_retail_reads_typos_and_shorthand(
    retail: rk.Agent[Any], text: str, intent: str
) -> None:
    on, off = await both_ways(retail, text, deps=fresh_db())
    assert on.intent == intent, on.reply
    assert off.intent != intent  # the test bites: as written, the message is not understood
    assert respelled(on)  # the correction is in the trace


async def test_a_typo_ridden_request_for_a_person_is_handed_over(retail: rk.Agent[Any]) -> None:
    on, off = await both_ways(retail, "lemme tlak 2 sum1 real", deps=fresh_db())
    assert on.outcome == "escalated"
    assert off.outcome != "escalated"
    assert respelled(on) == [[("lemme", "let me"), ("tlak", "talk"), ("sum1", "someone")]]
    spelled, _ = await both_ways(retail, "i wanna speek to a humna", deps=fresh_db())
    assert spelled.outcome == "escalated"


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("pls cancle my tranfser", "CancelTransfer"),
        ("pls cancle my ordr", "CancelOrder"),  # the retail agent's own router reads this one
    ],
)
async def test_bank_and_retail_read_typos(
    bank: rk.Agent[Any], retail: rk.Agent[Any], text: str, intent: str
) -> None:
    agent, deps = (bank, demo_state()) if intent == "CancelTransfer" else (retail, fresh_db())
    on, off = await both_ways(agent, text, deps=deps)
    assert on.intent == intent, on.reply
    if intent == "CancelTransfer":
        assert off.intent != intent
        assert ("cancle", "cancel") in respelled(on)[0]  # "pls" is in its examples


async def test_slot_values_come_from_the_words_as_written(bank: rk.Agent[Any]) -> None:
    state = demo_state()
    result = await bank.handle(f"typo-{next(_ids)}", "pls frezee my crad ending 4821", deps=state)
    assert result.intent == "FreezeCard"
    assert "4821" in result.reply  # the card found in the customer's own text


async def test_a_confident_message_costs_no_second_look(bank: rk.Agent[Any]) -> None:
    result = await bank.handle(f"typo-{next(_ids)}", "I lost my card", deps=demo_state())
    assert respelled(result) == []
