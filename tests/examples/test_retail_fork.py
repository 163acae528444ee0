"""Copy-on-write forks of the retail database: isolated like copies, dumped like copies."""

from __future__ import annotations

import pytest

import resolvekit as rk
from examples.retail.db import ForkDumper, RetailDB, load_db
from examples.retail.tools import WRITE_ACTIONS, apply_action, get_item_details

from .retail_data import require_data, tasks

require_data()

CANCEL = {"order_id": "#W3361211", "reason": "no longer needed"}


@pytest.fixture(scope="module")
def origin() -> RetailDB:
    return load_db()


def _writes() -> list[tuple[str, dict[str, object]]]:
    return [
        (action["name"], action["arguments"])
        for task in tasks()
        for action in task["evaluation_criteria"]["actions"]
        if action["name"] in WRITE_ACTIONS
    ]


def _apply(db: RetailDB, name: str, arguments: dict[str, object]) -> object:
    try:
        return apply_action(db, name, dict(arguments))
    except rk.ToolRefusal as exc:
        return f"refused: {exc}"


def test_every_write_of_every_task_lands_on_the_fork_as_on_a_copy(origin: RetailDB) -> None:
    before = origin.digest()
    untouched = origin.fork()
    fork, copy = origin.fork(), origin.copy()
    writes = _writes()
    assert len(writes) > 50
    for name, arguments in writes:  # the same results, refusals included
        assert _apply(fork, name, arguments) == _apply(copy, name, arguments), name
    expected = copy.dump()
    assert fork.dump() == expected
    assert ForkDumper(origin)(fork) == expected
    # Neither the original nor a fork made before the writes saw any of them.
    assert origin.digest() == before
    assert ForkDumper(origin)(untouched) == origin.dump()
    assert untouched.orders["#W3361211"].status == "pending"


def test_a_record_changed_in_place_stays_in_its_fork(origin: RetailDB) -> None:
    first, second = origin.fork(), origin.fork()
    apply_action(first, "cancel_pending_order", dict(CANCEL))
    assert first.orders["#W3361211"].status == "cancelled"
    assert second.orders["#W3361211"].status == "pending"
    assert origin.orders["#W3361211"].status == "pending"
    user_id = origin.orders["#W3361211"].user_id
    first.users[user_id].address.city = "Elsewhere"
    first.users.get(user_id).email = "changed@example.com"  # type: ignore[union-attr]
    assert origin.users[user_id].address.city != "Elsewhere"
    assert second.users[user_id].email != "changed@example.com"


def test_an_item_found_by_scanning_is_the_forks_own(origin: RetailDB) -> None:
    fork = origin.fork()
    product_id, product = next(iter(origin.products.items()))
    item_id = next(iter(product.variants))
    variant = get_item_details(fork, item_id)
    variant.price = -1.0
    assert origin.products[product_id].variants[item_id].price != -1.0
    assert fork.products[product_id].variants[item_id].price == -1.0


def test_the_table_api_copies_before_handing_a_record_out(origin: RetailDB) -> None:
    fork = origin.fork()
    orders = fork.orders
    order_id = "#W3361211"
    assert order_id in orders and len(orders) == len(origin.orders)
    for fetched in (
        orders.get(order_id),
        orders.setdefault(order_id, None),
        orders.copy()[order_id],
    ):
        assert fetched is not None and fetched is not origin.orders[order_id]
    popped = fork.users.pop(next(iter(origin.users)))
    assert popped is not origin.users[popped.user_id]
    assert popped.user_id in origin.users and popped.user_id not in fork.users
    assert orders.get("#nope") is None and orders.pop("#nope", 7) == 7


def test_dumps_follow_added_removed_and_replaced_records(origin: RetailDB) -> None:
    fork, copy = origin.fork(), origin.copy()
    first_order, *_, last_order = origin.orders
    for db in (fork, copy):
        new = db.orders[first_order].model_copy(update={"order_id": "#W0000000"})
        del db.orders[last_order]
        db.orders["#W0000000"] = new
        db.users.update({"extra": db.users[new.user_id].model_copy(update={"user_id": "extra"})})
    dumper = ForkDumper(origin)
    assert dumper(fork) == copy.dump() == fork.dump()
    assert list(dumper(fork)["orders"]) == list(copy.dump()["orders"])  # the same order too
    assert dumper(copy) == copy.dump()  # not a fork: dumped in full
    assert dumper(origin.fork()) == origin.dump()
