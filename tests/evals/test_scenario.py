"""Scenarios from Python, JSON and YAML; per-trial state isolation; clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from resolvekit.evals import GoalUser, Scenario, ScenarioError, ScriptedUser, load_scenarios

DATA = {
    "id": "cancel",
    "tags": ["orders"],
    "user": {"kind": "goal", "goal": "Cancel my order", "facts": {"order number": "W1"}},
    "initial_state": {"orders": {"W1": {"status": "pending"}}},
    "expect": {
        "outcome": "resolved",
        "state": {"orders": {"W1": {"status": "cancelled"}}},
        "facts": ["cancelled"],
        "forbidden": ["refund", {"tool": "cancel_order", "args": {"order_id": "W2"}}],
    },
    "reference_actions": [{"tool": "cancel_order", "args": {"order_id": "W1"}}],
}


def test_json_file_with_one_or_many_scenarios(tmp_path: Path) -> None:
    (tmp_path / "one.json").write_text(json.dumps(DATA))
    (tmp_path / "many.json").write_text(
        json.dumps({"scenarios": [{**DATA, "id": "a"}, {**DATA, "id": "b", "user": ["hi"]}]})
    )
    (tmp_path / "notes.txt").write_text("ignored")
    scenarios = load_scenarios(tmp_path)
    assert [s.id for s in scenarios] == ["a", "b", "cancel"]
    cancel = scenarios[2]
    assert isinstance(cancel.user, GoalUser)
    assert isinstance(scenarios[1].user, ScriptedUser)
    assert [f.describe() for f in cancel.expect.forbidden] == [
        "refund",
        "cancel_order(order_id='W2')",
    ]
    assert (
        cancel.reference_actions is not None and cancel.reference_actions[0].tool == "cancel_order"
    )


def test_yaml_file(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "- id: policy\n"
        "  user: ['How long do returns take?']\n"
        "  expect: {outcome: answered, facts: [30 days]}\n"
    )
    (scenario,) = load_scenarios(path)
    assert scenario.expect.outcome == "answered" and scenario.expect.facts == ["30 days"]


def test_every_trial_gets_its_own_copy_of_data_state() -> None:
    scenario = Scenario.model_validate(DATA)
    first = scenario.fresh_state()
    first["orders"]["W1"]["status"] = "cancelled"
    assert scenario.fresh_state()["orders"]["W1"]["status"] == "pending"


def test_a_callable_state_is_called_per_trial() -> None:
    calls = []

    def factory() -> dict[str, int]:
        calls.append(1)
        return {"n": len(calls)}

    scenario = Scenario(id="s", user=ScriptedUser(lines=["hi"]), initial_state=factory)
    assert [scenario.fresh_state(), scenario.fresh_state()] == [{"n": 1}, {"n": 2}]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({**DATA, "expect": {"check": "x"}}, "only available in Python"),
        ({**DATA, "expect": {"outcome": "maybe"}}, "scenario cancel is invalid"),
        ({**DATA, "max_turns": 0}, "max_turns"),
        ({key: v for key, v in DATA.items() if key != "user"}, "user"),
        ({**DATA, "user": {"kind": "robot"}}, "scenario cancel is invalid"),
    ],
)
def test_invalid_scenarios_name_the_file_and_field(
    tmp_path: Path, content: dict[str, object], message: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(content))
    with pytest.raises(ScenarioError, match=message) as info:
        load_scenarios(path)
    assert "bad.json" in str(info.value)


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="No scenario file"):
        load_scenarios(tmp_path / "missing.yaml")
    (tmp_path / "x.json").write_text("{not json")
    with pytest.raises(ScenarioError, match="not valid JSON"):
        load_scenarios(tmp_path / "x.json")
    (tmp_path / "x.yaml").write_text("a: [b")
    with pytest.raises(ScenarioError, match="not valid YAML"):
        load_scenarios(tmp_path / "x.yaml")
    (tmp_path / "x.toml").write_text("")
    with pytest.raises(ScenarioError, match=r"\.json, \.yaml or \.yml"):
        load_scenarios(tmp_path / "x.toml")
