"""What LocalModel derives from an agent's intents, once per set of intents: the training data
and its content key, what the customer's records are called, how requests start, and the words
typos are corrected towards."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..intents import humanize
from ..specs import IntentSpec

if TYPE_CHECKING:
    from ..understanding.typos import Vocabulary

__all__ = ["IntentsView", "asks", "records", "request_starters", "training_data"]


def _words(text: str) -> frozenset[str]:
    """The whitespace-separated words of ``text``."""
    return frozenset(text.split())


class IntentsView:
    """Training data, its content key, record words and request starters of one intent set."""

    def __init__(self, intents: Sequence[IntentSpec]) -> None:
        self.specs = tuple(intents)
        self.texts, self.labels = training_data(intents)
        self.key = hashlib.sha256(repr((self.texts, self.labels)).encode()).hexdigest()
        self.records = records(intents)
        self.starters = request_starters(intents)
        self._vocabulary: tuple[tuple[str, ...], Vocabulary] | None = None

    def vocabulary(self, extra: Sequence[str] = ()) -> Vocabulary:
        """The words typos are corrected towards: everything these intents name (examples,
        names, descriptions, titles, slot names, choices, synonyms and questions), ``extra``,
        and common English (built on first use, kept while ``extra`` is the same)."""
        extra = tuple(extra)
        if self._vocabulary is None or self._vocabulary[0] != extra:
            from ..understanding.typos import Vocabulary

            words = [*self.texts, *extra]
            for spec in self.specs:
                words += [spec.title, *(humanize(s.name) for s in spec.slots)]
                for slot in spec.slots:
                    words += [slot.ask, slot.description, *slot.choices, *slot.examples]
                    words += [w for names in slot.synonyms.values() for w in names]
            self._vocabulary = (extra, Vocabulary(words))
        return self._vocabulary[1]


_REQUEST_CUE = re.compile(
    r"\b(?:i want|i'd like|i would like|i need|i wanna|please|can you|could you|would you|"
    r"help me|let me|i'd also like|i also want|i also need)\b",
    re.IGNORECASE,
)
_NOT_VERBS = _words(
    "i i'm im my me we our you your it its the a an this that there is are was were"
)


_MY_WORD = re.compile(r"\b(?:my|our)\s+([a-z]+)", re.IGNORECASE)


def records(intents: Sequence[IntentSpec]) -> frozenset[str]:
    """What the customer's own records are called, from the developer's intents: the words
    after "my" in the examples ("cancel my *booking*") and the names of id slots
    (``order_id`` -> "order"). "My skis" is not among them, so "can I bring my skis?" is a
    question for the knowledge base, while "where is my order?" is a request."""
    words = {m.group(1).lower() for i in intents for e in i.examples for m in _MY_WORD.finditer(e)}
    for intent in intents:
        for slot in intent.slots:
            if slot.kind == "id":
                words.update(w for w in slot.name.lower().split("_") if w not in _ID_WORDS)
    return frozenset(words)


_ID_WORDS = _words("id ref reference number no code")


def request_starters(intents: Sequence[IntentSpec]) -> frozenset[str]:
    """First words of the intents' examples that open a request ("cancel", "refund", "where"):
    the developer's own examples say how requests start."""
    words = {e.split()[0].lower().strip(",.!?") for i in intents for e in i.examples if e.split()}
    return frozenset(words - _NOT_VERBS)


def asks(clause: str, starters: frozenset[str]) -> bool:
    """Whether a clause asks for something: a request phrase, a question ("is FJ204 on
    time?"), or it opens like one of the intents' examples."""
    if _REQUEST_CUE.search(clause):
        return True
    words = clause.split()
    first = words[0].lower().strip(",.!?") if words else ""
    return first in starters or first in _QUESTION_WORDS


_QUESTION_WORDS = _words("is are can could does do did will where when what how why which who")


def training_data(intents: Sequence[IntentSpec]) -> tuple[list[str], list[str]]:
    """Each intent's examples, plus its description and its name as words."""
    texts: list[str] = []
    labels: list[str] = []
    for spec in intents:
        phrases = [*spec.examples, humanize(spec.name)]
        if spec.description:
            phrases.append(spec.description)
        for phrase in dict.fromkeys(p.strip() for p in phrases if p.strip()):
            texts.append(phrase)
            labels.append(spec.name)
    return texts, labels
