"""The vocabulary models and the engine share: what an intent, a slot and a tool look like to a
model, what the agent is waiting for, and a retrieved passage.

Plain dataclasses with no behaviour; every layer may import them (see docs/architecture.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "DecisionKind",
    "IntentSpec",
    "Passage",
    "Pending",
    "SlotKind",
    "SlotSpec",
    "ToolSpec",
]

DecisionKind = Literal[
    "start_intent",
    "fill_slots",
    "confirm",
    "answer_from_knowledge",
    "ask_clarification",
    "call_tool",
    "escalate",
    "reply",
]

SlotKind = Literal[
    "text", "choice", "integer", "number", "money", "date", "email", "phone", "id", "boolean"
]


@dataclass(kw_only=True)
class SlotSpec:
    """What a model needs to know to fill one slot."""

    name: str
    description: str = ""
    json_schema: dict[str, Any] = field(default_factory=dict)
    """JSON Schema of the value."""
    kind: SlotKind = "text"
    """Extraction hint derived from the type and declaration."""
    required: bool = True
    ask: str = ""
    """The question the agent asks for it."""
    pattern: str | None = None
    choices: list[str] = field(default_factory=list)
    """Allowed values for enum/Literal slots."""
    synonyms: dict[str, list[str]] = field(default_factory=dict)
    """Other ways customers say each choice (choice -> phrases)."""
    examples: list[str] = field(default_factory=list)


@dataclass(kw_only=True)
class IntentSpec:
    """What a model needs to know about one intent."""

    name: str
    description: str = ""
    examples: list[str] = field(default_factory=list)
    slots: list[SlotSpec] = field(default_factory=list)
    title: str = ""
    """How customers are told the intent is called (``Intent.intent_title``); empty: the name
    in words."""

    def slot(self, name: str) -> SlotSpec | None:
        return next((s for s in self.slots if s.name == name), None)


@dataclass(kw_only=True)
class ToolSpec:
    """A tool offered to the model in free agentic mode."""

    name: str
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)
    """JSON Schema of the arguments object."""
    effect: Literal["read", "write"] = "read"
    confirm: bool = False


@dataclass(kw_only=True)
class Pending:
    """What the agent is waiting for from the customer."""

    kind: Literal["slot", "ask", "confirm", "resume"]
    """``slot``: a missing intent slot; ``ask``: a playbook's ``ctx.ask``; ``confirm``: a yes/no;
    ``resume``: whether to go back to a suspended playbook."""
    question: str
    slot: SlotSpec | None = None
    """For ``slot`` and ``ask``: the value wanted."""
    intent: str | None = None
    """The intent whose playbook is waiting."""


@dataclass(kw_only=True)
class Passage:
    """A retrieved knowledge passage, as the model sees it."""

    text: str
    score: float = 0.0
    citation: Any = None
    """A :class:`resolvekit.messages.Citation`."""
