"""The retail agent: τ²-bench's retail domain resolved by playbooks, offline or on an LLM."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import resolvekit as rk

from .db import RetailDB, data_dir
from .dialog import TRANSFER
from .model import RetailModel
from .playbooks import register

if TYPE_CHECKING:
    from resolvekit.knowledge import KnowledgeBase

__all__ = ["APPROVALS", "INSTRUCTIONS", "build_agent", "policy_knowledge", "retail_model"]

INSTRUCTIONS = (
    "You are a retail customer-service agent. Authenticate the user first (email, or first name "
    "+ last name + zip code), help one user per conversation, get an explicit yes before any "
    "change, cancel or modify only pending orders, return or exchange only delivered orders, "
    "and transfer to a human only when the request is out of scope."
)


APPROVALS = rk.ApprovalPolicy(tiers=[rk.ApprovalTier(up_to=None)])
"""The default approval policy: every refund is approved at once (journaled). Pass
``approvals=rk.ApprovalPolicy(tiers=[...])`` for limits (``evals/approvals`` does)."""


def policy_knowledge(
    *, model: rk.Model | str | None, data: str | Path | None = None
) -> KnowledgeBase:
    """A knowledge base over ``policy.md``, embedded like the model understands text.

    ``model="test"`` (or any model built on the hashing embedder) gets the hashing embedder, so
    tests never load MiniLM; anything else gets the library's default embedder.
    """
    from resolvekit.knowledge import KnowledgeBase
    from resolvekit.models.local import LocalModel
    from resolvekit.understanding.embedders import HashingEmbedder

    embedder: Any = None
    inner = model.inner if isinstance(model, RetailModel) else model
    if inner == "test" or (
        isinstance(inner, LocalModel) and isinstance(inner._embedder, HashingEmbedder)
    ):
        embedder = HashingEmbedder()
    kb = KnowledgeBase(embedder=embedder) if embedder is not None else KnowledgeBase()
    kb.add(data_dir(data) / "policy.md")
    return kb


def retail_model(model: rk.Model | str | None) -> rk.Model:
    """The model the agent runs on: an offline :class:`LocalModel` (``"local"``, ``"test"``)
    gets the retail corrections of :class:`~examples.retail.model.RetailModel`; any other model
    (an LLM) decides on its own."""
    from resolvekit.models import infer_model
    from resolvekit.models.local import LocalModel

    resolved = infer_model(model)
    return RetailModel(resolved) if isinstance(resolved, LocalModel) else resolved


def build_agent(
    model: rk.Model | str | None = "local",
    store: rk.Store | str | None = "memory://",
    *,
    db: RetailDB | None = None,
    knowledge: KnowledgeBase | bool = True,
    data: str | Path | None = None,
    backend: Literal["inprocess", "mcp", "openapi"] = "inprocess",
    **options: Any,
) -> rk.Agent[RetailDB]:
    """The retail agent.

    Args:
        model: ``"local"`` (offline), ``"test"`` (offline, hashing embedder, for tests), an
            ``"openai:<model>"`` name or any :class:`resolvekit.Model`.
        store: where conversations live (default in memory).
        db: the default database (``ctx.deps``); pass another per call with
            ``agent.handle(..., deps=db)``.
        knowledge: answer policy questions from ``policy.md`` (True), not at all (False), or
            from the given knowledge base.
        data: the τ²-bench retail data folder (default: :func:`examples.retail.db.data_dir`).
        backend: where the retail actions run: in this process (``inprocess``), or through
            the retail service (:mod:`examples.retail.services`, started on 127.0.0.1 on first
            use) over MCP (``mcp``) or its HTTP API and OpenAPI document (``openapi``). The
            playbooks are the same; the database (``deps``) is registered with the service.
        **options: any other :class:`resolvekit.Agent` argument (``escalation``, ``handoff``...).
    """
    kb: KnowledgeBase | None
    if knowledge is True:
        kb = policy_knowledge(model=model, data=data)
    elif knowledge is False:
        kb = None
    else:
        kb = knowledge
    options.setdefault("phrases", rk.Phrases(handoff=TRANSFER))
    options.setdefault("approvals", APPROVALS)
    if backend != "inprocess":
        from .services import remote_toolset

        options["toolsets"] = [*options.get("toolsets", ()), remote_toolset(backend)]
    agent: rk.Agent[RetailDB] = rk.Agent(
        "Retail support",
        model=retail_model(model),
        store=store,
        instructions=INSTRUCTIONS,
        knowledge=kb,
        deps=db,
        **options,
    )
    register(agent, tools=backend == "inprocess")
    return agent
