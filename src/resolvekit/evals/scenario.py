"""Scenarios: a simulated customer, an initial backend state and what must be true at the end.

Scenarios are pydantic models, written in Python or loaded from JSON/YAML with
:func:`load_scenarios`::

    Scenario(
        id="cancel-pending",
        intent="CancelOrder",
        user=GoalUser(goal="Please cancel my order", facts={"order number": "W1234567"}),
        initial_state={"orders": {"W1234567": {"status": "pending"}}},
        expect=Expect(
            outcome="resolved",
            state={"orders": {"W1234567": {"status": "cancelled"}}},
            facts=["cancelled"],
            forbidden=["refund"],
        ),
    )

In files, the initial state is data (deep-copied for each trial) and predicates are not
available: end states are checked by diffing against ``expect.state``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
)

from .errors import ScenarioError
from .users import AnyUser, GoalUser, LLMUser, ScriptedUser, SimulatedUser

__all__ = [
    "Expect",
    "ExpectedOutcome",
    "ForbiddenAction",
    "Scenario",
    "ScenarioApprover",
    "ToolCall",
    "load_scenarios",
]

ExpectedOutcome = Literal["resolved", "escalated", "refused_no_change", "answered"]
"""What a correct agent does: reach the goal state, hand over to a human, decline without
changing anything, or answer a question (no change, the facts said)."""

_BUILTIN_USERS = (ScriptedUser, GoalUser, LLMUser)

StateCheck = Callable[[Any, Any], bool | str]
"""``check(initial, final) -> True`` (pass), ``False`` or a message (fail); both arguments are
plain-data snapshots of the backend state."""


class ToolCall(BaseModel):
    """One tool call: a reference action for gold replay."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tool: str
    args: dict[str, Any] = Field(default_factory=dict)


class ForbiddenAction(BaseModel):
    """A tool that must not be called; with ``args``, only calls with those argument values.

    A bare string is accepted for a tool name (``"refund"``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    tool: str
    args: dict[str, Any] | None = None

    def matches(self, tool: str, args: dict[str, Any]) -> bool:
        """True when a call of ``tool`` with ``args`` is forbidden by this rule."""
        if tool != self.tool:
            return False
        if self.args is None:
            return True
        return all(k in args and args[k] == v for k, v in self.args.items())

    def describe(self) -> str:
        if not self.args:
            return self.tool
        shown = ", ".join(f"{k}={v!r}" for k, v in self.args.items())
        return f"{self.tool}({shown})"


class Expect(BaseModel):
    """What must be true when the conversation ends."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    outcome: ExpectedOutcome = "resolved"
    state: Any = None
    """The expected end state, as a patch over the initial state: mappings merge key by key,
    anything else is replaced, and everything not mentioned must be unchanged. When None, the
    expected end state is what the scenario's ``reference_actions`` produce, or else the initial
    state (no change) unless a ``check`` predicate is given."""
    check: StateCheck | None = None
    """A predicate on the initial and final snapshots (Python scenarios only)."""
    facts: list[str] = Field(default_factory=list)
    """Strings the agent must say (compared without case, punctuation or number formatting)."""
    forbidden: list[ForbiddenAction] = Field(default_factory=list)
    """Tools (optionally with arguments) the agent must not call, whatever their result."""

    @field_validator("forbidden", mode="before")
    @classmethod
    def _names_to_rules(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"tool": v} if isinstance(v, str) else v for v in value]
        return value


class ScenarioApprover(BaseModel):
    """The person who decides the approvals a scenario's conversation asks for
    (``ctx.approve``): the runner calls ``agent.decide`` for them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(default="supervisor", min_length=1)
    role: str = Field(min_length=1)
    approve: bool = True
    note: str | None = None
    after_turns: int = Field(default=0, ge=0)
    """Customer messages answered while the approval waits before the decision (simulated
    time: the customer keeps writing, the approver decides later)."""


class Scenario(BaseModel):
    """One customer situation to play against the agent, with what a correct agent achieves."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    id: str = Field(min_length=1)
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    intent: str | None = None
    """The intent the customer has, for per-intent breakdowns (default: the agent's)."""
    user: AnyUser
    """The simulated customer; a list of strings is a :class:`ScriptedUser`. Python scenarios
    may also give an instance of any :class:`SimulatedUser` subclass."""
    initial_state: Any = None
    """The backend state at the start: a callable returning a fresh state, or plain data that
    is deep-copied for each trial."""
    expect: Expect = Field(default_factory=Expect)
    max_turns: int = Field(default=10, ge=1)
    """Customer messages allowed before the conversation is cut off."""
    reference_actions: list[ToolCall] | None = None
    """The tool calls a perfect agent makes (gold replay); ``[]`` means "change nothing"."""
    channel: str = "chat"
    approver: ScenarioApprover | None = None
    """Who decides the approvals the agent asks for; None leaves them pending."""
    customer_id: str | None = None
    """The customer id the agent sees (``ctx.customer_id``). Default: a new unique id per
    conversation. Set it when your tools check records against the customer, as they should;
    every trial then uses the same id, so the suite's agent needs its own store per
    conversation (``store="memory://"``)."""
    identity: Any = None
    """Who the customer is once verified, as the agent's verify step (``@agent.verify``) would
    return it in JSON form: the gold baseline's tool calls see it as ``ctx.identity`` (the
    conversation itself verifies through the agent)."""

    @field_validator("user", mode="wrap")
    @classmethod
    def _lines_to_script(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        if isinstance(value, list):
            return ScriptedUser(lines=value)
        if isinstance(value, SimulatedUser) and not isinstance(value, _BUILTIN_USERS):
            return value  # a custom customer class (Python scenarios): kept as it is
        return handler(value)

    def fresh_state(self) -> Any:
        """A new, isolated copy of the initial state for one trial."""
        if callable(self.initial_state):
            return self.initial_state()
        return copy.deepcopy(self.initial_state)


def load_scenarios(path: str | Path) -> list[Scenario]:
    """Load scenarios from a JSON or YAML file, or from every such file in a folder.

    A file holds one scenario, a list of them, or ``{"scenarios": [...]}``.

    Raises:
        ScenarioError: the file is missing, unreadable, or a scenario is invalid (the message
            names the file, the scenario and the field).
    """
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in (".json", ".yaml", ".yml"))
        return [s for f in files for s in load_scenarios(f)]
    if not path.is_file():
        raise ScenarioError(f"No scenario file at {path}")
    data = _read(path)
    if isinstance(data, dict) and "scenarios" in data:
        data = data["scenarios"]
    items: Iterable[Any] = data if isinstance(data, list) else [data]
    scenarios = []
    for index, item in enumerate(items):
        name = item.get("id", f"#{index}") if isinstance(item, dict) else f"#{index}"
        expect = item.get("expect") if isinstance(item, dict) else None
        if isinstance(expect, dict) and "check" in expect:
            raise ScenarioError(
                f"{path}: scenario {name}: `check` predicates are only available in Python "
                f"scenarios; use `expect.state` in files"
            )
        try:
            scenarios.append(Scenario.model_validate(item))
        except ValidationError as exc:
            raise ScenarioError(f"{path}: scenario {name} is invalid:\n{exc}") from exc
    return scenarios


def _read(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ScenarioError(f"{path}: not valid JSON: {exc}") from exc
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml  # a core dependency, imported on first use

        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ScenarioError(f"{path}: not valid YAML: {exc}") from exc
    raise ScenarioError(f"{path}: scenario files must end in .json, .yaml or .yml")
