"""Masking the data a message carries before it is classified.

"My order #W2378156 hasn't arrived, postcode S11 8HW" asks the same thing as "my order hasn't
arrived"; the order number and the postcode only carry data. Left in, such strings pull a
sentence embedding away from every example (an intent's examples rarely hold the same codes), so
a long message full of data could fall out of scope. :func:`mask_data` replaces them with typed
placeholders before the classifier sees the text::

    >>> mask_data("my order #W2378156 hasn't arrived, postcode S11 8HW")
    "my order [id] hasn't arrived, postcode [postcode]"
    >>> mask_data("email me at ann@example.com or call +44 20 7946 0958")
    'email me at [email] or call [phone]'

LocalModel masks both its training examples and each message (``LocalModel(mask=False)`` turns
it off); slots are still extracted from the original text.
"""

from __future__ import annotations

import re

from ._signals import detect_small_talk

__all__ = ["PLACEHOLDERS", "mask_data", "strip_openings"]

PLACEHOLDERS: dict[str, str] = {
    "email": "[email]",
    "postcode": "[postcode]",
    "card": "[card]",
    "phone": "[phone]",
    "id": "[id]",
    "number": "[number]",
}
"""What each kind of data becomes, in the order they are masked."""

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("email", re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),
    # UK postcodes (S11 8HW, LS1 1AA, EC1A 1BB); upper case only, so words are never taken.
    ("postcode", re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}\b")),
    # A payment card number: 13-19 digits, in groups of four or not.
    ("card", re.compile(r"(?<![\w+])\d{4}(?:[ -]?\d{4}){2}[ -]?\d{1,7}(?!\w)")),
    # A phone number: 9+ digits with spaces, dots, dashes or brackets between them.
    ("phone", re.compile(r"(?<![\w#])\+?\(?\d[\d ().-]{7,}\d(?![\w])")),
    # Order numbers and references: "#W2378156", "#12345", "CH1001", "FJ204", "AB-1234-XY"
    # (letters and at least three digits); "4pm", "2nd" and "mp3" are words.
    ("id", re.compile(r"#[\w-]+|\b(?=[\w-]*\d[\w-]*\d[\w-]*\d)(?=[\w-]*[A-Za-z])[\w-]{4,}\b")),
    # Account, card and reference numbers: four digits or more (amounts and counts stay).
    ("number", re.compile(r"(?<![\w.,$£€])\d(?:[ -]?\d){3,}(?![\w.,])")),
)


def mask_data(text: str) -> str:
    """``text`` with emails, postcodes, card and phone numbers, ids and long numbers replaced by
    :data:`PLACEHOLDERS`; everything else is left as it was."""
    for kind, pattern in _PATTERNS:
        text = pattern.sub(PLACEHOLDERS[kind], text)
    return text


_SENTENCE = re.compile(r"[^.!?;]*[.!;]+(?:\s+|$)")
_INTRODUCTION = re.compile(  # the name is capitalised: "it is broken." is no introduction
    r"^(?i:(?:hi|hello|hey|good (?:morning|afternoon|evening))(?: there)?[\s,!-]*)?"
    r"(?i:this is|it's|it is|my name is|name's)\s+[A-Z][\w'-]*(?:\s+[A-Z][\w'-]*){0,2}"
    r"(?i:\s+(?:here|speaking))?\s*[.!;]*\s*$"
)


def strip_openings(text: str) -> str:
    """``text`` without the opening sentences that only greet or say who is writing ("Hi,
    this is Ana Silva. Please change my booking" -> "Please change my booking"): they carry no
    request, and left in they pull a short request's embedding towards whichever intent their
    words happen to resemble. At most two are dropped, and never the last words of a message.

    >>> strip_openings("Hi, this is Ana Silva. Please change reservation HB1001.")
    'Please change reservation HB1001.'
    >>> strip_openings("Hello there!")
    'Hello there!'
    """
    rest = text
    for _ in range(2):
        found = _SENTENCE.match(rest)
        if found is None:
            break
        sentence, after = found.group(0), rest[found.end() :]
        if len(after.split()) < 2:
            break
        name = sentence.strip()
        if detect_small_talk(name) is None and not _INTRODUCTION.match(name):
            break
        rest = after
    return rest
