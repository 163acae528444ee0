"""Typos never make a yes (issue #15): a slip on a refusal is never read as consent, and the
typo corrector never turns a refusal into consent. Written as the attacker would: every one-key
slip (swap, drop, double, a neighbouring key) of the ways of saying no, through the consent
reader, the corrector and a whole confirmation turn; the backend's writes are what is checked."""

from __future__ import annotations

import pytest

from resolvekit.consent import read_consent
from resolvekit.models.local import LocalModel
from resolvekit.understanding.typos import Vocabulary

from .test_consent import confirm_with

QUESTION = "Cancel order W1234567?"
REFUSALS = [
    *("no", "nope", "nah", "naw", "nay", "noo", "nop", "never", "stop", "don't", "dont"),
    *("no thanks", "no pls", "nah thx", "nope plz", "not now", "no way", "never mind"),
    *("no dont cancle it", "pls dont", "nah im good", "noo keep it"),
]
_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")


def _near(ch: str) -> set[str]:
    for r, row in enumerate(_ROWS):
        if ch in row:
            i = row.index(ch)
            out = {row[j] for j in (i - 1, i + 1) if 0 <= j < len(row)}
            for other in (r - 1, r + 1):
                if 0 <= other < len(_ROWS):
                    out |= {
                        _ROWS[other][j] for j in (i - 1, i, i + 1) if 0 <= j < len(_ROWS[other])
                    }
            return out
    return set()


def slips(text: str) -> set[str]:
    """Every text one slip from ``text``: two neighbours swapped, a letter dropped or doubled,
    or a letter typed with a neighbouring key."""
    out: set[str] = set()
    for i, ch in enumerate(text):
        out.add(text[:i] + text[i + 1 :])
        out.add(text[: i + 1] + ch + text[i + 1 :])
        if i + 1 < len(text):
            out.add(text[:i] + text[i + 1] + ch + text[i + 2 :])
        out |= {text[:i] + near + text[i + 1 :] for near in _near(ch)}
    return {s for s in out if s.strip() and s != text}


ALL_SLIPS = sorted({s for refusal in REFUSALS for s in slips(refusal)})


def test_the_slips_are_many() -> None:
    assert len(ALL_SLIPS) > 900
    assert {"noo", "nop", "nah", "jah", "joo", "mo", "bo"} <= set(ALL_SLIPS)


@pytest.mark.parametrize("refusal", REFUSALS)
def test_refusals_are_read_as_no(refusal: str) -> None:
    assert read_consent(refusal, QUESTION).answer == "no"


def test_no_slip_of_a_refusal_is_read_as_consent() -> None:
    consents = [s for s in ALL_SLIPS if read_consent(s, QUESTION).answer == "yes"]
    assert consents == []


def test_the_corrector_never_turns_a_refusal_or_its_slips_into_consent() -> None:
    vocabulary = Vocabulary(["cancel my order", "yes please", "go ahead"])
    for text in [*REFUSALS, *ALL_SLIPS]:
        fixed = vocabulary.respell(text)
        if fixed is not None:
            assert read_consent(fixed.text, QUESTION).answer != "yes", (text, fixed.text)


@pytest.mark.parametrize(
    "answer", [*REFUSALS, "noo", "nop", "nah", "naw", "jah", "joo", "mo", "bo", "ni", "nope pls"]
)
async def test_a_typo_near_no_never_runs_the_write(answer: str) -> None:
    backend, _ = await confirm_with(LocalModel.for_tests(), answer)
    assert backend.writes == []


@pytest.mark.parametrize("answer", ["yse", "yes pls", "yess", "yes plz go ahead"])
async def test_a_clear_yes_with_slips_still_runs_the_write_once(answer: str) -> None:
    backend, result = await confirm_with(LocalModel.for_tests(), answer)
    assert backend.writes == [("cancel", "W1234567")]
    assert result.outcome == "resolved"
