"""Approvals in a turn: what a customer's message does while their request waits for a
person's approval, and applying a person's decision (checked first, so a refused decision
changes nothing).

While an approval is pending the playbook does not run. A customer's message:

- withdraws the request when it says so ("cancel", "never mind"): the run is cancelled and the
  approval becomes stale (deciding it raises :class:`~resolvekit.exceptions.ApprovalStale`);
- asking for a person hands the conversation over (the approval becomes stale too);
- a question the knowledge source answers is answered;
- another request is queued, offered once the approval is decided;
- anything else is told the request is still waiting (``Phrases.approval_waiting``).
"""

from __future__ import annotations

import re
import time
from typing import Any

from .._json import load
from ..approvals import Approval, approval_id, parse_approval_id, record_decision
from ..exceptions import (
    ApprovalAlreadyDecided,
    ApprovalNotFound,
    ApprovalRoleNotAllowed,
    ApprovalStale,
    UserError,
)
from ..messages import AnswerFromKnowledge, Escalate, StartIntent
from ..sessions import Conversation, PlaybookRun, Step
from ..specs import DecisionKind
from .clarify import answer
from .escalate import escalate
from .execute import offer_resume
from .requests import build_request
from .slots import queue
from .state import TurnState

__all__ = ["check_decision", "decide", "while_pending"]

_WITHDRAW = re.compile(
    r"^\s*(?:ok(?:ay)?[,.]?\s+)?(?:please\s+)?(?:"
    r"(?:cancel|withdraw|drop|forget)(?:\s+(?:it|that|this|the request|my request|the refund|"
    r"the exchange|the return))?|never\s*mind|don'?t bother)"
    r"(?:\s*,?\s*(?:please|thanks))?\s*[.!]*\s*$",
    re.IGNORECASE,
)
"""A message that withdraws the request waiting for approval (and says nothing else)."""

_WHILE_WAITING: frozenset[DecisionKind] = frozenset(
    {"start_intent", "answer_from_knowledge", "ask_clarification", "escalate", "reply"}
)


async def while_pending(state: TurnState) -> bool:
    """Handle the customer's message when the conversation waits for an approval.

    Returns:
        False when no approval is pending (the turn goes on as usual).
    """
    conv, agent = state.conv, state.agent
    pending = conv.pending
    if pending is None or pending.kind != "approval":
        return False
    run = conv.run(pending.run_id)
    if run is None or pending.step is None:
        return False
    step = run.journal[pending.step]
    state.intent, state.current_run = run.intent, run
    phrases = agent.phrases
    if _WITHDRAW.match(state.text):
        run.status = "cancelled"
        conv.pending = None
        agent.parked.drop(conv.id, run.id)
        state.note("approval_withdrawn", id=approval_id(conv.id, run.id, step.index))
        state.say(phrases.approval_withdrawn)
        state.outcome = "replied"
        offer_resume(state)
        return True
    request = build_request(
        agent, conv, allowed=_WHILE_WAITING, pending=None, active_intent=None, slots={}
    )
    response = await agent.model.request(request)
    state.usage.add(response.usage)
    decision = response.decision
    state.note("model", decision=decision.model_dump(), while_waiting="approval")
    if response.signals.human_request or isinstance(decision, Escalate):
        reason = decision.reason if isinstance(decision, Escalate) else "the customer asked"
        await escalate(state, f"{reason} (while an approval was pending: {step.key})")
        return True
    knowledge = isinstance(decision, AnswerFromKnowledge) and agent.has_knowledge
    if knowledge and await answer(state, getattr(decision, "query", ""), clarify_if_not=False):
        state.outcome = "answered"
        return True
    if isinstance(decision, StartIntent) and decision.intent != run.intent:
        queue(state, [decision])  # offered once the approval is decided
    role = (step.result or {}).get("role")
    state.say(phrases.approval_waiting.format(role=role, reason=step.key))
    state.outcome = "replied"
    return True


def check_decision(conv: Conversation, approval: str) -> tuple[PlaybookRun, Step]:
    """The run and pending step ``approval`` names in ``conv``, if it can be decided now.

    Raises:
        ApprovalNotFound, ApprovalAlreadyDecided, ApprovalStale: as their names say; nothing is
            changed.
    """
    conversation_id, run_id, index = parse_approval_id(approval)
    run = conv.run(run_id) if conv.id == conversation_id else None
    step = run.journal[index] if run is not None and 0 <= index < len(run.journal) else None
    if run is None or step is None or step.kind != "approve":
        raise ApprovalNotFound(approval)
    if step.status == "done":
        first = load(Approval, step.result)
        raise ApprovalAlreadyDecided(approval, first.decision, first.approver)
    if step.status == "error":
        raise ApprovalStale(approval, "it was above the top tier and went to a person")
    pending = conv.pending
    waiting = (
        pending is not None
        and pending.kind == "approval"
        and pending.run_id == run.id
        and pending.step == index
    )
    if not waiting or run.status != "waiting" or conv.status != "open":
        raise ApprovalStale(approval, _why_stale(conv, run))
    return run, step


def _why_stale(conv: Conversation, run: PlaybookRun) -> str:
    if run.status == "cancelled":
        return "the customer withdrew the request"
    if conv.status == "handed_off":
        return "the conversation was handed to a person"
    if conv.status == "closed":
        return "the conversation is closed"
    return f"the conversation moved on (the request is {run.status})"


def decide(
    state: TurnState,
    approval: str,
    *,
    approve: bool,
    approver: str,
    role: str,
    note: str | None,
) -> tuple[PlaybookRun, Approval]:
    """Record a person's decision on ``approval`` in ``state``'s conversation (the playbook is
    then run on by the caller).

    Raises:
        UserError: ``approve`` is not a bool, or ``approver`` is not a non-empty name.
        ApprovalNotFound, ApprovalAlreadyDecided, ApprovalStale, ApprovalRoleNotAllowed:
            nothing is changed.
    """
    if not isinstance(approve, bool):
        raise UserError(f"approve must be True or False, not {approve!r}"[:200])
    if not isinstance(approver, str) or not approver.strip():
        raise UserError(f"approver must be a non-empty name, not {approver!r}"[:200])
    conv = state.conv
    run, step = check_decision(conv, approval)
    needed = str((step.result or {}).get("role"))
    allowed = state.agent.approval_policy.for_intent(run.intent).allowed_roles(needed)
    if role not in allowed:
        raise ApprovalRoleNotAllowed(approval, role, allowed)
    decided = Approval(
        id=approval,
        decision="approved" if approve else "declined",
        approver=approver.strip(),
        role=role,
        note=note,
        decided_at=time.time(),
        reason=step.key,
        amount=step.args.get("amount"),
    )
    record_decision(step, decided, _tracer(state))
    conv.pending = None
    return run, decided


def _tracer(state: TurnState) -> Any:
    def trace(kind: str, data: dict[str, Any]) -> None:
        state.note(kind, **data)

    return trace
