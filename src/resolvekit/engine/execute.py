"""Running a playbook: replay from its journal to the frontier, then act on what it returns or
raises (a question for the customer, an outcome, a failure)."""

from __future__ import annotations

import logging
from typing import Any

from ..exceptions import PlaybookError, ToolError, UserError
from ..intents import Intent, humanize
from ..playbooks import Context, PlaybookOutcome, Suspended
from ..sessions import PendingState, PlaybookRun
from .escalate import escalate
from .state import TurnState

__all__ = ["execute", "offer_resume"]

log = logging.getLogger("resolvekit")


async def execute(state: TurnState, run: PlaybookRun, intent: Intent, rewind: str | None) -> None:
    """Run ``run``'s playbook for ``intent``; ``rewind`` names a corrected slot (a mismatch then
    truncates the journal instead of diverging)."""
    agent = state.agent
    playbook = agent.playbooks[run.intent]
    ctx: Context[Any] = Context(
        conversation=state.conv, run=run, deps=state.deps, hooks=state.hooks(), rewind=rewind
    )
    state.note(
        "playbook",
        event="replay" if run.journal else "run",
        intent=run.intent,
        steps=len(run.journal),
    )
    try:
        outcome = await playbook(ctx, intent)
    except Suspended as signal:
        state.replies.extend(ctx.outbox)
        state.conv.pending = signal.pending
        question = signal.pending.question
        state.say(f"{signal.error} {question}" if signal.error else question)
        state.waiting()
        return
    except ToolError as exc:
        state.replies.extend(ctx.outbox)
        await _fail(state, run, exc, f"{exc.tool} failed ({exc.kind}): {exc.message}")
        return
    except PlaybookError as exc:
        state.replies.extend(ctx.outbox)
        if agent.raise_errors:
            raise
        await _fail(state, run, exc, str(exc))
        return
    except Exception as exc:  # a playbook bug must not crash the customer's turn
        state.replies.extend(ctx.outbox)
        log.exception("playbook %s crashed", run.intent)
        if agent.raise_errors:
            raise
        await _fail(state, run, exc, f"playbook {run.intent} crashed: {type(exc).__name__}: {exc}")
        return
    state.replies.extend(ctx.outbox)
    state.conv.pending = None
    await _finish(state, run, outcome)


async def _finish(state: TurnState, run: PlaybookRun, outcome: Any) -> None:
    if outcome is None:
        outcome = PlaybookOutcome(kind="resolved", summary=f"{run.intent} completed")
    if not isinstance(outcome, PlaybookOutcome):
        raise UserError(
            f"Playbook {run.intent} returned {type(outcome).__name__}; return "
            f"ctx.resolve(...), ctx.escalate(...) or ctx.refuse(...)"
        )
    run.summary = outcome.summary
    state.note("playbook", event=outcome.kind, intent=run.intent, summary=outcome.summary)
    if outcome.kind == "escalated":
        run.status = "escalated"
        await escalate(state, outcome.summary, outcome.priority, reply=outcome.reply)
        return
    run.status = outcome.kind
    state.outcome = outcome.kind
    if outcome.kind == "resolved":
        state.conv.counters["tool_failures"] = 0
    state.say(outcome.reply or outcome.summary)
    offer_resume(state)


async def _fail(state: TurnState, run: PlaybookRun, exc: BaseException, reason: str) -> None:
    run.status = "failed"
    state.error = exc
    await escalate(state, reason, "high")


def offer_resume(state: TurnState) -> None:
    """Offer the last suspended request ("Shall we go back to ...?"), if any."""
    suspended = state.conv.suspended_runs
    if not suspended:
        return
    last = suspended[-1]
    phrases = state.agent.phrases
    phrase = phrases.next_request if last.queued else phrases.resume
    question = phrase.format(intent=humanize(last.intent))
    state.conv.pending = PendingState(kind="resume", question=question, run_id=last.id)
    state.say(question)
