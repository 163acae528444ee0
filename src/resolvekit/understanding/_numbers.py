"""Numbers, money and percentages in customer messages.

Numbers are written with digits (``12``, ``1,234``, ``12.5``, ``-3``) or in words up to the millions
(``"two"``, ``"twenty five"``, ``"a hundred and five"``, ``"two thousand three hundred"``,
``"a dozen"``). A comma followed by exactly three digits groups thousands (``1,234`` is 1234); a
comma followed by one or two digits is a decimal comma (``12,50`` is 12.5). Digits that belong to a
larger token are never numbers: ``W1234567``, ``#12345``, ``3/4/2026``, ``10:30``,
``555-123-4567``, ``3rd``, ``12kg``.

Money values are returned as a ``str`` holding a plain decimal with at least two places
(``"12.50"``), which :class:`decimal.Decimal` parses exactly and which survives JSON; the
currency goes in :attr:`Extraction.unit` (``"USD"``, ``"EUR"``...) when the message names one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from ._common import Extraction, Token, drop_contained, tokenize, word_set
from ._spelling import one_slip

__all__ = [
    "NumberMatch",
    "extract_integers",
    "extract_money",
    "extract_numbers",
    "find_numbers",
    "parse_number_words",
]

_DIGITS = re.compile(
    r"(?<![\w.,/:#'-])(-?)(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+)|,(\d{1,2})(?![\d]))?"
    r"(?![\w/:]|[.,]\d|-\d)"
)

_MAX_DIGITS = 15

SMALL = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
_SCALES = {"thousand": 1000, "million": 1_000_000}
_NUMBER_WORDS = frozenset(SMALL) | frozenset(TENS) | {"hundred", "dozen"} | frozenset(_SCALES)

# Words before "one" that make it a pronoun ("the second one", "which one") rather than 1.
_ONE_PRONOUN = word_set(
    "the this that which a an any each every no other another same right wrong new old last "
    "first second third fourth fifth only next previous earlier older newer cheaper blue red "
    "black white big small"
)


@dataclass(kw_only=True, frozen=True)
class NumberMatch:
    """A number found in a message."""

    value: Decimal
    start: int
    end: int
    words: bool
    """Written in words (``"twenty five"``) rather than digits."""
    pronoun_risk: bool = False
    """The bare word ``one``, which is often a pronoun."""


def parse_number_words(tokens: list[Token], i: int) -> tuple[int, int] | None:
    """Parse number words starting at ``tokens[i]``.

    Returns:
        ``(value, index of the last token used)``, or None when no number starts at ``i``.
    """
    n = len(tokens)
    total = 0
    current = 0
    state = "start"
    last: int | None = None
    j = i
    while j < n:
        word = tokens[j].text
        nxt = tokens[j + 1].text if j + 1 < n else ""
        if word == "and" and state in ("hundred", "scale") and (nxt in SMALL or nxt in TENS):
            j += 1
            continue
        if word == "a" and state == "start" and nxt in ("hundred", "thousand", "million", "dozen"):
            current, state = 1, "unit"
        elif word in SMALL:
            value = SMALL[word]
            if state in ("start", "hundred", "scale") or (state == "tens" and 1 <= value <= 9):
                current += value
                state = "unit" if value < 10 else "teen"
                last = j
            else:
                break
        elif word in TENS:
            if state not in ("start", "hundred", "scale"):
                break
            current += TENS[word]
            state, last = "tens", j
        elif word == "hundred":
            if state not in ("unit", "teen") or current >= 100:
                break
            current *= 100
            state, last = "hundred", j
        elif word == "dozen":
            if state != "unit" or current >= 10:
                break
            current *= 12
            last = j
            break
        elif word in _SCALES:
            if state not in ("unit", "teen", "tens", "hundred") or current == 0:
                break
            total += current * _SCALES[word]
            current = 0
            state, last = "scale", j
        else:
            break
        j += 1
    if last is None:
        return None
    return total + current, last


def find_numbers(text: str, folded: str, tokens: list[Token] | None = None) -> list[NumberMatch]:
    """Every number in the message, in order of appearance."""
    found: list[NumberMatch] = []
    for m in _DIGITS.finditer(folded):
        sign, whole, frac, comma_frac = m.groups()
        raw = whole.replace(",", "")
        if len(raw) > _MAX_DIGITS or len(frac or "") > _MAX_DIGITS:
            continue  # an identifier or noise, not a quantity
        fraction = frac if frac is not None else comma_frac
        literal = f"{sign}{raw}.{fraction}" if fraction is not None else f"{sign}{raw}"
        try:
            value = Decimal(literal)
        except InvalidOperation:  # pragma: no cover - the regex only admits digits
            continue
        found.append(NumberMatch(value=value, start=m.start(), end=m.end(), words=False))
    if tokens is None:
        tokens = tokenize(folded)
    i = 0
    while i < len(tokens):
        if tokens[i].text not in _NUMBER_WORDS and tokens[i].text != "a":
            i += 1
            continue
        parsed = parse_number_words(tokens, i)
        if parsed is None:
            i += 1
            continue
        amount, last = parsed
        prev = tokens[i - 1].text if i > 0 else ""
        lone_one = last == i and tokens[i].text == "one"
        if lone_one and prev in _ONE_PRONOUN:
            i = last + 1
            continue
        found.append(
            NumberMatch(
                value=Decimal(amount),
                start=tokens[i].start,
                end=tokens[last].end,
                words=True,
                pronoun_risk=lone_one,
            )
        )
        i = last + 1
    found.sort(key=lambda nm: nm.start)
    return found


_PERCENT_AFTER = re.compile(r"\s?(?:%|percent\b|per cent\b)")


def _percent_end(folded: str, end: int) -> int | None:
    m = _PERCENT_AFTER.match(folded, end)
    return m.end() if m else None


def _number_score(nm: NumberMatch) -> float:
    if nm.pronoun_risk:
        return 0.5
    return 0.75 if nm.words else 0.85


def extract_integers(text: str, folded: str, numbers: list[NumberMatch]) -> list[Extraction]:
    """Integer candidates (``int``); money scores low, fractional numbers are skipped."""
    out = []
    for nm in numbers:
        if nm.value != nm.value.to_integral_value():
            continue
        score = _number_score(nm)
        if _currency_before(folded, nm.start) or _currency_after(folded, nm.end):
            score = 0.3
        out.append(
            Extraction(
                value=int(nm.value),
                span=(nm.start, nm.end),
                score=score,
                text=text[nm.start : nm.end],
            )
        )
    return out


def _plain_number(value: Decimal) -> int | float:
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def extract_numbers(text: str, folded: str, numbers: list[NumberMatch]) -> list[Extraction]:
    """Number candidates: ``int`` if integral, else ``float``; ``15%`` is 15 with unit ``%``."""
    out = []
    for nm in numbers:
        end = nm.end
        unit = None
        score = _number_score(nm)
        pct_end = _percent_end(folded, nm.end)
        if pct_end is not None:
            end, unit, score = pct_end, "%", 0.9
        elif _currency_before(folded, nm.start) or _currency_after(folded, nm.end):
            score = 0.5
        out.append(
            Extraction(
                value=_plain_number(nm.value),
                span=(nm.start, end),
                score=score,
                text=text[nm.start : end],
                unit=unit,
            )
        )
    return out


_SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR"}
_CODES = {"usd", "eur", "gbp", "cad", "aud", "chf", "jpy", "inr", "nzd", "sek", "nok", "dkk"}
_WORDS = {
    "dollar": "USD",
    "dollars": "USD",
    "buck": "USD",
    "bucks": "USD",
    "euro": "EUR",
    "euros": "EUR",
    "pound": "GBP",
    "pounds": "GBP",
    "quid": "GBP",
    "cent": "cents",
    "cents": "cents",
}
_BEFORE = re.compile(r"(?:([$€£¥₹])|(?<![a-z])(" + "|".join(sorted(_CODES)) + r"))\s?\Z")
_AFTER = re.compile(
    r"\s?(?:([$€£¥₹])|("
    + "|".join(sorted(_CODES | set(_WORDS), key=len, reverse=True))
    + r")(?![a-z])(?:\s(?:and\s)?(\d{1,2})\s(?:cents?)(?![a-z]))?)"
)


def _currency_before(folded: str, start: int) -> tuple[str, int] | None:
    """The currency written just before a number, and where it starts."""
    offset = max(0, start - 5)
    m = _BEFORE.search(folded[offset:start])
    if not m:
        return None
    unit = _SYMBOLS[m.group(1)] if m.group(1) else m.group(2).upper()
    return unit, offset + m.start()


def _currency_after(folded: str, end: int) -> re.Match[str] | None:
    found = _AFTER.match(folded, end)
    if found is not None:
        return found
    # "40 dollers", "20 eruos": a one-letter slip in a currency word of five letters or more
    # (shorter ones, "buck", "quid", would catch ordinary words) still names the currency; the
    # first letter must be right ("7 sounds", "5 rounds" are not pounds).
    word = _NEXT_WORD.match(folded, end)
    if word is None or len(word.group(1)) < 5 or word.group(1) in _WORDS:
        return None
    typed = word.group(1)
    fixed = next((w for w in _SLIPPABLE if w[0] == typed[0] and one_slip(typed, w)), None)
    if fixed is None:
        return None
    return _AFTER.match(folded[: word.start(1)] + fixed + folded[word.end(1) :], end)


_NEXT_WORD = re.compile(r"\s?([a-z]+)")
_SLIPPABLE = tuple(w for w in _WORDS if len(w) >= 5)


def _money_value(value: Decimal) -> str:
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -2:
        value = value.quantize(Decimal("0.01"))
    return str(value)


_COUNTED = re.compile(r"\s(?:items?|pieces?|units?|pairs?|of\b|x\b|times?\b|days?\b|orders?\b)")


def _bare_money_score(folded: str, nm: NumberMatch) -> float:
    """A number without currency: cents (``49.99``) look like money, counts (``2 items``) don't,
    and the object of a verb that moves money (``send 80 to John``) is an amount."""
    if _COUNTED.match(folded, nm.end):
        return 0.4
    if _MONEY_VERB.search(folded, max(0, nm.start - 20), nm.start):
        return 0.75
    if nm.words:
        return 0.6
    exponent = nm.value.as_tuple().exponent
    return 0.7 if exponent == -2 else 0.6


_MONEY_VERB = re.compile(r"\b(?:send|pay|transfer|wire|lend|tip)\s+(?:(?:him|her|them|me)\s+)?\Z")


def extract_money(text: str, folded: str, numbers: list[NumberMatch]) -> list[Extraction]:
    """Money candidates: ``"$12.50"``, ``"12 dollars"``, ``"€5"``, ``"USD 20"``, ``"50 cents"``.

    A bare number (no currency) is a weaker candidate, so "25" answers "how much?": 0.7 with two
    decimals, 0.6 otherwise, 0.4 when it counts something ("2 items").
    """
    out = []
    for nm in numbers:
        if nm.value < 0:
            continue
        start, end, value = nm.start, nm.end, nm.value
        unit: str | None = None
        score = 0.0
        before = _currency_before(folded, nm.start)
        if before is not None:
            unit, start = before
            score = 0.95
        after = _currency_after(folded, nm.end)
        if after is not None:
            symbol, word, cents = after.groups()
            if symbol:
                unit = _SYMBOLS[symbol]
            elif word in _WORDS and _WORDS[word] == "cents":
                value = value / 100
                unit = unit or "USD"
            else:
                unit = _WORDS.get(word, word.upper())
                if cents is not None:
                    value += Decimal(cents) / 100
            end, score = after.end(), 0.95
        if score == 0.0:
            if nm.pronoun_risk:
                continue
            score = _bare_money_score(folded, nm)
        out.append(
            Extraction(
                value=_money_value(value),
                span=(start, end),
                score=score,
                text=text[start:end],
                unit=unit,
            )
        )
    # "12 dollars and 50 cents" also yields "50 cents": keep the whole amount.
    return drop_contained(out)
