"""Finding suites, and ``resolvekit eval`` end to end."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from resolvekit.cli import main as resolvekit_main
from resolvekit.evals import Scenario, ScenarioError, ScriptedUser, Suite, SuiteNotFound, load_suite
from resolvekit.evals.cli import main

SUITE_FILE = """
from helpers import SCENARIOS
from resolvekit.evals import Suite
from resolvekit.evals.demo.shop import build_agent

suite = Suite(name="mine", agent=lambda model: build_agent(model), scenarios=SCENARIOS)
"""
HELPERS = """
from resolvekit.evals.demo import suite as demo

SCENARIOS = [demo.scenario("return-policy"), demo.scenario("cancel-shipped")]
"""


def test_demo_runs_and_writes_results_and_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    assert main(["demo", "--trials", "2", "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "resolution rate" in printed and f"HTML report: {out / 'report.html'}" in printed
    lines = (out / "results.jsonl").read_text().splitlines()
    assert len(lines) == 8 * 2 * 3  # scenarios × trials × (agent, do_nothing, gold)
    report = json.loads((out / "report.json").read_text())
    assert report["trials"] == 2 and set(report["agents"]) == {"agent", "do_nothing", "gold"}
    assert (out / "report.html").read_text().startswith("<!DOCTYPE html>")
    # resuming: nothing new to play; --fresh starts over
    assert main(["demo", "--trials", "2", "--out", str(out), "--no-progress"]) == 0
    assert len((out / "results.jsonl").read_text().splitlines()) == 48
    assert (
        main(
            [
                "demo",
                "--trials",
                "1",
                "--out",
                str(out),
                "--fresh",
                "--no-baselines",
                "--no-progress",
            ]
        )
        == 0
    )
    assert len((out / "results.jsonl").read_text().splitlines()) == 8


def test_explicit_report_paths(tmp_path: Path) -> None:
    json_path, html_path = tmp_path / "r.json", tmp_path / "r.html"
    args = ["resolvekit.evals.demo", "--trials", "1", "--no-baselines", "--no-progress"]
    assert main([*args, "--json", str(json_path), "--html", str(html_path)]) == 0
    assert json_path.exists() and html_path.exists()
    assert not (tmp_path / "results.jsonl").exists()


def test_the_resolvekit_command_has_the_eval_family(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        resolvekit_main(["eval", "demo", "--trials", "1", "--no-baselines", "--no-progress"]) == 0
    )
    assert "resolution rate" in capsys.readouterr().out
    assert resolvekit_main(["eval", "no/such/suite.py"]) == 1
    assert "error: No suite file at no/such/suite.py" in capsys.readouterr().err


def test_a_folder_suite_may_import_its_sibling_modules(tmp_path: Path) -> None:
    folder = tmp_path / "mysuite"
    folder.mkdir()
    (folder / "suite.py").write_text(SUITE_FILE)
    (folder / "helpers.py").write_text(HELPERS)
    suite = load_suite(folder)
    assert suite.name == "mine" and [s.id for s in suite.scenarios] == [
        "return-policy",
        "cancel-shipped",
    ]
    assert main([str(folder), "--trials", "1", "--no-baselines", "--no-progress"]) == 0


def test_a_file_may_expose_a_suite_function_or_a_single_suite(tmp_path: Path) -> None:
    as_function = tmp_path / "fn.py"
    as_function.write_text(
        textwrap.dedent("""
        from resolvekit.evals.demo import build_suite

        def suite():
            return build_suite()
    """)
    )
    assert load_suite(as_function).name == "demo"
    single = tmp_path / "single.py"
    single.write_text("from resolvekit.evals.demo import suite as the_one\n")
    assert load_suite(single).name == "demo"


def test_suites_that_cannot_be_found(tmp_path: Path) -> None:
    with pytest.raises(SuiteNotFound, match=r"has no suite\.py"):
        load_suite(tmp_path)
    with pytest.raises(SuiteNotFound, match="No suite 'no_such_module_xyz'"):
        load_suite("no_such_module_xyz")
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n")
    with pytest.raises(SuiteNotFound, match="exposes no Suite"):
        load_suite(empty)


def test_suite_validation() -> None:
    scenario = Scenario(id="a", user=ScriptedUser(lines=["hi"]))
    with pytest.raises(ScenarioError, match="two scenarios with id 'a'"):
        Suite(name="s", agent=lambda model: None, scenarios=[scenario, scenario])  # type: ignore[arg-type,return-value]
    with pytest.raises(ScenarioError, match="no scenarios"):
        Suite(name="s", agent=lambda model: None, scenarios=[])  # type: ignore[arg-type,return-value]
    suite = Suite(name="s", agent=lambda model: None, scenarios=[scenario])  # type: ignore[arg-type,return-value]
    with pytest.raises(ScenarioError, match="no scenario 'b'"):
        suite.scenario("b")


def test_stray_arguments_are_rejected(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "extra.json"]) == 1
    assert "Unexpected arguments" in capsys.readouterr().err
