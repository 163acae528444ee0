"""The model's request for this moment of the conversation, and whether its decision can be
executed now."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, assert_never

from ..exceptions import ToolError
from ..intents import spec_from_schema
from ..messages import (
    AnswerFromKnowledge,
    AskClarification,
    CallTool,
    Confirm,
    Escalate,
    FillSlots,
    Reply,
    StartIntent,
)
from ..models.base import ModelRequest, ModelResponse
from ..sessions import Conversation, PendingState
from ..specs import DecisionKind, Pending, SlotSpec

if TYPE_CHECKING:
    from .setup import AgentSetup

__all__ = ["build_request", "invalid_decision", "pending_spec"]

_OPEN: frozenset[DecisionKind] = frozenset(
    {"start_intent", "answer_from_knowledge", "ask_clarification", "escalate", "reply"}
)
_WAITING_VALUE: frozenset[DecisionKind] = _OPEN | frozenset({"fill_slots"})
_WAITING_YES_NO: frozenset[DecisionKind] = _WAITING_VALUE | frozenset({"confirm"})
_FREE: frozenset[DecisionKind] = frozenset({"call_tool"})


def build_request(agent: AgentSetup, conv: Conversation, **changes: Any) -> ModelRequest:
    """The model request for this moment of the conversation (``changes`` override fields)."""
    pending = conv.pending
    allowed = _OPEN
    model_pending: Pending | None = None
    run = conv.active_run
    kind = pending.kind if pending is not None else None
    if pending is not None and kind is not None and kind != "approval":  # a person decides those
        allowed = _WAITING_VALUE if kind in ("slot", "ask") else _WAITING_YES_NO
        owner = run or conv.run(pending.run_id)  # a "resume" question's run is suspended
        model_pending = Pending(
            kind="confirm" if kind == "tool_confirm" else kind,
            question=pending.question,
            slot=pending_spec(agent, conv, pending),
            intent=owner.intent if owner else None,
        )
    elif run is not None:
        allowed = _WAITING_VALUE
    if agent.free_mode and agent.tools:
        allowed = allowed | _FREE
    request = ModelRequest(
        task="turn",
        allowed=allowed,
        messages=list(conv.transcript),
        instructions=agent.instructions,
        intents=agent.intent_specs,
        tools=[t.spec() for t in agent.tools.values()] if agent.free_mode else [],
        active_intent=run.intent if run else None,
        slots=dict(run.slots) if run else {},
        known=dict(conv.facts),
        pending=model_pending,
        history=list(conv.history),
        offered=list(conv.offered),
        recent_intent=(
            # A refusal often came from a wrong value ("no account uses lena@brightlab.io"), so
            # "sorry, it's lena@brightlabs.io" corrects a refused request as well.
            next(
                (r.intent for r in reversed(conv.runs) if r.status in ("resolved", "refused")),
                None,
            )
            if run is None
            else None
        ),
    )
    return dataclasses.replace(request, **changes) if changes else request


def pending_spec(agent: AgentSetup, conv: Conversation, pending: PendingState) -> SlotSpec | None:
    """What the pending question wants, as a slot spec for the model."""
    if pending.kind == "slot":
        run = conv.run(pending.run_id)
        if run is not None and pending.slot:
            return agent.intent_spec(run.intent).slot(pending.slot)
    if pending.kind == "ask":
        run = conv.run(pending.run_id)
        if run is not None and pending.step is not None:
            step = run.journal[pending.step]
            return spec_from_schema(step.args["name"], step.args["schema"], step.key)
    if pending.kind == "resume":
        # "Shall we go back to ...?" may be answered with what that request still needs.
        run = conv.run(pending.run_id)
        if run is not None:
            missing = [s for s in agent.intents[run.intent].required_slots() if s not in run.slots]
            if missing:
                return agent.intent_spec(run.intent).slot(missing[0])
    return None


def invalid_decision(
    agent: AgentSetup, conv: Conversation, response: ModelResponse, request: ModelRequest
) -> str | None:
    """Why the model's decision cannot be executed now, or None when it can."""
    decision = response.decision
    if decision.kind not in request.allowed:
        return (
            f"decision {decision.kind!r} is not allowed now; "
            f"choose one of {sorted(request.allowed)}"
        )
    run, pending = conv.active_run, conv.pending
    match decision:
        case StartIntent() | AnswerFromKnowledge(otherwise=StartIntent()):
            start = decision if isinstance(decision, StartIntent) else decision.otherwise
            assert isinstance(start, StartIntent)  # the pattern above guarantees it
            for asked in (start, *start.then):
                if asked.intent not in agent.intents:
                    return (
                        f"unknown intent {asked.intent!r}; known intents: {sorted(agent.intents)}"
                    )
                unknown = set(asked.slots) - set(agent.intents[asked.intent].model_fields)
                if unknown:
                    return f"intent {asked.intent!r} has no slots {sorted(unknown)}"
        case AnswerFromKnowledge(otherwise=FillSlots() as fill):
            return invalid_decision(
                agent, conv, dataclasses.replace(response, decision=fill), request
            )
        case FillSlots(slots=slots):
            resuming = pending is not None and pending.kind == "resume"
            owner = run or (conv.run(pending.run_id) if pending and resuming else None)
            names = set(agent.intents[owner.intent].model_fields) if owner else set()
            if pending is not None and pending.kind == "ask" and pending.slot:
                names.add(pending.slot)
            if not slots or set(slots) - names:
                return f"fill_slots must give values for {sorted(names)}, got {sorted(slots)}"
        case Confirm():
            if pending is None or pending.kind not in ("confirm", "tool_confirm", "resume"):
                return "no yes/no question is pending"
        case CallTool(tool=name, args=args):
            tool = agent.tools.get(name)
            if tool is None:
                return f"unknown tool {name!r}; tools: {sorted(agent.tools)}"
            try:
                tool.validate_args(args)
            except ToolError as exc:
                return exc.message
        case AnswerFromKnowledge() | AskClarification() | Escalate() | Reply():
            pass
        case _:
            assert_never(decision)
    return None
