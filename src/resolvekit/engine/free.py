"""Free agentic mode: the model calls tools itself, in a bounded loop; the engine still
validates the arguments, asks the customer before a ``confirm=True`` write, journals every call
ahead of it and recovers calls a crash interrupted."""

from __future__ import annotations

import json
from typing import Any

from ..exceptions import ToolError
from ..messages import Message
from ..playbooks import Context
from ..sessions import FREE_RUN, PendingState, PlaybookRun, Step
from ..tools import Tool
from .escalate import escalate, report_unknown_outcomes
from .state import TurnState

__all__ = ["free_call", "recover_free"]


async def free_call(
    state: TurnState, name: str, args: dict[str, Any], *, confirmed: bool = False
) -> bool:
    """Run the tool the model chose (after the customer's yes for a ``confirm=True`` one).

    Returns:
        True when the model should decide again with the tool's result in the transcript.
    """
    agent = state.agent
    state.steps += 1
    if state.steps > agent.max_steps:
        await escalate(state, f"step budget of {agent.max_steps} tool calls exhausted")
        return False
    tool = agent.tools[name]
    run = state.free_run()
    if tool.confirm and not confirmed:
        _ask_to_confirm(state, run, tool, name, args)
        return False
    result = await _context(state, run).try_call(tool, **args)
    _record_tool_message(state, name, args, tool, result)
    if state.unknown:
        await report_unknown_outcomes(state)
        return False
    return True


def _ask_to_confirm(
    state: TurnState, run: PlaybookRun, tool: Tool[Any], name: str, args: dict[str, Any]
) -> None:
    question = state.agent.phrases.confirm_tool.format(
        action=(tool.description or name).rstrip("."), args=_render_args(args)
    )
    step = Step(index=run.base + len(run.journal), kind="confirm", key=question, status="pending")
    run.journal.append(step)
    state.conv.pending = PendingState(
        kind="tool_confirm",
        question=question,
        run_id=run.id,
        step=step.index,
        tool={"name": name, "args": args},
    )
    state.say(question)
    state.waiting()


async def recover_free(state: TurnState) -> bool:
    """An idempotent call left ``started`` is made again with its key; any other is reported to
    a human as ``unknown_outcome``, never repeated.

    Returns:
        True when the conversation is now with a human.
    """
    free = state.conv.run(FREE_RUN)
    started = [
        s for s in (free.journal if free else []) if s.kind == "call" and s.status == "started"
    ]
    if free is None or not started:
        return False
    state.recovered = True
    ctx = _context(state, free)
    for step in started:
        state.note("free", event="recover", tool=step.key, step=step.index)
        tool = state.agent.tools.get(step.key)
        if tool is None:
            outcome: Any = ToolError(step.key, "unknown_outcome", "the tool is gone")
            step.status, step.error = "error", outcome.to_json()
            # Traced as a recovered call's error is, so the unknown outcome goes to a human.
            state.hooks().trace("tool", {"tool": step.key, "args": step.args, **outcome.to_json()})
        else:
            outcome = await ctx.recover_step(tool, step)
        _record_tool_message(state, step.key, step.args, tool, outcome)
    await state.agent.store.save(state.conv)
    return await report_unknown_outcomes(state)


def _context(state: TurnState, run: PlaybookRun) -> Context[Any]:
    """A context that appends to the free-mode journal (it is never replayed)."""
    ctx: Context[Any] = Context(
        conversation=state.conv, run=run, deps=state.deps, hooks=state.hooks()
    )
    ctx.append_only()
    return ctx


def _record_tool_message(
    state: TurnState, name: str, args: dict[str, Any], tool: Tool[Any] | None, result: Any
) -> None:
    """The call's result in the transcript, where the model reads it."""
    if isinstance(result, ToolError):
        shown = result.to_json()
    else:
        shown = tool.dump_result(result) if tool is not None else result
    state.conv.transcript.append(
        Message(
            role="tool",
            text=json.dumps(shown, default=str),
            channel=state.conv.channel,
            tool_call={"name": name, "args": args},
        )
    )


def _render_args(args: dict[str, Any]) -> str:
    return ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in args.items())
