"""The grocery suite: ``resolvekit eval evals/grocery [--suite-arg split=dev|holdout|all]
[--suite-arg ids=a,b]``, from ``scenarios.yaml`` split by :mod:`evals.splits`."""

from __future__ import annotations

import sys
from pathlib import Path

# Loaded as a file by `resolvekit eval`: the repository root makes `evals` and `examples`
# importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from evals.splits import split_suite
from examples.grocery import build_agent, demo_state
from resolvekit.evals import Suite

__all__ = ["suite"]


def suite(split: str = "all", ids: str = "") -> Suite:
    """The grocery suite of ``split`` (``dev``, ``holdout`` or ``all``), only ``ids`` when given."""
    here = Path(__file__).with_name("scenarios.yaml")
    return split_suite("grocery", here, agent=build_agent, state=demo_state,
                       customer_id="c-mia", split=split, ids=ids)  # fmt: skip
