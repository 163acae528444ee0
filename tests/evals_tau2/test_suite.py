"""The suite end to end: baselines, the agent on the offline test model, options and CLIs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.tau2_retail.__main__ import main as tau2_main
from evals.tau2_retail.bench import build_suite
from evals.tau2_retail.data import Tau2DataError, default_data_dir
from resolvekit.evals import RunOptions, load_suite, run_suite
from resolvekit.evals.cli import main as eval_main
from resolvekit.exceptions import UserError

from .shop import database, write_data

SUITE_DIR = Path(__file__).resolve().parents[2] / "evals" / "tau2_retail"
NO_CHANGE = {"task-nc", "task-gc"}


@pytest.fixture
def data(tmp_path: Path) -> tuple[Path, Path]:
    return write_data(tmp_path / "elsewhere")


async def test_gold_scores_everything_and_do_nothing_only_the_no_change_tasks(
    data: tuple[Path, Path],
) -> None:
    suite = build_suite(*data, model="test")
    run = await run_suite(suite, RunOptions(trials=1, progress=False, concurrency=2))
    gold = run.records["gold"]
    assert len(gold) == len(suite.scenarios)
    assert all(r.success and r.state_ok for r in gold), [r.reason for r in gold if not r.success]
    do_nothing = {r.scenario for r in run.records["do_nothing"] if r.success}
    assert do_nothing == NO_CHANGE
    for record in run.records["agent"]:  # every conversation ran and was scored
        assert record.error is None, record.error
        assert record.turns and record.turns[0].role == "customer"


async def test_conversations_never_see_each_others_writes(data: tuple[Path, Path]) -> None:
    # Every trial of every task plays on its own fork of one database, several at once: a
    # write leaking into the shared original (or another fork) would make the next trial's
    # reference write refused (the order is no longer pending) or its end state wrong.
    suite = build_suite(*data, model="test")
    options = RunOptions(trials=2, progress=False, concurrency=4)
    run = await run_suite(suite, options)
    gold = run.records["gold"]
    assert len(gold) == 2 * len(suite.scenarios)
    assert all(r.success for r in gold), [(r.scenario, r.trial, r.reason) for r in gold]
    agent = run.records["agent"]
    assert any(r.changed for r in agent)  # the agent wrote too
    assert all(r.error is None for r in agent)
    for scenario in suite.scenarios:  # the original is as loaded
        assert scenario.fresh_state().dump() == database()


async def test_a_wrong_end_state_fails_with_the_diff_shown(data: tuple[Path, Path]) -> None:
    suite = build_suite(*data, model="test", ids=["ex"])
    scenario = suite.scenarios[0]
    replay = suite.replay
    assert replay is not None

    def wrong(db: object, call: object) -> object:  # the exchange lands on another variant
        from resolvekit.evals import ToolCall

        assert isinstance(call, ToolCall)
        args = {**call.args, "new_item_ids": ["1000000001"]}
        return replay(db, ToolCall(tool=call.tool, args=args))

    suite.replay = wrong
    run = await run_suite(suite, RunOptions(trials=1, progress=False))
    gold = run.records["gold"][0]
    assert scenario.id == gold.scenario
    assert not gold.success  # the new item is the old one: refused, nothing changes
    assert any(d.path.startswith("orders.#W0000001") for d in gold.diff)


def test_the_suite_loads_with_options_through_the_eval_convention(
    data: tuple[Path, Path],
) -> None:
    tasks, db = data
    suite = load_suite(SUITE_DIR, {"tasks": str(tasks), "db": str(db), "ids": "ex,cx"})
    assert [s.id for s in suite.scenarios] == ["task-ex", "task-cx"]
    with pytest.raises(UserError, match="rejects the options"):
        load_suite(SUITE_DIR, {"colour": "blue"})
    with pytest.raises(UserError, match="exposes no suite"):
        load_suite("demo", {"tasks": str(tasks)})  # a plain Suite takes no options
    with pytest.raises(Tau2DataError, match="no tasks with ids"):
        load_suite(SUITE_DIR, {"tasks": str(tasks), "db": str(db), "ids": "nope"})


def test_resolvekit_eval_runs_a_task_file_from_another_location(
    data: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tasks, db = data
    out = tmp_path / "out"
    code = eval_main(
        [
            str(SUITE_DIR),
            "--trials",
            "1",
            "--model",
            "test",
            "--no-progress",
            "--out",
            str(out),
            "--suite-arg",
            f"tasks={tasks}",
            "--suite-arg",
            f"db={db}",
            "--suite-arg",
            "ids=ex,nc",
        ]
    )
    assert code == 0
    report = json.loads((out / "report.json").read_text())
    assert report["suite"] == "tau2_retail"
    assert "tau2_retail" in capsys.readouterr().out
    assert eval_main([str(SUITE_DIR), "--suite-arg", "no-equals-sign"]) == 1


def test_python_m_entry_point_prints_the_scorecard_and_failures(
    data: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    tasks, db = data
    code = tau2_main(["--tasks", str(tasks), "--db", str(db), "--model", "test", "--ids", "tr"])
    assert code == 0  # gold passed
    printed = capsys.readouterr().out
    assert "tau2_retail" in printed
    assert tau2_main(["--tasks", str(tasks.parent / "missing.json"), "--db", str(db)]) == 1


REAL = default_data_dir()


@pytest.mark.skipif(
    not (REAL / "tasks_train.json").is_file(), reason=f"τ²-bench data not at {REAL}"
)
async def test_real_tasks_copied_elsewhere_run_end_to_end_on_the_test_model(
    tmp_path: Path,
) -> None:
    chosen = json.loads((REAL / "tasks_train.json").read_text(encoding="utf-8"))[:2]
    copy = tmp_path / "two_tasks.json"
    copy.write_text(json.dumps(chosen), encoding="utf-8")
    suite = build_suite(copy, REAL / "db.json", model="test")
    assert [s.id for s in suite.scenarios] == [f"task-{t['id']}" for t in chosen]
    run = await run_suite(suite, RunOptions(trials=1, progress=False))
    assert all(r.success for r in run.records["gold"])
    assert not any(r.success for r in run.records["do_nothing"])  # both tasks need a write
    for record in run.records["agent"]:
        assert record.error is None, record.error
        assert record.customer_turns >= 2
