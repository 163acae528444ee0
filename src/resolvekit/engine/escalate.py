"""Handing a conversation to a person, closing it, and the rule that an unknown outcome always
reaches a person."""

from __future__ import annotations

import logging
import time

from ..handoffs import build_handoff, summarize
from ..messages import Reply
from ..models.base import ModelRequest
from ..results import elapsed_ms
from .requests import build_request
from .state import TurnState

__all__ = ["close", "escalate", "report_unknown_outcomes"]

log = logging.getLogger("resolvekit")


async def escalate(
    state: TurnState, reason: str, priority: str = "normal", *, reply: str | None = None
) -> None:
    """Hand the conversation over: the packet (redacted by the agent's policy), the status, the
    resume token; what the customer is told."""
    conv, started = state.conv, time.perf_counter()
    pending = conv.pending
    active = conv.active_run
    if active is not None:
        active.status = "escalated"
    run = active or state.current_run
    handoff = build_handoff(
        conv,
        reason=reason,
        priority=priority,
        confidence=state.confidence,
        intent=run.intent if run else state.intent,
        slots=dict(run.slots) if run else {},
        pending_action=pending.question if pending else None,
        error=f"{type(state.error).__name__}: {state.error}" if state.error else None,
        summary=await _model_summary(state, reason),
        redactor=state.agent.redaction,
    )
    conv.status = "handed_off"
    conv.handoff = handoff.model_dump(mode="json")
    conv.resume_token = handoff.resume_token
    conv.pending = None
    state.handoff = handoff
    state.escalated_now = True
    state.outcome = "escalated"
    state.note("escalation", reason=reason, priority=priority, ms=elapsed_ms(started))
    state.say(reply or state.agent.phrases.handoff)


async def report_unknown_outcomes(state: TurnState) -> bool:
    """A write whose outcome is unknown (interrupted, or timed out) goes to a human, whatever
    the playbook or the model did with the error: nobody may retry it blindly.

    Returns:
        True when the conversation is now with a human.
    """
    if state.conv.status == "handed_off" or not state.unknown:
        return state.conv.status == "handed_off"
    tools = ", ".join(sorted(set(state.unknown)))
    await escalate(
        state,
        f"the outcome of {tools} is unknown after an interruption; check the system "
        "before doing it again",
        "high",
    )
    return True


def close(state: TurnState) -> None:
    """The customer said goodbye: cancel what is open and keep a summary for next time."""
    conv = state.conv
    for run in conv.runs:
        if run.active or run.status == "suspended":
            run.status = "cancelled"
    conv.pending = None
    conv.status = "closed"
    conv.summary = summarize(conv)


async def _model_summary(state: TurnState, reason: str) -> str | None:
    """A handoff summary written by the model, when it is an LLM that can (else None)."""
    from ..exceptions import ModelError

    model = state.agent.model
    if "summarize" not in model.capabilities or isinstance(state.error, ModelError):
        return None
    request: ModelRequest = build_request(
        state.agent,
        state.conv,
        task="summarize",
        allowed=frozenset({"reply"}),
        pending=None,
        retry_error=None,
    )
    try:
        response = await model.request(request)
    except Exception as exc:  # a summary is a courtesy: the handoff goes out without it
        state.note("model", task="summarize", error=f"{type(exc).__name__}: {exc}")
        return None
    state.usage.add(response.usage)
    if not isinstance(response.decision, Reply) or not response.decision.text.strip():
        return None
    return f"{response.decision.text.strip()} Handed over because: {reason}."
