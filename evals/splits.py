"""Dev / holdout splits of a hand-written suite, by a rule fixed before any run.

A scenario is in **holdout** when ``int(sha256(id), 16) % 3 == 0`` (about a third), else in
**dev**. The rule looks at nothing but the id, so adding a scenario never moves another one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from resolvekit.evals import Scenario, Suite, load_scenarios
from resolvekit.exceptions import UserError

__all__ = ["SPLITS", "Split", "in_split", "prepare", "split_suite"]

Split = Literal["dev", "holdout", "all"]
SPLITS: tuple[str, ...] = ("dev", "holdout", "all")


def in_split(scenario_id: str, split: str) -> bool:
    """Whether the scenario ``scenario_id`` belongs to ``split`` (``dev``, ``holdout``, ``all``).

    Raises:
        UserError: an unknown split.
    """
    if split not in SPLITS:
        raise UserError(f"split must be one of {', '.join(SPLITS)}, not {split!r}")
    holdout = int(hashlib.sha256(scenario_id.encode()).hexdigest(), 16) % 3 == 0
    return split == "all" or (split == "holdout") == holdout


def prepare(
    scenarios: list[Scenario],
    *,
    split: str,
    state: Callable[[], Any],
    customer_id: str,
    ids: str = "",
) -> list[Scenario]:
    """The scenarios of ``split`` (and of ``ids``, comma-separated, when given), each with the
    fresh ``state`` and ``customer_id`` filled in where the scenario names none."""
    chosen = {i.strip() for i in ids.split(",") if i.strip()}
    unknown = chosen - {s.id for s in scenarios}
    if unknown:
        raise UserError(f"no scenarios {sorted(unknown)}")
    out = []
    for scenario in scenarios:
        if not in_split(scenario.id, split) or (chosen and scenario.id not in chosen):
            continue
        update: dict[str, Any] = {}
        if scenario.initial_state is None:
            update["initial_state"] = state
        if scenario.customer_id is None:
            update["customer_id"] = customer_id
        out.append(scenario.model_copy(update=update))
    return out


def split_suite(
    name: str,
    scenarios: str | Path,
    *,
    agent: Callable[[Any], Any],
    state: Callable[[], Any],
    customer_id: str,
    split: str = "all",
    ids: str = "",
) -> Suite:
    """The suite ``name-split`` of the scenarios file ``scenarios``: :func:`prepare` applied
    to it, each conversation with an agent from ``agent(model)``."""
    return Suite(
        name=f"{name}-{split}",
        agent=agent,
        scenarios=prepare(
            load_scenarios(Path(scenarios)),
            split=split,
            state=state,
            customer_id=customer_id,
            ids=ids,
        ),
    )
