"""Answering from knowledge, asking what the customer means, and the repair patterns that
decide when to stop asking (:mod:`resolvekit.repair`)."""

from __future__ import annotations

import time

from ..intents import intent_title
from ..repair import HandOver, PatternName, Situation
from ..results import elapsed_ms
from .escalate import escalate
from .state import TurnState

__all__ = ["answer", "clarify", "or_list", "repair"]


async def repair(
    state: TurnState,
    pattern: PatternName,
    default: str,
    *,
    attempts: int,
    slot: str | None = None,
) -> str | None:
    """Ask the agent's repair ``pattern`` what to do; hand over if it says so.

    Returns:
        What to say to the customer, or None when the conversation was handed over.
    """
    pending = state.conv.pending
    run = state.conv.active_run
    situation = Situation(
        pattern=pattern,
        default=default,
        attempts=attempts,
        limit=state.agent.escalation.max_clarifications,
        text=state.text,
        question=pending.question if pending else None,
        intent=run.intent if run else state.intent,
        slot=slot,
        phrases=state.agent.phrases,
    )
    action = state.agent.repairs.decide(situation)
    state.note("repair", pattern=pattern, attempts=attempts, action=type(action).__name__)
    if isinstance(action, HandOver):
        await escalate(state, action.reason, action.priority)
        return None
    return action.text


async def clarify(state: TurnState, text: str, options: list[str]) -> None:
    """Ask what the customer means, offering ``options`` (intents), until the ``clarification``
    pattern hands over."""
    count = state.conv.bump("clarifications")
    if options:
        listed = or_list([intent_title(state.agent.intents, o) for o in options])
        text = f"{text} {state.agent.phrases.did_you_mean.format(options=listed)}"
    said = await repair(state, "clarification", text, attempts=count)
    if said is not None:
        state.conv.offered = list(options)
        state.say(said)
        state.waiting()


CITED = "cited:"
"""Counter prefix: ``cited:<doc id>`` counts the knowledge answers that cited a document."""


async def answer(state: TurnState, query: str, *, clarify_if_not: bool = True) -> bool:
    """Answer from knowledge; False (after a clarification, if ``clarify_if_not``) when it
    cannot."""
    agent, started = state.agent, time.perf_counter()
    found = await agent.answer_from_knowledge(query, 3)
    hits, ms = len(found.citations), elapsed_ms(started)
    state.note(
        "knowledge", query=query, answerable=found.answerable, score=found.score, hits=hits, ms=ms
    )
    if not found.answerable:
        if clarify_if_not:
            phrases, pending = agent.phrases, state.conv.pending
            if pending is not None:
                back = phrases.back_to.format(question=pending.question)
                text = f"{phrases.no_answer_waiting} {back}"
            elif agent.intents:
                # Say what the agent can do, so an off-topic customer knows what to ask.
                listed = or_list([intent.intent_title for intent in agent.intents.values()])
                text = f"{phrases.no_answer_waiting} {phrases.can_help.format(topics=listed)}"
            else:
                text = phrases.no_answer
            await clarify(state, text, [])
        return False
    state.conv.counters["clarifications"] = 0
    state.conv.bump("knowledge_answers")  # what `resolvekit report` counts as answered
    for cited in {c.doc_id for c in found.citations}:  # the report's articles in use
        state.conv.bump(CITED + cited)
    state.say(found.text)
    state.citations.extend(found.citations)
    state.outcome = "answered"
    if state.conv.pending is not None:
        state.say(agent.phrases.back_to.format(question=state.conv.pending.question))
    return True


def or_list(items: list[str]) -> str:
    """ "a", "a or b", "a, b or c"."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]
