"""Starting a request and collecting its slots: values validated and remembered, corrections
rewinding the playbook, the identity part and the early checks run as soon as they can, the
next missing slot asked, then the playbook run."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import ValidationError

from .._json import jsonable
from ..exceptions import UserError
from ..intents import Intent, slot_error_message
from ..messages import StartIntent
from ..sessions import PendingState, PlaybookRun
from ..specs import SlotSpec
from . import checks
from .clarify import clarify, repair
from .execute import execute
from .state import TurnState
from .verify import needs_verification, restart_if_verified

__all__ = ["advance", "fill", "queue", "remembered", "set_slots", "start"]


async def start(state: TurnState, name: str, slots: dict[str, Any]) -> None:
    """Start (or switch to) the request ``name`` with the values given."""
    conv = state.conv
    conv.counters["clarifications"] = 0
    conv.offered = []
    state.intent = name
    active = conv.active_run
    if active is not None and active.intent == name:
        await fill(state, slots)
        return
    if active is not None:
        active.status = "suspended"
        conv.pending = None
        state.note("playbook", event="suspended", intent=active.intent, run=active.id)
    run = PlaybookRun(id=uuid.uuid4().hex[:12], intent=name, opening=_opening(state))
    conv.runs.append(run)
    state.note("playbook", event="start", intent=name, run=run.id)
    intent_cls = state.agent.intents[name]
    values = {**remembered(state, name, slots), **slots}
    errors = set_slots(state, run, intent_cls, values)
    await advance(state, run, errors)


def queue(state: TurnState, requests: list[StartIntent]) -> None:
    """Further requests of the message, kept as suspended runs with their slots: each is
    offered ("Shall we go back to ...?") when the request before it is done."""
    opening = _opening(state)
    for request in reversed(requests):  # the last suspended run is offered first
        run = PlaybookRun(
            id=uuid.uuid4().hex[:12],
            intent=request.intent,
            opening=opening,
            status="suspended",
            queued=True,
        )
        # A value that does not validate is simply asked for when the run's turn comes.
        set_slots(state, run, state.agent.intents[request.intent], dict(request.slots))
        state.conv.runs.append(run)
        state.note("playbook", event="queued", intent=run.intent, run=run.id)


def _opening(state: TurnState) -> str:
    return next((m.text for m in reversed(state.conv.transcript) if m.role == "customer"), "")


def remembered(state: TurnState, intent: str, given: dict[str, Any]) -> dict[str, Any]:
    """Values the customer gave earlier in the conversation for ``intent``'s slots that
    ``given`` lacks (see :func:`_used_up` for the one exception)."""
    facts, intent_cls = state.conv.facts, state.agent.intents[intent]
    reused: dict[str, Any] = {}
    for slot in intent_cls.model_fields:
        if slot in given or slot not in facts or not intent_cls.slot_info(slot).remember:
            continue
        if _used_up(state, intent, slot, facts[slot]):
            continue
        reused[slot] = facts[slot]
        state.note("slot", event="reused", slot=slot, value=facts[slot])
    return reused


def _used_up(state: TurnState, intent: str, slot: str, value: Any) -> bool:
    """An id (order, charge...) that a finished run of the *same* intent already used.

    "I want another refund" after refunding CH1001 is about a different charge: asking is
    right, reusing CH1001 is not. Another intent may still reuse it ("cancel it" after
    "where is W1234567?"), and so may slots that are not ids (an email, a name).
    """
    spec = state.agent.intent_spec(intent).slot(slot)
    if spec is None or spec.kind != "id":
        return False
    finished = ("resolved", "refused", "escalated", "cancelled", "failed")
    return any(
        run.intent == intent and run.status in finished and run.slots.get(slot) == value
        for run in state.conv.runs
    )


def set_slots(
    state: TurnState, run: PlaybookRun, intent_cls: type[Intent], values: dict[str, Any]
) -> dict[str, str]:
    """Validate and store slot values; return ``{slot: customer-facing error}``."""
    errors: dict[str, str] = {}
    for slot, raw in values.items():
        try:
            value = intent_cls.validate_slot(slot, raw)
        except ValueError as exc:
            errors[slot] = str(exc)
            state.note("slot", event="invalid", slot=slot, value=raw, error=str(exc))
            continue
        stored = jsonable(value)
        run.slots[slot] = stored
        if intent_cls.slot_info(slot).remember:
            state.conv.facts[slot] = stored
        state.note("slot", event="set", slot=slot, value=stored)
    return errors


async def fill(state: TurnState, values: dict[str, Any]) -> None:
    """Values for the open question and/or corrections of earlier slots."""
    conv = state.conv
    pending = conv.pending
    run = conv.active_run
    if run is None:  # guarded by invalid_decision; kept for type narrowing
        await clarify(state, state.agent.phrases.not_understood, [])
        return
    state.intent = run.intent
    values = dict(values)
    if pending is not None and pending.kind == "ask" and pending.slot in values:
        step = run.journal[pending.step or 0]
        step.status, step.result = "done", jsonable(values.pop(pending.slot or ""))
        conv.pending = None
        state.note("ask", event="answered", step=step.index, value=step.result)
    intent_cls = state.agent.intents[run.intent]
    before = dict(run.slots)
    errors = set_slots(state, run, intent_cls, values)
    corrected = [s for s in values if s in before and s in run.slots and before[s] != run.slots[s]]
    if pending is not None and pending.kind == "slot" and pending.slot in run.slots:
        conv.pending = None
    await advance(state, run, errors, rewind=corrected[0] if corrected else None)


async def advance(
    state: TurnState,
    run: PlaybookRun,
    errors: dict[str, str] | None = None,
    rewind: str | None = None,
) -> None:
    """Run what comes before the slots when it can run, then ask for the next missing slot,
    or run the playbook."""
    errors = errors or {}
    state.current_run = run
    agent = state.agent
    verifying = needs_verification(agent, run)
    if verifying or checks.due(agent, run):  # identity, then early checks, before any slot
        if verifying:
            restart_if_verified(state.conv, run)
        run.status = "waiting"
        await execute(state, run, None, rewind or checks.needs_changed(agent, run))
        if run.status != "waiting" or needs_verification(agent, run) or checks.due(agent, run):
            return  # waiting for the customer, or refused/failed
    intent_cls = state.agent.intents[run.intent]
    spec = state.agent.intent_spec(run.intent)
    for slot in intent_cls.required_slots():
        if slot not in run.slots:
            question = (spec.slot(slot) or SlotSpec(name=slot)).ask
            asked = f"{errors[slot]} {question}" if slot in errors else question
            await _ask_slot(state, run, slot, asked)
            return
    try:
        intent = intent_cls.model_validate(run.slots)
    except ValidationError as exc:
        slot = str(exc.errors()[0]["loc"][0]) if exc.errors()[0]["loc"] else ""
        if slot in run.slots:
            run.slots.pop(slot)
            question = (spec.slot(slot) or SlotSpec(name=slot)).ask
            await _ask_slot(state, run, slot, f"{slot_error_message(slot, exc)} {question}")
            return
        raise UserError(f"Intent {run.intent} does not validate: {exc}") from exc
    run.status = "waiting"
    await execute(state, run, intent, rewind)


async def _ask_slot(state: TurnState, run: PlaybookRun, slot: str, question: str) -> None:
    previous = state.conv.pending
    attempts = 0
    if (
        previous is not None
        and previous.kind == "slot"
        and previous.slot == slot
        and previous.run_id == run.id
    ):
        # The last answer did not give the slot: the ``value_not_given`` pattern decides.
        attempts = previous.attempts + 1
        said = await repair(state, "value_not_given", question, attempts=attempts, slot=slot)
        if said is None:
            return
        question = said
    run.status = "collecting"
    state.conv.pending = PendingState(
        kind="slot", question=question, run_id=run.id, slot=slot, attempts=attempts
    )
    state.say(question)
    state.waiting()
