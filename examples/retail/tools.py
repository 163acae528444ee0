"""The retail actions as pure functions on a :class:`~examples.retail.db.RetailDB`.

Each function takes the database first, then the arguments τ²-bench's retail tools take (same
names), and either applies the effect in place and returns the changed record, or raises
:class:`resolvekit.ToolRefusal` with τ²-bench-style wording ("Non-pending order cannot be
cancelled") and leaves the database untouched. The effects were derived from ``policy.md`` and the
reference actions of ``tasks_train.json``; every assumption about field names and rounding is
listed in ``docs/retail.md``.

They know nothing about conversations or authorisation: :mod:`examples.retail.agent_tools` wraps
them for the agent (only the authenticated user's records), and evals replay reference actions
with :func:`apply_action`::

    order = apply_action(db, "get_order_details", {"order_id": "#W2611340"})
"""

from __future__ import annotations

import ast
import inspect
import operator
from collections.abc import Callable
from typing import Any

import resolvekit as rk

from .db import Address, GiftCard, Order, Payment, PaymentMethod, Product, RetailDB, User, Variant

__all__ = [
    "ACTIONS",
    "CANCEL_REASONS",
    "WRITE_ACTIONS",
    "InvalidAction",
    "apply_action",
    "calculate",
    "cancel_pending_order",
    "exchange_delivered_order_items",
    "find_user_id_by_email",
    "find_user_id_by_name_zip",
    "get_item_details",
    "get_order_details",
    "get_product_details",
    "get_user_details",
    "list_all_product_types",
    "modify_pending_order_address",
    "modify_pending_order_items",
    "modify_pending_order_payment",
    "modify_user_address",
    "return_delivered_order_items",
    "transfer_to_human_agents",
]

CANCEL_REASONS = ("no longer needed", "ordered by mistake")
ITEMS_MODIFIED = "pending (items modified)"


class InvalidAction(rk.UserError):
    """:func:`apply_action` got an unknown action name or arguments the action does not take."""


def _money(value: float) -> float:
    return round(value, 2)


# -- lookups ---------------------------------------------------------------------------------


def _user(db: RetailDB, user_id: str) -> User:
    user = db.users.get(user_id)
    if user is None:
        raise rk.ToolRefusal("User not found")
    return user


def _order(db: RetailDB, order_id: str) -> Order:
    order = db.orders.get(order_id)
    if order is None:
        raise rk.ToolRefusal("Order not found")
    return order


def _product(db: RetailDB, product_id: str) -> Product:
    product = db.products.get(product_id)
    if product is None:
        raise rk.ToolRefusal("Product not found")
    return product


def _variant(db: RetailDB, product_id: str, item_id: str) -> Variant:
    variant = _product(db, product_id).variants.get(item_id)
    if variant is None:
        raise rk.ToolRefusal("Variant not found")
    return variant


def _payment_method(db: RetailDB, user_id: str, payment_method_id: str) -> PaymentMethod:
    method = _user(db, user_id).payment_methods.get(payment_method_id)
    if method is None:
        raise rk.ToolRefusal("Payment method not found")
    return method


def _check_items_in_order(order: Order, item_ids: list[str]) -> None:
    held = [item.item_id for item in order.items]
    for item_id in item_ids:
        if item_ids.count(item_id) > held.count(item_id):
            raise rk.ToolRefusal(f"Number of {item_id} not found.")


def _price_difference(
    db: RetailDB, order: Order, item_ids: list[str], new_item_ids: list[str]
) -> float:
    """Sum of (new price - old price), checking each new item is an available sibling variant."""
    if len(item_ids) != len(new_item_ids):
        raise rk.ToolRefusal("The number of items to be exchanged should match.")
    diff = 0.0
    for item_id, new_item_id in zip(item_ids, new_item_ids, strict=True):
        if item_id == new_item_id:
            raise rk.ToolRefusal("The new item id should be different from the old item id.")
        item = next(item for item in order.items if item.item_id == item_id)
        variant = _variant(db, item.product_id, new_item_id)
        if not variant.available:
            raise rk.ToolRefusal(f"New item {new_item_id} not found or available")
        diff += variant.price - item.price
    return _money(diff)


# -- reads -----------------------------------------------------------------------------------


def find_user_id_by_email(db: RetailDB, email: str) -> str:
    """The id of the user with this email (case-insensitive)."""
    wanted = email.strip().lower()
    for user_id, user in db.users.items():
        if user.email.lower() == wanted:
            return user_id
    raise rk.ToolRefusal("User not found")


def find_user_id_by_name_zip(db: RetailDB, first_name: str, last_name: str, zip: str) -> str:
    """The id of the user with this first name, last name and zip code (case-insensitive)."""
    first, last, code = first_name.strip().lower(), last_name.strip().lower(), zip.strip()
    for user_id, user in db.users.items():
        if (
            user.name.first_name.lower() == first
            and user.name.last_name.lower() == last
            and user.address.zip == code
        ):
            return user_id
    raise rk.ToolRefusal("User not found")


def get_user_details(db: RetailDB, user_id: str) -> User:
    """A user's profile: name, address, email, payment methods, order ids."""
    return _user(db, user_id)


def get_order_details(db: RetailDB, order_id: str) -> Order:
    """An order: status, items, address, fulfillments, payment history."""
    return _order(db, order_id)


def get_product_details(db: RetailDB, product_id: str) -> Product:
    """A product with all its variants (options, availability, price)."""
    return _product(db, product_id)


def get_item_details(db: RetailDB, item_id: str) -> Variant:
    """One variant by item id, whatever its product."""
    for product_id, product in db.products.items():
        if item_id in product.variants:
            # Fetched again by id: on a fork (RetailDB.fork) only that returns the fork's own
            # record, never the shared original a caller could change.
            return _product(db, product_id).variants[item_id]
    raise rk.ToolRefusal("Item not found")


def list_all_product_types(db: RetailDB) -> dict[str, str]:
    """Product name -> product id, sorted by name."""
    return dict(sorted((p.name, p.product_id) for p in db.products.values()))


_OPERATORS: dict[type, Callable[..., float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
}


def _evaluate(node: ast.AST) -> float:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return float(node.value)
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        return _OPERATORS[type(node.op)](_evaluate(node.left), _evaluate(node.right))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _OPERATORS:
        return _OPERATORS[type(node.op)](_evaluate(node.operand))
    raise rk.ToolRefusal("Invalid expression")


def calculate(db: RetailDB, expression: str) -> str:
    """Evaluate arithmetic (numbers, + - * / and parentheses); the result rounded to cents."""
    if not expression.strip() or any(c not in "0123456789+-*/(). " for c in expression):
        raise rk.ToolRefusal("Error: invalid characters in expression")
    try:
        value = _evaluate(ast.parse(expression, mode="eval"))
    except (SyntaxError, ZeroDivisionError) as exc:
        raise rk.ToolRefusal(f"Error: {exc}") from exc
    return str(_money(value))


def transfer_to_human_agents(db: RetailDB, summary: str) -> str:
    """Hand the customer to a human agent (no database change)."""
    return "Transfer successful"


# -- writes ----------------------------------------------------------------------------------


def cancel_pending_order(db: RetailDB, order_id: str, reason: str) -> Order:
    """Cancel a pending order: every payment is refunded (gift cards credited at once)."""
    order = _order(db, order_id)
    if order.status != "pending":
        raise rk.ToolRefusal("Non-pending order cannot be cancelled")
    if reason not in CANCEL_REASONS:
        raise rk.ToolRefusal("Invalid reason")
    paid = [
        (payment, _payment_method(db, order.user_id, payment.payment_method_id))
        for payment in order.payment_history
    ]
    refunds = []
    for payment, method in paid:
        refunds.append(
            Payment(
                transaction_type="refund",
                amount=payment.amount,
                payment_method_id=payment.payment_method_id,
            )
        )
        if isinstance(method, GiftCard):
            method.balance = _money(method.balance + payment.amount)
    order.status = "cancelled"
    order.cancel_reason = reason
    order.payment_history.extend(refunds)
    return order


def modify_pending_order_address(
    db: RetailDB,
    order_id: str,
    address1: str,
    address2: str,
    city: str,
    state: str,
    country: str,
    zip: str,
) -> Order:
    """Change the shipping address of a pending order."""
    order = _order(db, order_id)
    if order.status != "pending":
        raise rk.ToolRefusal("Non-pending order cannot be modified")
    order.address = Address(
        address1=address1, address2=address2, city=city, state=state, country=country, zip=zip
    )
    return order


def modify_pending_order_payment(db: RetailDB, order_id: str, payment_method_id: str) -> Order:
    """Pay a pending order with another method: a new payment, and a refund of the old one."""
    order = _order(db, order_id)
    if order.status != "pending":
        raise rk.ToolRefusal("Non-pending order cannot be modified")
    method = _payment_method(db, order.user_id, payment_method_id)
    history = order.payment_history
    if len(history) != 1 or history[0].transaction_type != "payment":
        raise rk.ToolRefusal("There should be exactly one payment for a pending order")
    old_id = history[0].payment_method_id
    if old_id == payment_method_id:
        raise rk.ToolRefusal("The new payment method should be different from the current one")
    amount = history[0].amount
    if isinstance(method, GiftCard) and method.balance < amount:
        raise rk.ToolRefusal("Insufficient gift card balance to pay for the order")
    old = _payment_method(db, order.user_id, old_id)
    history.append(
        Payment(transaction_type="payment", amount=amount, payment_method_id=payment_method_id)
    )
    history.append(Payment(transaction_type="refund", amount=amount, payment_method_id=old_id))
    if isinstance(method, GiftCard):
        method.balance = _money(method.balance - amount)
    if isinstance(old, GiftCard):
        old.balance = _money(old.balance + amount)
    return order


def modify_pending_order_items(
    db: RetailDB,
    order_id: str,
    item_ids: list[str],
    new_item_ids: list[str],
    payment_method_id: str,
) -> Order:
    """Swap items of a pending order for other variants of the same products (once per order).

    The price difference is charged (``payment``) or refunded (``refund``) on
    ``payment_method_id``; a gift card's balance moves at once.
    """
    order = _order(db, order_id)
    if order.status != "pending":
        raise rk.ToolRefusal("Non-pending order cannot be modified")
    _check_items_in_order(order, item_ids)
    diff = _price_difference(db, order, item_ids, new_item_ids)
    method = _payment_method(db, order.user_id, payment_method_id)
    if isinstance(method, GiftCard) and method.balance < diff:
        raise rk.ToolRefusal("Insufficient gift card balance to pay for the new item")
    order.payment_history.append(
        Payment(
            transaction_type="payment" if diff > 0 else "refund",
            amount=abs(diff),
            payment_method_id=payment_method_id,
        )
    )
    if isinstance(method, GiftCard):
        method.balance = _money(method.balance - diff)
    for item_id, new_item_id in zip(item_ids, new_item_ids, strict=True):
        item = next(item for item in order.items if item.item_id == item_id)
        variant = _variant(db, item.product_id, new_item_id)
        item.item_id = new_item_id
        item.price = variant.price
        item.options = dict(variant.options)
    order.status = ITEMS_MODIFIED
    return order


def return_delivered_order_items(
    db: RetailDB, order_id: str, item_ids: list[str], payment_method_id: str
) -> Order:
    """Request the return of delivered items; the refund goes to the original method or a gift
    card."""
    order = _order(db, order_id)
    if order.status != "delivered":
        raise rk.ToolRefusal("Non-delivered order cannot be returned")
    method = _payment_method(db, order.user_id, payment_method_id)
    if (
        not isinstance(method, GiftCard)
        and payment_method_id != order.payment_history[0].payment_method_id
    ):
        raise rk.ToolRefusal(
            "Payment method should be either the original payment method or a gift card"
        )
    _check_items_in_order(order, item_ids)
    order.status = "return requested"
    order.return_items = sorted(item_ids)
    order.return_payment_method_id = payment_method_id
    return order


def exchange_delivered_order_items(
    db: RetailDB,
    order_id: str,
    item_ids: list[str],
    new_item_ids: list[str],
    payment_method_id: str,
) -> Order:
    """Request the exchange of delivered items for other variants of the same products."""
    order = _order(db, order_id)
    if order.status != "delivered":
        raise rk.ToolRefusal("Non-delivered order cannot be exchanged")
    _check_items_in_order(order, item_ids)
    diff = _price_difference(db, order, item_ids, new_item_ids)
    method = _payment_method(db, order.user_id, payment_method_id)
    if isinstance(method, GiftCard) and method.balance < diff:
        raise rk.ToolRefusal("Insufficient gift card balance to pay for the price difference")
    order.status = "exchange requested"
    order.exchange_items = sorted(item_ids)
    order.exchange_new_items = sorted(new_item_ids)
    order.exchange_payment_method_id = payment_method_id
    order.exchange_price_difference = diff
    return order


def modify_user_address(
    db: RetailDB,
    user_id: str,
    address1: str,
    address2: str,
    city: str,
    state: str,
    country: str,
    zip: str,
) -> User:
    """Change a user's default address."""
    user = _user(db, user_id)
    user.address = Address(
        address1=address1, address2=address2, city=city, state=state, country=country, zip=zip
    )
    return user


ACTIONS: dict[str, Callable[..., Any]] = {
    fn.__name__: fn
    for fn in (
        find_user_id_by_email,
        find_user_id_by_name_zip,
        get_user_details,
        get_order_details,
        get_product_details,
        get_item_details,
        list_all_product_types,
        calculate,
        transfer_to_human_agents,
        cancel_pending_order,
        modify_pending_order_address,
        modify_pending_order_payment,
        modify_pending_order_items,
        return_delivered_order_items,
        exchange_delivered_order_items,
        modify_user_address,
    )
}
"""Every action by its τ²-bench name."""

WRITE_ACTIONS = frozenset(
    {
        "cancel_pending_order",
        "modify_pending_order_address",
        "modify_pending_order_payment",
        "modify_pending_order_items",
        "return_delivered_order_items",
        "exchange_delivered_order_items",
        "modify_user_address",
    }
)


def apply_action(db: RetailDB, name: str, arguments: dict[str, Any]) -> Any:
    """Run one τ²-bench action on ``db`` (in place) and return its result as JSON data.

    Args:
        db: the database to act on (use ``db.copy()`` to keep the original).
        name: the action's name, e.g. ``"cancel_pending_order"``.
        arguments: its arguments by name, as in ``tasks_train.json``.

    Returns:
        The result as JSON-compatible data (a record dict, an id, a string).

    Raises:
        InvalidAction: unknown action or arguments it does not take.
        resolvekit.ToolRefusal: the action is refused (wrong status, unknown id...); ``db`` is
            unchanged.
    """
    function = ACTIONS.get(name)
    if function is None:
        raise InvalidAction(f"Unknown retail action {name!r}; known: {sorted(ACTIONS)}")
    try:
        inspect.signature(function).bind(db, **arguments)
    except TypeError as exc:
        raise InvalidAction(f"Bad arguments for {name}: {exc}") from exc
    result = function(db, **arguments)
    if hasattr(result, "model_dump"):
        return result.model_dump(mode="json", exclude_none=True)
    return result
