"""One playbook per retail intent, enforcing ``policy.md`` in code.

Every playbook authenticates first, checks the order's status before acting, lists the action's
details and needs an explicit yes before any write, and refuses what the policy does not allow
with a clear reply. :func:`register` wires them (and the tools) onto an agent.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Literal

import resolvekit as rk

from . import agent_tools as t
from . import money
from .db import GiftCard, Order, PaymentMethod, RetailDB, User, Variant
from .dialog import (
    ANYTHING_ELSE,
    address_label,
    ask_address,
    authenticate,
    choose_items,
    choose_new_variant,
    choose_order,
    choose_payment,
    item_label,
    join,
    lookup_orders,
    opening,
    refuse,
)
from .intents import (
    CancelOrder,
    EndConversation,
    ExchangeItems,
    ModifyOrderAddress,
    ModifyOrderItems,
    ModifyOrderPayment,
    ModifyUserAddress,
    MoneyQuestion,
    OrderStatus,
    ProductInfo,
    ReturnItems,
    UserInfo,
)
from .matching import clause_for, describe_options, mentions, wants_everything
from .parsing import describe_method, parse_reason

__all__ = ["register"]

Ctx = rk.Context[RetailDB]
Outcome = rk.PlaybookOutcome

NOT_DONE = f"OK, I haven't changed anything. {ANYTHING_ELSE}"
REASON_QUESTION = (
    "What is the reason for cancelling the order: is it no longer needed, or was it ordered "
    "by mistake?"
)


def _method(user: User, method_id: str) -> PaymentMethod:
    return user.payment_methods[method_id]


def _paid_with(order: Order) -> str:
    return order.payment_history[0].payment_method_id


def _sentences(*parts: str) -> str:
    return " ".join(p for p in parts if p)


async def _failed(ctx: Ctx, result: rk.ToolError) -> Outcome:
    return refuse(
        ctx, f"{result.tool} refused: {result.message}", f"I couldn't do that: {result.message}."
    )


async def _confirmed_write(
    ctx: Ctx, question: str, declined: str, tool: rk.Tool[Any], /, **args: Any
) -> Any:
    """Get the customer's explicit yes to ``question``, then run the write.

    Returns:
        The tool's result, or the Outcome to return when the customer declined or the write was
        refused.
    """
    if not await ctx.confirm(question):
        return ctx.resolve(declined, reply=NOT_DONE)
    done = await ctx.try_call(tool, **args)
    if isinstance(done, rk.ToolError):
        return await _failed(ctx, done)
    return done


# -- cancel ----------------------------------------------------------------------------------


async def cancel_order(ctx: Ctx, intent: CancelOrder) -> Outcome:
    user = await authenticate(ctx)
    if isinstance(user, Outcome):
        return user
    order = await choose_order(ctx, user, intent.order_id, action="cancel", verb="cancel")
    if isinstance(order, Outcome):
        return order
    reason: str | None = intent.reason or parse_reason(opening(ctx))
    question = REASON_QUESTION
    for _ in range(2):
        if reason is not None:
            break
        reason = parse_reason(await ctx.ask(question, name="reason"))
        question = (
            "I can only cancel an order for one of two reasons: no longer needed, or ordered by "
            "mistake. Which reason applies?"
        )
    if reason is None:
        return refuse(
            ctx,
            "cancellation reason not accepted",
            "I'm sorry, orders can only be cancelled because they are no longer needed or were "
            "ordered by mistake.",
        )
    paid = sum(p.amount for p in order.payment_history if p.transaction_type == "payment")
    refund_to = describe_method(_method(user, _paid_with(order)))
    items = join([i.name for i in order.items])
    done = await _confirmed_write(
        ctx,
        f"Please confirm: cancel order {order.order_id} ({items}) because it was "
        f"'{reason}'. The total of ${paid:.2f} will be refunded to your {refund_to}. "
        f"Shall I proceed?",
        "customer kept the order",
        t.cancel_pending_order,
        order_id=order.order_id,
        reason=reason,
    )
    if isinstance(done, Outcome):
        return done
    timing = (
        "right away"
        if isinstance(_method(user, _paid_with(order)), GiftCard)
        else "in 5 to 7 business days"
    )
    total = money.record(ctx, f"cancel {order.order_id}", f"cancelled {order.order_id}", paid)
    return ctx.resolve(
        f"Order {order.order_id} cancelled ({reason})",
        reply=_sentences(
            f"Order {order.order_id} is cancelled. The refund of ${paid:.2f} goes to your "
            f"{refund_to} {timing}.",
            total,
            ANYTHING_ELSE,
        ),
    )


# -- modify items / exchange -----------------------------------------------------------------


async def _swap(ctx: Ctx, order_id: str | None, kind: Literal["modify", "exchange"]) -> Outcome:
    user = await authenticate(ctx)
    if isinstance(user, Outcome):
        return user
    verb = "exchange" if kind == "exchange" else "modify"
    order = await choose_order(ctx, user, order_id, action=kind, verb=verb)
    if isinstance(order, Outcome):
        return order
    request = opening(ctx)
    for attempt in range(2):
        # The request is used on the first attempt only: after a "no" everything is asked.
        said = request if attempt == 0 else ""
        positions = await choose_items(
            ctx, order, verb, confirm_all=True, hint=clause_for(said, kind) if said else ""
        )
        if isinstance(positions, Outcome):
            return positions
        new: list[Variant] = []
        names = [order.items[p].name for p in positions]
        heard: list[str] = []
        for position in positions:
            item = order.items[position]
            variant = await choose_new_variant(
                ctx,
                item,
                hints=[h for h in (said, *heard) if h],
                names=names,
                nth=[order.items[p].name for p in positions if p < position].count(item.name),
                heard=heard,
            )
            if isinstance(variant, Outcome):
                return variant
            new.append(variant)
        old = [order.items[p] for p in positions]
        diff = round(sum(v.price - i.price for v, i in zip(new, old, strict=True)), 2)
        method_id = await choose_payment(
            ctx,
            user,
            list(user.payment_methods.values()),
            question=(
                f"Which payment method should {'pay' if diff > 0 else 'receive'} the price "
                f"difference of ${abs(diff):.2f}?"
            ),
            refused_reason="That payment method can't be used here.",
            need=max(diff, 0.0),
        )
        if isinstance(method_id, Outcome):
            return method_id
        changes = "; ".join(
            f"{item_label(i)} -> {describe_options(v.options)} (${v.price:.2f})"
            for i, v in zip(old, new, strict=True)
        )
        money_line = (
            f"You pay ${diff:.2f}"
            if diff > 0
            else f"You get ${-diff:.2f} back"
            if diff < 0
            else "There is no price difference"
        )
        method = describe_method(_method(user, method_id))
        note = (
            " You'll receive an email about returning the items."
            if kind == "exchange"
            else " The order's items can be modified only once."
        )
        if await ctx.confirm(
            f"Please confirm: {verb} in order {order.order_id}: {changes}. {money_line} with your "
            f"{method}.{note} Shall I proceed?"
        ):
            tool = (
                t.exchange_delivered_order_items
                if kind == "exchange"
                else t.modify_pending_order_items
            )
            done = await ctx.try_call(
                tool,
                order_id=order.order_id,
                item_ids=[i.item_id for i in old],
                new_item_ids=[v.item_id for v in new],
                payment_method_id=method_id,
            )
            if isinstance(done, rk.ToolError):
                return await _failed(ctx, done)
            what = "exchange is requested" if kind == "exchange" else "items are modified"
            total = money.record(
                ctx, f"{kind} {order.order_id}", f"{verb} in {order.order_id}", -diff
            )
            return ctx.resolve(
                f"Order {order.order_id}: {verb} {len(new)} item(s)",
                reply=_sentences(
                    f"Done: the {what} for order {order.order_id}. {money_line}.",
                    total,
                    ANYTHING_ELSE,
                ),
            )
    return ctx.resolve("customer did not confirm the change", reply=NOT_DONE)


async def modify_items(ctx: Ctx, intent: ModifyOrderItems) -> Outcome:
    return await _swap(ctx, intent.order_id, "modify")


async def exchange_items(ctx: Ctx, intent: ExchangeItems) -> Outcome:
    return await _swap(ctx, intent.order_id, "exchange")


# -- return ----------------------------------------------------------------------------------


async def return_items(ctx: Ctx, intent: ReturnItems) -> Outcome:
    user = await authenticate(ctx)
    if isinstance(user, Outcome):
        return user
    order = await choose_order(ctx, user, intent.order_id, action="return", verb="return")
    if isinstance(order, Outcome):
        return order
    original = _paid_with(order)
    allowed: list[PaymentMethod] = [_method(user, original)]
    allowed += [
        m for m in user.payment_methods.values() if isinstance(m, GiftCard) and m.id != original
    ]
    request = opening(ctx)
    for attempt in range(2):
        hint = clause_for(request, "return") if attempt == 0 and request else ""
        positions = await choose_items(ctx, order, "return", confirm_all=False, hint=hint)
        if isinstance(positions, Outcome):
            return positions
        method_id = await choose_payment(
            ctx,
            user,
            allowed,
            question="Which payment method should we refund to: the original one or a gift card?",
            original=original,
            refused_reason=(
                "Refunds can only go to the original payment method or to a gift card."
            ),
        )
        if isinstance(method_id, Outcome):
            return method_id
        items = [order.items[p] for p in positions]
        total = round(sum(i.price for i in items), 2)
        method = describe_method(_method(user, method_id))
        if await ctx.confirm(
            f"Please confirm: return {join([item_label(i) for i in items])} from order "
            f"{order.order_id}, with the refund of ${total:.2f} to your {method}. "
            f"Shall I proceed?"
        ):
            # Refunds go through the agent's approval tiers (all automatic by default).
            approval = await ctx.approve(
                f"refund ${total:.2f} for a return from {order.order_id}",
                amount=total,
                details={"order_id": order.order_id, "items": [i.item_id for i in items]},
            )
            if not approval.approved:
                why = f" ({approval.note})" if approval.note else ""
                return refuse(
                    ctx,
                    f"return of {order.order_id} declined by {approval.approver}{why}",
                    f"I'm sorry, the refund for order {order.order_id} was not approved{why}.",
                )
            done = await ctx.try_call(
                t.return_delivered_order_items,
                order_id=order.order_id,
                item_ids=[i.item_id for i in items],
                payment_method_id=method_id,
            )
            if isinstance(done, rk.ToolError):
                return await _failed(ctx, done)
            overall = money.record(
                ctx, f"return {order.order_id}", f"return from {order.order_id}", total
            )
            return ctx.resolve(
                f"Return requested for {len(items)} item(s) of {order.order_id}",
                reply=_sentences(
                    f"The return is requested for order {order.order_id}. You'll receive an "
                    f"email with instructions on how to send the items back; ${total:.2f} will "
                    f"be refunded to your {method}.",
                    overall,
                    ANYTHING_ELSE,
                ),
            )
    return ctx.resolve("customer did not confirm the return", reply=NOT_DONE)


# -- addresses and payment -------------------------------------------------------------------

ADDRESS_QUESTION = (
    "What is the new address? Please give it in one line: street, apartment or suite if any, "
    "city, state, country and zip code."
)


async def modify_order_address(ctx: Ctx, intent: ModifyOrderAddress) -> Outcome:
    user = await authenticate(ctx)
    if isinstance(user, Outcome):
        return user
    order = await choose_order(ctx, user, intent.order_id, action="modify", verb="ship elsewhere")
    if isinstance(order, Outcome):
        return order
    now = f"Order {order.order_id} is set to ship to {address_label(order.address)}."
    address = await ask_address(ctx, user, f"{now} {ADDRESS_QUESTION}", current=order)
    if isinstance(address, Outcome):
        return address
    done = await _confirmed_write(
        ctx,
        f"Please confirm: ship order {order.order_id} to {address_label(address)}. "
        "Shall I proceed?",
        "address unchanged",
        t.modify_pending_order_address,
        order_id=order.order_id,
        **address.model_dump(),
    )
    if isinstance(done, Outcome):
        return done
    return ctx.resolve(
        f"Order {order.order_id} ships to {address_label(address)}",
        reply=(
            f"Done: order {order.order_id} will ship to {address_label(address)}. {ANYTHING_ELSE}"
        ),
    )


async def modify_user_address(ctx: Ctx, intent: ModifyUserAddress) -> Outcome:
    user = await authenticate(ctx)
    if isinstance(user, Outcome):
        return user
    now = f"Your default address is {address_label(user.address)}."
    address = await ask_address(ctx, user, f"{now} {ADDRESS_QUESTION}")
    if isinstance(address, Outcome):
        return address
    done = await _confirmed_write(
        ctx,
        f"Please confirm: change your default address to {address_label(address)}. "
        "Shall I proceed?",
        "default address unchanged",
        t.modify_user_address,
        user_id=user.user_id,
        **address.model_dump(),
    )
    if isinstance(done, Outcome):
        return done
    return ctx.resolve(
        f"Default address of {user.user_id} changed",
        reply=f"Done: your default address is now {address_label(address)}. {ANYTHING_ELSE}",
    )


async def modify_order_payment(ctx: Ctx, intent: ModifyOrderPayment) -> Outcome:
    user = await authenticate(ctx)
    if isinstance(user, Outcome):
        return user
    order = await choose_order(ctx, user, intent.order_id, action="modify", verb="pay differently")
    if isinstance(order, Outcome):
        return order
    current = _paid_with(order)
    total = order.payment_history[0].amount
    others = [m for m in user.payment_methods.values() if m.id != current]
    if len(order.payment_history) != 1 or not others:
        return refuse(
            ctx,
            "payment cannot be changed",
            f"I'm sorry, the payment of order {order.order_id} can't be changed to another method.",
        )
    method_id = await choose_payment(
        ctx,
        user,
        others,
        question=f"Which payment method would you like to pay the ${total:.2f} with instead?",
        refused_reason="That is the payment method the order already uses.",
        need=total,
    )
    if isinstance(method_id, Outcome):
        return method_id
    new, old = describe_method(_method(user, method_id)), describe_method(_method(user, current))
    done = await _confirmed_write(
        ctx,
        f"Please confirm: pay order {order.order_id} (${total:.2f}) with your {new} instead of "
        f"your {old}, which will be refunded. Shall I proceed?",
        "payment unchanged",
        t.modify_pending_order_payment,
        order_id=order.order_id,
        payment_method_id=method_id,
    )
    if isinstance(done, Outcome):
        return done
    return ctx.resolve(
        f"Order {order.order_id} paid with {method_id}",
        reply=f"Done: order {order.order_id} is now paid with your {new}. {ANYTHING_ELSE}",
    )


# -- information -----------------------------------------------------------------------------


async def order_status(ctx: Ctx, intent: OrderStatus) -> Outcome:
    user = await authenticate(ctx)
    if isinstance(user, Outcome):
        return user
    orders = await lookup_orders(ctx, user, intent.order_id)
    if isinstance(orders, Outcome):
        return orders
    if not orders:
        return refuse(ctx, "no orders", "I'm sorry, I can't find any orders on your account.")
    lines = [] if len(orders) == 1 else ["Here are all your orders."]
    for order in orders:
        tracking = [tid for f in order.fulfillments for tid in f.tracking_id]
        lines += [
            f"Order {order.order_id} is {order.status}.",
            f"Items: {'; '.join(f'{item_label(i)} ${i.price:.2f}' for i in order.items)}.",
            f"Shipping to {address_label(order.address)}.",
        ]
        if tracking:
            lines.append(f"Tracking number: {', '.join(tracking)}.")
    ids = ", ".join(o.order_id for o in orders)
    return ctx.resolve(f"Order details given ({ids})", reply=" ".join([*lines, ANYTHING_ELSE]))


async def product_info(ctx: Ctx, intent: ProductInfo) -> Outcome:
    user = await authenticate(ctx)
    if isinstance(user, Outcome):
        return user
    catalogue = await ctx.call(t.list_all_product_types)
    text: str = intent.product or opening(ctx)
    found = _product_named(text, catalogue)
    if found is None and not _about_catalogue(text):
        text = await ctx.ask("Which product would you like to know about?", name="product")
        found = _product_named(text, catalogue)
    if found is None:
        if _about_catalogue(text):  # "what do you sell?", "how many types of products?"
            return ctx.resolve(
                "listed product types",
                reply=f"We sell {len(catalogue)} types of products: {', '.join(catalogue)}. "
                f"{ANYTHING_ELSE}",
            )
        return refuse(ctx, "unknown product", "I'm sorry, we don't sell a product by that name.")
    product = await ctx.call(t.get_product_details, product_id=catalogue[found])
    available = [v for v in product.variants.values() if v.available]
    listing = "; ".join(f"{describe_options(v.options)} - ${v.price:.2f}" for v in available)
    return ctx.resolve(
        f"{product.name}: {len(available)} available options",
        reply=(
            f"There are {len(available)} available {product.name} options "
            f"(of {len(product.variants)} in total): {listing}. {ANYTHING_ELSE}"
        ),
    )


def _about_catalogue(text: str) -> bool:
    return wants_everything(text) or bool(
        re.search(r"\b(products?|sell|catalog(ue)?)\b", text, re.I)
    )


def _product_named(text: str, catalogue: dict[str, str]) -> str | None:
    named = [name for name in catalogue if mentions(text, name)]
    if not named:
        heads = [name for name in catalogue if mentions(text, name.split()[-1])]
        named = heads if len(heads) == 1 else []
    return max(named, key=len) if named else None


async def user_info(ctx: Ctx, intent: UserInfo) -> Outcome:
    user = await authenticate(ctx)
    if isinstance(user, Outcome):
        return user
    orders: Sequence[Order] = [
        await ctx.call(t.get_order_details, order_id=oid) for oid in user.orders
    ]
    methods = "; ".join(describe_method(m) for m in user.payment_methods.values())
    listing = "; ".join(
        f"{o.order_id} ({o.status}): {join([i.name for i in o.items])}, paid ${_order_paid(o):.2f}"
        for o in orders
    )
    return ctx.resolve(
        "profile details given",
        reply=(
            f"Your account: {user.name.first_name} {user.name.last_name}, {user.email}, "
            f"default address {address_label(user.address)}. Payment methods: {methods}. "
            f"Orders: {listing}. {ANYTHING_ELSE}"
        ),
    )


async def money_question(ctx: Ctx, intent: MoneyQuestion) -> Outcome:
    """The total of this conversation's refunds and charges, else what each order cost."""
    entries = money.ledger(ctx)
    if entries:
        return ctx.resolve(
            "money total given", reply=_sentences(money.total_sentence(entries), ANYTHING_ELSE)
        )
    user = await authenticate(ctx)
    if isinstance(user, Outcome):
        return user
    orders = [await ctx.call(t.get_order_details, order_id=oid) for oid in user.orders]
    listing = "; ".join(
        f"{o.order_id} ({o.status}, {join([i.name for i in o.items])}): ${_order_paid(o):.2f}"
        for o in orders
    )
    return ctx.resolve(
        "order totals given",
        reply=f"Nothing has been refunded or charged in this conversation yet. What you paid "
        f"for your orders: {listing}. {ANYTHING_ELSE}",
    )


def _order_paid(order: Order) -> float:
    return round(sum(p.amount for p in order.payment_history if p.transaction_type == "payment"), 2)


async def end_conversation(ctx: Ctx, intent: EndConversation) -> Outcome:
    return ctx.resolve("customer finished", reply="Thank you for contacting us. Have a great day!")


def register(agent: rk.Agent[RetailDB], *, tools: bool = True) -> None:
    """Add the retail tools (unless a connected toolset serves them) and one playbook per
    intent to ``agent``."""
    for tool in t.AGENT_TOOLS if tools else ():
        agent.add_tool(tool)
    agent.playbook(CancelOrder)(cancel_order)
    agent.playbook(ModifyOrderItems)(modify_items)
    agent.playbook(ExchangeItems)(exchange_items)
    agent.playbook(ReturnItems)(return_items)
    agent.playbook(ModifyOrderAddress)(modify_order_address)
    agent.playbook(ModifyOrderPayment)(modify_order_payment)
    agent.playbook(ModifyUserAddress)(modify_user_address)
    agent.playbook(OrderStatus)(order_status)
    agent.playbook(ProductInfo)(product_info)
    agent.playbook(UserInfo)(user_info)
    agent.playbook(MoneyQuestion)(money_question)
    agent.playbook(EndConversation)(end_conversation)
