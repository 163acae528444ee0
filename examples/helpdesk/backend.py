"""The SaaS helpdesk's system of record: accounts with a plan, a billing period and a card on
file; the tools reach it. Plain JSON-ready data, so eval scenarios can compare end states.

Money rules: plan prices are monthly; a plan change takes effect today and is prorated over the
days left in the billing period (``period_end`` is exclusive): ``(new - old) * left / days``,
rounded to cents, charged when positive and credited when negative.
"""

from __future__ import annotations

import copy
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel

import resolvekit as rk

__all__ = ["PRICES", "Plan", "Subscription", "demo_state", "proration", "register_tools"]

Desk = dict[str, Any]
"""The state: ``today``, ``accounts`` by id, ``resets`` by account id."""

Plan = Literal["free", "starter", "pro", "business"]
PRICES: dict[str, float] = {"free": 0.0, "starter": 12.0, "pro": 29.0, "business": 79.0}
OFFER = {"percent": 50, "months": 3}
"""The retention offer: 50% off for the next three months."""


class Subscription(BaseModel):
    workspace: str
    plan: str
    price: float
    period_start: str
    period_end: str
    status: str
    discount: dict[str, int] | None


class Quote(BaseModel):
    plan: str
    amount: float
    """Positive: charged now; negative: credited."""
    days_left: int


def proration(account: dict[str, Any], plan: str, today: str) -> Quote:
    """What switching ``account`` to ``plan`` on ``today`` costs (negative: a credit)."""
    start, end = (
        date.fromisoformat(account["period_start"]),
        date.fromisoformat(account["period_end"]),
    )
    left = (end - date.fromisoformat(today)).days
    days = (end - start).days
    amount = round((PRICES[plan] - PRICES[account["plan"]]) * left / days, 2)
    return Quote(plan=plan, amount=amount, days_left=left)


def _account(ctx: rk.Context[Desk]) -> dict[str, Any]:
    """The verified account (``ctx.identity``, set by the agent's verify step before the plan
    and billing playbooks run, and by the eval's ``Scenario.identity`` for the gold baseline)."""
    identity = ctx.identity
    if not identity:
        raise rk.ToolRefusal("the customer is not verified")
    return ctx.deps["accounts"][identity["account"]]  # type: ignore[no-any-return]


def _subscription(account: dict[str, Any]) -> Subscription:
    return Subscription(
        workspace=account["workspace"],
        plan=account["plan"],
        price=PRICES[account["plan"]],
        period_start=account["period_start"],
        period_end=account["period_end"],
        status=account["status"],
        discount=account.get("discount"),
    )


def register_tools(agent: rk.Agent[Desk]) -> dict[str, rk.Tool[Any]]:
    """Register the helpdesk's tools on ``agent``; returns them by name."""

    @agent.tool(effect="read")
    def account_exists(ctx: rk.Context[Desk], email: str) -> bool:
        """Whether an account uses this sign-in email.

        Args:
            email: the sign-in email address.
        """
        wanted = email.strip().lower()
        return any(a["email"] == wanted for a in ctx.deps["accounts"].values())

    @agent.tool(effect="write")
    def send_reset_link(ctx: rk.Context[Desk], email: str, card_last4: str) -> str:
        """Email a password-reset link, once the caller proves who they are with the last four
        digits of the card on file.

        Args:
            email: the account's sign-in email.
            card_last4: the last four digits of the card on file.
        """
        wanted = email.strip().lower()
        found = [(i, a) for i, a in ctx.deps["accounts"].items() if a["email"] == wanted]
        if not found:
            raise rk.ToolRefusal(f"no account uses {email}")
        account_id, account = found[0]
        if card_last4.strip() != account["card_last4"]:
            raise rk.ToolRefusal("those digits don't match the card on file")
        ctx.deps["resets"][account_id] = {"email": wanted, "date": ctx.deps["today"]}
        return wanted

    @agent.tool(effect="read")
    def signed_in_account(ctx: rk.Context[Desk]) -> str | None:
        """The id of the account the customer is signed in to (None: not signed in)."""
        return ctx.customer_id if ctx.customer_id in ctx.deps["accounts"] else None

    @agent.tool(effect="read")
    def get_subscription(ctx: rk.Context[Desk]) -> Subscription:
        """The signed-in customer's subscription."""
        return _subscription(_account(ctx))

    @agent.tool(effect="read")
    def quote_plan_change(ctx: rk.Context[Desk], plan: Plan) -> Quote:
        """What switching to ``plan`` today costs (prorated; negative is a credit).

        Args:
            plan: the new plan.
        """
        return proration(_account(ctx), plan, ctx.deps["today"])

    @agent.tool(effect="write", confirm=True)
    def change_plan(ctx: rk.Context[Desk], plan: Plan) -> Quote:
        """Switch the plan today and charge (or credit) the prorated difference.

        Args:
            plan: the new plan.
        """
        account = _account(ctx)
        if account["plan"] == plan:
            raise rk.ToolRefusal(f"you are already on the {plan} plan")
        quote = proration(account, plan, ctx.deps["today"])
        account["plan"] = plan
        account["charges"].append({"kind": "proration", "amount": quote.amount})
        return quote

    @agent.tool(effect="write", confirm=True)
    def apply_retention_offer(ctx: rk.Context[Desk]) -> Subscription:
        """Give the retention discount (50% off for three months) instead of cancelling."""
        account = _account(ctx)
        if account.get("discount"):
            raise rk.ToolRefusal("a discount is already running on this account")
        account["discount"] = dict(OFFER)
        return _subscription(account)

    @agent.tool(effect="write", confirm=True)
    def cancel_subscription(ctx: rk.Context[Desk]) -> Subscription:
        """Cancel at the end of the current billing period (no refund for the rest of it)."""
        account = _account(ctx)
        if account["status"] != "active":
            raise rk.ToolRefusal(f"the subscription is already {account['status']}")
        account["status"] = "cancels at period end"
        return _subscription(account)

    tools = (account_exists, send_reset_link, signed_in_account, get_subscription,
             quote_plan_change, change_plan, apply_retention_offer,
             cancel_subscription)  # fmt: skip
    return {tool.name: tool for tool in tools}


_DEMO: Desk = {
    "today": "2026-12-07",
    "accounts": {
        "acc-lena": {"name": "Lena Park", "email": "lena@brightlabs.io", "workspace": "brightlabs",
                     "plan": "pro", "period_start": "2026-12-01", "period_end": "2027-01-01",
                     "card_last4": "4417", "status": "active", "discount": None, "charges": []},
        "acc-omar": {"name": "Omar Haddad", "email": "omar@quillpress.com",
                     "workspace": "quillpress", "plan": "starter", "period_start": "2026-11-20",
                     "period_end": "2026-12-20", "card_last4": "9051", "status": "active",
                     "discount": {"percent": 20, "months": 12}, "charges": []},
    },
    "resets": {},
}  # fmt: skip


def demo_state() -> Desk:
    """A fresh copy of the demo helpdesk (Lena on Pro, Omar on Starter with a discount)."""
    return copy.deepcopy(_DEMO)
