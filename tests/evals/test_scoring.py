"""The decision table: every row, and the end-state, fact and forbidden-action checks."""

from __future__ import annotations

from typing import Any

import pytest

from resolvekit.evals import Expect, ForbiddenAction, Observation, classify
from resolvekit.evals.records import ToolCallRecord, TurnRecord
from resolvekit.evals.scoring import (
    SUCCESS,
    check_state,
    forbidden_calls,
    missing_facts,
    repeated_questions,
)


def seen(expected: Any, **changes: Any) -> Observation:
    values: dict[str, Any] = {
        "expected": expected,
        "escalated": False,
        "changed": False,
        "state_ok": True,
    }
    values.update(changes)
    return Observation(**values)


@pytest.mark.parametrize(
    ("observation", "verdict"),
    [
        # 1-3: crashes, forbidden actions and wrong changes fail whatever else happened
        (seen("resolved", error="timed out after 1s", state_ok=True), "failed"),
        (seen("resolved", forbidden_called=["refund()"], escalated=True), "failed"),
        (seen("resolved", changed=True, state_ok=False), "failed"),
        (seen("escalated", changed=True, state_ok=False, escalated=True), "failed"),
        (seen("refused_no_change", changed=True, state_ok=False), "failed"),
        # 4-6: escalations
        (seen("escalated", escalated=True), "escalated_correctly"),
        (seen("escalated", escalated=True, state_ok=False), "failed"),
        (seen("resolved", escalated=True), "escalated_wrongly"),
        (seen("resolved", escalated=True, changed=True), "escalated_wrongly"),
        (seen("refused_no_change", escalated=True), "escalated_wrongly"),
        # 7: resolved / answered
        (seen("resolved", changed=True), "resolved"),
        (seen("answered"), "resolved"),
        (seen("resolved", state_ok=False), "deflected"),
        (seen("resolved", changed=True, facts_missing=["cancelled"]), "deflected"),
        (seen("answered", facts_missing=["30 days"]), "deflected"),
        # 8: refusals
        (seen("refused_no_change"), "refused_correctly"),
        (seen("refused_no_change", facts_missing=["already shipped"]), "deflected"),
        # 9: an expected escalation that never came
        (seen("escalated"), "deflected"),
    ],
)
def test_decision_table(observation: Observation, verdict: str) -> None:
    assert classify(observation)[0] == verdict


def test_reasons_say_why() -> None:
    assert "refund()" in classify(seen("resolved", forbidden_called=["refund()"]))[1]
    reason = classify(seen("resolved", state_ok=False, facts_missing=["cancelled"]))[1]
    assert reason == (
        "ended unresolved without escalation: goal state not reached; facts not said: cancelled"
    )
    assert {"resolved", "escalated_correctly", "refused_correctly"} == SUCCESS


def test_check_state_diffs_and_runs_the_predicate() -> None:
    expect = Expect(check=lambda initial, final: final["n"] > initial["n"] or "n did not grow")
    ok = check_state(expect, {"n": 1}, {"n": 2}, None)
    assert ok.ok and ok.diff == [] and ok.message is None
    bad = check_state(expect, {"n": 1}, {"n": 1}, {"n": 3})
    assert not bad.ok and bad.message == "n did not grow"
    assert [(d.path, d.expected, d.actual) for d in bad.diff] == [("n", 3, 1)]


def test_a_predicate_that_raises_or_returns_false_fails_the_check() -> None:
    def broken(initial: Any, final: Any) -> bool:
        raise KeyError("orders")

    raised = check_state(Expect(check=broken), {}, {}, None)
    assert not raised.ok and raised.message == "check raised KeyError: 'orders'"
    false = check_state(Expect(check=lambda i, f: False), {}, {}, None)
    assert not false.ok and false.message == "check returned False"


def test_forbidden_rules_match_tool_names_and_optional_args() -> None:
    rules = [
        ForbiddenAction(tool="refund"),
        ForbiddenAction(tool="get_order", args={"order_id": "W9"}),
    ]
    calls = [
        ToolCallRecord(tool="get_order", args={"order_id": "W1"}),
        ToolCallRecord(tool="get_order", args={"order_id": "W9"}),
        ToolCallRecord(tool="refund", args={"amount": 5}, status="error"),
    ]
    assert forbidden_calls(rules, calls) == ["get_order(order_id='W9')", "refund(amount=5)"]
    assert Expect.model_validate({"forbidden": ["refund"]}).forbidden == [rules[0]]


def test_missing_facts_and_repeated_questions() -> None:
    assert missing_facts(["cancelled", "$25"], ["Order cancelled.", "Refund: 25.00"]) == []
    assert missing_facts(["30 days"], ["See our policy."]) == ["30 days"]
    turns = [
        TurnRecord(role="agent", text="What is your order number?"),
        TurnRecord(role="customer", text="dunno"),
        TurnRecord(role="agent", text="What is your order number?"),
        TurnRecord(role="agent", text="OK."),
        TurnRecord(role="agent", text="OK."),
    ]
    assert repeated_questions(turns) == 1


def test_missing_facts_reads_the_texts_as_normalising_them_joined_would() -> None:
    """The agent's texts are normalised one by one (and remembered); a fact spanning two
    texts, numbers and dots at their edges count as in the texts joined by newlines."""
    import random

    from resolvekit.evals import scoring

    normalize = scoring.normalize  # the shared normaliser, as scoring imports it
    pieces = ["1,250.00", "007", "5", ".", ".5", "5.", ",", "$", "ΣΑΣ", "  ", "", "-", "_", "a"]
    pieces += ["refund", "of", "order", "#W12", "\n", "!", "3.10", "x.y", "9,99"]
    rng = random.Random(3)
    for _ in range(3000):
        texts = ["".join(rng.choice(pieces) for _ in range(rng.randrange(4))) for _ in range(3)]
        joined = " " + normalize("\n".join(texts)) + " "
        facts = [" ".join(rng.choice(pieces) for _ in range(rng.randrange(1, 4)))]
        want = [f for f in facts if (key := normalize(f)) and f" {key} " not in joined]
        assert missing_facts(facts, texts) == want, (facts, texts)
    assert missing_facts(["order 7"], ["Your order", "007 is here."]) == []  # across two texts
