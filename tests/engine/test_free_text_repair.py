"""Repair applies to a playbook's free-text ``ctx.ask`` too: a question or a new request is not
swallowed as the answer, and a topic switch at a yes/no question starts the other request."""

from __future__ import annotations

import resolvekit as rk
from resolvekit.models.local import LocalModel


class UpdateAddress(rk.Intent):
    """The customer moved house and wants the new address on the account."""

    examples = [
        "I've moved house",
        "change my address",
        "update my address please",
        "I have a new address",
        "I moved to a new flat",
    ]


class OutageCheck(rk.Intent):
    """Is there a service outage where the customer is."""

    examples = [
        "is there an outage",
        "is there an outage in my area",
        "is the network down near me",
        "outage near my postcode",
        "is the service down",
    ]


def build() -> tuple[rk.Agent[None], list[str]]:
    saved: list[str] = []
    agent: rk.Agent[None] = rk.Agent(
        "Telco", model=LocalModel.for_tests(), store="memory://", raise_errors=True
    )

    @agent.playbook(UpdateAddress)
    async def update_address(ctx: rk.Context[None], intent: UpdateAddress) -> rk.PlaybookOutcome:
        address = await ctx.ask("What is your new address?", name="address")
        saved.append(address)
        return ctx.resolve("address updated", reply=f"Your address is now {address}.")

    @agent.playbook(OutageCheck)
    async def outage(ctx: rk.Context[None], intent: OutageCheck) -> rk.PlaybookOutcome:
        return ctx.resolve("no outage", reply="There is no outage in your area.")

    return agent, saved


async def test_a_question_at_a_free_text_ask_starts_that_request_and_is_not_saved() -> None:
    agent, saved = build()
    await agent.handle("c", "I've moved house")
    turn = await agent.handle("c", "is there an outage near S11 8HW?")
    assert turn.intent == "OutageCheck" and "no outage" in turn.reply
    assert saved == []  # the question did not become the address
    assert turn.pending == "resume"
    back = await agent.handle("c", "yes")
    assert back.reply == "What is your new address?"
    done = await agent.handle("c", "5 Elm Road, Leeds LS2 9JT")
    assert done.outcome == "resolved" and saved == ["5 Elm Road, Leeds LS2 9JT"]


async def test_a_plain_statement_is_the_answer_even_when_it_sounds_like_an_intent() -> None:
    agent, saved = build()
    await agent.handle("c", "I've moved house")
    done = await agent.handle("c", "the new flat is 5 Elm Road, near the outage map office")
    assert done.outcome == "resolved"
    assert saved == ["the new flat is 5 Elm Road, near the outage map office"]


async def test_a_question_no_intent_fits_is_still_the_answer_without_a_knowledge_base() -> None:
    agent, saved = build()
    await agent.handle("c", "I've moved house")
    done = await agent.handle("c", "Flat 2? It's 5 Elm Road")
    assert done.outcome == "resolved" and saved == ["Flat 2? It's 5 Elm Road"]


async def test_a_topic_switch_at_a_yes_no_question_starts_the_other_request() -> None:
    agent, saved = build()
    await agent.handle("c", "I've moved house")
    await agent.handle("c", "is there an outage near S11 8HW?")  # "Shall we go back...?"
    turn = await agent.handle("c", "actually, is there an outage in my area?")
    assert turn.intent == "OutageCheck" and "no outage" in turn.reply
    assert saved == []
