"""Redaction: one policy for everything that leaves the engine.

A :class:`Redactor` masks payment cards (Luhn-checked), IBANs (mod-97-checked), phone numbers,
email addresses, SSN-shaped national ids and your own patterns. The engine applies
:data:`DEFAULT_REDACTOR` to handoff packets (:func:`resolvekit.escalation.build_handoff`), the
JSONL handoff queue, exported turn results (:meth:`resolvekit.TurnResult.export`), the
``resolvekit`` loggers (:class:`RedactingFilter`) and every eval output; pass ``redactor=None``
where offered to get raw data. What is stored (the conversation in the store, and
``TurnResult.trace`` in memory) is not redacted::

    from resolvekit.redaction import Redactor

    policy = Redactor(extra_patterns=(("member", r"\\bMBR-\\d{8}\\b"),))
    policy.redact_text("card 4111.1111.1111.1111, jane@example.com, MBR-12345678")
    # 'card [card ****1111], j***@example.com, [member]'

Masks are idempotent: redacting redacted text changes nothing.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

__all__ = [
    "DEFAULT_REDACTOR",
    "RedactingFilter",
    "Redactor",
    "iban_ok",
    "install_log_redaction",
    "luhn_ok",
]

# -- checksums -------------------------------------------------------------------------------


def luhn_ok(digits: str) -> bool:
    """True when ``digits`` (only digits) pass the Luhn check that payment cards carry."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return bool(digits) and total % 10 == 0


IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22,
    "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32,
    "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
    "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24,
    "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31,
    "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28, "TL": 23,
    "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip
"""IBAN length by country (ISO 13616 registry); only these country codes are recognised."""


def iban_ok(iban: str) -> bool:
    """True when ``iban`` (no separators) has its country's length and a valid mod-97 check."""
    iban = iban.upper()
    if IBAN_LENGTHS.get(iban[:2]) != len(iban) or not iban[2:4].isdigit() or not iban.isalnum():
        return False
    rotated = iban[4:] + iban[:4]
    return int("".join(str(int(char, 36)) for char in rotated)) % 97 == 1


# -- candidate patterns ----------------------------------------------------------------------
# Each pattern finds a candidate span; a check on its digits decides whether it is masked.
# Separators between digit groups are mandatory inside repetitions, so no pattern can
# backtrack exponentially, and repetitions are bounded, so a candidate is short whatever the
# input (a long run of digit groups costs linear time, not quadratic).

_SEP = r"[ .\-\u00a0]"
_EMAIL = re.compile(
    r"(?<![\w.%+\-])([A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]*"
    r"@([A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,})\b"
)
_IBAN = re.compile(r"(?<!\w)[A-Za-z]{2}\d{2}(?:[ \-]?[A-Za-z0-9]){11,32}(?!\w)")
_INTL_PHONE = re.compile(
    r"(?<![\w+])(?:\+|00)[1-9]\d{0,15}"
    r"(?:(?:[ .\-]|[ .\-]?\(\d{1,4}\)[ .\-]?)\d{1,15}){0,7}(?!\w)"
)
_SSN = re.compile(r"(?<!\w)(?<!\d[.\-])\d{3}[ \-]\d{2}[ \-]\d{4}(?!\w)(?![.\-]\d)")
_NANP_PHONE = re.compile(
    r"(?<![\w+(])(?<!\d[.\-])(?:1[ .\-])?(?:\(\d{3}\)[ .\-]?|\d{3}[ .\-])\d{3}[ .\-]\d{4}"
    r"(?!\w)(?![.\-]\d)"
)
_TRUNK_PHONE = re.compile(
    r"(?<![\w+(])(?:\(0\d{1,5}\)|0\d{1,5})(?:[ \-]\d{2,8}){1,5}(?!\w)(?![.\-]\d)"
)
_CARD = re.compile(r"(?<!\w)(?<!\d[.,])\d(?:" + _SEP + r"?\d){12,29}(?!\w)(?![.,]\d)")
_GROUP = re.compile(r"\d+")
_ALNUM_GROUP = re.compile(r"[A-Za-z0-9]+")
_DIGIT = re.compile(r"\d")


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def _stars(kept: str, total: int = 4) -> str:
    """``kept`` padded with stars to ``total`` characters (``**89``)."""
    return "*" * max(total - len(kept), 0) + kept


def _tail(digits: str, keep: int) -> str:
    return digits[-keep:] if keep > 0 else ""


@dataclasses.dataclass(kw_only=True, frozen=True)
class _Span:
    """Where, inside a candidate, the masked part starts and ends."""

    start: int
    end: int


def _windows(candidate: str, group: re.Pattern[str]) -> list[_Span]:
    """Sub-spans starting where the candidate starts or ending at its last group, longest first.

    Groups are maximal runs matched by ``group``; a sub-span never cuts one in two.
    """
    groups = [(m.start(), m.end()) for m in group.finditer(candidate)]
    if not groups:
        return []
    last = groups[-1][1]
    spans = [_Span(start=0, end=end) for _, end in groups]
    spans += [_Span(start=start, end=last) for start, _ in groups[1:]]
    return sorted(spans, key=lambda s: s.end - s.start, reverse=True)


def _inside_number(text: str, start: int) -> bool:
    """True when ``start`` follows a digit and one separator: the middle of a longer number."""
    return start >= 2 and text[start - 1] in " .-\u00a0" and text[start - 2].isdigit()


def _mask_candidates(
    pattern: re.Pattern[str],
    text: str,
    check: Callable[[str], bool],
    mask: Callable[[str], str],
    group: re.Pattern[str] = _GROUP,
    *,
    whole_numbers: bool = False,
) -> str:
    """Mask, in each candidate of ``pattern``, the longest window for which ``check`` holds.

    The search goes on right after the masked window, so a second number inside the same
    candidate (a card then another) is found too. With ``whole_numbers``, a candidate may not
    start in the middle of a longer number (``0055 5555 5559`` inside a card), unless the
    previous candidate ended just before it.
    """
    out: list[str] = []
    pos, resume = 0, -1
    while (match := pattern.search(text, pos)) is not None:
        start = match.start()
        if whole_numbers and start != resume and _inside_number(text, start):
            out.append(text[pos : start + 1])
            pos = start + 1
            continue
        candidate = match.group()
        spans = _windows(candidate, group)
        span = next((s for s in spans if check(candidate[s.start : s.end])), None)
        if span is None:
            out.append(text[pos : match.end()])
            pos = match.end()
        else:
            out.append(text[pos : start + span.start])
            out.append(mask(candidate[span.start : span.end]))
            pos = start + span.end
        resume = pos + 1
    out.append(text[pos:])
    return "".join(out)


def _separators(text: str) -> set[str]:
    """The characters between digit groups (parentheses ignored)."""
    return {c for c in text.replace("(", "").replace(")", "") if not c.isalnum()}


def _intl_phone_ok(text: str) -> bool:
    if not text.startswith(("+", "00")):
        return False
    digits = _digits(text)
    if not 8 <= len(digits) <= 16:
        return False
    return not (text.startswith("00") and not _separators(text))


def _trunk_phone_ok(text: str) -> bool:
    return (
        text.startswith(("0", "(0"))
        and 10 <= len(_digits(text)) <= 11
        and (len(_separators(text)) == 1)
    )


def _card_ok(text: str) -> bool:
    digits = _digits(text)
    if _separators(text) == {"."} and text.count(".") == 1:
        return False  # a decimal number (3.14159265358979, a timestamp), not a card
    return 13 <= len(digits) <= 19 and luhn_ok(digits)


def _iban_ok(text: str) -> bool:
    return iban_ok(re.sub(r"[ \-]", "", text))


# -- the policy ------------------------------------------------------------------------------

ExtraPattern = tuple[str, str | re.Pattern[str]]


@dataclasses.dataclass(kw_only=True, frozen=True)
class Redactor:
    """A redaction policy: what is masked in text and data that leave the engine.

    Masks, in the order applied (your ``extra_patterns`` first):

    - emails: ``jane.doe@example.com`` -> ``j***@example.com`` (first character and domain kept);
    - IBANs: a known country code, 2 check digits and the country's length of letters and
      digits, with or without spaces or dashes, passing the mod-97 check ->
      ``[iban GB** ****5432]``;
    - international phone numbers: ``+`` or ``00``, 8 to 16 digits in groups (``+44 20 7946
      0958``, ``+1-555-123-4567``, ``+44 (0)20 7946 0958``; after ``00`` at least one
      separator) -> ``[phone ****58]``;
    - SSN-shaped ids: 3-2-4 digits separated by dashes or spaces -> ``[ssn ***-**-6789]``;
    - North American numbers: ``(555) 123-4567``, ``555-123-4567``, ``555.123.4567``, ``1 555
      123 4567`` -> ``[phone ****67]``;
    - national numbers with a trunk 0: 10-11 digits in groups with one kind of separator
      (``07700 900123``, ``020 7946 0958``, ``(020) 7946 0958``) -> ``[phone ****23]``;
    - payment cards: 13-19 digits, no separators or any mix of spaces, dashes and dots,
      passing the Luhn check -> ``[card ****1111]``.

    Not masked: digits without separators other than cards and ``+`` numbers (``07700900123``,
    ``123456789``), dates, times, amounts, postcodes, years and order ids such as ``W1234567``;
    names and street addresses (add ``extra_patterns`` for what your business knows).
    """

    emails: bool = True
    """Mask email addresses, keeping the first character and the domain."""
    ibans: bool = True
    """Mask IBANs that pass the mod-97 check."""
    iban_keep_last: int = 4
    """Characters of an IBAN shown after its country code (0-4)."""
    phones: bool = True
    """Mask phone numbers (international, North American and trunk-0 national formats)."""
    phone_keep_last: int = 2
    """Digits of a phone number shown (0-4)."""
    national_ids: bool = True
    """Mask SSN-shaped national ids (``123-45-6789``, ``123 45 6789``)."""
    national_id_keep_last: int = 4
    """Digits of a national id shown (0-4)."""
    cards: bool = True
    """Mask Luhn-valid payment card numbers in text, and integers (or integral floats) of 13-19
    digits that pass the Luhn check in :meth:`redact_value`."""
    card_keep_last: int = 4
    """Digits of a card number shown (0-4)."""
    extra_patterns: tuple[ExtraPattern, ...] = ()
    """Your own ``(name, regex)`` pairs; every match is replaced by ``[name]``. Applied first.
    A pattern must not match its own mask."""
    _extra: tuple[tuple[str, re.Pattern[str]], ...] = dataclasses.field(
        init=False, repr=False, compare=False, default=()
    )

    def __post_init__(self) -> None:
        from .exceptions import UserError

        for name in ("iban_keep_last", "phone_keep_last", "national_id_keep_last"):
            if not 0 <= getattr(self, name) <= 4:
                raise UserError(f"Redactor.{name} must be between 0 and 4")
        if not 0 <= self.card_keep_last <= 4:
            raise UserError("Redactor.card_keep_last must be between 0 and 4")
        compiled = []
        for entry in self.extra_patterns:
            if not (isinstance(entry, tuple | list) and len(entry) == 2 and entry[0]):
                raise UserError(f"Redactor.extra_patterns takes (name, regex) pairs, got {entry!r}")
            name, regex = entry
            try:
                compiled.append((str(name), re.compile(regex)))
            except re.error as exc:
                raise UserError(f"Redactor pattern {name!r} is not a valid regex: {exc}") from exc
        object.__setattr__(self, "extra_patterns", tuple(tuple(e) for e in self.extra_patterns))
        object.__setattr__(self, "_extra", tuple(compiled))

    # -- masks ---------------------------------------------------------------------------------

    def _card_mask(self, text: str) -> str:
        return f"[card ****{_tail(_digits(text), self.card_keep_last)}]"

    def _iban_mask(self, text: str) -> str:
        compact = re.sub(r"[ \-]", "", text).upper()
        kept = compact[4:][-self.iban_keep_last :] if self.iban_keep_last else ""
        return f"[iban {compact[:2]}** ****{kept}]"

    def _phone_mask(self, text: str) -> str:
        return f"[phone ****{_tail(_digits(text), self.phone_keep_last)}]"

    def _ssn_mask(self, text: str) -> str:
        kept = _stars(_tail(_digits(text), self.national_id_keep_last))
        return f"[ssn ***-**-{kept}]"

    def _intl_phones(self, text: str) -> str:
        return _mask_candidates(
            _INTL_PHONE, text, _intl_phone_ok, self._phone_mask, whole_numbers=True
        )

    def _trunk_phones(self, text: str) -> str:
        return _mask_candidates(
            _TRUNK_PHONE, text, _trunk_phone_ok, self._phone_mask, whole_numbers=True
        )

    # -- text and data -------------------------------------------------------------------------

    def redact_text(self, text: str) -> str:
        """``text`` with everything the policy covers masked."""
        for name, pattern in self._extra:
            text = pattern.sub(f"[{name}]", text)
        if self.emails and "@" in text:
            text = _EMAIL.sub(r"\1***@\2", text)
        if not _DIGIT.search(text):
            return text
        if self.ibans:
            text = _mask_candidates(_IBAN, text, _iban_ok, self._iban_mask, _ALNUM_GROUP)
        if self.phones:
            text = self._intl_phones(text)
        if self.national_ids:
            text = _SSN.sub(lambda m: self._ssn_mask(m.group()), text)
        if self.phones:
            text = _NANP_PHONE.sub(lambda m: self._phone_mask(m.group()), text)
            text = self._trunk_phones(text)
        if self.cards:
            masked = _mask_candidates(_CARD, text, _card_ok, self._card_mask)
            if self.phones and masked != text:  # a number right after a card is free now
                masked = self._trunk_phones(self._intl_phones(masked))
            text = masked
        return text

    def redact_value(self, value: Any) -> Any:
        """A redacted copy of ``value``: strings are redacted, containers walked, keys kept.

        Dicts (any mapping) come back as dicts, lists, tuples and sets as lists, pydantic
        models as their JSON form (``model_dump(mode="json")``) and dataclass instances as
        dicts of their fields, all walked. An ``int`` (or integral ``float``) of 13-19 digits
        that passes the Luhn check becomes a card mask when ``cards`` is on. Booleans, None,
        other numbers and other objects are returned as they are.
        """
        if isinstance(value, str):
            return self.redact_text(value)
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, int | float):
            return self._redact_number(value)
        if isinstance(value, Mapping):
            return {key: self.redact_value(item) for key, item in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self.redact_value(item) for item in value]
        if hasattr(value, "model_dump") and not isinstance(value, type):
            return self.redact_value(value.model_dump(mode="json"))
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            fields = dataclasses.fields(value)
            return {f.name: self.redact_value(getattr(value, f.name)) for f in fields}
        return value

    def _redact_number(self, value: int | float) -> Any:
        if not self.cards:
            return value
        if isinstance(value, float):
            if not value.is_integer():
                return value
            number = int(value)
        else:
            number = value
        digits = str(abs(number))
        if 13 <= len(digits) <= 19 and luhn_ok(digits):
            return self._card_mask(digits)
        return value


DEFAULT_REDACTOR = Redactor()
"""The policy applied by default everywhere the engine lets data out."""


# -- logs ------------------------------------------------------------------------------------


class RedactingFilter(logging.Filter):
    """A logging filter that redacts each record's message and exception text.

    The message is formatted (``record.msg % record.args``), redacted and stored back with no
    arguments; a traceback is formatted, redacted and kept as ``record.exc_text`` while
    ``record.exc_info`` is cleared, so no handler can format the raw exception again. Attach it
    to a logger or a handler; :func:`install_log_redaction` attaches it to resolvekit's loggers.
    """

    def __init__(self, redactor: Redactor = DEFAULT_REDACTOR) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: let logging report it as it would
            return True
        record.msg, record.args = self.redactor.redact_text(message), None
        if record.exc_info:
            text = record.exc_text or logging.Formatter().formatException(record.exc_info)
            record.exc_text, record.exc_info = self.redactor.redact_text(text), None
        elif record.exc_text:
            record.exc_text = self.redactor.redact_text(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redactor.redact_text(record.stack_info)
        return True


LOGGERS = ("resolvekit", "resolvekit.retry", "resolvekit.understanding.cache")
"""The loggers resolvekit writes to. A filter on a logger does not see its children's
records, so each gets its own."""


def install_log_redaction(redactor: Redactor | None = DEFAULT_REDACTOR) -> None:
    """Redact every record of resolvekit's loggers with ``redactor`` (None: log raw data).

    Done at import with :data:`DEFAULT_REDACTOR`; call again to change the policy. To cover
    your own loggers too, add a :class:`RedactingFilter` to your handlers.
    """
    known = {n for n in logging.Logger.manager.loggerDict if n.startswith("resolvekit.")}
    for name in sorted(known | set(LOGGERS)):
        logger = logging.getLogger(name)
        for old in [f for f in logger.filters if isinstance(f, RedactingFilter)]:
            logger.removeFilter(old)
        if redactor is not None:
            logger.addFilter(RedactingFilter(redactor))


install_log_redaction()
