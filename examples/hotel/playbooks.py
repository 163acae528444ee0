"""The hotel's playbooks: look up, change dates, cancel, add breakfast or an extra bed, check and
redeem loyalty points, and complaints (a credit up to $50; a person decides above)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, TypeVar

import resolvekit as rk
from examples.offline_agent import money, references

from .backend import (
    POINTS_PER_NIGHT,
    Booking,
    CancellationQuote,
    DateChangeQuote,
    Hotel,
    extra_price,
    long_date,
)
from .intents import (
    AddExtra,
    BookingDetails,
    CancelBooking,
    ChangeDates,
    Complaint,
    PointsBalance,
    RedeemPoints,
)

__all__ = ["register_playbooks"]

_Q = TypeVar("_Q", DateChangeQuote, CancellationQuote)
_REF = re.compile(r"\bhb\s?\d{4}\b", re.IGNORECASE)


def _stay(b: Booking) -> str:
    return f"{b.ref} at {b.hotel}, {long_date(b.check_in)} to {long_date(b.check_out)}"


def _refs(text: str) -> list[str]:
    return references(_REF, text)


def _by_dates(text: str, bookings: list[Booking]) -> list[Booking]:
    """The bookings whose check-in date (as "December 20") the text mentions."""
    lowered = text.lower()
    found = []
    for b in bookings:
        day = dt.date.fromisoformat(b.check_in)
        if f"{day:%B} {day.day}".lower() in lowered:
            found.append(b)
    return found


CHECKED_BOOKING = "checked_booking"
"""The fact an early check remembers the booking it checked under, for its playbook."""


async def _booking(
    ctx: rk.Context[Hotel], action: str, *, checked: bool = False
) -> Booking | rk.PlaybookOutcome:
    """The booking the guest means: the reference they gave, their only upcoming booking, or
    the one they pick; a refusal when it is not theirs. ``checked``: the one the request's
    early check found (it ran in this very run, so the fact is this request's)."""
    refs = [ctx.facts[CHECKED_BOOKING]] if checked else _refs(ctx.request_text)
    if not refs:
        mine: list[Booking] = await ctx.call("list_bookings")
        today = dt.date.fromisoformat(ctx.deps["today"])
        upcoming = [
            b
            for b in mine
            if b.status == "confirmed" and dt.date.fromisoformat(b.check_in) >= today
        ]
        if len(upcoming) == 1:
            return upcoming[0]
        if not upcoming:
            return ctx.refuse(
                "no upcoming booking", reply="I can't find an upcoming booking under your name."
            )
        listed = "; ".join(_stay(b) for b in upcoming)
        answer = await ctx.ask(
            f"Which booking would you like to {action}? You have {listed}. "
            "What's the booking reference?",
            name="booking_reference",
        )
        refs = _refs(answer)
        if not refs:
            picked = _by_dates(answer, upcoming)
            if len(picked) == 1:
                return picked[0]
            return ctx.refuse(
                "booking not identified",
                reply="I couldn't tell which booking you mean. Your upcoming bookings are "
                f"{listed}.",
            )
    found = await ctx.try_call("get_booking", booking_ref=refs[0])
    if isinstance(found, rk.ToolError):
        if found.kind == "refused":
            return ctx.refuse(
                "not the guest's booking",
                reply=f"I can't find booking {refs[0]} under your name, so I can't help with it "
                "here. The guest who made the booking needs to contact us.",
            )
        raise found
    booking: Booking = found
    return booking


async def _quote(
    ctx: rk.Context[Hotel], b: Booking, what: str, tool: str, kind: type[_Q], **args: Any
) -> _Q | rk.PlaybookOutcome:
    """What ``tool`` quotes for the confirmed booking ``b``, or a refusal saying why the guest
    can't ``what`` (the booking is cancelled or over, the new dates are impossible...)."""
    if b.status != "confirmed":
        return ctx.refuse(
            f"booking {b.status}", reply=f"Booking {b.ref} is {b.status}, so I can't {what}."
        )
    quoted = await ctx.try_call(tool, booking_ref=b.ref, **args)
    if isinstance(quoted, rk.ToolError):
        if quoted.kind == "refused":
            return ctx.refuse(quoted.message, reply=f"I can't {what}: {quoted.message}.")
        raise quoted
    return kind.model_validate(quoted)


async def _changeable(ctx: rk.Context[Hotel], action: str, what: str) -> rk.PlaybookOutcome | None:
    """An early check: the booking the guest means (asked for now when they have several) is
    theirs, confirmed and not started, so nothing else is asked about a booking that can't
    change; remembered for the playbook."""
    b = await _booking(ctx, action)
    if not isinstance(b, Booking):
        return b
    if b.status != "confirmed":
        return ctx.refuse(
            f"booking {b.status}", reply=f"Booking {b.ref} is {b.status}, so I can't {what}."
        )
    if dt.date.fromisoformat(b.check_in) < dt.date.fromisoformat(ctx.deps["today"]):
        started = f"the stay of booking {b.ref} has already started"
        return ctx.refuse(started, reply=f"I can't {what}: {started}.")
    ctx.remember(CHECKED_BOOKING, b.ref)
    return None


def register_playbooks(agent: rk.Agent[Hotel]) -> None:
    """Register the hotel's playbooks on ``agent`` (its tools must be registered first)."""

    @agent.check(ChangeDates)
    async def booking_changeable(
        ctx: rk.Context[Hotel], intent: ChangeDates
    ) -> rk.PlaybookOutcome | None:
        # Before the new dates are asked: "can I change HB1003?" is refused at once.
        return await _changeable(ctx, "change", "change its dates")

    @agent.playbook(BookingDetails)
    async def details(ctx: rk.Context[Hotel], intent: BookingDetails) -> rk.PlaybookOutcome:
        b = await _booking(ctx, "look up")
        if not isinstance(b, Booking):
            return b
        extras = [
            name for name, on in (("breakfast", b.breakfast), ("an extra bed", b.extra_bed)) if on
        ]
        included = f" Included: {' and '.join(extras)}." if extras else ""
        return ctx.resolve(
            f"Booking {b.ref} ({b.status}): {b.hotel}, {b.room} room for {b.guests}, from "
            f"{long_date(b.check_in)} to {long_date(b.check_out)} ({b.nights} nights), "
            f"total {money(b.total)}.{included}"
        )

    @agent.playbook(ChangeDates)
    async def change(ctx: rk.Context[Hotel], intent: ChangeDates) -> rk.PlaybookOutcome:
        b = await _booking(ctx, "change", checked=True)
        if not isinstance(b, Booking):
            return b
        q = await _quote(
            ctx,
            b,
            "change its dates",
            "quote_date_change",
            DateChangeQuote,
            check_in=intent.check_in.isoformat(),
            check_out=intent.check_out.isoformat(),
        )
        if not isinstance(q, DateChangeQuote):
            return q
        if q.amount_due > 0:
            pay, paid = f"you'd pay {money(q.amount_due)}", f"{money(q.amount_due)} is charged"
        elif q.amount_due < 0:
            pay, paid = (
                f"we'd refund {money(-q.amount_due)}",
                f"{money(-q.amount_due)} is refunded",
            )
        else:
            pay, paid = "there's nothing to pay", "nothing is charged"
        question = (
            f"Moving {b.ref} to {long_date(q.check_in)} - {long_date(q.check_out)} "
            f"({q.nights} nights): price difference {money(q.price_difference)}, change fee "
            f"{money(q.change_fee)}, so {pay}. Shall I make the change?"
        )
        if not await ctx.confirm(question):
            return ctx.resolve("dates unchanged", reply=f"OK, booking {b.ref} stays as it is.")
        await ctx.call(
            "change_dates", booking_ref=b.ref, check_in=q.check_in, check_out=q.check_out
        )
        return ctx.resolve(
            f"Done: booking {b.ref} is now {long_date(q.check_in)} to {long_date(q.check_out)}. "
            f"{paid[0].upper()}{paid[1:]} to your card."
        )

    @agent.playbook(CancelBooking)
    async def cancel(ctx: rk.Context[Hotel], intent: CancelBooking) -> rk.PlaybookOutcome:
        b = await _booking(ctx, "cancel")
        if not isinstance(b, Booking):
            return b
        q = await _quote(ctx, b, "cancel it", "quote_cancellation", CancellationQuote)
        if not isinstance(q, CancellationQuote):
            return q
        refund = f"a refund of {money(q.refund)}" if q.refund else "no refund"
        question = (
            f"Cancelling {_stay(b)} now, {q.days_before_arrival} days before arrival, gives "
            f"{refund} of the {money(b.total)} paid. Shall I cancel it?"
        )
        if not await ctx.confirm(question):
            return ctx.resolve("booking kept", reply=f"OK, booking {b.ref} stays as it is.")
        await ctx.call("cancel_booking", booking_ref=b.ref)
        return ctx.resolve(
            f"Booking {b.ref} is cancelled. {refund[0].upper()}{refund[1:]} goes back to your "
            "card within 5 working days."
        )

    @agent.playbook(AddExtra)
    async def add(ctx: rk.Context[Hotel], intent: AddExtra) -> rk.PlaybookOutcome:
        b = await _booking(ctx, f"add {intent.extra} to")
        if not isinstance(b, Booking):
            return b
        try:
            price = extra_price(b, intent.extra)
        except rk.ToolRefusal as no:
            if "already" in str(no):
                return ctx.resolve(f"Booking {b.ref} already has {intent.extra}.")
            return ctx.refuse(str(no), reply=f"Sorry, I can't: {no}.")
        how = (
            f"{b.guests} guest(s) x {b.nights} nights at $15"
            if intent.extra == "breakfast"
            else f"{b.nights} nights at $25"
        )
        if not await ctx.confirm(
            f"Adding {intent.extra} to {_stay(b)} costs {money(price)} ({how}). Shall I add it?"
        ):
            return ctx.resolve("nothing added", reply="OK, I haven't added anything.")
        await ctx.call("add_extra", booking_ref=b.ref, extra=intent.extra)
        return ctx.resolve(f"Done: {intent.extra} is added to booking {b.ref} for {money(price)}.")

    @agent.playbook(PointsBalance)
    async def points(ctx: rk.Context[Hotel], intent: PointsBalance) -> rk.PlaybookOutcome:
        balance: int = await ctx.call("get_points")
        return ctx.resolve(
            f"You have {balance:,} loyalty points. {POINTS_PER_NIGHT:,} points buy one free night."
        )

    @agent.playbook(RedeemPoints)
    async def redeem(ctx: rk.Context[Hotel], intent: RedeemPoints) -> rk.PlaybookOutcome:
        balance: int = await ctx.call("get_points")
        if balance < POINTS_PER_NIGHT:
            return ctx.refuse(
                "not enough points",
                reply=f"A free night needs {POINTS_PER_NIGHT:,} points and you have {balance:,}.",
            )
        b = await _booking(ctx, "use your points on")
        if not isinstance(b, Booking):
            return b
        if not await ctx.confirm(
            f"Use {POINTS_PER_NIGHT:,} of your {balance:,} points for one free night on "
            f"{_stay(b)} ({money(b.nightly_rate)} back)? You'd have "
            f"{balance - POINTS_PER_NIGHT:,} points left."
        ):
            return ctx.resolve("points kept", reply="OK, your points stay as they are.")
        await ctx.call("redeem_points", booking_ref=b.ref)
        return ctx.resolve(
            f"Done: one night of {b.ref} is free and {money(b.nightly_rate)} goes back to your "
            f"card. You have {balance - POINTS_PER_NIGHT:,} points left."
        )

    @agent.playbook(Complaint)
    async def complaint(ctx: rk.Context[Hotel], intent: Complaint) -> rk.PlaybookOutcome:
        approval = await ctx.approve(
            f"goodwill credit of {money(intent.amount)}: {ctx.request_text}",
            amount=intent.amount,
        )
        if not approval.approved:
            return ctx.refuse("credit declined", reply="I'm sorry, the credit was not approved.")
        if not await ctx.confirm(
            f"I'm sorry about that. I can give you a credit of {money(intent.amount)} on your "
            "account. Shall I add it?"
        ):
            return ctx.resolve("no credit", reply="OK, I haven't added a credit.")
        await ctx.call("issue_credit", amount=intent.amount, reason=ctx.request_text[:200])
        return ctx.resolve(
            f"I've added a credit of {money(intent.amount)} to your account. Sorry again."
        )
