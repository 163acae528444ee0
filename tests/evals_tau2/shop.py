"""A tiny retail database and task file in τ²-bench's format, for fast tests."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

ADDRESS = {
    "address1": "1 Analytical Way",
    "address2": "Apt 2",
    "city": "London",
    "country": "USA",
    "state": "NY",
    "zip": "10001",
}
NEW_ADDRESS = {
    "address1": "9 Engine Street",
    "address2": "",
    "city": "Boston",
    "country": "USA",
    "state": "MA",
    "zip": "02110",
}


def _item(product: dict[str, Any], item_id: str) -> dict[str, Any]:
    variant = product["variants"][item_id]
    return {
        "name": product["name"],
        "product_id": product["product_id"],
        "item_id": item_id,
        "price": variant["price"],
        "options": dict(variant["options"]),
    }


def _variant(item_id: str, price: float, available: bool = True, **options: str) -> Any:
    return item_id, {"item_id": item_id, "options": options, "available": available, "price": price}


KEYBOARD = {
    "name": "Mechanical Keyboard",
    "product_id": "9000000001",
    "variants": dict(
        [
            _variant("1000000001", 100.0, switch_type="linear", backlight="RGB"),
            _variant("1000000002", 90.0, switch_type="clicky", backlight="none"),
            _variant("1000000003", 120.0, False, switch_type="clicky", backlight="RGB"),
        ]
    ),
}
LAMP = {
    "name": "Desk Lamp",
    "product_id": "9000000002",
    "variants": dict(
        [
            _variant("2000000001", 30.0, color="black", brightness="low"),
            _variant("2000000002", 40.0, color="white", brightness="high"),
        ]
    ),
}
for _product in (KEYBOARD, LAMP):  # option names with spaces, like the catalogue's
    for _v in _product["variants"].values():  # type: ignore[attr-defined]
        _v["options"] = {k.replace("_", " "): val for k, val in _v["options"].items()}

USER_ID = "ada_lovelace_1234"
SECRET_IDS = [
    USER_ID,
    "1000000001",
    "1000000002",
    "2000000001",
    "2000000002",
    "9000000001",
    "9000000002",
    "credit_card_1111111",
    "gift_card_2222222",
    "paypal_3333333",
]
"""Ids a customer must never say (none of the tasks' texts mentions them)."""


def database() -> dict[str, Any]:
    """The database as ``db.json`` data."""
    delivered = {
        "order_id": "#W0000001",
        "user_id": USER_ID,
        "address": dict(ADDRESS),
        "items": [_item(KEYBOARD, "1000000001"), _item(LAMP, "2000000001")],
        "status": "delivered",
        "fulfillments": [{"tracking_id": ["123456789"], "item_ids": ["1000000001", "2000000001"]}],
        "payment_history": [
            {"transaction_type": "payment", "amount": 130.0, "payment_method_id": "paypal_3333333"}
        ],
    }
    pending = {
        "order_id": "#W0000002",
        "user_id": USER_ID,
        "address": dict(ADDRESS),
        "items": [_item(LAMP, "2000000001")],
        "status": "pending",
        "fulfillments": [],
        "payment_history": [
            {"transaction_type": "payment", "amount": 30.0, "payment_method_id": "paypal_3333333"}
        ],
    }
    user = {
        "user_id": USER_ID,
        "name": {"first_name": "Ada", "last_name": "Lovelace"},
        "address": dict(ADDRESS),
        "email": "ada@example.com",
        "payment_methods": {
            "credit_card_1111111": {
                "source": "credit_card",
                "id": "credit_card_1111111",
                "brand": "visa",
                "last_four": "4242",
            },
            "gift_card_2222222": {"source": "gift_card", "id": "gift_card_2222222", "balance": 5.0},
            "paypal_3333333": {"source": "paypal", "id": "paypal_3333333"},
        },
        "orders": ["#W0000001", "#W0000002"],
    }
    return copy.deepcopy(
        {
            "products": {p["product_id"]: p for p in (KEYBOARD, LAMP)},
            "users": {USER_ID: user},
            "orders": {o["order_id"]: o for o in (delivered, pending)},
        }
    )


def _task(
    task_id: str,
    reason: str,
    actions: list[tuple[str, dict[str, Any]]],
    *,
    known: str = "You are Ada Lovelace in zip code 10001.",
    unknown: str | None = "You do not remember your email address.",
    facts: list[str] | None = None,
) -> dict[str, Any]:
    reads = [
        ("find_user_id_by_name_zip", {"first_name": "Ada", "last_name": "Lovelace", "zip": "10001"})
    ]
    return {
        "id": task_id,
        "description": {"purpose": None},
        "user_scenario": {
            "persona": None,
            "instructions": {
                "domain": "retail",
                "reason_for_call": reason,
                "known_info": known,
                "unknown_info": unknown,
                "task_instructions": ".",
            },
        },
        "initial_state": None,
        "evaluation_criteria": {
            "actions": [
                {"action_id": f"{task_id}_{i}", "name": name, "arguments": args, "info": None}
                for i, (name, args) in enumerate([*reads, *actions])
            ],
            "communicate_info": facts or [],
            "nl_assertions": None,
        },
    }


def tasks() -> list[dict[str, Any]]:
    """Six tasks: an exchange, a cancel, a transfer, a refusal, a question, a refused write."""
    return [
        _task(
            "ex",
            "You received your order #W0000001 and wish to exchange the mechanical keyboard "
            "for the same one but with clicky switches. If there is no clicky one with RGB "
            "backlight, you'd go for no backlight.",
            [
                ("get_order_details", {"order_id": "#W0000001"}),
                (
                    "exchange_delivered_order_items",
                    {
                        "order_id": "#W0000001",
                        "item_ids": ["1000000001"],
                        "new_item_ids": ["1000000002"],
                        "payment_method_id": "credit_card_1111111",
                    },
                ),
            ],
        ),
        _task(
            "cx",
            "You want to cancel your pending order since you no longer need it.",
            [("cancel_pending_order", {"order_id": "#W0000002", "reason": "no longer needed"})],
            known="Your name is Ada Lovelace and your email is ada@example.com.",
            unknown=None,
        ),
        _task(
            "tr",
            "You want to undo the cancellation of an order you placed. If the agent cannot "
            "help, ask for a human.",
            [("transfer_to_human_agents", {"summary": "undo a cancellation"})],
        ),
        _task(
            "nc",
            "You want to cancel the desk lamp, but if the agent asks you to confirm, you regret "
            "and want to keep it.",
            [],
        ),
        _task(
            "info",
            "You want to know how much you paid for your pending order.",
            [("get_order_details", {"order_id": "#W0000002"})],
            facts=["30.0"],
        ),
        _task(
            "gc",
            "You want to change the desk lamp in your pending order to a white one and pay "
            "with your gift card.",
            [
                (
                    "modify_pending_order_items",
                    {
                        "order_id": "#W0000002",
                        "item_ids": ["2000000001"],
                        "new_item_ids": ["2000000002"],
                        "payment_method_id": "gift_card_2222222",
                    },
                )
            ],
        ),
        _task(
            "addr",
            "You moved and want your pending order #W0000002 shipped to your new place, "
            "9 Engine Street, Boston, MA 02110.",
            [("modify_pending_order_address", {"order_id": "#W0000002", **NEW_ADDRESS})],
        ),
    ]


POLICY = "# Retail agent policy\n\nAuthenticate the user first. Transfer only when out of scope.\n"


def write_data(folder: Path) -> tuple[Path, Path]:
    """``db.json``, ``tasks.json`` and ``policy.md`` in ``folder``; returns the first two."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "db.json").write_text(json.dumps(database()), encoding="utf-8")
    (folder / "tasks.json").write_text(json.dumps(tasks()), encoding="utf-8")
    (folder / "policy.md").write_text(POLICY, encoding="utf-8")
    return folder / "tasks.json", folder / "db.json"
