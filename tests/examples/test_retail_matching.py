"""How customers describe items, options, orders, themselves, addresses and payment methods."""

from __future__ import annotations

import pytest

from examples.retail.db import RetailDB
from examples.retail.matching import (
    choose_variant,
    match_items,
    match_orders,
    mentions,
    normalise,
    pick_listed,
    wants_everything,
)
from examples.retail.parsing import (
    find_order_ids,
    parse_address,
    parse_identity,
    parse_payment,
    parse_reason,
)

from .retail_data import fresh_db, require_data

require_data()


@pytest.fixture(scope="module")
def db() -> RetailDB:
    return fresh_db()


def test_normalise_splits_units_and_joins_nothing() -> None:
    assert normalise("1000ml Wi-Fi + Cellular, 6.1-inch T-Shirt 80% I'm") == (
        "1000 ml wi fi cellular 6.1 inch t shirt 80 % im"
    )
    assert mentions("a tshirt please", "T-Shirt") and mentions("the t-shirts", "T-Shirt")
    assert mentions("size small", "S") and not mentions("I'm here", "M")


def test_items_by_product_name(db: RetailDB) -> None:
    items = db.orders["#W2378156"].items  # headphones, vacuum, keyboard, thermostat, watch
    assert match_items("the mechanical keyboard and the smart thermostat", items).items == [2, 3]
    assert match_items("the cleaner, headphone, and smart watch", items).items == [0, 1, 4]
    assert match_items("all of them", items).items == [0, 1, 2, 3, 4]
    assert match_items("the blue one", items).items == [0]  # only options named
    assert match_items("a bicycle", items).items == []


def test_a_full_product_name_does_not_also_name_a_product_sharing_its_head_noun(
    db: RetailDB,
) -> None:
    items = db.orders["#W7368828"].items  # makeup kit, keyboard, digital camera, action camera
    assert match_items("the silver action camera I received", items).items == [3]
    assert match_items("the digital camera", items).items == [2]
    assert match_items("the camera", items).items == [2, 3]  # only the head noun: both
    assert match_items("the action camera and the other camera", items).items == [2, 3]
    ranked = match_orders("my action camera", [db.orders["#W7368828"], db.orders["#W4824466"]])
    assert [o.order_id for _, o in ranked] == ["#W7368828"]


def test_items_sharing_a_name_are_ambiguous_unless_options_tell(db: RetailDB) -> None:
    items = db.orders["#W7913362"].items  # two different backpacks
    backpacks = [i for i, item in enumerate(items) if item.name == "Backpack"]
    found = match_items("the backpack", items)
    assert found.items == [] and found.ambiguous == [backpacks]
    large = match_items("the large backpack with the hydration compartment", items)
    assert [items[i].item_id for i in large.items] == ["6309044598"]


def test_identical_items_are_all_picked(db: RetailDB) -> None:
    items = db.orders["#W4316152"].items  # two identical tea kettles
    assert match_items("the tea kettles", items).items == [0, 1]


def test_same_one_but_in_another_option(db: RetailDB) -> None:
    item = db.orders["#W2378156"].items[2]  # keyboard: linear, RGB, full size
    product = db.products[item.product_id]
    choice = choose_variant("same one but with clicky switches", product, item.options)
    # clicky + RGB + full size does not exist: say so and offer clicky keyboards.
    assert choice.kind == "unavailable"
    assert choice.wanted == {"switch type": "clicky", "backlight": "RGB", "size": "full size"}
    assert all(v.options["switch type"] == "clicky" for v in choice.candidates)
    then = choose_variant("then no backlight", product, item.options, keep=choice.named)
    assert then.kind == "exact" and then.variant is not None
    assert then.variant.item_id == "7706410293"


def test_a_value_of_one_option_is_not_an_alias_of_another(db: RetailDB) -> None:
    order = db.orders["#W6958840"]
    item = next(i for i in order.items if i.item_id == "1596993217")  # helmet: S, white, low
    product = db.products[item.product_id]
    said = "one with color: black and ventilation: medium"
    choice = choose_variant(said, product, item.options)  # "medium" ventilation, not size M
    assert choice.variant is not None and choice.variant.item_id == "5537798301"
    sized = choose_variant("size medium, red, medium ventilation", product, item.options)
    assert sized.variant is not None and sized.variant.options["size"] == "M"
    assert sized.variant.options["ventilation"] == "medium"


def test_named_value_that_differs_from_the_current_wins(db: RetailDB) -> None:
    item = db.orders["#W2378156"].items[3]  # thermostat: Apple HomeKit, black
    product = db.products[item.product_id]
    choice = choose_variant("Google Home instead of Apple HomeKit", product, item.options)
    assert choice.variant is not None and choice.variant.item_id == "7747408585"
    assert choose_variant("Apple HomeKit", product, item.options).kind == "unchanged"
    assert choose_variant("something nice", product, item.options).kind == "none"


def test_same_but_in_blue_keeps_every_other_option(db: RetailDB) -> None:
    shirt = db.orders["#W4776164"].items[0]  # blue S cotton v-neck
    product = db.products[shirt.product_id]
    choice = choose_variant("the same but purple and polyester", product, shirt.options)
    assert choice.variant is not None
    assert choice.variant.options == {
        "color": "purple",
        "size": "S",
        "material": "polyester",
        "style": "v-neck",
    }


def test_cheapest_and_most_expensive(db: RetailDB) -> None:
    item = db.orders["#W2378156"].items[2]
    product = db.products[item.product_id]
    available = [v for v in product.variants.values() if v.available and v.options != item.options]
    cheap = choose_variant("the cheapest one", product, item.options)
    dear = choose_variant("the most expensive one", product, item.options)
    assert cheap.variant is not None and dear.variant is not None
    assert cheap.variant.price == min(v.price for v in available)
    assert dear.variant.price == max(v.price for v in available)


def test_orders_by_description(db: RetailDB) -> None:
    user = db.users["ava_nguyen_2175"]
    orders = [db.orders[o] for o in user.orders]
    ranked = match_orders("the order with the smart watch", orders)
    watches = {o.order_id for o in orders if any(i.name == "Smart Watch" for i in o.items)}
    assert {o.order_id for _, o in ranked} == watches
    assert len({s for s, _ in ranked}) == 1  # a tie: the agent must ask


def test_listed_picks() -> None:
    labels = ["PayPal", "visa credit card ending in 7285", "gift card"]
    assert pick_listed("the second one", labels) == 1
    assert pick_listed("the last one", labels) == 2
    assert pick_listed("hmm", labels) is None
    assert wants_everything("everything please") and not wants_everything("that's all")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I'm Yusuf Rossi, zip 19122", ("Yusuf", "Rossi", "19122", None)),
        ("yusuf rossi 19122", ("Yusuf", "Rossi", "19122", None)),
        ("My name is Mei Kovacs and my zip code is 28236", ("Mei", "Kovacs", "28236", None)),
        ("it's mia.garcia2723@example.com", (None, None, None, "mia.garcia2723@example.com")),
    ],
)
def test_identity(text: str, expected: tuple[str | None, ...]) -> None:
    found = parse_identity(text)
    assert (found.first_name, found.last_name, found.zip, found.email) == expected


def test_order_ids_reasons_and_addresses() -> None:
    assert find_order_ids("it's #W2378156, or maybe w 1234567") == ["#W2378156", "#W1234567"]
    assert parse_reason("I don't need it anymore") == "no longer needed"
    assert parse_reason("I ordered it by mistake") == "ordered by mistake"
    assert parse_reason("it is too expensive") is None
    address = parse_address("123 Main St, Apt 4, Springfield, IL, USA, 62701")
    assert address is not None and address.model_dump() == {
        "address1": "123 Main St",
        "address2": "Apt 4",
        "city": "Springfield",
        "country": "USA",
        "state": "IL",
        "zip": "62701",
    }
    short = parse_address("the new one is 12 Oak Ave, Austin TX 78701")
    assert short is not None
    assert (short.address1, short.city, short.state, short.zip) == (
        "12 Oak Ave",
        "Austin",
        "TX",
        "78701",
    )
    assert parse_address("somewhere in Boston") is None


def test_payment_methods(db: RetailDB) -> None:
    methods = list(db.users["mia_garcia_4516"].payment_methods.values())  # paypal, visa 7285
    ids = [m.id for m in methods]
    assert parse_payment("my credit card", methods) is methods[ids.index("credit_card_3124723")]
    assert (
        parse_payment("the card ending in 7285", methods)
        is methods[ids.index("credit_card_3124723")]
    )
    assert parse_payment("PayPal please", methods) is methods[ids.index("paypal_9497703")]
    assert (
        parse_payment("the original one", methods, original="paypal_9497703")
        is methods[ids.index("paypal_9497703")]
    )
    assert parse_payment("a gift card", methods) is None  # she has none
