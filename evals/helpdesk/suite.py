"""The helpdesk suite: ``resolvekit eval evals/helpdesk [--suite-arg split=dev|holdout|all]``.

Scenarios are in ``scenarios.yaml``; the dev / holdout split is :mod:`evals.splits`.
"""

from __future__ import annotations

import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:  # loaded as a file by `resolvekit eval`: `evals`, `examples` importable
    sys.path.insert(0, _ROOT)

from evals.splits import prepare  # noqa: E402
from examples.helpdesk import build_agent, demo_state  # noqa: E402
from resolvekit.evals import Suite, load_scenarios  # noqa: E402

__all__ = ["suite"]


def suite(split: str = "all", ids: str = "") -> Suite:
    """The helpdesk suite.

    Args:
        split: ``dev``, ``holdout`` or ``all`` (see :mod:`evals.splits`).
        ids: comma-separated scenario ids to play (default: all of the split).
    """
    scenarios = load_scenarios(Path(__file__).with_name("scenarios.yaml"))
    chosen = prepare(scenarios, split=split, state=demo_state, customer_id="acc-lena", ids=ids)
    return Suite(
        name=f"helpdesk-{split}",
        agent=lambda model: build_agent(model=model or "local"),
        # The gold baseline calls the tools with no conversation, so nobody verifies: it is
        # given the identity the agent's verify step finds (the signed-in account).
        scenarios=[s.model_copy(update={"identity": {"account": s.customer_id}}) for s in chosen],
    )
