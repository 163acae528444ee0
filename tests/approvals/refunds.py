"""A small refunds domain shared by the approval tests: a charge lookup, a refund write that
counts every call, a playbook that asks for approval before refunding, and a model that starts
the refund for "refund CH..." and replies otherwise."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

import resolvekit as rk
from resolvekit.models import ModelRequest, ModelResponse

TIERS = rk.ApprovalPolicy(
    tiers=[
        rk.ApprovalTier(up_to=50),
        rk.ApprovalTier(up_to=500, role="team_lead"),
        rk.ApprovalTier(up_to=5000, role="manager"),
    ]
)


class Charge(BaseModel):
    id: str
    amount: float


@dataclass
class Bank:
    """The system that holds the truth; counts every refund."""

    charges: dict[str, float] = field(
        default_factory=lambda: {"CH1001": 20.0, "CH2002": 120.0, "CH3003": 900.0, "CH4004": 9000.0}
    )
    refunds: list[tuple[str, float]] = field(default_factory=list)


class Refund(rk.Intent):
    """Customer wants a charge refunded."""

    examples = ["refund CH1001", "I want my money back"]
    charge_id: str = rk.Slot(pattern=r"CH\d{4}", ask="Which charge?")


class Status(rk.Intent):
    """Customer asks about an order."""

    examples = ["where is my order"]


def decide(request: ModelRequest) -> ModelResponse:
    text = request.text.lower()
    found = re.search(r"ch\d{4}", text)
    if "person" in text or "human" in text:
        return ModelResponse(decision=rk.Escalate(reason="customer asked for a person"))
    if "refund" in text and found:
        slots = {"charge_id": found.group(0).upper()}
        return ModelResponse(decision=rk.StartIntent(intent="Refund", slots=slots))
    if "order" in text:
        return ModelResponse(decision=rk.StartIntent(intent="Status"))
    return ModelResponse(decision=rk.Reply(text="How can I help?"))


def build(bank: Bank, **options: Any) -> rk.Agent[Bank]:
    """The refund agent with :data:`TIERS` (override with ``approvals=...``)."""
    options.setdefault("store", "memory://")
    options.setdefault("approvals", TIERS)
    options.setdefault("handoff", [])
    agent: rk.Agent[Bank] = rk.Agent(
        name="Refunds", model=rk.FunctionModel(decide), deps=bank, **options
    )

    @agent.tool(effect="read")
    def get_charge(ctx: rk.Context[Bank], charge_id: str) -> Charge:
        """Look up a charge."""
        return Charge(id=charge_id, amount=ctx.deps.charges[charge_id])

    @agent.tool(effect="write")
    def issue_refund(ctx: rk.Context[Bank], charge_id: str, amount: float) -> str:
        """Refund a charge."""
        ctx.deps.refunds.append((charge_id, amount))
        return f"refunded {amount}"

    @agent.playbook(Refund)
    async def refund(ctx: rk.Context[Bank], intent: Refund) -> rk.PlaybookOutcome:
        charge = await ctx.call(get_charge, charge_id=intent.charge_id)
        approval = await ctx.approve(
            f"refund {charge.amount:g} on {charge.id}",
            amount=charge.amount,
            details={"charge": charge.id},
        )
        if not approval.approved:
            note = f": {approval.note}" if approval.note else ""
            return ctx.refuse(f"refund of {charge.id} declined by {approval.approver}{note}")
        await ctx.call(issue_refund, charge_id=charge.id, amount=charge.amount)
        return ctx.resolve(f"Refunded {charge.amount:g} on {charge.id}")

    @agent.playbook(Status)
    async def status(ctx: rk.Context[Bank], intent: Status) -> rk.PlaybookOutcome:
        return ctx.resolve("Your order is on its way")

    return agent
