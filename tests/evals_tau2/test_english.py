"""Second person -> first person, stage directions, catalogue words."""

from __future__ import annotations

import pytest

from evals.tau2_retail.english import (
    address_line,
    describe_items,
    describe_options,
    is_stage_direction,
    split_sentences,
    spoken_part,
    strip_identity,
    to_first_person,
)


@pytest.mark.parametrize(
    ("second", "first"),
    [
        (
            "You received your order #W2378156 and wish to exchange the mechanical keyboard.",
            "I received my order #W2378156 and I'd like to exchange the mechanical keyboard.",
        ),
        ("You want to return the lamp you bought.", "I'd like to return the lamp I bought."),
        ("You are Yusuf Rossi in zip code 19122.", "I am Yusuf Rossi in zip code 19122."),
        ("You're in a rush.", "I'm in a rush."),
        ("You wonder if the agent can help you.", "I wonder if you can help me."),
        ("The agent asks for your reason.", "You ask for my reason."),
        ("You also want to know the total.", "I'd also like to know the total."),
        ("You do not want to cancel any orders.", "I do not want to cancel any orders."),
        ("Give it to you.", "Give it to me."),
    ],
)
def test_second_person_becomes_first_person(second: str, first: str) -> None:
    assert to_first_person(second) == first


def test_stage_directions_are_not_spoken() -> None:
    assert is_stage_direction("If the agent asks for confirmation, only exchange the lamp.")
    assert is_stage_direction("When asked for order ID, provide 9502126 first.")
    assert is_stage_direction("The right item id is 5206946487 (do not share this with the agent).")
    assert is_stage_direction("Make sure you mention these at the same time.")
    assert not is_stage_direction("You want to exchange the water bottle.")
    # a secret in an aside does not silence the rest of the sentence
    assert not is_stage_direction("You want it sent home (you do not want to mention it) now.")


def test_spoken_part_drops_secrets_conditions_and_dict_syntax() -> None:
    assert spoken_part("You want to cancel the grill, but if the agent asks, you keep it.") == (
        "You want to cancel the grill."
    )
    assert spoken_part("Return everything (but do not reveal it to the agent) today") == (
        "Return everything today."
    )
    assert spoken_part("Exchange Earbuds {'color': 'blue', 'battery life': '8 hours'}.") == (
        "Exchange Earbuds (color: blue, battery life: 8 hours)."
    )


def test_sentences_split_on_ends_and_newlines() -> None:
    assert split_sentences("One thing. Two things!\nThree?\n.") == [
        "One thing.",
        "Two things!",
        "Three?",
    ]


def test_identity_details_are_held_back() -> None:
    text = "I just created my user id mei_patel_7272, email mei@example.com, and ordered a lamp."
    spoken = strip_identity(text)
    assert "mei_patel_7272" not in spoken
    assert "@" not in spoken
    assert "ordered a lamp" in spoken


ITEMS = [
    {"name": "Tablet", "options": {"color": "black", "storage": "64GB", "screen": "10-inch"}},
    {"name": "Tablet", "options": {"color": "gold", "storage": "64GB", "screen": "10-inch"}},
    {"name": "Tea Kettle", "options": {"material": "glass"}},
    {"name": "Tea Kettle", "options": {"material": "glass"}},
    {"name": "Mechanical Keyboard", "options": {"switch type": "linear"}},
]


def test_items_are_named_by_product_and_told_apart_by_differing_options() -> None:
    assert describe_items(ITEMS, [4]) == "the mechanical keyboard"
    assert describe_items(ITEMS, [1]) == "the tablet (color: gold)"
    assert describe_items(ITEMS, [0, 4]) == "the tablet (color: black) and the mechanical keyboard"
    assert describe_items(ITEMS, [2, 3]) == "the two tea kettles"


def test_options_and_addresses_in_words() -> None:
    assert describe_options({"switch type": "clicky", "backlight": "none"}) == (
        "switch type: clicky and backlight: none"
    )
    address = {"address1": "1 Main St", "address2": "", "city": "Austin", "state": "TX"}
    assert address_line({**address, "country": "USA", "zip": "73301"}) == (
        "1 Main St, Austin, TX, USA, 73301"
    )
