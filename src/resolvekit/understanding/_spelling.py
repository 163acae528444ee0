"""One-letter slips forgiven in the few words that carry a request for a person."""

from __future__ import annotations

from ._common import tokenize

__all__ = ["one_slip", "spelled", "swapped"]

_SPELLED = [
    *("human", "humans", "person", "people", "agent", "representative", "operator"),
    *("supervisor", "manager", "someone", "somebody", "talk", "speak", "connect", "transfer"),
]
"""The words of a request for a person that a one-letter slip still names ("speek", "humen",
"tlak"); other words are left as they are."""


def spelled(clause: str) -> str:
    """``clause`` with slips in the words of :data:`_SPELLED` corrected: one letter added,
    dropped, changed or two swapped in a word of five letters or more, only a swap in a word
    of four (so "tall" or "walk" never becomes "talk")."""
    out, last = [], 0
    for token in tokenize(clause):
        word = token.text
        if len(word) < 4 or word in _SPELLED_SET:
            continue
        fixed = next((w for w in _SPELLED if one_slip(word, w)), None)
        if fixed is not None:
            out += [clause[last : token.start], fixed]
            last = token.end
    return "".join([*out, clause[last:]]) if out else clause


_SPELLED_SET = frozenset(_SPELLED)


def one_slip(word: str, target: str) -> bool:
    """Whether ``word`` is ``target`` with one slip: a letter added, dropped or changed (words
    of five letters or more), or two neighbouring letters swapped."""
    if len(word) != len(target):
        if min(len(word), len(target)) < 5 or abs(len(word) - len(target)) != 1:
            return False
        short, long_ = sorted((word, target), key=len)
        return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))
    if swapped(word, target):
        return True
    differ = sum(a != b for a, b in zip(word, target, strict=True))
    return differ == 1 and len(word) >= 5


def swapped(word: str, target: str) -> bool:
    """Whether ``target`` is ``word`` with two neighbouring letters swapped."""
    if len(word) != len(target):
        return False
    differ = [i for i, (a, b) in enumerate(zip(word, target, strict=True)) if a != b]
    if len(differ) != 2 or differ[1] != differ[0] + 1:
        return False
    i = differ[0]
    return word[i] == target[i + 1] and word[i + 1] == target[i]
