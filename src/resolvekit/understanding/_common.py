"""Shared machinery of the extractors: the :class:`Extraction` record, tokens, phrase lexicons.

Every extractor works on a *folded* copy of the message (:func:`resolvekit._text.fold`) that has
exactly the same length as the original (lower-cased, typographic quotes and dashes made plain),
so offsets found in the folded text are offsets in the customer's text. All regular expressions
in this package are written to run in linear time: repeated character classes start after a
negative lookbehind of the same class (so a run is entered once), and alternations never nest
unbounded quantifiers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ..exceptions import UserError

__all__ = [
    "Extraction",
    "PhraseMatch",
    "Token",
    "check_text",
    "drop_contained",
    "match_phrases",
    "overlaps",
    "squash_repeats",
    "tokenize",
    "word_set",
]

T = TypeVar("T")


@dataclass(kw_only=True, frozen=True)
class Extraction:
    """One value found in a customer message."""

    value: Any
    """The normalised value; its type depends on the slot kind (see
    :func:`resolvekit.understanding.extract.extract_value`)."""
    span: tuple[int, int]
    """Start and end offsets of the matched text in the original message."""
    score: float
    """How sure the extractor is, in [0, 1]. A ranking score, not a calibrated probability."""
    text: str
    """The matched text exactly as the customer wrote it (``message[span[0]:span[1]]``)."""
    unit: str | None = None
    """ISO currency code for money (``"USD"``), ``"%"`` for a percentage, None otherwise."""


@dataclass(kw_only=True, frozen=True)
class Token:
    """A word of the folded message."""

    text: str
    """The folded word (lower case; ``don't`` keeps its apostrophe)."""
    start: int
    end: int


@dataclass(kw_only=True, frozen=True)
class PhraseMatch(Generic[T]):
    """A phrase of a lexicon found in a token sequence."""

    payload: T
    first: int
    """Index of the first token."""
    last: int
    """Index of the last token (inclusive)."""


_WORD = re.compile(r"(?<![^\W_])[^\W_]+(?:'[^\W_]+)*")
_REPEATS = re.compile(r"([a-z])\1{2,}")


def check_text(text: object, what: str = "text") -> str:
    """Return ``text`` if it is a string, else raise :class:`UserError`."""
    if not isinstance(text, str):
        raise UserError(f"{what} must be a str, not {type(text).__name__}")
    return text


def squash_repeats(word: str) -> str:
    """Collapse letters repeated three times or more (``"yesss"`` -> ``"yes"``)."""
    return _REPEATS.sub(r"\1", word)


def tokenize(folded: str) -> list[Token]:
    """Split folded text into words (letters and digits; inner apostrophes kept).

    ``dont``, ``cant`` and friends written without an apostrophe are normalised to ``don't``...
    """
    tokens = []
    for match in _WORD.finditer(folded):
        word = match.group()
        word = _NO_APOSTROPHE.get(word, word)
        tokens.append(Token(text=word, start=match.start(), end=match.end()))
    return tokens


_NO_APOSTROPHE = {
    "dont": "don't",
    "doesnt": "doesn't",
    "didnt": "didn't",
    "cant": "can't",
    "wont": "won't",
    "isnt": "isn't",
    "im": "i'm",
    "ive": "i've",
    "thats": "that's",
    "whats": "what's",
    "wasnt": "wasn't",
    "shouldnt": "shouldn't",
    "wouldnt": "wouldn't",
    "couldnt": "couldn't",
    "aint": "ain't",
}


def match_phrases(
    tokens: list[Token], lexicon: Mapping[tuple[str, ...], T]
) -> list[PhraseMatch[T]]:
    """Find lexicon phrases in ``tokens``, longest first, left to right, without overlaps.

    Words are also looked up with repeated letters squashed (``"nooo"`` matches ``"no"``).
    """
    if not lexicon:
        return []
    longest = max(len(key) for key in lexicon)
    words = [t.text for t in tokens]
    squashed = [squash_repeats(w) for w in words]
    found: list[PhraseMatch[T]] = []
    i = 0
    while i < len(words):
        hit = None
        for size in range(min(longest, len(words) - i), 0, -1):
            for seq in (words, squashed):
                key = tuple(seq[i : i + size])
                if key in lexicon:
                    hit = PhraseMatch(payload=lexicon[key], first=i, last=i + size - 1)
                    break
            if hit is not None:
                break
        if hit is None:
            i += 1
        else:
            found.append(hit)
            i = hit.last + 1
    return found


def overlaps(span: tuple[int, int], taken: Iterable[tuple[int, int]]) -> bool:
    """True when ``span`` shares at least one character with any span of ``taken``."""
    return any(span[0] < end and start < span[1] for start, end in taken)


def drop_contained(found: list[Extraction]) -> list[Extraction]:
    """Remove candidates whose span lies inside another candidate's span (and duplicate spans).

    Of two equal spans the higher score is kept. Runs in O(n log n).
    """
    ordered = sorted(found, key=lambda e: (e.span[0], -e.span[1], -e.score))
    kept: list[Extraction] = []
    max_end = -1
    for cand in ordered:
        if cand.span[1] <= max_end:
            continue
        kept.append(cand)
        max_end = cand.span[1]
    return kept


def word_set(words: str) -> frozenset[str]:
    """A frozenset of the whitespace-separated words of ``words`` (keeps word lists readable)."""
    return frozenset(words.split())


def phrase_list(phrases: str) -> list[str]:
    """The comma-separated phrases of ``phrases``, stripped, empty ones dropped."""
    return [p.strip() for p in phrases.split(",") if p.strip()]


def lexicon(entries: Mapping[str, T]) -> dict[tuple[str, ...], T]:
    """Build a phrase lexicon from space-separated phrases."""
    return {tuple(phrase.split()): value for phrase, value in entries.items()}


def coerce_str(value: Any) -> str:
    """``str(value)`` for values given by developers (choices may be ints in a JSON enum)."""
    return value if isinstance(value, str) else str(value)
