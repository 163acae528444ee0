"""read_consent: a yes is earned; refusals, questions, hedges and new values never are one.

About internals: the typo test reads the reader's private word lists.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from resolvekit.understanding import _consent_words as words
from resolvekit.understanding import consent
from resolvekit.understanding.consent import read_consent

Q = "Cancel order W1234567 (2 items, $54.20)?"
DEV = Path(__file__).resolve().parents[2] / "tools" / "bench" / "data" / "consent_dev.jsonl"


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("yes", "yes"),
        ("Yes please!", "yes"),
        ("sure, do it", "yes"),
        ("yes cancel W1234567", "yes"),
        ("yes, cancel #W1234567 please", "yes"),
        ("yes, the $54.20 is fine", "yes"),
        ("yes, the $54.20 refund is fine", "unclear"),  # "refund": not what was asked
        ("no problem", "yes"),
        ("I don't mind", "yes"),
        ("sure, why not?", "yes"),
        ("Can you go ahead please?", "yes"),
        ("👍", "yes"),
        ("yse", "yes"),
        ("yes plesae", "yes"),
        ("um yes please", "yes"),
        ("Yes. The app keeps crashing anyway.", "yes"),
        ("Hello, yes please proceed. Best regards, Maria Lopez", "yes"),
        ("no", "no"),
        ("I never said yes", "no"),
        ("I didn't agree to anything", "no"),
        ("don't go ahead", "no"),
        ("keep it", "no"),
        ("yes... actually no", "no"),
        ("👎", "no"),
        ("nein", "no"),
        ("нет", "no"),
        ("is it ok?", "question"),
        ("ok?", "question"),
        ("how much is it", "question"),
        ("will I get a refund", "question"),
        ("maybe", "unclear"),
        ("hmm", "unclear"),
        ("wait", "unclear"),
        ("yes, hmm", "unclear"),
        ("no wait, yes", "unclear"),
        ("yes but to 5 Elm Road", "unclear"),
        ("yes W7654321", "unclear"),
        ("yes, to my work address", "unclear"),
        ("Yes. I want it sent to my office.", "unclear"),
        ("right, my son says hi", "unclear"),
        ("keep the order please", "no"),
        ("the weather is nice", "unclear"),
        ("", "unclear"),
    ],
)
def test_readings(answer: str, expected: str) -> None:
    assert read_consent(answer, Q).answer == expected


def test_the_questions_own_words_are_not_refusals_but_its_action_is_ambiguous() -> None:
    question = "Cancel W1234567 (reason: no longer needed)?"
    assert read_consent("yes, no longer needed", question).answer == "yes"
    keep = "Shall I keep your current plan?"
    assert read_consent("keep it", keep).answer == "unclear"
    assert read_consent("keep it", "Cancel your plan?").answer == "no"


def test_values_are_compared_as_values() -> None:
    assert read_consent("yes redeem the 5000 points", "Redeem 5,000 points?").answer == "yes"
    assert read_consent("yes at 7:30", "Book a table at 7:30 PM?").answer == "yes"
    assert read_consent("yes 2pm works", "Move the visit to 2 PM?").answer == "yes"
    assert read_consent("yes 3pm works", "Move the visit to 2 PM?").answer == "unclear"
    assert read_consent("yes", "").answer == "yes"


def test_no_slip_of_a_refusal_doubt_or_condition_word_becomes_consent() -> None:
    """The typo corrector must never turn a word of refusal into one of consent."""
    risky = [
        *words._KNOWN,
        "none", "nothing", "nobody", "neither", "nevermind", "refused", "refusing",
        "cancelled", "canceled", "cancelling", "stopped", "stopping", "later", "wrong", "error",
        "mistake", "unsure", "doubt", "hesitant", "waiting", "nopes", "never", "hardly",
        "sorry", "sore", "hope", "worried", "concern", "against", "without", "except",
    ]  # fmt: skip
    consenting = {w for p in (*words._CONSENT, *words._WEAK) for w in p.split()}
    for word in risky:
        fixed = consent._corrected(consent.Token(text=word, start=0, end=len(word))).text
        if word in words._KNOWN:
            assert fixed == word, word
        else:
            assert fixed not in consenting, (word, fixed)


def test_the_dev_corpus_never_reads_a_non_yes_as_yes() -> None:
    """The hand-written dev split of tools/bench (the holdout split is never used here)."""
    items = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line]
    false_yes = [
        i["answer"]
        for i in items
        if i["label"] != "yes" and read_consent(i["answer"], i["question"]).answer == "yes"
    ]
    assert false_yes == []
    yeses = [i for i in items if i["label"] == "yes"]
    honoured = sum(read_consent(i["answer"], i["question"]).answer == "yes" for i in yeses)
    assert honoured / len(yeses) >= 0.93  # a regression guard; figures in docs/benchmarks.md


@pytest.mark.parametrize("answer", ["Do not cancel", "DO NOT CANCEL IT", "Do not go ahead"])
def test_do_not_is_a_refusal_not_a_question(answer: str) -> None:
    """Was a bug: a reply of three or more words opening with 'do' was a question unless the
    second word was it/that/so/do, so the customer was asked again instead of being heard."""
    assert read_consent(answer, Q).answer == "no"


def test_the_typo_search_finds_what_trying_every_target_finds() -> None:
    """``_one_edit_from`` looks only at targets one letter longer or shorter and stops at a
    second match; the answer is the one comparing ``word`` with every target gives."""
    import random

    def one_edit(a: str, b: str) -> bool:  # the definition, spelled out
        if a == b:
            return False
        if len(a) == len(b):
            diff = [i for i in range(len(a)) if a[i] != b[i]]
            if len(diff) == 1:
                return True
            return (
                len(diff) == 2
                and diff[1] == diff[0] + 1
                and a[diff[0]] == b[diff[1]]
                and (a[diff[1]] == b[diff[0]])
            )
        short, long = sorted((a, b), key=len)
        return len(long) == len(short) + 1 and any(
            long[:i] + long[i + 1 :] == short for i in range(len(long))
        )

    def reference(word: str, targets: frozenset[str]) -> str | None:
        found = {t for t in targets if one_edit(word, t)}
        return next(iter(found)) if len(found) == 1 else None

    rng = random.Random(7)
    targets = words._FUZZY_TARGETS
    vocabulary = sorted(targets)
    letters = "abeilnoprsty"
    checked = hits = 0
    for _ in range(4000):
        word = list(rng.choice(vocabulary))
        for _ in range(rng.choice((0, 1, 1, 2))):
            at = rng.randrange(len(word) + 1)
            edit = rng.choice(("insert", "delete", "replace", "swap"))
            if edit == "insert" or not word:
                word.insert(at, rng.choice(letters))
            elif edit == "delete":
                del word[min(at, len(word) - 1)]
            elif edit == "replace":
                word[min(at, len(word) - 1)] = rng.choice(letters)
            elif len(word) > 1:
                i = min(at, len(word) - 2)
                word[i], word[i + 1] = word[i + 1], word[i]
        text = "".join(word)
        small = frozenset(rng.sample(vocabulary, 12))
        for pool in (targets, small, frozenset({text + "s", text[:-1]}) if text else small):
            want = reference(text, pool)
            assert consent._one_edit_from(text, pool) == want, (text, sorted(pool))
            checked += 1
            hits += want is not None
    assert checked == 12000 and hits > 1000  # the random slips did land near targets


OFFER = "Before you go: I can give you 50% off for 3 months. Would you like that instead?"


@pytest.mark.parametrize(
    "answer", ["sure, I'll take the discount", "I'll take it", "ok I'll take the offer"]
)
def test_taking_what_was_offered_is_a_yes(answer: str) -> None:
    """Regression (helpdesk2 probe, issue 15): "sure, I'll take the discount" was 'unclear'
    (words beyond a yes), so the customer was asked to answer yes or no."""
    assert read_consent(answer, OFFER).answer == "yes"


@pytest.mark.parametrize("answer", ["no, I won't take it", "I'll take the refund instead"])
def test_not_taking_it_is_no_yes(answer: str) -> None:
    assert read_consent(answer, OFFER).answer != "yes"
