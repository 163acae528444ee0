"""A human agent runs one of the agent's tools in a handed-off conversation, through the same
gates as the agent: arguments validated, a write only after an explicit confirmation, the call
journaled ahead of it with the same idempotency key scheme, the result journaled and traced.

The call goes into the conversation's free-mode journal (:data:`~resolvekit.sessions.FREE_RUN`,
never replayed), so a crash during it is recovered as any interrupted call is
(``agent.recover()``); each step the human made carries ``Step.human`` (their name and the
click's request id). A request id already in the journal returns that call's outcome and
calls nothing again: a double click or a retried POST writes once.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..exceptions import ToolError
from ..messages import Message
from ..playbooks import Context, Hooks
from ..results import TraceEvent
from ..sessions import FREE_RUN, Conversation, PlaybookRun, Step
from ._held import held
from .errors import ConsoleRefusal

if TYPE_CHECKING:
    from ..agent import Agent

__all__ = ["ToolRun", "run_tool"]

log = logging.getLogger("resolvekit.console")


@dataclass(kw_only=True)
class ToolRun:
    """What happened when a human ran a tool."""

    tool: str
    args: dict[str, Any]
    status: str
    """``done``, ``error``, ``started`` (a duplicate of a call still running) or ``confirm``
    (a write that waits for the human's confirm click: nothing ran)."""
    result: Any = None
    error: dict[str, Any] | None = None
    duplicate: bool = False
    """The request id was already journaled: this is that call's outcome; nothing ran again."""
    trace: list[TraceEvent] = field(default_factory=list)
    """The call's trace events, each with the human's name (``data["human"]``); also logged
    to the ``resolvekit.console`` logger, redacted by the agent's redaction policy."""


def needs_confirmation(agent: Agent[Any], name: str) -> bool:
    """Whether the tool runs only after a confirm click (writes and ``confirm=True`` tools)."""
    tool = agent.tools.get(name)
    return tool is not None and (tool.effect == "write" or tool.confirm)


async def run_tool(
    agent: Agent[Any],
    conversation_id: str,
    name: str,
    args: dict[str, Any],
    *,
    human: str,
    request: str,
    confirmed: bool = False,
) -> ToolRun:
    """Run tool ``name`` with ``args`` in a handed-off conversation as human agent ``human``.

    Args:
        request: the click's id (one per rendered button): a second call with it returns the
            first call's outcome and runs nothing.
        confirmed: the human clicked "confirm"; a write (or ``confirm=True`` tool) without it
            returns ``status="confirm"`` and runs nothing.

    Raises:
        ConsoleRefusal: no such conversation or tool, the conversation is not with a human,
            or the arguments are invalid (nothing is journaled).
    """
    await agent.refresh_tools()
    tool = agent.tools.get(name)
    if tool is None:
        raise ConsoleRefusal("unknown_tool", f"Agent {agent.name!r} has no tool {name!r}")
    if not request:
        raise ConsoleRefusal("invalid", "A tool run needs a request id")
    try:
        valid = tool.validate_args(args)
    except ToolError as exc:
        raise ConsoleRefusal("invalid", f"Invalid arguments for {name}: {exc.message}") from None
    if needs_confirmation(agent, name) and not confirmed:
        return ToolRun(tool=name, args=valid, status="confirm")
    async with held(agent.store, conversation_id) as conv:
        earlier = _earlier(conv, request)
        if earlier is not None:
            return ToolRun(
                tool=earlier.key,
                args=earlier.args,
                status=earlier.status,
                result=earlier.result,
                error=earlier.error,
                duplicate=True,
            )
        return await _call(agent, conv, tool.name, valid, human=human, request=request)


async def _call(
    agent: Agent[Any],
    conv: Conversation,
    name: str,
    args: dict[str, Any],
    *,
    human: str,
    request: str,
) -> ToolRun:
    tool = agent.tools[name]
    run = conv.run(FREE_RUN)
    if run is None:
        run = PlaybookRun(id=FREE_RUN, intent=FREE_RUN, status="free")
        conv.runs.append(run)
    stamp = {"name": human, "request": request}
    first = len(run.journal)
    if tool.confirm:
        # The human's click is the yes the tool's gate looks for, with its evidence.
        run.journal.append(
            Step(
                index=run.base + first,
                kind="confirm",
                key=f"{human} confirmed {name}",
                args=args,
                result=True,
                evidence={"by": "human_agent", "name": human, "via": "console", "at": time.time()},
            )
        )
    trace: list[TraceEvent] = []

    def stamp_new_steps() -> None:
        for step in run.journal[first:]:
            if step.human is None:
                step.human = stamp

    async def checkpoint() -> None:  # the write-ahead save carries the human's name
        stamp_new_steps()
        await agent.store.save(conv)

    def on_trace(kind: str, data: dict[str, Any]) -> None:
        event = TraceEvent(kind=kind, data={**data, "human": human})
        trace.append(event)
        shown = agent.redaction.redact_value(event.data) if agent.redaction else event.data
        log.info("console trace %s: %s", kind, json.dumps(shown, default=str))

    ctx: Context[Any] = Context(
        conversation=conv,
        run=run,
        deps=agent.deps,
        hooks=Hooks(checkpoint=checkpoint, tools=agent.tools, knowledge=None, trace=on_trace),
    )
    ctx.append_only()
    outcome = await ctx.try_call(name, **args)
    stamp_new_steps()
    step = run.journal[-1]
    shown = outcome.to_json() if isinstance(outcome, ToolError) else step.result
    conv.transcript.append(
        Message(
            role="tool",
            text=json.dumps(shown, default=str),
            channel=conv.channel,
            tool_call={"name": name, "args": args, "human": human},
        )
    )
    await agent.store.save(conv)
    log.info("console: %s ran %s in conversation %s: %s", human, name, conv.id, step.status)
    return ToolRun(
        tool=name,
        args=args,
        status=step.status,
        result=step.result,
        error=step.error,
        trace=trace,
    )


def _earlier(conv: Conversation, request: str) -> Step | None:
    run = conv.run(FREE_RUN)
    for step in reversed(run.journal if run else []):
        if step.kind == "call" and step.human and step.human.get("request") == request:
            return step
    return None
