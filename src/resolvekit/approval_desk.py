"""Deciding approvals from any process over the same store, listing the pending ones, and
telling the customer: what :meth:`resolvekit.Agent.decide` and
:meth:`resolvekit.Agent.approvals` run."""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from .approvals import Decided, Notification, Notifier, PendingApproval, approval_id
from .approvals import parse_approval_id as _parse
from .engine import Turn, compact
from .engine.approval import check_decision, decide
from .engine.setup import AgentSetup
from .exceptions import ApprovalNotFound, ApprovalStale, UserError
from .results import TurnResult
from .sessions import checkout

__all__ = ["NotifyTarget", "decide_approval", "pending_approvals", "send_notification"]

log = logging.getLogger("resolvekit")

NotifyTarget = Notifier | Callable[[Notification], "Awaitable[None] | None"]
"""Where customers are told decisions: a :class:`~resolvekit.approvals.Notifier` or a plain
callable (sync or async)."""


async def decide_approval(
    agent: AgentSetup,
    approval: str,
    *,
    approve: bool,
    approver: str,
    role: str,
    note: str | None,
    deps: Any,
    deliver: Callable[[TurnResult], Awaitable[None]],
    notify: NotifyTarget | None,
) -> Decided:
    """Decide ``approval`` under its customer's lock, run the playbook on, save, then deliver a
    handoff (``deliver``) and tell the customer (``notify``). A refused decision raises before
    anything is changed; a failed notification loses nothing (see :class:`Decided`)."""
    conversation_id, _, _ = _parse(approval)
    store = agent.store
    found = await store.get(conversation_id)
    if found is None:
        raise ApprovalNotFound(approval)
    async with store.lock(found.customer_id):
        conv = await checkout(store, found.customer_id)
        if conv is None or conv.id != conversation_id:
            closed = await store.get(conversation_id)
            assert closed is not None  # rows are never deleted
            check_decision(closed, approval)  # says why it cannot be decided
            raise ApprovalStale(approval, "the conversation is closed")
        turn = Turn(agent, conv, deps)
        run, decided = decide(
            turn.state, approval, approve=approve, approver=approver, role=role, note=note
        )
        try:
            result = await turn.after_decision(run)
            compact(conv, store)
        finally:
            await store.save(conv)  # the decision is kept whatever the playbook did
    if turn.escalated_now:
        await deliver(result)
    notification = Notification(
        customer_id=conv.customer_id,
        conversation_id=conv.id,
        channel=conv.channel,
        message=result.reply,
        approval=decided,
        outcome=result.outcome,
    )
    error = await send_notification(notify, notification) if notify is not None else "no target"
    return Decided(
        approval=decided,
        result=result,
        notified=error is None,
        notify_error=error if notify is not None else None,
    )


async def send_notification(target: NotifyTarget, notification: Notification) -> str | None:
    """Give ``notification`` to ``target``; the error's text when it failed (logged)."""
    try:
        if isinstance(target, Notifier):
            await target.notify(notification)
        else:
            sent = target(notification)
            if inspect.isawaitable(sent):
                await sent
    except Exception as exc:  # a broken gateway must not lose the decision (already saved)
        log.exception(
            "telling customer %r of approval %s failed",
            notification.customer_id,
            notification.approval.id,
        )
        return f"{type(exc).__name__}: {exc}"
    return None


async def pending_approvals(
    agent: AgentSetup,
    *,
    role: str | None = None,
    customer_id: str | None = None,
    limit: int = 100,
) -> list[PendingApproval]:
    """Approvals waiting for a person, the longest waiting first; with ``role``, only those
    that role may decide."""
    store = agent.store
    finder = getattr(store, "awaiting_approval", None)
    if finder is None:
        raise UserError(f"{type(store).__name__} cannot list pending approvals (awaiting_approval)")
    now = time.time()
    rows: list[PendingApproval] = []
    for conversation_id, customer in await finder(limit):
        if customer_id is not None and customer != customer_id:
            continue
        conv = await store.get(conversation_id)
        pending = conv.pending if conv is not None else None
        if conv is None or pending is None or pending.kind != "approval" or pending.step is None:
            continue  # decided or withdrawn since it was listed
        run = conv.run(pending.run_id)
        if run is None:
            continue
        step = run.journal[pending.step]
        needed = str((step.result or {}).get("role"))
        if role is not None and role not in agent.approval_policy.for_intent(
            run.intent
        ).allowed_roles(needed):
            continue
        rows.append(
            PendingApproval(
                id=approval_id(conv.id, run.id, step.index),
                customer_id=conv.customer_id,
                conversation_id=conv.id,
                intent=run.intent,
                reason=step.key,
                amount=step.args.get("amount"),
                role=needed,
                details=dict(step.args.get("details") or {}),
                requested_at=step.at,
                waiting=max(0.0, now - step.at),
            )
        )
    return rows
