"""The floor and the ceiling every report shows next to the agent.

- ``do_nothing``: an agent that never acts; it answers every message with a help-centre
  pointer. Whatever it "achieves" is what a suite gives away for free.
- ``gold``: no conversation; the scenario's reference actions are applied to the state
  directly with the agent's own tools. It checks the scenarios themselves: a gold run below
  100% means a scenario's expectations cannot be met.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..messages import Reply
from .errors import ScenarioError
from .records import ToolCallRecord
from .scenario import Scenario, ToolCall

if TYPE_CHECKING:
    from ..agent import Agent

__all__ = ["DO_NOTHING_REPLY", "do_nothing_agent", "replay_reference"]

DO_NOTHING_REPLY = (
    "Thanks for reaching out! You can find answers to most questions in our help centre: "
    "https://help.example.com"
)


def do_nothing_agent() -> Agent[Any]:
    """An agent that never calls a tool, never escalates and always points to the help centre."""
    from ..agent import Agent
    from ..models.function import FunctionModel

    model = FunctionModel(lambda request: Reply(text=DO_NOTHING_REPLY), name="do_nothing")
    return Agent(name="do_nothing", model=model, store="memory://", free_mode=True)


async def replay_reference(
    agent: Agent[Any] | None,
    scenario: Scenario,
    deps: Any,
    replay: Callable[[Any, ToolCall], Any] | None = None,
) -> list[ToolCallRecord]:
    """Apply ``scenario.reference_actions`` to ``deps`` with ``agent``'s tools, in order.

    A failing reference action is recorded with its error and stops the replay.

    Args:
        agent: whose tools apply the actions (None when ``replay`` is given).
        scenario: the scenario whose reference actions to replay.
        deps: the backend state to act on.
            The agent's tools see ``scenario.identity`` as ``ctx.identity``.
        replay: when given, ``replay(deps, action)`` applies each action instead of the
            agent's tools (e.g. a benchmark's own action functions); an exception it raises is
            recorded as the action's error.

    Raises:
        ScenarioError: the scenario has no reference actions, or names an unknown tool or
            invalid arguments.
    """
    from ..exceptions import ToolError

    if scenario.reference_actions is None:
        raise ScenarioError(f"Scenario {scenario.id!r} has no reference actions")
    if replay is not None:
        return _replay_with(replay, scenario.reference_actions, deps)
    if agent is None:
        raise ScenarioError(f"Scenario {scenario.id!r}: replaying needs an agent or a replay")
    customer = scenario.customer_id or f"gold:{scenario.id}"
    calls = []
    for index, action in enumerate(scenario.reference_actions):
        tool = agent.tools.get(action.tool)
        if tool is None:
            raise ScenarioError(
                f"Scenario {scenario.id!r}: reference action {action.tool!r} is not a tool of "
                f"the agent (tools: {sorted(agent.tools)})"
            )
        try:
            args = tool.validate_args(action.args)
        except ToolError as exc:
            raise ScenarioError(f"Scenario {scenario.id!r}: {exc}") from exc
        try:
            result = await agent.call_tool(
                tool.name,
                args,
                customer_id=customer,
                deps=deps,
                channel=scenario.channel,
                idempotency_key=f"gold:{scenario.id}:{index}",
                identity=scenario.identity,
            )
        except ToolError as exc:
            calls.append(
                ToolCallRecord(tool=tool.name, args=args, status="error", error=exc.to_json())
            )
            break
        calls.append(ToolCallRecord(tool=tool.name, args=args, status="done", result=result))
    return calls


def _replay_with(
    replay: Callable[[Any, ToolCall], Any], actions: list[ToolCall], deps: Any
) -> list[ToolCallRecord]:
    calls = []
    for action in actions:
        try:
            result = replay(deps, action)
        except Exception as exc:  # recorded: a failing reference action fails the gold run
            error = {"kind": type(exc).__name__, "message": str(exc)}
            calls.append(
                ToolCallRecord(tool=action.tool, args=action.args, status="error", error=error)
            )
            break
        calls.append(
            ToolCallRecord(tool=action.tool, args=action.args, status="done", result=result)
        )
    return calls
