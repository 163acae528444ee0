"""τ²-bench retail tasks as resolvekit :class:`~resolvekit.evals.Scenario` s.

For each task:

- initial state: the database from ``db.json``, an isolated copy per trial (a copy-on-write
  :meth:`~examples.retail.db.RetailDB.fork`: records are copied when the agent fetches them);
- expected end state: the database after the task's reference *write* actions, applied with the
  retail example's own :func:`~examples.retail.tools.apply_action` (reads and the transfer change
  nothing); stored as a patch over the initial state, so a failing check shows only the diff;
- required facts: the task's ``communicate_info``;
- expected outcome: a write -> ``resolved``; only a transfer -> ``escalated``; nothing to write
  -> ``answered`` when there are facts to tell, else ``refused_no_change``;
- tags: the write action names (the task's "intents"), ``transfer_to_human_agents`` or
  ``no_change``;
- customer: a :class:`~evals.tau2_retail.customer.TaskCustomer`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from resolvekit.evals import Expect, Scenario, ToolCall
from resolvekit.evals.scenario import ExpectedOutcome

from .customer import TaskCustomer
from .data import TRANSFER, Action, Task, Tau2DataError
from .goals import derive_goals, derive_identity, known_sentences, opening_for

if TYPE_CHECKING:
    from examples.retail.db import RetailDB

__all__ = [
    "expected_outcome",
    "intent_of",
    "replay_writes",
    "state_patch",
    "tags_of",
    "task_to_scenario",
    "tasks_to_scenarios",
]

NO_CHANGE = "no_change"
MULTIPLE = "multiple"


def expected_outcome(task: Task, applied: Sequence[Action] | None = None) -> ExpectedOutcome:
    """What a correct agent does in this task (see the module docstring).

    Args:
        task: the task.
        applied: the reference writes that take effect (default: all of them); a task whose
            writes are all refused by the database expects no change.
    """
    writes = task.writes if applied is None else applied
    if task.transfers:
        return "escalated"
    if writes:
        return "resolved"
    return "answered" if task.evaluation_criteria.communicate_info else "refused_no_change"


def replay_writes(task: Task, db: RetailDB) -> tuple[RetailDB, list[Action], list[str]]:
    """Apply the task's reference writes to a copy of ``db``, as τ²-bench's replay does.

    A write the database refuses (``ToolRefusal``: wrong status, insufficient gift card
    balance...) has no effect, like a tool error in τ²-bench; it is reported, not raised.

    Returns:
        ``(expected database, the writes that took effect, why the others were refused)``.

    Raises:
        Tau2DataError: an action is unknown or has arguments the action does not take.
    """
    from examples.retail.tools import InvalidAction, apply_action
    from resolvekit.exceptions import ToolRefusal

    expected = _copy_touched(task, db)
    applied: list[Action] = []
    refused: list[str] = []
    for action in task.writes:
        try:
            apply_action(expected, action.name, action.arguments)
        except ToolRefusal as exc:
            refused.append(f"{action.name}: {exc}")
            continue
        except InvalidAction as exc:
            raise Tau2DataError(f"task {task.id}: {exc}") from exc
        applied.append(action)
    return expected, applied, refused


def tags_of(task: Task) -> list[str]:
    """The task's write action names in first-seen order (its intents), else its kind."""
    tags: list[str] = []
    for action in task.writes:
        if action.name not in tags:
            tags.append(action.name)
    if task.transfers:
        tags.append(TRANSFER)
    return tags or [NO_CHANGE]


def intent_of(task: Task) -> str:
    """One label per task for the per-intent table: its only tag, or ``multiple``."""
    tags = tags_of(task)
    return tags[0] if len(tags) == 1 else MULTIPLE


def state_patch(before: Any, after: Any) -> Any:
    """The smallest patch that turns ``before`` into ``after`` under mapping-merge semantics.

    Mappings recurse key by key (unchanged keys left out); anything else that changed is
    replaced whole. Returns ``{}`` when nothing changed.

    Raises:
        Tau2DataError: a key was removed (a merge patch cannot express that).
    """
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        removed = [k for k in before if k not in after]
        if removed:
            raise Tau2DataError(f"reference actions remove keys {removed}; cannot express it")
        patch: dict[str, Any] = {}
        for key, value in after.items():
            if key not in before:
                patch[key] = value
            elif before[key] != value:
                patch[key] = state_patch(before[key], value)
        return patch
    return after


def _user_of(task: Task, data: Mapping[str, Any]) -> Mapping[str, Any] | None:
    users: Mapping[str, Mapping[str, Any]] = data["users"]
    for action in task.writes:
        args = action.arguments
        if "order_id" in args and args["order_id"] in data["orders"]:
            return users.get(data["orders"][args["order_id"]]["user_id"])
        if "user_id" in args:
            return users.get(args["user_id"])
    return None


def _copy_touched(task: Task, db: RetailDB) -> RetailDB:
    """A database sharing every record with ``db`` except those the task's writes name (and
    their owners), which are deep copies: one full copy per task would cost ~0.1 s each.
    :func:`tasks_to_scenarios` checks that ``db`` was left untouched."""
    from examples.retail.db import RetailDB

    orders = dict(db.orders)
    users = dict(db.users)
    for action in task.writes:
        args = action.arguments
        order = db.orders.get(str(args.get("order_id")))
        if order is not None:
            orders[order.order_id] = order.model_copy(deep=True)
            owner = db.users.get(order.user_id)
            if owner is not None:
                users[owner.user_id] = owner.model_copy(deep=True)
        user = db.users.get(str(args.get("user_id")))
        if user is not None:
            users[user.user_id] = user.model_copy(deep=True)
    return RetailDB.model_construct(products=db.products, users=users, orders=orders)


def _patch_of(db: RetailDB, initial: Mapping[str, Any], expected: RetailDB) -> Any:
    """The patch from ``db`` to ``expected``, looking only at the records copied for writing."""
    patch: dict[str, Any] = {}
    tables: dict[str, tuple[Mapping[str, Any], Mapping[str, Any]]] = {
        "orders": (db.orders, expected.orders),
        "users": (db.users, expected.users),
    }
    for table, (before, after) in tables.items():
        for key, record in after.items():
            if before.get(key) is record:
                continue
            dumped = record.model_dump(mode="json", exclude_none=True)
            change = state_patch(initial[table][key], dumped) if key in before else dumped
            if change:
                patch.setdefault(table, {})[key] = change
    return patch


def task_to_scenario(
    task: Task, db: RetailDB, *, data: Mapping[str, Any] | None = None
) -> Scenario:
    """Turn one task into a scenario played on copies of ``db``.

    Args:
        task: the τ²-bench task.
        db: the initial database (not modified).
        data: ``db.dump()`` when already computed (saves time over many tasks).

    Raises:
        Tau2DataError: a reference action is unknown or malformed.
    """
    initial = data if data is not None else db.dump()
    expected_db, applied, refused = replay_writes(task, db)
    customer = TaskCustomer(
        task_id=task.id,
        opening=opening_for(task),
        identity=derive_identity(task, _user_of(task, initial)),
        goals=derive_goals(task, initial),
        known=known_sentences(task),
    )
    notes = f" (reference writes refused by the database: {'; '.join(refused)})" if refused else ""
    return Scenario(
        id=f"task-{task.id}",
        description=task.instructions.reason_for_call + notes,
        tags=tags_of(task),
        intent=intent_of(task),
        user=customer,
        initial_state=db.fork,
        expect=Expect(
            outcome=expected_outcome(task, applied),
            state=_patch_of(db, initial, expected_db),
            facts=list(task.evaluation_criteria.communicate_info),
        ),
        max_turns=min(60, 12 + 8 * len(customer.goals)),
        reference_actions=[ToolCall(tool=a.name, args=a.arguments) for a in applied],
    )


def tasks_to_scenarios(tasks: Sequence[Task], db: RetailDB) -> list[Scenario]:
    """:func:`task_to_scenario` for every task (duplicate task ids are an error).

    Raises:
        Tau2DataError: duplicate ids, or a task that does not fit the database.
    """
    ids = [t.id for t in tasks]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise Tau2DataError(f"duplicate task ids: {duplicates}")
    data = db.dump()
    before = db.digest()
    scenarios = [task_to_scenario(task, db, data=data) for task in tasks]
    if db.digest() != before:
        raise Tau2DataError(
            "replaying the reference actions changed records outside those the actions name; "
            "the expected states are unreliable"
        )
    return scenarios
