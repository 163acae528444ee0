"""compare: deltas, the regression gate and its exit code."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from resolvekit.evals import Report, compare_reports, write_json
from resolvekit.evals.cli import main
from resolvekit.evals.compare import print_comparison
from resolvekit.evals.metrics import Effort, Metrics, PassK


def metrics(**changes: Any) -> Metrics:
    values: dict[str, Any] = {
        "conversations": 10,
        "tasks": 5,
        "trials": 2,
        "verdicts": {},
        "success_rate": 0.8,
        "resolution_rate": 0.75,
        "deflection_rate": 0.1,
        "failure_rate": 0.1,
        "escalation_precision": 1.0,
        "escalation_recall": 0.5,
        "containment": 0.8,
        "pass_k": [
            PassK(k=1, value=0.8, low=0.6, high=1.0),
            PassK(k=2, value=0.6, low=0.4, high=0.8),
        ],
        "effort": Effort(
            customer_turns_mean=3.0, customer_turns_max=5, repeated_questions=0, repeated_info=0
        ),
        "latency_ms_p50": 1.0,
        "latency_ms_p95": 2.0,
        "usage": {"cost": 0.01},
    }
    values.update(changes)
    return Metrics(**values)


def report(**changes: Any) -> Report:
    from resolvekit.evals.report import AgentReport

    return Report(
        suite="s",
        created="now",
        model="m",
        trials=2,
        seed=0,
        elapsed_s=1.0,
        agents={"agent": AgentReport(label="agent", metrics=metrics(**changes), conversations=[])},
    )


def test_no_change_is_no_regression() -> None:
    comparison = compare_reports(report(), report())
    assert comparison.exit_code == 0 and comparison.regressions == []
    assert {d.metric for d in comparison.deltas} >= {"resolution_rate", "pass^2", "containment"}


@pytest.mark.parametrize(
    ("changes", "metric"),
    [
        ({"resolution_rate": 0.70}, "resolution_rate"),
        ({"success_rate": 0.75}, "success_rate"),
        ({"deflection_rate": 0.15}, "deflection_rate"),
        ({"failure_rate": 0.13}, "failure_rate"),
        ({"escalation_recall": 0.4}, "escalation_recall"),
        (
            {
                "pass_k": [
                    PassK(k=1, value=0.8, low=0, high=1),
                    PassK(k=2, value=0.5, low=0, high=1),
                ]
            },
            "pass^2",
        ),
    ],
)
def test_a_move_the_wrong_way_beyond_the_threshold_is_a_regression(
    changes: dict[str, Any], metric: str
) -> None:
    comparison = compare_reports(report(), report(**changes), max_drop=0.02)
    assert [d.metric for d in comparison.regressions] == [metric]
    assert comparison.exit_code == 1
    assert compare_reports(report(), report(**changes), max_drop=0.2).exit_code == 0


def test_improvements_and_ungated_metrics_never_fail() -> None:
    better = report(resolution_rate=0.9, deflection_rate=0.0, containment=0.2, latency_ms_p95=90.0)
    comparison = compare_reports(report(), better)
    assert comparison.exit_code == 0
    delta = next(d for d in comparison.deltas if d.metric == "resolution_rate")
    assert delta.change == pytest.approx(0.15)


def test_drop_within_threshold_passes_and_notes_mismatched_runs() -> None:
    other = report(resolution_rate=0.74, tasks=6)
    comparison = compare_reports(report(), other, max_drop=0.02)
    assert comparison.exit_code == 0
    assert comparison.notes == ["different run sizes: 5 tasks × 2 trials vs 6 tasks × 2 trials"]
    out = io.StringIO()
    print_comparison(comparison, Console(file=out, width=150, color_system=None))
    assert "No regression." in out.getvalue() and "-1.0 pts" in out.getvalue()


def test_cli_compare_exits_non_zero_on_regression(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = write_json(report(), tmp_path / "a.json")
    after = write_json(report(resolution_rate=0.5), tmp_path / "b.json")
    assert main(["compare", str(before), str(after)]) == 1
    assert "REGRESSION" in capsys.readouterr().out
    assert main(["compare", str(before), str(after), "--max-drop", "0.3"]) == 0
    assert main(["compare", str(before)]) == 1
    assert "exactly two" in capsys.readouterr().err


def by_intent(**rates: float) -> dict[str, Any]:
    from resolvekit.evals.metrics import Breakdown

    return {
        name: Breakdown(conversations=4, verdicts={}, success_rate=rate, resolution_rate=rate)
        for name, rate in rates.items()
    }


def test_one_intent_falling_fails_the_gate_even_when_the_totals_hold() -> None:
    before = report(by_intent=by_intent(CancelOrder=0.9, TrackOrder=0.7))
    after = report(by_intent=by_intent(CancelOrder=0.7, TrackOrder=0.9))  # total unchanged
    comparison = compare_reports(before, after)
    assert [d.metric for d in comparison.regressions] == ["success_rate[CancelOrder]"]
    assert compare_reports(before, after, max_intent_drop=0.25).exit_code == 0
    out = io.StringIO()
    print_comparison(comparison, Console(file=out, width=150, color_system=None))
    assert "No regression" not in out.getvalue()


def test_an_intent_missing_from_the_candidate_is_noted() -> None:
    before = report(by_intent=by_intent(CancelOrder=0.9, Refund=0.5))
    comparison = compare_reports(before, report(by_intent=by_intent(CancelOrder=0.9)))
    assert comparison.exit_code == 0
    assert comparison.notes == ["intents with no conversations in the candidate: Refund"]


def test_cli_compare_takes_the_intent_threshold(tmp_path: Path) -> None:
    before = write_json(report(by_intent=by_intent(A=1.0)), tmp_path / "a.json")
    after = write_json(report(by_intent=by_intent(A=0.8)), tmp_path / "b.json")
    assert main(["compare", str(before), str(after)]) == 1
    assert main(["compare", str(before), str(after), "--max-intent-drop", "0.3"]) == 0
