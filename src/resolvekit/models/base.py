"""The model interface: a :class:`Model` turns a :class:`ModelRequest` into a
:class:`ModelResponse` holding one decision. Every model implementation imports this module;
it imports none of them."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ..messages import Decision, Message, Usage
from ..specs import DecisionKind, IntentSpec, Passage, Pending, ToolSpec

__all__ = [
    "ALLOW_MODEL_REQUESTS",
    "Model",
    "ModelRequest",
    "ModelResponse",
    "Signals",
    "check_allow_model_requests",
]

ALLOW_MODEL_REQUESTS = os.environ.get("RESOLVEKIT_ALLOW_MODEL_REQUESTS", "1") != "0"
"""When false, models that talk to a network refuse to send requests (tests set this)."""


def check_allow_model_requests() -> None:
    """Raise :class:`~resolvekit.exceptions.ModelRequestsBlocked` when requests are disabled."""
    from ..exceptions import ModelRequestsBlocked

    if not ALLOW_MODEL_REQUESTS:
        raise ModelRequestsBlocked(
            "Real model requests are disabled (resolvekit.models.ALLOW_MODEL_REQUESTS is False); "
            "use FunctionModel or ScriptedModel in tests"
        )


@dataclass(kw_only=True)
class ModelRequest:
    """Everything a model may use to decide; plain data, no engine objects."""

    task: Literal["turn", "answer", "summarize"] = "turn"
    """``turn``: decide the next step; ``answer``: answer ``query`` from ``passages``;
    ``summarize``: summarise the conversation for a human (reply)."""
    allowed: frozenset[DecisionKind]
    """The decision kinds valid for this request; anything else is rejected by the engine."""
    messages: list[Message] = field(default_factory=list)
    """The current conversation; the last customer message is what to act on."""
    instructions: str = ""
    """The agent's instructions and policy text."""
    intents: list[IntentSpec] = field(default_factory=list)
    tools: list[ToolSpec] = field(default_factory=list)
    active_intent: str | None = None
    slots: dict[str, Any] = field(default_factory=dict)
    """Slot values of the active intent so far."""
    known: dict[str, Any] = field(default_factory=dict)
    """Facts the customer gave earlier (this or a previous conversation, any channel)."""
    pending: Pending | None = None
    offered: list[str] = field(default_factory=list)
    """Intents offered in the agent's last clarification, in order ("the second one")."""
    recent_intent: str | None = None
    """With no request under way: the intent of the request last resolved or refused in this
    conversation ("actually, make it annual" right after a plan change; "sorry, it's
    ann@example.com" after "no account uses ann@exmaple.com")."""
    history: list[str] = field(default_factory=list)
    """Summaries of the customer's earlier conversations, newest last."""
    query: str = ""
    passages: list[Passage] = field(default_factory=list)
    retry_error: str | None = None
    """Set when the previous decision was rejected: why, so the model can correct it."""

    @property
    def text(self) -> str:
        """The customer's latest message ("" if none)."""
        for message in reversed(self.messages):
            if message.role == "customer":
                return message.text
        return ""


@dataclass(kw_only=True)
class Signals:
    """Side observations a model may report about the customer's message."""

    human_request: bool = False
    """The customer asked for a person."""
    sentiment: float | None = None
    """-1 (angry) .. 1 (happy); None if not measured."""
    respelled: list[tuple[str, str]] = field(default_factory=list)
    """Words read as other words to understand the message, as (written, read) pairs:
    typos and chat shorthand (``("chnage", "change")``); empty when read as written."""


@dataclass(kw_only=True)
class ModelResponse:
    """A model's answer: one decision, plus how sure it is."""

    decision: Decision
    confidence: float | None = None
    """Calibrated probability that the decision is right, if the model can tell."""
    alternatives: list[tuple[str, float]] = field(default_factory=list)
    """Other intents considered, best first, with their probabilities."""
    signals: Signals = field(default_factory=Signals)
    usage: Usage = field(default_factory=Usage)
    model_name: str = ""


class Model(ABC):
    """Base class of every model. Subclasses implement :meth:`request`."""

    name: str = "model"
    capabilities: frozenset[str] = frozenset()
    """Tasks beyond ``turn`` this model performs well: ``"answer"`` (grounded generation from
    passages) and ``"summarize"`` (handoff summaries). Without them the engine answers
    extractively and summarises deterministically."""

    @abstractmethod
    async def request(self, request: ModelRequest) -> ModelResponse:
        """Return one decision for ``request``."""

    async def warm_up(self, intents: Sequence[IntentSpec]) -> None:
        """Load now what the first request would otherwise wait for (``Agent.warm_up`` calls
        this with the agent's intents).

        The default passes the call on to the model this one wraps, when it keeps it in an
        ``inner`` attribute (the convention of wrapping models), and does nothing otherwise.
        A model that loads or fits something on first use overrides it."""
        inner = getattr(self, "inner", None)
        if isinstance(inner, Model) and inner is not self:
            await inner.warm_up(intents)
