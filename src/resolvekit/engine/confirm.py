"""A yes/no answer: the engine reads the customer's words itself, and the stricter of its
reading and the model's wins (:class:`~resolvekit.consent.ConsentPolicy`). The answer and its
evidence go into the journal step the write will follow."""

from __future__ import annotations

import time
from typing import Any, Literal

from .clarify import answer, repair
from .execute import offer_resume
from .free import free_call
from .slots import advance, remembered, set_slots
from .state import TurnState

__all__ = ["confirm"]


async def confirm(state: TurnState, said: Literal["yes", "no", "unsure"]) -> bool:
    """Apply the model's reading ``said`` of the customer's reply to the open yes/no question.

    Returns:
        True when the model must decide again (a confirmed free-mode call ran).
    """
    conv = state.conv
    pending = conv.pending
    assert pending is not None  # guarded by invalid_decision
    agent = state.agent
    if state.reply_to is not None and state.reply_to != pending.id:
        # The customer's client says this answers another question (an old button, a late
        # delivery): it does not answer the one open now.
        state.note("confirm", event="stale", answers=state.reply_to, open=pending.id)
        default = agent.phrases.stale_answer.format(question=pending.question)
        text = await repair(state, "stale_answer", default, attempts=1)
        if text is not None:
            state.say(text)
            state.waiting()
        return False
    reading = agent.consent.reader(state.text, pending.question)
    decided = agent.consent.decide(said, reading)
    state.note(
        "confirm",
        kind=pending.kind,
        question=pending.question,
        question_id=pending.id,
        model=said,
        reader=reading.answer,
        reason=reading.reason,
        cue=reading.cue,
        answer=decided,
    )
    if decided == "question":
        # Answer it if the knowledge base can, then ask the confirmation again.
        if agent.has_knowledge:
            await answer(state, state.text)
            return False
        default = agent.phrases.yes_or_no.format(question=pending.question)
        text = await repair(state, "question_at_confirmation", default, attempts=1)
    elif decided == "unclear":
        pending.attempts += 1
        default = agent.phrases.yes_or_no.format(question=pending.question)
        text = await repair(state, "unclear_confirmation", default, attempts=pending.attempts)
    else:
        return await _answered(state, said, decided == "yes", reading)
    if text is not None:
        state.say(text)
        state.waiting()
    return False


async def _answered(state: TurnState, said: str, yes: bool, reading: Any) -> bool:
    conv = state.conv
    pending = conv.pending
    assert pending is not None
    conv.counters["clarifications"] = 0
    evidence = {
        "text": state.text,
        "message_id": state.message_id,
        "question_id": pending.id,
        "model": said,
        "reader": reading.answer,
        "reason": reading.reason,
        "answer": "yes" if yes else "no",
        "at": time.time(),
    }
    run = conv.run(pending.run_id)
    if pending.kind == "resume":
        conv.pending = None
        if run is None:
            return False
        if yes:
            if run.queued:
                # A request queued from an earlier message: what the customer has said since
                # (or in the same message) counts, as for any new request.
                intent_cls = state.agent.intents[run.intent]
                set_slots(state, run, intent_cls, remembered(state, run.intent, run.slots))
            run.status, run.queued = "waiting", False
            state.intent = run.intent
            await advance(state, run)
        else:
            run.status = "cancelled"
            state.say(state.agent.phrases.dropped)
            state.outcome = "replied"
            offer_resume(state)
        return False
    if pending.kind == "tool_confirm":
        conv.pending = None
        free = state.free_run()
        step = free.journal[(pending.step or 0) - free.base]
        step.status, step.result, step.evidence = "done", yes, evidence
        if yes and pending.tool:
            return await free_call(
                state, pending.tool["name"], pending.tool["args"], confirmed=True
            )
        state.say(state.agent.phrases.not_done)
        state.outcome = "replied"
        return False
    if run is None or pending.step is None:
        return False
    step = run.journal[pending.step]
    step.status, step.result, step.evidence = "done", yes, evidence
    conv.pending = None
    state.intent = run.intent
    await advance(state, run)
    return False
