"""Patterns, emails, phones, ids, postal codes, names, booleans and free text.

About internals: these tests also check private helpers directly
(``resolvekit.understanding._patterns``).
"""

from __future__ import annotations

import pytest

from resolvekit.exceptions import UserError
from resolvekit.models import SlotSpec
from resolvekit.understanding._patterns import nested_quantifier, unanchor
from resolvekit.understanding.extract import extract_slots, extract_value

LENIENT = r"#?W\d{7}"


@pytest.mark.parametrize(
    ("pattern", "schema_pattern", "text", "expected"),
    [
        (LENIENT, None, "order #W1234567 please", "#W1234567"),  # '#' allowed: kept
        (LENIENT, None, "W1234567", "W1234567"),
        (LENIENT, r"^W\d{7}$", "order #W1234567", "W1234567"),  # schema forbids '#': stripped
        (LENIENT, r"^#W\d{7}$", "order W1234567", "#W1234567"),  # schema needs '#': added
        (LENIENT, r"^#W\d{7}$", "w1234567", "#W1234567"),  # case-insensitive, upper-cased
        (r"^W\d{7}$", None, "it's W7654321.", "W7654321"),  # anchors dropped for searching
        (r"\AW\d{7}\Z", None, "it's W7654321", "W7654321"),
        (None, r"^#W\d{7}$", "#W7654321", "#W7654321"),  # schema pattern alone is searched
        (r"order (\d{5})", None, "order 12345", "12345"),  # the group is the value
        (r"(?P<value>\d{3})-(\d{2})", None, "ref 123-45", "123"),
        (r"[A-Z]{3}-\d{3}", None, "code ABC-123", "ABC-123"),
    ],
)
def test_pattern(pattern: str | None, schema_pattern: str | None, text: str, expected: str) -> None:
    schema = {"type": "string"} | ({"pattern": schema_pattern} if schema_pattern else {})
    slot = SlotSpec(name="order_id", kind="id", pattern=pattern, json_schema=schema)
    found = extract_value(text, slot)
    assert found is not None, text
    assert found.value == expected


@pytest.mark.parametrize(
    "text",
    [
        "W12345678",  # a longer token is not a match
        "XW1234567",
        "order 1234567",
        "W123456",
        "",
    ],
)
def test_pattern_negatives(text: str) -> None:
    slot = SlotSpec(name="order_id", kind="id", pattern=LENIENT)
    assert extract_value(text, slot) is None


def test_case_sensitive_match_scores_higher() -> None:
    slot = SlotSpec(name="order_id", kind="id", pattern=LENIENT)
    exact = extract_value("W1234567", slot)
    folded = extract_value("w1234567", slot)
    assert exact is not None
    assert folded is not None
    assert exact.score > folded.score


def test_match_the_schema_rejects_is_dropped() -> None:
    slot = SlotSpec(
        name="order_id", pattern=r"\w\d{3}", json_schema={"pattern": r"^X\d{3}$"}, kind="id"
    )
    assert extract_value("A123", slot) is None


def test_pattern_in_optional_schema() -> None:
    schema = {"anyOf": [{"type": "string", "pattern": r"^W\d{7}$"}, {"type": "null"}]}
    slot = SlotSpec(name="order_id", kind="id", pattern=LENIENT, json_schema=schema)
    found = extract_value("#W1234567", slot)
    assert found is not None
    assert found.value == "W1234567"


@pytest.mark.parametrize("pattern", ["(", "[a-", "*a", "(?P<x>a)(?P<x>b)"])
def test_invalid_pattern_is_a_user_error_naming_the_slot(pattern: str) -> None:
    slot = SlotSpec(name="order_id", kind="id", pattern=pattern)
    with pytest.raises(UserError, match="'order_id'"):
        extract_value("anything", slot)


def test_invalid_schema_pattern_is_a_user_error() -> None:
    slot = SlotSpec(name="sku", kind="id", json_schema={"pattern": "(("})
    with pytest.raises(UserError, match="'sku'"):
        extract_value("anything", slot)


@pytest.mark.parametrize("pattern", [r"(\w+)+x", r"(a*)*", r"(?:\d+)+", r"((ab)+)*", r"(a+){2,}"])
def test_catastrophic_pattern_is_a_user_error(pattern: str) -> None:
    assert nested_quantifier(pattern)
    slot = SlotSpec(name="ref", kind="id", pattern=pattern)
    with pytest.raises(UserError, match=r"'ref'.*exponential"):
        extract_value("aaaa", slot)


@pytest.mark.parametrize(
    "pattern",
    [
        r"#?W\d{7}",
        r"(?>\w+)+x",
        r"(\w++)+x",
        r"(ab)+",
        r"(a+)?",
        r"[(+]+\d",
        r"\(\d+\)+",
        r"(\d{3})+",
    ],
)
def test_safe_patterns_pass_the_check(pattern: str) -> None:
    assert not nested_quantifier(pattern)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [("^a$", "a"), (r"\Aa\Z", "a"), (r"a\$", r"a\$"), (r"a\\$", "a\\\\"), ("a", "a")],
)
def test_unanchor(pattern: str, expected: str) -> None:
    assert unanchor(pattern) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail me at Jane.Doe@Example.com.", "jane.doe@example.com"),
        ("j_doe+shop@mail.co.uk", "j_doe+shop@mail.co.uk"),
        ("email: a@b.io, thanks", "a@b.io"),
    ],
)
def test_emails(text: str, expected: str) -> None:
    found = extract_value(text, SlotSpec(name="email", kind="email"))
    assert found is not None
    assert found.value == expected


@pytest.mark.parametrize("text", ["at gmail dot com", "john@", "@handle", "a@b", "me@site.c"])
def test_not_emails(text: str) -> None:
    assert extract_value(text, SlotSpec(name="email", kind="email")) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+1 (555) 123-4567", "+15551234567"),
        ("call me on 555-123-4567", "5551234567"),
        ("555.123.4567", "5551234567"),
        ("+44 20 7946 0958", "+442079460958"),
        ("5551234567", "5551234567"),
    ],
)
def test_phones(text: str, expected: str) -> None:
    found = extract_value(text, SlotSpec(name="phone", kind="phone"))
    assert found is not None, text
    assert found.value == expected


@pytest.mark.parametrize(
    "text", ["2026-03-04", "$1234567", "order #1234567", "12345", "3/4/2026", "W5551234567"]
)
def test_not_phones(text: str) -> None:
    assert extract_value(text, SlotSpec(name="phone", kind="phone")) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my order is W1234567", "W1234567"),
        ("#12345", "#12345"),
        ("order #W2378156 please", "#W2378156"),
        ("ticket ABC-123", "ABC-123"),
        ("ref A1B2C3", "A1B2C3"),
        ("it's 1234567890", "1234567890"),
    ],
)
def test_ids(text: str, expected: str) -> None:
    found = extract_value(text, SlotSpec(name="order_id", kind="id"))
    assert found is not None, text
    assert found.value == expected


@pytest.mark.parametrize(
    "text", ["my order", "order 12", "the 3rd", "at 10am", "12kg", "#12", "2026-03-04", "hello"]
)
def test_not_ids(text: str) -> None:
    assert extract_value(text, SlotSpec(name="order_id", kind="id")) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my zip is 02134", "02134"),
        ("19122-1234", "19122-1234"),
        ("postcode sw1a 1aa", "SW1A 1AA"),
        ("K1A0B1", "K1A 0B1"),
        ("2000", "2000"),
    ],
)
def test_postal_codes(text: str, expected: str) -> None:
    found = extract_value(text, SlotSpec(name="zip", kind="text"))
    assert found is not None, text
    assert found.value == expected


def test_postal_code_by_name_on_id_kind() -> None:
    found = extract_value("it's 19122", SlotSpec(name="postal_code", kind="id"))
    assert found is not None
    assert found.value == "19122"


@pytest.mark.parametrize(
    ("slot_name", "text", "expected"),
    [
        ("first_name", "my name is Yusuf Rossi", "Yusuf"),
        ("last_name", "my name is Yusuf Rossi", "Rossi"),
        ("name", "my name is Yusuf Rossi", "Yusuf Rossi"),
        ("name", "my name is yusuf rossi", "Yusuf Rossi"),
        ("first_name", "I'm Yusuf", "Yusuf"),
        ("name", "Hi, this is Anne-Marie O'Brien", "Anne-Marie O'Brien"),
        ("full_name", "call me Ludwig van Beethoven", "Ludwig van Beethoven"),
        ("first_name", "Yusuf", "Yusuf"),
        ("last_name", "rossi", "Rossi"),  # a bare answer to "your last name?"
        ("last_name", "my last name is Rossi", "Rossi"),
        ("first_name", "Yusuf Rossi, zip 19122", "Yusuf"),
        ("customer_first_name", "My name's DeShawn Smith", "DeShawn"),
        ("last_name", "I am an interesting guy called Noah Patel, living in 10108", "Patel"),
        ("last_name", "Sure: Rossi.", "Rossi"),  # an opening word and punctuation around it
        ("name", "ok, Dan Cohen please", "Dan Cohen"),
        ("last_name", "Rossi thanks", "Rossi"),
        ("name", "Okay: Anne-Marie O'Brien!", "Anne-Marie O'Brien"),
        ("name", "Maria Ta", "Maria Ta"),  # a surname is not a closing word
    ],
)
def test_names(slot_name: str, text: str, expected: str) -> None:
    found = extract_value(text, SlotSpec(name=slot_name, kind="text"))
    assert found is not None, text
    assert found.value == expected


@pytest.mark.parametrize(
    ("slot_name", "text"),
    [
        ("first_name", "I'm looking for my order"),
        ("first_name", "I am not happy"),
        ("last_name", "my name is Yusuf"),  # no last name given
        ("first_name", "my last name is Rossi"),
        ("first_name", "cancel my order please, it is late"),
        ("name", "yes"),
        ("first_name", "I called yesterday about it"),
        ("first_name", "i called yesterday"),
        ("last_name", "one"),  # a number word answers another question
        ("name", "two please"),
        ("name", "June 17 please"),
        ("first_name", "sure"),
        ("name", "yes please"),
    ],
)
def test_not_names(slot_name: str, text: str) -> None:
    assert extract_value(text, SlotSpec(name=slot_name, kind="text")) is None


def test_username_is_not_a_person_name() -> None:
    found = extract_value("my name is Yusuf", SlotSpec(name="username", kind="text"))
    assert found is not None
    assert found.value == "my name is Yusuf"  # free text, not the name extractor


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("yes please", True),
        ("nope", False),
        ("sure, go ahead", True),
        ("not now", False),
        ("true", True),
        ("false", False),
    ],
)
def test_booleans(text: str, expected: bool) -> None:
    found = extract_value(text, SlotSpec(name="gift_wrap", kind="boolean"))
    assert found is not None
    assert found.value is expected


@pytest.mark.parametrize("text", ["maybe", "what's my order status?", "", "hmm"])
def test_not_booleans(text: str) -> None:
    assert extract_value(text, SlotSpec(name="gift_wrap", kind="boolean")) is None


@pytest.mark.parametrize(
    ("text", "expected", "score"),
    [
        ("I want to return it because it broke", "it broke", 0.8),
        ("because of the delay.", "the delay", 0.8),
        ("It arrived damaged", "It arrived damaged", 0.5),
        ("um, well it arrived damaged, thanks!", "it arrived damaged", 0.5),
        ("the reason is: wrong size", "wrong size", 0.8),
    ],
)
def test_free_text(text: str, expected: str, score: float) -> None:
    found = extract_value(text, SlotSpec(name="reason", kind="text"))
    assert found is not None
    assert found.value == expected
    assert found.score == score


@pytest.mark.parametrize("text", ["", "  ", "thanks!", "um, ok", "🙂"])
def test_free_text_of_filler_is_none(text: str) -> None:
    assert extract_value(text, SlotSpec(name="description", kind="text")) is None


@pytest.mark.parametrize(
    ("slot_name", "text", "expected"),
    [
        ("contact_email", "it's Bob@Mail.com", "bob@mail.com"),
        ("mobile", "555 123 4567", "5551234567"),
    ],
)
def test_text_slots_named_like_typed_values(slot_name: str, text: str, expected: str) -> None:
    found = extract_value(text, SlotSpec(name=slot_name, kind="text"))
    assert found is not None
    assert found.value == expected


def test_a_bare_number_word_fills_the_count_asked_for_not_a_name_slot() -> None:
    bags = SlotSpec(name="bags", kind="number")
    last_name = SlotSpec(name="last_name", kind="text")
    found = extract_slots("one", [bags, last_name], prefer="bags")
    assert {name: e.value for name, e in found.items()} == {"bags": 1}
