"""The shared text helpers: fold (offset-preserving) and normalize (comparison keys).

About internals: these tests also check private helpers directly (``resolvekit._text``).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from resolvekit._text import fold, normalize


@given(st.text())
def test_fold_keeps_every_offset(text: str) -> None:
    assert len(fold(text)) == len(text)


def test_fold_lowers_and_plains_quotes_and_dashes() -> None:
    assert fold("It\u2019s \u201cDONE\u201d \u2014 10\u00a0Days") == 'it\'s "done" - 10 days'
    assert fold("İZMİR") == "İzmİr"  # "İ".lower() is two characters: kept as it is


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Refund of $1,250.00 -- issued!", "refund of 1250 issued"),
        ("Order W0012 has SHIPPED.", "order w0012 has shipped"),
        ("0.50 and 007 and 3.10", "0.5 and 7 and 3.1"),
        ("tracking_number: 1Z999", "tracking number 1z999"),
        ("What's   the fee?", "what s the fee"),
        ("?!", ""),
    ],
)
def test_normalize_ignores_case_spacing_punctuation_and_number_format(text: str, key: str) -> None:
    assert normalize(text) == key


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("  Do you sell KAYAKS?? ", "do you sell kayaks"),
        ("do you sell\n\tkayaks . !", "do you sell kayaks"),
        ("What's the fee for order #1,250?", "what's the fee for order #1,250"),
        ("¿Qué pasa?", "¿qué pasa"),
        ("   ", ""),
    ],
)
def test_readable_normalize_ignores_only_case_spacing_and_the_final_punctuation(
    text: str, key: str
) -> None:
    assert normalize(text, readable=True) == key


@given(st.text())
def test_normalize_is_idempotent(text: str) -> None:
    assert normalize(normalize(text)) == normalize(text)
    assert normalize(normalize(text, readable=True), readable=True) == normalize(
        text, readable=True
    )
