"""The τ²-bench retail suite: the retail example agent against task-driven customers.

Build it with :func:`build_suite` (or run ``resolvekit eval evals/tau2_retail``). The agent
is ``examples/retail``'s, on copies of the τ²-bench database; the gold baseline replays the
reference writes with the example's :func:`~examples.retail.tools.apply_action`.

Each conversation plays on a copy-on-write fork of the database
(:meth:`~examples.retail.db.RetailDB.fork`), and its snapshot reuses the original's dump for
every record the conversation never fetched (:class:`~examples.retail.db.ForkDumper`), so the
harness's cost per conversation follows what the conversation touched, not the database's
size (2.8 MB).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from evals.splits import in_split
from resolvekit.evals import Suite, ToolCall

from .convert import tasks_to_scenarios
from .data import Tau2DataError, load_tasks, resolve_paths

if TYPE_CHECKING:
    from examples.retail.db import RetailDB
    from resolvekit import Agent, Model

__all__ = ["DEFAULT_MODEL", "agent_factory", "build_suite"]

DEFAULT_MODEL = "local"


def _replay(db: RetailDB, call: ToolCall) -> Any:
    from examples.retail.tools import apply_action

    return apply_action(db, call.tool, call.args)


def agent_factory(
    default_model: Model | str = DEFAULT_MODEL,
    data: Path | None = None,
    backend: Literal["inprocess", "mcp", "openapi"] = "inprocess",
    **agent_options: Any,
) -> Callable[[Model | None], Agent[Any]]:
    """Build the retail agent per conversation, sharing the model and the policy knowledge.

    The runner's model (``--model``) wins over ``default_model``. The model object and the
    knowledge base over ``policy.md`` are made once per model and reused, so conversations do
    not each load a classifier or embed the policy again. ``backend`` runs the retail actions
    in-process or through the retail service over MCP or OpenAPI
    (:mod:`examples.retail.services`). ``agent_options`` go to the agent (``approvals=...``).
    """
    from examples.retail.agent import build_agent, policy_knowledge
    from resolvekit.models import infer_model

    cache: dict[int, tuple[Any, Any]] = {}
    default: list[Model] = []

    def make(model: Model | None) -> Agent[Any]:
        if model is None:
            if not default:
                default.append(infer_model(default_model))
            model = default[0]
        if id(model) not in cache:
            cache[id(model)] = (model, policy_knowledge(model=model, data=data))
        return build_agent(
            model=model,
            store="memory://",
            knowledge=cache[id(model)][1],
            backend=backend,
            **agent_options,
        )

    return make


def build_suite(
    tasks: str | Path | None = None,
    db: str | Path | None = None,
    *,
    model: Model | str = DEFAULT_MODEL,
    ids: Sequence[str] | None = None,
    backend: Literal["inprocess", "mcp", "openapi"] = "inprocess",
    split: str = "all",
) -> Suite:
    """The suite over a task file in τ²-bench's format.

    Args:
        tasks: the task file (default: ``tasks_train.json`` in the data folder).
        db: ``db.json`` or its folder (default: the data folder's).
        model: the agent's model when the run names none (default: ``"local"``).
        ids: play only these task ids.
        backend: where the agent's retail actions run (``inprocess``, ``mcp``, ``openapi``).
        split: ``dev``, ``holdout`` or ``all`` (default): the tasks whose *task id* is in that
            split by :func:`evals.splits.in_split` (the rule fixed before any run).

    Raises:
        Tau2DataError: a file is missing or malformed, or ``ids`` names unknown tasks.
        UserError: an unknown split.
    """
    from examples.retail.db import ForkDumper, load_db

    task_path, db_path = resolve_paths(tasks, db)
    chosen = load_tasks(task_path)
    if ids:
        unknown = sorted(set(ids) - {t.id for t in chosen})
        if unknown:
            raise Tau2DataError(f"{task_path}: no tasks with ids {unknown}")
        chosen = [t for t in chosen if t.id in set(ids)]
    chosen = [t for t in chosen if in_split(t.id, split)]
    if not chosen:
        raise Tau2DataError(f"{task_path}: no tasks in split {split!r}")
    database = load_db(db_path)
    policy = db_path.parent if (db_path.parent / "policy.md").is_file() else None
    return Suite(
        name="tau2_retail" if split == "all" else f"tau2_retail-{split}",
        description=f"τ²-bench retail: {len(chosen)} tasks from {task_path.name}",
        scenarios=tasks_to_scenarios(chosen, database),
        agent=agent_factory(model, policy, backend),
        snapshot=ForkDumper(database),
        plain_snapshots=True,
        replay=_replay,
    )
