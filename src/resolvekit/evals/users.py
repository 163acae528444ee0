"""Simulated customers: they speak natural language to the agent, never tool arguments.

Each user type is a pydantic model (so scenarios can be loaded from JSON or YAML) that starts a
fresh :class:`UserSession` per conversation. A session is deterministic for a given seed:

- :class:`ScriptedUser` says fixed lines in order.
- :class:`GoalUser` pursues a goal: it answers the agent's questions from the facts it knows,
  volunteers information one piece at a time, confirms only what matches its goal, asks for a
  person when it is stuck and ends the conversation when the agent is done.
- :class:`LLMUser` plays a persona with any resolvekit :class:`~resolvekit.models.Model`.
"""

from __future__ import annotations

import functools
import random
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .._text import normalize
from ..consent import read_consent
from ..messages import Message, Reply, Usage
from ..models import Model, ModelRequest, infer_model
from ._state import says

__all__ = [
    "AgentTurn",
    "Fact",
    "GoalUser",
    "LLMUser",
    "ScriptedUser",
    "SimulatedUser",
    "UserMove",
    "UserSession",
    "is_information",
]

STOP = "###STOP###"
"""An :class:`LLMUser` writes this to end the conversation."""
TRANSFER = "###TRANSFER###"
"""An :class:`LLMUser` writes this to ask for a human."""

_YES_NO_KINDS = frozenset({"confirm", "tool_confirm", "resume"})
_AUXILIARY = re.compile(
    r"^(?:shall|should|do|does|did|can|could|would|will|is|are|was|may|want|ok|okay)\b"
)
_OPEN_PROMPT = re.compile(
    r"\b(?:tell me (?:a bit )?more|another way|didn't (?:quite )?get|did you mean|"
    r"how can i help|what can i do|anything else)\b"
)


@dataclass(kw_only=True, frozen=True)
class AgentTurn:
    """What the simulated customer sees of one agent turn."""

    text: str
    """The agent's reply."""
    outcome: str
    """The turn's outcome (``resolved``, ``awaiting_customer``...): what a customer would read
    from the reply ("done", "I need something from you")."""
    pending: str | None = None
    """The kind of answer the agent waits for (``slot``, ``ask``, ``confirm``...), if any."""


@dataclass(kw_only=True, frozen=True)
class UserMove:
    """The customer's next message, or the end of the conversation."""

    text: str | None
    """What the customer says; None ends the conversation."""
    reason: str = ""
    """Why the customer stopped (when ``text`` is None)."""


@dataclass(kw_only=True)
class UserSession(ABC):
    """One simulated customer in one conversation."""

    repeated_info: int = 0
    """How often the customer had to give information it had already given."""
    usage: Usage = field(default_factory=Usage)
    """Model usage of the simulator itself (LLM users)."""

    @abstractmethod
    async def opening(self) -> str:
        """The first message."""

    @abstractmethod
    async def respond(self, turn: AgentTurn) -> UserMove:
        """The reply to the agent's last turn."""


class SimulatedUser(BaseModel, ABC):
    """Base of the simulated customers (configuration; :meth:`start` makes a session)."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    @abstractmethod
    def start(self, *, seed: int, model: Model | None = None) -> UserSession:
        """A fresh session for one conversation.

        Args:
            seed: makes the session's choices (phrasings) reproducible.
            model: the default model for LLM users (ignored by the others).
        """


@functools.lru_cache(maxsize=4096)
def is_information(line: str) -> bool:
    """Whether saying ``line`` again would be giving information again (counted in
    ``repeated_info``): a plain yes ("Yes, please go ahead.") or a bare no, said to a second
    confirmation, is an answer, not information repeated. Remembered per line (simulated
    customers say the same lines in every conversation)."""
    reading = read_consent(line)
    if reading.answer == "yes":
        return False
    return not (reading.answer == "no" and len(line.split()) <= 3)


# -- scripted ------------------------------------------------------------------------------


class ScriptedUser(SimulatedUser):
    """Says ``lines`` in order, whatever the agent answers, then ends the conversation."""

    kind: Literal["scripted"] = "scripted"
    lines: list[str] = Field(min_length=1)

    @field_validator("lines")
    @classmethod
    def _no_blank_lines(cls, lines: list[str]) -> list[str]:
        if any(not line.strip() for line in lines):
            raise ValueError("scripted lines must not be blank")
        return lines

    def start(self, *, seed: int, model: Model | None = None) -> UserSession:
        return _ScriptedSession(lines=list(self.lines))


@dataclass(kw_only=True)
class _ScriptedSession(UserSession):
    lines: list[str]
    said: list[str] = field(default_factory=list)

    def _say(self, line: str) -> str:
        if is_information(line) and normalize(line) in {normalize(s) for s in self.said}:
            self.repeated_info += 1
        self.said.append(line)
        return line

    async def opening(self) -> str:
        return self._say(self.lines[0])

    async def respond(self, turn: AgentTurn) -> UserMove:
        if len(self.said) >= len(self.lines):
            return UserMove(text=None, reason="script finished")
        return UserMove(text=self._say(self.lines[len(self.said)]))


# -- goal-driven ---------------------------------------------------------------------------


class Fact(BaseModel):
    """Something the customer knows, and the words that show a question is about it."""

    model_config = ConfigDict(extra="forbid")

    value: str
    """What the customer says when asked ("W1234567", "I ordered it by mistake")."""
    keywords: list[str] = Field(default_factory=list)
    """Words of a question about this fact; the fact's name (``order_id`` -> ``order id``) always
    counts too."""


class GoalUser(SimulatedUser):
    """A deterministic customer who pursues a goal and answers from the facts it knows.

    Behaviour per agent turn:

    1. The agent escalated, or finished (an outcome in ``end_on`` with nothing pending): end.
    2. A yes/no question: "yes" when the agent's message mentions every phrase of ``agree_to``,
       else "no".
    3. A question matching a fact (by the fact's name and keywords): answer with its value. A
       fact asked for again is answered again and counted as repeated information.
    4. An open prompt ("how can I help?", "could you tell me more?", a statement): volunteer the
       next fact not yet given, or restate the goal.
    5. A question it cannot answer: "I don't know."
    6. After ``patience`` turns without progress (unanswerable questions, the agent repeating
       itself, nothing left to volunteer), ask for a human once; if still stuck, give up.
    """

    kind: Literal["goal"] = "goal"
    goal: str | list[str]
    """The opening request; with several paraphrases, one is picked per trial by the seed."""
    facts: dict[str, str | Fact] = Field(default_factory=dict)
    """What the customer knows, by name (``{"order number": "W1234567"}``)."""
    opening_facts: list[str] = Field(default_factory=list)
    """Facts said in the opening message; the others only when asked or volunteered later."""
    agree_to: list[str] = Field(default_factory=list)
    """Phrases a confirmation must mention for a "yes" (e.g. the order number)."""
    patience: int = Field(default=2, ge=1)
    """Turns without progress before asking for a human."""
    end_on: list[str] = Field(default_factory=lambda: ["resolved", "refused", "answered"])
    """Agent outcomes that end the conversation (when the agent waits for nothing)."""

    @field_validator("goal")
    @classmethod
    def _goal_not_empty(cls, goal: str | list[str]) -> str | list[str]:
        goals = [goal] if isinstance(goal, str) else goal
        if not goals or any(not g.strip() for g in goals):
            raise ValueError("goal must be a non-empty string or list of strings")
        return goal

    @model_validator(mode="after")
    def _opening_facts_known(self) -> GoalUser:
        unknown = [name for name in self.opening_facts if name not in self.facts]
        if unknown:
            raise ValueError(f"opening_facts names unknown facts: {unknown}")
        return self

    def fact(self, name: str) -> Fact:
        """The fact called ``name`` as a :class:`Fact`."""
        value = self.facts[name]
        return value if isinstance(value, Fact) else Fact(value=value)

    def start(self, *, seed: int, model: Model | None = None) -> UserSession:
        rng = random.Random(seed)
        goals = [self.goal] if isinstance(self.goal, str) else self.goal
        return _GoalSession(config=self, rng=rng, goal=rng.choice(goals))


_ANSWER_FORMS = ("{v}", "It's {v}.", "Sure: {v}.")
_VOLUNTEER_FORMS = ("My {k} is {v}.", "The {k} is {v}.")
_YES = ("Yes, please.", "Yes, go ahead.", "yes")
_NO = ("No, that's not what I want.", "No.")
_HUMAN = "This isn't working. Can I talk to a human, please?"


@dataclass(kw_only=True)
class _GoalSession(UserSession):
    config: GoalUser
    rng: random.Random
    goal: str
    given: dict[str, int] = field(default_factory=dict)
    agent_said: list[str] = field(default_factory=list)
    stuck: int = 0
    asked_human: bool = False

    async def opening(self) -> str:
        parts = [self.goal]
        for name in self.config.opening_facts:
            parts.append(self._volunteer(name))
        return " ".join(parts)

    async def respond(self, turn: AgentTurn) -> UserMove:
        repeated_agent = normalize(turn.text) in self.agent_said
        self.agent_said.append(normalize(turn.text))
        if turn.outcome == "escalated":
            return UserMove(text=None, reason="handed to a human")
        if turn.outcome in self.config.end_on and turn.pending is None:
            return UserMove(text=None, reason=f"agent finished ({turn.outcome})")
        text, progress = self._answer(turn)
        self.stuck = 0 if progress and not repeated_agent else self.stuck + 1
        if self.stuck >= self.config.patience:
            if self.asked_human:
                return UserMove(text=None, reason="gave up")
            self.asked_human = True
            return UserMove(text=_HUMAN)
        return UserMove(text=text)

    def _answer(self, turn: AgentTurn) -> tuple[str, bool]:
        """The reply and whether it moved the conversation forward."""
        question = _last_question(turn.text)
        if question is not None and _is_yes_no(question, turn.pending):
            agree = all(says(turn.text, phrase) for phrase in self.config.agree_to)
            return self.rng.choice(_YES if agree else _NO), True
        if question is not None:
            name = self._match(question)
            if name is not None:
                return self._tell(name), True
            if not _OPEN_PROMPT.search(normalize(question)):
                return "I don't know.", False
        remaining = [n for n in self.config.facts if n not in self.given]
        if remaining:
            return self._volunteer(remaining[0]), True
        return self.goal, False

    def _match(self, question: str) -> str | None:
        best: str | None = None
        best_score = 0.0
        for name in self.config.facts:
            fact = self.config.fact(name)
            words = [normalize(name.replace("_", " ")), *map(normalize, fact.keywords)]
            score = float(sum(1 for word in words if word and says(question, word)))
            if score == 0:  # partial match on the name's words ("order" for "order number")
                tokens = [t for t in normalize(name.replace("_", " ")).split() if len(t) > 3]
                score = sum(1 for t in tokens if says(question, t)) / (len(tokens) + 1)
            if score > best_score:
                best, best_score = name, score
        return best

    def _mark(self, name: str) -> None:
        if name in self.given:
            self.repeated_info += 1
        self.given[name] = self.given.get(name, 0) + 1

    def _tell(self, name: str) -> str:
        self._mark(name)
        value = self.config.fact(name).value
        if " " in value.strip():
            return value
        return self.rng.choice(_ANSWER_FORMS).format(v=value)

    def _volunteer(self, name: str) -> str:
        self._mark(name)
        value = self.config.fact(name).value
        return self.rng.choice(_VOLUNTEER_FORMS).format(k=name.replace("_", " "), v=value)


def _last_question(text: str) -> str | None:
    """The last sentence of ``text`` ending with a question mark, if any."""
    sentences = re.split(r"(?<=[.!?])\s+|\n+", text.strip())
    for sentence in reversed(sentences):
        if sentence.strip().endswith("?"):
            return sentence.strip()
    return None


def _is_yes_no(question: str, pending: str | None) -> bool:
    if pending in _YES_NO_KINDS:
        return True
    if pending in ("slot", "ask"):
        return False
    lowered = question.lower().removeprefix("to confirm:").strip()
    return bool(_AUXILIARY.match(lowered)) or "go ahead" in lowered


# -- LLM-driven ----------------------------------------------------------------------------

_LLM_INSTRUCTIONS = """\
You are role-playing a CUSTOMER contacting customer support. You are not the support agent.
Persona: {persona}
Your goal: {goal}
What you know (share a piece only when it is asked for or clearly needed): {facts}
Write one short, natural message at a time, as this customer would. Never invent order numbers,
ids or details you were not given; say you don't know instead. Never mention these instructions.
In the transcript, messages with role 'customer' come from the SUPPORT AGENT; messages with role
'agent' are yours.
When your goal is met, or you want to end the conversation, reply with only {stop}.
If you want to be transferred to a human, include {transfer} in your reply."""


class LLMUser(SimulatedUser):
    """A persona played by a model (any resolvekit :class:`~resolvekit.models.Model`).

    The model receives a ``turn`` request allowing only ``reply``; its text is the customer's
    message. ``###STOP###`` ends the conversation; ``###TRANSFER###`` asks for a human.
    """

    kind: Literal["llm"] = "llm"
    persona: str
    goal: str
    facts: dict[str, str] = Field(default_factory=dict)
    model: Model | str | None = None
    """The model or its name (``"openai:gpt-4.1-mini"``); default: the runner's user model."""
    max_chars: int = Field(default=1000, ge=1)
    """Longer messages are cut (a runaway simulator must not flood the agent)."""

    def start(self, *, seed: int, model: Model | None = None) -> UserSession:
        chosen = self.model if self.model is not None else model
        if chosen is None:
            from .errors import ScenarioError

            raise ScenarioError(
                "LLMUser needs a model: set `model` on the user or give the runner a user model"
            )
        facts = "; ".join(f"{k}: {v}" for k, v in self.facts.items()) or "nothing in particular"
        instructions = _LLM_INSTRUCTIONS.format(
            persona=self.persona, goal=self.goal, facts=facts, stop=STOP, transfer=TRANSFER
        )
        return _LLMSession(model=infer_model(chosen), instructions=instructions, config=self)


@dataclass(kw_only=True)
class _LLMSession(UserSession):
    model: Model
    instructions: str
    config: LLMUser
    messages: list[Message] = field(default_factory=list)
    said: set[str] = field(default_factory=set)

    async def opening(self) -> str:
        move = await self._next()
        return move.text or self.config.goal

    async def respond(self, turn: AgentTurn) -> UserMove:
        if turn.outcome == "escalated":
            return UserMove(text=None, reason="handed to a human")
        # Roles are mirrored: the simulator is the "agent" talking to a "customer".
        self.messages.append(Message(role="customer", text=turn.text))
        return await self._next()

    async def _next(self) -> UserMove:
        request = ModelRequest(
            task="turn",
            allowed=frozenset({"reply"}),
            messages=list(self.messages),
            instructions=self.instructions,
        )
        response = await self.model.request(request)
        self.usage.add(response.usage)
        decision = response.decision
        text = decision.text if isinstance(decision, Reply) else ""
        if STOP in text:
            return UserMove(text=None, reason="customer said stop")
        if TRANSFER in text:
            text = text.replace(TRANSFER, "").strip() or "Please transfer me to a human agent."
        text = text.strip()[: self.config.max_chars]
        if not text:
            return UserMove(text=None, reason="customer said nothing")
        key = normalize(text)
        if key in self.said and is_information(text):
            self.repeated_info += 1
        self.said.add(key)
        self.messages.append(Message(role="agent", text=text))
        return UserMove(text=text)


AnyUser = Annotated[ScriptedUser | GoalUser | LLMUser, Field(discriminator="kind")]
"""Any simulated customer, chosen by its ``kind`` field in JSON/YAML."""
