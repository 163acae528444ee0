"""A terminal chat with any agent: what a person sees, and on ``/why`` what the agent did.

``resolvekit chat examples/order_support.py:agent`` opens it from the command line;
:func:`chat` embeds it in your own script (the retail example uses it).
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import inspect
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .agent import Agent
from .exceptions import InvalidMessage, UserError
from .results import TurnResult

__all__ = ["chat", "explain", "load_agent"]

HELP = (
    "Commands: /why explains the last reply (intent, slots, tool calls, escalation), "
    "/channel NAME switches channel (chat, voice, email), /quit ends."
)


def explain(result: TurnResult) -> str:
    """A readable account of what the agent decided and did in one turn."""
    lines = [
        f"outcome: {result.outcome}  confidence: {_fmt(result.confidence)}  "
        f"intent: {result.intent or '-'}  waiting for: {result.pending or '-'}"
    ]
    if result.slots:
        lines.append("slots: " + ", ".join(f"{k}={v!r}" for k, v in result.slots.items()))
    for event in result.trace:
        data = event.data
        if event.kind == "model":
            decision = data.get("decision", {})
            shown = {k: v for k, v in decision.items() if k != "kind" and v}
            note = f"  (rejected: {data['invalid']})" if data.get("invalid") else ""
            lines.append(
                f"model -> {decision.get('kind')} {json.dumps(shown, default=str)}"
                f" conf={_fmt(data.get('confidence'))}{note}"
            )
        elif event.kind == "tool":
            status = data.get("status") or data.get("kind")
            outcome = data.get("result") if data.get("status") == "done" else data.get("message")
            lines.append(
                f"tool {data.get('tool')}({json.dumps(data.get('args', {}), default=str)})"
                f" -> {status}: {json.dumps(outcome, default=str)[:300]}"
            )
        elif event.kind == "escalation":
            lines.append(f"escalation: {data.get('reason')} (priority {data.get('priority')})")
        elif event.kind in ("slot", "confirm", "rewind", "knowledge", "recover"):
            lines.append(f"{event.kind}: {json.dumps(data, default=str)}")
    if result.error is not None:
        lines.append(f"error: {type(result.error).__name__}: {result.error}")
    return "\n".join(lines)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


async def chat(
    agent: Agent[Any],
    *,
    customer_id: str = "customer",
    deps: Any = None,
    channel: str = "chat",
    read: Callable[[str], str] | None = None,
    write: Callable[[str], None] | None = None,
) -> list[TurnResult]:
    """Talk to ``agent`` until an empty line, ``/quit`` or end of input.

    Args:
        read: reads one line given a prompt (``input`` by default).
        write: shows one block of output (``print`` by default).

    Returns:
        Every turn's result, in order.
    """
    # Piped input is not echoed by the terminal: write it, so the transcript shows both sides.
    echo = read is None and not sys.stdin.isatty()
    read = read or input
    write = write or print
    write(HELP)
    results: list[TurnResult] = []
    while True:
        try:
            line = await asyncio.to_thread(read, f"you ({channel})> ")
        except EOFError:
            break
        if echo:
            write(line)
        line = line.strip()
        if not line or line == "/quit":
            break
        if line == "/why":
            write(explain(results[-1]) if results else "Nothing to explain yet.")
            continue
        if line.startswith("/channel"):
            channel = line.removeprefix("/channel").strip() or channel
            write(f"(now on {channel})")
            continue
        try:
            result = await agent.handle(customer_id, line, channel=channel, deps=deps)
        except InvalidMessage as exc:
            write(f"(not sent: {exc})")
            continue
        results.append(result)
        write(f"agent> {result.reply}")
        if result.handoff is not None and result.outcome == "escalated":
            write(f"(handed over: {result.handoff.reason})")
    return results


def load_agent(target: str) -> Agent[Any]:
    """Load an agent from ``path/to/file.py:name`` or ``package.module:name``.

    ``name`` (default ``agent``) is an :class:`Agent`, or a function that builds one when
    called with no arguments (``examples.helpdesk.agent:build_agent``). A module is looked up
    from the current directory too, as ``python -m`` would; a file inside a package (with
    ``__init__.py`` files above it) is imported as that package's module, so its relative
    imports work.

    Raises:
        UserError: the file, module or attribute is missing, or is not an Agent or a function
            returning one.
    """
    where, _, name = target.partition(":")
    name = name or "agent"
    if where.endswith(".py") or Path(where).is_file():
        path = Path(where)
        if not path.is_file():
            raise UserError(f"No such file: {where}")
        module = _import_file(path)
    else:
        if "" not in sys.path and str(Path.cwd()) not in sys.path:
            sys.path.insert(0, str(Path.cwd()))
        try:
            module = importlib.import_module(where)
        except ImportError as exc:
            raise UserError(f"Cannot import {where!r}: {exc}") from exc
    found = getattr(module, name, None)
    if found is None:
        raise UserError(f"{where!r} has no {name!r}")
    agent = found
    if inspect.isfunction(found):
        try:
            agent = found()
        except TypeError as exc:
            raise UserError(
                f"{target!r} is a function; it must build the agent with no arguments ({exc})"
            ) from exc
    if not isinstance(agent, Agent):
        raise UserError(f"{target!r} is not an Agent (found {type(agent).__name__})")
    return agent


def _import_file(path: Path) -> Any:
    """Import ``path``: as a package's module when ``__init__.py`` files sit above it."""
    path = path.resolve()
    parts = [path.stem]
    top = path.parent
    while (top / "__init__.py").is_file():
        parts.insert(0, top.name)
        top = top.parent
    if len(parts) > 1:
        if str(top) not in sys.path:
            sys.path.insert(0, str(top))
        try:
            return importlib.import_module(".".join(parts))
        except ImportError as exc:
            raise UserError(f"Cannot import {path}: {exc}") from exc
    spec = importlib.util.spec_from_file_location(path.stem, path)
    if spec is None or spec.loader is None:
        raise UserError(f"Cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
