"""``GET /v1/customers/{customer_id}/trace`` with any number of workers.

The process that ran a turn keeps its full trace in memory (``Turns.traces``: model decisions,
slots, timings). Behind several workers the request may reach another process: then the trace
is rendered from what the store keeps of the open conversation — its transcript and the
journals of its playbook runs (tool calls with their status, answers, confirmations with their
evidence, approvals) and its handoff — grouped by the customer message that led to each part.
Either way it is redacted with the agent's policy and says where it came from (``source``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..sessions import FREE_RUN
from .errors import ApiError

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from ..sessions import Conversation, PlaybookRun, Step
    from .auth import Gate
    from .config import ServedAgent
    from .turns import Turns

__all__ = ["SOURCES", "TraceRoute", "stored_turns"]

SOURCES = ("auto", "process", "store")
"""``?source=``: ``auto`` (this process's memory when it ran the customer's latest turn, else
the store), or only one of them."""

_EVENT = {
    "call": "tool",
    "ask": "ask",
    "confirm": "confirm",
    "approve": "approval",
    "search": "knowledge",
    "say": "say",
    "remember": "remember",
    "verify": "verify",
    "check": "check",
}
"""The trace event kind of each journal step kind."""


class TraceRoute:
    """Answers ``GET .../trace`` from this process's memory or from the store."""

    def __init__(self, agent: ServedAgent, gate: Gate, turns: Turns) -> None:
        self.agent = agent
        self.gate = gate
        self.turns = turns

    async def trace(self, request: Request) -> Response:
        """The customer's recent turns' traces, redacted, with their ``source``."""
        from starlette.responses import JSONResponse

        customer_id = await self.gate.customer(request)
        source = request.query_params.get("source") or "auto"
        if source not in SOURCES:
            raise ApiError(422, "invalid_request", f"source is one of {', '.join(SOURCES)}")
        kept = self.turns.traces(customer_id) if source != "store" else None
        if source == "process":
            if kept is None:
                raise ApiError(404, "no_trace", "no recent turn of this customer in this process")
            return JSONResponse({"customer_id": customer_id, "source": "process", "turns": kept})
        conversation = await self.agent.store.open_conversation(customer_id)
        if kept and (conversation is None or self._ran_latest(conversation)):
            return JSONResponse({"customer_id": customer_id, "source": "process", "turns": kept})
        if conversation is None:
            raise ApiError(404, "no_trace", "this customer has no open conversation")
        turns = stored_turns(conversation)
        redactor = self.agent.redaction
        if redactor is not None:  # the events, as the process's traces (the ids stay plain)
            turns = [{**turn, "trace": redactor.redact_value(turn["trace"])} for turn in turns]
        return JSONResponse(
            {
                "customer_id": customer_id,
                "source": "store",
                "conversation_id": conversation.id,
                "turns": turns,
            }
        )

    def _ran_latest(self, conversation: Conversation) -> bool:
        """Whether this process ran the conversation's latest customer turn."""
        said = [line for line in conversation.transcript if line.role == "customer"]
        if not said:
            return True
        return self.turns.ran(conversation.customer_id, said[-1].message_id, said[-1].at)


def stored_turns(conversation: Conversation) -> list[dict[str, Any]]:
    """What the store keeps of ``conversation`` as turns of trace events, oldest first
    (before redaction): ``{"message_id", "at", "trace": [{"kind", "data", "at"}]}``, a turn
    per customer message (lines written before the first one, or by no turn, go with the
    message before them)."""
    events = [*_line_events(conversation), *_run_events(conversation)]
    if conversation.handoff:
        handoff = conversation.handoff
        data: dict[str, Any] = {
            k: handoff[k] for k in ("reason", "priority", "intent") if k in handoff
        }
        events.append(_event("escalation", data, float(handoff.get("created_at") or 0)))
    events.sort(key=lambda e: e["at"])
    turns: list[dict[str, Any]] = []
    for event in events:
        data = event["data"]
        opener = event["kind"] == "message" and data["role"] == "customer"
        if opener or not turns:
            turns.append(
                {
                    "message_id": data.get("message_id") if opener else None,
                    "at": event["at"],
                    "trace": [],
                }
            )
        turns[-1]["trace"].append(event)
    return turns


def _event(kind: str, data: dict[str, Any], at: float) -> dict[str, Any]:
    return {"kind": kind, "data": data, "at": at}


def _line_events(conversation: Conversation) -> list[dict[str, Any]]:
    events = []
    for line in conversation.transcript:
        if line.role == "tool":  # a free-mode call: its journal step says it
            continue
        data: dict[str, Any] = {"role": line.role, "text": line.text, "channel": line.channel}
        if line.message_id:
            data["message_id"] = line.message_id
        if line.author:
            data["author"] = line.author
        events.append(_event("message", data, line.at))
    return events


def _run_events(conversation: Conversation) -> list[dict[str, Any]]:
    events = []
    for run in conversation.runs:
        playbook = run.intent != FREE_RUN
        if playbook:
            start = {"event": "start", "intent": run.intent, "run": run.id}
            events.append(_event("playbook", start, run.started_at))
        steps = [(step, True) for step in run.superseded] + [(s, False) for s in run.journal]
        for step, superseded in steps:
            events.append(_step_event(run, step, superseded))
        if playbook and not run.active:
            end_at = max([run.started_at, *(step.at for step in run.journal)])
            end = {"event": run.status, "intent": run.intent, "run": run.id}
            if run.summary:
                end["summary"] = run.summary
            events.append(_event("playbook", end, end_at))
    return events


def _step_event(run: PlaybookRun, step: Step, superseded: bool) -> dict[str, Any]:
    data: dict[str, Any] = {"run": run.id, "step": step.index, "status": step.status}
    if run.intent != FREE_RUN:
        data["intent"] = run.intent
    match step.kind:
        case "call":
            data.update(tool=step.key, args=step.args, effect=step.effect)
            if step.human:
                data["human"] = step.human.get("name")
        case "ask" | "confirm":
            data["question"] = step.key
        case "approve":
            data["reason"] = step.key
        case "search":
            data["query"] = step.key
        case _:
            data["key"] = step.key
    if step.kind != "verify" and step.status in ("done", "pending"):
        data["result"] = step.result  # a verified identity stays out
    if step.error is not None:
        data["error"] = step.error
    if step.evidence is not None:
        data["evidence"] = step.evidence
    if superseded:
        data["superseded"] = True
    return _event(_EVENT.get(step.kind, step.kind), data, step.at)
