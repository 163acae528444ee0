"""The SaaS helpdesk agent: tools, intents, playbooks and the billing FAQ on one agent."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import resolvekit as rk
from examples.calibrated_faq import calibrated_faq

from .backend import Desk, register_tools
from .playbooks import register_playbooks

if TYPE_CHECKING:
    from resolvekit.knowledge import KnowledgeBase

__all__ = ["FAQ", "build_agent", "faq_knowledge"]

FAQ = Path(__file__).with_name("faq.json")
CALIBRATION = Path(__file__).with_name("calibration.json")


def faq_knowledge(model: rk.Model | str | None) -> KnowledgeBase:
    """The billing FAQ as a knowledge base; ``model="test"`` gets the hashing embedder.

    Its answerability threshold is calibrated on ``calibration.json`` (labelled questions; no
    wrong answer let through: 0.9 let 2 of its 9 off-topic ones in), as docs/knowledge.md
    advises for one's own content: the default was calibrated on StackFAQ and declined "will I
    get a refund for the rest of the month?".
    """
    return calibrated_faq(FAQ, CALIBRATION, test=model == "test")


def build_agent(
    model: rk.Model | str | None = "local",
    store: rk.Store | str | None = "memory://",
    **options: Any,
) -> rk.Agent[Desk]:
    """The helpdesk agent.

    Args:
        model: ``"local"`` (offline), ``"test"`` (offline, hashing embedder) or any model.
        store: where conversations live (default in memory).
        **options: any other :class:`resolvekit.Agent` argument (``deps``, ``handoff``...).
    """
    options.setdefault("handoff", [])
    agent: rk.Agent[Desk] = rk.Agent(
        "Helpdesk",
        model=model,
        store=store,
        instructions="Help the customers of a SaaS product with sign-in, plans and billing.",
        knowledge=faq_knowledge(model),
        **options,
    )
    register_tools(agent)
    register_playbooks(agent)
    return agent
