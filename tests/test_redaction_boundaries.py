"""Redaction at its edges: checksum and length limits, how much of a value a mask keeps, policy
validation, data that is not text, and the logging filter's handling of every record part."""

from __future__ import annotations

import datetime
import logging
import sys

import pytest
from pydantic import BaseModel

import resolvekit as rk
from resolvekit.redaction import RedactingFilter, Redactor, iban_ok, install_log_redaction, luhn_ok

POLICY = Redactor()


def card(length: int) -> str:
    """A Luhn-valid number of ``length`` digits starting with 4."""
    base = "4" + "1" * (length - 2)
    return next(base + d for d in "0123456789" if luhn_ok(base + d))


@pytest.mark.parametrize(
    ("iban", "ok"),
    [
        ("GB82WEST12345698765432", True),
        ("gb82west12345698765432", True),
        # Check digits must be digits, even when the mod-97 sum happens to come out right.
        ("GBD2WEST12345698765432", False),
        ("GBM9WEST12345698765432", False),
        # The country's length, even when the mod-97 sum happens to come out right.
        ("GB82WEST1234569876543273", False),
        ("GB82WEST123456987654.2", False),  # letters and digits only
        ("ZZ82WEST12345698765432", False),  # an unknown country
    ],
)
def test_iban_checks(iban: str, ok: bool) -> None:
    assert iban_ok(iban) is ok


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("+1234567", "+1234567"),  # 7 digits: too short for a phone number
        ("+12 345 678", "[phone ****78]"),  # 8 digits
        ("+12 3456 7890 1234 56", "[phone ****56]"),  # 16 digits
        ("0123 4567 890", "[phone ****90]"),  # 11 digits with a trunk 0
        ("0123 4567 8901", "0123 4567 8901"),  # 12: too long for a national number
        ("1 020 7946 0958", "1 020 7946 0958"),  # the tail of a longer number
        ("1 020 7946 0958 or 020 7946 0958", "1 020 7946 0958 or [phone ****58]"),  # goes on
        ("+12 3456 7890 1234 567", "[phone ****34] 567"),  # 17 digits: the first 16 are one
        ("ref 5 4111 1111 1111 1111", "ref 5 [card ****1111]"),  # a card after a stray digit
    ],
)
def test_number_lengths_and_positions(text: str, masked: str) -> None:
    assert POLICY.redact_text(text) == masked


@pytest.mark.parametrize(("length", "masked"), [(12, False), (13, True), (19, True), (20, False)])
def test_card_numbers_in_data_have_13_to_19_digits(length: int, masked: bool) -> None:
    number = card(length)
    expected = f"[card ****{number[-4:]}]" if masked else int(number)
    assert POLICY.redact_value(int(number)) == expected
    if length <= 15:  # a float holds 15 digits exactly
        assert POLICY.redact_value(float(number)) == (expected if masked else float(number))


def test_a_card_in_text_has_at_most_19_digits() -> None:
    number = card(20)
    assert POLICY.redact_text(number) == number


@pytest.mark.parametrize(
    ("options", "text", "masked"),
    [
        ({"card_keep_last": 1}, "4111 1111 1111 1111", "[card ****1]"),
        ({"card_keep_last": 0}, "4111 1111 1111 1111", "[card ****]"),
        ({"phone_keep_last": 1}, "+44 20 7946 0958", "[phone ****8]"),
        ({"national_id_keep_last": 0}, "123-45-6789", "[ssn ***-**-****]"),
        ({"national_id_keep_last": 2}, "123-45-6789", "[ssn ***-**-**89]"),
        ({"iban_keep_last": 0}, "GB82 WEST 1234 5698 7654 32", "[iban GB** ****]"),
        ({"iban_keep_last": 2}, "GB82 WEST 1234 5698 7654 32", "[iban GB** ****32]"),
    ],
)
def test_how_much_a_mask_keeps(options: dict[str, int], text: str, masked: str) -> None:
    assert Redactor(**options).redact_text(text) == masked  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "name", ["iban_keep_last", "phone_keep_last", "national_id_keep_last", "card_keep_last"]
)
def test_keep_last_takes_0_to_4(name: str) -> None:
    for value in (0, 4):
        Redactor(**{name: value})  # type: ignore[arg-type]
    for value in (-1, 5):
        with pytest.raises(rk.UserError) as info:
            Redactor(**{name: value})  # type: ignore[arg-type]
        assert str(info.value) == f"Redactor.{name} must be between 0 and 4"


@pytest.mark.parametrize(
    "entry", [("", r"MBR-\d+"), ("member",), ("member", r"MBR", "extra"), "member"]
)
def test_extra_patterns_must_be_named_pairs(entry: object) -> None:
    with pytest.raises(rk.UserError, match=r"takes \(name, regex\) pairs"):
        Redactor(extra_patterns=(entry,))  # type: ignore[arg-type]


def test_an_extra_pattern_may_be_given_as_a_list_or_compiled() -> None:
    import re

    policy = Redactor(extra_patterns=(["member", re.compile(r"MBR-\d{8}")],))  # type: ignore[arg-type]
    assert policy.redact_text("id MBR-12345678") == "id [member]"
    assert policy.extra_patterns == (("member", re.compile(r"MBR-\d{8}")),)


def test_models_are_redacted_in_their_json_form() -> None:
    class Visit(BaseModel):
        when: datetime.datetime
        email: str

    when = datetime.datetime(2026, 12, 24, 9, 30)
    assert POLICY.redact_value(Visit(when=when, email="jane@example.com")) == {
        "when": "2026-12-24T09:30:00",
        "email": "j***@example.com",
    }


def test_booleans_and_none_pass_through() -> None:
    assert POLICY.redact_value([True, False, None, 0]) == [True, False, None, 0]


def record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord("resolvekit", logging.ERROR, __file__, 1, message, args, None)
    for key, value in extra.items():
        setattr(made, key, value)
    return made


def test_the_filter_keeps_a_malformed_record_for_logging_to_report() -> None:
    malformed = record("bad format %s %s", "only one")
    assert RedactingFilter().filter(malformed) is True
    assert (malformed.msg, malformed.args) == ("bad format %s %s", ("only one",))


def test_the_filter_redacts_every_part_of_a_record() -> None:
    plain = record("card %s", "4111 1111 1111 1111")
    assert RedactingFilter().filter(plain) is True
    assert (plain.msg, plain.args) == ("card [card ****1111]", None)
    cached = record("x", exc_text="ValueError: jane@example.com")
    assert RedactingFilter().filter(cached) is True
    assert cached.exc_text == "ValueError: j***@example.com"
    stacked = record("x", stack_info="Stack (most recent call last):\n  call +44 20 7946 0958")
    assert RedactingFilter().filter(stacked) is True
    assert stacked.stack_info == "Stack (most recent call last):\n  call [phone ****58]"
    try:
        raise ValueError("jane@example.com")
    except ValueError:
        failing = record("failed", exc_info=sys.exc_info())
    assert RedactingFilter().filter(failing) is True
    assert failing.exc_info is None
    assert failing.exc_text is not None and "j***@example.com" in failing.exc_text
    assert "jane@example.com" not in failing.exc_text


def test_log_redaction_reaches_child_loggers_created_before_it() -> None:
    child = logging.getLogger("resolvekit.some_plugin")
    try:
        install_log_redaction()
        assert sum(isinstance(f, RedactingFilter) for f in child.filters) == 1
        install_log_redaction(None)
        assert not any(isinstance(f, RedactingFilter) for f in child.filters)
    finally:
        install_log_redaction()
        for old in [f for f in child.filters if isinstance(f, RedactingFilter)]:
            child.removeFilter(old)


def test_an_iban_that_ends_in_a_letter_is_masked_whole() -> None:
    text = "IBAN MT84 MALT 0110 0001 2345 MTLC AST0 01S please"
    assert POLICY.redact_text(text) == "IBAN [iban MT** ****001S] please"


def test_a_policy_without_phones_leaves_them_after_a_card_too() -> None:
    policy = Redactor(phones=False)
    text = "card 4111 1111 1111 1111 call +44 20 7946 0958 or 020 7946 0958"
    assert policy.redact_text(text) == (
        "card [card ****1111] call +44 20 7946 0958 or 020 7946 0958"
    )
