"""The retail actions as agent tools: the same functions as :mod:`examples.retail.tools`, with
declared effects, confirmation for every write, and authorisation in code.

``ctx.deps`` is the :class:`~examples.retail.db.RetailDB`; the authenticated user is the
``user_id`` fact the playbooks remember after a successful lookup. A tool touching an order or a
profile refuses anything that is not that user's ("Order not found", so other customers' order
numbers are not revealed).
"""

from __future__ import annotations

from typing import Any

import resolvekit as rk

from . import tools as actions
from .db import Order, Product, RetailDB, User, Variant

__all__ = ["AGENT_TOOLS", "authenticated_user"]

Ctx = rk.Context[RetailDB]


def _me(ctx: Ctx) -> str:
    user_id = ctx.facts.get("user_id")
    if not user_id:
        raise rk.ToolRefusal("The user is not authenticated yet")
    return str(user_id)


def _own_order(ctx: Ctx, order_id: str) -> None:
    order = ctx.deps.orders.get(order_id)
    if order is None or order.user_id != _me(ctx):
        raise rk.ToolRefusal("Order not found")


def _own_user(ctx: Ctx, user_id: str) -> None:
    if user_id != _me(ctx):
        raise rk.ToolRefusal("User not found")


@rk.tool(effect="read")
def authenticated_user(ctx: Ctx) -> str | None:
    """The user id authenticated in this conversation, if any (journaled, so replays agree)."""
    value = ctx.facts.get("user_id")
    return str(value) if value else None


@rk.tool(effect="read")
def find_user_id_by_email(ctx: Ctx, email: str) -> str:
    """Find a user id by email.

    Args:
        email: the email on the account, e.g. something@example.com.
    """
    return actions.find_user_id_by_email(ctx.deps, email)


@rk.tool(effect="read")
def find_user_id_by_name_zip(ctx: Ctx, first_name: str, last_name: str, zip: str) -> str:
    """Find a user id by first name, last name and zip code.

    Args:
        first_name: the user's first name.
        last_name: the user's last name.
        zip: the zip code of the user's address.
    """
    return actions.find_user_id_by_name_zip(ctx.deps, first_name, last_name, zip)


@rk.tool(effect="read")
def get_user_details(ctx: Ctx, user_id: str) -> User:
    """The authenticated user's profile, payment methods and order ids.

    Args:
        user_id: the user id, e.g. sara_doe_496.
    """
    _own_user(ctx, user_id)
    return actions.get_user_details(ctx.deps, user_id)


@rk.tool(effect="read")
def get_order_details(ctx: Ctx, order_id: str) -> Order:
    """Status, items, address, tracking and payments of one of the user's orders.

    Args:
        order_id: the order id with its '#', e.g. #W0000000.
    """
    _own_order(ctx, order_id)
    return actions.get_order_details(ctx.deps, order_id)


@rk.tool(effect="read")
def get_product_details(ctx: Ctx, product_id: str) -> Product:
    """A product type with every variant (options, availability, price).

    Args:
        product_id: the product id (not an item id), e.g. 6086499569.
    """
    return actions.get_product_details(ctx.deps, product_id)


@rk.tool(effect="read")
def get_item_details(ctx: Ctx, item_id: str) -> Variant:
    """One variant by item id.

    Args:
        item_id: the item id, e.g. 1008292230.
    """
    return actions.get_item_details(ctx.deps, item_id)


@rk.tool(effect="read")
def list_all_product_types(ctx: Ctx) -> dict[str, str]:
    """Every product type in the store: name -> product id."""
    return actions.list_all_product_types(ctx.deps)


@rk.tool(effect="read")
def calculate(ctx: Ctx, expression: str) -> str:
    """Evaluate an arithmetic expression (numbers, + - * / and parentheses).

    Args:
        expression: e.g. "2 + 2".
    """
    return actions.calculate(ctx.deps, expression)


@rk.tool(effect="write")
def transfer_to_human_agents(ctx: Ctx, summary: str) -> str:
    """Transfer the user to a human agent, with a summary of the issue.

    Args:
        summary: what the user needs and what was done.
    """
    return actions.transfer_to_human_agents(ctx.deps, summary)


@rk.tool(effect="write", confirm=True)
def cancel_pending_order(ctx: Ctx, order_id: str, reason: str) -> Order:
    """Cancel a pending order; the refund goes to the original payment methods.

    Args:
        order_id: the order id, e.g. #W0000000.
        reason: 'no longer needed' or 'ordered by mistake'.
    """
    _own_order(ctx, order_id)
    return actions.cancel_pending_order(ctx.deps, order_id, reason)


@rk.tool(effect="write", confirm=True)
def modify_pending_order_items(
    ctx: Ctx, order_id: str, item_ids: list[str], new_item_ids: list[str], payment_method_id: str
) -> Order:
    """Change items of a pending order to other variants of the same products (once per order).

    Args:
        order_id: the order id, e.g. #W0000000.
        item_ids: the items to change.
        new_item_ids: the new items, in the same order.
        payment_method_id: pays or receives the price difference.
    """
    _own_order(ctx, order_id)
    return actions.modify_pending_order_items(
        ctx.deps, order_id, item_ids, new_item_ids, payment_method_id
    )


@rk.tool(effect="write", confirm=True)
def modify_pending_order_address(
    ctx: Ctx,
    order_id: str,
    address1: str,
    address2: str,
    city: str,
    state: str,
    country: str,
    zip: str,
) -> Order:
    """Change the shipping address of a pending order.

    Args:
        order_id: the order id, e.g. #W0000000.
        address1: street address.
        address2: apartment, suite... (may be empty).
        city: city.
        state: state, e.g. CA.
        country: country, e.g. USA.
        zip: zip code.
    """
    _own_order(ctx, order_id)
    return actions.modify_pending_order_address(
        ctx.deps, order_id, address1, address2, city, state, country, zip
    )


@rk.tool(effect="write", confirm=True)
def modify_pending_order_payment(ctx: Ctx, order_id: str, payment_method_id: str) -> Order:
    """Pay a pending order with another of the user's payment methods.

    Args:
        order_id: the order id, e.g. #W0000000.
        payment_method_id: the new payment method id.
    """
    _own_order(ctx, order_id)
    return actions.modify_pending_order_payment(ctx.deps, order_id, payment_method_id)


@rk.tool(effect="write", confirm=True)
def return_delivered_order_items(
    ctx: Ctx, order_id: str, item_ids: list[str], payment_method_id: str
) -> Order:
    """Request a return of delivered items; refund to the original method or a gift card.

    Args:
        order_id: the order id, e.g. #W0000000.
        item_ids: the items to return.
        payment_method_id: where the refund goes.
    """
    _own_order(ctx, order_id)
    return actions.return_delivered_order_items(ctx.deps, order_id, item_ids, payment_method_id)


@rk.tool(effect="write", confirm=True)
def exchange_delivered_order_items(
    ctx: Ctx, order_id: str, item_ids: list[str], new_item_ids: list[str], payment_method_id: str
) -> Order:
    """Request an exchange of delivered items for other variants of the same products.

    Args:
        order_id: the order id, e.g. #W0000000.
        item_ids: the items to exchange.
        new_item_ids: the new items, in the same order.
        payment_method_id: pays or receives the price difference.
    """
    _own_order(ctx, order_id)
    return actions.exchange_delivered_order_items(
        ctx.deps, order_id, item_ids, new_item_ids, payment_method_id
    )


@rk.tool(effect="write", confirm=True)
def modify_user_address(
    ctx: Ctx,
    user_id: str,
    address1: str,
    address2: str,
    city: str,
    state: str,
    country: str,
    zip: str,
) -> User:
    """Change the authenticated user's default address.

    Args:
        user_id: the user id.
        address1: street address.
        address2: apartment, suite... (may be empty).
        city: city.
        state: state, e.g. CA.
        country: country, e.g. USA.
        zip: zip code.
    """
    _own_user(ctx, user_id)
    return actions.modify_user_address(
        ctx.deps, user_id, address1, address2, city, state, country, zip
    )


AGENT_TOOLS: tuple[rk.Tool[Any], ...] = (
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
    modify_pending_order_items,
    modify_pending_order_address,
    modify_pending_order_payment,
    return_delivered_order_items,
    exchange_delivered_order_items,
    modify_user_address,
)
"""The tools registered on the agent (τ²-bench names)."""
