"""Reading consent: is a reply to a confirmation an unambiguous yes *to that question*?

A write that needs the customer's agreement runs only on a reply this module reads as ``yes``.
The reading is deliberately one-sided: a yes must be earned, anything else is not a yes.

- ``no``: a refusal anywhere that is not part of a consenting idiom ("no problem", "I don't
  mind"): "no", "never", "I didn't say yes", "keep it", "hold off", "nein". A consent after a
  refusal ("no wait, yes") is ``unclear``, never a yes.
- ``question``: a question mark, or a message opening like a question ("how much is roaming",
  "will I get a refund"): answer it, then ask the confirmation again.
- ``unclear``: a hedge ("maybe", "I guess"), a condition or contrast ("only if", "but",
  "instead"), a pause ("wait"), a value the question does not hold (a possible correction:
  "yes W7654321" to a question about W1234567), no consent cue at all, or words the reading
  cannot account for.
- ``yes``: a consent cue ("yes", "go ahead", "sure, do it", "👍") and every other word accounted
  for. The clause holding the consent may only restate the question ("yes, cancel W1234567") or
  add politeness ("please", "thanks"); another sentence may add chatter ("Yes. The app keeps
  crashing anyway.") as long as it gives no instruction ("I want it sent to my office") and
  no value. An email signature after a sign-off ("Best regards, ...") is ignored.

Typos of the consent words and of the question's own words are forgiven (one edit in words of
five letters or more, and a list of common short ones: "yse", "okk", "plz"), never turning a
word of refusal, doubt or condition into consent.

The function is pure and deterministic; :class:`ConsentReading` says which cue decided and why, so
the decision can be logged and audited with the write it allowed.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from .._text import fold
from ._choices import stem
from ._common import Token, match_phrases, squash_repeats, tokenize
from ._consent_words import (
    _ACTIONS,
    _CHATTER_START,
    _DIRECTIVE,
    _FILLER,
    _FUZZY_TARGETS,
    _KNOWN,
    _LEXICON,
    _NEGATORS,
    _NO_EMOJI,
    _POLITE_REQUEST,
    _QUESTION_START,
    _SIGN_OFF,
    _SYNONYMS,
    _TYPOS,
    _VALUE,
    _YES_EMOJI,
    Kind,
)

__all__ = ["ConsentAnswer", "ConsentReading", "read_consent"]

ConsentAnswer = Literal["yes", "no", "question", "unclear"]

_Cue = tuple[Kind, int, int]
"""A lexicon hit: its kind, first and last token index."""


@dataclass(kw_only=True, frozen=True)
class ConsentReading:
    """How a reply to a confirmation was read."""

    answer: ConsentAnswer
    """``yes`` only for an unambiguous yes to the question; see the module docstring."""
    reason: str
    """Why, in a few words ("consent", "refusal", "a question", "hedge", "no consent cue")."""
    cue: str | None = None
    """The words that decided, as the customer wrote them (None when nothing decided)."""


def read_consent(answer: str, question: str = "") -> ConsentReading:
    """Read the customer's ``answer`` to the confirmation ``question``.

    Args:
        answer: the customer's message, as written.
        question: the confirmation the agent asked; its words and values may be repeated in a
            yes ("yes, cancel W1234567") without making the yes unclear.

    Returns:
        The reading; ``answer == "yes"`` only for an unambiguous yes to ``question``.
    """
    text = _plain(answer)
    body = _body(text)
    folded = fold(body)
    tokens = [_corrected(t) for t in tokenize(folded)]
    emoji = _emoji_answer(text, tokens)
    if emoji is not None:
        return emoji
    if not tokens:
        return ConsentReading(answer="unclear", reason="no words")
    if _is_question(folded, tokens):
        return ConsentReading(answer="question", reason="a question", cue=text.strip()[:80])
    asked = _Question.of(question)
    cues = _cues(folded, tokens, asked)

    def said(cue: _Cue) -> str:
        return body[tokens[cue[1]].start : tokens[cue[2]].end]

    refusals = [c for c in cues if c[0] == "no"]
    consents = [c for c in cues if c[0] in ("yes", "weak")]
    strong = [c for c in consents if c[0] == "yes"]
    if refusals:
        if strong and strong[-1][1] > refusals[-1][1]:
            # "no wait, yes": changing one's mind within a message is not a clear yes.
            return ConsentReading(answer="unclear", reason="a refusal then a consent")
        if strong and _only_told(folded, tokens, strong[0], refusals, asked):
            # "Yes, end it, I never use it anyway": a negation in a later sentence that tells
            # why. Not a yes (the reading cannot be sure), but not a refusal either: ask again.
            return ConsentReading(answer="unclear", reason="a negation after a consent")
        return ConsentReading(answer="no", reason="refusal", cue=said(refusals[0]))
    for kind, reason in (("hedge", "hedge"), ("pause", "pause"), ("contrast", "condition")):
        hit = next((c for c in cues if c[0] == kind), None)
        if hit is not None:
            return ConsentReading(answer="unclear", reason=reason, cue=said(hit))
    if not consents:
        return ConsentReading(answer="unclear", reason="no consent cue")
    stray = _new_value(folded, asked)
    if stray is not None:
        return ConsentReading(
            answer="unclear", reason="a value the question does not hold", cue=stray
        )
    loose = _unaccounted(folded, tokens, cues, asked)
    if loose:
        return ConsentReading(answer="unclear", reason="words beyond a yes", cue=loose[:80])
    first = (strong or consents)[0]
    return ConsentReading(answer="yes", reason="consent", cue=said(first))


# -- text ------------------------------------------------------------------------------------


def _plain(text: str) -> str:
    """NFC-normalised text without control characters (line breaks kept)."""
    text = unicodedata.normalize("NFC", text)
    return "".join(
        ch if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs") else " " for ch in text
    )


def _body(text: str) -> str:
    """The message without an email signature (from a sign-off such as "Best regards" or a
    ``--`` line on); the whole message when the sign-off would leave nothing."""
    match = _SIGN_OFF.search(text)
    if match is None or not text[: match.start()].strip():
        return text
    return text[: match.start()]


def _corrected(token: Token) -> Token:
    """The token with a slip of a consent or filler word corrected ("plesae" -> "please")."""
    word = token.text
    fixed = _TYPOS.get(word) or _TYPOS.get(squash_repeats(word))
    if fixed is None and len(word) >= 5 and word not in _KNOWN:
        fixed = _one_edit_from(word, _FUZZY_TARGETS)
    return Token(text=fixed, start=token.start, end=token.end) if fixed else token


def _emoji_answer(text: str, tokens: list[Token]) -> ConsentReading | None:
    """A thumbs-up or -down with at most politeness around it."""
    up = [ch for ch in text if ch in _YES_EMOJI]
    down = [ch for ch in text if ch in _NO_EMOJI]
    if down:
        return ConsentReading(answer="no", reason="refusal emoji", cue=down[0])
    if not up:
        return None
    if "?" in text:
        return ConsentReading(answer="question", reason="a question", cue=up[0])
    if all(t.text in _FILLER for t in tokens):
        return ConsentReading(answer="yes", reason="consent emoji", cue=up[0])
    return None


def _is_question(folded: str, tokens: list[Token]) -> bool:
    if _POLITE_REQUEST.match(folded):
        return False
    if "?" in folded:
        # "sure, why not?" is consent phrased as a question.
        return not re.fullmatch(r"\W*(?:\w+\W+){0,2}why not\W*", folded)
    first = tokens[0].text
    # "do it", "will do" and "do not cancel" are answers; "do I get a refund" is a question.
    answers = ("it", "that", "so", "do", "not")
    if first in ("do", "will") and len(tokens) > 1 and tokens[1].text in answers:
        return False
    return first in _QUESTION_START and len(tokens) >= 3


# -- cues ------------------------------------------------------------------------------------


def _cues(folded: str, tokens: list[Token], asked: _Question) -> list[_Cue]:
    """Lexicon hits, read in context: the question's own words are not refusals or
    conditions, a consent right after a negation is a refusal, hesitation sounds before a
    consent are filler."""
    cues: list[_Cue] = []
    for match in match_phrases(tokens, _LEXICON):
        kind: Kind = match.payload
        words = [t.text for t in tokens[match.first : match.last + 1]]
        if kind in ("no", "contrast") and asked.restates(tokens, match.first, match.last):
            if kind == "no" and words[0] in _ACTIONS:
                # "Shall I keep your plan?" - "yes, keep it": ambiguous, ask again.
                cues.append(("contrast", match.first, match.last))
            continue
        cues.append((kind, match.first, match.last))
    cues = _negated_consent(folded, tokens, cues)
    if cues and cues[-1][0] == "filler" and not any(c[0] in ("yes", "weak") for c in cues):
        # "hmm" alone, or "hmm." after nothing decisive, is a pause.
        cues[-1] = ("pause", cues[-1][1], cues[-1][2])
    if cues and cues[-1][0] == "filler" and cues[-1][1] > _last_consent(cues):
        cues[-1] = ("pause", cues[-1][1], cues[-1][2])  # "yes, hmm"
    return cues


def _only_told(
    folded: str, tokens: list[Token], consent: _Cue, refusals: list[_Cue], asked: _Question
) -> bool:
    """Every refusal cue is a negation ("not", "never", "n't") inside a later sentence that
    opens like a story and names nothing of the question ("I never use it anyway")."""
    clauses = _clauses(folded, tokens)
    home = next(c for c in clauses if consent[1] in c)
    for _kind, first, _ in refusals:
        clause = next(c for c in clauses if first in c)
        if clause[0] <= home[0] or tokens[first].text not in _NEGATORS - {"no"}:
            return False
        if tokens[clause[0]].text not in _CHATTER_START:
            return False
        if any(tokens[i].text not in _KNOWN and asked.holds(tokens[i].text) for i in clause):
            return False
    return True


def _last_consent(cues: list[_Cue]) -> int:
    return max((c[1] for c in cues if c[0] in ("yes", "weak")), default=-1)


def _negated_consent(folded: str, tokens: list[Token], cues: list[_Cue]) -> list[_Cue]:
    """A consent cue shortly after a negation with no punctuation between is negated:
    "I never said yes", "I didn't agree", "don't go ahead" are refusals."""
    out: list[_Cue] = []
    last_negation: int | None = None
    for kind, first, last in cues:
        if kind == "no" and any(tokens[i].text in _NEGATORS for i in range(first, last + 1)):
            last_negation = last
        elif kind in ("yes", "weak") and last_negation is not None:
            between = folded[tokens[last_negation].end : tokens[first].start]
            if first - last_negation <= 3 and not re.search(r"[,.;:!?]", between):
                out.append(("no", first, last))
                continue
        out.append((kind, first, last))
    return out


# -- the question ----------------------------------------------------------------------------


@dataclass(kw_only=True, frozen=True)
class _Question:
    """The words, stems and values of the confirmation question."""

    words: tuple[str, ...]
    stems: frozenset[str]
    values: frozenset[str]

    @staticmethod
    @lru_cache(maxsize=256)
    def of(question: str) -> _Question:
        folded = fold(question)
        words = tuple(t.text for t in tokenize(folded))
        values = {_canon_value(v) for v in _VALUE.findall(folded)}
        # "at 7:30" restates "at 7:30 PM".
        values |= {v[:-2] for v in values if re.fullmatch(r"\d+(?::\d\d)?[ap]m", v)}
        return _Question(
            words=words,
            stems=frozenset(stem(squash_repeats(w)) for w in words),
            values=frozenset(values),
        )

    def holds(self, word: str) -> bool:
        """The question uses ``word`` (or an inflection, a one-letter slip, or a synonym of an
        action it names: "end" for "cancel")."""
        if not self.words:
            return False
        if stem(squash_repeats(word)) in self.stems or word in self.words:
            return True
        family = _SYNONYMS.get(stem(word))
        if family is not None and not family.isdisjoint(self.stems):
            return True
        if any(ch.isdigit() for ch in word) and _canon_value(word) in self.values:
            return True
        if len(word) < 4 or word in _KNOWN:
            return False
        return _one_edit_from(word, frozenset(w for w in self.words if len(w) >= 4)) is not None

    def restates(self, tokens: list[Token], first: int, last: int) -> bool:
        """Tokens ``first..last`` repeat the question: its action word, or a phrase of it
        ("reason: no longer needed" - "yes, no longer needed")."""
        if not self.words:
            return False
        words = [t.text for t in tokens]
        if words[first] in _ACTIONS and words[first] in self.words:
            return True
        if first == last and words[first] in ("change", "other", "different", "first", "later"):
            return words[first] in self.words
        asked = self.words
        for lo, hi in ((first, last + 2), (first - 1, last + 1)):
            if lo < 0 or hi > len(words) or hi - lo < 2:
                continue
            gram = tuple(words[lo:hi])
            if any(asked[i : i + len(gram)] == gram for i in range(len(asked) - len(gram) + 1)):
                return True
        return False


def _new_value(folded: str, asked: _Question) -> str | None:
    """A number, id or email in the answer that the question does not hold."""
    for match in _VALUE.finditer(folded):
        value = match.group()
        if value == "100" and folded[match.end() : match.end() + 1] == "%":
            continue  # "yes, 100%"
        if _canon_value(value) not in asked.values:
            return value
    return None


def _canon_value(value: str) -> str:
    value = value.lstrip("#").lower()
    clock = re.fullmatch(r"(\d{1,2})(?::(\d\d))?\s?([ap])\.?m\.?", value)
    if clock is not None:
        hour, minutes, half = clock.groups()
        return f"{int(hour)}{'' if minutes in (None, '00') else ':' + minutes}{half}m"
    number = re.match(r"\d[\d,]*(?:\.\d+)?", value)
    if number is None:
        return value
    if re.fullmatch(r"(?:st|nd|rd|th)", value[number.end() :]):
        value = value[: number.end()]  # "the 12th" restates "12 June"
    try:
        amount = float(number.group().replace(",", ""))
    except ValueError:
        return value
    return f"{amount:g}{value[number.end() :]}"


# -- accounting for every word ---------------------------------------------------------------


def _unaccounted(folded: str, tokens: list[Token], cues: list[_Cue], asked: _Question) -> str:
    """Words of the answer the reading cannot account for ("" when there are none).

    The sentence holding the consent may only hold consent, filler and the question's own
    words. Another sentence may tell a story, provided it gives no instruction.
    """
    covered = {i for _, first, last in cues for i in range(first, last + 1)}
    consenting = {i for kind, first, _ in cues if kind in ("yes", "weak") for i in [first]}
    # Chatter may follow a real yes, not a word like "right" or "ok" that is also how people
    # start talking about something else ("right, my son says hi").
    strong = any(kind == "yes" for kind, _, _ in cues)
    loose: list[str] = []
    for clause in _clauses(folded, tokens):
        extra = [
            word
            for i in clause
            if i not in covered
            and (word := tokens[i].text) not in _FILLER
            and not asked.holds(word)
        ]
        if not extra:
            continue
        if strong and consenting.isdisjoint(clause) and _chatter(folded, tokens, clause, asked):
            continue
        loose.extend(extra)
    return " ".join(loose)


def _clauses(folded: str, tokens: list[Token]) -> list[list[int]]:
    """Token indices grouped by sentence and comma."""
    groups: list[list[int]] = [[]]
    for i, token in enumerate(tokens):
        between = folded[tokens[i - 1].end : token.start] if i else ""
        joins = (
            token.text in ("so", "and")
            and i + 1 < len(tokens)
            and tokens[i + 1].text
            in (
                "please",
                "pls",
                "go",
            )
        )
        if i and (re.search(r"[,.;:!?\n]|\s-\s|--", between) or joins):
            groups.append([])
        groups[-1].append(i)
    return [g for g in groups if g]


def _chatter(folded: str, tokens: list[Token], clause: list[int], asked: _Question) -> bool:
    """A sentence that only tells a story ("I'm bringing my golf clubs", "Jordan is my
    brother"), not one that asks for something ("I want it sent to my office", "send it to my
    work address")."""
    opening = tokens[clause[0]].text
    if opening not in _CHATTER_START and not (opening not in _KNOWN and asked.holds(opening)):
        return False
    return _DIRECTIVE.search(folded[tokens[clause[0]].start : tokens[clause[-1]].end]) is None


# -- typo tolerance --------------------------------------------------------------------------


def _one_edit_from(word: str, targets: frozenset[str]) -> str | None:
    """The only target one edit (insert, delete, substitute, swap) away from ``word``."""
    buckets = _by_length(targets)
    size = len(word)
    found: str | None = None
    for length in (size - 1, size, size + 1):  # one edit changes the length by at most one
        for target in buckets.get(length, ()):
            if _one_edit(word, target):
                if found is not None:
                    return None
                found = target
    return found


@lru_cache(maxsize=64)
def _by_length(targets: frozenset[str]) -> dict[int, tuple[str, ...]]:
    """``targets`` by their length (remembered: the same few sets are searched every time)."""
    buckets: dict[int, list[str]] = {}
    for target in targets:
        buckets.setdefault(len(target), []).append(target)
    return {length: tuple(words) for length, words in buckets.items()}


def _one_edit(a: str, b: str) -> bool:
    if a == b:
        return False
    if len(a) == len(b):
        i = 0
        while a[i] == b[i]:  # a != b: they differ somewhere
            i += 1
        if a[i + 1 :] == b[i + 1 :]:
            return True  # one substitution
        # a swap of two neighbours: nothing else differs
        return a[i + 2 :] == b[i + 2 :] and a[i] == b[i + 1] and a[i + 1] == b[i]
    short, long = (a, b) if len(a) < len(b) else (b, a)
    i = next((k for k in range(len(short)) if short[k] != long[k]), len(short))
    return short[i:] == long[i + 1 :]
