"""What a turn returns: :class:`TurnResult` with its :class:`TraceEvent` trace."""

from __future__ import annotations

import dataclasses
import time
from typing import Any, Literal

from .handoffs import Handoff, redact_handoff
from .messages import Citation, Usage
from .redaction import DEFAULT_REDACTOR, Redactor

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
    """What :meth:`Agent.handle` returns for one customer message.

    The object holds raw data: ``trace``, ``slots`` and ``error`` are what the engine saw, for
    your code to act on. What you log, store or ship is :meth:`export`, which is redacted.
    """

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
    """What the agent waits for: ``slot``, ``ask``, ``confirm``, ``tool_confirm``, ``resume``, or
    ``approval`` (a person's decision: ``Agent.decide``)."""
    question_id: str | None = None
    """The id of the open question, if any: send it back as ``handle(reply_to=...)`` with the
    answer (a confirmation button) so an answer is never applied to a different question."""
    options: list[str] = dataclasses.field(default_factory=list)
    """Quick replies for the open question: ``["yes", "no"]`` for a confirmation, the choices
    of a slot or question that has them; empty when the answer is free text."""
    usage: Usage = dataclasses.field(default_factory=Usage)
    error: BaseException | None = None
    """The engine error behind an escalation (a replay divergence, a crashed playbook...)."""
    duplicate: bool = False
    """True when the ``message_id`` was handled before: this is the stored result (without its
    trace) and nothing ran again."""

    def export(self, redactor: Redactor | None = DEFAULT_REDACTOR) -> dict[str, Any]:
        """The result as JSON-ready data, redacted: what to log or ship.

        Every field is included (``reply``, ``outcome``, ``confidence``, ``handoff``, ``trace``
        as ``{"kind", "data", "at"}`` events, ``intent``, ``slots``, ``citations``,
        ``pending``, ``usage``, ``error`` as ``"Type: message"`` text...). Everything but
        ``conversation_id`` and the handoff's identifiers goes through ``redactor``.

        Args:
            redactor: the policy (default: :data:`~resolvekit.redaction.DEFAULT_REDACTOR`);
                None exports raw data.
        """
        out: dict[str, Any] = {}
        for spec in dataclasses.fields(self):
            value = getattr(self, spec.name)
            if spec.name == "conversation_id":
                out[spec.name] = value
            elif isinstance(value, Handoff):
                out[spec.name] = redact_handoff(value, redactor).model_dump(mode="json")
            else:
                data = _to_json(value)
                out[spec.name] = data if redactor is None else redactor.redact_value(data)
        return out


def _to_json(value: Any) -> Any:
    """Plain JSON data for a result field (exceptions as ``"Type: message"``)."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, BaseException):
        return f"{type(value).__name__}: {value}"
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if hasattr(value, "to_json"):
        return _to_json(value.to_json())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_to_json(v) for v in value]
    return str(value)
