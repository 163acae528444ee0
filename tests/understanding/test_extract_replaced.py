"""One date slot and two dates in a message: the date the customer is moving *away from*
("from Wednesday", "instead of Wednesday", "I won't be in on Wednesday") is not the new value;
the other one is (found on the grocery's blind run, issue 15: "I won't be in on wednesday, can
you bring it on thursday instead?" moved the delivery to Wednesday)."""

from __future__ import annotations

import datetime as dt

import pytest

from resolvekit.models import SlotSpec
from resolvekit.understanding.extract import extract_slots

TODAY = dt.date(2026, 12, 7)  # a Monday
DAY = SlotSpec(name="day", kind="date")
WINDOW = SlotSpec(name="window", kind="choice", choices=["morning", "afternoon", "evening"])
CHECK_IN = SlotSpec(name="check_in", kind="date")
CHECK_OUT = SlotSpec(name="check_out", kind="date")
THURSDAY, FRIDAY = dt.date(2026, 12, 10), dt.date(2026, 12, 11)


def day(text: str) -> dt.date | None:
    found = extract_slots(text, [DAY, WINDOW], today=TODAY)
    return found["day"].value if "day" in found else None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I won't be in on wednesday, can you bring it on thursday evening instead?", THURSDAY),
        ("move my delivery from Wednesday to Friday", FRIDAY),
        ("Friday instead of Wednesday please", FRIDAY),
        ("can it come Thursday rather than Wednesday?", THURSDAY),
        ("not Wednesday, Thursday", THURSDAY),
        ("I can't do Wednesday, Friday works", FRIDAY),
    ],
)
def test_the_date_moved_away_from_is_not_the_new_one(text: str, expected: dt.date) -> None:
    assert day(text) == expected


def test_a_lone_date_or_two_without_such_words_are_read_as_before() -> None:
    assert day("from Friday please") == FRIDAY  # the only date: kept
    assert day("Thursday or Friday") == THURSDAY  # no cue: the first, as before
    found = extract_slots("from December 22 until December 25", [CHECK_IN, CHECK_OUT], today=TODAY)
    assert {k: v.value for k, v in found.items()} == {
        "check_in": dt.date(2026, 12, 22),
        "check_out": dt.date(2026, 12, 25),
    }
