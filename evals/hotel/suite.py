"""The hotel suite: ``resolvekit eval evals/hotel [--suite-arg split=dev|holdout|all]``.

Scenarios are in ``scenarios.yaml``; the dev / holdout split is :mod:`evals.splits`.
"""

from __future__ import annotations

import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:  # loaded as a file by `resolvekit eval`: `evals`, `examples` importable
    sys.path.insert(0, _ROOT)

from evals.splits import prepare  # noqa: E402
from examples.hotel import build_agent, demo_state  # noqa: E402
from resolvekit.evals import Suite, load_scenarios  # noqa: E402

__all__ = ["suite"]


def suite(split: str = "all", ids: str = "") -> Suite:
    """The hotel suite.

    Args:
        split: ``dev``, ``holdout`` or ``all`` (see :mod:`evals.splits`).
        ids: comma-separated scenario ids to play (default: all of the split).
    """
    scenarios = load_scenarios(Path(__file__).with_name("scenarios.yaml"))
    return Suite(
        name=f"hotel-{split}",
        agent=lambda model: build_agent(model=model),
        scenarios=prepare(scenarios, split=split, state=demo_state, customer_id="g-ana", ids=ids),
    )
