"""Conversation repair: what the agent does when a conversation goes off the expected path.

Each repair *pattern* is a named, replaceable function from a :class:`Situation` (what went
wrong, how often, what the agent would say) to an action: :class:`Say` something and keep the
question open, or :class:`HandOver` to a person. The engine detects the situation and carries out
the action; the pattern only decides. The default set:

=========================  ===========================================  ============================
pattern                    when                                         default
=========================  ===========================================  ============================
``clarification``          the agent cannot act on the message: the     ask (did you mean A or B?);
                           model's decision was unusable twice, the     after ``limit`` times in a
                           intent is below the confidence floor, the    row, hand over
                           knowledge base cannot answer, or the model
                           asked for clarification
``value_not_given``        the answer to a slot question did not give   ask again with the reason;
                           the value                                    after ``limit``, hand over
``unclear_confirmation``   a reply to a yes/no confirmation is not a    ask once for a yes or no,
                           clear yes or no (a hedge, a condition...)    then keep the question open
``question_at_confirmation``  a question instead of a yes or no, and    ask for a yes or no
                           no knowledge base to answer it
``stale_answer``           a reply bound (``reply_to``) to a question   say so and ask the open
                           that is no longer open                       question
=========================  ===========================================  ============================

``limit`` is :attr:`EscalationPolicy.max_clarifications`. Replace any pattern::

    def impatient(situation: rk.repair.Situation) -> rk.repair.Action:
        if situation.attempts >= 2:
            return rk.repair.HandOver("the customer hesitated twice at a confirmation")
        return rk.repair.Say(situation.default)

    agent = rk.Agent(repairs=rk.Repairs(unclear_confirmation=impatient))

A pattern never writes anything and never answers a question for the customer: the worst it can
do is keep asking or hand over.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from .phrases import Phrases

__all__ = [
    "Action",
    "HandOver",
    "Pattern",
    "PatternName",
    "Repairs",
    "Say",
    "Situation",
]

PatternName = Literal[
    "clarification",
    "value_not_given",
    "unclear_confirmation",
    "question_at_confirmation",
    "stale_answer",
]
Priority = Literal["low", "normal", "high", "urgent"]


@dataclass(kw_only=True, frozen=True)
class Situation:
    """What went off the path, for a repair pattern to decide on."""

    pattern: PatternName
    """Which pattern is asked."""
    default: str
    """What the agent says by default (from :class:`~resolvekit.phrases.Phrases`)."""
    attempts: int
    """How many times this happened in a row, this time included (1 the first time)."""
    limit: int
    """``EscalationPolicy.max_clarifications``: how many attempts the defaults allow."""
    text: str
    """The customer's message."""
    question: str | None = None
    """The question the agent is waiting on, if any."""
    intent: str | None = None
    """The request under way, if any."""
    slot: str | None = None
    """For ``value_not_given``: the slot asked for."""
    phrases: Phrases = dataclasses.field(default_factory=Phrases)
    """The agent's wording, to build another message."""


@dataclass(frozen=True)
class Say:
    """Say ``text`` and wait for the customer (the open question, if any, stays open)."""

    text: str


@dataclass(frozen=True)
class HandOver:
    """Hand the conversation to a person with ``reason``."""

    reason: str
    priority: Priority = "normal"


Action = Say | HandOver
Pattern = Callable[[Situation], Action]
"""A repair pattern: ``pattern(situation) -> Say(...) | HandOver(...)``."""


def clarification(situation: Situation) -> Action:
    """Ask (did you mean...?); after ``limit`` clarifications in a row, hand over."""
    if situation.attempts > situation.limit:
        return HandOver(f"still unclear after {situation.attempts - 1} clarifications")
    return Say(situation.default)


def value_not_given(situation: Situation) -> Action:
    """Ask again with the reason; after ``limit`` re-asks, hand over."""
    if situation.attempts > situation.limit:
        label = (situation.slot or "value").replace("_", " ")
        return HandOver(f"the customer could not give the {label}")
    return Say(situation.default)


def unclear_confirmation(situation: Situation) -> Action:
    """Ask once for a clear yes or no; after that the question stays open, nothing runs."""
    question = situation.question or ""
    if situation.attempts <= 1:
        return Say(situation.phrases.yes_or_no.format(question=question))
    return Say(situation.phrases.still_open.format(question=question))


def question_at_confirmation(situation: Situation) -> Action:
    """With no knowledge base to answer the question: ask for a yes or no."""
    return Say(situation.phrases.yes_or_no.format(question=situation.question or ""))


def stale_answer(situation: Situation) -> Action:
    """Say the answer was for an earlier question, and ask the open one."""
    return Say(situation.phrases.stale_answer.format(question=situation.question or ""))


@dataclass(kw_only=True, frozen=True)
class Repairs:
    """The agent's repair patterns, by name; the defaults are documented on each function of
    :mod:`resolvekit.repair` and in the module's table."""

    clarification: Pattern = clarification
    value_not_given: Pattern = value_not_given
    unclear_confirmation: Pattern = unclear_confirmation
    question_at_confirmation: Pattern = question_at_confirmation
    stale_answer: Pattern = stale_answer

    def decide(self, situation: Situation) -> Action:
        """The action of the pattern ``situation.pattern``."""
        pattern: Pattern = getattr(self, situation.pattern)
        return pattern(situation)
