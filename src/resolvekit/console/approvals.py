"""The approvals pane: approvals waiting for a person (``ctx.approve``), with approve and
decline buttons for a human whose role may decide them (:meth:`Agent.decide`).

A human agent's role comes from the console's ``roles`` (name -> role, given to
:func:`~resolvekit.console.create_app` or ``resolvekit console --role NAME=ROLE``). A human
with a role sees the approvals that role may decide; one without sees every pending approval,
without buttons.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

from ..approvals import PendingApproval
from ..exceptions import ApprovalError, ApprovalNotFound, ApprovalRoleNotAllowed
from .errors import ConsoleRefusal

if TYPE_CHECKING:
    from ..agent import Agent

__all__ = ["approvals_section", "decide", "pending"]


async def pending(
    agent: Agent[Any], role: str | None, customer_id: str | None = None
) -> list[PendingApproval]:
    """The approvals to show: those ``role`` may decide (every one without a role)."""
    return await agent.approvals(role=role, customer_id=customer_id)


async def decide(
    agent: Agent[Any],
    approval_id: str,
    *,
    decision: str,
    human: str,
    role: str | None,
    note: str | None,
) -> str:
    """Decide an approval as ``human`` with their ``role``; returns what happened, in words.

    Raises:
        ConsoleRefusal: no role, an unknown decision or approval, or a role that may not
            decide it; a second decision of the same approval (a double click) is not an error
            but says who decided first.
    """
    if decision not in ("approve", "decline"):
        raise ConsoleRefusal("invalid", f"Unknown decision {decision!r}")
    if not role:
        raise ConsoleRefusal("invalid", f"{human} has no approval role")
    try:
        decided = await agent.decide(
            approval_id, approve=decision == "approve", approver=human, role=role, note=note
        )
    except ApprovalNotFound as exc:
        raise ConsoleRefusal("not_found", str(exc)) from None
    except ApprovalRoleNotAllowed as exc:
        raise ConsoleRefusal("invalid", str(exc)) from None
    except ApprovalError as exc:  # decided already, or stale: nothing was done
        return str(exc)
    told = "" if decided.notified else f" (customer not notified: {decided.notify_error})"
    return f"Approval {approval_id} {decided.approval.decision} by {human}{told}."


def approvals_section(items: list[PendingApproval], *, role: str | None, csrf: str) -> str:
    """The pane's HTML (every value escaped)."""
    if not items:
        body = "<p id='approvals-empty'>No approvals waiting.</p>"
    else:
        rows = "".join(_row(a, role, csrf) for a in items)
        body = (
            "<table id='approvals'><tr><th>Customer</th><th>Request</th><th>Amount</th>"
            f"<th>Needs</th><th>Waiting</th><th></th></tr>{rows}</table>"
        )
    who = f"your role: {escape(role)}" if role else "you have no approval role: read only"
    head = f"<h2>Pending approvals <small>({who})</small></h2>"
    return f"<section id='approvals-pane'>{head}{body}</section>"


def _row(approval: PendingApproval, role: str | None, csrf: str) -> str:
    aid = escape(approval.id)
    amount = "-" if approval.amount is None else f"{approval.amount:g}"
    buttons = ""
    if role:
        buttons = (
            f"<form method='post' action='/approvals/{aid}'>"
            f"<input type='hidden' name='csrf' value='{escape(csrf)}'>"
            "<input name='note' placeholder='note' maxlength='300'> "
            "<button type='submit' name='decision' value='approve'>Approve</button> "
            "<button type='submit' name='decision' value='decline'>Decline</button></form>"
        )
    minutes = int(approval.waiting // 60)
    return (
        f"<tr data-approval='{aid}'><td><a href='/c/{escape(approval.conversation_id)}'>"
        f"{escape(approval.customer_id)}</a></td><td>{escape(approval.reason)}</td>"
        f"<td>{escape(amount)}</td><td>{escape(approval.role or '-')}</td>"
        f"<td>{minutes}m</td><td>{buttons}</td></tr>"
    )
