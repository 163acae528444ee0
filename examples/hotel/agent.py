"""The hotel agent: tools, intents, playbooks and the policies FAQ on one agent."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

import resolvekit as rk
from examples.calibrated_faq import calibrated_faq
from examples.offline_agent import offline_model

from .backend import CREDIT_LIMIT, Hotel, demo_state, register_tools
from .playbooks import register_playbooks

if TYPE_CHECKING:
    from resolvekit.knowledge import KnowledgeBase

__all__ = ["FAQ", "build_agent", "faq_knowledge"]

FAQ = Path(__file__).with_name("faq.json")
CALIBRATION = Path(__file__).with_name("calibration.json")

OFF_TOPIC = [
    "where can I eat nearby",
    "call me a taxi",
    "what's the exchange rate today",
    "tell me a joke",
    "who won the match yesterday",
    "can you book me a flight",
    "what's the best museum in the city",
    "translate this sentence into French",
]
"""Messages that are not the hotel's business, trained as out of scope (docs/models.md)."""


def faq_knowledge(model: rk.Model | str | None) -> KnowledgeBase:
    """The hotel's policies FAQ, its answerability calibrated on ``calibration.json`` for a
    precision of 1.0 (0.9 answered "recommend a restaurant" with the gym's opening hours on
    the first run); ``model="test"`` gets the hashing embedder."""
    return calibrated_faq(FAQ, CALIBRATION, test=model == "test")


def build_agent(
    model: rk.Model | str | None = "local",
    store: rk.Store | str | None = "memory://",
    today: dt.date | None = None,
    **options: Any,
) -> rk.Agent[Hotel]:
    """The hotel agent.

    Args:
        model: ``"local"`` (offline), ``"test"`` (offline, hashing embedder) or any model.
        store: where conversations live (default in memory).
        today: the date relative dates are read from (default: the demo hotel's today).
        **options: any other :class:`resolvekit.Agent` argument (``deps``, ``handoff``...).
    """
    options.setdefault("handoff", [])
    day = today or dt.date.fromisoformat(demo_state()["today"])
    agent: rk.Agent[Hotel] = rk.Agent(
        "Hotel support",
        model=offline_model(model, day, OFF_TOPIC),
        store=store,
        instructions="Help the hotel's guests with their bookings, extras, points and complaints.",
        knowledge=faq_knowledge(model),
        approvals=rk.ApprovalPolicy(tiers=[rk.ApprovalTier(up_to=CREDIT_LIMIT)]),
        **options,
    )
    register_tools(agent)
    register_playbooks(agent)
    return agent
