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


# -- rules the mutation run (tools/mutation.py --module understanding/typos) found untested --


def test_a_correction_never_makes_a_message_more_of_a_yes() -> None:
    from resolvekit.understanding.consent import read_consent

    vocabulary = Vocabulary(["proceed with the order"])
    # The shorthand that would make a yes stays as written; the other slip is still read.
    assert read("pls thnks", vocabulary) == "pls thanks"
    assert read_consent("please thanks").answer == "yes"
    # "ur procede" reads unclear and "your procede" yes: nothing is corrected at all.
    assert read_consent("your procede").answer == "yes"
    assert read_consent("ur procede").answer != "yes"
    assert vocabulary.respell("ur procede") is None
    # Already a yes as written: corrections go ahead ("pls go ahed" -> "please go ahead").
    assert read("pls go ahed", vocabulary) == "please go ahead"


def test_inflections_and_prefixes_of_known_words_are_known() -> None:
    vocabulary = Vocabulary(["stop", "ship", "advanced", "zebra"], common=False)
    for word in ("stopped", "stopping", "shipping", "advance", "zebras", "unzebra", "rezebra"):
        assert vocabulary.knows(word), word
    assert "Stopped" in vocabulary
    for word in ("stopx", "zebr", "unzeb", "xstop", "zebrax"):
        assert not vocabulary.knows(word), word
    assert Vocabulary(["st"], common=False).knows("sts")  # a stem of two letters or more
    assert not Vocabulary(["x"], common=False).knows("xs")


def test_common_words_only_when_asked() -> None:
    assert Vocabulary(["zebra"], common=False).knows("zebra")
    assert not Vocabulary(["zebra"], common=False).knows("because")
    assert Vocabulary(["zebra"]).knows("because")
    assert len(Vocabulary(["zebra"], common=False)) == 1


def test_codes_digits_and_names_are_left_and_the_rest_of_the_message_is_still_read() -> None:
    vocabulary = Vocabulary(["change my order"])
    assert read("dan@x.com pls chnage it", vocabulary) == "dan@x.com please change it"
    assert read("a well-known ordr, chnage it", vocabulary) == "a well-known order, change it"
    assert read("CHNAGE it", vocabulary) == "CHNAGE it"  # capitals: a code or an acronym
    assert read("I chnage it", vocabulary) == "I change it"  # one capital letter is a word
    assert read("Tom Chnage", vocabulary) == "Tom Chnage"  # a name mid-sentence
    assert read("Hi. Chnage it", vocabulary) == "Hi. Change it"  # a sentence's first word
    assert read("ordr2 chnage", vocabulary) == "ordr2 change"  # holds a digit
    assert read("don't chnage it", vocabulary) == "don't change it"


def test_the_edit_limit_grows_with_the_word() -> None:
    vocabulary = Vocabulary(["reservation", "order"], common=False)
    assert vocabulary.best("resrvatoin") == "reservation"  # two slips in a long word
    assert vocabulary.best("oderr") is None  # two slips in a short word: left alone
    assert vocabulary.best("odrer") == "order"


def test_distance_counts_each_edit_once() -> None:
    assert distance("abcd", "acbd") == 1  # one swap
    assert distance("kitten", "sitting", limit=3) == 3
    assert distance("kitten", "sitting", limit=1) == 2  # over the limit: limit + 1
    assert distance("abc", "", limit=3) == 3
    assert distance("abc", "abd", limit=3) == 1
    assert distance("abcde", "bcde", limit=3) == 1
    assert distance("ab", "ba", limit=5) == 1
    assert distance("abcdef", "badcfe", limit=3) == 3
    assert distance("abcdefgh", "ab", limit=2) == 3  # lengths alone rule it out
