"""What a turn returns: :class:`TurnResult` with its :class:`TraceEvent` trace."""

from __future__ import annotations

import dataclasses
import time
from typing import Any, Literal

from .escalation import Handoff
from .messages import Citation, Usage

__all__ = ["Outcome", "TraceEvent", "TurnResult"]

Outcome = Literal["resolved", "answered", "awaiting_customer", "escalated", "refused", "replied"]
"""How a turn ended: ``resolved`` (a playbook met the need), ``answered`` (from knowledge),
``awaiting_customer`` (a question is pending), ``escalated`` (a human has it), ``refused``
(declined by policy, nothing changed) or ``replied`` (small talk, free-mode answers)."""


@dataclasses.dataclass(kw_only=True)
class TraceEvent:
    """One step of a turn, for debugging, audits and evals."""

    kind: str
    """``model``, ``invalid_decision``, ``slot``, ``tool``, ``ask``, ``confirm``, ``playbook``,
    ``knowledge``, ``rewind``, ``escalation``..."""
    data: dict[str, Any]
    at: float = dataclasses.field(default_factory=time.time)


@dataclasses.dataclass(kw_only=True)
class TurnResult:
    """What :meth:`Agent.handle` returns for one customer message."""

    reply: str
    """What to send the customer."""
    outcome: Outcome
    confidence: float | None
    """The model's confidence in this turn's decision, if it reported one."""
    handoff: Handoff | None
    """The handoff packet when the conversation is (now) with a human."""
    trace: list[TraceEvent]
    conversation_id: str
    intent: str | None = None
    """The intent the turn worked on."""
    slots: dict[str, Any] = dataclasses.field(default_factory=dict)
    citations: list[Citation] = dataclasses.field(default_factory=list)
    pending: str | None = None
    """What the agent waits for: ``slot``, ``ask``, ``confirm``, ``tool_confirm`` or ``resume``."""
    question_id: str | None = None
    """The id of the open question, if any: send it back as ``handle(reply_to=...)`` with the
    answer (a confirmation button) so an answer is never applied to a different question."""
    usage: Usage = dataclasses.field(default_factory=Usage)
    error: BaseException | None = None
    """The engine error behind an escalation (a replay divergence, a crashed playbook...)."""
    duplicate: bool = False
    """True when the ``message_id`` was handled before: this is the stored result (without its
    trace) and nothing ran again."""
