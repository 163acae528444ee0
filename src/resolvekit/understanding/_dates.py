"""Dates in customer messages, absolute or relative to ``today``; values are ``datetime.date``.

Rules (documented because every one of them is a choice):

- ISO ``2026-03-04`` and ``2026/03/04`` are year-month-day.
- Slashes and dashes (``3/4/2026``, ``3/4/26``, ``3/4``, ``3-4-2026``) are read **month first**
  (US), unless the first number cannot be a month (``25/12/2026`` is 25 December). Dots
  (``3.4.2026``) are read **day first** (European). A dash or dot form needs a year, so ``3-4``
  (a range) and ``3.4`` (a decimal) are not dates. Two-digit years are 20xx.
- Month names (``March 3``, ``Mar 3rd, 2026``, ``3 March``, ``the 3rd of March``,
  ``March third``). Without a year, the date falls in the window from 90 days before today to
  about nine months after it: recent past ("I ordered on December 20", said in March) or the
  future ("reschedule to September 10", said in March, is this coming September).
- ``the 5th`` / ``on the 5th``: that day of the month closest to today (previous, this or next
  month); ``the 21st of this / next / last month`` says which.
- ``today``, ``tonight``, ``tomorrow``, ``the day after tomorrow``, ``yesterday``,
  ``the day before yesterday``; ``in 3 days``, ``in a week``, ``in two months``,
  ``3 days from now``, ``2 weeks ago``; ``next week`` (today + 7 days), ``next month`` (same day
  next month, clamped to its length), ``last week``, ``last month``.
- Weekdays: ``friday``, ``this friday``, ``on friday``: the next Friday on or after today
  (today counts); ``next friday``: the first Friday strictly after today; ``last friday``: the
  most recent Friday strictly before today. Abbreviations (``fri``) need one of those
  qualifiers, "to"/"for"/"until"/"by" before them, or a time of day after them (``sat am``,
  ``fri evening``), so "I sat down" is no date.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta

from ._common import Extraction, Token, drop_contained
from ._numbers import parse_number_words

__all__ = ["extract_dates"]

_MONTHS = {
    "january": 1,
    "jan": 1,
    "february": 2,
    "feb": 2,
    "march": 3,
    "mar": 3,
    "april": 4,
    "apr": 4,
    "may": 5,
    "june": 6,
    "jun": 6,
    "july": 7,
    "jul": 7,
    "august": 8,
    "aug": 8,
    "september": 9,
    "sept": 9,
    "sep": 9,
    "october": 10,
    "oct": 10,
    "november": 11,
    "nov": 11,
    "december": 12,
    "dec": 12,
}
_ORDINAL_UNITS = [
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
]
_ORDINAL_WORDS: dict[str, int] = {w: i + 1 for i, w in enumerate(_ORDINAL_UNITS)}
_ORDINAL_WORDS.update(
    {
        "tenth": 10,
        "eleventh": 11,
        "twelfth": 12,
        "thirteenth": 13,
        "fourteenth": 14,
        "fifteenth": 15,
        "sixteenth": 16,
        "seventeenth": 17,
        "eighteenth": 18,
        "nineteenth": 19,
        "twentieth": 20,
        "thirtieth": 30,
    }
)
for _i, _w in enumerate(_ORDINAL_UNITS):
    _ORDINAL_WORDS[f"twenty {_w}"] = 21 + _i
    _ORDINAL_WORDS[f"twenty-{_w}"] = 21 + _i
_ORDINAL_WORDS["thirty first"] = 31
_ORDINAL_WORDS["thirty-first"] = 31

_MONTH_RE = "|".join(sorted(_MONTHS, key=len, reverse=True))
_ORD_RE = "|".join(sorted(_ORDINAL_WORDS, key=len, reverse=True)).replace(" ", r"\s")
_DAY = rf"(?:(\d{{1,2}})(?:st|nd|rd|th)?|({_ORD_RE}))"
_YEAR = r"(?:,?\s(\d{4})(?!\d))?"

_ISO = re.compile(r"(?<![\w/.-])(\d{4})([-/])(\d{1,2})\2(\d{1,2})(?![\w/]|[.-]\d)")
_NUMERIC = re.compile(r"(?<![\w/.-])(\d{1,2})([/.-])(\d{1,2})(?:\2(\d{4}|\d{2}))?(?![\w/]|[.-]\d)")
_MONTH_DAY = re.compile(rf"(?<![a-z])({_MONTH_RE})\.?\s(?:the\s)?{_DAY}(?![a-z\d]){_YEAR}")
_DAY_MONTH = re.compile(rf"(?<![\w])(?:the\s)?{_DAY}\s(?:of\s)?({_MONTH_RE})(?![a-z])\.?{_YEAR}")
_DAY_OF_MONTH = re.compile(
    r"(?<![a-z])(?:on\s)?the\s(\d{1,2})(?:st|nd|rd|th)(?![\w])(?:\sof\s(this|next|last)\smonth\b)?"
)
_NOT_A_DAY_AFTER = re.compile(r"\s(?:one|item|order|option|choice|product|package|time)s?\b")

_WEEKDAYS = {
    "monday": 0,
    "tuesday": 1,
    "wednesday": 2,
    "thursday": 3,
    "friday": 4,
    "saturday": 5,
    "sunday": 6,
}
_WEEKDAY_ABBR = {
    "mon": 0,
    "tue": 1,
    "tues": 1,
    "wed": 2,
    "thu": 3,
    "thur": 3,
    "thurs": 3,
    "fri": 4,
    "sat": 5,
    "sun": 6,
}
_ABBR_BEFORE = frozenset({"to", "for", "until", "till", "til", "by"})
_TIMES_OF_DAY = frozenset({"am", "pm", "morning", "afternoon", "evening", "night", "eve"})
_UNITS = {"day": 1, "days": 1, "week": 7, "weeks": 7, "month": 0, "months": 0}
_RELATIVE_WORDS = {
    "today": 0,
    "tonight": 0,
    "tomorrow": 1,
    "tmrw": 1,
    "tmr": 1,
    "yesterday": -1,
}


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(day.day, last))


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _closest(candidates: list[date | None], today: date) -> date | None:
    valid = [d for d in candidates if d is not None]
    if not valid:
        return None
    # Closest to today; on a tie the future date wins (key False < True for d >= today).
    return min(valid, key=lambda d: (abs((d - today).days), d < today))


def _year(raw: str | None) -> int | None:
    if raw is None:
        return None
    value = int(raw)
    return 2000 + value if len(raw) == 2 else value


def _day_value(digits: str | None, words: str | None) -> int:
    if digits is not None:
        return int(digits)
    assert words is not None
    return _ORDINAL_WORDS[re.sub(r"\s", " ", words)]


_RECENT_PAST_DAYS = 90


def _month_date(month: int, day: int, year: int | None, today: date) -> date | None:
    if year is not None:
        return _safe_date(year, month, day)
    earliest = today - timedelta(days=_RECENT_PAST_DAYS)
    for k in (-1, 0, 1):
        value = _safe_date(today.year + k, month, day)
        if value is not None and value >= earliest:
            return value
    return None


def _regex_dates(text: str, folded: str, today: date) -> list[Extraction]:
    out: list[Extraction] = []

    def add(start: int, end: int, value: date | None, score: float) -> None:
        if value is not None:
            out.append(
                Extraction(value=value, span=(start, end), score=score, text=text[start:end])
            )

    for m in _ISO.finditer(folded):
        add(m.start(), m.end(), _safe_date(int(m[1]), int(m[3]), int(m[4])), 0.95)
    for m in _NUMERIC.finditer(folded):
        first, sep, second, year_raw = int(m[1]), m[2], int(m[3]), m[4]
        if sep in ".-" and year_raw is None:
            continue
        if sep == "." or first > 12:
            day, month = first, second
        else:
            month, day = first, second
        year = _year(year_raw)
        add(m.start(), m.end(), _month_date(month, day, year, today), 0.9 if year else 0.75)
    for m in _MONTH_DAY.finditer(folded):
        month = _MONTHS[m[1]]
        value = _month_date(month, _day_value(m[2], m[3]), _year(m[4]), today)
        add(m.start(), m.end(), value, 0.95 if m[4] else 0.9)
    for m in _DAY_MONTH.finditer(folded):
        month = _MONTHS[m[3]]
        value = _month_date(month, _day_value(m[1], m[2]), _year(m[4]), today)
        add(m.start(), m.end(), value, 0.95 if m[4] else 0.9)
    for m in _DAY_OF_MONTH.finditer(folded):
        if _NOT_A_DAY_AFTER.match(folded, m.end()):
            continue
        day = int(m[1])
        month_start = today.replace(day=1)
        if m[2] is not None:
            target = _add_months(month_start, {"this": 0, "next": 1, "last": -1}[m[2]])
            add(m.start(), m.end(), _safe_date(target.year, target.month, day), 0.9)
            continue
        value = _closest(
            [
                _safe_date(d.year, d.month, day)
                for d in (_add_months(month_start, k) for k in (-1, 0, 1))
            ],
            today,
        )
        add(m.start(), m.end(), value, 0.7)
    return out


def _weekday(day: date, target: int, qualifier: str) -> date:
    ahead = (target - day.weekday()) % 7
    if qualifier == "next":
        return day + timedelta(days=ahead or 7)
    if qualifier in ("last", "past"):
        back = (day.weekday() - target) % 7
        return day - timedelta(days=back or 7)
    return day + timedelta(days=ahead)


def _token_dates(text: str, tokens: list[Token], today: date) -> list[Extraction]:
    out: list[Extraction] = []
    words = [t.text for t in tokens]
    n = len(words)

    def add(first: int, last: int, value: date, score: float) -> None:
        start, end = tokens[first].start, tokens[last].end
        out.append(Extraction(value=value, span=(start, end), score=score, text=text[start:end]))

    for i, word in enumerate(words):
        prev = words[i - 1] if i > 0 else ""
        if word in _RELATIVE_WORDS:
            offset = _RELATIVE_WORDS[word]
            before = words[max(0, i - 2) : i]
            if word == "tomorrow" and before == ["day", "after"]:
                first = i - 3 if i >= 3 and words[i - 3] == "the" else i - 2
                add(first, i, today + timedelta(days=2), 0.9)
            elif word == "yesterday" and before == ["day", "before"]:
                first = i - 3 if i >= 3 and words[i - 3] == "the" else i - 2
                add(first, i, today - timedelta(days=2), 0.9)
            else:
                add(i, i, today + timedelta(days=offset), 0.9)
        elif word in _WEEKDAYS or word.rstrip("s") in _WEEKDAYS or word in _WEEKDAY_ABBR:
            qualifier = prev if prev in ("this", "next", "last", "past", "coming", "on") else ""
            nxt = words[i + 1] if i + 1 < n else ""
            # "to sat", "fri pm", "thurs morning": chat shorthand; "I sat down" is not.
            shorthand = prev in _ABBR_BEFORE or nxt in _TIMES_OF_DAY
            if word in _WEEKDAY_ABBR and not qualifier and not shorthand:
                continue
            target = _WEEKDAY_ABBR.get(word, _WEEKDAYS.get(word, _WEEKDAYS.get(word.rstrip("s"))))
            assert target is not None
            first = i - 1 if qualifier else i
            if qualifier == "coming" and i >= 2 and words[i - 2] == "this":
                first = i - 2
            add(first, i, _weekday(today, target, qualifier), 0.85)
        elif word in ("week", "month") and prev in ("next", "last", "this"):
            if prev == "this":
                continue
            sign = 1 if prev == "next" else -1
            value = today + timedelta(days=7 * sign) if word == "week" else _add_months(today, sign)
            add(i - 1, i, value, 0.8)
        elif word == "in" and i + 1 < n:
            parsed = _count(tokens, i + 1)
            if parsed is not None:
                amount, j = parsed
                if j + 1 < n and words[j + 1] in _UNITS:
                    add(i, j + 1, _shift(today, amount, words[j + 1]), 0.9)
        elif word in _UNITS and i >= 1:
            start = _count_before(tokens, i)
            if start is None:
                continue
            amount, first = start
            if i + 1 < n and words[i + 1] == "ago":
                add(first, i + 1, _shift(today, -amount, word), 0.9)
            elif words[i + 1 : i + 3] in (["from", "now"], ["from", "today"]):
                add(first, i + 2, _shift(today, amount, word), 0.9)
    return out


def _count(tokens: list[Token], i: int) -> tuple[int, int] | None:
    """A count at ``tokens[i]``: digits, number words, or ``a``/``an`` (1)."""
    word = tokens[i].text
    if word.isascii() and word.isdigit() and len(word) <= 4:
        return int(word), i
    if word in ("a", "an") and i + 1 < len(tokens) and tokens[i + 1].text in _UNITS:
        return 1, i
    return parse_number_words(tokens, i)


def _count_before(tokens: list[Token], unit_index: int) -> tuple[int, int] | None:
    """The count ending just before ``tokens[unit_index]``, as ``(amount, first token index)``."""
    for first in range(max(0, unit_index - 4), unit_index):
        parsed = _count(tokens, first)
        if parsed is not None and parsed[1] == unit_index - 1:
            return parsed[0], first
    return None


def _shift(today: date, amount: int, unit: str) -> date:
    if amount > 10_000:
        amount = 10_000
    elif amount < -10_000:
        amount = -10_000
    if unit.startswith("month"):
        return _add_months(today, amount)
    return today + timedelta(days=amount * _UNITS[unit])


def extract_dates(text: str, folded: str, tokens: list[Token], today: date) -> list[Extraction]:
    """Date candidates in order of appearance (see the module docstring for the rules)."""
    found = _regex_dates(text, folded, today) + _token_dates(text, tokens, today)
    found = drop_contained(found)
    found.sort(key=lambda e: e.span)
    return found
