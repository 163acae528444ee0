"""The approvals suite: τ²-bench retail returns played against the retail agent with approval
tiers (refunds up to $200 automatic, up to $5,000 a team lead's), each scenario with an approver
who decides (see :class:`resolvekit.evals.ScenarioApprover`). The tasks and the customer are the
tau2_retail suite's (``../shared/data/tau2_retail``); the approvals are what is new.

- ``approved-73``: a $781.65 refund, approved by a team lead at once: resolved.
- ``approved-late-83``: a $989.70 refund; the customer writes once while it waits (and is told
  it is still waiting), then a team lead approves it: resolved.
- ``declined-89``: a $236.51 refund declined by a team lead: refused, nothing changed.
"""

from __future__ import annotations

import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:  # loaded as a file by `resolvekit eval`: `evals`, `examples` importable
    sys.path.insert(0, _ROOT)

import resolvekit as rk  # noqa: E402
from evals.tau2_retail.bench import DEFAULT_MODEL, agent_factory, build_suite  # noqa: E402
from evals.tau2_retail.data import resolve_paths  # noqa: E402
from resolvekit.evals import Expect, ScenarioApprover, Suite  # noqa: E402

__all__ = ["TIERS", "suite"]

TIERS = rk.ApprovalPolicy(
    tiers=[rk.ApprovalTier(up_to=200), rk.ApprovalTier(up_to=5000, role="team_lead")]
)
"""Refunds up to $200 are approved at once; up to $5,000 a team lead decides; above, a person
takes the conversation."""

LEAD = ScenarioApprover(name="ana", role="team_lead")
LATE = ScenarioApprover(name="ana", role="team_lead", after_turns=1)


def suite(tasks: str | None = None, db: str | None = None, model: str = DEFAULT_MODEL) -> Suite:
    """The approvals suite over the tau2 retail data (``tasks``, ``db``: as tau2_retail's)."""
    base = build_suite(tasks, db, model=model, ids=["73", "83", "89"])
    by_id = {s.id: s for s in base.scenarios}
    scenarios = [
        by_id["task-73"].model_copy(update={"id": "approved-73", "approver": LEAD}),
        by_id["task-83"].model_copy(update={"id": "approved-late-83", "approver": LATE}),
        by_id["task-89"].model_copy(
            update={
                "id": "declined-89",
                "approver": LEAD.model_copy(update={"approve": False, "note": "over budget"}),
                "reference_actions": [],
                "expect": Expect(outcome="refused_no_change"),
            }
        ),
    ]
    for scenario in scenarios:
        scenario.tags = [*scenario.tags, "approval"]
    _, db_path = resolve_paths(tasks, db)
    policy = db_path.parent if (db_path.parent / "policy.md").is_file() else None
    return Suite(
        name="approvals",
        description="τ²-bench retail returns that need a team lead's approval",
        scenarios=scenarios,
        agent=agent_factory(model, policy, approvals=TIERS),
        snapshot=base.snapshot,
        plain_snapshots=True,
        replay=base.replay,
    )
