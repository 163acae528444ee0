"""Deterministic slot extraction and dialogue signals, with no language model.

:func:`extract_value` finds one slot's value in a customer message; :func:`extract_slots` fills
several slots from one message without two slots claiming the same words. The extractor is chosen
from the :class:`~resolvekit.models.SlotSpec`:

============  ===============================================================================
declaration   value
============  ===============================================================================
``pattern``   ``str``: the developer's regex (or the JSON Schema ``pattern``), normalised to
              what the schema accepts (``#`` and case); see :mod:`._patterns`. A pattern takes
              precedence over the kind.
``choice``    ``str``: one of ``choices`` via the words, ``synonyms``, inflections, typos
              (see :mod:`._choices`). Any slot with ``choices`` is a choice slot.
``integer``   ``int``: digits or number words ("twenty five").
``number``    ``int`` or ``float``; ``"15%"`` gives 15 with ``unit="%"``.
``money``     ``str`` holding a decimal with 2+ places (``"12.50"``), exact for
              :class:`decimal.Decimal` and JSON-safe; currency in ``unit`` (see :mod:`._numbers`).
``date``      :class:`datetime.date`, absolute or relative to ``today`` (see :mod:`._dates`).
``email``     ``str``, lower-cased.
``phone``     ``str``: digits with an optional leading ``+``.
``id``        ``str``: an order-style token as written; a postal code when the slot's name
              mentions zip/postal/postcode.
``boolean``   ``bool`` from a yes/no answer.
``text``      ``str``: a person name when the slot's name says so (``first_name``...), an
              email/phone/postal code when the name says so, else free text (the reason after
              "because", or the message minus filler).
============  ===============================================================================

When the agent offered a list of options for the slot (``context``), ordinal picks ("the second
one", "the last one", "option 2") and quoting an option are understood too.

Scores are ranking scores in [0, 1], not calibrated probabilities: 1.0 for an exact pattern or
choice, about 0.9 for a well-formed typed value, 0.5–0.75 for weak readings (bare numbers, number
words, free text, typos).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import get_args

from .._text import fold
from ..exceptions import UserError
from ..specs import SlotKind, SlotSpec
from ._choices import extract_choices, extract_offered, stem
from ._common import Extraction, Token, check_text, coerce_str, overlaps, tokenize
from ._dates import extract_dates
from ._entities import (
    extract_booleans,
    extract_emails,
    extract_free_text,
    extract_ids,
    extract_names,
    extract_phones,
    extract_postal_codes,
    name_part,
)
from ._numbers import NumberMatch, extract_integers, extract_money, extract_numbers, find_numbers
from ._patterns import extract_pattern, slot_patterns
from ._questions import is_information_question
from ._ranges import cue_role, slot_role
from ._signals import (
    classify_yes_no,
    detect_correction,
    detect_human_request,
    detect_small_talk,
    sentiment,
)

__all__ = [
    "Extraction",
    "classify_yes_no",
    "detect_correction",
    "detect_human_request",
    "detect_small_talk",
    "extract_candidates",
    "extract_slots",
    "extract_value",
    "is_free_text",
    "is_information_question",
    "sentiment",
    "takes_a_name",
]

_KINDS = frozenset(get_args(SlotKind))

# Tie-breaks between slots competing for the same words: the more specific extractor wins.
_SPECIFICITY = {
    "pattern": 10,
    "email": 9,
    "phone": 8,
    "money": 7,
    "date": 7,
    "id": 6,
    "postal": 6,
    "choice": 5,
    "offered": 5,
    "name": 4,
    "number": 3,
    "integer": 3,
    "boolean": 2,
    "text": 0,
}
_PREFER_BONUS = 0.05
_CLAIMS = 0.5
"""Below this score a candidate of a slot other than ``prefer`` leaves its words to the others."""


@dataclass(kw_only=True)
class _Message:
    """One message, folded and tokenised once for every slot."""

    text: str
    folded: str
    tokens: list[Token]

    @functools.cached_property
    def numbers(self) -> list[NumberMatch]:
        return find_numbers(self.text, self.folded, self.tokens)

    @classmethod
    def of(cls, text: object) -> _Message:
        checked = check_text(text)
        folded = fold(checked)
        return cls(text=checked, folded=folded, tokens=tokenize(folded))


def _today(today: object) -> date:
    if today is None:
        return date.today()
    if isinstance(today, datetime):
        return today.date()
    if isinstance(today, date):
        return today
    raise UserError(f"today must be a datetime.date, not {type(today).__name__}")


def _offered(context: object) -> list[str]:
    if context is None:
        return []
    if isinstance(context, str) or not isinstance(context, Sequence):
        raise UserError(
            "context must be a sequence of the options offered to the customer, "
            f"not {type(context).__name__}"
        )
    return [coerce_str(option) for option in context]


def _check_slot(slot: object) -> SlotSpec:
    if not isinstance(slot, SlotSpec):
        raise UserError(f"slot must be a SlotSpec, not {type(slot).__name__}")
    if slot.kind not in _KINDS:
        raise UserError(
            f"Slot {slot.name!r} has unknown kind {slot.kind!r}; use one of {sorted(_KINDS)}"
        )
    if slot.kind == "choice" and not slot.choices:
        raise UserError(f"Slot {slot.name!r} is a choice slot but declares no choices")
    unknown = [key for key in slot.synonyms if key not in slot.choices]
    if unknown:
        raise UserError(
            f"Slot {slot.name!r} has synonyms for {unknown!r}, which are not among its choices "
            f"{slot.choices!r}"
        )
    for key, phrases in slot.synonyms.items():
        listed: object = phrases
        if not isinstance(listed, (list, tuple)) or not all(isinstance(p, str) for p in listed):
            raise UserError(f"Slot {slot.name!r}: synonyms[{key!r}] must be a list of strings")
    return slot


def _extractor(slot: SlotSpec) -> str:
    """Which extractor a slot uses (a key of ``_SPECIFICITY``)."""
    if slot_patterns(slot.name, slot.pattern, slot.json_schema) is not None:
        return "pattern"
    if slot.choices:
        return "choice"
    lowered = slot.name.lower()
    postal = any(k in lowered for k in ("zip", "postal", "postcode", "post_code"))
    if slot.kind == "id":
        return "postal" if postal else "id"
    if slot.kind != "text":
        return slot.kind
    if "email" in lowered:
        return "email"
    if "phone" in lowered or "mobile" in lowered:
        return "phone"
    if postal:
        return "postal"
    if name_part(slot.name) is not None:
        return "name"
    return "text"


def is_free_text(slot: SlotSpec) -> bool:
    """True when ``slot`` takes free text (no pattern, choices or typed extractor applies)."""
    return _extractor(_check_slot(slot)) == "text"


def takes_a_name(slot: SlotSpec) -> bool:
    """True when ``slot`` holds a person's name (by its name: ``last_name``, ``full_name``...),
    so an answer with no name in it ("June 17 please") must not be taken whole."""
    return _extractor(_check_slot(slot)) == "name"


def _run(
    msg: _Message, slot: SlotSpec, extractor: str, today: date, *, cue_only: bool
) -> list[Extraction]:
    text, folded = msg.text, msg.folded
    if extractor == "pattern":
        patterns = slot_patterns(slot.name, slot.pattern, slot.json_schema)
        assert patterns is not None
        return extract_pattern(text, patterns)
    if extractor == "choice":
        return extract_choices(text, folded, msg.tokens, slot.choices, slot.synonyms)
    if extractor == "integer":
        return _counting(extract_integers(text, folded, msg.numbers), folded, slot.name)
    if extractor == "number":
        return _counting(extract_numbers(text, folded, msg.numbers), folded, slot.name)
    if extractor == "money":
        return extract_money(text, folded, msg.numbers)
    if extractor == "date":
        return extract_dates(text, folded, msg.tokens, today)
    if extractor == "email":
        return extract_emails(text, folded)
    if extractor == "phone":
        return extract_phones(text, folded)
    if extractor == "id":
        return extract_ids(text, folded, msg.tokens)
    if extractor == "postal":
        return extract_postal_codes(text, folded)
    if extractor == "boolean":
        return extract_booleans(text)
    if extractor == "name":
        part = name_part(slot.name)
        assert part is not None
        return extract_names(text, folded, part)
    return extract_free_text(text, folded, cue_only=cue_only)


_NEXT_WORD = re.compile(r"\s+(?:extra\s+|more\s+|additional\s+|checked\s+)?([a-z]+)")


def _counting(found: list[Extraction], folded: str, slot_name: str) -> list[Extraction]:
    """A number followed by what the slot counts ("one bag" for ``bags``, "2 extra seats" for
    ``seats``) is that count for sure, even a word like "one" that is often a pronoun."""
    counted = stem(slot_name.lower().rsplit("_", 1)[-1])
    out = []
    for cand in found:
        after = _NEXT_WORD.match(folded, cand.span[1])
        if after is not None and stem(after.group(1)) == counted:
            cand = Extraction(value=cand.value, span=cand.span, score=0.9, text=cand.text)
        out.append(cand)
    return out


def _from_offered(msg: _Message, slot: SlotSpec, offered: list[str]) -> list[Extraction]:
    """Picks among offered options, mapped to the slot's declared choice or pattern form."""
    out = []
    patterns = slot_patterns(slot.name, slot.pattern, slot.json_schema)
    for pick in extract_offered(msg.text, msg.folded, msg.tokens, offered):
        value: object = pick.value
        if slot.choices:
            value = _as_choice(pick.value, slot)
            if value is None:
                continue
        elif patterns is not None:
            found = extract_pattern(pick.value, patterns)
            if found:
                value = found[0].value
        out.append(Extraction(value=value, span=pick.span, score=pick.score, text=pick.text))
    return out


def _as_choice(option: str, slot: SlotSpec) -> str | None:
    folded = fold(option).strip()
    for choice in slot.choices:
        if fold(coerce_str(choice)).strip() == folded:
            return choice
    found = extract_choices(
        option, fold(option), tokenize(fold(option)), slot.choices, slot.synonyms
    )
    best = max(found, key=lambda e: e.score, default=None)
    return best.value if best is not None and best.score >= 0.85 else None


def _rank(candidates: list[Extraction]) -> list[Extraction]:
    # Best score first; on equal scores the later mention wins (customers correct themselves).
    return sorted(candidates, key=lambda e: (-e.score, -e.span[0]))


def extract_candidates(
    text: str,
    slot: SlotSpec,
    *,
    today: date | None = None,
    context: Sequence[str] | None = None,
) -> list[Extraction]:
    """Every candidate value for ``slot`` in ``text``, best first.

    Same arguments as :func:`extract_value`; useful to see the alternatives and their scores.
    """
    msg = _Message.of(text)
    checked = _check_slot(slot)
    return _candidates(msg, checked, _today(today), _offered(context), cue_only=False)


def _candidates(
    msg: _Message, slot: SlotSpec, today: date, offered: list[str], *, cue_only: bool
) -> list[Extraction]:
    found = _run(msg, slot, _extractor(slot), today, cue_only=cue_only)
    if offered:
        found = found + _from_offered(msg, slot, offered)
    return _rank([replace(e, score=round(min(1.0, max(0.0, e.score)), 3)) for e in found])


def extract_value(
    text: str,
    slot: SlotSpec,
    *,
    today: date | None = None,
    context: Sequence[str] | None = None,
) -> Extraction | None:
    """Find the value of one slot in a customer message.

    Args:
        text: the customer's message.
        slot: what to look for; the extractor follows its ``pattern``, ``choices``, ``kind`` and
            name (see the module docstring for the value types).
        today: the date relative dates are counted from (default: ``date.today()``).
        context: the options the agent offered for this slot, in the order it listed them;
            enables "the second one", "the last one", "option 2".

    Returns:
        The best :class:`Extraction`, or None when the message holds no value for the slot.

    Raises:
        UserError: ``text`` is not a string, ``slot`` is not a valid :class:`SlotSpec` (unknown
            kind, choice slot without choices, synonyms for unknown choices, an invalid or
            catastrophic pattern — the message names the slot), or ``today``/``context`` have
            the wrong type.
    """
    found = extract_candidates(text, slot, today=today, context=context)
    return found[0] if found else None


def extract_slots(
    text: str,
    slots: Sequence[SlotSpec],
    *,
    today: date | None = None,
    prefer: str | None = None,
    context: Sequence[str] | None = None,
) -> dict[str, Extraction]:
    """Fill several slots from one message; no two slots claim overlapping words.

    Candidates of all slots are taken greedily, best score first; on equal scores the slot named
    ``prefer`` wins (it also wins when within 0.05 below), then the more specific extractor
    (pattern > email > phone > money/date > id/postal code > choice > name > number > boolean),
    then the earlier mention and the earlier slot. Each slot gets at most one value. Free-text
    slots come last and take what the others left: only the slot named ``prefer``, or any
    free-text slot when the message gives a reason ("because ..."). A candidate scoring below
    0.5 of a slot other than ``prefer`` (a plain word that fits an id pattern) leaves its words
    to the free-text slots. Of two date slots named as a range (``check_in`` / ``check_out``),
    a date after an end cue ("leaving", "until") never fills the start, nor the reverse.

    Args:
        text: the customer's message.
        slots: the slots to fill (unique names).
        today: the date relative dates are counted from (default: ``date.today()``).
        prefer: the slot whose question is pending, if any.
        context: the options offered with the pending question; applies to ``prefer`` only.

    Returns:
        Slot name -> :class:`Extraction`, for the slots found.

    Raises:
        UserError: bad ``text``/``slots``/``today``/``context``, duplicate slot names,
            ``prefer`` not among the slots, ``context`` without ``prefer``, or an invalid slot
            (see :func:`extract_value`).
    """
    msg = _Message.of(text)
    day = _today(today)
    offered = _offered(context)
    if isinstance(slots, SlotSpec) or not isinstance(slots, (list, tuple)):
        raise UserError(f"slots must be a list or tuple of SlotSpec, not {type(slots).__name__}")
    checked = [_check_slot(slot) for slot in slots]
    names = [slot.name for slot in checked]
    if len(set(names)) != len(names):
        raise UserError(
            f"slots have duplicate names: {sorted({n for n in names if names.count(n) > 1})}"
        )
    if prefer is not None and prefer not in names:
        raise UserError(f"prefer={prefer!r} is not one of the slots {names}")
    if offered and prefer is None:
        raise UserError("context (the options offered) needs prefer= naming the slot asked for")

    ranked: list[tuple[tuple[float, int, int, int, int], str, Extraction]] = []
    free_text: list[SlotSpec] = []
    roles = _range_roles(checked)
    for index, slot in enumerate(checked):
        extractor = _extractor(slot)
        if extractor == "text":
            free_text.append(slot)
            continue
        preferred = slot.name == prefer
        options = offered if preferred else []
        for cand in _candidates(msg, slot, day, options, cue_only=False):
            if slot.name in roles and cue_role(msg.folded, cand.span[0]) not in (
                None,
                roles[slot.name],
            ):
                continue  # "leaving December 24" is not the check-in date
            bonus = _PREFER_BONUS if preferred else 0.0
            key = (
                -(cand.score + bonus),
                -int(preferred),
                -_SPECIFICITY[extractor],
                cand.span[0],
                index,
            )
            ranked.append((key, slot.name, cand))
    ranked.sort(key=lambda item: item[0])

    result: dict[str, Extraction] = {}
    taken: list[tuple[int, int]] = []
    weak: list[tuple[int, int]] = []
    for _, name, cand in ranked:
        if name in result or overlaps(cand.span, taken) or overlaps(cand.span, weak):
            continue
        result[name] = cand
        # A weak guess for a slot nobody asked about ("Robert" as a booking code) keeps its
        # words from the other typed slots, but not from the free-text answer asked for.
        (taken if name == prefer or cand.score >= _CLAIMS else weak).append(cand.span)

    for slot in free_text:
        masked = _mask(msg.text, taken)
        found = extract_free_text(masked, fold(masked), cue_only=slot.name != prefer)
        if found:
            cand = found[0]
            result[slot.name] = Extraction(
                value=cand.value, span=cand.span, score=cand.score, text=msg.text[slice(*cand.span)]
            )
            taken.append(cand.span)
    return result


def _range_roles(slots: list[SlotSpec]) -> dict[str, str]:
    """The start / end role of each date slot, when the slots hold both a start and an end
    date (``check_in`` and ``check_out``); empty otherwise."""
    roles = {s.name: slot_role(s.name) for s in slots if _extractor(s) == "date"}
    found: dict[str, str] = {n: role for n, role in roles.items() if role is not None}
    return found if set(found.values()) == {"start", "end"} else {}


def _mask(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` with the given spans blanked out (same length, so offsets stay valid)."""
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)
