"""Suggested next actions: what the intent's playbook would do, as tools a human can run.

The tools a playbook uses are read from its code: the :class:`~resolvekit.tools.Tool` objects
it (or a helper function it calls, two levels deep) refers to, and tool names it passes as
strings (``ctx.call("crm.get_order", ...)``), in the order they appear in its source. Each
suggestion's arguments are filled from what the conversation already knows: the run's slots,
the conversation's facts, then the arguments of earlier calls. The first suggested tool that
the run's journal has not done yet with those arguments is marked ``next``: what the playbook
would do next.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..sessions import FREE_RUN, Conversation, PlaybookRun
from ..tools import Tool

__all__ = ["Suggestion", "playbook_tools", "suggest"]


@dataclass(kw_only=True)
class Suggestion:
    """A tool a human agent may run, with its arguments filled in where known."""

    tool: str
    description: str
    effect: str
    """``read`` or ``write``: a write runs only after the human's confirm click."""
    confirm: bool
    """The tool asks for a confirmation (``confirm=True``)."""
    args: dict[str, Any]
    """Arguments known from the conversation (slots, facts, earlier calls)."""
    parameters: dict[str, Any]
    """The tool's JSON Schema, for the missing arguments' form fields."""
    missing: list[str] = field(default_factory=list)
    """Required arguments the conversation does not know."""
    done: bool = False
    """The journal already has this call with these arguments, done."""
    next: bool = False
    """The first suggestion not done: what the playbook would do next."""


def suggest(
    conversation: Conversation,
    playbooks: Mapping[str, Callable[..., Any]],
    tools: Mapping[str, Tool[Any]],
) -> list[Suggestion]:
    """The suggested next actions for ``conversation`` (empty when no playbook ran)."""
    run = _last_run(conversation)
    if run is None or run.intent not in playbooks:
        return []
    known = _known_values(conversation, run)
    done = {
        (step.key, _canon(step.args))
        for step in run.journal
        if step.kind == "call" and step.status == "done"
    }
    suggestions: list[Suggestion] = []
    for name in playbook_tools(playbooks[run.intent], tools):
        tool = tools[name]
        schema = tool.parameters
        args = {p: known[p] for p in schema.get("properties", {}) if p in known}
        missing = [p for p in schema.get("required", []) if p not in args]
        suggestions.append(
            Suggestion(
                tool=name,
                description=tool.description,
                effect=tool.effect,
                confirm=tool.confirm,
                args=args,
                parameters=schema,
                missing=missing,
                done=(name, _canon(args)) in done,
            )
        )
    upcoming = next((s for s in suggestions if not s.done), None)
    if upcoming is not None:
        upcoming.next = True
    return suggestions


def playbook_tools(playbook: Callable[..., Any], tools: Mapping[str, Tool[Any]]) -> list[str]:
    """Names of the agent's tools that ``playbook`` refers to, in source order."""
    found: dict[str, int] = {}
    _collect(playbook, tools, found, depth=0, seen=set())
    return sorted(found, key=lambda name: found[name])


def _collect(
    function: Callable[..., Any],
    tools: Mapping[str, Tool[Any]],
    found: dict[str, int],
    *,
    depth: int,
    seen: set[int],
) -> None:
    function = inspect.unwrap(function)
    code = getattr(function, "__code__", None)
    if code is None or id(code) in seen:
        return
    seen.add(id(code))
    try:
        source = inspect.getsource(function)
    except (OSError, TypeError):
        source = ""
    base = depth * 1_000_000  # a helper's tools come after the playbook's own

    def note(name: str, where: str) -> None:
        position = source.find(where)
        rank = base + (position if position >= 0 else len(source))
        found[name] = min(found.get(name, rank), rank)

    try:
        refs = inspect.getclosurevars(function)
    except (TypeError, ValueError):
        return
    for var, value in {**refs.globals, **refs.nonlocals}.items():
        if isinstance(value, Tool) and value.name in tools:
            note(value.name, var)
        elif depth < 2 and inspect.isfunction(value):
            _collect(value, tools, found, depth=depth + 1, seen=seen)
    for const in code.co_consts:
        if isinstance(const, str) and const in tools:
            note(const, repr(const)[1:-1])


def _last_run(conversation: Conversation) -> PlaybookRun | None:
    for run in reversed(conversation.runs):
        if run.intent != FREE_RUN:
            return run
    return None


def _known_values(conversation: Conversation, run: PlaybookRun) -> dict[str, Any]:
    known: dict[str, Any] = {}
    for other in conversation.runs:  # earlier calls' arguments, the latest winning
        for step in other.journal:
            if step.kind == "call":
                known.update(step.args)
    known.update(conversation.facts)
    known.update(run.slots)
    return known


def _canon(args: Mapping[str, Any]) -> str:
    return repr(sorted((k, repr(v)) for k, v in args.items()))
