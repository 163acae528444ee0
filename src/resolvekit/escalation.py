"""Escalation policy: when the agent stops trying and hands over to a human.

The :class:`EscalationPolicy` is consulted on every turn. The packet the human receives is in
:mod:`resolvekit.handoffs`; where packets go, in :mod:`resolvekit.delivery`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

__all__ = ["EscalationPolicy", "PolicyInput", "Priority"]

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
