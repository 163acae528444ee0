"""The hotel's system of record: plain data (guests, bookings, refunds, credits) and the tools
the agent reaches it with.

The state is a JSON-ready mapping, so an eval scenario can hold it inline and compare end
states; every tool checks that the booking it touches belongs to ``ctx.customer_id`` (the
signed-in guest).

Policies (all in this file, so the tools enforce them whatever the agent says):

- **Changing dates**: the price difference is (new nights - old nights) x the nightly rate; a
  change fee of $30 applies when the current arrival is less than 7 days away.
- **Cancelling**: 7 days or more before arrival, a full refund; 2 to 6 days, half; less than
  2 days, nothing.
- **Extras**: breakfast $15 per guest per night; an extra bed $25 per night (not in single
  rooms).
- **Loyalty points**: 10,000 points buy one free night on an upcoming booking (the night's
  rate is refunded).
- **Complaints**: a goodwill credit of up to $50 may be given by the agent; more needs a person.
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel

import resolvekit as rk

__all__ = [
    "BREAKFAST_PER_GUEST_NIGHT",
    "CHANGE_FEE",
    "CREDIT_LIMIT",
    "EXTRA_BED_PER_NIGHT",
    "POINTS_PER_NIGHT",
    "Booking",
    "CancellationQuote",
    "Credit",
    "DateChangeQuote",
    "Extra",
    "Hotel",
    "demo_state",
    "long_date",
    "register_tools",
]

Hotel = dict[str, Any]
"""The state: ``today``, ``guests``, ``bookings``, ``refunds`` and ``credits``."""

Extra = Literal["breakfast", "extra bed"]

CHANGE_FEE = 30.0
"""Charged for a date change when the current arrival is less than 7 days away."""
BREAKFAST_PER_GUEST_NIGHT = 15.0
EXTRA_BED_PER_NIGHT = 25.0
POINTS_PER_NIGHT = 10_000
CREDIT_LIMIT = 50.0
"""The largest goodwill credit the agent may give; above it a person decides."""
MAX_NIGHTS = 14


class Booking(BaseModel):
    ref: str
    hotel: str
    room: str
    guests: int
    check_in: str
    check_out: str
    nights: int
    nightly_rate: float
    total: float
    status: str
    breakfast: bool
    extra_bed: bool


class DateChangeQuote(BaseModel):
    ref: str
    check_in: str
    check_out: str
    nights: int
    price_difference: float
    change_fee: float
    amount_due: float
    """Positive: charged to the guest; negative: refunded."""


class CancellationQuote(BaseModel):
    ref: str
    days_before_arrival: int
    refund: float
    refund_share: float


class Credit(BaseModel):
    amount: float
    reason: str


def long_date(iso: str) -> str:
    """``2026-12-20`` as ``December 20, 2026``."""
    day = dt.date.fromisoformat(iso)
    return f"{day:%B} {day.day}, {day.year}"


def _day(value: str, what: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise rk.ToolRefusal(f"{value!r} is not a date (YYYY-MM-DD) for the {what}") from None


def _nights(check_in: str, check_out: str) -> int:
    return (dt.date.fromisoformat(check_out) - dt.date.fromisoformat(check_in)).days


def _booking(hotel: Hotel, customer: str, ref: str) -> dict[str, Any]:
    record = hotel["bookings"].get(ref.strip().upper())
    if record is None or record["owner"] != customer:
        raise rk.ToolRefusal(f"there is no booking {ref} under your name")
    return record  # type: ignore[no-any-return]


def _shown(ref: str, record: dict[str, Any]) -> Booking:
    nights = _nights(record["check_in"], record["check_out"])
    fields = {k: v for k, v in record.items() if k != "owner"}
    return Booking(ref=ref, nights=nights, **fields)


def _upcoming(hotel: Hotel, record: dict[str, Any], ref: str) -> int:
    """Days before arrival of a confirmed, future booking; refuses any other."""
    if record["status"] != "confirmed":
        raise rk.ToolRefusal(f"booking {ref} is {record['status']}")
    days = (dt.date.fromisoformat(record["check_in"]) - dt.date.fromisoformat(hotel["today"])).days
    if days < 0:
        raise rk.ToolRefusal(f"the stay of booking {ref} has already started")
    return days


def _date_change(hotel: Hotel, customer: str, ref: str, check_in: str, check_out: str) -> Any:
    record = _booking(hotel, customer, ref)
    days = _upcoming(hotel, record, ref)
    start, end = _day(check_in, "check-in"), _day(check_out, "check-out")
    today = dt.date.fromisoformat(hotel["today"])
    if start <= today:
        raise rk.ToolRefusal("the new check-in date must be after today")
    nights = (end - start).days
    if nights < 1:
        raise rk.ToolRefusal("the check-out date must be after the check-in date")
    if nights > MAX_NIGHTS:
        raise rk.ToolRefusal(f"a stay can be at most {MAX_NIGHTS} nights")
    old = _nights(record["check_in"], record["check_out"])
    difference = round((nights - old) * record["nightly_rate"], 2)
    fee = CHANGE_FEE if days < 7 else 0.0
    quote = DateChangeQuote(
        ref=ref.strip().upper(),
        check_in=start.isoformat(),
        check_out=end.isoformat(),
        nights=nights,
        price_difference=difference,
        change_fee=fee,
        amount_due=round(difference + fee, 2),
    )
    return record, quote


def _cancellation(hotel: Hotel, customer: str, ref: str) -> Any:
    record = _booking(hotel, customer, ref)
    days = _upcoming(hotel, record, ref)
    share = 1.0 if days >= 7 else 0.5 if days >= 2 else 0.0
    quote = CancellationQuote(
        ref=ref.strip().upper(),
        days_before_arrival=days,
        refund=round(record["total"] * share, 2),
        refund_share=share,
    )
    return record, quote


def register_tools(agent: rk.Agent[Hotel]) -> dict[str, rk.Tool[Any]]:
    """Register the hotel's tools on ``agent``; returns them by name."""

    @agent.tool(effect="read")
    def list_bookings(ctx: rk.Context[Hotel]) -> list[Booking]:
        """The signed-in guest's bookings, soonest arrival first."""
        mine = [
            (ref, r) for ref, r in ctx.deps["bookings"].items() if r["owner"] == ctx.customer_id
        ]
        mine.sort(key=lambda row: (row[1]["check_in"], row[0]))
        return [_shown(ref, r) for ref, r in mine]

    @agent.tool(effect="read")
    def get_booking(ctx: rk.Context[Hotel], booking_ref: str) -> Booking:
        """Look up one of the guest's bookings.

        Args:
            booking_ref: the booking reference, e.g. HB1001.
        """
        return _shown(booking_ref.strip().upper(), _booking(ctx.deps, ctx.customer_id, booking_ref))

    @agent.tool(effect="read")
    def quote_date_change(
        ctx: rk.Context[Hotel], booking_ref: str, check_in: str, check_out: str
    ) -> DateChangeQuote:
        """What moving a booking to new dates would cost (price difference and change fee).

        Args:
            booking_ref: the booking reference.
            check_in: the new check-in date, YYYY-MM-DD.
            check_out: the new check-out date, YYYY-MM-DD.
        """
        _, quote = _date_change(ctx.deps, ctx.customer_id, booking_ref, check_in, check_out)
        return quote  # type: ignore[no-any-return]

    @agent.tool(effect="write", confirm=True)
    def change_dates(
        ctx: rk.Context[Hotel], booking_ref: str, check_in: str, check_out: str
    ) -> DateChangeQuote:
        """Move a booking to new dates; the price difference and the change fee are settled
        on the guest's card.

        Args:
            booking_ref: the booking reference.
            check_in: the new check-in date, YYYY-MM-DD.
            check_out: the new check-out date, YYYY-MM-DD.
        """
        hotel = ctx.deps
        record, quote = _date_change(hotel, ctx.customer_id, booking_ref, check_in, check_out)
        record["check_in"], record["check_out"] = quote.check_in, quote.check_out
        record["total"] = round(record["total"] + quote.price_difference, 2)
        if quote.amount_due:
            hotel["payments"].append(
                {"booking": quote.ref, "amount": quote.amount_due, "for": "date change"}
            )
        return quote  # type: ignore[no-any-return]

    @agent.tool(effect="read")
    def quote_cancellation(ctx: rk.Context[Hotel], booking_ref: str) -> CancellationQuote:
        """The refund the guest would get for cancelling a booking now.

        Args:
            booking_ref: the booking reference.
        """
        _, quote = _cancellation(ctx.deps, ctx.customer_id, booking_ref)
        return quote  # type: ignore[no-any-return]

    @agent.tool(effect="write", confirm=True)
    def cancel_booking(ctx: rk.Context[Hotel], booking_ref: str) -> CancellationQuote:
        """Cancel a booking and refund what the cancellation policy allows.

        Args:
            booking_ref: the booking reference.
        """
        hotel = ctx.deps
        record, quote = _cancellation(hotel, ctx.customer_id, booking_ref)
        record["status"] = "cancelled"
        if quote.refund:
            hotel["payments"].append(
                {"booking": quote.ref, "amount": -quote.refund, "for": "cancellation"}
            )
        return quote  # type: ignore[no-any-return]

    @agent.tool(effect="write", confirm=True)
    def add_extra(ctx: rk.Context[Hotel], booking_ref: str, extra: Extra) -> Booking:
        """Add breakfast (per guest per night) or an extra bed (per night) to a booking.

        Args:
            booking_ref: the booking reference.
            extra: "breakfast" or "extra bed".
        """
        hotel = ctx.deps
        ref = booking_ref.strip().upper()
        record = _booking(hotel, ctx.customer_id, ref)
        _upcoming(hotel, record, ref)
        price = extra_price(_shown(ref, record), extra)
        key = "breakfast" if extra == "breakfast" else "extra_bed"
        record[key] = True
        record["total"] = round(record["total"] + price, 2)
        hotel["payments"].append({"booking": ref, "amount": price, "for": extra})
        return _shown(ref, record)

    @agent.tool(effect="read")
    def get_points(ctx: rk.Context[Hotel]) -> int:
        """The guest's loyalty points balance."""
        return int(ctx.deps["guests"][ctx.customer_id]["points"])

    @agent.tool(effect="write", confirm=True)
    def redeem_points(ctx: rk.Context[Hotel], booking_ref: str) -> Booking:
        """Spend 10,000 points on one free night of an upcoming booking (its rate is refunded).

        Args:
            booking_ref: the booking reference.
        """
        hotel = ctx.deps
        ref = booking_ref.strip().upper()
        record = _booking(hotel, ctx.customer_id, ref)
        _upcoming(hotel, record, ref)
        guest = hotel["guests"][ctx.customer_id]
        if guest["points"] < POINTS_PER_NIGHT:
            raise rk.ToolRefusal(
                f"a free night needs {POINTS_PER_NIGHT:,} points; you have {guest['points']:,}"
            )
        guest["points"] -= POINTS_PER_NIGHT
        record["total"] = round(record["total"] - record["nightly_rate"], 2)
        hotel["payments"].append(
            {"booking": ref, "amount": -record["nightly_rate"], "for": "points"}
        )
        return _shown(ref, record)

    @agent.tool(effect="write", confirm=True)
    def issue_credit(ctx: rk.Context[Hotel], amount: float, reason: str) -> Credit:
        """Give the guest a goodwill credit (up to $50) for a complaint.

        Args:
            amount: the credit in dollars.
            reason: what went wrong, in a few words.
        """
        if amount <= 0:
            raise rk.ToolRefusal("the amount must be positive")
        if amount > CREDIT_LIMIT:
            raise rk.ToolRefusal(f"credits above ${CREDIT_LIMIT:.2f} need a manager")
        ctx.deps["credits"].append({"guest": ctx.customer_id, "amount": amount})
        return Credit(amount=amount, reason=reason)

    tools = (list_bookings, get_booking, quote_date_change, change_dates, quote_cancellation,
             cancel_booking, add_extra, get_points, redeem_points, issue_credit)  # fmt: skip
    return {tool.name: tool for tool in tools}


def extra_price(booking: Booking, extra: Extra) -> float:
    """What ``extra`` costs for the whole stay of ``booking``; refuses what cannot be added."""
    if extra == "breakfast":
        if booking.breakfast:
            raise rk.ToolRefusal(f"booking {booking.ref} already includes breakfast")
        return BREAKFAST_PER_GUEST_NIGHT * booking.guests * booking.nights
    if booking.extra_bed:
        raise rk.ToolRefusal(f"booking {booking.ref} already has an extra bed")
    if booking.room == "single":
        raise rk.ToolRefusal("a single room has no space for an extra bed")
    return EXTRA_BED_PER_NIGHT * booking.nights


def _stay(
    hotel: str,
    room: str,
    guests: int,
    check_in: str,
    check_out: str,
    rate: float,
    owner: str,
    status: str = "confirmed",
    breakfast: bool = False,
) -> dict[str, Any]:
    total = round(rate * _nights(check_in, check_out), 2)
    return {"owner": owner, "hotel": hotel, "room": room, "guests": guests, "check_in": check_in,
            "check_out": check_out, "nightly_rate": rate, "total": total, "status": status,
            "breakfast": breakfast, "extra_bed": False}  # fmt: skip


_DEMO: Hotel = {
    "today": "2026-12-07",
    "guests": {
        "g-ana": {"name": "Ana Silva", "points": 12_500},
        "g-ben": {"name": "Ben Okafor", "points": 3_000},
        "g-cara": {"name": "Cara Lindqvist", "points": 4_000},
    },
    "bookings": {
        "HB1001": _stay("Harbour View", "double", 2, "2026-12-20", "2026-12-23", 120.0, "g-ana"),
        "HB1002": _stay(
            "Harbour View", "suite", 2, "2026-12-10", "2026-12-12", 200.0, "g-ana", breakfast=True
        ),
        "HB1003": _stay(
            "Old Town", "double", 2, "2026-11-01", "2026-11-03", 110.0, "g-ana", status="completed"
        ),
        "HB1004": _stay(
            "Old Town", "double", 1, "2027-01-15", "2027-01-17", 110.0, "g-ana", status="cancelled"
        ),
        "HB2001": _stay("Harbour View", "double", 2, "2026-12-15", "2026-12-18", 120.0, "g-ben"),
        "HB3001": _stay("Old Town", "single", 1, "2026-12-28", "2026-12-31", 80.0, "g-cara"),
    },
    "payments": [],
    "credits": [],
}


def demo_state() -> Hotel:
    """A fresh copy of the demo hotel (Ana has several bookings, Ben and Cara one each)."""
    return copy.deepcopy(_DEMO)
