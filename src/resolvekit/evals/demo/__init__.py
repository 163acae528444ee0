"""The built-in demo suite: a small shop, eight scenarios, offline and deterministic.

Run it with ``resolvekit eval demo`` (or ``python -m resolvekit.evals demo``). Seven scenarios
come from ``scenarios.yaml`` (data only); one is written in Python to show a predicate check.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...models import Model
from ..scenario import Expect, Scenario, load_scenarios
from ..suite import Suite
from ..users import GoalUser
from .shop import build_agent

__all__ = ["build_suite", "suite"]


def _orders_untouched(initial: Any, final: Any) -> bool | str:
    if final["orders"] != initial["orders"]:
        return "an order was changed"
    return final["refunds"] == initial["refunds"] or "a refund was issued"


def build_suite(model: Model | str | None = None) -> Suite:
    """The demo suite (its agent uses ``model``, default: the keyword model)."""
    scenarios = load_scenarios(Path(__file__).with_name("scenarios.yaml"))
    human = Scenario(
        id="wants-human",
        intent="Human",
        tags=["escalation"],
        description="An upset customer who asks for a person straight away.",
        user=GoalUser(goal="I need to speak to a real person about my account, now."),
        initial_state=scenarios[0].initial_state,
        expect=Expect(outcome="escalated", check=_orders_untouched),
        reference_actions=[],
    )
    return Suite(
        name="demo",
        description="A small shop: order status, cancellations, address changes, refunds.",
        agent=lambda override: build_agent(override if override is not None else model),
        scenarios=[*scenarios, human],
    )


suite = build_suite()
