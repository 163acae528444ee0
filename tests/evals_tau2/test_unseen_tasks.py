"""The unseen task set (``evals/tau2_retail/tasks_unseen.json``) is valid against the real data:
every reference action replays on a copy of ``db.json`` with the suite's own tools, every write
takes effect, and the dev / holdout split is the fixed rule of :mod:`evals.splits`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from evals.splits import in_split
from evals.tau2_retail.bench import build_suite
from evals.tau2_retail.convert import expected_outcome, replay_writes
from evals.tau2_retail.data import Task, Tau2DataError, default_data_dir, load_tasks

UNSEEN = Path(__file__).resolve().parents[2] / "evals" / "tau2_retail" / "tasks_unseen.json"
REAL = default_data_dir()
needs_data = pytest.mark.skipif(
    not (REAL / "db.json").is_file(), reason=f"τ²-bench data not at {REAL}"
)


@pytest.fixture(scope="module")
def tasks() -> list[Task]:
    return load_tasks(UNSEEN)


def test_the_file_has_at_least_40_new_tasks_with_unique_u_ids(tasks: list[Task]) -> None:
    ids = [t.id for t in tasks]
    assert len(ids) >= 40
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"u\d{2,3}", i) for i in ids), ids


def test_the_split_is_the_fixed_rule_and_both_halves_are_played(tasks: list[Task]) -> None:
    dev = [t.id for t in tasks if in_split(t.id, "dev")]
    holdout = [t.id for t in tasks if in_split(t.id, "holdout")]
    assert sorted(dev + holdout) == sorted(t.id for t in tasks)
    assert len(dev) >= 20 and len(holdout) >= 10


def test_every_kind_of_policy_action_and_outcome_is_covered(tasks: list[Task]) -> None:
    names = {a.name for t in tasks for a in t.evaluation_criteria.actions}
    for kind in (
        "cancel_pending_order",
        "modify_pending_order_items",
        "modify_pending_order_address",
        "modify_pending_order_payment",
        "return_delivered_order_items",
        "exchange_delivered_order_items",
        "modify_user_address",
        "transfer_to_human_agents",
        "find_user_id_by_email",
        "find_user_id_by_name_zip",
    ):
        assert kind in names, kind
    outcomes = {expected_outcome(t) for t in tasks}
    assert outcomes == {"resolved", "escalated", "answered", "refused_no_change"}


@needs_data
def test_no_task_text_is_copied_from_the_train_tasks(tasks: list[Task]) -> None:
    train = json.loads((REAL / "tasks_train.json").read_text(encoding="utf-8"))
    seen = {x["user_scenario"]["instructions"]["reason_for_call"].strip() for x in train}
    assert not [t.id for t in tasks if t.instructions.reason_for_call.strip() in seen]


@needs_data
def test_every_reference_action_replays_on_the_real_database(tasks: list[Task]) -> None:
    from examples.retail.db import load_db
    from examples.retail.tools import apply_action

    db = load_db(REAL / "db.json")
    for task in tasks:
        copy = db.fork()
        for action in task.evaluation_criteria.actions:
            try:
                apply_action(copy, action.name, action.arguments)
            except Exception as exc:  # any refusal or bad argument makes the task wrong
                pytest.fail(f"task {task.id}: {action.name} {action.arguments}: {exc}")
        _, applied, refused = replay_writes(task, db)
        assert not refused, (task.id, refused)
        assert len(applied) == len(task.writes)


@needs_data
def test_the_suite_builds_per_split(tasks: list[Task]) -> None:
    dev = build_suite(UNSEEN, REAL / "db.json", model="test", split="dev")
    holdout = build_suite(UNSEEN, REAL / "db.json", model="test", split="holdout")
    assert dev.name == "tau2_retail-dev" and holdout.name == "tau2_retail-holdout"
    played = {s.id for s in dev.scenarios} | {s.id for s in holdout.scenarios}
    assert played == {f"task-{t.id}" for t in tasks}
    assert not {s.id for s in dev.scenarios} & {s.id for s in holdout.scenarios}
    with pytest.raises(Tau2DataError):
        build_suite(UNSEEN, REAL / "db.json", model="test", ids=["u01"], split="holdout")
