"""The deterministic task-driven customer of the τ²-bench retail suite.

:class:`TaskCustomer` plays one τ²-bench task without a model. It opens with its reason for
calling in the first person, then answers the agent's questions by the kinds fixed in
``examples/retail/DIALOGUE.md`` (identity, order, items, new options, payment, reason, address,
confirmation, anything else), pursues its goals (see ``goals.py``) one after the other, and says
goodbye when they are done. It never says an id its scenario does not state, answers a question
its goals do not cover from its task's own sentences on the subject (``known``), "I don't know"
only when nothing there answers it, says "no" to a confirmation that does not match its goal (or to
any change when the correct outcome is no change), and asks for a human after a few turns
without progress.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Literal

from pydantic import Field

from resolvekit.evals.users import (
    AgentTurn,
    SimulatedUser,
    UserMove,
    UserSession,
    is_information,
)
from resolvekit.models import Model

from .english import contains, join_words, norm, split_sentences
from .goals import VERBS, Goal, Identity

__all__ = ["QuestionKind", "TaskCustomer", "classify_question"]

QuestionKind = Literal[
    "confirm",
    "resume",
    "identity",
    "items",
    "all_items",
    "payment",
    "options",
    "reason",
    "address",
    "order",
    "anything_else",
    "open",
    "yes_no",
    "unknown",
    "statement",
]

_OPEN = re.compile(
    r"\b(?:how can i help|how may i help|what can i do|what would you like|tell me (?:a bit )?"
    r"more|could you (?:please )?(?:describe|explain|rephrase)|didn't (?:quite )?(?:get|catch)|"
    r"not sure i understand|what do you need)\b"
)
_AUXILIARY = re.compile(r"^(?:shall|should|do|does|did|can|could|would|will|is|are|may|want)\b")
_BYE = "No, that's all. Thank you, bye!"
_HUMAN = "This isn't getting anywhere. Could I talk to a human agent, please?"
_DONT_KNOW = "I'm sorry, I don't know."
_NO_WRITE = ("decline", "question", "transfer")


def _last_question(text: str) -> str | None:
    for sentence in reversed(split_sentences(text)):
        if sentence.rstrip().endswith("?"):
            return sentence
    return None


@functools.lru_cache(maxsize=4096)
def classify_question(text: str, pending: str | None = None) -> QuestionKind:
    """What the agent asks, by the keywords of ``examples/retail/DIALOGUE.md``.

    The last sentence ending in "?" is classified; a message without one is a ``statement``
    (or a ``confirm`` when the agent waits for a yes/no confirmation). Remembered per
    (text, pending): the agent asks the same questions in many conversations.
    """
    question = _last_question(text)
    if question is None:
        return "confirm" if pending == "confirm" else "statement"
    q = question.lower()
    if pending == "confirm" or re.search(r"\b(?:confirm|proceed|shall i)\b", q):
        return "confirm"
    if pending == "resume":
        return "resume"
    if "email" in q or re.search(r"\bzip\b|\byour (?:full |first and last )?name\b", q):
        return "identity"
    if re.search(r"\bwhich items?\b", q):
        return "items"
    if "all the items" in q or ("anything else" in q and "item" in q):
        return "all_items"
    if "which order" in q or re.search(r"\border (?:number|id)\b", q):
        return "order"
    if re.search(r"\b(?:payment|pay|refund to|refunded to)\b", q):
        return "payment"
    if re.search(r"\b(?:instead|which options?|prefer)\b", q):
        return "options"
    if re.search(r"\b(?:reason|why)\b", q):
        return "reason"
    if "address" in q:
        return "address"
    if "order" in q and re.search(r"\b(?:number|id)\b", q):
        return "order"
    if "anything else" in q:
        return "anything_else"
    if _OPEN.search(q):
        return "open"
    if _AUXILIARY.match(q):
        return "yes_no"
    return "unknown"


class TaskCustomer(SimulatedUser):
    """A deterministic customer for one τ²-bench task (built by ``convert.task_to_scenario``)."""

    kind: Literal["tau2_task"] = "tau2_task"
    task_id: str
    opening: str = Field(min_length=1)
    """The first message: the reason for calling, in the first person."""
    identity: Identity
    goals: list[Goal]
    patience: int = Field(default=3, ge=1)
    """Turns without progress before asking for a human."""
    known: list[str] = Field(default_factory=list)
    """What the task's text lets the customer say (first person): answers to questions the
    goals do not cover, instead of "I don't know" (see ``goals.known_sentences``)."""

    def start(self, *, seed: int, model: Model | None = None) -> UserSession:
        """A fresh session; the customer is deterministic, so ``seed`` changes nothing."""
        return _TaskSession(config=self)


@dataclass(kw_only=True)
class _TaskSession(UserSession):
    config: TaskCustomer
    done: list[bool] = field(default_factory=list)
    stated: set[int] = field(default_factory=set)
    identity_tries: int = 0
    stuck: int = 0
    asked_human: bool = False
    said_bye: bool = False
    heard: set[str] = field(default_factory=set)
    said: set[str] = field(default_factory=set)
    refusals: dict[int, int] = field(default_factory=dict)
    """Refusals of each goal: the first is answered by restating the goal, the second ends it."""

    def __post_init__(self) -> None:
        self.done = [False] * len(self.config.goals)
        if self.config.goals:
            self.stated.add(0)  # the opening states the first goal

    async def opening(self) -> str:
        return self._say(self.config.opening)

    async def respond(self, turn: AgentTurn) -> UserMove:
        if turn.outcome == "escalated":
            return UserMove(text=None, reason="handed to a human")
        if self.said_bye:
            return UserMove(text=None, reason="goals done")
        heard = norm(turn.text)
        repeated = heard in self.heard
        self.heard.add(heard)
        text, progress = self._reply(turn, classify_question(turn.text, turn.pending))
        if text is None:
            return UserMove(text=None, reason="goals done")
        self.stuck = 0 if progress and not repeated else self.stuck + 1
        if self.stuck >= self.config.patience:
            if self.asked_human:
                return UserMove(text=None, reason="gave up")
            self.asked_human = True
            return UserMove(text=self._say(_HUMAN))
        return UserMove(text=self._say(text))

    def _say(self, text: str) -> str:
        key = norm(text)
        if key in self.said and text not in (_DONT_KNOW, _BYE) and is_information(text):
            self.repeated_info += 1
        self.said.add(key)
        return text

    # -- goals -------------------------------------------------------------------------------

    def _current(self) -> int | None:
        return next((i for i, done in enumerate(self.done) if not done), None)

    def _focus(self, text: str) -> int | None:
        """The pending goal the agent is talking about (by its words), else the current one.

        A goal scores 2 per action verb of its kind in the agent's message and 1 per word of
        its order (product names, the order id when known); the current goal gets a 1.5 lead.
        """
        current = self._current()
        best, best_score = current, 0.0
        for index, goal in enumerate(self.config.goals):
            if self.done[index]:
                continue
            score = sum(2.0 for verb in VERBS[goal.kind] if contains(text, verb))
            score += 3.0 if goal.order_ref and goal.order_ref in text else 0.0
            score += sum(1.0 for word in goal.mentions if contains(text, word))
            score += 1.5 if index == current else 0.0
            if score > best_score:
                best, best_score = index, score
        return best

    def _next_request(self, finished: bool) -> tuple[str | None, bool]:
        """State the next goal, or say goodbye when none is left."""
        index = self._current()
        if index is None:
            if self.said_bye:
                return None, True
            self.said_bye = True
            return _BYE, True
        goal = self.config.goals[index]
        if index in self.stated and not finished:
            return goal.request, False  # restating: no progress
        self.stated.add(index)
        if index == 0 or goal.request.startswith(("I ", "I'")):
            return (f"Also, {goal.request}" if index else goal.request), True
        return f"Also, {goal.request[0].lower()}{goal.request[1:]}", True

    # -- replies -----------------------------------------------------------------------------

    def _reply(self, turn: AgentTurn, kind: QuestionKind) -> tuple[str | None, bool]:
        focus = self._focus(turn.text)
        goal = self.config.goals[focus] if focus is not None else None
        match kind:
            case "confirm":
                return self._confirm(focus, turn.text)
            case "resume" | "yes_no":
                shown = _order_ids(turn.text)
                if goal is not None and goal.order_ref and shown and goal.order_ref not in shown:
                    # "Is it order #W1?" about another order than the one meant.
                    return f"No, I mean {goal.order or 'another order'}.", True
                return ("Yes, please." if goal is not None else "No, thank you."), True
            case "identity":
                return self._identity(turn.text)
            case "items":
                return self._or_known(goal.items if goal else None, "items")
            case "all_items":
                return "No, that's all.", goal is not None
            case "payment":
                return self._or_known(goal.payment if goal else None, "payment")
            case "options":
                if goal is not None and goal.items:
                    other = [w for w in goal.confirm_avoids if contains(turn.text, w)]
                    if other and not any(w in goal.items for w in _named(turn.text, goal)):
                        return (
                            f"No, I didn't ask about the {join_words(other)}; I mean {goal.items}.",
                            True,
                        )
                return self._or_known(goal.options if goal else None, "options")
            case "reason":
                return self._or_known(goal.reason if goal else None, "reason")
            case "address":
                return self._or_known(goal.address if goal else None, "address")
            case "order":
                if goal is not None and goal.order_ref and goal.order_ref in turn.text:
                    return f"{goal.order_ref}, that's the one.", True  # recognised in a list
                shown = _order_ids(turn.text)
                if len(shown) == 1 and (goal is None or goal.order_ref is None):
                    return f"That one, {shown[0]}.", True  # the only order the agent shows
                return self._or_known(goal.order if goal else None, "order")
            case "anything_else" | "open" | "statement":
                return self._move_on(turn, kind)
            case "unknown":
                if goal is None:
                    return _DONT_KNOW, False
                return f"I'm not sure what you mean. {goal.request}", False

    def _confirm(self, focus: int | None, text: str) -> tuple[str, bool]:
        if focus is None:
            return "No, please don't change anything.", True
        goal = self.config.goals[focus]
        if goal.kind in _NO_WRITE:
            if goal.kind == "decline":
                self.done[focus] = True
            return "No, please don't do that; I'd rather keep things as they are.", True
        problem = _mismatch(goal, text)
        if problem is None:
            self.done[focus] = True
            return "Yes, please go ahead.", True
        for index, other in enumerate(self.config.goals):  # another wish of the customer's?
            pending = not self.done[index] and index != focus and other.kind not in _NO_WRITE
            if pending and _mismatch(other, text) is None:
                self.done[index] = True
                return "Yes, please go ahead.", True
        return f"No, {problem}", True

    def _move_on(self, turn: AgentTurn, kind: QuestionKind) -> tuple[str | None, bool]:
        index = self._current()
        finished = False
        if index is not None:
            goal = self.config.goals[index]
            answered = (
                goal.kind == "question"
                and index in self.stated  # asked already: this reply is its answer
                and turn.outcome in ("answered", "resolved")
            )
            refused = turn.outcome == "refused"
            if goal.kind == "transfer" and refused:
                self.asked_human = True
                return "Then I'd like to talk to a human agent, please.", True
            if refused and goal.kind not in _NO_WRITE:
                self.refusals[index] = self.refusals.get(index, 0) + 1
                if self.refusals[index] == 1:  # insist once, in the goal's own words
                    return f"Let me put it another way. {goal.request}", True
            moved_on = kind == "anything_else" and index in self.stated
            if answered or refused or (moved_on and goal.kind in ("question", "decline")):
                self.done[index] = finished = True
        elif kind == "statement" and turn.outcome in ("resolved", "answered", "refused"):
            finished = True
        if kind == "open" and index is not None:
            finished = finished or index not in self.stated
        return self._next_request(finished)

    def _or_known(self, answer: str | None, kind: QuestionKind) -> tuple[str, bool]:
        """The goal's answer; else a sentence of the task's text on the subject; else "I
        don't know"."""
        if answer:
            return answer, True
        topic = _TOPICS.get(kind)
        for sentence in self.config.known if topic is not None else ():
            if topic is not None and topic.search(sentence):
                return sentence, True
        return _DONT_KNOW, False

    def _identity(self, text: str) -> tuple[str, bool]:
        who = self.config.identity
        question = (_last_question(text) or text).lower()
        asks_email = "email" in question
        tries, self.identity_tries = self.identity_tries, self.identity_tries + 1
        full_name = None
        if who.first_name and who.last_name:
            full_name = f"{who.first_name} {who.last_name}"
        if asks_email and tries < len(who.emails):
            return f"My email is {who.emails[tries]}.", True
        if not asks_email and "zip" in question and "name" not in question:
            return (f"My zip code is {who.zip}.", True) if who.zip else (_DONT_KNOW, False)
        if full_name and who.zip:
            forgot = "I don't remember my email address. " if asks_email and not who.emails else ""
            return f"{forgot}I'm {full_name}, zip code {who.zip}.", True
        if who.emails:
            return f"My email is {who.emails[-1]}.", True
        return _DONT_KNOW, False


_TOPICS: dict[QuestionKind, re.Pattern[str]] = {
    "order": re.compile(
        r"#W\d{7}|\b(?:pending|delivered|last|recent|latest|most recent|first) order\b"
        r"|\border (?:with|containing|that has|in which)\b",
        re.IGNORECASE,
    ),
    "payment": re.compile(
        r"\b(?:paypal|credit card|debit card|gift card|card ending|pay(?:ment|ing)?)\b",
        re.IGNORECASE,
    ),
    "address": re.compile(r"\b(?:address|street|avenue|road|lane|moved|live)\b", re.IGNORECASE),
    "reason": re.compile(r"\b(?:because|reason|no longer|mistake|broken|don't need)\b", re.I),
}
"""What a sentence of the task's text must mention to answer each kind of question."""


def _order_ids(text: str) -> list[str]:
    return list(dict.fromkeys(re.findall(r"#W\d{7}", text)))


def _named(text: str, goal: Goal) -> list[str]:
    """The goal's own product names that ``text`` mentions."""
    return [w for w in goal.mentions if w not in goal.confirm_avoids and contains(text, w)]


def _mismatch(goal: Goal, text: str) -> str | None:
    """What is wrong with a confirmation of ``goal`` (None when it matches)."""
    verbs = VERBS[goal.kind]
    if verbs and not any(contains(text, verb) for verb in verbs):
        return f"that's not what I asked for. {goal.request}"
    shown = set(re.findall(r"#W\d{7}", text))
    if goal.order_ref and shown and goal.order_ref not in shown:
        return f"that's not the order I mean; I mean {goal.order or 'another one'}."
    wrong = [word for word in goal.confirm_avoids if contains(text, word)]
    if wrong:
        items = goal.items or "the items I mentioned"
        return f"I don't want anything done with the {join_words(wrong)}; I only mean {items}."
    missing = [word for word in goal.confirm_needs if not contains(text, word)]
    if not missing:
        return None
    if goal.items is not None and any(f"the {w}" in goal.items for w in missing):
        return f"that's not quite it: I mean {goal.items}."
    if goal.options is not None:
        return f"that's not what I want: I'd like {goal.options}."
    if goal.address is not None:
        return f"the address should be: {goal.address}"
    return f"I mean {goal.order or 'the one I described'}."
