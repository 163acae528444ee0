"""The start and the end of a range: which of two date slots a date belongs to.

An intent with a start and an end date (``check_in`` / ``check_out``, ``start_date`` /
``end_date``, ``date_from`` / ``date_to``) would otherwise give a lone date to its first date
slot whatever the customer said around it: "leaving December 24" moved the arrival. A slot's
role comes from the words of its name; a date's from the cue just before it ("until",
"leaving", "check out" / "from", "arriving", "check in"), with "on", "the", "at" or "by" in
between. Only a date with a cue and a slot with the *opposite* role are kept apart.

A single date slot has no role, but a message may name two dates, the one being moved away from
("from Wednesday", "instead of Wednesday", "I won't be in on Wednesday") and the new one:
:func:`replaced` tells the first kind.
"""

from __future__ import annotations

import re
from typing import Literal

__all__ = ["Role", "cue_role", "replaced", "slot_role"]

Role = Literal["start", "end"]

_START_NAMES = frozenset(
    {
        "start",
        "starts",
        "begin",
        "begins",
        "from",
        "in",
        "checkin",
        "arrival",
        "arrive",
        "arriving",
        "first",
        "pickup",
    }
)
_END_NAMES = frozenset(
    {
        "end",
        "ends",
        "to",
        "until",
        "till",
        "out",
        "checkout",
        "leave",
        "leaving",
        "return",
        "last",
        "dropoff",
    }
)
_FILLER = r"(?:(?:on|the|at|by|of)\s+)*$"
_END_CUE = re.compile(
    r"\b(?:until|till|til|leav(?:e|es|ing)|depart(?:s|ing)?|check(?:ing)?[\s-]*out|"
    r"return(?:s|ing)?|end(?:s|ing)?)\s+" + _FILLER
)
_START_CUE = re.compile(
    r"\b(?:from|start(?:s|ing)?|arriv(?:e|es|ing|al)|check(?:ing)?[\s-]*in|"
    r"begin(?:s|ning)?)\s+" + _FILLER
)
_NAME_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")


def slot_role(name: str) -> Role | None:
    """``start`` or ``end`` when the words of a slot's name say which (``check_out``,
    ``endDate``), else None (also when they say both)."""
    words = {w.lower() for w in _NAME_WORD.findall(name)}
    start, end = bool(words & _START_NAMES), bool(words & _END_NAMES)
    if start == end:
        return None
    return "start" if start else "end"


def cue_role(folded: str, start: int) -> Role | None:
    """The role the words just before offset ``start`` of the folded message give the value
    found there, if any."""
    before = folded[max(0, start - 40) : start]
    if _END_CUE.search(before):
        return "end"
    if _START_CUE.search(before):
        return "start"
    return None


_REPLACED_CUE = re.compile(
    r"\b(?:from|instead\s+of|rather\s+than|not|"
    r"(?:won'?t|will\s+not|can'?t|cannot|can\s+not|not\s+going\s+to)\s+be\s+"
    r"(?:in|home|there|around|available|free|back)|"
    r"(?:can'?t|cannot|can\s+not)\s+(?:do|make))\s+" + _FILLER
)


def replaced(folded: str, start: int) -> bool:
    """Whether the words just before offset ``start`` of the folded message mark the value
    found there as the one being replaced ("from", "instead of", "not", "I won't be in on",
    "I can't do")."""
    return _REPLACED_CUE.search(folded[max(0, start - 40) : start]) is not None
