"""What the engine needs from an agent, as a protocol: ``Agent`` satisfies it, and the engine
depends on this shape, never on the agent module."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..approvals import ApprovalPolicy
    from ..consent import ConsentPolicy
    from ..escalation import EscalationPolicy
    from ..intents import Intent
    from ..models.base import Model
    from ..phrases import Phrases
    from ..playbooks import Context, KnowledgeAnswer, PlaybookOutcome
    from ..redaction import Redactor
    from ..registry import EarlyCheck
    from ..repair import Repairs
    from ..sessions import Store
    from ..specs import IntentSpec
    from ..tools import Tool
    from .parking import ParkedPlaybooks

__all__ = ["AgentSetup", "Playbook", "VerifyStep"]

Playbook = Callable[["Context[Any]", Any], Awaitable["PlaybookOutcome | None"]]
"""A registered playbook: ``async def playbook(ctx, intent)``."""

VerifyStep = Callable[["Context[Any]"], Awaitable[Any]]
"""The identity step: ``async def verify(ctx) -> identity | PlaybookOutcome``."""


class AgentSetup(Protocol):
    """The agent as the engine sees it: registrations, policies, the model and the store."""

    @property
    def name(self) -> str: ...

    @property
    def instructions(self) -> str: ...

    @property
    def intents(self) -> Mapping[str, type[Intent]]: ...

    @property
    def playbooks(self) -> Mapping[str, Playbook]: ...

    @property
    def tools(self) -> Mapping[str, Tool[Any]]: ...

    @property
    def verify_step(self) -> VerifyStep | None:
        """The identity step (``@agent.verify``), if any."""
        ...

    @property
    def checks(self) -> Mapping[str, tuple[EarlyCheck, ...]]:
        """The early checks of each intent (``@agent.check``)."""
        ...

    @property
    def free_mode(self) -> bool: ...

    @property
    def max_steps(self) -> int: ...

    @property
    def raise_errors(self) -> bool: ...

    @property
    def escalation(self) -> EscalationPolicy: ...

    @property
    def consent(self) -> ConsentPolicy: ...

    @property
    def phrases(self) -> Phrases: ...

    @property
    def repairs(self) -> Repairs: ...

    @property
    def redaction(self) -> Redactor | None: ...

    @property
    def model(self) -> Model: ...

    @property
    def store(self) -> Store: ...

    @property
    def intent_specs(self) -> list[IntentSpec]: ...

    @property
    def parked(self) -> ParkedPlaybooks:
        """Playbooks kept running in memory between turns (:mod:`.parking`)."""
        ...

    @property
    def approval_policy(self) -> ApprovalPolicy:
        """Who approves what (``ctx.approve``)."""
        ...

    @property
    def has_knowledge(self) -> bool:
        """Whether a knowledge source is configured."""
        ...

    def intent_spec(self, name: str) -> IntentSpec: ...

    async def answer_from_knowledge(self, query: str, k: int = 3) -> KnowledgeAnswer: ...
