"""Dates: absolute forms, the day/month rule, relative dates against a fixed today."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from resolvekit.exceptions import UserError
from resolvekit.models import SlotSpec
from resolvekit.understanding.extract import extract_value

TODAY = date(2026, 3, 4)  # a Wednesday
SLOT = SlotSpec(name="when", kind="date")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-05-01", date(2026, 5, 1)),
        ("deliver on 2026/05/01 please", date(2026, 5, 1)),
        ("3/4/2026", date(2026, 3, 4)),  # month first
        ("25/12/2026", date(2026, 12, 25)),  # first number cannot be a month
        ("12/25/26", date(2026, 12, 25)),
        ("3-5-2026", date(2026, 3, 5)),
        ("3.5.2026", date(2026, 5, 3)),  # dots are day first
        ("on 3/10", date(2026, 3, 10)),
        ("March 3", date(2026, 3, 3)),
        ("march 3rd, 2027", date(2027, 3, 3)),
        ("Mar 3 2025", date(2025, 3, 3)),
        ("3 March", date(2026, 3, 3)),
        ("the 3rd of March", date(2026, 3, 3)),
        ("march third", date(2026, 3, 3)),
        ("the twenty-first of april", date(2026, 4, 21)),
        ("December 20", date(2025, 12, 20)),  # closest to today: last December
        ("September 10", date(2026, 9, 10)),  # more than 90 days back: the coming one
        ("today", TODAY),
        ("tonight", TODAY),
        ("tomorrow", date(2026, 3, 5)),
        ("tmrw works", date(2026, 3, 5)),
        ("the day after tomorrow", date(2026, 3, 6)),
        ("yesterday", date(2026, 3, 3)),
        ("the day before yesterday", date(2026, 3, 2)),
        ("in 3 days", date(2026, 3, 7)),
        ("in three days", date(2026, 3, 7)),
        ("in a week", date(2026, 3, 11)),
        ("in two weeks", date(2026, 3, 18)),
        ("in 2 months", date(2026, 5, 4)),
        ("5 days from now", date(2026, 3, 9)),
        ("I ordered it 2 weeks ago", date(2026, 2, 18)),
        ("twenty days ago", date(2026, 2, 12)),
        ("next week", date(2026, 3, 11)),
        ("last week", date(2026, 2, 25)),
        ("next month", date(2026, 4, 4)),
        ("friday", date(2026, 3, 6)),
        ("this friday", date(2026, 3, 6)),
        ("on Friday please", date(2026, 3, 6)),
        ("next friday", date(2026, 3, 6)),
        ("next wednesday", date(2026, 3, 11)),  # strictly after today
        ("wednesday", TODAY),  # today counts
        ("last friday", date(2026, 2, 27)),
        ("last wednesday", date(2026, 2, 25)),
        ("next fri", date(2026, 3, 6)),
        ("on the 5th", date(2026, 3, 5)),
        ("the 2nd", date(2026, 3, 2)),
        ("on the 30th", date(2026, 3, 30)),
        ("on the 21st", date(2026, 2, 21)),  # closest: 11 days back beats 17 ahead
        ("on the 21st of this month", date(2026, 3, 21)),
        ("the 2nd of next month", date(2026, 4, 2)),
        ("the 31st of last month", None),  # February has no 31st
    ],
)
def test_dates(text: str, expected: date | None) -> None:
    found = extract_value(text, SLOT, today=TODAY)
    if expected is None:
        assert found is None or found.text != text
        return
    assert found is not None, text
    assert found.value == expected
    assert found.text == text[found.span[0] : found.span[1]]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "I want to cancel my order",
        "3-4 days shipping",  # a range, not a date
        "it costs 3.4 dollars",
        "2/30/2026",  # no such day
        "13/13/2026",
        "I may need help",
        "the second one",
        "fri",  # abbreviations need a qualifier
        "order W1234567",
        "call 555-123-4567",
        "the 5th one",  # an ordinal pick, not a date
        "February 29",  # 2025..2027 have none
        "😀😀",
    ],
)
def test_not_dates(text: str) -> None:
    assert extract_value(text, SLOT, today=TODAY) is None


def test_longest_date_wins_over_its_parts() -> None:
    found = extract_value("the day after tomorrow", SLOT, today=TODAY)
    assert found is not None
    assert found.span == (0, 22)


def test_today_defaults_to_the_real_date() -> None:
    found = extract_value("today", SLOT)
    assert found is not None
    assert found.value == date.today()


def test_datetime_today_is_accepted() -> None:
    found = extract_value("tomorrow", SLOT, today=datetime(2026, 3, 4, 23, 0))
    assert found is not None
    assert found.value == date(2026, 3, 5)


def test_bad_today_is_a_user_error() -> None:
    with pytest.raises(UserError, match="today"):
        extract_value("tomorrow", SLOT, today="2026-03-04")  # type: ignore[arg-type]


def test_leap_day_in_a_leap_year() -> None:
    found = extract_value("February 29", SLOT, today=date(2028, 2, 1))
    assert found is not None
    assert found.value == date(2028, 2, 29)


def test_year_boundary_month_clamp() -> None:
    found = extract_value("next month", SLOT, today=date(2026, 1, 31))
    assert found is not None
    assert found.value == date(2026, 2, 28)
    found = extract_value("in 1 month", SLOT, today=date(2026, 12, 15))
    assert found is not None
    assert found.value == date(2027, 1, 15)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("pls move my order to sat am", date(2026, 3, 7)),
        ("can it come fri pm", date(2026, 3, 6)),
        ("deliver thurs morning pls", date(2026, 3, 5)),
        ("change it to tues", date(2026, 3, 10)),
    ],
)
def test_a_weekday_abbreviation_before_a_time_of_day_or_after_to_is_a_date(
    text: str, expected: date
) -> None:
    # Chat shorthand (the grocery's blind run, issue 15); still not "I sat down" or "the sun".
    found = extract_value(text, SLOT, today=TODAY)
    assert found is not None and found.value == expected


@pytest.mark.parametrize("text", ["I sat down", "the sun was out", "we sat in the morning"])
def test_a_weekday_abbreviation_without_those_cues_is_still_no_date(text: str) -> None:
    assert extract_value(text, SLOT, today=TODAY) is None
