"""The approvals eval suite (``evals/approvals``): retail returns over the automatic limit wait
for the scenario's approver and are scored resolved (or refused with nothing changed)."""

from __future__ import annotations

import pytest

from evals.approvals.suite import suite
from evals.tau2_retail.data import default_data_dir
from resolvekit.evals import RunOptions, run_suite

pytestmark = pytest.mark.skipif(
    not (default_data_dir() / "db.json").is_file(), reason="no tau2 retail data"
)


async def test_each_scenario_needs_an_approval_and_is_scored_as_expected() -> None:
    run = await run_suite(suite(), RunOptions(trials=1, progress=False, baselines=False))
    records = {r.scenario: r for r in run.records["agent"]}
    assert {k: r.verdict for k, r in records.items()} == {
        "approved-73": "resolved",
        "approved-late-83": "resolved",
        "declined-89": "refused_correctly",
    }, {k: r.reason for k, r in records.items()}
    for record in records.values():
        said = "\n".join(t.text for t in record.turns if t.role == "agent")
        assert "needs approval by a team_lead" in said
    late = "\n".join(t.text for t in records["approved-late-83"].turns if t.role == "agent")
    assert "still waiting for approval" in late
    declined = records["declined-89"]
    said = "\n".join(t.text for t in declined.turns if t.role == "agent")
    assert not declined.changed and "was not approved (over budget)" in said
