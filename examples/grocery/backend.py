"""The grocery shop's system of record: plain data (customers, orders, delivery slots, refunds,
promo codes) and the tools the agent reaches it with.

The state is a JSON-ready mapping, so an eval scenario can hold it inline and compare end
states; every tool checks that the order it touches belongs to ``ctx.customer_id`` (the
signed-in customer).

Policies (all in this file, so the tools enforce them whatever the agent says):

- **Delivery slots**: morning (8 am - 12 pm), afternoon (12 - 4 pm), evening (4 - 8 pm), from
  tomorrow up to 14 days ahead; a full slot cannot be booked. A slot can be changed until
  **8 pm the evening before** the current delivery day, and only while the order is scheduled.
- **Cancelling**: only before picking starts (status ``scheduled``); the total goes back to
  the card.
- **Missing or damaged items**: reported within 7 days of delivery; refunded to the card or as
  account credit. Up to $15 a claim needs no photo; above that a person reviews it.
- **Promo codes**: one per scheduled order, before its expiry date, on a basket of at least the
  code's minimum.
- **Delivery pass**: $7.99 a month; it can be paused and resumed.
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel

import resolvekit as rk

__all__ = [
    "CLAIM_LIMIT",
    "WINDOWS",
    "Account",
    "Grocery",
    "Item",
    "Order",
    "Problem",
    "Refund",
    "RefundTo",
    "Substitutions",
    "Window",
    "demo_state",
    "long_date",
    "register_tools",
]

Grocery = dict[str, Any]
"""The state: ``now``, ``customers``, ``orders``, ``full_slots``, ``promos``, ``refunds``."""

Window = Literal["morning", "afternoon", "evening"]
Problem = Literal["missing", "damaged"]
RefundTo = Literal["card", "credit"]
Substitutions = Literal["best match", "same brand only", "no substitutions"]

WINDOWS: dict[str, str] = {
    "morning": "8 am - 12 pm",
    "afternoon": "12 pm - 4 pm",
    "evening": "4 pm - 8 pm",
}
CLAIM_LIMIT = 15.0
"""The largest missing/damaged item refund the agent may give without a photo."""
CLAIM_DAYS = 7
SLOT_CUTOFF_HOUR = 20
"""A slot change is allowed until this hour on the evening before the delivery day."""
MAX_DAYS_AHEAD = 14


class Item(BaseModel):
    name: str
    price: float


class Order(BaseModel):
    order_id: str
    status: str
    """``scheduled``, ``picking``, ``out for delivery``, ``delivered`` or ``cancelled``."""
    delivery_date: str
    window: str
    items: list[Item]
    total: float
    promo: str | None = None
    discount: float = 0.0


class Account(BaseModel):
    name: str
    substitutions: str
    delivery_pass: str
    """``active``, ``paused`` or ``none``."""
    credit: float


class Refund(BaseModel):
    order_id: str
    item: str
    amount: float
    refund_to: str


def long_date(iso: str) -> str:
    """``2026-12-09`` as ``Wednesday, December 9``."""
    day = dt.date.fromisoformat(iso)
    return f"{day:%A}, {day:%B} {day.day}"


def _now(shop: Grocery) -> dt.datetime:
    return dt.datetime.fromisoformat(shop["now"])


def _order(shop: Grocery, customer: str, order_id: str) -> dict[str, Any]:
    record = shop["orders"].get(order_id.strip().upper().lstrip("#"))
    if record is None or record["owner"] != customer:
        raise rk.ToolRefusal(f"there is no order {order_id} on your account")
    return record  # type: ignore[no-any-return]


def _shown(order_id: str, record: dict[str, Any]) -> Order:
    fields = {k: v for k, v in record.items() if k != "owner"}
    return Order(order_id=order_id, **fields)


def _mine(ctx: rk.Context[Grocery], order_id: str) -> Order:
    key = order_id.strip().upper().lstrip("#")
    return _shown(key, _order(ctx.deps, ctx.customer_id, key))


def _day(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise rk.ToolRefusal(f"{value!r} is not a date (YYYY-MM-DD)") from None


def slot_change_check(shop: Grocery, order: Order, date: str, window: str) -> None:
    """Refuses a slot change the policy does not allow (status, cutoff, range, full slot)."""
    if order.status != "scheduled":
        raise rk.ToolRefusal(f"order {order.order_id} is {order.status}, so its slot is fixed")
    now = _now(shop)
    current = dt.date.fromisoformat(order.delivery_date)
    cutoff = dt.datetime.combine(current - dt.timedelta(days=1), dt.time(SLOT_CUTOFF_HOUR))
    if now >= cutoff:
        raise rk.ToolRefusal(
            f"the cutoff for changing this slot was 8 pm on {long_date(cutoff.date().isoformat())}"
        )
    day = _day(date)
    if window not in WINDOWS:
        raise rk.ToolRefusal(f"{window!r} is not a delivery window (morning, afternoon, evening)")
    if not now.date() < day <= now.date() + dt.timedelta(days=MAX_DAYS_AHEAD):
        raise rk.ToolRefusal(f"slots can be booked from tomorrow up to {MAX_DAYS_AHEAD} days ahead")
    if f"{day.isoformat()} {window}" in shop["full_slots"]:
        raise rk.ToolRefusal(f"the {window} slot on {long_date(day.isoformat())} is full")


def claim_check(shop: Grocery, order: Order, item: str) -> Item:
    """The item of ``order`` a missing/damaged claim is about; refuses a claim the policy does
    not allow (not delivered, too late, unknown item, already refunded, above the limit)."""
    if order.status != "delivered":
        raise rk.ToolRefusal(f"order {order.order_id} has not been delivered yet")
    days = (_now(shop).date() - dt.date.fromisoformat(order.delivery_date)).days
    if days > CLAIM_DAYS:
        raise rk.ToolRefusal(
            f"missing or damaged items must be reported within {CLAIM_DAYS} days of delivery"
        )
    wanted = item.strip().lower()
    found = [i for i in order.items if i.name == wanted or wanted in i.name or i.name in wanted]
    if not found:
        raise rk.ToolRefusal(f"order {order.order_id} has no item {item!r}")
    line = found[0]
    done = {(r["order_id"], r["item"]) for r in shop["refunds"]}
    if (order.order_id, line.name) in done:
        raise rk.ToolRefusal(f"the {line.name} of order {order.order_id} was already refunded")
    if line.price > CLAIM_LIMIT:
        raise rk.ToolRefusal(f"refunds above ${CLAIM_LIMIT:.2f} need a photo reviewed by a person")
    return line


def promo_check(shop: Grocery, order: Order, code: str) -> float:
    """The discount ``code`` gives ``order``; refuses a code that does not apply."""
    promo = shop["promos"].get(code.strip().upper())
    if promo is None:
        raise rk.ToolRefusal(f"{code.upper()} is not a valid promo code")
    if order.status != "scheduled":
        raise rk.ToolRefusal(
            f"order {order.order_id} is {order.status}; codes apply before picking"
        )
    if order.promo:
        raise rk.ToolRefusal(f"order {order.order_id} already has the code {order.promo}")
    if _now(shop).date() > dt.date.fromisoformat(promo["expires"]):
        raise rk.ToolRefusal(f"the code {code.upper()} expired on {long_date(promo['expires'])}")
    if order.total < promo["min_basket"]:
        raise rk.ToolRefusal(
            f"the code {code.upper()} needs a basket of at least ${promo['min_basket']:.2f}; "
            f"this one is ${order.total:.2f}"
        )
    return float(promo["discount"])


def register_tools(agent: rk.Agent[Grocery]) -> dict[str, rk.Tool[Any]]:
    """Register the shop's tools on ``agent``; returns them by name."""

    @agent.tool(effect="read")
    def list_orders(ctx: rk.Context[Grocery]) -> list[Order]:
        """The signed-in customer's orders, soonest delivery first."""
        mine = [(i, r) for i, r in ctx.deps["orders"].items() if r["owner"] == ctx.customer_id]
        mine.sort(key=lambda row: (row[1]["delivery_date"], row[0]))
        return [_shown(i, r) for i, r in mine]

    @agent.tool(effect="read")
    def get_order(ctx: rk.Context[Grocery], order_id: str) -> Order:
        """Look up one of the customer's orders.

        Args:
            order_id: the order number, e.g. G1001.
        """
        return _mine(ctx, order_id)

    @agent.tool(effect="read")
    def get_account(ctx: rk.Context[Grocery]) -> Account:
        """The customer's account: substitutions preference, delivery pass, credit."""
        record = ctx.deps["customers"][ctx.customer_id]
        return Account(**record)

    @agent.tool(effect="write", confirm=True)
    def change_slot(ctx: rk.Context[Grocery], order_id: str, date: str, window: Window) -> Order:
        """Move an order's delivery to another slot.

        Args:
            order_id: the order number.
            date: the new delivery date, YYYY-MM-DD.
            window: morning, afternoon or evening.
        """
        order = _mine(ctx, order_id)
        slot_change_check(ctx.deps, order, date, window)
        record = ctx.deps["orders"][order.order_id]
        record["delivery_date"], record["window"] = _day(date).isoformat(), window
        return _shown(order.order_id, record)

    @agent.tool(effect="write", confirm=True)
    def cancel_order(ctx: rk.Context[Grocery], order_id: str) -> Order:
        """Cancel an order before picking starts; its total goes back to the card.

        Args:
            order_id: the order number.
        """
        order = _mine(ctx, order_id)
        if order.status != "scheduled":
            raise rk.ToolRefusal(f"order {order.order_id} is {order.status}; too late to cancel")
        record = ctx.deps["orders"][order.order_id]
        record["status"] = "cancelled"
        ctx.deps["refunds"].append(
            {
                "order_id": order.order_id,
                "item": "whole order",
                "amount": order.total,
                "refund_to": "card",
            }
        )
        return _shown(order.order_id, record)

    @agent.tool(effect="write", confirm=True)
    def refund_item(
        ctx: rk.Context[Grocery], order_id: str, item: str, problem: Problem, refund_to: RefundTo
    ) -> Refund:
        """Refund a missing or damaged item (up to $15, no photo needed) to the card or as
        account credit.

        Args:
            order_id: the order number.
            item: the item's name as on the order, e.g. "milk".
            problem: missing or damaged.
            refund_to: card or credit.
        """
        shop = ctx.deps
        order = _mine(ctx, order_id)
        line = claim_check(shop, order, item)
        refund = {
            "order_id": order.order_id,
            "item": line.name,
            "amount": line.price,
            "refund_to": refund_to,
            "problem": problem,
        }
        shop["refunds"].append(refund)
        if refund_to == "credit":
            account = shop["customers"][ctx.customer_id]
            account["credit"] = round(account["credit"] + line.price, 2)
        return Refund(
            order_id=order.order_id, item=line.name, amount=line.price, refund_to=refund_to
        )

    @agent.tool(effect="write")
    def set_substitutions(ctx: rk.Context[Grocery], preference: Substitutions) -> Account:
        """Set what happens when an item is out of stock, for every future order.

        Args:
            preference: "best match", "same brand only" or "no substitutions".
        """
        record = ctx.deps["customers"][ctx.customer_id]
        record["substitutions"] = preference
        return Account(**record)

    def _set_pass(ctx: rk.Context[Grocery], status: str) -> Account:
        record = ctx.deps["customers"][ctx.customer_id]
        if record["delivery_pass"] == "none":
            raise rk.ToolRefusal("you have no delivery pass")
        if record["delivery_pass"] == status:
            raise rk.ToolRefusal(f"your delivery pass is already {status}")
        record["delivery_pass"] = status
        return Account(**record)

    @agent.tool(effect="write", confirm=True)
    def pause_pass(ctx: rk.Context[Grocery]) -> Account:
        """Pause the customer's delivery pass (no monthly charge while paused)."""
        return _set_pass(ctx, "paused")

    @agent.tool(effect="write", confirm=True)
    def resume_pass(ctx: rk.Context[Grocery]) -> Account:
        """Resume a paused delivery pass."""
        return _set_pass(ctx, "active")

    @agent.tool(effect="write", confirm=True)
    def apply_promo(ctx: rk.Context[Grocery], order_id: str, code: str) -> Order:
        """Apply a promo code to a scheduled order.

        Args:
            order_id: the order number.
            code: the promo code, e.g. FRESH10.
        """
        order = _mine(ctx, order_id)
        discount = promo_check(ctx.deps, order, code)
        record = ctx.deps["orders"][order.order_id]
        record["promo"], record["discount"] = code.strip().upper(), discount
        record["total"] = round(record["total"] - discount, 2)
        return _shown(order.order_id, record)

    tools = (
        list_orders,
        get_order,
        get_account,
        change_slot,
        cancel_order,
        refund_item,
        set_substitutions,
        pause_pass,
        resume_pass,
        apply_promo,
    )
    return {tool.name: tool for tool in tools}


def _items(*pairs: tuple[str, float]) -> list[dict[str, Any]]:
    return [{"name": name, "price": price} for name, price in pairs]


def _o(
    owner: str, status: str, date: str, window: str, *pairs: tuple[str, float]
) -> dict[str, Any]:
    items = _items(*pairs)
    total = round(sum(i["price"] for i in items), 2)
    return {
        "owner": owner,
        "status": status,
        "delivery_date": date,
        "window": window,
        "items": items,
        "total": total,
        "promo": None,
        "discount": 0.0,
    }


_DEMO: Grocery = {
    "now": "2026-12-07T10:00:00",
    "customers": {
        "c-mia": {
            "name": "Mia Jones",
            "substitutions": "best match",
            "delivery_pass": "active",
            "credit": 0.0,
        },
        "c-tom": {
            "name": "Tom Reid",
            "substitutions": "no substitutions",
            "delivery_pass": "none",
            "credit": 0.0,
        },
        "c-lee": {
            "name": "Lee Park",
            "substitutions": "best match",
            "delivery_pass": "paused",
            "credit": 0.0,
        },
    },
    "orders": {
        "G1001": _o(
            "c-mia",
            "scheduled",
            "2026-12-09",
            "morning",
            ("milk", 2.5),
            ("bread", 1.9),
            ("bananas", 1.2),
            ("salmon", 22.0),
            ("coffee", 8.5),
            ("cheese", 6.5),
            ("chicken", 9.0),
            ("pasta", 1.5),
            ("tomatoes", 2.0),
            ("red wine", 24.5),
        ),
        "G1002": _o(
            "c-mia",
            "delivered",
            "2026-12-05",
            "afternoon",
            ("milk", 2.5),
            ("eggs", 3.8),
            ("bananas", 1.2),
            ("salmon", 22.0),
            ("bread", 1.9),
            ("yoghurt", 4.2),
            ("frozen peas", 1.8),
        ),
        "G1003": _o(
            "c-mia",
            "picking",
            "2026-12-07",
            "evening",
            ("apples", 3.0),
            ("orange juice", 2.8),
            ("rice", 3.1),
        ),
        "G1004": _o(
            "c-mia", "delivered", "2026-11-20", "morning", ("yoghurt", 4.2), ("bread", 1.9)
        ),
        "G2001": _o(
            "c-tom",
            "scheduled",
            "2026-12-10",
            "afternoon",
            ("beer", 12.0),
            ("crisps", 2.5),
            ("pizza", 5.5),
        ),
        "G2002": _o("c-tom", "delivered", "2026-12-06", "evening", ("jam", 3.5), ("pickles", 2.9)),
        "G3001": _o(
            "c-lee",
            "scheduled",
            "2026-12-08",
            "morning",
            ("oat milk", 2.2),
            ("tofu", 3.3),
            ("spinach", 2.0),
            ("olive oil", 9.5),
            ("chocolate", 4.5),
            ("coffee", 8.5),
            ("avocados", 4.0),
            ("noodles", 4.5),
        ),
        "G3002": _o(
            "c-lee",
            "delivered",
            "2026-12-06",
            "morning",
            ("strawberries", 4.0),
            ("oat milk", 2.2),
            ("rice", 3.1),
        ),
    },
    "full_slots": ["2026-12-12 evening", "2026-12-13 morning"],
    "promos": {
        "FRESH10": {"discount": 10.0, "min_basket": 50.0, "expires": "2026-12-31"},
        "WINTER5": {"discount": 5.0, "min_basket": 20.0, "expires": "2026-11-30"},
        "BIG20": {"discount": 20.0, "min_basket": 100.0, "expires": "2027-01-31"},
    },
    "refunds": [],
}


def demo_state() -> Grocery:
    """A fresh copy of the demo shop (Mia has four orders, Tom and Lee two each)."""
    return copy.deepcopy(_DEMO)
