"""Simulated customers: scripted lines, the goal-driven user's rules, the LLM user's markers."""

from __future__ import annotations

import pytest

import resolvekit as rk
from resolvekit.evals import AgentTurn, Fact, GoalUser, LLMUser, ScenarioError, ScriptedUser
from resolvekit.models import ModelRequest


def ask(text: str, pending: str | None = "slot", outcome: str = "awaiting_customer") -> AgentTurn:
    return AgentTurn(text=text, outcome=outcome, pending=pending)


async def test_scripted_user_says_its_lines_then_stops() -> None:
    session = ScriptedUser(lines=["hi", "cancel W1", "hi"]).start(seed=0)
    assert await session.opening() == "hi"
    assert (await session.respond(ask("?"))).text == "cancel W1"
    assert (await session.respond(ask("?"))).text == "hi"
    end = await session.respond(ask("?"))
    assert end.text is None and end.reason == "script finished"
    assert session.repeated_info == 1


async def test_a_second_yes_or_no_is_an_answer_not_repeated_information() -> None:
    lines = ["cancel W1", "Yes, please go ahead.", "cancel W2", "Yes, please go ahead.", "no", "no"]
    session = ScriptedUser(lines=lines).start(seed=0)
    await session.opening()
    for _ in lines[1:]:
        await session.respond(ask("?"))
    assert session.repeated_info == 0
    session = ScriptedUser(lines=["my order is W1", "my order is W1"]).start(seed=0)
    await session.opening()
    await session.respond(ask("?"))
    assert session.repeated_info == 1


@pytest.mark.parametrize(
    ("line", "information"),
    [
        ("yes", False),
        ("Yes, please go ahead.", False),
        ("no thanks", False),
        ("No, I mean the order with the lamp.", True),
        ("W1002", True),
        ("yes, and change the address to 5 Elm Road", True),
    ],
)
def test_which_lines_count_as_information(line: str, information: bool) -> None:
    from resolvekit.evals.users import is_information

    assert is_information(line) is information


def test_scripted_lines_must_not_be_blank() -> None:
    with pytest.raises(ValueError, match="blank"):
        ScriptedUser(lines=["ok", "  "])


USER = GoalUser(
    goal=["I want to cancel my order.", "Please cancel an order."],
    facts={
        "order number": "W1002",
        "reason": Fact(value="I ordered it by mistake", keywords=["why"]),
    },
    agree_to=["W1002"],
)


async def test_goal_user_opens_with_the_goal_only_and_answers_questions_from_facts() -> None:
    session = USER.start(seed=1)
    opening = await session.opening()
    assert opening in ("I want to cancel my order.", "Please cancel an order.")
    assert "W1002" not in opening  # nothing volunteered up front
    answer = await session.respond(ask("Thanks. What is your order number?"))
    assert answer.text is not None and "W1002" in answer.text
    why = await session.respond(ask("May I ask why you want to cancel?"))
    assert why.text == "I ordered it by mistake"


async def test_goal_user_confirms_only_what_matches_its_goal() -> None:
    session = USER.start(seed=0)
    await session.opening()
    no = await session.respond(ask("Shall I cancel order W7777?", pending="confirm"))
    assert no.text is not None and no.text.lower().startswith("no")
    yes = await session.respond(ask("Shall I cancel order W1002 (desk)?", pending="confirm"))
    assert yes.text is not None and yes.text.lower().startswith("yes")
    # without a pending hint the question's form decides
    yes_again = await session.respond(ask("To confirm: cancel W1002. Shall I go ahead?", None))
    assert yes_again.text is not None and yes_again.text.lower().startswith("yes")


async def test_goal_user_volunteers_progressively_and_counts_repeats() -> None:
    session = USER.start(seed=0)
    await session.opening()
    first = await session.respond(ask("Sorry, could you tell me a bit more?", pending=None))
    assert first.text is not None and "W1002" in first.text and "mistake" not in first.text
    second = await session.respond(ask("Sorry, could you tell me a bit more?", pending=None))
    assert second.text is not None and "mistake" in second.text
    assert session.repeated_info == 0
    await session.respond(ask("What is the order number?"))
    assert session.repeated_info == 1


async def test_goal_user_says_it_does_not_know_then_asks_for_a_human_then_gives_up() -> None:
    session = GoalUser(goal="Help with my account", patience=2).start(seed=0)
    await session.opening()
    first = await session.respond(ask("What is your date of birth?"))
    assert first.text == "I don't know."
    human = await session.respond(ask("What is your postcode?"))
    assert human.text is not None and "human" in human.text
    end = await session.respond(ask("What is your postcode?"))
    assert end.text is None and end.reason == "gave up"


async def test_goal_user_ends_when_the_agent_is_done_or_escalates() -> None:
    session = USER.start(seed=0)
    await session.opening()
    done = await session.respond(ask("Order W1002 has been cancelled.", None, "resolved"))
    assert done.text is None and done.reason == "agent finished (resolved)"
    session = USER.start(seed=0)
    await session.opening()
    handed = await session.respond(ask("A colleague will help.", None, "escalated"))
    assert handed.text is None and handed.reason == "handed to a human"
    # an answer while a question is still pending does not end the conversation
    session = USER.start(seed=0)
    await session.opening()
    going = await session.respond(
        ask(
            "Returns take 30 days. Now, back to your request: What is your order number?",
            "slot",
            "answered",
        )
    )
    assert going.text is not None and "W1002" in going.text


async def test_goal_user_is_deterministic_per_seed_and_varies_across_seeds() -> None:
    async def play(seed: int) -> list[str | None]:
        session = USER.start(seed=seed)
        lines: list[str | None] = [await session.opening()]
        for question in ("What is your order number?", "Shall I cancel order W1002?"):
            lines.append((await session.respond(ask(question))).text)
        return lines

    assert await play(3) == await play(3)
    assert len({str(await play(seed)) for seed in range(8)}) > 1


def test_goal_user_rejects_unknown_opening_facts() -> None:
    with pytest.raises(ValueError, match="unknown facts"):
        GoalUser(goal="x", facts={"a": "1"}, opening_facts=["b"])


async def test_opening_facts_are_said_up_front() -> None:
    session = GoalUser(
        goal="Cancel it.", facts={"order number": "W1"}, opening_facts=["order number"]
    ).start(seed=0)
    assert "W1" in await session.opening()


async def test_llm_user_plays_a_persona_with_mirrored_roles_and_markers() -> None:
    replies = iter(["Hi, I want to cancel my order.", "It's W1002.", "Thanks! ###STOP###"])

    def customer(request: ModelRequest) -> rk.Reply:
        assert request.allowed == frozenset({"reply"})
        assert "Persona: impatient" in request.instructions
        assert "order number: W1002" in request.instructions
        return rk.Reply(text=next(replies))

    model = rk.FunctionModel(customer)
    user = LLMUser(persona="impatient", goal="cancel order", facts={"order number": "W1002"})
    session = user.start(seed=0, model=model)
    assert await session.opening() == "Hi, I want to cancel my order."
    assert (await session.respond(ask("Which order?"))).text == "It's W1002."
    roles = [(m.role, m.text) for m in model.requests[-1].messages]
    assert roles == [
        ("agent", "Hi, I want to cancel my order."),
        ("customer", "Which order?"),
    ]
    end = await session.respond(ask("Done, it's cancelled.", None, "resolved"))
    assert end.text is None and end.reason == "customer said stop"


async def test_llm_user_transfer_marker_asks_for_a_human() -> None:
    model = rk.FunctionModel(lambda request: rk.Reply(text="###TRANSFER###"))
    session = LLMUser(persona="p", goal="g", model=model).start(seed=0)
    assert await session.opening() == "Please transfer me to a human agent."


def test_llm_user_needs_a_model() -> None:
    with pytest.raises(ScenarioError, match="needs a model"):
        LLMUser(persona="p", goal="g").start(seed=0)
