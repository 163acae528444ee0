"""What the customer gets back or pays across a conversation: a ledger kept as a fact.

Every playbook that moves money records it (a refund is positive, a charge negative) under a
key naming the change, so re-running a playbook from its journal records the same ledger. The
running total is said after the second money change and whenever the customer asks "how much
do I get back in total?".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import resolvekit as rk

from .db import RetailDB

__all__ = ["LEDGER", "ledger", "record", "total_sentence"]

LEDGER = "ledger"
"""The conversation fact holding ``{change: {"what": ..., "amount": ...}}``."""

Ctx = rk.Context[RetailDB]


def ledger(ctx: Ctx) -> dict[str, dict[str, Any]]:
    """The money changes of this conversation so far (change key -> what and amount)."""
    value = ctx.facts.get(LEDGER) or {}
    return {str(k): dict(v) for k, v in dict(value).items()}


def record(ctx: Ctx, key: str, what: str, amount: float) -> str:
    """Record a refund (``amount`` > 0) or a charge (< 0) and return the running-total sentence
    ("" while this is the only money change of the conversation)."""
    entries = ledger(ctx)
    entries[key] = {"what": what, "amount": round(amount, 2)}
    ctx.remember(LEDGER, entries)
    return total_sentence(entries) if len(entries) > 1 else ""


def total_sentence(entries: Mapping[str, Mapping[str, Any]]) -> str:
    """ "In total, $X will be refunded to you ..." for the recorded changes."""
    amounts = [float(e["amount"]) for e in entries.values()]
    back = round(sum(a for a in amounts if a > 0), 2)
    pay = round(-sum(a for a in amounts if a < 0), 2)
    what = "; ".join(f"{e['what']}: {_signed(float(e['amount']))}" for e in entries.values())
    if pay == 0:
        return f"In total, ${back:.2f} will be refunded to you ({what})."
    if back == 0:
        return f"In total, you pay ${pay:.2f} ({what})."
    net = round(back - pay, 2)
    outcome = f"${net:.2f} back to you" if net >= 0 else f"${-net:.2f} for you to pay"
    return (
        f"In total, you get ${back:.2f} back and pay ${pay:.2f}, which comes to {outcome} ({what})."
    )


def _signed(amount: float) -> str:
    return f"${amount:.2f} back" if amount >= 0 else f"${-amount:.2f} to pay"
