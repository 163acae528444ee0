"""The agent's identity step (``@agent.verify``) run ahead of an intent's slots and playbook,
journaled in the request's own run so that replay decides exactly as the first run did.

A ``verify_first`` run's journal starts with the identity part:

1. ``verify "decision"``: whether the conversation was verified already when the run got there
   (``{"skip": true, "identity": ...}``) or the verify step runs (``{"skip": false}``). Replay
   reads this record, it never decides again, so a conversation verified meanwhile by another
   request cannot make a replay diverge.
2. the verify step's own ``ask``/``call``/``say`` steps (none when skipped);
3. ``verify "verified"`` with the identity (absent when the step refused).

The engine first runs only this part (with the early checks that can run:
:func:`resolvekit.engine.checks.early_program`), before any slot is asked; when the slots are
complete the playbook runs behind the same part (:func:`program`), which is then served from the
journal.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pydantic_core

from .._json import jsonable
from ..exceptions import UserError, VerifyStepMissing
from ..playbooks import Context, PlaybookOutcome
from ..sessions import Conversation, PlaybookRun, Step

if TYPE_CHECKING:
    from .setup import AgentSetup, Playbook, VerifyStep

__all__ = [
    "VERIFIED",
    "identify",
    "needs_verification",
    "program",
    "restart_if_verified",
]

VERIFIED = object()
"""What the part before the slots returns once the identity is known and no early check refused
(the run goes on to its slots)."""

_PROGRAMS: weakref.WeakKeyDictionary[Any, dict[Any, Playbook]] = weakref.WeakKeyDictionary()
"""Programs built per agent, one per (playbook, verify step): a parked playbook is resumed only
by the very function it runs (:meth:`ParkedPlaybooks.take`)."""


def needs_verification(agent: AgentSetup, run: PlaybookRun) -> bool:
    """The run's intent is ``verify_first`` and its identity part is not finished.

    Raises:
        VerifyStepMissing: the intent is ``verify_first`` but the agent has no verify step.
    """
    if not agent.intents[run.intent].verify_first:
        return False
    if agent.verify_step is None:
        raise VerifyStepMissing(run.intent, agent.name)
    return not any(_settles(step) for step in run.journal)


def _settles(step: Step) -> bool:
    """The step that ends an identity part: the identity found, or the recorded skip."""
    if step.kind != "verify":
        return False
    return step.key == "verified" or (step.key == "decision" and bool(step.result.get("skip")))


def restart_if_verified(conversation: Conversation, run: PlaybookRun) -> None:
    """A run whose identity part is unfinished while the conversation got verified meanwhile
    (another request verified the customer while this one was suspended): its identity steps
    are set aside (kept in ``superseded``) so the part starts over and records a skip, instead
    of asking the customer again. Never when the part made a write."""
    if conversation.identity is None or not run.journal:
        return
    if any(step.kind == "call" and step.effect == "write" for step in run.journal):
        return
    run.superseded.extend(run.journal)
    run.journal.clear()


def program(agent: AgentSetup, intent: str, playbook: Playbook | None = None) -> Playbook:
    """What runs for ``intent``: its playbook (or ``playbook``, the playbook behind its early
    checks), behind the identity part when ``verify_first``."""
    playbook = playbook or agent.playbooks[intent]
    verify = agent.verify_step
    if not agent.intents[intent].verify_first or verify is None:
        return playbook
    return _cached(agent, (playbook, verify), lambda: _behind(playbook, verify))


def _cached(agent: AgentSetup, key: Any, build: Callable[[], Playbook]) -> Playbook:
    built = _PROGRAMS.setdefault(agent, {})
    found = built.get(key)
    if found is None:
        found = built[key] = build()
    return found


def _behind(playbook: Playbook, verify: VerifyStep) -> Playbook:
    async def verified_playbook(ctx: Context[Any], intent: Any) -> PlaybookOutcome | None:
        outcome = await identify(ctx, verify)
        if isinstance(outcome, PlaybookOutcome):
            return outcome
        return await playbook(ctx, intent)

    return verified_playbook


async def identify(ctx: Context[Any], verify: VerifyStep) -> PlaybookOutcome | None:
    """The identity part of a run (see the module docstring); None once verified.

    Raises:
        ReplayDivergence: the journal holds something else where the identity part must be.
        UserError: the verify step returned neither an identity nor a PlaybookOutcome.
    """
    # The journal machinery is the context's own (``_next``/``_append``); this module only
    # adds two record kinds to it.
    conversation = ctx._conversation
    decision = ctx._next("verify", "decision", {})
    if decision is None:
        known = conversation.identity
        record = {"skip": True, "identity": known} if known is not None else {"skip": False}
        decision = ctx._append(
            Step(index=ctx._cursor - 1, kind="verify", key="decision", result=record)
        )
        ctx._hooks.trace("verify", {"event": "skipped" if known is not None else "started"})
    if decision.result.get("skip"):
        conversation.identity = conversation.identity or decision.result.get("identity")
        return None
    returned = await verify(ctx)
    if isinstance(returned, PlaybookOutcome):
        ctx._hooks.trace("verify", {"event": returned.kind, "summary": returned.summary})
        return returned
    if returned is None:
        raise UserError(
            "The verify step returned None: return who the customer is (an account id, a "
            "model...) or ctx.refuse(...)"
        )
    identity = jsonable(pydantic_core.to_jsonable_python(returned, fallback=str))
    conversation = ctx._conversation  # a parked step resumes on the next turn's conversation
    verified = ctx._next("verify", "verified", {})
    if verified is None:
        ctx._append(Step(index=ctx._cursor - 1, kind="verify", key="verified", result=identity))
        ctx._hooks.trace("verify", {"event": "verified"})
        conversation.identity = identity
    elif conversation.identity is None:
        conversation.identity = verified.result
    return None
