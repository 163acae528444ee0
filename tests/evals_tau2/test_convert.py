"""τ²-bench tasks -> scenarios: initial and expected state, facts, outcome, tags; task files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.tau2_retail.convert import state_patch, tasks_to_scenarios
from evals.tau2_retail.customer import TaskCustomer
from evals.tau2_retail.data import DATA_ENV, Task, Tau2DataError, load_tasks, resolve_paths
from examples.retail.db import RetailDB
from resolvekit.evals import Scenario

from .shop import database, tasks, write_data


@pytest.fixture(scope="module")
def scenarios() -> dict[str, Scenario]:
    db = RetailDB.model_validate(database())
    converted = tasks_to_scenarios([Task.model_validate(t) for t in tasks()], db)
    return {s.id: s for s in converted}


def test_every_task_becomes_a_scenario_with_a_task_customer(
    scenarios: dict[str, Scenario],
) -> None:
    assert sorted(scenarios) == sorted(f"task-{t['id']}" for t in tasks())
    assert all(isinstance(s.user, TaskCustomer) for s in scenarios.values())


def test_initial_state_is_a_fresh_isolated_copy_per_trial(scenarios: dict[str, Scenario]) -> None:
    scenario = scenarios["task-ex"]
    first, second = scenario.fresh_state(), scenario.fresh_state()
    assert isinstance(first, RetailDB)
    assert first.dump() == database()
    first.orders["#W0000001"].status = "cancelled"
    assert second.orders["#W0000001"].status == "delivered"
    assert scenario.fresh_state().dump() == database()


def test_expected_state_is_the_reference_writes_applied(scenarios: dict[str, Scenario]) -> None:
    expect = scenarios["task-ex"].expect
    assert expect.outcome == "resolved"
    assert expect.state == {
        "orders": {
            "#W0000001": {
                "status": "exchange requested",
                "exchange_items": ["1000000001"],
                "exchange_new_items": ["1000000002"],
                "exchange_payment_method_id": "credit_card_1111111",
                "exchange_price_difference": -10.0,
            }
        }
    }
    assert expect.facts == []
    cancelled = scenarios["task-cx"].expect.state["orders"]["#W0000002"]
    assert cancelled["status"] == "cancelled"
    assert cancelled["cancel_reason"] == "no longer needed"


def test_only_writes_are_reference_actions(scenarios: dict[str, Scenario]) -> None:
    actions = scenarios["task-ex"].reference_actions
    assert actions is not None
    assert [a.tool for a in actions] == ["exchange_delivered_order_items"]
    assert scenarios["task-tr"].reference_actions == []  # the transfer changes nothing
    assert scenarios["task-info"].reference_actions == []


@pytest.mark.parametrize(
    ("task", "outcome", "tags", "intent"),
    [
        ("ex", "resolved", ["exchange_delivered_order_items"], "exchange_delivered_order_items"),
        ("cx", "resolved", ["cancel_pending_order"], "cancel_pending_order"),
        ("tr", "escalated", ["transfer_to_human_agents"], "transfer_to_human_agents"),
        ("nc", "refused_no_change", ["no_change"], "no_change"),
        ("info", "answered", ["no_change"], "no_change"),
        ("gc", "refused_no_change", ["modify_pending_order_items"], "modify_pending_order_items"),
        ("addr", "resolved", ["modify_pending_order_address"], "modify_pending_order_address"),
    ],
)
def test_outcome_and_tags_come_from_the_actions(
    scenarios: dict[str, Scenario], task: str, outcome: str, tags: list[str], intent: str
) -> None:
    scenario = scenarios[f"task-{task}"]
    assert scenario.expect.outcome == outcome
    assert scenario.tags == tags
    assert scenario.intent == intent


def test_no_change_tasks_expect_the_initial_state(scenarios: dict[str, Scenario]) -> None:
    for name in ("task-tr", "task-nc", "task-info"):
        assert scenarios[name].expect.state == {}


def test_required_facts_are_the_communicate_info(scenarios: dict[str, Scenario]) -> None:
    assert scenarios["task-info"].expect.facts == ["30.0"]


def test_a_write_the_database_refuses_expects_no_change(scenarios: dict[str, Scenario]) -> None:
    scenario = scenarios["task-gc"]  # the gift card cannot pay the price difference
    assert scenario.expect.state == {}
    assert scenario.reference_actions == []
    assert "Insufficient gift card balance" in scenario.description
    user: object = scenario.user  # typed as the built-in users; a TaskCustomer here
    assert isinstance(user, TaskCustomer)
    assert [g.kind for g in user.goals] == ["modify_items"]  # it still asks


def test_state_patch_keeps_only_what_changed() -> None:
    before = {"a": {"x": 1, "y": [1, 2]}, "b": 2}
    after = {"a": {"x": 1, "y": [1, 3], "z": True}, "b": 2}
    assert state_patch(before, after) == {"a": {"y": [1, 3], "z": True}}
    assert state_patch(before, before) == {}
    with pytest.raises(Tau2DataError, match="remove keys"):
        state_patch(before, {"a": {"x": 1, "y": [1, 2]}})


def test_duplicate_task_ids_are_rejected() -> None:
    db = RetailDB.model_validate(database())
    task = Task.model_validate(tasks()[0])
    with pytest.raises(Tau2DataError, match="duplicate"):
        tasks_to_scenarios([task, task], db)


def test_task_files_are_validated(tmp_path: Path) -> None:
    with pytest.raises(Tau2DataError, match="No τ²-bench task file"):
        load_tasks(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(Tau2DataError, match="not a readable JSON"):
        load_tasks(bad)
    bad.write_text(json.dumps([{"id": "1", "user_scenario": {}}]), encoding="utf-8")
    with pytest.raises(Tau2DataError, match="task 1 is malformed"):
        load_tasks(bad)
    assert [t.id for t in load_tasks(write_data(tmp_path)[0])] == [t["id"] for t in tasks()]


def test_paths_come_from_arguments_or_the_data_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    task_file, db_file = write_data(tmp_path / "data")
    monkeypatch.setenv(DATA_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(Tau2DataError, match=DATA_ENV):
        resolve_paths()
    assert resolve_paths(task_file, db_file.parent) == (task_file, db_file)
    (tmp_path / "data" / "tasks_train.json").write_text(task_file.read_text(), encoding="utf-8")
    monkeypatch.setenv(DATA_ENV, str(tmp_path / "data"))
    assert resolve_paths() == (tmp_path / "data" / "tasks_train.json", db_file)
