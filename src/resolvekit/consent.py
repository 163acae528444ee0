"""Consent: when a customer's reply to a confirmation counts as a yes.

A ``confirm=True`` write runs only after a yes recorded in the journal. Which replies are a yes is
decided here, by the engine, whatever the model says: the model's reading of the reply is
combined with the engine's own :func:`~resolvekit.understanding.consent.read_consent`, and the
stricter one wins. A model can turn a yes into a no, never a no into a yes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from .understanding.consent import ConsentAnswer, ConsentReading, read_consent

__all__ = ["ConsentAnswer", "ConsentPolicy", "ConsentReading", "read_consent"]

ModelAnswer = Literal["yes", "no", "unsure"]


@dataclass(kw_only=True, frozen=True)
class ConsentPolicy:
    """How the engine decides that a reply to a confirmation is a yes."""

    require_reader_yes: bool = True
    """A model's yes counts only when the engine's reader also reads an unambiguous yes (the
    default, for every model). ``False`` lets a model's yes stand when the reader merely found
    no consent cue it knows (a paraphrase, another language), but never when the reader found
    a refusal, a question, a hedge, a condition or a value the question does not hold."""
    reader: Callable[[str, str], ConsentReading] = field(default=read_consent)
    """``reader(answer, question)``; replace it to add a language, never to loosen the rules."""

    def decide(self, model: ModelAnswer, reading: ConsentReading) -> ConsentAnswer:
        """Combine the model's answer with the reader's: ``yes`` only when both agree.

        Returns:
            ``yes``; ``no`` (a refusal from either side); ``question`` (answer it, then ask
            again); or ``unclear`` (ask again).
        """
        if model == "no":
            return "no"
        if reading.answer in ("no", "question"):
            return reading.answer
        if model == "unsure" or reading.answer == "yes":
            return "unclear" if model == "unsure" else "yes"
        # The model says yes, the reader is not sure: only a lenient policy accepts a
        # paraphrase it has no words for, and never a hedge, condition or new value.
        lenient = not self.require_reader_yes and reading.reason in (
            "no consent cue",
            "words beyond a yes",
        )
        return "yes" if lenient else "unclear"
