"""Typo and chat-shorthand correction against an agent's own vocabulary.

A :class:`Vocabulary` is built from the words an agent was given (its intents' examples, names,
descriptions, slot names and choices, any extra domain words), the phrase lists resolvekit reads
requests for a person, yes/no and small talk with, and a small list of common English words
shipped with the package (``common_words.txt``). :meth:`Vocabulary.respell` reads a message
against it:

- chat shorthand is spelled out ("pls" -> "please", "u" -> "you", "whats" -> "what's");
- a word it does not know (inflections of known words count as known: "cancelled", "flights")
  becomes the known word one slip away (Damerau-Levenshtein distance 1: a letter added,
  dropped, changed, or two neighbours swapped), two slips for words of eight letters or more,
  when exactly one best candidate exists ("chnage" -> "change", "ordr" -> "order"); the
  agent's own words win over common ones;
- never touched: words of one or two letters (unless shorthand), anything holding a digit or
  symbol (ids, amounts, emails, links: "ra306", "W1234567"), words written in capitals (codes)
  or capitalised inside a sentence (names), and every word the vocabulary knows.

It returns a :class:`Respelling` (the corrected text and each change) or None when nothing
changed. LocalModel uses it only for its second look at a message it could not place and for
requests for a person; slot values are always read from the text as written.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources

from ._spelling import swapped

__all__ = ["SHORTHAND", "Respelling", "Vocabulary", "distance"]

SHORTHAND: dict[str, str] = {
    **dict.fromkeys(("pls", "plz", "plez", "plse", "pleez", "pleas"), "please"),
    **dict.fromkeys(("thx", "thnx", "thanx", "tnx", "thks"), "thanks"),
    **dict.fromkeys(("u", "yu"), "you"),
    **dict.fromkeys(("ur", "yr", "youre"), "your"),
    **dict.fromkeys(("whats", "wats", "wots", "wuts"), "what's"),
    **dict.fromkeys(("wat", "wot", "wut"), "what"),
    **dict.fromkeys(("cuz", "coz", "bc", "bcoz", "becuz", "cos"), "because"),
    **dict.fromkeys(("sum1", "some1", "smone"), "someone"),
    "r": "are",
    "wanna": "want to",
    "gonna": "going to",
    "gotta": "got to",
    "lemme": "let me",
    "gimme": "give me",
    "dont": "don't",
    "cant": "can't",
    "wont": "won't",
    "didnt": "didn't",
    "doesnt": "doesn't",
    "isnt": "isn't",
    "wasnt": "wasn't",
    "havent": "haven't",
    "im": "i'm",
    "ive": "i've",
    "ppl": "people",
    "abt": "about",
    "acct": "account",
    "b4": "before",
    "2day": "today",
    "2moro": "tomorrow",
    "tmrw": "tomorrow",
    "tmr": "tomorrow",
    "msg": "message",
    **dict.fromkeys(("pwd", "pw", "passwd", "pword"), "password"),
    "thru": "through",
    "tho": "though",
    "rn": "right now",
    "wen": "when",
    "hw": "how",
    "plzz": "please",
    "pmt": "payment",
    "txn": "transaction",
    "addr": "address",
    "amt": "amount",
    "bday": "birthday",
    "ty": "thank you",
}
"""Chat shorthand and its spelling; a word the agent itself uses is never replaced."""

_CHUNK = re.compile(r"\S+")
_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)*")
_CORE = re.compile(r"[\"'(\[]*([A-Za-z0-9]+(?:'[A-Za-z]+)*)[\"')\].,!?;:]*")
"""A chunk between spaces that is one word with punctuation around (its word is group 1);
anything else (emails, links, hyphenated or slashed tokens) is left alone, and a word holding
a digit is only ever read as shorthand ("sum1", "b4"), never corrected."""
_SENTENCE_END = re.compile(r"(?:^|[.!?:]\s*)$")
_SUFFIXES = (
    ("'s", ""),
    ("ies", "y"),
    ("ied", "y"),
    ("es", ""),
    ("s", ""),
    ("ed", ""),
    ("ed", "e"),
    ("d", ""),
    ("ing", ""),
    ("ing", "e"),
    ("er", ""),
    ("er", "e"),
    ("ers", ""),
    ("est", ""),
    ("ly", ""),
    ("ment", ""),
    ("ments", ""),
    ("ness", ""),
    ("able", ""),
    ("al", ""),
    ("ic", ""),
    ("ical", ""),
    ("ian", ""),
    ("n", ""),
    ("y", ""),
    ("ous", ""),
    ("ive", "e"),
    ("ity", ""),
)
_DOUBLING = frozenset({"ed", "ing", "er", "est"})
"""Suffixes that double a final consonant ("stopped", "getting")."""
_ENDINGS = ("s", "es", "d", "ed", "ing", "er", "ly")
"""A word is known when the vocabulary holds it with one of these endings ("advance")."""
_KEYS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_NEIGHBOURS = {
    ch: frozenset(
        _KEYS[r][j]
        for r in (row - 1, row, row + 1)
        if 0 <= r < len(_KEYS)
        for j in (col - 1, col, col + 1)
        if 0 <= j < len(_KEYS[r]) and (r, j) != (row, col)
    )
    for row, keys in enumerate(_KEYS)
    for col, ch in enumerate(keys)
}
"""Keys around each letter: a letter typed for another one slip away is one of these."""
_PREFIXES = ("un", "re", "pre", "dis", "non")
_LONG = 8
"""Words of this length or more may be two slips from the word meant; shorter ones one."""


@dataclass(kw_only=True, frozen=True)
class Respelling:
    """A message read with its typos and shorthand corrected."""

    text: str
    """The corrected message (the original is kept for slot values and the transcript)."""
    changes: tuple[tuple[str, str], ...]
    """Each change, in order: (as written, as read), e.g. ``("chnage", "change")``."""


class Vocabulary:
    """The words a message is corrected towards: the agent's own, then common English.

    Args:
        words: the agent's words, or texts holding them (split into words; an apostrophe
            stays inside a word). They win over common words at the same distance and are
            never replaced, even when they look like shorthand.
        common: also use resolvekit's phrase lists and common English words (default True).
    """

    def __init__(self, words: Iterable[str] = (), *, common: bool = True) -> None:
        own = {w.lower() for text in words for w in _WORD.findall(text)}
        self._own = frozenset(own)
        self._base = _base_index() if common else _Index(())
        self._index = _Index(own - self._base.words)  # the rest are indexed already

    def __contains__(self, word: str) -> bool:
        return self.knows(word)

    def __len__(self) -> int:
        return len(self._own | self._base.words)

    def knows(self, word: str) -> bool:
        """Whether ``word`` (any case) or a plain inflection of it is in the vocabulary."""
        word = word.lower()
        if self._has(word):
            return True
        for suffix, ending in _SUFFIXES:
            stem = word[: -len(suffix)]
            if word.endswith(suffix) and len(stem) >= 2:
                if self._has(stem + ending):
                    return True
                doubled = suffix in _DOUBLING and len(stem) >= 3 and stem[-1] == stem[-2]
                if doubled and self._has(stem[:-1]):
                    return True
        if any(self._has(word + suffix) for suffix in _ENDINGS):  # "advance" for "advanced"
            return True
        return any(
            word.startswith(p) and len(word) - len(p) >= 3 and self._has(word[len(p) :])
            for p in _PREFIXES
        )

    def _has(self, word: str) -> bool:
        return word in self._own or word in self._base.words

    def best(self, word: str) -> str | None:
        """The one known word ``word`` most likely misspells, or None (known, too short, no
        candidate, or two equally likely ones)."""
        word = word.lower()
        if len(word) < 3 or self.knows(word):
            return None
        limit = 2 if len(word) >= _LONG else 1
        ranked: list[tuple[int, int, bool, bool, str]] = []
        for candidate in self._index.near(word, limit) | self._base.near(word, limit):
            d = distance(word, candidate, limit)
            if d <= limit and (d > 1 or _typed(word, candidate)):
                swap = d == 1 and swapped(word, candidate)
                tier = 0 if candidate in self._own else 1
                ranked.append((d, tier, not swap, candidate[0] != word[0], candidate))
        if not ranked:
            return None
        ranked.sort()
        if len(ranked) > 1 and ranked[0][:4] == ranked[1][:4]:
            return None  # "bet" or "bit" for "bt": no way to tell
        return ranked[0][4]

    def respell(self, text: str) -> Respelling | None:
        """``text`` with shorthand spelled out and unknown words corrected (see the module
        docstring), or None when nothing changed."""
        fixed = self._respell(text, keep=frozenset())
        if fixed is None or not _more_of_a_yes(text, fixed.text):
            return fixed
        # "pls thnks" is no yes to the consent reader, "please thanks" is: a correction never
        # makes a message more of a yes, so such shorthand stays as written ("pls thanks").
        fixed = self._respell(text, keep=_consents())
        if fixed is None or not _more_of_a_yes(text, fixed.text):
            return fixed
        return None  # "ur procede" reads unclear, "your procede" yes: left as written

    def _respell(self, text: str, *, keep: frozenset[str]) -> Respelling | None:
        out: list[str] = []
        changes: list[tuple[str, str]] = []
        last = 0
        for chunk in _CHUNK.finditer(text):
            core = _CORE.fullmatch(chunk.group())
            if core is None:
                continue  # an email, link or hyphenated word: left as written
            start, end = chunk.start() + core.start(1), chunk.start() + core.end(1)
            written = text[start:end]
            fixed = self._fix(written, at_start=_SENTENCE_END.search(text[:start]) is not None)
            if fixed is None or fixed in keep:
                continue
            if written[0].isupper():
                fixed = fixed[0].upper() + fixed[1:]
            out += [text[last:start], fixed]
            changes.append((written, fixed))
            last = end
        if not changes:
            return None
        return Respelling(text="".join([*out, text[last:]]), changes=tuple(changes))

    def _fix(self, written: str, *, at_start: bool) -> str | None:
        word = written.lower()
        if word in self._own:
            return None
        short = SHORTHAND.get(word)
        if short is not None:
            return short
        if not written.isalpha() and "'" not in written:
            return None  # holds a digit: an id, an amount, a code
        if written.isupper() and len(written) > 1:
            return None  # a code or an acronym
        if written[0].isupper() and not at_start:
            return None  # a name
        return self.best(word)


def _more_of_a_yes(before: str, after: str) -> bool:
    """Whether the consent reader reads ``after`` as a yes and ``before`` not."""
    from .consent import read_consent

    return read_consent(after).answer == "yes" and read_consent(before).answer != "yes"


def distance(a: str, b: str, limit: int = 2) -> int:
    """Damerau-Levenshtein distance (optimal string alignment) between ``a`` and ``b``: letters
    added, dropped, changed, or two neighbours swapped; ``limit + 1`` once it is over
    ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return min(previous[len(b)], limit + 1)


def _typed(word: str, meant: str) -> bool:
    """Whether one slip turns ``meant`` into ``word`` on a keyboard: any letter added, dropped
    or swapped, but a changed letter only for a key next to it ("hike" is not "like")."""
    if len(word) != len(meant):
        return True
    differ = [i for i, (x, y) in enumerate(zip(word, meant, strict=True)) if x != y]
    if len(differ) != 1:
        return True  # a swap
    typed, wanted = word[differ[0]], meant[differ[0]]
    return typed in _NEIGHBOURS.get(wanted, frozenset())


class _Index:
    """Words by the strings left when one or two of their letters are dropped (symmetric
    deletes): the candidates within two slips of a word are found by looking up its own
    deletes, not by comparing it with every word. Words that say yes on their own ("done",
    "sure", "ok") are known but never a correction: a slip of "dont" must not become "done"."""

    def __init__(self, words: Iterable[str]) -> None:
        self.words = frozenset(words)
        self._by_delete: dict[str, set[str]] = {}
        for word in self.words - _consents():
            for key in _deletes(word, 2 if len(word) >= _LONG - 2 else 1):
                self._by_delete.setdefault(key, set()).add(word)

    def near(self, word: str, limit: int) -> set[str]:
        """Words that may be within ``limit`` slips of ``word`` (to be checked)."""
        found: set[str] = set()
        for key in _deletes(word, limit):
            found |= self._by_delete.get(key, set())
        return found


def _deletes(word: str, depth: int) -> set[str]:
    """``word`` and every string left by dropping up to ``depth`` of its letters."""
    level, out = {word}, {word}
    for _ in range(depth):
        level = {w[:i] + w[i + 1 :] for w in level for i in range(len(w))}
        out |= level
    return out


@functools.cache
def _consents() -> frozenset[str]:
    """The one-word consent cues of the consent reader, in any of its readings."""
    from ._consent_words import _LEXICON
    from ._signals import _YES_NO

    words = {p[0] for p, kind in _LEXICON.items() if len(p) == 1 and kind in ("yes", "weak")}
    words |= {p[0] for p, cue in _YES_NO.items() if len(p) == 1 and cue.label == "yes"}
    return frozenset(words)


@functools.cache
def _base_index() -> _Index:
    """The common English words and resolvekit's own phrase words, indexed once a process."""
    text = resources.files(__package__).joinpath("common_words.txt").read_text(encoding="utf-8")
    words = {w.lower() for line in text.splitlines() for w in _WORD.findall(line.split("#")[0])}
    words |= _phrase_words()
    return _Index(w for w in words if len(w) >= 2 or w in ("a", "i"))


def _phrase_words() -> set[str]:
    """The words of the phrase lists the dialogue signals are read with."""
    from ._signals import _HUMAN_TARGETS, _HUMAN_VERBS, _SMALL_TALK, _YES_NO

    phrases = [*_HUMAN_TARGETS, *_SMALL_TALK, *_YES_NO]
    return {w for phrase in phrases for w in phrase if _WORD.fullmatch(w)} | set(_HUMAN_VERBS)
