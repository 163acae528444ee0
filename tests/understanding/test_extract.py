"""The public extraction API: dispatch, several slots from one message, errors, odd input."""

from __future__ import annotations

import itertools
from datetime import date

import pytest

from resolvekit.exceptions import UserError
from resolvekit.models import SlotSpec
from resolvekit.understanding.extract import (
    Extraction,
    extract_candidates,
    extract_slots,
    extract_value,
)

TODAY = date(2026, 3, 4)
ORDER = SlotSpec(
    name="order_id", kind="id", pattern=r"#?W\d{7}", json_schema={"pattern": r"^#W\d{7}$"}
)
FIRST = SlotSpec(name="first_name", kind="text")
LAST = SlotSpec(name="last_name", kind="text")
ZIP = SlotSpec(name="zip", kind="text")
QTY = SlotSpec(name="quantity", kind="integer")
WHEN = SlotSpec(name="date", kind="date")
REASON = SlotSpec(name="reason", kind="text")
ACTION = SlotSpec(name="action", kind="choice", choices=["cancel", "return", "exchange"])
EMAIL = SlotSpec(name="email", kind="email")
AMOUNT = SlotSpec(name="amount", kind="money")


def test_extraction_is_a_frozen_kw_only_record() -> None:
    found = extract_value("order W1234567", ORDER)
    assert isinstance(found, Extraction)
    assert found.text == "W1234567"
    assert found.span == (6, 14)
    assert 0.0 <= found.score <= 1.0
    with pytest.raises(TypeError):
        Extraction("x", (0, 1), 1.0, "x")  # type: ignore[misc]


def test_tau2_style_message_fills_every_slot_without_overlap() -> None:
    text = "Yusuf Rossi, zip 19122, order #W2378156"
    found = extract_slots(text, [FIRST, LAST, ZIP, ORDER])
    assert {k: v.value for k, v in found.items()} == {
        "first_name": "Yusuf",
        "last_name": "Rossi",
        "zip": "19122",
        "order_id": "#W2378156",
    }
    spans = sorted(e.span for e in found.values())
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))


def test_no_two_slots_claim_the_same_words() -> None:
    # "19122" could be a zip code or an integer quantity: only one slot may take it.
    found = extract_slots("19122", [QTY, ZIP])
    assert len(found) == 1
    assert "zip" in found  # the more specific extractor wins


def test_pending_slot_wins_ties() -> None:
    found = extract_slots("19122", [QTY, ZIP], prefer="quantity")
    assert list(found) == ["quantity"]
    assert found["quantity"].value == 19122


def test_two_slots_of_the_same_kind_take_different_values() -> None:
    start = SlotSpec(name="start", kind="date")
    end = SlotSpec(name="end", kind="date")
    found = extract_slots("from tomorrow to next friday", [start, end], today=TODAY)
    assert found["start"].value == date(2026, 3, 5)
    assert found["end"].value == date(2026, 3, 6)


def test_digits_of_an_id_are_not_a_quantity() -> None:
    found = extract_slots("order W1234567, 2 items", [ORDER, QTY])
    assert found["order_id"].value == "#W1234567"
    assert found["quantity"].value == 2


def test_money_and_integer_split_the_message() -> None:
    found = extract_slots("refund $25 for 3 items", [AMOUNT, QTY])
    assert found["amount"].value == "25.00"
    assert found["quantity"].value == 3


def test_free_text_takes_the_reason_after_the_other_slots() -> None:
    found = extract_slots("cancel W1234567 because I found it cheaper", [ACTION, ORDER, REASON])
    assert found["action"].value == "cancel"
    assert found["order_id"].value == "#W1234567"
    assert found["reason"].value == "I found it cheaper"


def test_free_text_is_not_filled_without_a_cue_unless_pending() -> None:
    assert "reason" not in extract_slots("cancel W1234567", [ACTION, ORDER, REASON])
    found = extract_slots("it broke on W1234567", [ORDER, REASON], prefer="reason")
    assert found["order_id"].value == "#W1234567"
    assert found["reason"].value == "it broke on"


def test_email_and_date_in_one_message() -> None:
    found = extract_slots("send it to a@b.io by March 10", [EMAIL, WHEN], today=TODAY)
    assert found["email"].value == "a@b.io"
    assert found["date"].value == date(2026, 3, 10)


def test_context_applies_to_the_preferred_slot() -> None:
    offered = ["#W1111111", "#W2222222"]
    found = extract_slots(
        "the second one, 2 of them", [ORDER, QTY], prefer="order_id", context=offered
    )
    assert found["order_id"].value == "#W2222222"
    assert found["quantity"].value == 2


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"prefer": "nope"}, "prefer"),
        ({"context": ["a"]}, "context"),
        ({"today": 5}, "today"),
    ],
)
def test_extract_slots_argument_errors(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(UserError, match=match):
        extract_slots("text", [ORDER], **kwargs)  # type: ignore[arg-type]


def test_duplicate_slot_names_are_a_user_error() -> None:
    with pytest.raises(UserError, match="duplicate"):
        extract_slots("text", [QTY, SlotSpec(name="quantity", kind="number")])


@pytest.mark.parametrize("slots", [ORDER, "order_id", None, {"a": ORDER}])
def test_slots_must_be_a_list(slots: object) -> None:
    with pytest.raises(UserError, match="slots"):
        extract_slots("text", slots)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", [None, 5, b"bytes", ["list"]])
def test_text_must_be_a_string(text: object) -> None:
    with pytest.raises(UserError, match="text must be a str"):
        extract_value(text, QTY)  # type: ignore[arg-type]
    with pytest.raises(UserError, match="text must be a str"):
        extract_slots(text, [QTY])  # type: ignore[arg-type]


def test_slot_must_be_a_slotspec() -> None:
    with pytest.raises(UserError, match="SlotSpec"):
        extract_value("2", {"name": "quantity"})  # type: ignore[arg-type]


def test_unknown_kind_is_a_user_error() -> None:
    slot = SlotSpec(name="weird", kind="colour")  # type: ignore[arg-type]
    with pytest.raises(UserError, match=r"'weird'.*kind"):
        extract_value("red", slot)


def test_invalid_pattern_in_extract_slots_names_the_slot() -> None:
    bad = SlotSpec(name="sku", kind="id", pattern="([")
    with pytest.raises(UserError, match="'sku'"):
        extract_slots("SKU 123", [QTY, bad])


ALL_SLOTS = [
    ORDER,
    FIRST,
    LAST,
    ZIP,
    QTY,
    WHEN,
    REASON,
    ACTION,
    EMAIL,
    AMOUNT,
    SlotSpec(name="number", kind="number"),
    SlotSpec(name="phone", kind="phone"),
    SlotSpec(name="ref", kind="id"),
    SlotSpec(name="ok", kind="boolean"),
]

ODD_TEXTS = [
    "",
    " ",
    "😀🎉👍",
    "İstanbul İİİ 2 items",  # characters whose lower case is longer
    "\u200b\u200b",
    "a" * 10_000,
    "1" * 10_000,
    "W1234567 " * 1_000,
    "1/" * 5_000,
    "-" * 10_000,
    "$" * 5_000 + "5",
    "@" * 5_000,
    "a@" * 5_000,
    "the " * 2_500,
    ("cancle " * 1_500) + "cancel",
    "\n\t\r",
    "١٢٣ ٤٥٦",  # Arabic-Indic digits
    "²³ 5²",
]


@pytest.mark.parametrize("text", ODD_TEXTS, ids=range(len(ODD_TEXTS)))
def test_odd_text_never_raises(text: str) -> None:
    found = extract_slots(text, ALL_SLOTS, today=TODAY)
    for name, extraction in found.items():
        assert 0.0 <= extraction.score <= 1.0, name
        assert text[extraction.span[0] : extraction.span[1]] == extraction.text
    for slot in ALL_SLOTS:
        for cand in extract_candidates(text, slot, today=TODAY):
            assert text[cand.span[0] : cand.span[1]] == cand.text


def test_spans_point_into_the_original_text_after_folding() -> None:
    text = "İİ order W1234567"  # 'İ'.lower() is two characters
    found = extract_value(text, ORDER)
    assert found is not None
    assert text[found.span[0] : found.span[1]] == "W1234567"


def test_candidates_are_ranked_best_first() -> None:
    found = extract_candidates("order 12345678 or W1234567", SlotSpec(name="ref", kind="id"))
    assert [c.value for c in found] == ["W1234567", "12345678"]
    assert found[0].score >= found[1].score


@pytest.mark.parametrize("offset", [500, 505, 510, 511, 512, 880, 890, 1_000])
def test_pattern_match_across_a_scan_window_edge_is_found_whole(offset: int) -> None:
    text = "x" * offset + " W1234567 " + "y" * 600
    variable = SlotSpec(name="order_id", kind="id", pattern=r"W\d{3,7}")
    found = extract_candidates(text, variable)
    assert [c.value for c in found] == ["W1234567"]
    assert found[0].span == (offset + 1, offset + 9)


def test_later_mention_wins_equal_scores() -> None:
    found = extract_value("cancel, no wait, return", ACTION)
    assert found is not None
    assert found.value == "return"


def test_prefer_wins_a_near_tie_but_not_a_clear_gap() -> None:
    # A bare 5-digit number: zip (0.9) vs id (0.7); prefer cannot bridge 0.2.
    ref = SlotSpec(name="ref", kind="id")
    assert list(extract_slots("19122", [ZIP, ref], prefer="ref")) == ["zip"]
    # Two date slots reading the same words tie: the pending one takes them.
    start = SlotSpec(name="start", kind="date")
    end = SlotSpec(name="end", kind="date")
    found = extract_slots("tomorrow", [start, end], today=TODAY, prefer="end")
    assert list(found) == ["end"]
