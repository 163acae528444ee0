"""Regressions of the measured τ²-bench failures (issue 7 follow-up), each on general wording:
option-only matches on "no", bare "no" option values, same-name items told apart by options,
"everything except", per-item parts of one answer, routing of clear wordings, whole-message
answers, money totals, addresses by reference and look-ups of an unknown order."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

import resolvekit as rk
from examples.retail import build_agent
from examples.retail.db import Address, RetailDB, diff_dbs
from examples.retail.dialog import about_item
from examples.retail.matching import (
    choose_variant,
    clause_for,
    declines,
    match_items,
    parts_about,
)
from examples.retail.model import RetailModel, route
from examples.retail.money import total_sentence
from examples.retail.tools import apply_action

from .retail_data import fresh_db, require_data

require_data()

_ids = itertools.count()
ROSSI = "I'm Yusuf Rossi, zip 19122"


@pytest.fixture(scope="module")
def db() -> RetailDB:
    return fresh_db()


@pytest.fixture(scope="module")
def agent() -> rk.Agent[RetailDB]:
    return build_agent(model="test", store="memory://", raise_errors=True)


async def talk(agent: rk.Agent[RetailDB], db: RetailDB, lines: list[str]) -> list[rk.TurnResult]:
    customer = f"followup-{next(_ids)}"
    return [await agent.handle(customer, line, deps=db) for line in lines]


# -- matching --------------------------------------------------------------------------------


def test_no_thats_all_picks_no_item_even_with_a_no_option(db: RetailDB) -> None:
    order = next(
        o
        for o in db.orders.values()
        if len({i.name for i in o.items}) > 2 and any("no" in i.options.values() for i in o.items)
    )
    answer = "No, that's all."
    assert declines(answer) and not declines("the backpack too")
    assert match_items(answer, order.items).items == []
    assert match_items(answer, order.items, names_only=True).items == []


def test_bare_no_option_value_needs_its_option_name(db: RetailDB) -> None:
    product = next(p for p in db.products.values() if p.name == "Hiking Boots")
    current = next(v for v in product.variants.values() if v.options["waterproof"] == "yes")
    choice = choose_variant("one with waterproof: no", product, current.options)
    assert choice.named.get("waterproof") == "no"
    assert choose_variant("no, sorry", product, current.options).kind == "none"


def test_same_name_items_told_apart_by_their_options(db: RetailDB) -> None:
    order = db.orders["#W9318778"]  # two air purifiers, small/ionic and medium/HEPA
    both = match_items("the air purifier (small, ionic) and the air purifier (HEPA)", order.items)
    assert both.items == [3, 4] and not both.ambiguous
    one = match_items("the HEPA air purifier", order.items)
    assert one.items == [4] and not one.ambiguous
    assert match_items("the air purifier", order.items).ambiguous == [[3, 4]]


def test_everything_except(db: RetailDB) -> None:
    order = db.orders["#W2378156"]
    picked = match_items("all of them except the headphones", order.items)
    assert picked.items == [1, 2, 3, 4]


def test_joined_words_name_a_one_word_product(db: RetailDB) -> None:
    order = next(o for o in db.orders.values() if any(i.name == "Bookshelf" for i in o.items))
    position = next(n for n, i in enumerate(order.items) if i.name == "Bookshelf")
    assert position in match_items("the book shelf", order.items).items


def test_written_out_units_match_the_catalogue(db: RetailDB) -> None:
    product = next(p for p in db.products.values() if p.name == "Bookshelf")
    current = next(v for v in product.variants.values() if v.options["height"] != "4 ft")
    choice = choose_variant("the same one but 4 foot tall", product, current.options)
    assert choice.named.get("height") == "4 ft"


def test_parts_of_one_answer_about_each_item() -> None:
    text = "the lamp for a black one; the t-shirt in red, size L; the lamp again in white"
    assert parts_about(text, "Lamp", ["Lamp", "T-Shirt"]) == [
        "lamp for a black one the",
        "lamp again in white",
    ]
    assert about_item(text, "T-Shirt", ["Lamp", "T-Shirt"]) == "t shirt in red size l the"
    assert about_item("size 9 please", "Boots", ["Boots"]) == "size 9 please"
    assert about_item("the lamp in black", "T-Shirt", ["Lamp", "T-Shirt"]) is None


def test_clause_for_keeps_the_part_of_the_request_about_the_action() -> None:
    text = "Please return the kettle, then exchange the boots for a bigger size."
    assert clause_for(text, "return") == "return the kettle then "
    assert clause_for(text, "exchange").startswith("exchange the boots")
    assert clause_for("the kettle", "return") == "the kettle"


def test_route_reads_clear_retail_wordings() -> None:
    names = {
        "ExchangeItems",
        "ReturnItems",
        "CancelOrder",
        "ModifyOrderAddress",
        "ModifyUserAddress",
        "ModifyOrderItems",
        "ModifyOrderPayment",
        "OrderStatus",
        "MoneyQuestion",
    }
    assert route("my kids broke it, so I want to exchange the camera", names) == "ExchangeItems"
    assert route("return the mug, and then cancel the rest", names) == "ReturnItems"
    assert route("so how much do I get back in total?", names) == "MoneyQuestion"
    assert route("cancel it all and tell me how much I get back", names) == "CancelOrder"
    assert route("fix the shipping address of my order", names) == "ModifyOrderAddress"
    assert route("update the default address on my account", names) == "ModifyUserAddress"
    assert route("what a lovely day", names) is None


def test_total_sentence_nets_refunds_and_charges() -> None:
    refunds = {"a": {"what": "return", "amount": 10.5}, "b": {"what": "cancel", "amount": 2}}
    assert "$12.50 will be refunded" in total_sentence(refunds)
    mixed = {"a": {"what": "x", "amount": -30.0}, "b": {"what": "y", "amount": 10.0}}
    assert "$20.00 for you to pay" in total_sentence(mixed)


# -- conversations ---------------------------------------------------------------------------


async def test_order_number_picked_from_the_listed_orders(agent: rk.Agent[RetailDB]) -> None:
    turns = await talk(
        agent,
        fresh_db(),
        [
            "I want to modify a shirt in an order that hasn't shipped",
            ROSSI,
            "the order with the t-shirt",
            "#W6247578 is the one I mean.",
        ],
    )
    assert "#W6247578" in turns[2].reply and "#W4776164" in turns[2].reply
    assert "T-Shirt" in turns[3].reply and "instead" in turns[3].reply


async def test_running_total_after_two_cancellations(agent: rk.Agent[RetailDB]) -> None:
    db = fresh_db()
    turns = await talk(
        agent,
        db,
        [
            "please cancel order #W6247578, I don't need it",
            ROSSI,
            "yes",
            "also cancel #W4776164 because I ordered it by mistake",
            "yes",
            "how much will I get back in total?",
        ],
    )
    paid = [
        sum(p.amount for p in fresh_db().orders[o].payment_history)
        for o in ("#W6247578", "#W4776164")
    ]
    total = f"${sum(paid):.2f}"
    assert turns[4].outcome == "resolved" and total in turns[4].reply
    assert turns[5].intent == "MoneyQuestion" and total in turns[5].reply


async def test_address_taken_from_another_order(agent: rk.Agent[RetailDB]) -> None:
    elsewhere = Address(
        address1="12 Harbor Road",
        address2="",
        city="Boston",
        state="MA",
        country="USA",
        zip="02110",
    )

    def with_other_address() -> RetailDB:
        db = fresh_db()
        db.orders["#W2378156"].address = elsewhere.model_copy()
        return db

    db = with_other_address()
    turns = await talk(
        agent,
        db,
        [
            "please change the shipping address of order #W6247578",
            ROSSI,
            "the same address as my order with the vacuum cleaner, please",
            "yes",
        ],
    )
    assert "12 Harbor Road" in turns[2].reply
    assert turns[3].outcome == "resolved"
    expected = with_other_address()
    arguments: dict[str, Any] = {"order_id": "#W6247578", **elsewhere.model_dump()}
    apply_action(expected, "modify_pending_order_address", arguments)
    assert db.digest() == expected.digest(), diff_dbs(db, expected)


async def test_look_up_of_an_unknown_order_gives_every_order(agent: rk.Agent[RetailDB]) -> None:
    turns = await talk(
        agent,
        fresh_db(),
        ["what's the tracking number of my package?", ROSSI, "sorry, I have no idea"],
    )
    assert "Which order" in turns[1].reply
    for order_id in ("#W6247578", "#W4776164", "#W2378156"):
        assert order_id in turns[2].reply


async def test_the_retail_model_keeps_a_message_with_several_requests_together() -> None:
    """The retail playbooks read the whole message and chain its requests themselves, so the
    generic queueing of LocalModel is turned off for them."""
    from resolvekit.messages import Message
    from resolvekit.models import ModelRequest

    queued = rk.StartIntent(
        intent="CancelOrder", then=[rk.StartIntent(intent="ReturnItems", slots={})]
    )
    model = RetailModel(rk.FunctionModel(lambda request: queued))
    request = ModelRequest(
        messages=[Message(role="customer", text="cancel my order and return the watch")],
        allowed=frozenset({"start_intent"}),
    )
    response = await model.request(request)
    assert response.decision == rk.StartIntent(intent="CancelOrder")
