"""TurnResult.options: quick replies for the question a turn leaves open."""

from __future__ import annotations

from enum import Enum
from typing import Literal

import resolvekit as rk
from tests.engine.shop import Backend, build_agent


class Size(Enum):
    SMALL = "small"
    LARGE = "large"


class Order(rk.Intent):
    """Customer wants to order a shirt."""

    examples = ["I want to order a shirt", "buy a shirt"]


def shirt_agent() -> rk.Agent[None]:
    agent: rk.Agent[None] = rk.Agent("Shirts", model="test", store="memory://", handoff=[])

    @agent.playbook(Order)
    async def order(ctx: rk.Context[None], intent: Order) -> rk.PlaybookOutcome:
        colour = await ctx.ask("Which colour?", Literal["red", "blue"], name="colour")
        size = await ctx.ask("Which size?", Size, name="size")
        note = await ctx.ask("Anything to print on it?", name="note")
        return ctx.resolve(f"A {size.value} {colour} shirt: {note}")

    return agent


async def test_confirmations_offer_yes_and_no_and_slots_their_choices() -> None:
    agent = build_agent(Backend(), "test", handoff=[])
    slot = await agent.handle("c1", "cancel order W1234567", message_id="m1")
    assert (slot.pending, slot.options) == ("slot", ["no longer needed", "ordered by mistake"])
    confirm = await agent.handle("c1", "no longer needed")
    assert (confirm.pending, confirm.options) == ("confirm", ["yes", "no"])
    done = await agent.handle("c1", "yes")
    assert (done.pending, done.options) == (None, [])
    again = await agent.handle("c1", "cancel order W1234567", message_id="m1")
    assert again.duplicate and again.options == slot.options  # kept with the receipt


async def test_asks_offer_the_choices_of_their_type() -> None:
    agent = shirt_agent()
    colour = await agent.handle("c1", "I want to order a shirt")
    assert (colour.pending, colour.options) == ("ask", ["red", "blue"])
    size = await agent.handle("c1", "blue")
    assert (size.pending, size.options) == ("ask", ["small", "large"])
    note = await agent.handle("c1", "large")
    assert (note.pending, note.options) == ("ask", [])
    assert (await agent.handle("c1", "nothing")).outcome == "resolved"
