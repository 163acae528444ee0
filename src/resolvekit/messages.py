"""Provider-neutral vocabulary: transcript messages, model decisions, usage.

A model sees a :class:`ModelRequest` (see :mod:`resolvekit.models`) and answers with exactly one
:data:`Decision` from a closed set. Decisions are pydantic models because they come from outside
(an LLM's function call, a test double): the engine validates them before acting.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from ._json import dump, load

__all__ = [
    "AnswerFromKnowledge",
    "AskClarification",
    "CallTool",
    "Citation",
    "Confirm",
    "Decision",
    "Escalate",
    "FillSlots",
    "Message",
    "Reply",
    "Role",
    "StartIntent",
    "Usage",
    "decision_adapter",
]

Role = Literal["customer", "agent", "tool", "system", "human_agent"]

KEPT_JSON = "_resolvekit_json"
"""Where a :class:`Message` (or a journal step) keeps the JSON a store last wrote for it; any
field given a value drops it."""


@dataclass(kw_only=True)
class Message:
    """One line of a conversation's transcript."""

    role: Role
    """Who said it. ``human_agent`` is a person who took over after a handoff."""
    text: str
    """What was said (for ``tool`` messages: the JSON result)."""
    channel: str = "chat"
    """The channel it arrived on or was sent to: ``chat``, ``voice``, ``email``..."""
    at: float = field(default_factory=time.time)
    """Unix time."""
    tool_call: dict[str, Any] | None = None
    """For ``tool`` messages in free mode: ``{"name": ..., "args": ...}``."""
    message_id: str | None = None
    """The ``message_id`` the customer's message was delivered with, on its line and on the
    agent's reply to it: a client knows its own lines by it. None for lines written outside a
    customer's turn (a human agent's, an approval's outcome, the question on hand-back)."""
    author: str | None = None
    """For ``human_agent`` lines written in the console: the human agent's name."""

    def __setattr__(self, name: str, value: Any) -> None:
        # A store may keep the JSON it wrote for this message (resolvekit.sessions._split):
        # a field given a value drops it.
        self.__dict__.pop(KEPT_JSON, None)
        object.__setattr__(self, name, value)

    def to_json(self) -> dict[str, Any]:
        """The message as plain JSON data (the shared serialiser of :mod:`resolvekit._json`)."""
        data: dict[str, Any] = dump(self)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Message:
        """A message from :meth:`to_json`'s data."""
        return load(cls, data)


class _Decision(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StartIntent(_Decision):
    """Start (or switch to) the playbook of an intent, with any slot values already given."""

    kind: Literal["start_intent"] = "start_intent"
    intent: str
    slots: dict[str, Any] = Field(default_factory=dict)
    then: list[StartIntent] = Field(default_factory=list)
    """Further requests in the same message ("cancel my subscription *and* refund CH1001"):
    queued, each offered when the one before it is done."""


class FillSlots(_Decision):
    """Values for the question the agent is waiting on, and/or corrections of earlier slots."""

    kind: Literal["fill_slots"] = "fill_slots"
    slots: dict[str, Any]


class Confirm(_Decision):
    """The customer's answer to a yes/no confirmation."""

    kind: Literal["confirm"] = "confirm"
    answer: Literal["yes", "no", "unsure"]


class AnswerFromKnowledge(_Decision):
    """Answer a question from the knowledge index."""

    kind: Literal["answer_from_knowledge"] = "answer_from_knowledge"
    query: str
    otherwise: StartIntent | FillSlots | None = None
    """What to do when the knowledge base cannot answer: start this intent instead (a question
    like "how long do refunds take?" is answered if the policy says; else the refund intent
    takes it), or fill the pending question with these values (a playbook's free-text question
    answered with a question: answered from the knowledge base when it can be, else taken as
    the answer). Without it, the engine clarifies or escalates."""


class AskClarification(_Decision):
    """Ask the customer what they mean, optionally offering the closest intents."""

    kind: Literal["ask_clarification"] = "ask_clarification"
    text: str
    options: list[str] = Field(default_factory=list)


class CallTool(_Decision):
    """Call one of the agent's tools (free agentic mode only)."""

    kind: Literal["call_tool"] = "call_tool"
    tool: str
    args: dict[str, Any] = Field(default_factory=dict)


class Escalate(_Decision):
    """Hand the conversation to a human."""

    kind: Literal["escalate"] = "escalate"
    reason: str
    priority: Literal["low", "normal", "high", "urgent"] = "normal"


class Citation(BaseModel):
    """Where a piece of an answer comes from."""

    model_config = ConfigDict(frozen=True)

    doc_id: str
    title: str = ""
    source: str = ""
    heading: str = ""
    chunk_id: str = ""


class Reply(_Decision):
    """Say something to the customer (small talk, a grounded answer, a summary)."""

    kind: Literal["reply"] = "reply"
    text: str
    citations: list[Citation] = Field(default_factory=list)
    close: bool = False
    """True when the conversation is over (the customer said goodbye)."""


Decision = Annotated[
    StartIntent
    | FillSlots
    | Confirm
    | AnswerFromKnowledge
    | AskClarification
    | CallTool
    | Escalate
    | Reply,
    Field(discriminator="kind"),
]
"""The closed set of decisions a model can return."""

decision_adapter: TypeAdapter[Decision] = TypeAdapter(Decision)
"""Validates a decision from plain JSON (``{"kind": "start_intent", ...}``)."""


@dataclass(kw_only=True)
class Usage:
    """Tokens and cost spent on model requests."""

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    """In the currency of the configured price table (USD by default)."""

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def add(self, other: Usage) -> None:
        self.requests += other.requests
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.cost += other.cost

    def to_json(self) -> dict[str, Any]:
        """The usage as plain JSON data (the shared serialiser of :mod:`resolvekit._json`)."""
        data: dict[str, Any] = dump(self)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Usage:
        """Usage from :meth:`to_json`'s data."""
        return load(cls, data)
