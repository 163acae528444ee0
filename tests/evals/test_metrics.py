"""pass^k against hand-computed values, bootstrap intervals, and aggregate metrics."""

from __future__ import annotations

from typing import Any

import pytest

from resolvekit.evals import ConversationRecord, compute_metrics, pass_hat_k
from resolvekit.evals.metrics import pass_hat_k_curve

# (successes c, trials n) per task
COUNTS = [(3, 3), (2, 3), (0, 3), (1, 3)]


def test_pass_hat_k_matches_hand_computed_values() -> None:
    # k=1: (3/3 + 2/3 + 0 + 1/3) / 4 = 0.5
    assert pass_hat_k(COUNTS, 1) == pytest.approx(0.5)
    # k=2: (C(3,2)/C(3,2)=1 + C(2,2)/C(3,2)=1/3 + 0 + 0) / 4 = 1/3
    assert pass_hat_k(COUNTS, 2) == pytest.approx(1 / 3)
    # k=3: only the always-successful task counts: 1/4
    assert pass_hat_k(COUNTS, 3) == pytest.approx(0.25)
    # with 5 trials, c=4: pass^2 = C(4,2)/C(5,2) = 6/10
    assert pass_hat_k([(4, 5)], 2) == pytest.approx(0.6)


def test_pass_hat_k_rejects_impossible_k() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        pass_hat_k(COUNTS, 0)
    with pytest.raises(ValueError, match="no task has 4 trials"):
        pass_hat_k(COUNTS, 4)


def test_curve_has_seeded_bootstrap_intervals_around_the_value() -> None:
    curve = pass_hat_k_curve(COUNTS, seed=7)
    assert [p.k for p in curve] == [1, 2, 3]
    assert [p.value for p in curve] == pytest.approx([0.5, 1 / 3, 0.25])
    for point in curve:
        assert 0.0 <= point.low <= point.value <= point.high <= 1.0
        assert point.low < point.high  # the tasks differ, so the interval is not a point
    assert pass_hat_k_curve(COUNTS, seed=7) == curve
    # the seed drives the resampling: small bootstraps differ between seeds
    small = {str(pass_hat_k_curve(COUNTS, seed=seed, resamples=5)) for seed in range(6)}
    assert len(small) > 1
    flat = pass_hat_k_curve([(3, 3), (3, 3)])
    assert [(p.low, p.high) for p in flat] == [(1.0, 1.0)] * 3


def record(scenario: str, trial: int, verdict: str, **fields: Any) -> ConversationRecord:
    values: dict[str, Any] = {
        "agent": "agent",
        "scenario": scenario,
        "trial": trial,
        "seed": 0,
        "intent": "X",
        "expected": "resolved",
        "verdict": verdict,
        "reason": "",
    }
    values.update(fields)
    return ConversationRecord(**values)


def test_compute_metrics_rates_escalation_quality_and_breakdowns() -> None:
    records = [
        record("a", 0, "resolved", customer_turns=2, latencies_ms=[1.0, 3.0], tags=["t"]),
        record("a", 1, "deflected", customer_turns=4, latencies_ms=[2.0]),
        record("b", 0, "escalated_wrongly", escalated=True, intent="Y"),
        record("b", 1, "resolved", intent="Y", usage={"cost": 0.5, "prompt_tokens": 10}),
        record("c", 0, "escalated_correctly", expected="escalated", escalated=True, intent="Z"),
        record("c", 1, "deflected", expected="escalated", intent="Z", repeated_info=2),
    ]
    m = compute_metrics(records)
    assert (m.conversations, m.tasks, m.trials) == (6, 3, 2)
    assert m.resolution_rate == pytest.approx(2 / 4)
    assert m.success_rate == pytest.approx(3 / 6)
    assert m.deflection_rate == pytest.approx(2 / 6)
    assert m.escalation_precision == pytest.approx(1 / 2)
    assert m.escalation_recall == pytest.approx(1 / 2)
    assert m.containment == pytest.approx(4 / 6)
    assert [p.value for p in m.pass_k] == pytest.approx([0.5, 0.0])
    assert m.latency_ms_p50 == pytest.approx(2.0)
    assert m.usage == {"cost": 0.5, "prompt_tokens": 10}
    assert m.effort.repeated_info == 2 and m.effort.customer_turns_max == 4
    assert m.by_intent["Y"].verdicts["escalated_wrongly"] == 1
    assert m.by_intent["Z"].resolution_rate is None
    assert m.by_tag["t"].conversations == 1


def test_no_escalations_leave_precision_undefined() -> None:
    m = compute_metrics([record("a", 0, "resolved")])
    assert m.escalation_precision is None and m.escalation_recall is None
