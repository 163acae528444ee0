"""Two date slots of one range (check-in / check-out, start / end): a date the customer marks
as the start or the end ("leaving December 24", "until the 5th") goes to that slot, not to the
first date slot (found on the hotel's blind run, issue 15)."""

from __future__ import annotations

import datetime as dt

import pytest

from resolvekit.models import SlotSpec
from resolvekit.understanding.extract import extract_slots

TODAY = dt.date(2026, 12, 7)
CHECK_IN = SlotSpec(name="check_in", kind="date")
CHECK_OUT = SlotSpec(name="check_out", kind="date")
START = SlotSpec(name="start_date", kind="date")
END = SlotSpec(name="end_date", kind="date")


def dates(text: str, slots: list[SlotSpec]) -> dict[str, dt.date]:
    return {k: v.value for k, v in extract_slots(text, slots, today=TODAY).items()}


@pytest.mark.parametrize(
    "text",
    [
        "I'd like to stay one more night, leaving December 24 instead",
        "sorry, I meant leave December 25",
        "can I check out on December 24?",
        "we're checking-out December 24",
    ],
)
def test_an_end_date_goes_to_the_end_slot(text: str) -> None:
    found = dates(text, [CHECK_IN, CHECK_OUT])
    assert list(found) == ["check_out"]


@pytest.mark.parametrize(
    "text", ["arriving December 22 now", "we'd like to check in on December 22", "from the 22nd"]
)
def test_a_start_date_goes_to_the_start_slot(text: str) -> None:
    assert list(dates(text, [CHECK_IN, CHECK_OUT])) == ["check_in"]


def test_the_cues_win_over_the_order_of_the_dates() -> None:
    found = dates("check out on December 25 and check in on December 22", [CHECK_IN, CHECK_OUT])
    assert found == {"check_in": dt.date(2026, 12, 22), "check_out": dt.date(2026, 12, 25)}


def test_other_slot_names_have_roles_too() -> None:
    assert list(dates("I'm away until January 5", [START, END])) == ["end_date"]


def test_without_a_cue_the_order_decides_as_before() -> None:
    assert list(dates("December 24 please", [CHECK_IN, CHECK_OUT])) == ["check_in"]
    found = dates("arrive December 21 and leave December 24", [CHECK_IN, CHECK_OUT])
    assert found == {"check_in": dt.date(2026, 12, 21), "check_out": dt.date(2026, 12, 24)}


def test_a_single_date_slot_takes_any_date() -> None:
    assert list(dates("leaving December 24", [SlotSpec(name="check_in", kind="date")])) == [
        "check_in"
    ]
