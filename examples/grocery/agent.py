"""The grocery agent: tools, intents, playbooks and the FAQ on one agent."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

import resolvekit as rk
from examples.calibrated_faq import calibrated_faq
from examples.offline_agent import offline_model

from .backend import Grocery, demo_state, register_tools
from .playbooks import register_playbooks

if TYPE_CHECKING:
    from resolvekit.knowledge import KnowledgeBase

__all__ = ["FAQ", "build_agent", "faq_knowledge"]

FAQ = Path(__file__).with_name("faq.json")
CALIBRATION = Path(__file__).with_name("calibration.json")

OFF_TOPIC = [
    "give me a recipe for dinner",
    "what's the weather tomorrow",
    "tell me a joke",
    "who won the match yesterday",
    "book me a taxi",
    "what's the best restaurant nearby",
    "translate this into Spanish",
    "how many calories are in a banana",
]
"""Messages that are not the shop's business, trained as out of scope (docs/models.md)."""


def faq_knowledge(model: rk.Model | str | None) -> KnowledgeBase:
    """The shop's FAQ, its answerability calibrated on ``calibration.json`` for a precision of
    1.0 (docs/first-domain.md); ``model="test"`` gets the hashing embedder."""
    return calibrated_faq(FAQ, CALIBRATION, test=model == "test")


def build_agent(
    model: rk.Model | str | None = "local",
    store: rk.Store | str | None = "memory://",
    today: dt.date | None = None,
    **options: Any,
) -> rk.Agent[Grocery]:
    """The grocery agent.

    Args:
        model: ``"local"`` (offline), ``"test"`` (offline, hashing embedder) or any model.
        store: where conversations live (default in memory).
        today: the date relative dates are read from (default: the demo shop's today).
        **options: any other :class:`resolvekit.Agent` argument (``deps``, ``handoff``...).
    """
    options.setdefault("handoff", [])
    day = today or dt.date.fromisoformat(demo_state()["now"][:10])
    agent: rk.Agent[Grocery] = rk.Agent(
        "Grocery support",
        model=offline_model(model, day, OFF_TOPIC),
        store=store,
        instructions="Help the shop's customers with their grocery orders, deliveries, "
        "refunds, substitutions, delivery pass and promo codes.",
        knowledge=faq_knowledge(model),
        **options,
    )
    register_tools(agent)
    register_playbooks(agent)
    return agent
