"""The bank agent: tools, intents and playbooks on one :class:`resolvekit.Agent`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import resolvekit as rk

from .backend import Bank, register_tools
from .playbooks import register_playbooks

if TYPE_CHECKING:
    from resolvekit.knowledge import KnowledgeBase

__all__ = ["FAQ", "build_agent", "faq_knowledge"]

FAQ = Path(__file__).with_name("faq.json")


def faq_knowledge(model: rk.Model | str | None) -> KnowledgeBase:
    """The bank's FAQ as a knowledge base; ``model="test"`` gets the hashing embedder."""
    from resolvekit.knowledge import KnowledgeBase
    from resolvekit.understanding.embedders import HashingEmbedder

    kb = KnowledgeBase(embedder=HashingEmbedder()) if model == "test" else KnowledgeBase()
    kb.add(FAQ)
    return kb


def build_agent(
    model: rk.Model | str | None = "local",
    store: rk.Store | str | None = "memory://",
    **options: Any,
) -> rk.Agent[Bank]:
    """The bank agent.

    Args:
        model: ``"local"`` (offline), ``"test"`` (offline, hashing embedder) or any model.
        store: where conversations live (default in memory).
        **options: any other :class:`resolvekit.Agent` argument (``deps``, ``handoff``...).
    """
    options.setdefault("handoff", [])
    agent: rk.Agent[Bank] = rk.Agent(
        "Bank support",
        model=model,
        store=store,
        instructions="Help the bank's customers with their cards, disputes and transfers.",
        knowledge=faq_knowledge(model),
        **options,
    )
    register_tools(agent)
    register_playbooks(agent)
    return agent
