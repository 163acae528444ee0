"""Escalation: when to hand over to a human, and the packet the human receives.

The :class:`EscalationPolicy` is consulted on every turn; a :class:`Handoff` carries the whole
context (intent, slots, every action with its result, the pending action, the transcript, a
summary) so the customer never repeats themselves. It is delivered to one or more
:class:`HandoffTarget`\\ s and carries a resume token a human uses to give the conversation back.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import secrets
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, Field

from .intents import humanize
from .redaction import DEFAULT_REDACTOR, Redactor
from .sessions import FREE_RUN, Conversation

__all__ = [
    "ActionRecord",
    "CallbackTarget",
    "EscalationPolicy",
    "Handoff",
    "HandoffTarget",
    "JSONLQueue",
    "PolicyInput",
    "build_handoff",
    "redact",
    "redact_handoff",
    "summarize",
]

Priority = Literal["low", "normal", "high", "urgent"]


@dataclass(kw_only=True, frozen=True)
class PolicyInput:
    """What the policy sees on each turn."""

    intent: str | None
    confidence: float | None
    clarifications: int
    tool_failures: int
    human_request: bool
    sentiment: float | None
    text: str


@dataclass(kw_only=True)
class EscalationPolicy:
    """When the agent stops trying and hands over to a human."""

    confidence_floor: float = 0.35
    """Below this, an intent decision is not acted on: the agent asks what the customer means."""
    max_clarifications: int = 2
    """Escalate when the agent would ask for clarification more often than this."""
    max_tool_failures: int = 2
    """Escalate when tool calls failed this many times in the conversation."""
    honour_human_request: bool = True
    """Escalate at once when the customer asks for a person."""
    sentiment_floor: float | None = -0.6
    """Escalate when the customer's sentiment drops below this (None: ignore sentiment)."""
    always_human: frozenset[str] = frozenset()
    """Intents that always go to a human (e.g. legal complaints, bereavement)."""
    rule: Callable[[PolicyInput], str | None] | None = None
    """Your own check: return a reason to escalate, or None."""

    def check(self, observed: PolicyInput) -> tuple[str, Priority] | None:
        """Return ``(reason, priority)`` when the conversation should go to a human now."""
        if observed.human_request and self.honour_human_request:
            return "customer asked for a human", "normal"
        if observed.intent is not None and observed.intent in self.always_human:
            return f"intent {observed.intent} always needs a human", "normal"
        if (
            self.sentiment_floor is not None
            and observed.sentiment is not None
            and observed.sentiment < self.sentiment_floor
        ):
            return "customer is upset", "high"
        if observed.tool_failures >= self.max_tool_failures:
            return f"{observed.tool_failures} tool failures", "high"
        if observed.clarifications > self.max_clarifications:
            return "the agent could not understand the request", "normal"
        if self.rule is not None:
            reason = self.rule(observed)
            if reason:
                return reason, "normal"
        return None


class ActionRecord(BaseModel):
    """One tool call the agent made, as the human sees it."""

    tool: str
    args: dict[str, Any]
    status: Literal["done", "error", "started", "pending"]
    result: Any = None
    error: dict[str, Any] | None = None
    effect: str | None = None
    intent: str | None = None


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


@runtime_checkable
class HandoffTarget(Protocol):
    """Where handoffs go (a ticketing system, a queue, a webhook...)."""

    async def deliver(self, handoff: Handoff) -> None: ...


@dataclass
class CallbackTarget:
    """Deliver each handoff to a Python callable (sync or async).

    The packet is the one the agent built: redacted by its policy (see :func:`build_handoff`).
    """

    callback: Callable[[Handoff], Awaitable[None] | None]

    async def deliver(self, handoff: Handoff) -> None:
        result = self.callback(handoff)
        if inspect.isawaitable(result):
            await result


@dataclass
class JSONLQueue:
    """Append each handoff as one JSON line to a file (a simple, durable work queue).

    Packets are redacted again on write, so one built elsewhere (or with ``redactor=None``)
    reaches the file masked too.
    """

    path: Path | str
    redactor: Redactor | None = field(default=DEFAULT_REDACTOR, kw_only=True)
    """The policy applied to each packet before it is written (None: write it as given)."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    async def deliver(self, handoff: Handoff) -> None:
        handoff = redact_handoff(handoff, self.redactor)
        line = json.dumps(handoff.model_dump(mode="json")) + "\n"
        await asyncio.to_thread(self._append, line)

    def _append(self, line: str) -> None:
        path = Path(self.path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, path.open("a", encoding="utf-8") as handle:
            handle.write(line)

    def read(self) -> list[Handoff]:
        """All handoffs in the queue, oldest first."""
        path = Path(self.path)
        if not path.exists():
            return []
        return [
            Handoff.model_validate_json(line)
            for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]


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
