"""Refunds with supervisor approvals: small refunds go through at once, larger ones wait for a
team lead, who decides later from another process (here: a second agent over the same SQLite
file, as a supervisor console would), and the customer is told on their channel.

Run it (offline, on LocalModel):

    .venv/bin/python examples/refund_approvals.py
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

import resolvekit as rk

APPROVALS = rk.ApprovalPolicy(
    tiers=[
        rk.ApprovalTier(up_to=50),  # approved at once, journaled
        rk.ApprovalTier(up_to=500, role="team_lead"),
        rk.ApprovalTier(up_to=5000, role="manager"),
    ]  # above 5000: handed to a person
)


class Charge(BaseModel):
    id: str
    amount: float


@dataclass
class Payments:
    """The system of record: charges and the refunds made."""

    charges: dict[str, float] = field(default_factory=lambda: {"CH1001": 20.0, "CH2002": 120.0})
    refunds: list[str] = field(default_factory=list)


class RefundCharge(rk.Intent):
    """Customer wants a charge refunded."""

    examples = ["refund charge CH1001", "I want my money back for CH2002", "please refund me"]
    charge_id: str = rk.Slot(pattern=r"CH\d{4}", ask="Which charge (CH and four digits)?")


def sms(notification: rk.Notification) -> None:
    """The notification target: a real one would send an SMS, an email or a chat push."""
    print(f"  [to {notification.customer_id} on {notification.channel}] {notification.message}")


def build_agent(store: str, payments: Payments, model: Any = "local") -> rk.Agent[Payments]:
    agent: rk.Agent[Payments] = rk.Agent(
        "Payments support",
        model=model,
        store=store,
        deps=payments,
        approvals=APPROVALS,
        notify=sms,
        handoff=[],
    )

    @agent.tool(effect="read")
    def get_charge(ctx: rk.Context[Payments], charge_id: str) -> Charge:
        """Look up a charge."""
        if charge_id not in ctx.deps.charges:
            raise rk.ToolRefusal(f"no charge {charge_id}")
        return Charge(id=charge_id, amount=ctx.deps.charges[charge_id])

    @agent.tool(effect="write")
    def refund(ctx: rk.Context[Payments], charge_id: str) -> str:
        """Refund a charge in full."""
        ctx.deps.refunds.append(charge_id)
        return "refunded"

    @agent.playbook(RefundCharge)
    async def refund_charge(ctx: rk.Context[Payments], intent: RefundCharge) -> rk.PlaybookOutcome:
        charge = await ctx.call(get_charge, charge_id=intent.charge_id)
        approval = await ctx.approve(
            f"refund ${charge.amount:.2f} of {charge.id}", amount=charge.amount
        )
        if not approval.approved:
            return ctx.refuse(
                f"refund of {charge.id} declined by {approval.approver}",
                reply=f"Sorry, the refund of {charge.id} was not approved.",
            )
        await ctx.call(refund, charge_id=charge.id)
        return ctx.resolve(f"Refunded ${charge.amount:.2f} for {charge.id}")

    return agent


async def demo(folder: Path, model: Any = "local") -> list[rk.Decided]:
    store = f"sqlite:///{folder / 'support.db'}"
    payments = Payments()
    async with build_agent(store, payments, model) as support:
        for text in ["Please refund charge CH1001", "and refund CH2002 too please"]:
            print(f"customer: {text}\n  agent: {(await support.handle('c1', text)).reply}")
    decided = []
    async with build_agent(store, payments, model) as console:  # later, elsewhere
        for row in await console.approvals(role="team_lead"):
            print(f"console: {row.reason} waits for a {row.role} ({row.waiting:.0f}s)")
            decided.append(
                await console.decide(row.id, approve=True, approver="ana", role="team_lead")
            )
    print(f"refunds made: {payments.refunds}")
    return decided


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(demo(Path(folder)))
