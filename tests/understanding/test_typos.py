"""Typo and shorthand correction (resolvekit.understanding.typos): what it corrects, what it
never touches."""

from __future__ import annotations

from importlib import resources

import pytest

from resolvekit.understanding.typos import SHORTHAND, Respelling, Vocabulary, distance

AIRLINE = Vocabulary(
    [
        "change my flight date",
        "what is the status of my flight",
        "I want to move my booking to another day",
        "book the Flexi fare on SkyLink",
    ]
)


def read(text: str, vocabulary: Vocabulary = AIRLINE) -> str:
    fixed = vocabulary.respell(text)
    return text if fixed is None else fixed.text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("pls chnage my flite date", "please change my flite date"),
        ("whats the staus of ra306", "what's the status of ra306"),
        ("can i speek to a human plz", "can i speek to a human please"),
        ("i wanna speek to a humna", "i want to speek to a human"),
        ("lemme tlak 2 sum1 real", "let me talk 2 someone real"),
        ("pls cancle my ordr", "please cancel my order"),
        ("Chnage my bokoing", "Change my booking"),
        ("i recieved an emial", "i received an email"),
        # Regression (helpdesk2 probe): "forgot pw" was out of scope, "pw" unread.
        ("forgot pw", "forgot password"),
    ],
)
def test_typos_and_shorthand_are_read(text: str, expected: str) -> None:
    assert read(text) == expected


def test_each_change_is_recorded_as_written_and_as_read() -> None:
    fixed = AIRLINE.respell("pls chnage my flight")
    assert fixed == Respelling(
        text="please change my flight", changes=(("pls", "please"), ("chnage", "change"))
    )


@pytest.mark.parametrize(
    "text",
    [
        "change flight RA306 to 12/05",  # ids, dates
        "my order W1234567 and 4821",
        "email jon@exmaple.com about it",  # a slip inside an email stays
        "see https://exmaple.com/ordr",
        "fly from LHR to JKF",  # capitals: codes
        "my name is Jonh Smiht",  # capitalised inside a sentence: names
        "book the Flexi fare on SkyLink",  # the agent's own words
        "cancelled flights, rebooking, stopped",  # inflections of known words
        "what is the status",  # nothing to correct
        "ok",
    ],
)
def test_what_is_never_touched(text: str) -> None:
    assert AIRLINE.respell(text) is None


def test_the_agents_own_words_win_and_are_never_replaced() -> None:
    # "ur" is shorthand for "your", unless the agent itself uses the word.
    assert read("ur booking") == "your booking"
    own = Vocabulary(["UR points", "upgrade with UR"])
    assert own.respell("ur points") is None
    # Among candidates one slip away, the agent's word beats a common one.
    assert Vocabulary(["check the fare"]).best("gare") == "fare"  # not "gate"
    assert Vocabulary().best("gare") == "gate"


def test_one_slip_for_short_words_two_for_long_ones() -> None:
    assert AIRLINE.best("ordre") == "order"  # swap
    assert AIRLINE.best("odrer") == "order"
    assert AIRLINE.best("odre") is None  # two slips in a short word
    assert AIRLINE.best("verifcaton") == "verification"  # two slips in a long word
    assert AIRLINE.best("vrfcaton") is None  # three


def test_a_tie_is_left_alone() -> None:
    vocabulary = Vocabulary(["bat bet"], common=False)
    assert vocabulary.best("bwt") is None  # "w" is next to both "a" and "e"
    assert vocabulary.best("btt") is None
    assert Vocabulary(["bat"], common=False).best("bwt") == "bat"


def test_a_changed_letter_is_a_key_next_to_the_one_meant() -> None:
    assert AIRLINE.best("chsnge") == "change"  # "s" is next to "a"
    assert AIRLINE.best("chpnge") is None  # "p" is not
    assert Vocabulary(["like"], common=False).best("hike") is None


def test_swaps_are_preferred_among_one_slip_candidates() -> None:
    assert AIRLINE.best("teh") == "the"
    assert AIRLINE.best("aws") == "was"


def test_distance_is_damerau_levenshtein_with_a_limit() -> None:
    assert distance("chnage", "change") == 1
    assert distance("flite", "flight", limit=3) == 3
    assert distance("flite", "flight") == 3  # over the limit of 2: limit + 1
    assert distance("abc", "abc") == 0
    assert distance("", "abc", limit=3) == 3
    assert distance("ca", "abc", limit=3) == 3  # optimal string alignment, not unrestricted


def test_the_common_words_file_is_a_word_list() -> None:
    text = resources.files("resolvekit.understanding").joinpath("common_words.txt").read_text()
    words = [w for line in text.splitlines() for w in line.split("#")[0].split()]
    assert len(words) > 3500
    assert all(w.replace("'", "").isalpha() and w == w.lower() for w in words)
    assert len(Vocabulary()) > 3500


def test_shorthand_spells_out_only_words() -> None:
    assert all(v.replace("'", "").replace(" ", "").isalpha() for v in SHORTHAND.values())
    assert "y" not in SHORTHAND and "k" not in SHORTHAND  # yes-like letters stay as written
