"""Running a playbook: replay from its journal to the frontier, then act on what it returns or
raises (a question for the customer, an outcome, a failure)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from ..approvals import ApprovalEscalation
from ..exceptions import PlaybookError, ToolError, UserError, WriteInCheck
from ..intents import Intent, intent_title
from ..playbooks import Context, PlaybookOutcome, Suspended
from ..sessions import PendingState, PlaybookRun
from .checks import early_program, program
from .escalate import escalate
from .parking import Gate, Parked
from .state import TurnState
from .verify import VERIFIED

__all__ = ["execute", "offer_resume"]

log = logging.getLogger("resolvekit")


async def execute(
    state: TurnState, run: PlaybookRun, intent: Intent | None, rewind: str | None
) -> None:
    """Run ``run``'s playbook for ``intent`` until it finishes or needs the customer: resumed
    where it is parked when it can be (:mod:`resolvekit.engine.parking`), else replayed from
    its journal. ``rewind`` names a corrected slot (a mismatch then truncates the journal
    instead of diverging). ``intent`` None runs only the part before the slots: the identity
    part (:mod:`resolvekit.engine.verify`) and the early checks that can run
    (:mod:`resolvekit.engine.checks`)."""
    agent = state.agent
    parked_playbooks = agent.parked
    conv = state.conv
    hooks = state.hooks()
    if intent is not None:
        playbook = program(agent, run.intent)
    else:
        playbook = early_program(agent, run.intent)
    parked = parked_playbooks.take(conv.id, run, playbook, agent.tools) if rewind is None else None
    if rewind is not None:
        parked_playbooks.drop(conv.id, run.id)
    if parked is not None:
        ctx = parked.ctx
        ctx.rebind(conversation=conv, run=run, deps=state.deps, hooks=hooks)
        state.note("playbook", event="resume", intent=run.intent, steps=len(run.journal))
        parked.gate.wake()
    else:
        gate = Gate()
        ctx = Context(
            conversation=conv,
            run=run,
            deps=state.deps,
            hooks=hooks,
            rewind=rewind,
            parking=gate if parked_playbooks.limit > 0 else None,
        )
        state.note(
            "playbook",
            event="replay" if run.journal else "run",
            intent=run.intent,
            steps=len(run.journal),
        )
        task = asyncio.ensure_future(playbook(ctx, intent))
        parked = Parked(task=task, ctx=ctx, gate=gate, playbook=playbook)
    try:
        stopped = await _until_stopped(parked)
    except Suspended as signal:
        state.replies.extend(ctx.outbox)
        _ask(state, signal.pending, signal.error)
        return
    except ApprovalEscalation as signal:  # an amount above the top approval tier
        state.replies.extend(ctx.outbox)
        run.status, run.summary = "escalated", signal.reason
        state.note("playbook", event="escalated", intent=run.intent, summary=signal.reason)
        await escalate(state, signal.reason, signal.priority)
        return
    except ToolError as exc:
        state.replies.extend(ctx.outbox)
        await _fail(state, run, exc, f"{exc.tool} failed ({exc.kind}): {exc.message}")
        return
    except WriteInCheck:
        raise  # the developer's mistake, typed: nothing was written, nothing is handed over
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
    if isinstance(stopped, _Waiting):
        parked_playbooks.park(conv.id, run, parked)
        _ask(state, stopped.pending, stopped.error)
        return
    state.conv.pending = None
    if stopped.outcome is VERIFIED:  # the part before the slots is done: they come next
        return
    await _finish(state, run, stopped.outcome)


@dataclass(frozen=True)
class _Waiting:
    pending: PendingState
    error: str | None


@dataclass(frozen=True)
class _Done:
    outcome: Any


async def _until_stopped(parked: Parked) -> _Waiting | _Done:
    """Let the playbook run until it parks for the customer or ends; its exceptions (a
    :class:`Suspended` without parking, a tool's, a bug's) are raised here."""
    task, gate = parked.task, parked.gate
    try:
        await asyncio.wait({task, gate.suspended}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        task.cancel()  # the turn was cancelled: the playbook must not run on unseen
        raise
    if task.done():
        return _Done(task.result())
    pending, error = gate.suspended.result()
    return _Waiting(pending, error)


def _ask(state: TurnState, pending: PendingState, error: str | None) -> None:
    state.conv.pending = pending
    question = pending.question
    state.say(f"{error} {question}" if error else question)
    state.waiting()


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
    question = phrase.format(intent=intent_title(state.agent.intents, last.intent))
    state.conv.pending = PendingState(kind="resume", question=question, run_id=last.id)
    state.say(question)
