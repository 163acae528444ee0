"""Whole conversations with the retail agent on ``model="test"``, scripted customer lines, and
the final database compared with the reference actions replayed on a fresh copy."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

import resolvekit as rk
from examples.retail import build_agent
from examples.retail.db import RetailDB, diff_dbs
from examples.retail.dialog import TRANSFER
from examples.retail.tools import apply_action

from .retail_data import fresh_db, require_data

require_data()

_ids = itertools.count()


@pytest.fixture(scope="module")
def agent() -> rk.Agent[RetailDB]:
    return build_agent(model="test", store="memory://", raise_errors=True)


async def talk(agent: rk.Agent[RetailDB], db: RetailDB, lines: list[str]) -> list[rk.TurnResult]:
    customer = f"customer-{next(_ids)}"
    return [await agent.handle(customer, line, deps=db) for line in lines]


def replayed(actions: list[tuple[str, dict[str, Any]]]) -> RetailDB:
    db = fresh_db()
    for name, arguments in actions:
        apply_action(db, name, arguments)
    return db


def assert_same(db: RetailDB, expected: RetailDB) -> None:
    assert db.digest() == expected.digest(), diff_dbs(db, expected)


async def test_cancel_conversation(agent: rk.Agent[RetailDB]) -> None:
    db = fresh_db()
    turns = await talk(
        agent,
        db,
        [
            "Hi, I need to cancel an order",
            "I am Aarav Lee and my zip is 85025",
            "#W3361211",
            "I don't need it anymore",
            "yes please",
        ],
    )
    assert "email" in turns[0].reply and "zip" in turns[0].reply
    assert "order number" in turns[1].reply
    assert "reason" in turns[2].reply
    confirm = turns[3].reply
    assert "#W3361211" in confirm and "no longer needed" in confirm and confirm.endswith("?")
    assert turns[4].outcome == "resolved"
    assert_same(
        db,
        replayed(
            [("cancel_pending_order", {"order_id": "#W3361211", "reason": "no longer needed"})]
        ),
    )


async def test_exchange_with_item_descriptions(agent: rk.Agent[RetailDB]) -> None:
    db = fresh_db()
    turns = await talk(
        agent,
        db,
        [
            "I received my order and I want to exchange a couple of things",
            "I'm Yusuf Rossi, zip 19122",
            "#W2378156",
            "the mechanical keyboard and the smart thermostat",
            "no, that's all",
            "clicky switches, RGB backlight, full size",
            "clicky switches, no backlight, full size",
            "Google Assistant, black",
            "yes",
        ],
    )
    assert "which items" in turns[2].reply.lower()
    assert "all the items" in turns[3].reply
    assert "instead" in turns[4].reply
    assert "no available Mechanical Keyboard" in turns[5].reply  # clicky + RGB does not exist
    assert "Smart Thermostat" in turns[6].reply
    assert "$16.63 back" in turns[7].reply
    assert turns[8].outcome == "resolved"
    assert_same(
        db,
        replayed(
            [
                (
                    "exchange_delivered_order_items",
                    {
                        "order_id": "#W2378156",
                        "item_ids": ["1151293680", "4983901480"],
                        "new_item_ids": ["7706410293", "7747408585"],
                        "payment_method_id": "credit_card_9513926",
                    },
                )
            ]
        ),
    )


async def test_return_with_order_described_by_its_items(agent: rk.Agent[RetailDB]) -> None:
    db = fresh_db()
    turns = await talk(
        agent,
        db,
        [
            "I want to return some things I received",
            "yusuf rossi, 19122",
            "the order with the vacuum cleaner",
            "the cleaner, the headphones and the smart watch",
            "yes",
        ],
    )
    assert "Which items in order #W2378156" in turns[2].reply
    assert "$1285.12" in turns[3].reply
    assert turns[4].outcome == "resolved"
    assert_same(
        db,
        replayed(
            [
                (
                    "return_delivered_order_items",
                    {
                        "order_id": "#W2378156",
                        "item_ids": ["4602305039", "4202497723", "9408160950"],
                        "payment_method_id": "credit_card_9513926",
                    },
                )
            ]
        ),
    )


async def test_two_requests_in_one_conversation(agent: rk.Agent[RetailDB]) -> None:
    """Cancel one order, then return an item of another: authenticated once."""
    db = fresh_db()
    turns = await talk(
        agent,
        db,
        [
            "I need to cancel all of my pending orders",
            "Fatima Johnson, 78712",
            "#W8665881",
            "no longer needed",
            "yes",
            "I also want to return an item I received",
            "#W9389413",
            "the smart watch",
            "to the original payment method",
            "yes",
        ],
    )
    assert turns[4].outcome == "resolved"
    # No second authentication; the only delivered order is proposed, and the customer's
    # answer naming it accepts it.
    assert "#W9389413" in turns[5].reply and turns[5].reply.endswith("Is that the one?")
    assert "refund to" in turns[7].reply and "gift card" in turns[7].reply
    assert turns[-1].outcome == "resolved"
    assert_same(
        db,
        replayed(
            [
                ("cancel_pending_order", {"order_id": "#W8665881", "reason": "no longer needed"}),
                (
                    "return_delivered_order_items",
                    {
                        "order_id": "#W9389413",
                        "item_ids": ["2554056026"],
                        "payment_method_id": "paypal_5364164",
                    },
                ),
            ]
        ),
    )


async def test_ambiguous_item_is_asked_and_picked_by_position(agent: rk.Agent[RetailDB]) -> None:
    db = fresh_db()
    turns = await talk(
        agent,
        db,
        [
            "I want to return something",
            "Mohamed Lee 75372",
            "#W7913362",
            "the backpack",
            "the second one",
            "yes",
        ],
    )
    assert turns[3].reply.startswith("Which item do you mean: 1) Backpack")
    assert "hydration" in turns[4].reply
    assert db.orders["#W7913362"].return_items == ["6309044598"]


async def test_ambiguous_order_is_asked(agent: rk.Agent[RetailDB]) -> None:
    db = fresh_db()
    turns = await talk(
        agent,
        db,
        ["I'd like to return an item", "Ava Nguyen, zip 78786", "the one with the smart watch"],
    )
    reply = turns[2].reply
    assert "Which order do you mean" in reply
    assert "#W1504875" in reply and "#W9126675" in reply


async def test_policy_refusals_change_nothing(agent: rk.Agent[RetailDB]) -> None:
    db = fresh_db()
    before = db.digest()
    turns = await talk(
        agent,
        db,
        ["please cancel my order #W2378156", "yusuf rossi 19122"],
    )
    assert turns[1].outcome == "refused"
    assert "delivered" in turns[1].reply and "only pending orders" in turns[1].reply
    turns = await talk(
        agent,
        db,
        [
            "I want to cancel an order",
            "Aarav Lee, 85025",
            "#W3361211",
            "it's too expensive",
            "I found a better price",
        ],
    )
    assert "only cancel an order for one of two reasons" in turns[3].reply
    assert turns[4].outcome == "refused"
    turns = await talk(
        agent,
        db,
        ["cancel the order with the desk lamp and the perfume", "Mei Li, zip code 92149"],
    )
    # The only order with both is processed: say so, don't ask "which order?".
    assert turns[1].outcome == "refused", turns[1].reply
    assert "#W5036595 is processed" in turns[1].reply
    assert db.digest() == before


async def test_no_at_the_confirmation_changes_nothing(agent: rk.Agent[RetailDB]) -> None:
    db = fresh_db()
    before = db.digest()
    turns = await talk(
        agent,
        db,
        ["cancel my order", "Aarav Lee, 85025", "#W3361211", "ordered by mistake", "no"],
    )
    assert "haven't changed anything" in turns[-1].reply
    assert db.digest() == before


async def test_another_users_order_is_not_found(agent: rk.Agent[RetailDB]) -> None:
    db = fresh_db()
    before = db.digest()
    turns = await talk(
        agent,
        db,
        ["cancel order #W3361211", "Yusuf Rossi, 19122", "That one, #W3361211.", "No, bye."],
    )
    assert "can't find order #W3361211 on your account" in turns[1].reply
    # Said again: another person's order is refused, not asked for again or handed over.
    assert turns[2].outcome == "refused" and "not on your account" in turns[2].reply
    assert turns[3].outcome != "escalated"
    assert db.digest() == before


async def test_nothing_to_choose_from_and_catalogue_questions_are_answered_not_asked_back(
    agent: rk.Agent[RetailDB],
) -> None:
    db = fresh_db()
    before = db.digest()
    no_orders = await talk(agent, db, ["I want to return a t-shirt", "Aarav Sanchez, 94130"])
    assert no_orders[1].outcome == "refused"
    assert "don't see any orders on your account" in no_orders[1].reply
    catalogue = await talk(
        agent, db, ["how many types of products do you sell?", "Anya Jackson, 78252"]
    )
    assert catalogue[1].outcome == "resolved"
    assert "We sell 50 types of products" in catalogue[1].reply
    assert db.digest() == before


async def test_address_change(agent: rk.Agent[RetailDB]) -> None:
    db = fresh_db()
    address = "101 Highway, New York, NY, USA, 10001"
    turns = await talk(
        agent,
        db,
        [
            "I need to change the shipping address on my order",
            "yusuf rossi 19122",
            "#W4776164",
            address,
            "yes",
        ],
    )
    # The question says where the order goes now ("which address is it going to?").
    before = fresh_db().orders["#W4776164"].address
    assert f"set to ship to {before.address1}" in turns[2].reply
    assert turns[-1].outcome == "resolved"
    assert db.orders["#W4776164"].address.model_dump() == {
        "address1": "101 Highway",
        "address2": "",
        "city": "New York",
        "state": "NY",
        "country": "USA",
        "zip": "10001",
    }


async def test_asking_for_a_human_transfers(agent: rk.Agent[RetailDB]) -> None:
    db = fresh_db()
    turns = await talk(agent, db, ["I want to talk to a human agent right now"])
    assert turns[0].outcome == "escalated"
    assert turns[0].reply == TRANSFER


async def test_the_request_itself_names_the_order_reason_and_product(
    agent: rk.Agent[RetailDB],
) -> None:
    db = fresh_db()
    turns = await talk(
        agent,
        db,
        [
            "I want to cancel my pending order with the espresso machine, I don't need it anymore",
            "Yusuf Rossi, 19122",
        ],
    )
    confirm = turns[1].reply  # no order or reason question: both were in the request
    assert "cancel order #W4776164" in confirm and "no longer needed" in confirm
    turns = await talk(
        agent, db, ["how many t-shirt options are available right now?", "Yusuf Rossi, 19122"]
    )
    assert "There are 10 available T-Shirt options" in turns[1].reply


async def test_the_only_order_that_fits_is_proposed_not_asked_for(
    agent: rk.Agent[RetailDB],
) -> None:
    db = fresh_db()  # Anya Garcia: one pending order (#W6436609) among three
    turns = await talk(
        agent,
        db,
        [
            "Hi, I need to cancel an order",
            "I am Anya Garcia and my zip is 19036",
            "yes, that one",
            "I ordered it by mistake",
            "yes please",
        ],
    )
    proposal = turns[1].reply
    assert "#W6436609" in proposal and proposal.endswith("Is that the one?")
    assert "#W6310710" not in proposal  # processed: it cannot be cancelled
    assert "reason" in turns[2].reply
    assert turns[4].outcome == "resolved"
    assert_same(
        db,
        replayed(
            [("cancel_pending_order", {"order_id": "#W6436609", "reason": "ordered by mistake"})]
        ),
    )


async def test_a_declined_proposal_is_read_as_the_answer_to_which_order(
    agent: rk.Agent[RetailDB],
) -> None:
    db = fresh_db()  # Isabella Sanchez: pending #W4386313, delivered #W1713682, one cancelled
    turns = await talk(
        agent,
        db,
        [
            "Hi, I need to cancel an order",
            "Isabella Sanchez, 85093",
            "no, the one with the hiking boots",
        ],
    )
    assert "#W4386313" in turns[1].reply and turns[1].reply.endswith("Is that the one?")
    # The delivered order cannot be cancelled: said, and nothing changed.
    assert turns[2].outcome == "refused" and "#W1713682 is delivered" in turns[2].reply
    assert_same(db, fresh_db())
