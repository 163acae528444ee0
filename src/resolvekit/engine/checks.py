"""Early checks (``@agent.check``): read-only checks of an intent that run as soon as the slots
they need are filled, before any other slot is asked, so a request that cannot be done is
refused before the customer answered every question.

A run's journal holds, after the identity part (:mod:`resolvekit.engine.verify`) and before the
playbook's steps, each check that ran, in the order it ran:

1. ``check "<name>"`` with the values of the slots it needs as its arguments;
2. the check's own ``call``/``ask``/``say`` steps;
3. ``check "passed"`` (``{"check": name}``), absent when the check refused.

The engine runs the part before the slots (:func:`early_program`: the identity part, then every
check recorded so far, then those whose slots are now filled) whenever a check is *due*: its
slots are filled and it has not passed on those very values. Replay serves what the journal
holds, it never decides again. A correction of a slot a check needs changes that check's
recorded arguments: the journal is cut there (the rewind of a correction) and the check runs
again on the new value; a correction of any other slot does not run it again. Checks not run
yet when the last slot is filled run behind the identity part of the playbook's own program
(:func:`program`), before the playbook, with no extra question.

Checks only read: while one runs, every write is refused with
:class:`~resolvekit.WriteInCheck` (:func:`resolvekit.tools.read_only`).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._json import jsonable
from ..exceptions import UserError, WriteInCheck
from ..playbooks import Context, PlaybookOutcome
from ..sessions import PlaybookRun, Step
from ..tools import read_only
from . import verify

if TYPE_CHECKING:
    from ..intents import Intent
    from ..registry import EarlyCheck
    from .setup import AgentSetup, Playbook, VerifyStep

__all__ = ["due", "early_program", "needs_changed", "program"]

PASSED = "passed"
"""The key of the record a check that let the request go on ends with."""

_PROGRAMS: weakref.WeakKeyDictionary[Any, dict[Any, Playbook]] = weakref.WeakKeyDictionary()
"""Programs built per agent: a parked program is resumed only by the very function it runs."""


def due(agent: AgentSetup, run: PlaybookRun) -> bool:
    """Some check of ``run``'s intent has its slots filled and has not passed on their values."""
    return any(
        _ready(check, run) and not _passed(check, run) for check in agent.checks.get(run.intent, ())
    )


def needs_changed(agent: AgentSetup, run: PlaybookRun) -> str | None:
    """A slot whose value differs from the one a recorded check ran on (the correction that
    makes the check run again), or None."""
    for check in agent.checks.get(run.intent, ()):
        for step in run.journal:
            if step.kind == "check" and step.key == check.name:
                changed = [s for s in check.needs if run.slots.get(s) != step.args.get(s)]
                if changed:
                    return changed[0]
    return None


def program(agent: AgentSetup, intent: str) -> Playbook:
    """What runs for ``intent`` once its slots are complete: the identity part when
    ``verify_first``, the checks not run yet, then the playbook."""
    checks = agent.checks.get(intent, ())
    if not checks:
        return verify.program(agent, intent)
    playbook = agent.playbooks[intent]
    checked = _cached(agent, (playbook, checks), lambda: _checked(playbook, checks))
    return verify.program(agent, intent, checked)


def early_program(agent: AgentSetup, intent: str) -> Playbook:
    """The part before the slots: the identity part (``verify_first``), then the checks whose
    slots are filled; returns :data:`~resolvekit.engine.verify.VERIFIED` when the request goes
    on, or the refusal."""
    step = agent.verify_step if agent.intents[intent].verify_first else None
    checks = agent.checks.get(intent, ())
    intent_cls = agent.intents[intent]
    return _cached(agent, (step, checks, intent_cls), lambda: _early(step, checks, intent_cls))


def _cached(agent: AgentSetup, key: Any, build: Callable[[], Playbook]) -> Playbook:
    built = _PROGRAMS.setdefault(agent, {})
    found = built.get(key)
    if found is None:
        found = built[key] = build()
    return found


def _checked(playbook: Playbook, checks: tuple[EarlyCheck, ...]) -> Playbook:
    async def checked_playbook(ctx: Context[Any], intent: Any) -> PlaybookOutcome | None:
        outcome = await _run_checks(ctx, checks, intent, every=True)
        if outcome is not None:
            return outcome
        return await playbook(ctx, intent)

    return checked_playbook


def _early(
    step: VerifyStep | None, checks: tuple[EarlyCheck, ...], intent_cls: type[Intent]
) -> Playbook:
    async def before_slots(ctx: Context[Any], intent: Any) -> Any:
        if step is not None:
            outcome = await verify.identify(ctx, step)
            if outcome is not None:
                return outcome
        outcome = await _run_checks(ctx, checks, _known(ctx, intent_cls), every=False)
        return outcome if outcome is not None else verify.VERIFIED

    return before_slots


def _known(ctx: Context[Any], intent_cls: type[Intent]) -> Intent:
    """The intent with the slots filled so far (typed; the others are not set)."""
    values = {slot: intent_cls.validate_slot(slot, v) for slot, v in ctx._run.slots.items()}
    return intent_cls.model_construct(**values)


def _ready(check: EarlyCheck, run: PlaybookRun) -> bool:
    return all(slot in run.slots for slot in check.needs)


def _needed(check: EarlyCheck, run: PlaybookRun) -> dict[str, Any]:
    return {slot: run.slots.get(slot) for slot in check.needs}


def _passed(check: EarlyCheck, run: PlaybookRun) -> bool:
    """The journal holds the check run on the current values, and its passed record."""
    values, started = _needed(check, run), False
    for step in run.journal:
        if step.kind != "check":
            continue
        if step.key == check.name:
            started = step.args == values
        elif started and step.key == PASSED and step.args.get("check") == check.name:
            return True
    return False


async def _run_checks(
    ctx: Context[Any], checks: tuple[EarlyCheck, ...], intent: Any, *, every: bool
) -> PlaybookOutcome | None:
    """The checks in the order the journal recorded them, then those not run yet whose slots
    are filled (all of them when ``every``) in the order registered; the first refusal."""
    run, done = ctx._run, set[str]()
    while True:
        check = _recorded(ctx, checks, done, every) or next(
            (c for c in checks if c.name not in done and (every or _ready(c, run))), None
        )
        if check is None:
            return None
        done.add(check.name)
        outcome = await _one(ctx, check, intent)
        if outcome is not None:
            return outcome


def _recorded(
    ctx: Context[Any], checks: tuple[EarlyCheck, ...], done: set[str], every: bool
) -> EarlyCheck | None:
    """The check whose start the journal holds at the cursor (replay keeps the order it ran)."""
    journal, at = ctx._run.journal, ctx._cursor
    if at >= len(journal) or journal[at].kind != "check":
        return None
    for check in checks:
        if check.name == journal[at].key and check.name not in done:
            return check if every or _ready(check, ctx._run) else None
    return None


async def _one(ctx: Context[Any], check: EarlyCheck, intent: Any) -> PlaybookOutcome | None:
    """Run one check through the journal (see the module docstring).

    Raises:
        WriteInCheck: the check tried to write (even when it caught the error).
        UserError: the check returned neither None nor a PlaybookOutcome.
    """
    values = jsonable(_needed(check, ctx._run))
    trace = ctx._hooks.trace
    if ctx._next("check", check.name, values) is None:
        ctx._append(Step(index=ctx._cursor - 1, kind="check", key=check.name, args=values))
        trace("check", {"check": check.name, "event": "started", "needs": values})
    with read_only(check.name) as tried:
        try:
            returned = await check.function(ctx, intent)
        except Exception as exc:  # a refused write comes first, whatever it led to
            if tried:
                raise WriteInCheck(check.name, tried[0]) from exc
            raise
    if tried:  # the check caught the error (or a tool it called did) and went on
        raise WriteInCheck(check.name, tried[0])
    if isinstance(returned, PlaybookOutcome):
        trace("check", {"check": check.name, "event": returned.kind, "summary": returned.summary})
        return returned
    if returned is not None:
        raise UserError(
            f"Early check {check.name!r} returned {type(returned).__name__}: return None to go "
            "on, or ctx.refuse(...) / ctx.escalate(...) to end the request"
        )
    passed = {"check": check.name}
    if ctx._next("check", PASSED, passed) is None:
        ctx._append(Step(index=ctx._cursor - 1, kind="check", key=PASSED, args=passed))
        trace("check", {"check": check.name, "event": "passed"})
    return None
