"""The floor and the ceiling every report shows next to the agent.

- ``do_nothing``: an agent that never acts; it answers every message with a help-centre
  pointer. Whatever it "achieves" is what a suite gives away for free.
- ``gold``: no conversation; the scenario's reference actions are applied to the state
  directly with the agent's own tools. It checks the scenarios themselves: a gold run below
  100% means a scenario's expectations cannot be met.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..messages import Reply
from .errors import ScenarioError
from .records import ToolCallRecord
from .scenario import Scenario

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
    agent: Agent[Any], scenario: Scenario, deps: Any
) -> list[ToolCallRecord]:
    """Apply ``scenario.reference_actions`` to ``deps`` with ``agent``'s tools, in order.

    A failing reference action is recorded with its error and stops the replay.

    Raises:
        ScenarioError: the scenario has no reference actions, or names an unknown tool or
            invalid arguments.
    """
    from ..exceptions import ToolError
    from ..playbooks import Context, _Hooks
    from ..sessions import Conversation, PlaybookRun

    if scenario.reference_actions is None:
        raise ScenarioError(f"Scenario {scenario.id!r} has no reference actions")
    conversation = Conversation.new(f"gold:{scenario.id}", scenario.channel)
    run = PlaybookRun(id="gold", intent=scenario.intent or "gold")

    async def checkpoint() -> None:
        return None

    ctx: Context[Any] = Context(
        conversation=conversation,
        run=run,
        deps=deps,
        hooks=_Hooks(
            checkpoint=checkpoint, tools=agent.tools, knowledge=None, trace=lambda k, d: None
        ),
    )
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
            result = await tool.invoke(ctx, args, f"gold:{scenario.id}:{index}")
        except ToolError as exc:
            calls.append(
                ToolCallRecord(tool=tool.name, args=args, status="error", error=exc.to_json())
            )
            break
        calls.append(ToolCallRecord(tool=tool.name, args=args, status="done", result=result))
    return calls
