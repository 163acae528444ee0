"""The retail actions' database effects and refusals, against hand-checked expectations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import resolvekit as rk
from examples.retail.db import DataMissing, GiftCard, RetailDB, data_dir, diff_dbs, load_db
from examples.retail.tools import WRITE_ACTIONS, InvalidAction, apply_action

from .retail_data import fresh_db, require_data, tasks

require_data()


@pytest.fixture
def db() -> RetailDB:
    return fresh_db()


def _balance(db: RetailDB, user_id: str, method_id: str) -> float:
    method = db.users[user_id].payment_methods[method_id]
    assert isinstance(method, GiftCard)
    return method.balance


def test_dump_round_trips_the_published_file(db: RetailDB) -> None:
    raw = json.loads((data_dir() / "db.json").read_text())
    assert db.canonical_json() == json.dumps(raw, sort_keys=True, separators=(",", ":"))


def test_copies_are_independent(db: RetailDB) -> None:
    other = db.copy()
    apply_action(
        other, "cancel_pending_order", {"order_id": "#W3361211", "reason": "no longer needed"}
    )
    assert db.orders["#W3361211"].status == "pending"
    assert db.digest() != other.digest()
    lines = diff_dbs(db, other)
    assert [line.split(":")[0] for line in lines] == [
        "orders.#W3361211.cancel_reason",
        "orders.#W3361211.payment_history",
        "orders.#W3361211.status",
    ]
    assert lines[2] == 'orders.#W3361211.status: "pending" != "cancelled"'


def test_load_db_reports_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(DataMissing, match=r"db\.json"):
        load_db(tmp_path)
    with pytest.raises(DataMissing, match="RESOLVEKIT_TAU2_DATA"):
        data_dir(tmp_path / "nowhere")


def test_data_dir_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    real = data_dir()
    monkeypatch.setenv("RESOLVEKIT_TAU2_DATA", str(real))
    assert data_dir() == real
    monkeypatch.setenv("RESOLVEKIT_TAU2_DATA", "/no/such/folder")
    with pytest.raises(DataMissing):
        data_dir()


# -- writes ----------------------------------------------------------------------------------


def test_cancel_refunds_a_gift_card_at_once(db: RetailDB) -> None:
    result = apply_action(
        db, "cancel_pending_order", {"order_id": "#W8955613", "reason": "ordered by mistake"}
    )
    order = db.orders["#W8955613"]
    assert order.status == "cancelled" and order.cancel_reason == "ordered by mistake"
    assert [p.model_dump() for p in order.payment_history] == [
        {"transaction_type": "payment", "amount": 585.97, "payment_method_id": "gift_card_6682391"},
        {"transaction_type": "refund", "amount": 585.97, "payment_method_id": "gift_card_6682391"},
    ]
    assert _balance(db, "olivia_lopez_9494", "gift_card_6682391") == 620.97  # 35.00 + 585.97
    assert result["status"] == "cancelled"


def test_cancel_to_a_card_changes_no_balance(db: RetailDB) -> None:
    before = db.users["aarav_lee_1982"].model_dump()
    apply_action(
        db, "cancel_pending_order", {"order_id": "#W3361211", "reason": "no longer needed"}
    )
    assert db.orders["#W3361211"].payment_history[-1].model_dump() == {
        "transaction_type": "refund",
        "amount": 1464.0,
        "payment_method_id": "credit_card_1640996",
    }
    assert db.users["aarav_lee_1982"].model_dump() == before


def test_exchange_records_the_request_and_price_difference(db: RetailDB) -> None:
    # Task 0's reference exchange: keyboard 272.33 -> 269.16, thermostat 262.47 -> 249.01.
    apply_action(
        db,
        "exchange_delivered_order_items",
        {
            "order_id": "#W2378156",
            "item_ids": ["4983901480", "1151293680"],
            "new_item_ids": ["7747408585", "7706410293"],
            "payment_method_id": "credit_card_9513926",
        },
    )
    order = db.orders["#W2378156"]
    assert order.status == "exchange requested"
    assert order.exchange_items == ["1151293680", "4983901480"]  # sorted
    assert order.exchange_new_items == ["7706410293", "7747408585"]
    assert order.exchange_payment_method_id == "credit_card_9513926"
    assert order.exchange_price_difference == -16.63
    assert len(order.payment_history) == 1  # nothing charged until the items come back
    assert [i.item_id for i in order.items][2:4] == ["1151293680", "4983901480"]


def test_modify_items_swaps_items_and_charges_the_difference(db: RetailDB) -> None:
    # Task 3's reference modification: small blue cotton v-neck 53.43 -> purple polyester 53.48.
    apply_action(
        db,
        "modify_pending_order_items",
        {
            "order_id": "#W4776164",
            "item_ids": ["8349118980"],
            "new_item_ids": ["9647292434"],
            "payment_method_id": "credit_card_9513926",
        },
    )
    order = db.orders["#W4776164"]
    assert order.status == "pending (items modified)"
    shirt = order.items[0]
    assert (shirt.item_id, shirt.price) == ("9647292434", 53.48)
    assert shirt.options == {
        "color": "purple",
        "size": "S",
        "material": "polyester",
        "style": "v-neck",
    }
    assert order.payment_history[-1].model_dump() == {
        "transaction_type": "payment",
        "amount": 0.05,
        "payment_method_id": "credit_card_9513926",
    }


def test_modify_items_refund_credits_the_gift_card(db: RetailDB) -> None:
    # Smart watch 367.38 -> 323.19: 44.19 back onto a gift card holding 35.00.
    apply_action(
        db,
        "modify_pending_order_items",
        {
            "order_id": "#W8955613",
            "item_ids": ["2554056026"],
            "new_item_ids": ["5694328282"],
            "payment_method_id": "gift_card_6682391",
        },
    )
    assert db.orders["#W8955613"].payment_history[-1].model_dump() == {
        "transaction_type": "refund",
        "amount": 44.19,
        "payment_method_id": "gift_card_6682391",
    }
    assert _balance(db, "olivia_lopez_9494", "gift_card_6682391") == 79.19


def test_modify_payment_adds_payment_and_refund(db: RetailDB) -> None:
    apply_action(
        db,
        "modify_pending_order_payment",
        {"order_id": "#W8955613", "payment_method_id": "credit_card_6044108"},
    )
    history = [p.model_dump() for p in db.orders["#W8955613"].payment_history]
    assert history[1:] == [
        {
            "transaction_type": "payment",
            "amount": 585.97,
            "payment_method_id": "credit_card_6044108",
        },
        {"transaction_type": "refund", "amount": 585.97, "payment_method_id": "gift_card_6682391"},
    ]
    assert db.orders["#W8955613"].status == "pending"
    assert _balance(db, "olivia_lopez_9494", "gift_card_6682391") == 620.97


def test_return_records_items_and_refund_method(db: RetailDB) -> None:
    apply_action(
        db,
        "return_delivered_order_items",
        {
            "order_id": "#W2378156",
            "item_ids": ["9408160950", "4602305039", "4202497723"],
            "payment_method_id": "credit_card_9513926",
        },
    )
    order = db.orders["#W2378156"]
    assert order.status == "return requested"
    assert order.return_items == ["4202497723", "4602305039", "9408160950"]
    assert order.return_payment_method_id == "credit_card_9513926"


def test_address_changes_rewrite_the_address(db: RetailDB) -> None:
    address = {
        "address1": "101 Highway",
        "address2": "",
        "city": "New York",
        "state": "NY",
        "country": "USA",
        "zip": "10001",
    }
    apply_action(db, "modify_pending_order_address", {"order_id": "#W4776164", **address})
    apply_action(db, "modify_user_address", {"user_id": "yusuf_rossi_9620", **address})
    assert db.orders["#W4776164"].address.model_dump() == address
    assert db.users["yusuf_rossi_9620"].address.model_dump() == address


# -- refusals leave the database untouched ---------------------------------------------------


@pytest.mark.parametrize(
    ("name", "arguments", "message"),
    [
        (
            "cancel_pending_order",
            {"order_id": "#W2378156", "reason": "no longer needed"},
            "Non-pending",
        ),
        (
            "cancel_pending_order",
            {"order_id": "#W3361211", "reason": "too expensive"},
            "Invalid reason",
        ),
        (
            "cancel_pending_order",
            {"order_id": "#W0000000", "reason": "no longer needed"},
            "Order not found",
        ),
        (
            "return_delivered_order_items",
            {
                "order_id": "#W4776164",
                "item_ids": ["8349118980"],
                "payment_method_id": "credit_card_9513926",
            },
            "Non-delivered order cannot be returned",
        ),
        (
            "exchange_delivered_order_items",
            {
                "order_id": "#W4776164",
                "item_ids": ["8349118980"],
                "new_item_ids": ["9647292434"],
                "payment_method_id": "credit_card_9513926",
            },
            "Non-delivered order cannot be exchanged",
        ),
        (
            "modify_pending_order_items",
            {
                "order_id": "#W4776164",
                "item_ids": ["8349118980"],
                "new_item_ids": ["7747408585"],  # a thermostat for a t-shirt
                "payment_method_id": "credit_card_9513926",
            },
            "Variant not found",
        ),
        (
            "modify_pending_order_items",
            {
                "order_id": "#W4776164",
                "item_ids": ["1151293680"],  # not in this order
                "new_item_ids": ["7706410293"],
                "payment_method_id": "credit_card_9513926",
            },
            "not found",
        ),
        (
            "modify_pending_order_payment",
            {"order_id": "#W8955613", "payment_method_id": "gift_card_6682391"},
            "should be different",
        ),
        (
            "modify_pending_order_payment",
            {"order_id": "#W8665881", "payment_method_id": "gift_card_1675628"},
            "Insufficient gift card balance",
        ),
        (
            "return_delivered_order_items",
            {
                "order_id": "#W5490111",
                "item_ids": ["4579334072"],
                "payment_method_id": "paypal_9497703",
            },
            "original payment method or a gift card",
        ),
    ],
)
def test_refusals(db: RetailDB, name: str, arguments: dict[str, object], message: str) -> None:
    before = db.digest()
    with pytest.raises(rk.ToolRefusal, match=message):
        apply_action(db, name, arguments)
    assert db.digest() == before


def test_items_can_be_modified_only_once(db: RetailDB) -> None:
    args = {
        "order_id": "#W4776164",
        "item_ids": ["8349118980"],
        "new_item_ids": ["9647292434"],
        "payment_method_id": "credit_card_9513926",
    }
    apply_action(db, "modify_pending_order_items", args)
    with pytest.raises(rk.ToolRefusal, match="Non-pending order cannot be modified"):
        apply_action(
            db,
            "modify_pending_order_items",
            {**args, "item_ids": ["6324294385"], "new_item_ids": ["3951031513"]},
        )
    with pytest.raises(rk.ToolRefusal, match="Non-pending order cannot be cancelled"):
        apply_action(
            db, "cancel_pending_order", {"order_id": "#W4776164", "reason": "no longer needed"}
        )


def test_apply_action_rejects_unknown_names_and_arguments(db: RetailDB) -> None:
    with pytest.raises(InvalidAction, match="Unknown retail action 'refund_everything'"):
        apply_action(db, "refund_everything", {})
    with pytest.raises(InvalidAction, match="Bad arguments for cancel_pending_order"):
        apply_action(db, "cancel_pending_order", {"order": "#W3361211"})


def test_reads_and_calculate(db: RetailDB) -> None:
    assert (
        apply_action(db, "find_user_id_by_email", {"email": "Mia.Garcia2723@example.com"})
        == "mia_garcia_4516"
    )
    assert (
        apply_action(
            db,
            "find_user_id_by_name_zip",
            {"first_name": "yusuf", "last_name": "Rossi", "zip": "19122"},
        )
        == "yusuf_rossi_9620"
    )
    assert apply_action(db, "get_item_details", {"item_id": "7706410293"})["price"] == 269.16
    assert apply_action(db, "list_all_product_types", {})["T-Shirt"] == "9523456873"
    assert apply_action(db, "calculate", {"expression": "3131.1 + 4777.75 + 367.38"}) == "8276.23"
    with pytest.raises(rk.ToolRefusal, match="invalid characters"):
        apply_action(db, "calculate", {"expression": "__import__('os')"})


def test_every_reference_write_of_the_train_tasks_applies() -> None:
    """The reference writes replay on a fresh copy; the one refused (task 105: a gift card
    that cannot cover the difference) leaves the order unchanged."""
    db = fresh_db()
    pristine = db.digest()
    refused = []
    for task in tasks():
        writes = [a for a in task["evaluation_criteria"]["actions"] if a["name"] in WRITE_ACTIONS]
        # Save and restore the records a task touches instead of copying the whole database.
        orders = {a["arguments"]["order_id"] for a in writes if "order_id" in a["arguments"]}
        users = {db.orders[o].user_id for o in orders if o in db.orders}
        users |= {a["arguments"]["user_id"] for a in writes if "user_id" in a["arguments"]}
        saved_orders = {o: db.orders[o].model_copy(deep=True) for o in orders if o in db.orders}
        saved_users = {u: db.users[u].model_copy(deep=True) for u in users}
        for action in writes:
            try:
                apply_action(db, action["name"], action["arguments"])
            except rk.ToolRefusal as exc:
                refused.append((task["id"], action["name"], str(exc)))
        db.orders.update(saved_orders)
        db.users.update(saved_users)
    assert db.digest() == pristine
    assert refused == [
        (
            "105",
            "exchange_delivered_order_items",
            "Insufficient gift card balance to pay for the price difference",
        )
    ]
