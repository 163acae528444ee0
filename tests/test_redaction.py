"""The redaction policy: each pattern, its checksums, what it must leave alone, and log records."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Iterator

import pytest
from pydantic import BaseModel

import resolvekit as rk
from resolvekit.handoffs import redact
from resolvekit.redaction import (
    DEFAULT_REDACTOR,
    LOGGERS,
    RedactingFilter,
    Redactor,
    iban_ok,
    install_log_redaction,
    luhn_ok,
)

R = DEFAULT_REDACTOR


def test_luhn_and_mod97_checks() -> None:
    assert luhn_ok("4111111111111111") and luhn_ok("378282246310005")
    assert not luhn_ok("4111111111111112") and not luhn_ok("1234567812345678")
    assert not luhn_ok("")
    assert iban_ok("GB82WEST12345698765432") and iban_ok("de89370400440532013000")
    assert not iban_ok("GB82WEST12345698765433")  # check digits wrong
    assert not iban_ok("GB82WEST1234569876543")  # one character short for GB
    assert not iban_ok("ZZ82WEST12345698765432")  # no such country


# -- cards -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("card", "last4"),
    [
        ("4111111111111111", "1111"),
        ("4111 1111 1111 1111", "1111"),
        ("4111-1111-1111-1111", "1111"),
        ("4111.1111.1111.1111", "1111"),
        ("4111-1111 1111.1111", "1111"),  # mixed separators
        ("3782 822463 10005", "0005"),  # Amex 4-6-5
        ("6011 1111 1111 1117", "1117"),
        ("4222222222222", "2222"),  # 13 digits
        ("4111111111111111110", "1110"),  # 19 digits
        ("4111\u00a01111\u00a01111\u00a01111", "1111"),  # no-break spaces
    ],
)
def test_cards_in_every_separator_style_are_masked(card: str, last4: str) -> None:
    assert R.redact_text(f"Paid with {card}, thanks") == f"Paid with [card ****{last4}], thanks"


@pytest.mark.parametrize(
    "text",
    [
        "order 1234567812345678",  # 16 digits, fails Luhn: an order number
        "card 4111 1111 1111 1112",  # one digit wrong
        "ref 411111111111",  # 12 digits
        "id 41111111111111111111111",  # 23 digits, not a card
        "pi is 3.14159265358979",  # a decimal number with 15 digits
        "at 1700000000.123456",
        "tracking 1Z999AA10123456784",
    ],
)
def test_numbers_that_are_not_cards_are_kept(text: str) -> None:
    assert R.redact_text(text) == text


def test_a_card_followed_or_preceded_by_other_numbers_is_still_found() -> None:
    assert R.redact_text("4111 1111 1111 1111 12/26 cvv 123") == "[card ****1111] 12/26 cvv 123"
    assert R.redact_text("4111 1111 1111 1111 2026") == "[card ****1111] 2026"
    two = R.redact_text("4111 1111 1111 1111 5500 0055 5555 5559")
    assert two == "[card ****1111] [card ****5559]"


# -- IBANs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("iban", "mask"),
    [
        ("GB82 WEST 1234 5698 7654 32", "[iban GB** ****5432]"),
        ("GB82WEST12345698765432", "[iban GB** ****5432]"),
        ("gb82 west 1234 5698 7654 32", "[iban GB** ****5432]"),
        ("DE89 3704 0044 0532 0130 00", "[iban DE** ****3000]"),
        ("DE89-3704-0044-0532-0130-00", "[iban DE** ****3000]"),
        ("FR14 2004 1010 0505 0001 3M02 606", "[iban FR** ****2606]"),
        ("NL91ABNA0417164300", "[iban NL** ****4300]"),
    ],
)
def test_ibans_with_or_without_spaces_are_masked_whole(iban: str, mask: str) -> None:
    out = R.redact_text(f"Refund to {iban} today")
    assert out == f"Refund to {mask} today"
    assert "card" not in out


def test_an_iban_failing_mod97_is_not_an_iban() -> None:
    for wrong in ("GB82 WEST 1234 5698 7654 33", "GB83WEST12345698765432"):
        assert R.redact_text(f"Refund to {wrong}") == f"Refund to {wrong}"


# -- phones ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phone", "last2"),
    [
        ("+44 20 7946 0958", "58"),
        ("+44 (0)20 7946 0958", "58"),
        ("+447700900123", "23"),
        ("+1-555-123-4567", "67"),
        ("+1 (555) 123-4567", "67"),
        ("+33 1 23 45 67 89", "89"),
        ("0044 20 7946 0958", "58"),
        ("(555) 123-4567", "67"),
        ("555-123-4567", "67"),
        ("555.123.4567", "67"),
        ("555 123 4567", "67"),
        ("1-555-123-4567", "67"),
        ("07700 900123", "23"),
        ("020 7946 0958", "58"),
        ("(020) 7946 0958", "58"),
        ("0161-496-0000", "00"),
        ("01 23 45 67 89", "89"),
    ],
)
def test_phone_numbers_are_masked_keeping_the_last_two_digits(phone: str, last2: str) -> None:
    assert R.redact_text(f"Call {phone} now.") == f"Call [phone ****{last2}] now."


def test_numbers_side_by_side_are_all_masked() -> None:
    three = "020 7946 0958 0161 496 0000 07700 900123"
    assert R.redact_text(three) == "[phone ****58] [phone ****00] [phone ****23]"
    assert R.redact_text("+44 20 7946 0958, 555-123-4567") == "[phone ****58], [phone ****67]"
    assert R.redact_text("+44 20 7946 0958 +1-555-123-4567") == "[phone ****58] [phone ****67]"
    assert R.redact_text("5500 0055 5555 5559 0161 496 0000") == "[card ****5559] [phone ****00]"
    assert R.redact_text("4111 1111 1111 1111 +44 20 7946 0958") == (
        "[card ****1111] [phone ****58]"
    )
    # the "0055 5555 5559" inside a card is not a 0055 international number
    assert R.redact_text("5500 0055 5555 5559") == "[card ****5559]"


@pytest.mark.parametrize(
    "text",
    [
        "1" * 100_000,
        "1 " * 20_000,
        "01 " * 20_000,
        "+1 " + "23 " * 20_000,
        "020 7946 0958 " * 5_000,
        "4111 1111 1111 1111 " * 5_000,
        "GB82 " + "AB12 " * 20_000,
        "a" * 50_000 + "@",
        "0-" * 20_000,
    ],
)
def test_long_runs_of_digit_groups_take_linear_time(text: str) -> None:
    started = time.perf_counter()
    once = R.redact_text(text)  # no RecursionError, no quadratic blow-up
    assert R.redact_text(once) == once
    assert time.perf_counter() - started < 5.0


@pytest.mark.parametrize(
    "text",
    [
        "on 2024-01-15",
        "on 15/01/2024",
        "on 01.02.2024",
        "on 01-02-2024 10:30",
        "2024-01-15T10:30:00Z",
        "at 10:30",
        "at 10:30:45",
        "costs $1,234.56",
        "costs 1.234,56 EUR",
        "costs $1,234,567.89",
        "order W1234567",
        "order #W1234567",
        "order #1234567",
        "postcode SW1A 1AA",
        "zip 90210",
        "zip 02134-1234",
        "in 2024",
        "from 1999-2024",
        "up +12.5%",
        "+100 points",
        "version 1.2.3",
        "host 192.168.100.200",
        "12345678",
        "07700900123",  # national number without separators: too ambiguous
        "0012345678",
    ],
)
def test_dates_amounts_ids_times_postcodes_and_years_are_not_phones(text: str) -> None:
    assert R.redact_text(text) == text


# -- emails and national ids -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("email", "mask"),
    [
        ("jane.doe@example.com", "j***@example.com"),
        ("JANE+tag@mail.example.co.uk", "J***@mail.example.co.uk"),
        ("_x@example.org", "_***@example.org"),
        ("d@example.com", "d***@example.com"),
    ],
)
def test_emails_keep_the_first_character_and_the_domain(email: str, mask: str) -> None:
    assert R.redact_text(f"mail {email}.") == f"mail {mask}."


@pytest.mark.parametrize("ssn", ["123-45-6789", "123 45 6789", "123-45 6789"])
def test_ssn_shaped_ids_are_masked(ssn: str) -> None:
    assert R.redact_text(f"SSN {ssn}.") == "SSN [ssn ***-**-6789]."


def test_longer_digit_runs_are_not_ssns() -> None:
    for text in ("1234-45-6789", "123-45-67890", "123-456-789"):
        assert "ssn" not in R.redact_text(text)


# -- the policy ------------------------------------------------------------------------------

MIXED = (
    "Card 4111.1111.1111.1111 / 5500 0055 5555 5559, IBAN GB82 WEST 1234 5698 7654 32, "
    "call +44 20 7946 0958 or (555) 123-4567 or 07700 900123, SSN 123-45-6789, "
    "mail jane.doe@example.com, order W1234567 on 2024-01-15 for $1,234.56."
)


def test_everything_in_one_text() -> None:
    assert R.redact_text(MIXED) == (
        "Card [card ****1111] / [card ****5559], IBAN [iban GB** ****5432], "
        "call [phone ****58] or [phone ****67] or [phone ****23], SSN [ssn ***-**-6789], "
        "mail j***@example.com, order W1234567 on 2024-01-15 for $1,234.56."
    )


def test_redaction_is_idempotent() -> None:
    policies = [R, Redactor(card_keep_last=0, phone_keep_last=4, iban_keep_last=2)]
    for policy in policies:
        once = policy.redact_text(MIXED)
        assert once != MIXED
        assert policy.redact_text(once) == once
        assert policy.redact_value(policy.redact_value({"x": [MIXED]})) == {"x": [once]}


def test_keep_last_settings() -> None:
    policy = Redactor(
        card_keep_last=0, phone_keep_last=4, iban_keep_last=2, national_id_keep_last=2
    )
    assert policy.redact_text("4111 1111 1111 1111") == "[card ****]"
    assert policy.redact_text("+44 20 7946 0958") == "[phone ****0958]"
    assert policy.redact_text("GB82WEST12345698765432") == "[iban GB** ****32]"
    assert policy.redact_text("123-45-6789") == "[ssn ***-**-**89]"
    with pytest.raises(rk.UserError, match="between 0 and 4"):
        Redactor(card_keep_last=6)


def test_each_kind_can_be_switched_off() -> None:
    policy = Redactor(cards=False, ibans=False, phones=False, emails=False, national_ids=False)
    assert policy.redact_text(MIXED) == MIXED
    assert policy.redact_value(4111111111111111) == 4111111111111111
    assert Redactor(phones=False).redact_text("call 555-123-4567") == "call 555-123-4567"


def test_extra_patterns_are_masked_by_name_and_first() -> None:
    policy = Redactor(
        extra_patterns=(
            ("member", r"\bMBR-\d{8}\b"),
            ("postcode", r"\b[A-Z]{2}\d[A-Z]? \d[A-Z]{2}\b"),
        )
    )
    text = "member MBR-12345678 at SW1A 1AA, card 4111111111111111"
    out = policy.redact_text(text)
    assert out == "member [member] at [postcode], card [card ****1111]"
    assert policy.redact_text(out) == out
    assert R.redact_text(text) == "member MBR-12345678 at SW1A 1AA, card [card ****1111]"
    listed = Redactor(extra_patterns=[("x", "secret")])  # type: ignore[arg-type]
    assert listed.extra_patterns == (("x", "secret"),) and hash(listed)
    with pytest.raises(rk.UserError, match="not a valid regex"):
        Redactor(extra_patterns=(("bad", "("),))
    with pytest.raises(rk.UserError, match=r"\(name, regex\) pairs"):
        Redactor(extra_patterns=("secret",))  # type: ignore[arg-type]


class _Model(BaseModel):
    note: str
    card: int


@dataclasses.dataclass
class _Data:
    email: str
    count: int


def test_redact_value_walks_nested_data_and_keeps_keys() -> None:
    value = {
        "jane.doe@example.com": "key kept",
        "list": ["call 555-123-4567", 4111111111111111, 4111111111111112, 12, 1.5, True, None],
        "tuple": ("SSN 123-45-6789",),
        "nested": {"deeper": [{"iban": "GB82WEST12345698765432"}]},
        "model": _Model(note="mail jane.doe@example.com", card=4111111111111111),
        "dataclass": _Data(email="jane.doe@example.com", count=3),
        "float card": 4111111111111111.0,
        "bytes": b"4111111111111111",
    }
    assert R.redact_value(value) == {
        "jane.doe@example.com": "key kept",
        "list": ["call [phone ****67]", "[card ****1111]", 4111111111111112, 12, 1.5, True, None],
        "tuple": ["SSN [ssn ***-**-6789]"],
        "nested": {"deeper": [{"iban": "[iban GB** ****5432]"}]},
        "model": {"note": "mail j***@example.com", "card": "[card ****1111]"},
        "dataclass": {"email": "j***@example.com", "count": 3},
        "float card": "[card ****1111]",
        "bytes": b"4111111111111111",
    }


def test_the_old_redact_function_delegates_to_the_default_policy() -> None:
    assert redact(MIXED) == R.redact_text(MIXED)
    assert redact("4111.1111.1111.1111") == "[card ****1111]"
    assert rk.DEFAULT_REDACTOR is R and rk.Redactor is Redactor


# -- logs ------------------------------------------------------------------------------------


@pytest.fixture
def restore_log_policy() -> Iterator[None]:
    yield
    install_log_redaction()


def test_resolvekit_loggers_redact_messages_arguments_and_tracebacks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import resolvekit.agent  # noqa: F401  (installs the filter, as any engine import does)

    caplog.set_level(logging.INFO)
    log = logging.getLogger("resolvekit")
    log.warning("customer %s paid with %s", "jane.doe@example.com", "4111 1111 1111 1111")
    logging.getLogger("resolvekit.retry").warning("retrying %r", "call +44 20 7946 0958")
    try:
        raise ValueError("IBAN GB82 WEST 1234 5698 7654 32 rejected")
    except ValueError:
        log.exception("tool failed for %s", "123-45-6789")
    text = caplog.text
    assert "j***@example.com" in text and "[card ****1111]" in text
    assert "[phone ****58]" in text and "[ssn ***-**-6789]" in text
    assert "ValueError: IBAN [iban GB** ****5432] rejected" in text
    for raw in ("jane.doe", "4111 1111", "7946 0958", "123-45-6789", "WEST 1234"):
        assert raw not in text
    record = caplog.records[-1]
    assert record.exc_info is None and record.args is None
    assert "[iban GB** ****5432]" in (record.exc_text or "")


def test_log_redaction_can_be_replaced_or_removed(
    caplog: pytest.LogCaptureFixture, restore_log_policy: None
) -> None:
    caplog.set_level(logging.INFO)
    log = logging.getLogger("resolvekit")
    install_log_redaction(Redactor(extra_patterns=(("name", "Jane"),)))
    log.warning("Jane at %s", "jane.doe@example.com")
    install_log_redaction(None)
    log.warning("raw %s", "jane.doe@example.com")
    assert "[name] at j***@example.com" in caplog.text
    assert "raw jane.doe@example.com" in caplog.text
    for name in LOGGERS:
        assert not any(isinstance(f, RedactingFilter) for f in logging.getLogger(name).filters)
    install_log_redaction()
    for name in LOGGERS:
        filters = logging.getLogger(name).filters
        assert sum(isinstance(f, RedactingFilter) for f in filters) == 1


class _ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_the_filter_can_guard_any_handler() -> None:
    handler = _ListHandler()
    handler.addFilter(RedactingFilter())
    other = logging.getLogger("myapp.privacy-test")
    other.addHandler(handler)
    other.propagate = False
    try:
        other.error("card %s", "4111-1111-1111-1111")
        other.error("bad format %s %s", "only one")  # malformed: left for logging to report
    finally:
        other.removeHandler(handler)
    assert handler.records[0].getMessage() == "card [card ****1111]"
    assert handler.records[1].args == ("only one",)
