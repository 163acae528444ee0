"""Choices (enum / Literal slots) and ordinal picks from a list the agent offered.

A choice is found, best first, by:

1. its own words, exactly (``"refund"``; ``store_credit`` matches "store credit"), score 1.0;
2. a developer-declared synonym, exactly (score 0.95) — this is the only way a paraphrase such as
   "I don't need it anymore" reaches ``"no longer needed"``: nothing here invents meaning;
3. the same words after light suffix stripping (``cancelled``, ``cancelling``, ``refunds``),
   score 0.9 (0.85 for synonyms);
3b. the words of a multi-word phrase in order within one clause, up to two other words between
   each ("I ordered *it* by mistake"), score 0.8 (0.75 for synonyms);
4. a typo (``"cancle"``): a window of as many words, :class:`difflib.SequenceMatcher` ratio at
   least 0.8 with the same first letter (or 0.9 without), phrases of 4 characters or more;
   score ``0.4 + 0.5 * ratio``. Only the first 200 words of a message are scanned for typos.

A mention right after a negation in the same clause ("not the blue one", "I don't want a refund")
is skipped. When several different choices tie for the best score, each tie is scored lower
(x0.6), so a caller can ask instead of guessing.

Ordinal picks ("the second one", "2nd", "option 2", "the last one", "the latter", or a bare "2")
need the list of options the agent offered, in order (``offered``); they score 0.9.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from .._text import fold
from ._common import Extraction, Token, coerce_str, drop_contained, tokenize

__all__ = ["extract_choices", "extract_offered", "stem"]

_NEGATORS = frozenset({"not", "no", "don't", "never", "isn't", "nor", "without", "doesn't"})
_CLAUSE_BREAK = re.compile(r"[,.;!?]|\bbut\b")
_FUZZY_WORDS = 200


def stem(word: str) -> str:
    """A light, deterministic suffix stripper for inflections (not a linguistic stemmer)."""
    for suffix in ("ations", "ation", "ings", "ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "s" and word.endswith("ss"):
                continue
            word = word[: -len(suffix)]
            break
    if len(word) > 3 and word.endswith("e"):
        word = word[:-1]
    if len(word) > 3 and word[-1] == word[-2] and word[-1].isalpha():
        word = word[:-1]
    return word


@dataclass(kw_only=True, frozen=True)
class _Phrase:
    value: str
    """The choice the phrase stands for."""
    words: tuple[str, ...]
    stems: tuple[str, ...]
    joined: str
    synonym: bool


def _phrase_words(phrase: str) -> tuple[str, ...]:
    return tuple(t.text for t in tokenize(fold(phrase.replace("_", " ").replace("-", " "))))


def _phrases(choices: Sequence[str], synonyms: dict[str, list[str]]) -> list[_Phrase]:
    out = []
    for choice in choices:
        for text, synonym in [(choice, False)] + [(s, True) for s in synonyms.get(choice, [])]:
            words = _phrase_words(coerce_str(text))
            if words:
                out.append(
                    _Phrase(
                        value=choice,
                        words=words,
                        stems=tuple(stem(w) for w in words),
                        joined=" ".join(words),
                        synonym=synonym,
                    )
                )
    return out


def _negated(folded: str, tokens: list[Token], first: int) -> bool:
    for k in range(max(0, first - 3), first):
        if tokens[k].text in _NEGATORS and not _CLAUSE_BREAK.search(
            folded, tokens[k].end, tokens[first].start
        ):
            return True
    return False


def extract_choices(
    text: str,
    folded: str,
    tokens: list[Token],
    choices: Sequence[str],
    synonyms: dict[str, list[str]],
) -> list[Extraction]:
    """Candidates for a choice slot; values are the declared choices."""
    phrases = _phrases(choices, synonyms)
    words = [t.text for t in tokens]
    stems = [stem(w) for w in words]
    found: list[Extraction] = []
    matched: set[tuple[int, int]] = set()
    for phrase in phrases:
        size = len(phrase.words)
        for i in range(len(words) - size + 1):
            if words[i : i + size] == list(phrase.words):
                score = 0.95 if phrase.synonym else 1.0
            elif stems[i : i + size] == list(phrase.stems):
                score = 0.85 if phrase.synonym else 0.9
            else:
                continue
            found.append(_candidate(text, tokens, i, i + size - 1, phrase.value, score))
            matched.add((i, i + size - 1))
    found.extend(_gapped(text, folded, tokens, stems, phrases, matched))
    limit = min(len(words), _FUZZY_WORDS)
    for phrase in phrases:
        size = len(phrase.words)
        if len(phrase.joined) < 4:
            continue
        for i in range(limit - size + 1):
            last = i + size - 1
            # A near-miss spelling never swallows words an exact phrase already explains:
            # "pro monthly" is "pro" + "monthly", not a typo of "per month".
            if any(i <= a and b <= last for a, b in matched):
                continue
            window = " ".join(words[i : i + size])
            if abs(len(window) - len(phrase.joined)) > max(2, len(phrase.joined) // 3):
                continue
            matcher = difflib.SequenceMatcher(None, window, phrase.joined, autojunk=False)
            if matcher.real_quick_ratio() < 0.8 or matcher.quick_ratio() < 0.8:
                continue
            ratio = matcher.ratio()
            same_start = window[:1] == phrase.joined[:1]
            if ratio >= 0.9 or (ratio >= 0.8 and same_start):
                score = 0.4 + 0.5 * ratio - (0.05 if phrase.synonym else 0.0)
                found.append(_candidate(text, tokens, i, last, phrase.value, score))
    index_of = {t.start: k for k, t in enumerate(tokens)}
    found = [c for c in found if not _negated(folded, tokens, index_of[c.span[0]])]
    found = drop_contained(found)
    return _penalise_ties(found, folded)


_MAX_GAP = 2


def _gapped(
    text: str,
    folded: str,
    tokens: list[Token],
    stems: list[str],
    phrases: list[_Phrase],
    matched: set[tuple[int, int]],
) -> list[Extraction]:
    """Multi-word choices said with a few words inside ("ordered *it* by mistake"), score 0.8.

    Every word of the phrase must appear, in order, in one clause, with at most ``_MAX_GAP``
    other words between two of them.
    """
    out: list[Extraction] = []
    for phrase in phrases:
        if len(phrase.words) < 2:
            continue
        for i, first in enumerate(stems):
            if first != phrase.stems[0]:
                continue
            k, last = 1, i
            while k < len(phrase.stems):
                nxt = next(
                    (
                        j
                        for j in range(last + 1, min(len(stems), last + 2 + _MAX_GAP))
                        if stems[j] == phrase.stems[k]
                    ),
                    None,
                )
                if nxt is None:
                    break
                last, k = nxt, k + 1
            if k < len(phrase.stems) or (i, last) in matched:
                continue
            between = folded[tokens[i].start : tokens[last].end]
            if _CLAUSE_BREAK.search(between):
                continue
            score = 0.75 if phrase.synonym else 0.8
            out.append(_candidate(text, tokens, i, last, phrase.value, score))
    return out


def _candidate(
    text: str, tokens: list[Token], first: int, last: int, value: str, score: float
) -> Extraction:
    start, end = tokens[first].start, tokens[last].end
    return Extraction(value=value, span=(start, end), score=score, text=text[start:end])


_TARGET_CUE = re.compile(r"\b(?:to|into|onto)\s+(?:the\s+|a\s+|an\s+|our\s+|my\s+)?$")
_SOURCE_CUE = re.compile(
    r"(?:\bfrom|\boff(?: of)?|\b(?:i'm|im|i am|we're|we are|currently|still) on)"
    r"\s+(?:the\s+|a\s+|an\s+|our\s+|my\s+)?$"
)


def _direction(folded: str, start: int) -> str | None:
    """``to`` for a choice said as where to go ("move us *to* starter"), ``from`` for where
    from ("*from* pro", "move *off* pro", "*I'm on* pro"), else None."""
    before = folded[max(0, start - 30) : start]
    if _TARGET_CUE.search(before):
        return "to"
    if _SOURCE_CUE.search(before):
        return "from"
    return None


def _penalise_ties(found: list[Extraction], folded: str) -> list[Extraction]:
    """Several different choices tied at the best score score lower, unless the words before
    them tell one apart: of "from pro to business" or "down to starter, pro is overkill" the
    one said after "to" is the choice (and of "from pro" the other one, when only one is left)."""
    if not found:
        return found
    best = max(c.score for c in found)
    top = [c for c in found if c.score == best]
    if len({c.value for c in top}) < 2:
        return found
    directions = {c.value: _direction(folded, c.span[0]) for c in top}
    targets = {v for v, d in directions.items() if d == "to"}
    others = {v for v, d in directions.items() if d != "from"}
    kept = targets if len(targets) == 1 else others if len(others) == 1 else set()
    return [
        Extraction(value=c.value, span=c.span, score=c.score * 0.6, text=c.text)
        if c.score == best and c.value not in kept
        else c
        for c in found
    ]


_ORDINALS = {
    "first": 1,
    "1st": 1,
    "second": 2,
    "2nd": 2,
    "third": 3,
    "3rd": 3,
    "fourth": 4,
    "4th": 4,
    "fifth": 5,
    "5th": 5,
    "sixth": 6,
    "6th": 6,
    "seventh": 7,
    "7th": 7,
    "eighth": 8,
    "8th": 8,
    "ninth": 9,
    "9th": 9,
    "tenth": 10,
    "10th": 10,
    "last": -1,
    "latter": -1,
    "former": 1,
    "top": 1,
    "bottom": -1,
}
_NOT_A_PICK_AFTER = frozenset({"time", "times", "day", "days", "week", "month", "year", "night"})
_INDEX_WORDS = frozenset({"number", "option", "choice", "no", "item", "#"})
_ENDING = re.compile(r"\bend(?:s|ing)?\s(?:in|with)\s(\d{2,})\b")
_BARE_INDEX = re.compile(r"\A\W*(?:#|no\.?\s?|number\s|option\s)?(\d{1,2})\W*\Z")


def extract_offered(
    text: str, folded: str, tokens: list[Token], offered: Sequence[str]
) -> list[Extraction]:
    """Picks among ``offered`` options: by ordinal, by index, by quoting one, or by its ending.

    Values are the offered strings themselves.
    """
    found: list[Extraction] = []
    count = len(offered)
    if count == 0:
        return found

    def pick(position: int, start: int, end: int, score: float) -> None:
        index = count - 1 if position == -1 else position - 1
        if 0 <= index < count:
            found.append(
                Extraction(
                    value=offered[index], span=(start, end), score=score, text=text[start:end]
                )
            )

    for k, token in enumerate(tokens):
        word = token.text
        nxt = tokens[k + 1].text if k + 1 < len(tokens) else ""
        if word in _ORDINALS and nxt not in _NOT_A_PICK_AFTER:
            if word in ("latter", "former") and count != 2:
                continue
            if word in ("top", "bottom") and nxt not in ("one", "option"):
                continue
            end = tokens[k + 1].end if nxt in ("one", "option", "choice") else token.end
            pick(_ORDINALS[word], token.start, end, 0.9)
        elif word in _INDEX_WORDS and nxt.isascii() and nxt.isdigit() and len(nxt) <= 2:
            pick(int(nxt), token.start, tokens[k + 1].end, 0.85)
    bare = _BARE_INDEX.match(folded)
    if bare:
        pick(int(bare.group(1)), bare.start(1), bare.end(1), 0.85)
    for position, option in enumerate(offered, start=1):
        needle = fold(coerce_str(option)).strip()
        for variant in {needle, needle.lstrip("#")}:
            if len(variant) < 2:
                continue
            for m in re.finditer(rf"(?<!\w){re.escape(variant)}(?!\w)", folded):
                pick(position, m.start(), m.end(), 1.0)
    for m in _ENDING.finditer(folded):
        digits = m.group(1)
        hits = [i for i, o in enumerate(offered, start=1) if re.sub(r"\D", "", o).endswith(digits)]
        if len(hits) == 1:
            pick(hits[0], m.start(), m.end(), 0.85)
    return drop_contained(found)
