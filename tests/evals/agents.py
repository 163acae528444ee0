"""Agents with known behaviours over the demo shop, to reach every verdict on purpose."""

from __future__ import annotations

import asyncio
from typing import Any

import resolvekit as rk
from resolvekit.evals import Scenario, Suite
from resolvekit.evals.demo import suite as demo
from resolvekit.evals.demo.model import decide
from resolvekit.evals.demo.shop import build_agent
from resolvekit.models import ModelRequest, ModelResponse


def demo_scenario(scenario_id: str, **changes: Any) -> Scenario:
    return demo.scenario(scenario_id).model_copy(update=changes)


def suite_of(model: rk.Model, *scenarios: Scenario) -> Suite:
    """A suite playing ``scenarios`` against the demo shop driven by ``model``."""
    return Suite(name="t", agent=lambda override: build_agent(model), scenarios=list(scenarios))


def article_agent_model() -> rk.FunctionModel:
    """Answers everything from the help centre: "see https://help.example.com/address"."""
    return rk.FunctionModel(lambda request: rk.AnswerFromKnowledge(query="change address"))


def always_escalate_model() -> rk.FunctionModel:
    return rk.FunctionModel(lambda request: rk.Escalate(reason="not my job"))


def reckless_model(order_id: str) -> rk.FunctionModel:
    """Cancels ``order_id`` whatever the customer says, and confirms on their behalf."""

    def decide_blindly(request: ModelRequest) -> Any:
        if request.pending is not None and request.pending.kind == "confirm":
            return rk.Confirm(answer="yes")
        if request.active_intent is not None:
            return rk.FillSlots(slots={"reason": "ordered by mistake"})
        return rk.StartIntent(
            intent="CancelOrder", slots={"order_id": order_id, "reason": "ordered by mistake"}
        )

    return rk.FunctionModel(decide_blindly)


def status_of(order_id: str) -> rk.FunctionModel:
    """Looks up ``order_id`` for any question."""
    return rk.FunctionModel(
        lambda request: rk.StartIntent(intent="OrderStatus", slots={"order_id": order_id})
    )


def slow_model(seconds: float) -> rk.FunctionModel:
    async def slow(request: ModelRequest) -> ModelResponse:
        await asyncio.sleep(seconds)
        return decide(request)

    return rk.FunctionModel(slow)


def keyword_model() -> rk.FunctionModel:
    return rk.FunctionModel(decide)
