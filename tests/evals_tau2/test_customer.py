"""The task-driven customer's answers to each kind of question in examples/retail/DIALOGUE.md."""

from __future__ import annotations

import pytest

from evals.tau2_retail.convert import tasks_to_scenarios
from evals.tau2_retail.customer import TaskCustomer, classify_question
from evals.tau2_retail.data import Task
from examples.retail.db import RetailDB
from resolvekit.evals import AgentTurn, UserSession

from .shop import SECRET_IDS, _task, database, tasks


@pytest.fixture(scope="module")
def customers() -> dict[str, TaskCustomer]:
    db = RetailDB.model_validate(database())
    converted = tasks_to_scenarios([Task.model_validate(t) for t in tasks()], db)
    found = {s.id.removeprefix("task-"): s.user for s in converted}
    assert all(isinstance(c, TaskCustomer) for c in found.values())
    return found  # type: ignore[return-value]


def _customer_of(task: Task) -> TaskCustomer:
    (scenario,) = tasks_to_scenarios([task], RetailDB.model_validate(database()))
    customer: object = scenario.user
    assert isinstance(customer, TaskCustomer)
    return customer


async def _session(customer: TaskCustomer) -> tuple[UserSession, str]:
    session = customer.start(seed=0)
    return session, await session.opening()


async def ask(session: UserSession, text: str, outcome: str = "awaiting_customer") -> str | None:
    move = await session.respond(AgentTurn(text=text, outcome=outcome))
    return move.text


IDENTITY = (
    "Could you give me the email address on your account, or your first and last name and zip code?"
)


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        (IDENTITY, "identity"),
        ("Which order is it? Please give me the order number.", "order"),
        ("Which order would you like to pay differently?", "order"),
        ("Which items would you like to return?", "items"),
        ("Are those all the items you want to exchange?", "all_items"),
        ("Which options would you like instead?", "options"),
        ("Which payment method should we refund to?", "payment"),
        ("What is the reason for the cancellation?", "reason"),
        ("What is the new address?", "address"),
        ("Please confirm: cancel order #W1. Shall I proceed?", "confirm"),
        ("Done. Is there anything else I can help you with?", "anything_else"),
        ("How can I help you today?", "open"),
        ("What is your favourite colour?", "unknown"),
        ("Your order is on its way.", "statement"),
    ],
)
def test_questions_are_classified_by_the_dialogue_keywords(question: str, kind: str) -> None:
    assert classify_question(question) == kind


async def test_opening_is_the_reason_in_first_person_without_stage_directions(
    customers: dict[str, TaskCustomer],
) -> None:
    _, opening = await _session(customers["ex"])
    assert opening == (
        "I received my order #W0000001 and I'd like to exchange the mechanical keyboard for the "
        "same one but with clicky switches."
    )
    _, opening = await _session(customers["nc"])
    assert (
        opening == "I'd like to cancel the desk lamp."
    )  # the "if the agent asks" part is kept back


async def test_identity_from_known_info_and_unknown_email(
    customers: dict[str, TaskCustomer],
) -> None:
    session, opening = await _session(customers["ex"])
    assert "Ada" not in opening and "10001" not in opening  # identity is held back
    assert await ask(session, IDENTITY) == (
        "I don't remember my email address. I'm Ada Lovelace, zip code 10001."
    )
    session, _ = await _session(customers["cx"])
    assert await ask(session, IDENTITY) == "My email is ada@example.com."
    assert await ask(session, "What is your zip code?") == "I'm sorry, I don't know."
    session, _ = await _session(customers["ex"])
    assert await ask(session, "And your zip code?") == "My zip code is 10001."


async def test_order_by_id_only_when_the_scenario_states_it(
    customers: dict[str, TaskCustomer],
) -> None:
    session, _ = await _session(customers["ex"])
    assert await ask(session, "Which order is it? Please give me the order number.") == "#W0000001"
    session, _ = await _session(customers["cx"])
    answer = await ask(session, "Which order would you like to cancel? The order number?")
    assert answer == "my pending order with only the desk lamp"


async def test_an_exchange_is_answered_step_by_step(customers: dict[str, TaskCustomer]) -> None:
    session, _ = await _session(customers["ex"])
    assert await ask(session, "Which items in order #W0000001 would you like to exchange?") == (
        "the mechanical keyboard"
    )
    assert await ask(session, "Is there anything else, or are those all the items?") == (
        "No, that's all."
    )
    assert await ask(session, "For the keyboard, which options would you like instead?") == (
        "one with switch type: clicky and backlight: none"
    )
    assert await ask(session, "Which payment method should pay the difference?") == (
        "my visa credit card ending in 4242"
    )
    wrong = await ask(
        session,
        "Please confirm: exchange the Mechanical Keyboard for switch type: clicky, backlight: "
        "RGB and the Desk Lamp. Shall I proceed?",
    )
    assert wrong is not None and wrong.startswith("No, ")
    assert "desk lamp" in wrong
    right = await ask(
        session,
        "Please confirm: exchange in order #W0000001: Mechanical Keyboard -> switch type: "
        "clicky, backlight: none. Shall I proceed?",
        outcome="awaiting_customer",
    )
    assert right == "Yes, please go ahead."
    bye = await ask(session, "Done. Is there anything else I can help you with?", "resolved")
    assert bye == "No, that's all. Thank you, bye!"
    assert await ask(session, "Goodbye!", "resolved") is None


async def test_cancel_reason_and_address_answers(customers: dict[str, TaskCustomer]) -> None:
    session, _ = await _session(customers["cx"])
    assert await ask(session, "What is the reason for cancelling the order?") == (
        "It's no longer needed."
    )
    session, _ = await _session(customers["addr"])
    assert await ask(session, "What is the new address? Please give it in one line.") == (
        "9 Engine Street, Boston, MA, USA, 02110"
    )


async def test_no_change_goal_refuses_confirmation_and_accepts_refusal(
    customers: dict[str, TaskCustomer],
) -> None:
    session, _ = await _session(customers["nc"])
    no = await ask(session, "Please confirm: cancel order #W0000002. Shall I proceed?")
    assert no is not None and no.startswith("No, please don't")
    assert await ask(session, "OK, I haven't changed anything. Anything else?", "resolved") == (
        "No, that's all. Thank you, bye!"
    )


async def test_transfer_goal_asks_for_a_human_after_a_refusal(
    customers: dict[str, TaskCustomer],
) -> None:
    session, _ = await _session(customers["tr"])
    answer = await ask(session, "Sorry, I can't undo a cancellation. Anything else?", "refused")
    assert answer == "Then I'd like to talk to a human agent, please."
    move = await session.respond(AgentTurn(text="Transferring you.", outcome="escalated"))
    assert move.text is None and move.reason == "handed to a human"


async def test_a_refused_goal_is_restated_once_then_dropped(
    customers: dict[str, TaskCustomer],
) -> None:
    session, _ = await _session(customers["ex"])
    first = await ask(session, "Only pending orders can be cancelled. Anything else?", "refused")
    assert first == (
        "Let me put it another way. I'd like to exchange the mechanical keyboard from my order "
        "#W0000001."
    )
    second = await ask(session, "Sorry, I can't do that. Anything else?", "refused")
    assert second == "No, that's all. Thank you, bye!"


async def test_unknown_questions_get_i_dont_know_and_patience_runs_out(
    customers: dict[str, TaskCustomer],
) -> None:
    session, _ = await _session(customers["info"])
    answers = [await ask(session, f"What is your favourite colour number {i}?") for i in range(4)]
    assert all("I'm not sure what you mean" in a for a in answers[:2] if a)
    assert answers[2] == "This isn't getting anywhere. Could I talk to a human agent, please?"
    assert answers[3] is None


async def test_question_goal_moves_on_after_the_answer(customers: dict[str, TaskCustomer]) -> None:
    session, opening = await _session(customers["info"])
    assert opening == "I'd like to know how much I paid for my pending order."
    assert await ask(session, "You paid $30.00 for order #W0000002.", "answered") == (
        "No, that's all. Thank you, bye!"
    )


async def test_the_customer_never_says_an_id_its_scenario_does_not_state(
    customers: dict[str, TaskCustomer],
) -> None:
    questions = [
        IDENTITY,
        "Which order would you like? Please give me the order number.",
        "Which items would you like?",
        "Which options would you like instead?",
        "Which payment method should we use?",
        "What is the reason?",
        "What is the new address?",
        "Please confirm: do it. Shall I proceed?",
        "How can I help you?",
        "What is your user id?",
        "Is there anything else I can help you with?",
    ]
    for name, customer in customers.items():
        session, opening = await _session(customer)
        said = [opening]
        for question in questions:
            answer = await ask(session, question)
            if answer is not None:
                said.append(answer)
        for line in said:
            for secret in SECRET_IDS:
                assert secret not in line, f"task {name} leaked {secret}: {line!r}"
        if name != "ex" and name != "addr":
            assert not any("#W" in line for line in said), f"task {name} named an order id"


async def test_the_customer_recognises_its_order_when_the_agent_shows_it(
    customers: dict[str, TaskCustomer],
) -> None:
    session, _ = await _session(customers["cx"])
    listed = "I found 2 orders: #W0000001 (Mechanical Keyboard, Desk Lamp); #W0000002 (Desk Lamp)."
    assert await ask(session, f"{listed} Which order do you mean?") == "#W0000002, that's the one."
    wrong = await ask(session, "Please confirm: cancel order #W0000001. Shall I proceed?")
    assert (
        wrong == "No, that's not the order I mean; I mean my pending order with only the desk lamp."
    )
    right = await ask(
        session, "Please confirm: cancel order #W0000002 (Desk Lamp). Shall I proceed?"
    )
    assert right == "Yes, please go ahead."


async def test_options_asked_for_another_item_are_corrected(
    customers: dict[str, TaskCustomer],
) -> None:
    session, _ = await _session(customers["ex"])
    answer = await ask(
        session, "For the Desk Lamp (color: black), which options would you like instead?"
    )
    assert answer == "No, I didn't ask about the desk lamp; I mean the mechanical keyboard."


async def test_a_goal_is_not_dropped_when_the_agent_did_something_else(
    customers: dict[str, TaskCustomer],
) -> None:
    session, _ = await _session(customers["ex"])
    answer = await ask(
        session, "There are 3 keyboards. Anything else I can help you with?", "resolved"
    )
    assert answer == "I'd like to exchange the mechanical keyboard from my order #W0000001."


async def test_a_question_is_asked_after_the_actions_before_saying_bye() -> None:
    task = Task.model_validate(
        {
            **tasks()[0],
            "id": "exq",
            "user_scenario": {
                "instructions": {
                    **tasks()[0]["user_scenario"]["instructions"],
                    "reason_for_call": "You want to exchange the mechanical keyboard in order "
                    "#W0000001 for a clicky one. Ask the agent how much money you save.",
                }
            },
        }
    )
    session, _ = await _session(_customer_of(task))
    assert await ask(
        session,
        "Exchange it? Please confirm: exchange Mechanical Keyboard "
        "#W0000001 -> switch type: clicky, backlight: none. Shall I proceed?",
    ) == ("Yes, please go ahead.")
    assert await ask(session, "Done. Anything else?", "resolved") == (
        "Also, could you tell me how much money I save?"
    )
    assert await ask(session, "You save $10.00.", "answered") == "No, that's all. Thank you, bye!"


async def test_the_customer_takes_the_only_order_the_agent_shows(
    customers: dict[str, TaskCustomer],
) -> None:
    session, _ = await _session(customers["info"])  # a question: no order of its own in mind
    listed = "Your orders are: #W0000002 (Desk Lamp; pending). Which order do you mean?"
    assert await ask(session, listed) == "That one, #W0000002."
    session, _ = await _session(customers["info"])
    two = "Your orders are: #W0000001 (Keyboard); #W0000002 (Desk Lamp). Which order do you mean?"
    assert await ask(session, two) != "That one, #W0000001."


async def test_a_proposed_order_is_accepted_only_when_it_is_the_one_meant(
    customers: dict[str, TaskCustomer],
) -> None:
    session, _ = await _session(customers["cx"])  # means #W0000002
    wrong = "I see one order you can cancel: #W0000001 (Mechanical Keyboard). Is that the one?"
    assert await ask(session, wrong) == ("No, I mean my pending order with only the desk lamp.")
    right = "I see one order you can cancel: #W0000002 (Desk Lamp). Is that the one?"
    assert await ask(session, right) == "Yes, please."


async def test_questions_the_goals_do_not_cover_are_answered_from_the_task_text(
    customers: dict[str, TaskCustomer],
) -> None:
    knows = customers["tr"].model_copy(
        update={"known": ["I placed the order last week.", "I paid with my PayPal account."]}
    )
    session, _ = await _session(knows)
    assert await ask(session, "Which payment method did you use?") == (
        "I paid with my PayPal account."
    )
    # Nothing in the text about a reason: still "I don't know", never an invention.
    assert await ask(session, "What is the reason for the return?") == "I'm sorry, I don't know."
    described = "I'd like to cancel the order with the desk lamp and the perfume."
    session, _ = await _session(customers["nc"].model_copy(update={"known": [described]}))
    assert await ask(session, "Which order would you like to cancel?") == described


def test_known_sentences_come_from_the_task_text_without_stage_directions() -> None:
    from evals.tau2_retail.goals import known_sentences

    (task,) = [Task.model_validate(t) for t in tasks() if t["id"] == "nc"]
    known = known_sentences(task)
    assert "I'd like to cancel the desk lamp." in known
    assert not any("regret" in k or "confirm" in k for k in known)


async def test_a_payment_change_confirmed_in_the_words_pay_with_is_accepted() -> None:
    task = _task(
        "pay",
        "You want to pay for your pending order with your visa card instead of PayPal.",
        [
            (
                "modify_pending_order_payment",
                {"order_id": "#W0000002", "payment_method_id": "credit_card_1111111"},
            )
        ],
    )
    session, _ = await _session(_customer_of(Task.model_validate(task)))
    assert await ask(
        session,
        "Please confirm: pay order #W0000002 ($30.00) with your visa credit card ending in 4242 "
        "instead of your PayPal account, which will be refunded. Shall I proceed?",
    ) == ("Yes, please go ahead.")
