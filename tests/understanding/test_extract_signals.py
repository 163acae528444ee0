"""Dialogue signals: yes/no, human requests, small talk, sentiment, corrections."""

from __future__ import annotations

import pytest

from resolvekit.exceptions import UserError
from resolvekit.understanding.extract import (
    classify_yes_no,
    detect_correction,
    detect_human_request,
    detect_small_talk,
    is_information_question,
    sentiment,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("yes", "yes"),
        ("Yes please", "yes"),
        ("yeah go ahead", "yes"),
        ("sure", "yes"),
        ("ok do it", "yes"),
        ("Yesss!", "yes"),
        ("y", "yes"),
        ("👍", "yes"),
        ("that's correct", "yes"),
        ("absolutely", "yes"),
        ("no problem", "yes"),
        ("why not", "yes"),
        ("sounds good", "yes"),
        ("wait, yes", "yes"),  # a pause before a decision
        ("hmm ok", "yes"),
        ("Sure, go ahead and cancel it", "yes"),
        ("yes, and can you also check my other order?", "yes"),  # strong yes + question
        ("nope", "no"),
        ("no thanks", "no"),
        ("No.", "no"),
        ("nooo", "no"),
        ("n", "no"),
        ("don't", "no"),
        ("please don't do that", "no"),
        ("not now", "no"),
        ("no, keep it", "no"),
        ("absolutely not", "no"),
        ("that's not right", "no"),
        ("not correct", "no"),
        ("never mind", "no"),
        ("yes, but not now", "no"),  # the last decision wins
        ("👎", "no"),
        ("not sure", "unsure"),
        ("I'm not sure", "unsure"),
        ("I guess", "unsure"),
        ("I guess so", "unsure"),
        ("maybe", "unsure"),
        ("wait", "unsure"),
        ("hold on", "unsure"),
        ("hmm let me think", "unsure"),
        ("I have no idea", "unsure"),
        ("yes, wait", "unsure"),  # a pause after the yes
        ("I don't know", "unsure"),
    ],
)
def test_yes_no(text: str, expected: str) -> None:
    assert classify_yes_no(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "actually what's my order status?",
        "I want to cancel my order",
        "where is my package",
        "ok, what is my balance?",  # a weak yes followed by a question
        "sure, but when will it arrive?",
        "I would like to know where my package is, yes",  # cue buried in a longer request
        "hi",
        "right now I am at home and my order is missing",
        "🙂",
    ],
)
def test_not_a_yes_no_answer(text: str) -> None:
    assert classify_yes_no(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "talk to a human",
        "I want to talk to a human",
        "Can I speak to a real person?",
        "I want a real person",
        "operator",
        "human!",
        "agent please",
        "REPRESENTATIVE",
        "speak to someone",
        "let me speak to your manager",
        "connect me with a live agent",
        "transfer me",
        "escalate this",
        "get me a person",
        "I don't want a bot, get me a person",
        "this is useless, I need a human",
        "put me through to customer service",
        "can i speek to a human plz",  # one-letter slips in the words that matter
        "get me a humen",
        "can i tlak to someone",
        "reprsentative please",
        "I want to talk to a persn",
        # Regression (helpdesk2 probe): "rather" read as a negation.
        "I'd rather talk to someone",
        "I'd rather speak with a person",
    ],
)
def test_human_request(text: str) -> None:
    assert detect_human_request(text) is True


@pytest.mark.parametrize(
    "text",
    [
        "",
        "I don't need a human",
        "no need for an agent, thanks",
        "I do not want to talk to a person",
        "are you a real person?",
        "is this a human?",
        "am I talking to a bot?",
        "someone stole my card",
        "my order is late",
        "the person at the door said it was delivered",
        "don't transfer me",
        "cancel my order without escalating",
        "I'm tall, will the seat fit?",  # a four-letter word is corrected only for a swap
        "walk me through it",
        "I walk to work with someone from the office",
        "I don't want a humen",
        "my personal details changed",
        "I'd rather not talk to a person",
        "I'd rather wait than talk to someone",
    ],
)
def test_not_a_human_request(text: str) -> None:
    assert detect_human_request(text) is False


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hi", "greeting"),
        ("Hello!", "greeting"),
        ("hey there", "greeting"),
        ("Good morning :)", "greeting"),
        ("how are you?", "greeting"),
        ("thanks!", "thanks"),
        ("thank you so much for your help!", "thanks"),
        ("ok thanks", "thanks"),
        ("much appreciated", "thanks"),
        ("cheers", "thanks"),
        ("bye", "goodbye"),
        ("bye, thanks", "goodbye"),
        ("thanks, that's all", "goodbye"),
        ("have a nice day", "goodbye"),
        ("Thanks! Bye 👋", "goodbye"),
    ],
)
def test_small_talk(text: str, expected: str) -> None:
    assert detect_small_talk(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "ok",
        "yes",
        "hi, I want to cancel my order",
        "thanks, but that didn't help",
        "hello, where is my order?",
        "thank you, can you also refund it?",
        "bye bye money, this is a scam",
        "hi " * 30,
    ],
)
def test_not_small_talk(text: str) -> None:
    assert detect_small_talk(text) is None


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("", 0.0, 0.0),
        ("where is my order", 0.0, 0.0),
        ("This is terrible", -1.0, -0.4),
        ("I am extremely frustrated and angry", -1.0, -0.7),
        ("worst service ever, a total scam", -1.0, -0.7),
        ("great, thanks", 0.5, 1.0),
        ("not bad", 0.01, 0.5),  # negated negative: mildly positive
        ("not good", -0.5, -0.01),  # negated positive: mildly negative
        ("the service was good but the delivery was awful", -1.0, -0.3),
    ],
)
def test_sentiment_ranges(text: str, low: float, high: float) -> None:
    assert low <= sentiment(text) <= high


def test_sentiment_caps_and_exclamations_intensify() -> None:
    plain = sentiment("this is terrible")
    caps = sentiment("this is TERRIBLE")
    bangs = sentiment("this is terrible!!!")
    assert caps < plain
    assert bangs < plain


def test_shouting_alone_is_negative() -> None:
    assert sentiment("WHERE IS MY ORDER") < sentiment("where is my order") == 0.0


def test_intensifiers_and_softeners() -> None:
    assert sentiment("very bad") < sentiment("bad") < sentiment("a bit bad") < 0


def test_sentiment_is_bounded_on_long_rants() -> None:
    assert sentiment("terrible awful horrible " * 1000) == pytest.approx(-1.0, abs=1e-3)
    assert -1.0 <= sentiment("!!!" * 3000) <= 1.0


@pytest.mark.parametrize(
    "text",
    [
        "no, the other order",
        "actually it's W7654321",
        "Actually, W7654321",
        "sorry, I meant the blue one",
        "I meant March 5",
        "wrong one",
        "that's the wrong order",
        "that's not right",
        "not that one",
        "oops, typo: it's 19122",
        "scratch that",
        "it should be 3, not 2",
        "change it to the red one",
        "no, it is W7654321",
        "the other one",
        "I'd like an exchange instead",
        "my mistake, it's Rossi",
    ],
)
def test_correction(text: str) -> None:
    assert detect_correction(text) is True


@pytest.mark.parametrize(
    "text",
    [
        "",
        "actually what's my order status?",
        "sorry for the delay",
        "I want to return it",
        "I mean it",
        "no",
        "yes please",
        "no, it's fine",
        "can I return the other items too?",
        "thanks",
    ],
)
def test_not_a_correction(text: str) -> None:
    assert detect_correction(text) is False


SIGNALS = [
    classify_yes_no,
    detect_human_request,
    detect_small_talk,
    sentiment,
    detect_correction,
    is_information_question,
]


@pytest.mark.parametrize("fn", SIGNALS)
@pytest.mark.parametrize("bad", [None, 3, b"yes"])
def test_signals_reject_non_strings(fn: object, bad: object) -> None:
    with pytest.raises(UserError, match="str"):
        fn(bad)  # type: ignore[operator]


@pytest.mark.parametrize("fn", SIGNALS)
@pytest.mark.parametrize(
    "text", ["😀" * 100, "yes " * 5000, "no" * 5000, "a" * 10_000, "\x00\x01", "İİİ yes"]
)
def test_signals_survive_odd_text(fn: object, text: str) -> None:
    fn(text)  # type: ignore[operator]


@pytest.mark.parametrize(
    "text",
    [
        "How long do refunds take?",
        "what plans are there?",
        "What happens when I cancel?",
        "Do you ship to Canada?",
        "Hi, how much does the pro plan cost?",
        "Which payment methods do you accept?",
        "what is your return policy?",
        "Is there a fee for cancelling?",
        "ok and when does the sale end",
        "can I bring skis on the plane?",
        "are pets allowed in the cabin?",
        # A general case ("with a", "at a"): the rules, even with "I" or "my record".
        "How many checked bags do I get with a standard fare?",
        "What do I get with a premium plan?",
    ],
)
def test_information_question(text: str) -> None:
    assert is_information_question(text)


@pytest.mark.parametrize(
    "text",
    [
        # Regression (helpdesk2 dev, issue 15): a lead-in before a colon hid the question, so
        # it was taken as the answer to the card-digits ctx.ask; a condition not yet met ("if I
        # downgrade") is about the rules, yet "do I" read it as about the customer's account.
        "before that: how long does the reset link stay valid?",
        "quick q - what currency are invoices in?",
        "If I downgrade, do I get money back?",
        "do I get money back if I downgrade?",
        "if we cancel, will we lose our data?",
    ],
)
def test_a_lead_in_or_a_condition_keeps_it_a_question(text: str) -> None:
    assert is_information_question(text)


@pytest.mark.parametrize(
    "text",
    [
        "If I cancel, can you refund me?",  # a request under a condition
        "do I get the fee back if I was charged twice?",  # something that happened
        "if I want to cancel, how do I do it?",  # wants it done
        "I want to cancel: what happens?",
    ],
)
def test_a_condition_does_not_make_a_request_a_question(text: str) -> None:
    assert not is_information_question(text)


def test_a_general_case_is_a_question_about_the_rules_even_about_a_record() -> None:
    records = {"bill", "order"}
    assert is_information_question("can I pay my bill at a paypoint?", records=records)
    assert not is_information_question("can I pay my bill?", records=records)
    assert not is_information_question("where is my order from?", records=records)


@pytest.mark.parametrize(
    "text",
    [
        "where is my order?",  # the customer's own records
        "what's the tracking number?",
        "What is the status of W1234567?",
        "How much do I get back in total?",
        "why was I charged twice?",
        "do I get the fee back?",
        "when do I get my refund for the lamp?",
        "can you refund CH1001?",  # requests
        "could you cancel it please",
        "how do I cancel my subscription?",  # wants it done
        "can I cancel my booking?",
        "I want to cancel, what happens?",
        "cancel my order",
        "refunds",
    ],
)
def test_not_an_information_question(text: str) -> None:
    assert not is_information_question(text)


@pytest.mark.parametrize(
    "text",
    [
        # Regression (helpdesk probes, issue 15): an interjection before the question hid it,
        # so "oh wait, how long is the link valid?" was taken as the answer to a ctx.ask.
        "oh wait, how long is the link valid?",
        "wait, what currency are invoices in?",
        "sorry, how long does a dispute take?",
        "hmm, is there a fee for transfers?",
        "btw, when are invoices sent?",
        "hang on, where can I download invoices?",  # helpdesk2 probe
        "hold on, how long is the link valid?",
        "one sec, what currency are invoices in?",
    ],
)
def test_an_interjection_before_a_question_keeps_it_a_question(text: str) -> None:
    assert is_information_question(text)
    assert not is_information_question(text.replace("?", " for my order W1234567?"))


def test_what_is_required_or_a_deadline_is_a_question_about_the_rules() -> None:
    # "Do I need to...?" asks what the rules require, not what happened to the customer; "until
    # when can I...?" asks for a deadline, even about the customer's own record.
    records = {"order", "delivery", "slot"}
    for text in [
        "Do I need to show ID if I order wine?",
        "do I have to be home for the delivery?",
        "Until when can I still change my delivery slot?",
        "how long do I have to report a missing item?",
        "by when do I need to cancel my order?",
        "sorry, how late can I change my delivery?",
    ]:
        assert is_information_question(text, records=records), text
    for text in [
        "do I get the fee back?",
        "do I need to cancel my order?",  # about their own order: a request
        "when can I change my delivery slot?",
        "until when can you deliver my order?",
        "how long do I have to wait for my order?",
        "I need to change my delivery slot, until when can I?",
    ]:
        assert not is_information_question(text, records=records), text
