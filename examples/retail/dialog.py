"""The questions playbooks share: who the customer is, which order, which items, which new
option, which payment method, which address, why.

Each helper asks one thing per question, with the words ``DIALOGUE.md`` fixes for its kind, and
returns either the answer or a :class:`resolvekit.PlaybookOutcome` (a refusal after repeated
unusable answers) that the playbook returns as is.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

import resolvekit as rk
from resolvekit.consent import read_consent

from . import agent_tools as t
from .db import Address, GiftCard, Order, OrderItem, PaymentMethod, RetailDB, User, Variant
from .matching import (
    choose_variant,
    clause_for,
    declines,
    describe_options,
    match_items,
    match_orders,
    parts_about,
    pick_listed,
    wants_everything,
)
from .parsing import describe_method, find_order_ids, parse_address, parse_identity, parse_payment

__all__ = [
    "ANYTHING_ELSE",
    "TRANSFER",
    "Action",
    "ask_address",
    "authenticate",
    "choose_items",
    "choose_new_variant",
    "choose_order",
    "choose_payment",
    "item_label",
    "join",
    "lookup_orders",
    "opening",
    "order_label",
]

Ctx = rk.Context[RetailDB]
Outcome = rk.PlaybookOutcome
Action = Literal["cancel", "modify", "return", "exchange", "look up"]

TRANSFER = "YOU ARE BEING TRANSFERRED TO A HUMAN AGENT. PLEASE HOLD ON."
ANYTHING_ELSE = "Is there anything else I can help you with?"
ATTEMPTS = 3
NOT_YOURS = "Order {} is not on your account; I can only help with the verified account's orders."

IDENTITY_QUESTION = (
    "Before I can help, I need to verify your identity. Could you give me the email address "
    "on your account, or your first and last name and zip code?"
)
IDENTITY_RETRY = (
    "I couldn't find an account with those details. Could you give me the email address on "
    "your account, or your first and last name and zip code?"
)
IDENTITY_PARTIAL = (
    "I need either the email address on your account, or your first name, last name and zip "
    "code together. Could you give me those?"
)


def join(parts: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    parts = list(parts)
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def item_label(item: OrderItem | Variant, name: str | None = None) -> str:
    """ "Mechanical Keyboard (switch type: linear, backlight: RGB, size: full size)"."""
    title = name if name is not None else getattr(item, "name", "item")
    return f"{title} ({describe_options(item.options)})"


def order_label(order: Order) -> str:
    return f"{order.order_id} ({join([i.name for i in order.items])}; {order.status})"


def opening(ctx: Ctx) -> str:
    """The customer's message that started the running request (kept by :func:`authenticate`)."""
    return str(ctx.facts.get("request", ""))


def refuse(ctx: Ctx, reason: str, reply: str) -> Outcome:
    return ctx.refuse(reason, reply=f"{reply} {ANYTHING_ELSE}")


# -- who the customer is ---------------------------------------------------------------------


async def authenticate(ctx: Ctx) -> User | Outcome:
    """The authenticated user: remembered for the conversation, else asked and looked up.

    Once a user is authenticated the conversation stays with them (one user per conversation).
    The request that started the playbook is kept first (see :func:`opening`), before any
    question makes it scroll away.
    """
    ctx.remember("request", ctx.request_text)
    known = await ctx.call(t.authenticated_user)
    if known:
        return await ctx.call(t.get_user_details, user_id=known)
    question = IDENTITY_QUESTION
    for _ in range(ATTEMPTS):
        identity = parse_identity(await ctx.ask(question, name="identity"))
        user_id: str | rk.ToolError | None = None
        if identity.email:
            user_id = await ctx.try_call(t.find_user_id_by_email, email=identity.email)
        if (user_id is None or isinstance(user_id, rk.ToolError)) and identity.has_name_zip:
            user_id = await ctx.try_call(
                t.find_user_id_by_name_zip,
                first_name=identity.first_name or "",
                last_name=identity.last_name or "",
                zip=identity.zip or "",
            )
        if user_id is None:
            question = IDENTITY_PARTIAL
            continue
        if isinstance(user_id, rk.ToolError):
            question = IDENTITY_RETRY
            continue
        ctx.remember("user_id", user_id)
        return await ctx.call(t.get_user_details, user_id=user_id)
    return refuse(
        ctx,
        "could not authenticate the customer",
        "I'm sorry, I couldn't verify your identity, so I can't make changes to an account.",
    )


# -- which order -----------------------------------------------------------------------------

_ALLOWED: dict[Action, tuple[str, ...]] = {
    "cancel": ("pending",),
    "modify": ("pending",),
    "return": ("delivered",),
    "exchange": ("delivered",),
    "look up": (),
}


def status_problem(order: Order, action: Action) -> str | None:
    """Why ``action`` is not possible on ``order`` in its current status (None if it is)."""
    allowed = _ALLOWED[action]
    if not allowed or order.status in allowed:
        return None
    oid, status = order.order_id, order.status
    if status == "pending (items modified)":
        return (
            f"The items of order {oid} have already been modified once, so it can no longer be "
            f"{'cancelled' if action == 'cancel' else 'changed'}."
        )
    if status in ("return requested", "exchange requested", "cancelled"):
        return f"Order {oid} is already {status}, so I can't {action} it."
    if action in ("cancel", "modify"):
        extra = " I can help you return or exchange items instead." if status == "delivered" else ""
        return f"Order {oid} is {status}, and only pending orders can be {action}ed.{extra}"
    extra = " I can cancel or modify it instead." if status == "pending" else ""
    return f"Order {oid} is {status}; only delivered orders can be {action}d.{extra}"


async def choose_order(
    ctx: Ctx, user: User, given: str | None, *, action: Action, verb: str
) -> Order | Outcome:
    """The order the customer means, by number or by what was in it, checked for ``action``."""
    question = (
        f"Which order would you like to {verb}? Please give me the order number (it starts "
        f"with #W), or tell me what was in it."
    )
    if not user.orders:  # nothing to choose from: say so instead of asking
        return refuse(ctx, "no orders", "I don't see any orders on your account.")
    order: Order | None = None
    orders: list[Order] | None = None
    ids, missing = (find_order_ids(given) if given else []), set[str]()
    if not ids:
        # The request itself may describe the order ("return the lamp from my last order").
        request = opening(ctx)
        ids = find_order_ids(request)
        if not ids and request:
            orders = await _orders(ctx, user)
            order = _unique_fit(request, orders, action)
    if order is None and not ids:
        orders = orders if orders is not None else await _orders(ctx, user)
        proposed = await _propose_only_order(ctx, orders, action, verb)
        if isinstance(proposed, Order):
            order = proposed
        elif proposed:  # "no, the one with the lamp": read like an answer to the question
            ids = find_order_ids(proposed)
            if not ids:
                picked = await _order_by_description(ctx, proposed, orders, action)
                if isinstance(picked, Order):
                    order = picked
    for _ in range(ATTEMPTS if order is None else 0):
        if not ids:
            answer = await ctx.ask(question, name="order")
            ids = find_order_ids(answer)
            if not ids:
                orders = orders if orders is not None else await _orders(ctx, user)
                picked = await _order_by_description(ctx, answer, orders, action)
                if isinstance(picked, Order):
                    order = picked
                    break
                question = picked
                continue
        found = await ctx.try_call(t.get_order_details, order_id=ids[0])
        if isinstance(found, rk.ToolError) and ids[0] in missing:  # another person's order?
            return refuse(ctx, "order not on the user's account", NOT_YOURS.format(ids[0]))
        if isinstance(found, rk.ToolError):
            missing.add(ids[0])
            question = (
                f"I can't find order {ids[0]} on your account. Which order do you mean? Please "
                f"check the order number, or tell me what was in it."
            )
            ids = []
            continue
        order = found
        break
    if order is None:
        return refuse(ctx, "could not identify the order", "I'm sorry, I couldn't find that order.")
    problem = status_problem(order, action)
    if problem is not None:
        return refuse(ctx, f"order {order.order_id} is {order.status}", problem)
    return order


async def lookup_orders(ctx: Ctx, user: User, given: str | None) -> list[Order] | Outcome:
    """The order a look-up is about; every order when the customer can't say which."""
    ids = find_order_ids(given or "") or find_order_ids(opening(ctx))
    orders = await _orders(ctx, user)
    if ids:
        found = [o for o in orders if o.order_id == ids[0]]
        if found:
            return found
    else:
        fit = _unique_fit(opening(ctx), orders, "look up")
        if fit is not None:
            return [fit]
    if len(orders) <= 1:
        return orders
    answer = await ctx.ask(
        "Which order would you like to look up? Please give me the order number (it starts "
        "with #W), or tell me what was in it.",
        name="order",
    )
    ids = find_order_ids(answer)
    picked = [o for o in orders if ids and o.order_id == ids[0]]
    if picked:
        return picked
    ranked = match_orders(answer, orders)
    if ranked and (len(ranked) == 1 or ranked[0][0] > ranked[1][0]):
        return [ranked[0][1]]
    return orders


async def _propose_only_order(
    ctx: Ctx, orders: list[Order], action: Action, verb: str
) -> Order | str:
    """When one order is all it can be (the only one whose status allows ``action``, or the
    customer's only order), propose it instead of asking which: the order if the customer
    agrees, else what they said instead ("" when there was nothing to propose)."""
    allowed = _ALLOWED[action]
    eligible = [o for o in orders if not allowed or o.status in allowed]
    candidates = eligible or orders
    if len(candidates) != 1:
        return ""
    (only,) = candidates
    question = f"I see one order you can {verb}: {order_label(only)}. Is that the one?"
    if len(eligible) != 1:
        question = f"I see one order on your account: {order_label(only)}. Is that the one?"
    answer = await ctx.ask(question, name="order_proposal")
    if read_consent(answer, question).answer == "yes" or only.order_id in answer:
        return only
    return answer


def _unique_fit(text: str, orders: list[Order], action: Action) -> Order | None:
    """The one order of the right status that a description fits best, if there is one; else
    the only order of any status the action's own words describe ("cancel the order with the
    lamp" when that order has shipped), which is then refused for its status, saying why."""
    allowed = _ALLOWED[action]
    fits = match_orders(text, orders)
    ranked = [(s, o) for s, o in fits if not allowed or o.status in allowed]
    if not ranked and fits and action != "look up":
        own = match_orders(clause_for(text, action), orders)
        return own[0][1] if len(own) == 1 else None
    if len(ranked) == 1 or (len(ranked) > 1 and ranked[0][0] > ranked[1][0]):
        return ranked[0][1]
    return None


async def _orders(ctx: Ctx, user: User) -> list[Order]:
    return [await ctx.call(t.get_order_details, order_id=oid) for oid in user.orders]


async def _order_by_description(
    ctx: Ctx, answer: str, orders: list[Order], action: Action
) -> Order | str:
    """The order a description picks, or the next question to ask."""
    ranked = match_orders(answer, orders)
    allowed = _ALLOWED[action]
    eligible = [(s, o) for s, o in ranked if not allowed or o.status in allowed]
    pool = eligible or ranked
    if not pool:
        listing = "; ".join(order_label(o) for o in orders)
        return (
            f"I couldn't find an order with that in it. Your orders are: {listing}. "
            f"Which order do you mean? Please give me its number."
        )
    best = pool[0][0]
    tied = [o for s, o in pool if s == best]
    if len(tied) == 1:
        return tied[0]
    labels = [order_label(o) for o in tied]
    listing = "; ".join(f"{n}) {label}" for n, label in enumerate(labels, 1))
    pick = await ctx.ask(
        f"I found {len(tied)} orders that match: {listing}. Which order do you mean?",
        name="order",
    )
    ids = find_order_ids(pick)
    for order in tied:
        if ids and order.order_id == ids[0]:
            return order
    index = pick_listed(pick, labels)
    if index is not None:
        return tied[index]
    narrowed = match_orders(pick, tied)
    if narrowed and (len(narrowed) == 1 or narrowed[0][0] > narrowed[1][0]):
        return narrowed[0][1]
    return "Sorry, I still can't tell which order you mean. What is the order number?"


# -- which items -----------------------------------------------------------------------------


async def choose_items(
    ctx: Ctx, order: Order, verb: str, *, confirm_all: bool, hint: str = ""
) -> list[int] | Outcome:
    """Positions of the order's items the customer wants to ``verb``.

    ``hint``: what the customer already said about it (the request); items it names without
    ambiguity are taken without asking. With ``confirm_all`` the customer is asked whether those
    are all the items (policy: item changes can be made only once per order).
    """
    if len(order.items) == 1:
        return [0]
    listing = "; ".join(item_label(i) for i in order.items)
    question = f"Which items in order {order.order_id} would you like to {verb}? It has: {listing}."
    chosen: list[int] = []
    said = match_items(hint, order.items, names_only=True) if hint else None
    if said is not None and said.items and not said.ambiguous:
        chosen = said.items
    for _ in range(0 if chosen else ATTEMPTS):
        picked = await _pick_items(ctx, order, await ctx.ask(question, name="items"))
        if picked:
            chosen = picked
            break
        question = (
            f"Sorry, I couldn't match that to the items of order {order.order_id}: {listing}. "
            f"Which items would you like to {verb}?"
        )
    if not chosen:
        return refuse(
            ctx, "could not identify the items", "I'm sorry, I couldn't tell which items."
        )
    if confirm_all and len(chosen) < len(order.items):
        more = await ctx.ask(
            f"Is there anything else in order {order.order_id} you want to {verb}, or are those "
            f"all the items? Changes can be made only once per order.",
            name="more_items",
        )
        extra = await _pick_items(ctx, order, more, names_only=declines(more))
        chosen = sorted(set(chosen) | set(extra))
    return chosen


async def _pick_items(
    ctx: Ctx, order: Order, answer: str, *, names_only: bool = False
) -> list[int]:
    found = match_items(answer, order.items, names_only=names_only)
    chosen = list(found.items)
    for group in found.ambiguous:
        labels = [item_label(order.items[i]) for i in group]
        listing = "; ".join(f"{n}) {label}" for n, label in enumerate(labels, 1))
        pick = await ctx.ask(f"Which item do you mean: {listing}?", name="items")
        if wants_everything(pick):
            chosen.extend(group)
            continue
        index = pick_listed(pick, labels)
        if index is None:
            narrowed = match_items(pick, [order.items[i] for i in group])
            chosen.extend(group[i] for i in narrowed.items)
        else:
            chosen.append(group[index])
    return sorted(set(chosen))


# -- which new option ------------------------------------------------------------------------


def about_item(text: str, name: str, names: Sequence[str], nth: int = 0) -> str | None:
    """The part of ``text`` about the ``nth`` chosen item called ``name`` (``names``: every
    chosen item's name); the whole text when it names none of them, None when it names only
    others."""
    parts = parts_about(text, name, names)
    if parts:
        return parts[min(nth, len(parts) - 1)]
    if any(parts_about(text, other, names) for other in names):
        return None
    return text


async def choose_new_variant(
    ctx: Ctx,
    item: OrderItem,
    *,
    hints: Sequence[str] = (),
    names: Sequence[str] = (),
    nth: int = 0,
    heard: list[str] | None = None,
) -> Variant | Outcome:
    """The available variant of the item's product the customer wants instead.

    ``hints``: what the customer said before (the request, answers about other items); an
    exact wish found in the part about this item is taken without asking. ``names``/``nth``:
    the chosen items' names and which one of those called ``item.name`` this is. ``heard``
    collects the answers, for the next items' hints.
    """
    product = await ctx.call(t.get_product_details, product_id=item.product_id)
    for hint in hints:
        part = about_item(hint, item.name, names or [item.name], nth)
        wish = choose_variant(part, product, item.options) if part else None
        if wish is not None and wish.kind == "exact" and wish.variant is not None:
            return wish.variant
    question = (
        f"For the {item_label(item)}, which options would you like instead? Please describe "
        f"the option values you want to change."
    )
    listed: list[Variant] = []
    keep: dict[str, str] = {}
    for _ in range(ATTEMPTS + 1):
        said = await ctx.ask(question, name="options")
        if heard is not None:
            heard.append(said)
        answer = about_item(said, item.name, names or [item.name], nth) or said
        if listed:
            index = pick_listed(answer, [_variant_label(v) for v in listed])
            if index is not None and _is_pick(answer):
                return listed[index]
        choice = choose_variant(answer, product, item.options, keep=keep)
        if choice.kind == "exact" and choice.variant is not None:
            return choice.variant
        if listed and choice.kind == "unavailable":
            # The same wish again after the list: a listed option that has every named value.
            named = choice.named.items()
            fits = [v for v in listed if all(v.options.get(k) == x for k, x in named)]
            if len(fits) == 1:
                return fits[0]
        keep = dict(choice.named)
        if choice.kind == "unchanged":
            question = (
                f"That is the {item.name} you already have ({describe_options(item.options)}). "
                f"Which option would you like to change?"
            )
            continue
        listed = (
            choice.candidates
            or [v for v in product.variants.values() if v.available and v.options != item.options]
        )[:8]
        if not listed:
            return refuse(
                ctx,
                f"no other available variant of {item.name}",
                f"I'm sorry, there is no other available option of the {item.name} right now.",
            )
        listing = "; ".join(f"{n}) {_variant_label(v)}" for n, v in enumerate(listed, 1))
        if choice.kind == "unavailable":
            question = (
                f"Sorry, there is no available {item.name} with "
                f"{describe_options(choice.wanted)}. Available options: {listing}. "
                f"Which option would you prefer instead?"
            )
        else:
            question = (
                f"I didn't catch which options you want. Available options for the {item.name}: "
                f"{listing}. Which option would you prefer?"
            )
    return refuse(
        ctx, f"no matching variant of {item.name}", f"I couldn't find that {item.name} option."
    )


def _variant_label(variant: Variant) -> str:
    return f"{describe_options(variant.options)} - ${variant.price:.2f}"


def _is_pick(answer: str) -> bool:
    import re

    return (
        re.search(r"\b(first|second|third|fourth|fifth|last|option|number|\d)\b", answer.lower())
        is not None
    )


# -- which payment method --------------------------------------------------------------------


async def choose_payment(
    ctx: Ctx,
    user: User,
    allowed: Sequence[PaymentMethod],
    *,
    question: str,
    original: str | None = None,
    refused_reason: str,
    need: float = 0.0,
) -> str | Outcome:
    """The id of the payment method the customer picks among ``allowed``.

    A single allowed method is used without asking. Naming one of the user's other methods
    gets ``refused_reason`` and the question again; a gift card must hold ``need``.
    """
    usable = [m for m in allowed if not (isinstance(m, GiftCard) and m.balance < need)]
    if len(usable) == 1:
        return usable[0].id
    if not usable:
        return refuse(
            ctx,
            "no payment method can cover the amount",
            "I'm sorry, none of your payment methods can be used for this.",
        )
    every = list(user.payment_methods.values())
    listing = "; ".join(describe_method(m) for m in usable)
    ask = f"{question} Your options: {listing}."
    for _ in range(ATTEMPTS):
        answer = await ctx.ask(ask, name="payment")
        method = parse_payment(answer, usable, original=original) or parse_payment(
            answer, every, original=original
        )
        if method is not None and any(m.id == method.id for m in usable):
            return method.id
        if method is None:
            ask = f"Sorry, which payment method do you mean? Your options: {listing}."
        elif isinstance(method, GiftCard) and method.balance < need:
            ask = (
                f"Your gift card balance (${method.balance:.2f}) can't cover ${need:.2f}. "
                f"Which other payment method would you like? Your options: {listing}."
            )
        else:
            ask = f"{refused_reason} Which payment method would you like? Your options: {listing}."
    return refuse(
        ctx, "no acceptable payment method chosen", "I'm sorry, I couldn't settle the payment."
    )


# -- which address ---------------------------------------------------------------------------


async def ask_address(
    ctx: Ctx, user: User, question: str, *, current: Order | None = None
) -> Address | Outcome:
    """A full address; the user's default address when they say so; or the address of another
    of their orders they describe ("the same address as my order with the bicycle")."""
    for _ in range(ATTEMPTS):
        answer = await ctx.ask(question, name="address")
        lowered = answer.lower()
        address = parse_address(answer)
        if address is not None:
            return address
        if "order" in lowered:
            others = [o for o in await _orders(ctx, user) if current is None or o != current]
            ranked = match_orders(answer, others)
            if ranked and (len(ranked) == 1 or ranked[0][0] > ranked[1][0]):
                return ranked[0][1].address
            if len(others) == 1 and re.search(r"\bother order\b", lowered):
                return others[0].address
        if re.search(r"\b(default|on file|profile|account|my address)\b", lowered):
            return user.address
        question = (
            "Sorry, I need the full address: street, apartment or suite if any, city, state, "
            "country and zip code, separated by commas (or tell me which of your orders has "
            "the address to use). What is the new address?"
        )
    return refuse(ctx, "no usable address", "I'm sorry, I couldn't read that address.")


def address_label(address: Address) -> str:
    parts = [address.address1, address.address2, address.city, address.state, address.country]
    return ", ".join(p for p in parts if p) + f" {address.zip}"
