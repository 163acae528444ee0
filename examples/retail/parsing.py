"""Reading the customer's answers: identity, order numbers, addresses, payment methods, reasons.

Built on the library's extractors (emails, person names, postal codes, choices with synonyms,
"the second one" with ``context=``) plus a few retail-specific rules.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from resolvekit.models import SlotSpec
from resolvekit.understanding.extract import extract_slots, extract_value

from .db import Address, CreditCard, GiftCard, PaymentMethod, Paypal
from .matching import normalise, pick_listed

__all__ = [
    "REASON_SYNONYMS",
    "Identity",
    "describe_method",
    "find_order_ids",
    "parse_address",
    "parse_identity",
    "parse_payment",
    "parse_reason",
]

_ORDER_ID = re.compile(r"#?\s?\b[Ww]\s?(\d{7})\b")
_IDENTITY_SLOTS = [
    SlotSpec(name="email", kind="email"),
    SlotSpec(name="first_name", kind="text"),
    SlotSpec(name="last_name", kind="text"),
    SlotSpec(name="zip", kind="id"),
]
_NOT_NAMES = frozenset(
    [
        "i",
        "im",
        "am",
        "is",
        "my",
        "name",
        "names",
        "the",
        "and",
        "zip",
        "code",
        "zipcode",
        "postal",
        "in",
        "at",
        "live",
        "living",
        "it",
        "its",
        "this",
        "hi",
        "hello",
        "hey",
        "sure",
        "yes",
        "ok",
        "okay",
        "please",
        "thanks",
        "thank",
        "you",
        "me",
        "here",
        "of",
        "from",
        "with",
        "first",
        "last",
        "email",
        "address",
        "dont",
        "do",
        "not",
        "remember",
        "know",
        "area",
    ]
)


@dataclass(kw_only=True, frozen=True)
class Identity:
    """What a customer gave to identify themselves."""

    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    zip: str | None = None

    @property
    def has_name_zip(self) -> bool:
        return bool(self.first_name and self.last_name and self.zip)


def parse_identity(text: str) -> Identity:
    """An email, or a first name, last name and zip code, from one answer.

    Person names come from the library's name extractor; when it finds none (lower-case
    "yusuf rossi 19122") the first two words that are not filler are taken.
    """
    found = extract_slots(text, _IDENTITY_SLOTS)
    email = str(found["email"].value) if "email" in found else None
    zip_code = str(found["zip"].value) if "zip" in found else None
    if zip_code is None:
        digits = re.search(r"\b(\d{5})\b", text)
        zip_code = digits.group(1) if digits else None
    first = str(found["first_name"].value) if "first_name" in found else None
    last = str(found["last_name"].value) if "last_name" in found else None
    if not (first and last):
        cleaned = text if email is None else text.replace(email, " ")
        words = [
            w for w in re.findall(r"[A-Za-z][A-Za-z'-]*", cleaned) if normalise(w) not in _NOT_NAMES
        ]
        if len(words) >= 2:
            first, last = words[0], words[1]
    return Identity(
        email=email,
        first_name=first.strip().capitalize() if first else None,
        last_name=last.strip().capitalize() if last else None,
        zip=zip_code,
    )


def find_order_ids(text: str) -> list[str]:
    """Order numbers in a message, normalised to ``#W1234567``."""
    return [f"#W{digits}" for digits in _ORDER_ID.findall(text)]


REASON_SYNONYMS: dict[str, list[str]] = {
    "no longer needed": [
        "no longer need",
        "don't need",
        "do not need",
        "not needed",
        "don't want",
        "do not want",
        "changed my mind",
        "no need",
        "not necessary",
    ],
    "ordered by mistake": [
        "by mistake",
        "by accident",
        "accidentally",
        "mistake",
        "wrong order",
    ],
}
"""How customers say the two cancellation reasons τ² accepts (the intent's slot uses them too)."""

_REASON = SlotSpec(
    name="reason",
    kind="choice",
    choices=list(REASON_SYNONYMS),
    synonyms=REASON_SYNONYMS,
)


def parse_reason(text: str) -> str | None:
    """One of the two accepted cancellation reasons, or None."""
    found = extract_value(text, _REASON, context=_REASON.choices)
    return str(found.value) if found is not None and found.score >= 0.7 else None


_STATE = re.compile(r"^[A-Za-z]{2}$")
_ZIP = re.compile(r"\b(\d{5})(?:-\d{4})?\b")
_UNIT = re.compile(r"^(apt|apartment|suite|ste|unit|floor|fl|room|rm|#)\b", re.IGNORECASE)
_COUNTRIES = {"usa": "USA", "us": "USA", "united states": "USA", "america": "USA"}


def parse_address(text: str) -> Address | None:
    """A full address from one line: ``street, [apt/suite], city, state, [country], zip``.

    Commas separate the parts; "IL 62701" in one part is split into state and zip. The country
    is USA when not given (every address in this store is in the USA); None when a part is missing.
    """
    parts = [p.strip(" .") for p in re.split(r"[,\n;]", text) if p.strip(" .")]
    zip_code: str | None = None
    state: str | None = None
    country = "USA"
    rest: list[str] = []
    for part in parts:
        match = _ZIP.search(part)
        if match and zip_code is None and not re.match(r"^\d+\s+\D", part):
            zip_code = match.group(1)
            before = part[: match.start()].strip()
            city_state = re.match(r"^(.*\S)\s+([A-Za-z]{2})$", before)
            if _STATE.match(before):
                state = before.upper()
            elif city_state:
                rest.append(city_state.group(1))
                state = city_state.group(2).upper()
            elif before:
                rest.append(before)
            continue
        if part.lower() in _COUNTRIES:
            country = _COUNTRIES[part.lower()]
            continue
        if _STATE.match(part) and state is None and rest:
            state = part.upper()
            continue
        rest.append(part)
    if zip_code is None or state is None or len(rest) < 2:
        return None
    street, *middle, city = rest
    address2 = middle[0] if middle and _UNIT.match(middle[0]) else ""
    if middle and not address2:
        address2 = middle[0]
    return Address(
        address1=_strip_lead(street),
        address2=address2,
        city=city,
        state=state,
        country=country,
        zip=zip_code,
    )


def _strip_lead(street: str) -> str:
    """Drop a lead-in ("it's 12 Oak St", "the new address is 12 Oak St") before the number."""
    match = re.search(r"\d", street)
    return street[match.start() :] if match and match.start() > 0 else street


def describe_method(method: PaymentMethod) -> str:
    """How the agent names a payment method to the customer."""
    if isinstance(method, CreditCard):
        return f"{method.brand} credit card ending in {method.last_four}"
    if isinstance(method, GiftCard):
        return f"gift card ({method.id}, balance ${method.balance:.2f})"
    return f"PayPal ({method.id})"


def parse_payment(
    text: str, methods: Sequence[PaymentMethod], *, original: str | None = None
) -> PaymentMethod | None:
    """The payment method an answer names, among ``methods`` (in the order they were listed).

    Understands last four digits, card brands, "credit card", "gift card", "paypal", "the
    original one", and picks by position ("the second one"). None when unclear or ambiguous.
    """
    words = normalise(text)
    by_id = {m.id: m for m in methods}
    for method in methods:
        if method.id.lower() in text.lower():
            return method
    digits = re.findall(r"\b(\d{4})\b", text)
    cards = [m for m in methods if isinstance(m, CreditCard)]
    for four in digits:
        hit = [m for m in cards if m.last_four == four]
        if len(hit) == 1:
            return hit[0]
    if original and re.search(r"\b(original|same|usual|paid with|it was paid)\b", words):
        return by_id.get(original)
    candidates: Sequence[PaymentMethod] = []
    if "gift" in words:
        candidates = [m for m in methods if isinstance(m, GiftCard)]
    elif "paypal" in words or "pay pal" in words:
        candidates = [m for m in methods if isinstance(m, Paypal)]
    else:
        brands = [m for m in cards if m.brand.lower() in words]
        if brands:
            candidates = brands
        elif re.search(r"\b(credit|card|debit)\b", words):
            candidates = cards
    if len(candidates) == 1:
        return candidates[0]
    index = pick_listed(text, [describe_method(m) for m in methods])
    if index is not None and re.search(r"\b(first|second|third|last|one|option|\d)\b", words):
        return methods[index]
    return None
