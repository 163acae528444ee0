"""read_consent, case by case: the reading (answer, reason and the words that decided) of
replies from the dev and holdout corpora and of hand-written edge cases, each chosen because a
mutation of the reader reads it differently (typo tolerance, values, the question's own words,
emoji, chatter, hesitation, questions that are answers).

About internals: each case clears the reader's private cache of parsed questions
(``consent._Question.of``), so that a case's question is parsed by that case."""

from __future__ import annotations

import pytest

from resolvekit.understanding import consent
from resolvekit.understanding.consent import read_consent


@pytest.fixture(autouse=True)
def _fresh_question_cache() -> None:
    """Each case parses its question anew (the parsed questions are cached process-wide)."""
    consent._Question.of.cache_clear()


READINGS = [
    ("?", "", "unclear", "no words", None),
    (
        "is that the $54.20 one?",
        "Cancel order W1234567 (2 items, $54.20)?",
        "question",
        "a question",
        "is that the $54.20 one?",
    ),
    ("go ahead", "Update your phone number to +1 (555) 123-4567?", "yes", "consent", "go ahead"),
    ("no, go ahead", "Cancel order W1234567?", "unclear", "a refusal then a consent", None),
    ("nah", "Cancel order W1234567 (2 items, $54.20)?", "no", "refusal", "nah"),
    ("hmm ok maybe", "Add 1 checked bag ($35) to booking ZX9K2L?", "unclear", "hedge", "maybe"),
    (
        "hmm",
        "Permanently delete your profile and all saved payment methods?",
        "unclear",
        "pause",
        "hmm",
    ),
    (
        "only if I get the full refund",
        "Refund $54.20 to your Visa ending 4242 for charge CH1001?",
        "unclear",
        "condition",
        "only if",
    ),
    (
        "meh",
        "Send a password reset code by SMS to the phone ending 0199?",
        "unclear",
        "no consent cue",
        None,
    ),
    ("yes 100", "Cancel?", "unclear", "a value the question does not hold", "100"),
    (
        "half of me says yes",
        "I can cancel order W4455102 (3 items, $132.75) with the reason 'ordered by mistake'. Do you want me to proceed?",
        "unclear",
        "words beyond a yes",
        "half says",
    ),
    ("はい", "Cancel order W1234567 (2 items, $54.20)?", "yes", "consent", "はい"),
    (
        "yeah go ahed",
        "Reschedule your technician visit from Tuesday 10 AM to Thursday 2 PM?",
        "yes",
        "consent",
        "yeah",
    ),
    (
        "procede",
        "Change the email on your account to dan.cohen@exmaple.com?",
        "yes",
        "consent",
        "procede",
    ),
    (
        "no thnks",
        "Transfer $500.00 from checking (...1123) to savings (...4421) now?",
        "no",
        "refusal",
        "no thnks",
    ),
    (
        "yeah go ahead, I really appreciate you sorting this out so quickly, the last time I called I was on hold for an hour",
        "Book flight UA 482 from SFO to JFK on May 3, departing 9:40 AM, economy, $312.60?",
        "yes",
        "consent",
        "yeah",
    ),
    (
        "🚫",
        "Reschedule your technician visit from Tuesday 10 AM to Thursday 2 PM?",
        "no",
        "refusal emoji",
        "🚫",
    ),
    ("👍?", "Cancel order W1234567?", "question", "a question", "👍"),
    ("yes 👍", "Update your phone number to +1 (555) 123-4567?", "yes", "consent emoji", "👍"),
    ("is it done", "Cancel order W1234567?", "question", "a question", "is it done"),
    ("do it please", "Cancel order W1234567?", "yes", "consent", "do it"),
    (
        "do it",
        "Send $1,250.00 to Jordan Lee (account ending 7788) today? This cannot be undone.",
        "yes",
        "consent",
        "do it",
    ),
    (
        "yes change it to priya.nair@example.com",
        "Change your login email from priya.n@example.org to priya.nair@example.com?",
        "yes",
        "consent",
        "yes",
    ),
    ("stop it, no", "Stop the subscription?", "no", "refusal", "no"),
    ("ok well", "Cancel order W1234567?", "unclear", "pause", "well"),
    (
        "no, I don't want to do that",
        "Apply your $20 coupon SPRING20 to order W3308815 and charge the new total of $64.99?",
        "no",
        "refusal",
        "no",
    ),
    ("mm yes", "", "unclear", "words beyond a yes", "mm"),
    (
        "yes ship it to 12 Oak Street",
        "Change the shipping address on order W5512290 to 12 Oak Street, Springfield, IL 62704?",
        "yes",
        "consent",
        "yes",
    ),
    (
        "yes send it to 48 Pine Ave",
        "Order a replacement card to be sent to 48 Pine Ave, Denver, CO 80203 (5-7 business days)?",
        "yes",
        "consent",
        "yes",
    ),
    ("n", "", "no", "refusal", "n"),
    (
        "NO NO NO",
        "Exchange the Medium black hoodie in order W2378156 for a Large black hoodie at no extra cost?",
        "no",
        "refusal",
        "NO",
    ),
    ("yes other", "Use the other card?", "yes", "consent", "yes"),
    ("yes, different", "Send a different size?", "yes", "consent", "yes"),
    ("yes first", "Ship the first item?", "yes", "consent", "yes"),
    ("yes, later", "Call you back later?", "yes", "consent", "yes"),
    ("sure, instead of", "Use express instead of standard?", "yes", "consent", "sure"),
    ("yes express instead", "Ship it by express instead?", "yes", "consent", "yes"),
    (
        "yes... actually no",
        "Exchange the Medium black hoodie in order W2378156 for a Large black hoodie at no extra cost?",
        "no",
        "refusal",
        "no",
    ),
    ("express instead please", "Ship it by express instead?", "yes", "consent", "please"),
    ("100%", "Update your phone number to +1 (555) 123-4567?", "yes", "consent", "100"),
    (
        "100% yes",
        "Refund $54.20 to your Visa ending 4242 for charge CH1001?",
        "yes",
        "consent",
        "yes",
    ),
    ("yes 100%, and 5 more", "Cancel?", "unclear", "a value the question does not hold", "5"),
    (
        "Thursday 2pm works, yes",
        "Reschedule your technician visit from Tuesday 10 AM to Thursday 2 PM?",
        "yes",
        "consent",
        "yes",
    ),
    (
        "yes, table for 4 at 7:30 under Patel",
        "Book a table for 4 at 7:30 PM on Friday under the name Patel?",
        "yes",
        "consent",
        "yes",
    ),
    ("yes 7pm", "Book at 7:00 PM?", "yes", "consent", "yes"),
    ("sí", "Book a table for 4 at 7:30 PM on Friday under the name Patel?", "yes", "consent", "sí"),
    (
        "yes redeem the 5000 points",
        "Redeem 5,000 points for a $50 gift card sent to your email?",
        "yes",
        "consent",
        "yes",
    ),
    (
        "Hi there,\n\nThanks for the quick reply. Yes, please go ahead with the refund to my Visa.\n\nKind regards,\nPriya",
        "",
        "unclear",
        "words beyond a yes",
        "refund visa",
    ),
    (
        "Yes I confirm, Jordan is my brother and I've sent him money before. Please send it.",
        "Send $1,250.00 to Jordan Lee (account ending 7788) today? This cannot be undone.",
        "yes",
        "consent",
        "Yes",
    ),
    ("yes, cancle it", "", "unclear", "words beyond a yes", "cancle"),
    (
        "yes. My brother will pay",
        "Send $100 to Jordan?",
        "unclear",
        "words beyond a yes",
        "brother",  # 'pay' is a synonym of the question's action ('send') since main's reader
    ),
    (
        "Yes, pelase proceed.",
        "Order W9021384 hasn't shipped yet. Should I cancel it and refund $27.50 to your Mastercard ending 8812?",
        "yes",
        "consent",
        "Yes",
    ),
    ("yes ok hmm", "Cancel order W1234567?", "unclear", "pause", "hmm"),
    ("do", "Cancel order W1234567?", "unclear", "no consent cue", None),
    ("do that now", "Cancel order W1234567?", "yes", "consent", "do that"),
    ("do so now", "Cancel order W1234567?", "yes", "consent", "do so"),
    ("not sure ok", "Cancel order W1234567?", "unclear", "hedge", "not sure"),
    (
        "I didn't say yes, yes",
        "Cancel order W1234567?",
        "unclear",
        "a refusal then a consent",
        None,
    ),
    ("yes pleasss", "Cancel order W1234567?", "yes", "consent", "yes"),
    (
        "yes alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi",
        "Cancel order W1234567?",
        "unclear",
        "words beyond a yes",
        "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron",
    ),
    ("yes, car", "Replace the card?", "unclear", "words beyond a yes", "car"),
    ("I didn't think it through yes", "Cancel?", "unclear", "a refusal then a consent", None),
    ("Yes please\n\nBest regards,\nAnn", "Cancel order W1234567?", "yes", "consent", "Yes"),
    ("yes\x07please", "Cancel?", "yes", "consent", "yes"),
    ("yes at 7", "Book a table at 7 PM?", "yes", "consent", "yes"),
    (
        "how much will the whole thing cost me in the end, including the taxes and the delivery "
        "fee please?",
        "Cancel?",
        "question",
        "a question",
        "how much will the whole thing cost me in the end, including the taxes and the de",
    ),
]


READINGS += [
    # main's reader, after the reorganisation (cases from the re-measured run's survivors): a
    # negation in a later sentence that tells a story asks again instead of refusing...
    (
        "Yes, end it, I never use it anyway",
        "Cancel your subscription?",
        "unclear",
        "a negation after a consent",
        None,
    ),
    (
        "Yes, cancel it, my wife never uses it",
        "Cancel your subscription?",
        "unclear",
        "a negation after a consent",
        None,
    ),
    # ... but not one that names the question's words, or opens like an instruction.
    (
        "Yes, cancel it. I don't want the subscription anymore",
        "Cancel your subscription?",
        "no",
        "refusal",
        "don't",
    ),
    ("Yes. Not the subscription though", "Cancel your subscription?", "no", "refusal", "Not"),
    # Ordinals restate a date's day; another day is a new value.
    ("yes, the 2nd", "Deliver on 2 June?", "yes", "consent", "yes"),
    (
        "yes on the 3rd",
        "Deliver on 2 June?",
        "unclear",
        "a value the question does not hold",
        "3rd",
    ),
    # "so please" / "and please" open a new clause: the story before it is chatter.
    (
        "My flight got moved so please go ahead",
        "Cancel order W1234567?",
        "yes",
        "consent",
        "please go ahead",
    ),
    (
        "I moved house and please go ahead",
        "Cancel order W1234567?",
        "yes",
        "consent",
        "please go ahead",
    ),
    ("yes and", "Cancel order W1234567?", "yes", "consent", "yes"),
    ("yes so", "Cancel order W1234567?", "yes", "consent", "yes"),
]


@pytest.mark.parametrize(("answer", "question", "expected", "reason", "cue"), READINGS)
def test_reading(answer: str, question: str, expected: str, reason: str, cue: str | None) -> None:
    reading = read_consent(answer, question)
    assert (reading.answer, reading.reason, reading.cue) == (expected, reason, cue)
