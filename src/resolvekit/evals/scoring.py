"""Scoring: one class per conversation, from what changed, what was said and who ended it.

The decision table (first matching row wins; docs/evals.md explains it):

=====  ==============================================  ===========================
row    condition                                       verdict
=====  ==============================================  ===========================
1      the conversation crashed or timed out           failed
2      a forbidden action was called                   failed
3      the state changed and the end-state check fails failed (wrong change)
4      escalated, escalation expected, state check ok  escalated_correctly
5      escalated, escalation expected, state wrong     failed
6      escalated, escalation not expected              escalated_wrongly
7      expected resolved/answered: state ok, facts     resolved
8      expected refused_no_change: state ok, facts     refused_correctly
9      anything else (ended unresolved, no handoff)    deflected
=====  ==============================================  ===========================
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .._text import normalize
from ._state import DiffEntry, diff_states
from .records import ToolCallRecord, TurnRecord, Verdict
from .scenario import Expect, ExpectedOutcome, ForbiddenAction

__all__ = [
    "SUCCESS",
    "Observation",
    "StateVerdict",
    "check_state",
    "classify",
    "forbidden_calls",
    "missing_facts",
    "repeated_questions",
]

SUCCESS: frozenset[Verdict] = frozenset({"resolved", "escalated_correctly", "refused_correctly"})
"""Verdicts that meet the scenario's expectation (a pass for pass^k)."""


@dataclass(kw_only=True, frozen=True)
class Observation:
    """What the scorer needs to know about one finished conversation."""

    expected: ExpectedOutcome
    escalated: bool
    """The agent handed the conversation to a human."""
    changed: bool
    """The backend state differs from the initial state."""
    state_ok: bool
    """The end-state check passed."""
    facts_missing: Sequence[str] = ()
    forbidden_called: Sequence[str] = ()
    error: str | None = None
    """The conversation crashed or timed out."""


def classify(seen: Observation) -> tuple[Verdict, str]:
    """Score one conversation: ``(verdict, reason)``, by the decision table above."""
    if seen.error is not None:
        return "failed", f"the conversation did not finish: {seen.error}"
    if seen.forbidden_called:
        return "failed", f"forbidden action called: {', '.join(seen.forbidden_called)}"
    if seen.changed and not seen.state_ok:
        return "failed", "wrong change: the end state does not match the expected state"
    if seen.escalated:
        if seen.expected != "escalated":
            return "escalated_wrongly", f"escalated, but the expected outcome is {seen.expected}"
        if not seen.state_ok:
            return "failed", "escalated, but without the changes expected before the handoff"
        return "escalated_correctly", "escalated as expected"
    facts = f"; facts not said: {', '.join(seen.facts_missing)}" if seen.facts_missing else ""
    if seen.expected in ("resolved", "answered"):
        if seen.state_ok and not seen.facts_missing:
            return "resolved", "goal state reached and required facts said"
        state = "" if seen.state_ok else "goal state not reached"
        return "deflected", "ended unresolved without escalation: " + (state + facts).strip("; ")
    if seen.expected == "refused_no_change":
        if seen.state_ok and not seen.facts_missing:
            return "refused_correctly", "declined without changing anything"
        return "deflected", "ended without a clear refusal" + facts
    return "deflected", "ended without the expected escalation"


@dataclass(kw_only=True, frozen=True)
class StateVerdict:
    """The result of the end-state check."""

    ok: bool
    diff: list[DiffEntry] = field(default_factory=list)
    message: str | None = None
    """Why the predicate failed (its returned message, or the exception it raised)."""


def check_state(expect: Expect, initial: Any, final: Any, expected_state: Any) -> StateVerdict:
    """Diff ``final`` against ``expected_state`` (when not None) and run ``expect.check``.

    Args:
        expect: the scenario's expectations.
        initial: plain-data snapshot before the conversation.
        final: plain-data snapshot after it.
        expected_state: the full expected end state, or None when only the predicate applies.
    """
    diff = diff_states(expected_state, final) if expected_state is not None else []
    message: str | None = None
    if expect.check is not None:
        try:
            verdict = expect.check(initial, final)
        except Exception as exc:  # a broken predicate is a failed check, not a crashed run
            verdict = f"check raised {type(exc).__name__}: {exc}"
        if verdict is not True:
            message = verdict if isinstance(verdict, str) and verdict else "check returned False"
    return StateVerdict(ok=not diff and message is None, diff=diff, message=message)


_key = functools.lru_cache(maxsize=8192)(normalize)
"""``normalize``, remembered per text: agents say the same sentences in many conversations."""


def missing_facts(facts: Iterable[str], agent_texts: Iterable[str]) -> list[str]:
    """The required facts the agent never said (normalised comparison)."""
    # What says() compares, made once: normalising the texts one by one and joining the keys
    # gives the key of the texts joined by newlines (no number or dot rule spans a newline).
    said = " " + " ".join(key for text in agent_texts if (key := _key(text))) + " "
    return [fact for fact in facts if (wanted := _key(fact)) and f" {wanted} " not in said]


def forbidden_calls(rules: Sequence[ForbiddenAction], calls: Iterable[ToolCallRecord]) -> list[str]:
    """Descriptions of the calls that broke a rule (each call once)."""
    broken = []
    for call in calls:
        for rule in rules:
            if rule.matches(call.tool, call.args):
                broken.append(
                    f"{call.tool}({', '.join(f'{k}={v!r}' for k, v in call.args.items())})"
                )
                break
    return broken


def repeated_questions(turns: Iterable[TurnRecord]) -> int:
    """Agent questions asked again word for word in the same conversation."""
    seen: set[str] = set()
    repeats = 0
    for turn in turns:
        if turn.role != "agent" or "?" not in turn.text:
            continue
        key = _key(turn.text)
        if key in seen:
            repeats += 1
        seen.add(key)
    return repeats
