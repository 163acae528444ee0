"""The handoff packet: everything a human needs to take over without asking the customer again.

A :class:`Handoff` carries the whole context (intent, slots, every action with its result, the
pending action, the transcript, a summary) and a resume token a human uses to give the
conversation back. :func:`build_handoff` makes one from a conversation, redacted by a
:class:`~resolvekit.redaction.Redactor`.
"""

from __future__ import annotations

import secrets
import time
from typing import Any, Literal

from pydantic import BaseModel, Field

from .intents import humanize
from .redaction import DEFAULT_REDACTOR, Redactor
from .sessions.conversation import FREE_RUN, Conversation

__all__ = ["ActionRecord", "Handoff", "build_handoff", "redact", "redact_handoff", "summarize"]

Priority = Literal["low", "normal", "high", "urgent"]


class ActionRecord(BaseModel):
    """One tool call the agent made, as the human sees it."""

    tool: str
    args: dict[str, Any]
    status: Literal["done", "error", "started", "pending"]
    result: Any = None
    error: dict[str, Any] | None = None
    effect: str | None = None
    intent: str | None = None
    human: str | None = None
    """The human agent who ran it from the console (``resolvekit console``); None: the agent."""


class Handoff(BaseModel):
    """Everything a human needs to take over without asking the customer again.

    ``Handoff.model_json_schema()`` gives the packet's JSON Schema for ticketing integrations.
    """

    conversation_id: str
    customer_id: str
    channel: str
    reason: str
    priority: Priority = "normal"
    confidence: float | None = None
    intent: str | None = None
    slots: dict[str, Any] = Field(default_factory=dict)
    facts: dict[str, Any] = Field(default_factory=dict)
    actions: list[ActionRecord] = Field(default_factory=list)
    """Every tool call in this conversation with its result, oldest first."""
    pending_action: str | None = None
    """What the agent was waiting on when it handed over."""
    knowledge: list[str] = Field(default_factory=list)
    """Knowledge queries consulted."""
    transcript: list[dict[str, Any]] = Field(default_factory=list)
    """The customer's and the agent's messages, ``{"role", "text", "channel", "at"}``, oldest
    first (tool output is never included)."""
    summary: str = ""
    suggested_next_step: str = ""
    error: str | None = None
    """The engine error behind the handoff, if any (e.g. a replay divergence)."""
    resume_token: str
    created_at: float = Field(default_factory=time.time)


_HANDOFF_IDS = frozenset(
    {"conversation_id", "customer_id", "channel", "priority", "confidence", "intent"}
    | {"resume_token", "created_at"}
)
"""Handoff fields kept as they are: identifiers and labels a human or a system looks up by."""


def redact(text: str) -> str:
    """``text`` masked by :data:`~resolvekit.redaction.DEFAULT_REDACTOR` (kept for
    compatibility; use :meth:`Redactor.redact_text <resolvekit.redaction.Redactor.redact_text>`)."""
    return DEFAULT_REDACTOR.redact_text(text)


def redact_handoff(handoff: Handoff, redactor: Redactor | None = DEFAULT_REDACTOR) -> Handoff:
    """A copy of ``handoff`` with every field but its identifiers redacted by ``redactor``.

    Redacted: the transcript, slots, facts, actions (arguments, results, errors), reason,
    pending action, knowledge queries, summary, suggested next step, error, and any field added
    later. Kept: ``conversation_id``, ``customer_id``, ``channel``, ``priority``, ``confidence``,
    ``intent``, ``resume_token`` and ``created_at``. ``redactor=None`` returns ``handoff`` itself.
    """
    if redactor is None:
        return handoff
    data = handoff.model_dump()
    for key, value in data.items():
        if key not in _HANDOFF_IDS:
            data[key] = redactor.redact_value(value)
    return Handoff.model_validate(data)


def build_handoff(
    conv: Conversation,
    *,
    reason: str,
    priority: Any,
    confidence: float | None,
    intent: str | None,
    slots: dict[str, Any],
    pending_action: str | None,
    error: str | None,
    summary: str | None = None,
    redactor: Redactor | None = DEFAULT_REDACTOR,
) -> Handoff:
    """The packet a human receives: everything so the customer never repeats themselves.

    Args:
        conv: the conversation handed over.
        reason: why it is handed over.
        priority: ``low``, ``normal``, ``high`` or ``urgent``.
        confidence: the model's confidence in the last decision.
        intent: the intent being worked on.
        slots: its slot values.
        pending_action: the question the agent was waiting on.
        error: the engine error behind the handoff.
        summary: a summary written by the model (default: :func:`summarize`).
        redactor: the policy applied to every field but the identifiers (see
            :func:`redact_handoff`); ``None`` builds a raw packet (opt-out: then nothing masks
            what a :class:`CallbackTarget` or your code receives).
    """
    actions = [
        ActionRecord(
            tool=step.key,
            args=step.args,
            status=step.status,
            result=step.result,
            error=step.error,
            effect=step.effect,
            intent=None if run.intent == FREE_RUN else run.intent,
            human=step.human.get("name") if step.human else None,
        )
        for run in conv.runs
        for step in run.journal
        if step.kind == "call"
    ]
    knowledge = [s.key for run in conv.runs for s in run.journal if s.kind == "search"]
    transcript = [
        {"role": m.role, "text": m.text, "channel": m.channel, "at": m.at}
        for m in conv.transcript
        if m.role != "tool"
    ]
    done = [a for a in actions if a.status == "done" and a.effect == "write"]
    summary = summary or summarize(conv) + f" Handed over because: {reason}."
    if pending_action:
        next_step = f"The agent was waiting for the customer's answer to: {pending_action!r}."
    elif done:
        next_step = "Check the completed changes above and follow up on the reason for handoff."
    else:
        next_step = "No change was made; take the request from the summary above."
    handoff = Handoff(
        conversation_id=conv.id,
        customer_id=conv.customer_id,
        channel=conv.channel,
        reason=reason,
        priority=priority,
        confidence=confidence,
        intent=intent,
        slots=slots,
        facts=dict(conv.facts),
        actions=actions,
        pending_action=pending_action,
        knowledge=knowledge,
        transcript=transcript,
        summary=summary,
        suggested_next_step=next_step,
        error=error,
        resume_token=secrets.token_urlsafe(16),
    )
    return redact_handoff(handoff, redactor)


def summarize(conv: Conversation) -> str:
    """A deterministic one-paragraph summary of what the customer wanted and what was done."""
    parts = []
    for run in conv.runs:
        if run.intent == FREE_RUN:
            calls = [s.key for s in run.journal if s.kind == "call"]
            if calls:
                parts.append(f"tools used directly: {', '.join(calls)}")
            continue
        slots = ", ".join(f"{k}={v}" for k, v in run.slots.items())
        line = f"{humanize(run.intent)} ({slots})" if slots else humanize(run.intent)
        line += f": {run.status}"
        if run.summary:
            line += f" - {run.summary}"
        parts.append(line)
    customer_lines = sum(1 for m in conv.transcript if m.role == "customer")
    head = f"Customer {conv.customer_id} on {conv.channel}, {customer_lines} message(s)."
    return head + (" " + "; ".join(parts) + "." if parts else " No request identified.")
