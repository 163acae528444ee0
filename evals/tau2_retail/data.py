"""Reading τ²-bench retail task files (validated at the edge) and finding the data folder.

The data is read where it lies (``<repo>/../shared/data/tau2_retail`` by default, or
``$RESOLVEKIT_TAU2_DATA``, or explicit paths); it is never copied into the repository.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from resolvekit.evals.errors import ScenarioError

__all__ = [
    "DATA_ENV",
    "Action",
    "Task",
    "Tau2DataError",
    "default_data_dir",
    "load_tasks",
    "resolve_paths",
]

DATA_ENV = "RESOLVEKIT_TAU2_DATA"
"""Environment variable naming the folder with ``db.json`` and ``tasks_train.json``."""

READ_PREFIXES = ("get_", "find_", "list_", "calculate")
"""Actions that only read: they never change the database."""
TRANSFER = "transfer_to_human_agents"


class Tau2DataError(ScenarioError):
    """A τ²-bench data file is missing or not in the expected format."""


class Action(BaseModel):
    """One reference action of a task (``evaluation_criteria.actions``)."""

    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1)
    arguments: dict[str, Any] = Field(default_factory=dict)
    action_id: str | None = None

    @property
    def writes(self) -> bool:
        """True for actions that change the database."""
        return not self.name.startswith(READ_PREFIXES) and self.name != TRANSFER


class Instructions(BaseModel):
    """What the simulated customer is told (second person)."""

    model_config = ConfigDict(extra="ignore")

    reason_for_call: str = Field(min_length=1)
    known_info: str | None = None
    unknown_info: str | None = None
    task_instructions: str | None = None


class UserScenario(BaseModel):
    model_config = ConfigDict(extra="ignore")

    instructions: Instructions


class Criteria(BaseModel):
    model_config = ConfigDict(extra="ignore")

    actions: list[Action] = Field(default_factory=list)
    communicate_info: list[str] = Field(default_factory=list)


class Task(BaseModel):
    """One τ²-bench task: the customer's instructions and how the conversation is judged."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1)
    user_scenario: UserScenario
    evaluation_criteria: Criteria

    @property
    def instructions(self) -> Instructions:
        return self.user_scenario.instructions

    @property
    def writes(self) -> list[Action]:
        """The reference actions that change the database, in order."""
        return [a for a in self.evaluation_criteria.actions if a.writes]

    @property
    def transfers(self) -> bool:
        """True when the reference hands the customer to a human."""
        return any(a.name == TRANSFER for a in self.evaluation_criteria.actions)


def load_tasks(path: str | Path) -> list[Task]:
    """Read a task file in τ²-bench's format (a JSON list of tasks).

    Raises:
        Tau2DataError: the file is missing, not JSON, or a task is malformed (the message names
            the file and the task).
    """
    path = Path(path)
    if not path.is_file():
        raise Tau2DataError(f"No τ²-bench task file at {path}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise Tau2DataError(f"{path}: not a readable JSON file: {exc}") from exc
    if not isinstance(data, list) or not data:
        raise Tau2DataError(f"{path}: expected a non-empty JSON list of tasks")
    tasks = []
    for index, item in enumerate(data):
        name = item.get("id", f"#{index}") if isinstance(item, dict) else f"#{index}"
        try:
            tasks.append(Task.model_validate(item))
        except ValidationError as exc:
            raise Tau2DataError(f"{path}: task {name} is malformed:\n{exc}") from exc
    return tasks


def default_data_dir() -> Path:
    """``$RESOLVEKIT_TAU2_DATA``, else ``<repo>/../shared/data/tau2_retail``."""
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "tau2_retail"


def resolve_paths(
    tasks: str | Path | None = None, db: str | Path | None = None
) -> tuple[Path, Path]:
    """The task file and ``db.json`` to use: explicit paths win over the data folder.

    Raises:
        Tau2DataError: a file is missing (the message says how to point at the data).
    """
    folder = default_data_dir()
    task_path = Path(tasks) if tasks else folder / "tasks_train.json"
    db_path = Path(db) if db else folder / "db.json"
    if db_path.is_dir():
        db_path = db_path / "db.json"
    for what, path in (("task file", task_path), ("database", db_path)):
        if not path.is_file():
            raise Tau2DataError(
                f"τ²-bench retail {what} not found at {path.resolve()}; pass --tasks/--db "
                f"(or --suite-arg tasks=.../db=...) or set {DATA_ENV} to the data folder"
            )
    return task_path, db_path
