"""The grocery shop's playbooks: order status, slot changes, missing or damaged items, cancels,
substitutions, the delivery pass, promo codes, and complaints a person must judge."""

from __future__ import annotations

import datetime as dt
import difflib
import re

import resolvekit as rk
from examples.offline_agent import money, references

from .backend import (
    CLAIM_LIMIT,
    WINDOWS,
    Account,
    Grocery,
    Item,
    Order,
    RefundTo,
    claim_check,
    long_date,
    promo_check,
    slot_change_check,
)
from .intents import (
    AddItems,
    ApplyPromo,
    CancelOrder,
    ChangeSlot,
    ItemProblem,
    OrderStatus,
    PausePass,
    ResumePass,
    SeriousComplaint,
    SubstitutionPreference,
)

__all__ = ["register_playbooks"]

_REF = re.compile(r"\bg\s?\d{4}\b", re.IGNORECASE)
_DAMAGED = ("broken", "smashed", "mouldy", "moldy", "crushed", "squashed", "leak", "spoil",
            "rotten", "cracked", "damaged", "out of date", "off", "bad")  # fmt: skip
ACTIVE = ("scheduled", "picking", "out for delivery")


def _slot(o: Order) -> str:
    return f"{long_date(o.delivery_date)}, {o.window} ({WINDOWS[o.window]})"


def _refs(text: str) -> list[str]:
    return references(_REF, text)


def _status(o: Order) -> str:
    if o.status == "scheduled":
        return f"Order {o.order_id} is scheduled for delivery on {_slot(o)}."
    if o.status == "picking":
        return f"Order {o.order_id} is being picked right now and arrives {_slot(o)}."
    if o.status == "out for delivery":
        return f"Order {o.order_id} is out for delivery and arrives {_slot(o)}."
    if o.status == "delivered":
        return f"Order {o.order_id} was delivered on {long_date(o.delivery_date)}."
    return f"Order {o.order_id} is {o.status}."


def _recent(ctx: rk.Context[Grocery], o: Order) -> bool:
    now = dt.date.fromisoformat(ctx.deps["now"][:10])
    return o.status == "delivered" and (now - dt.date.fromisoformat(o.delivery_date)).days <= 7


async def _order(
    ctx: rk.Context[Grocery], action: str, candidates: str
) -> Order | rk.PlaybookOutcome:
    """The order the customer means: the number they gave, their only candidate order, or the
    one they pick; a refusal when it is not theirs. ``candidates`` is ``active`` (scheduled
    and on its way), ``scheduled`` or ``delivered`` (in the last 7 days)."""
    refs = _refs(ctx.request_text)
    if not refs:
        mine: list[Order] = await ctx.call("list_orders")
        # The order of an earlier request in this conversation ("what about Saturday
        # afternoon then?" after a full slot), when it still fits.
        earlier = ctx.facts.get("order_id")
        if candidates == "delivered":
            fitting = [o for o in mine if _recent(ctx, o)]
        else:
            wanted = ACTIVE if candidates == "active" else ("scheduled",)
            fitting = [o for o in mine if o.status in wanted]
        fitting = [o for o in fitting if o.order_id == earlier] or fitting
        if len(fitting) == 1:
            return fitting[0]
        if not fitting:
            kind = "recently delivered" if candidates == "delivered" else "upcoming"
            return ctx.refuse(f"no {kind} order", reply=f"I can't find a {kind} order on your "
                              "account.")  # fmt: skip
        listed = "; ".join(f"{o.order_id} ({long_date(o.delivery_date)})" for o in fitting)
        answer = await ctx.ask(
            f"Which order would you like to {action}? You have {listed}. What's the order number?",
            name="order_id",
        )
        refs = _refs(answer)
        if not refs:
            return ctx.refuse(
                "order not identified",
                reply=f"I couldn't tell which order you mean. Your orders are {listed}.",
            )
    found = await ctx.try_call("get_order", order_id=refs[0])
    if isinstance(found, rk.ToolError):
        if found.kind == "refused":
            return ctx.refuse(
                "not the customer's order",
                reply=f"I can't find order {refs[0]} on your account, so I can't help with it "
                "here. The account holder who placed it needs to contact us.",
            )
        raise found
    order: Order = found
    ctx.remember("order_id", order.order_id)
    return order


def _item_in(text: str, items: list[Item]) -> Item | None:
    """The item of ``items`` the text names, also with a typo ("bred", "yogurt")."""
    lowered = text.lower()
    for item in items:
        if item.name in lowered or item.name.rstrip("s") in lowered:
            return item
    words = re.findall(r"[a-z]+", lowered)
    for item in items:
        for part in item.name.split():
            if len(part) >= 4 and difflib.get_close_matches(part, words, n=1, cutoff=0.75):
                return item
    return None


def register_playbooks(agent: rk.Agent[Grocery]) -> None:
    """Register the shop's playbooks on ``agent`` (its tools must be registered first)."""

    @agent.playbook(OrderStatus)
    async def status(ctx: rk.Context[Grocery], intent: OrderStatus) -> rk.PlaybookOutcome:
        if _refs(ctx.request_text):
            o = await _order(ctx, "check", "active")
            if not isinstance(o, Order):
                return o
            return ctx.resolve(_status(o))
        mine: list[Order] = await ctx.call("list_orders")
        active = [o for o in mine if o.status in ACTIVE]
        if not active:
            return ctx.resolve("no upcoming order", reply="You have no upcoming deliveries.")
        return ctx.resolve(" ".join(_status(o) for o in active))

    @agent.playbook(ChangeSlot)
    async def change_slot(ctx: rk.Context[Grocery], intent: ChangeSlot) -> rk.PlaybookOutcome:
        o = await _order(ctx, "move", "scheduled")
        if not isinstance(o, Order):
            return o
        day = intent.day.isoformat()
        try:
            slot_change_check(ctx.deps, o, day, intent.window)
        except rk.ToolRefusal as no:
            reason = str(no)
            if o.status != "scheduled":
                reason = f"order {o.order_id} is already being picked, so its slot is fixed"
            return ctx.refuse(reason, reply=f"Sorry, I can't move it: {reason}. Slot changes "
                              "are possible until 8 pm the evening before delivery.")  # fmt: skip
        new = f"{long_date(day)}, {intent.window} ({WINDOWS[intent.window]})"
        if not await ctx.confirm(f"Move order {o.order_id} from {_slot(o)} to {new}?"):
            return ctx.resolve("slot kept", reply=f"OK, order {o.order_id} stays on {_slot(o)}.")
        await ctx.call("change_slot", order_id=o.order_id, date=day, window=intent.window)
        return ctx.resolve(f"Done: order {o.order_id} now arrives on {new}.")

    @agent.playbook(ItemProblem)
    async def item_problem(ctx: rk.Context[Grocery], intent: ItemProblem) -> rk.PlaybookOutcome:
        o = await _order(ctx, "report a problem with", "delivered")
        if not isinstance(o, Order):
            return o
        item = _item_in(ctx.request_text, o.items)
        if item is None:
            names = ", ".join(i.name for i in o.items)
            answer = await ctx.ask(f"Which item was it? {o.order_id} had: {names}.", name="item")
            item = _item_in(answer, o.items)
            if item is None:
                return ctx.refuse("item not on the order", reply=f"I can't find that item on "
                                  f"order {o.order_id}; it had {names}.")  # fmt: skip
        problem = intent.problem or (
            "damaged" if any(w in ctx.request_text.lower() for w in _DAMAGED) else "missing"
        )
        try:
            claim_check(ctx.deps, o, item.name)
        except rk.ToolRefusal as no:
            if item.price > CLAIM_LIMIT and "photo" in str(no):
                return ctx.escalate(
                    f"{problem} {item.name} on {o.order_id}: {money(item.price)} is above the "
                    f"{money(CLAIM_LIMIT)} no-photo limit",
                    reply=f"The {item.name} ({money(item.price)}) is above the "
                    f"{money(CLAIM_LIMIT)} we can refund without a photo, so I'm passing this "
                    "to a colleague who will review it with you.",
                )
            return ctx.refuse(str(no), reply=f"Sorry, I can't refund that: {no}.")
        refund_to = intent.refund_method or await ctx.ask(
            "Would you like the refund on your card or as account credit?",
            type=RefundTo,
            name="refund_method",
        )
        where = "your card" if refund_to == "card" else "your account as credit"
        if not await ctx.confirm(
            f"Refund {money(item.price)} for the {problem} {item.name} from order "
            f"{o.order_id} to {where}?"
        ):
            return ctx.resolve("no refund", reply="OK, I haven't refunded anything.")
        await ctx.call("refund_item", order_id=o.order_id, item=item.name, problem=problem,
                       refund_to=refund_to)  # fmt: skip
        return ctx.resolve(
            f"Done: {money(item.price)} for the {item.name} goes to {where}. Sorry about that."
        )

    @agent.playbook(CancelOrder)
    async def cancel(ctx: rk.Context[Grocery], intent: CancelOrder) -> rk.PlaybookOutcome:
        o = await _order(ctx, "cancel", "scheduled")
        if not isinstance(o, Order):
            return o
        if o.status != "scheduled":
            said = {"picking": "is already being picked", "delivered": "was already delivered"}
            why = said.get(o.status, f"is {o.status}")
            return ctx.refuse(f"order {why}", reply=f"Order {o.order_id} {why}, so it can't be "
                              "cancelled any more.")  # fmt: skip
        if not await ctx.confirm(
            f"Cancel order {o.order_id} (delivery {_slot(o)})? The {money(o.total)} goes back "
            "to your card."
        ):
            return ctx.resolve("order kept", reply=f"OK, order {o.order_id} stays as it is.")
        await ctx.call("cancel_order", order_id=o.order_id)
        return ctx.resolve(
            f"Order {o.order_id} is cancelled and {money(o.total)} goes back to your card "
            "within 3 working days."
        )

    @agent.playbook(SubstitutionPreference)
    async def substitutions(
        ctx: rk.Context[Grocery], intent: SubstitutionPreference
    ) -> rk.PlaybookOutcome:
        account: Account = await ctx.call("set_substitutions", preference=intent.preference)
        return ctx.resolve(
            f"Done: your substitution preference is now '{account.substitutions}' for every "
            "future order."
        )

    async def _pass(ctx: rk.Context[Grocery], to: str) -> rk.PlaybookOutcome:
        account: Account = await ctx.call("get_account")
        verb = "pause" if to == "paused" else "resume"
        if account.delivery_pass == "none":
            return ctx.refuse("no pass", reply="You have no delivery pass, so there's nothing to "
                              f"{verb}.")  # fmt: skip
        if account.delivery_pass == to:
            return ctx.resolve(f"Your delivery pass is already {to}.")
        detail = ("no monthly $7.99 charge while it's paused" if to == "paused"
                  else "the monthly $7.99 charge starts again")  # fmt: skip
        if not await ctx.confirm(f"Shall I {verb} your delivery pass? ({detail})"):
            return ctx.resolve("pass unchanged", reply="OK, your delivery pass stays as it is.")
        await ctx.call("pause_pass" if to == "paused" else "resume_pass")
        return ctx.resolve(f"Done: your delivery pass is {to}.")

    @agent.playbook(PausePass)
    async def pause(ctx: rk.Context[Grocery], intent: PausePass) -> rk.PlaybookOutcome:
        return await _pass(ctx, "paused")

    @agent.playbook(ResumePass)
    async def resume(ctx: rk.Context[Grocery], intent: ResumePass) -> rk.PlaybookOutcome:
        return await _pass(ctx, "active")

    @agent.playbook(ApplyPromo)
    async def promo(ctx: rk.Context[Grocery], intent: ApplyPromo) -> rk.PlaybookOutcome:
        o = await _order(ctx, "apply the code to", "scheduled")
        if not isinstance(o, Order):
            return o
        code = intent.code.strip().upper()
        try:
            discount = promo_check(ctx.deps, o, code)
        except rk.ToolRefusal as no:
            return ctx.refuse(str(no), reply=f"Sorry, I can't apply it: {no}.")
        new_total = round(o.total - discount, 2)
        if not await ctx.confirm(
            f"Apply {code} to order {o.order_id}: {money(discount)} off, so the total goes from "
            f"{money(o.total)} to {money(new_total)}?"
        ):
            return ctx.resolve("no code", reply="OK, I haven't applied the code.")
        await ctx.call("apply_promo", order_id=o.order_id, code=code)
        return ctx.resolve(f"Done: {code} is applied; order {o.order_id} now costs "
                           f"{money(new_total)}.")  # fmt: skip

    @agent.playbook(AddItems)
    async def add_items(ctx: rk.Context[Grocery], intent: AddItems) -> rk.PlaybookOutcome:
        return ctx.refuse(
            "items are changed in the app",
            reply="I can't change the items of an order here, but you can add or remove items "
            "in the app or on the website until we start picking your order.",
        )

    @agent.playbook(SeriousComplaint)
    async def complaint(ctx: rk.Context[Grocery], intent: SeriousComplaint) -> rk.PlaybookOutcome:
        return ctx.escalate(
            f"needs a person's judgement: {ctx.request_text[:200]}",
            priority="high",
            reply="I'm very sorry. This needs one of my colleagues, so I'm passing it to them now "
            "with everything you've told me.",
        )
