"""Supervisor approvals: a playbook asks (``await ctx.approve(...)``), a policy declared once
says who must approve, and a person decides later, from any process.

A policy is a list of tiers by amount: under the automatic tier the request is approved at once
(journaled, no human); a tier with a role suspends the playbook until someone with that role (or
a role of a higher tier) decides with :meth:`resolvekit.Agent.decide`; above the top tier the
conversation goes to a human with its context::

    rk.ApprovalPolicy(tiers=[
        rk.ApprovalTier(up_to=50),                      # automatic
        rk.ApprovalTier(up_to=500, role="team_lead"),
        rk.ApprovalTier(up_to=5000, role="manager"),
    ])                                                  # above 5000: escalated

The request, the decision, the approver and their role are journal steps (kind ``approve``)
and trace events (``approval_requested``, ``approval_decided``). See docs/playbooks.md.
"""

from __future__ import annotations

import inspect
import math
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from ._json import dump, load
from .exceptions import ApprovalNotFound, UserError
from .results import TurnResult
from .sessions import Conversation, PlaybookRun, Step

__all__ = [
    "Approval",
    "ApprovalEscalation",
    "ApprovalPolicy",
    "ApprovalRequest",
    "ApprovalTier",
    "Approver",
    "Decided",
    "Notification",
    "Notifier",
    "PendingApproval",
    "approval_id",
    "open_approval",
    "parse_approval_id",
    "record_decision",
    "recorded_approval",
]

Decision = Literal["approved", "declined"]


@dataclass(kw_only=True, frozen=True)
class Approval:
    """A decided approval: what ``await ctx.approve(...)`` returns."""

    id: str
    """The approval's id (``Agent.decide`` takes it; ``Agent.approvals`` lists pending ones)."""
    decision: Decision
    approver: str
    """Who decided: a person's name, ``"policy"`` for an automatic tier, or the name of a
    callback approver."""
    role: str | None = None
    """The approver's role (None for an automatic decision)."""
    note: str | None = None
    decided_at: float
    reason: str
    amount: float | None = None
    automatic: bool = False
    """Decided without a person (an automatic tier or a callback approver)."""

    @property
    def approved(self) -> bool:
        return self.decision == "approved"


@dataclass(kw_only=True, frozen=True)
class ApprovalRequest:
    """An approval waiting for a decision: what a callback approver receives."""

    id: str
    customer_id: str
    conversation_id: str
    intent: str
    reason: str
    amount: float | None
    role: str | None
    """The role the request needs (its tier's)."""
    details: dict[str, Any] = field(default_factory=dict)
    requested_at: float


Approver = Callable[[ApprovalRequest], "bool | Awaitable[bool | None] | None"]
"""An automated approver (sync or async): True approves, False declines, None leaves the
request to a person with the tier's role."""


@dataclass(kw_only=True, frozen=True)
class ApprovalTier:
    """One step of an approval policy.

    Args:
        up_to: the largest amount this tier covers (None: any amount; for a tier asked for by
            role only).
        role: who must approve; None approves at once (the automatic tier).
        approver: an automated approver tried first (its decision is journaled like a
            person's; None from it leaves the request to the role).
    """

    up_to: float | None = None
    role: str | None = None
    approver: Approver | None = field(default=None, compare=False)


@dataclass(kw_only=True)
class ApprovalPolicy:
    """Who approves what, declared once on the agent (``Agent(approvals=...)``).

    Args:
        tiers: from the smallest amount to the largest. A role of a later tier may also decide
            the requests of an earlier one (a manager can approve what a team lead can).
        intents: another policy for some intents (by intent name).
        priority: the handoff priority when an amount is above the top tier.

    Raises:
        UserError: tiers out of order, a negative or non-finite limit, a role named twice.
    """

    tiers: Sequence[ApprovalTier] = ()
    intents: Mapping[str, ApprovalPolicy] = field(default_factory=dict)
    priority: Literal["low", "normal", "high", "urgent"] = "normal"

    def __post_init__(self) -> None:
        self.tiers = list(self.tiers)
        limits = [t.up_to for t in self.tiers if t.up_to is not None]
        if any(not math.isfinite(x) or x < 0 for x in limits) or limits != sorted(limits):
            raise UserError(f"Approval tiers need finite limits from small to large: {limits}")
        roles = [t.role for t in self.tiers if t.role is not None]
        if len(roles) != len(set(roles)):
            raise UserError(f"Each role may have one approval tier, not several: {roles}")

    def for_intent(self, intent: str) -> ApprovalPolicy:
        """The policy that applies to ``intent``."""
        return self.intents.get(intent, self)

    def route(self, amount: float | None, role: str | None) -> ApprovalTier | None:
        """The tier a request falls in (None: above the top tier, to be escalated).

        Raises:
            UserError: a negative or non-finite amount, a role no tier has, or neither an
                amount nor a role where the policy cannot choose.
        """
        if amount is not None and (
            isinstance(amount, bool)
            or not isinstance(amount, int | float)
            or not math.isfinite(amount)
            or amount < 0
        ):
            raise UserError(f"ctx.approve(amount=...) needs a finite amount >= 0, not {amount!r}")
        by_role = self._tier_of(role) if role is not None else None
        if amount is None:
            if by_role is not None:
                return by_role
            human = next((t for t in self.tiers if t.role is not None), None)
            if human is None:
                raise UserError("ctx.approve(...) needs an amount or a role: no tier has a role")
            return human
        by_amount = next((t for t in self.tiers if t.up_to is None or amount <= t.up_to), None)
        if not self.tiers:
            if by_role is None:
                raise UserError(
                    "ctx.approve(amount=...) without a role needs tiers: declare "
                    "Agent(approvals=rk.ApprovalPolicy(tiers=[...])) or pass role=..."
                )
            return by_role
        if by_amount is None or by_role is None:
            return by_amount
        return max(by_amount, by_role, key=self._rank)  # the stricter of the two

    def allowed_roles(self, role: str) -> list[str]:
        """The roles that may decide a request needing ``role``: it and those of later tiers."""
        roles = [t.role for t in self.tiers if t.role is not None]
        return roles[roles.index(role) :] if role in roles else [role]

    def _tier_of(self, role: str) -> ApprovalTier:
        found = next((t for t in self.tiers if t.role == role), None)
        if found is not None:
            return found
        if self.tiers:
            known = [t.role for t in self.tiers if t.role]
            raise UserError(f"No approval tier has role {role!r} (roles: {known})")
        return ApprovalTier(role=role)

    def _rank(self, tier: ApprovalTier) -> int:
        return next(i for i, t in enumerate(self.tiers) if t is tier)


@dataclass(kw_only=True, frozen=True)
class PendingApproval(ApprovalRequest):
    """A row of :meth:`resolvekit.Agent.approvals`: an approval waiting for a person."""

    waiting: float
    """Seconds since it was requested."""


@dataclass(kw_only=True, frozen=True)
class Notification:
    """What the customer is told once their approval is decided (``Agent(notify=...)``)."""

    customer_id: str
    conversation_id: str
    channel: str
    """The channel the customer last wrote on: where to send ``message``."""
    message: str
    """The agent's reply after the decision (also in the transcript)."""
    approval: Approval
    outcome: str
    """The turn's outcome after the decision (``resolved``, ``escalated``...)."""


@dataclass(kw_only=True, frozen=True)
class Decided:
    """What :meth:`resolvekit.Agent.decide` returns."""

    approval: Approval
    result: TurnResult
    """The playbook's turn after the decision (its ``reply`` is what the customer is told)."""
    notified: bool
    """The notification reached ``Agent(notify=...)``; False when there is none or it failed
    (the decision and the message are saved either way)."""
    notify_error: str | None = None


@runtime_checkable
class Notifier(Protocol):
    """Where customers are told the result of their approval (an SMS gateway, an email
    sender, a chat push). ``Agent(notify=...)`` also takes a plain callable, sync or async."""

    async def notify(self, notification: Notification) -> None: ...


class ApprovalEscalation(BaseException):
    """Raised through a playbook when an amount is above the top tier; the engine hands the
    conversation to a person. A BaseException so ``except Exception`` in a playbook cannot
    swallow it."""

    def __init__(self, reason: str, priority: Literal["low", "normal", "high", "urgent"]) -> None:
        self.reason = reason
        self.priority = priority
        super().__init__(reason)


def approval_id(conversation_id: str, run_id: str, index: int) -> str:
    """The id of the approval journaled at step ``index`` of a run (stable across replays)."""
    return f"{conversation_id}.{run_id}.{index}"


def parse_approval_id(value: object) -> tuple[str, str, int]:
    """``(conversation_id, run_id, step)`` of an approval id.

    Raises:
        ApprovalNotFound: the value is not an approval id.
    """
    parts = value.split(".") if isinstance(value, str) else []
    if len(parts) != 3 or not all(parts) or not parts[2].isdigit():
        raise ApprovalNotFound(str(value)[:100])
    return parts[0], parts[1], int(parts[2])


def recorded_approval(step: Step) -> Approval:
    """The decided approval of a journal step (raises the escalation it recorded)."""
    if step.status == "error":
        raise ApprovalEscalation(str((step.error or {}).get("reason", step.key)), "normal")
    return load(Approval, step.result)


async def open_approval(
    step: Step,
    conversation: Conversation,
    run: PlaybookRun,
    policy: ApprovalPolicy,
    trace: Callable[[str, dict[str, Any]], None],
) -> None:
    """Route a new approval step: decided at once (an automatic tier or a callback approver),
    escalated (:class:`ApprovalEscalation`, recorded as an ``error`` step), or left
    ``pending`` with the role it needs in ``step.result``."""
    amount, asked_role = step.args.get("amount"), step.args.get("role")
    tier = policy.for_intent(run.intent).route(amount, asked_role)
    role = tier.role if tier is not None else None
    request = ApprovalRequest(
        id=approval_id(conversation.id, run.id, step.index),
        customer_id=conversation.customer_id,
        conversation_id=conversation.id,
        intent=run.intent,
        reason=step.key,
        amount=amount,
        role=role,
        details=dict(step.args.get("details") or {}),
        requested_at=step.at,
    )
    trace(
        "approval_requested",
        {
            "id": request.id,
            "reason": request.reason,
            "amount": request.amount,
            "role": role,
            "route": "escalate" if tier is None else ("automatic" if role is None else "person"),
        },
    )
    if tier is None:
        top = policy.for_intent(request.intent)
        why = f"{request.reason}: {request.amount} is above the top approval tier"
        step.status, step.error = "error", {"reason": why}
        trace("approval_decided", {"id": request.id, "decision": "escalated"})
        raise ApprovalEscalation(why, top.priority)
    decision: bool | None = True
    approver = "policy"
    if role is not None:
        decision = None
        if tier.approver is not None:
            decision = await _ask_callback(tier.approver, request)
            approver = getattr(tier.approver, "__name__", type(tier.approver).__name__)
    if decision is None:
        step.result = {"role": role}
        return
    approval = Approval(
        id=request.id,
        decision="approved" if decision else "declined",
        approver=approver,
        role=None,
        decided_at=time.time(),
        reason=request.reason,
        amount=request.amount,
        automatic=True,
    )
    record_decision(step, approval, trace)


def record_decision(
    step: Step, approval: Approval, trace: Callable[[str, dict[str, Any]], None]
) -> None:
    """Journal ``approval`` as the decision of ``step`` (and trace it)."""
    step.status, step.result = "done", dump(approval)
    step.evidence = {
        "approver": approval.approver,
        "role": approval.role,
        "note": approval.note,
        "at": approval.decided_at,
    }
    trace(
        "approval_decided",
        {
            "id": approval.id,
            "decision": approval.decision,
            "approver": approval.approver,
            "role": approval.role,
            "automatic": approval.automatic,
        },
    )


async def _ask_callback(approver: Approver, request: ApprovalRequest) -> bool | None:
    answer = approver(request)
    if inspect.isawaitable(answer):
        answer = await answer
    if answer is not None and not isinstance(answer, bool):
        raise UserError(f"An approver callback returns True, False or None, not {answer!r}")
    return answer
