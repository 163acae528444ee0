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
from ._common import Token, lexicon, match_phrases, squash_repeats, tokenize, word_set

__all__ = ["ConsentAnswer", "ConsentReading", "read_consent"]

ConsentAnswer = Literal["yes", "no", "question", "unclear"]

_Kind = Literal["yes", "weak", "no", "hedge", "pause", "filler", "neutral", "contrast"]
_Cue = tuple[_Kind, int, int]
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


def _phrases(kind: _Kind, text: str) -> dict[str, _Kind]:
    return {p.strip(): kind for p in text.split(",") if p.strip()}


_CONSENT = _phrases(
    "yes",
    # Idioms holding a negation word are here, and longer, so "no problem" is consent.
    "yes,yeah,yea,yeh,yep,yup,ya,yah,yas,yass,yaas,ye,yess,yesh,yez,yse,ys,yrs,yws,ues,yeas,"
    "yh,aye,affirmative,go ahead,goahead,go on,go for it,go nuts,do it,do that,do so,please do,"
    "please proceed,proceed,confirm,confirmed,i confirm,correct,that's correct,that is correct,"
    "that's right,that is right,absolutely,definitely,certainly,of course,ofc,for sure,"
    "sure thing,deffo,defo,def,sounds good,sounds great,sounds perfect,sounds fine,that works,"
    "works for me,fine by me,ok by me,okay by me,good by me,fine with me,ok with me,"
    "let's do it,let's do that,lets do it,let's go,exactly,indeed,agreed,i agree,"
    "no problem,no worries,not a problem,no prob,no probs,why not,i don't mind,don't mind,"
    "no objection,no objections,you bet,yes sir,yes ma'am,uh huh,mhm,mhmm,i'd like that,"
    "i would like that,please go ahead,go right ahead,make it so,make the change,"
    "make that change,that's fine,that is fine,that's ok,that's okay,that is ok,that is okay,"
    "i accept,accept,approved,i approve,approve,authorise,authorize,authorised,authorized,"
    "i authorise,i authorize,you have my permission,have my permission,permission granted,"
    "you have my consent,i consent,consent,yes i do,yes i would,yes i am,i'm sure,i am sure,"
    "positive,i said yes,i do,y,i'm ok with,i'm okay with,i'm fine with,i am ok with,"
    "i am fine with,i'm happy with,i am happy with,that's fine with me,"
    # Other languages.
    "si,sí,oui,ouais,ja,jawohl,jep,jup,sim,evet,da,да,tak,ano,igen,kyllä,joo,jah,haan,はい,是,"
    "是的,好,好的,네,예,نعم,כן",
)
_WEAK = _phrases(
    "weak",
    "ok,okay,okey,okie,okk,okok,k,kk,alright,all right,aight,sure,shure,fine,great,perfect,"
    "cool,good,right,nice,awesome,brilliant,excellent,lovely,wonderful,super,grand,done,deal,"
    "right away,true,gladly,happy to,please,100",
)
_REFUSAL = _phrases(
    "no",
    "no,nope,nah,nay,noo,nop,na,negative,not,never,don't,do not,didn't,did not,won't,will not,"
    "wouldn't,would not,can't,cannot,can not,shouldn't,should not,isn't,is not,wasn't,ain't,"
    "doesn't,does not,haven't,hasn't,stop,refuse,i refuse,decline,i decline,reject,rather not,"
    "i'd rather not,changed my mind,change of mind,never mind,nevermind,nvm,forget it,"
    "forget that,skip it,skip that,leave it,leave it as it is,leave as is,keep it,hold off,"
    "don't bother,no thanks,no thank you,not now,not yet,not today,no need,wrong,incorrect,"
    "cancel that,scrap that,abort,keep,n,none,how it is,as it is,as is,the way it is,"
    "how things are,the way things are,as they are,how they are,stay as it is,stays as it is,"
    "nein,non,nee,nej,nei,nie,niet,нет,не,não,nao,ne,hayır,hayir,いいえ,不,不要,不是,아니,"
    "아니요,لا,nahi,nahin,tidak,ei,όχι,ochi,no gracias,pas,לא",
)
_HEDGE = _phrases(
    "hedge",
    "maybe,perhaps,possibly,probably,i guess,guess so,i guess so,i suppose,suppose so,"
    "i suppose so,i think so,think so,i think,kind of,sort of,kinda,sorta,might,could be,"
    "if you must,if you have to,if you say so,whatever,not sure,i'm not sure,i am not sure,"
    "unsure,don't know,i don't know,do not know,dunno,idk,no idea,not certain,can't decide,"
    "cannot decide,hard to say,depends,it depends,let me think,need to think,think about it,"
    "not so sure,no clue,yes and no,more or less,i hope so,hopefully,i believe so,should be,"
    "fine i guess,"
    # "All good" after "Shall I cancel?" may mean "no need": never read as consent.
    "all good,i'm good,i am good,we're good,i'm fine,i am fine,i'm ok,i'm okay,it's fine,"
    "it's ok,it's okay,all set,i'm all set,that's all,that's it,good for now",
)
_PAUSE = _phrases(
    "pause",
    "wait,hold on,hang on,let me check,one moment,one sec,one second,just a sec,just a second,"
    "give me a sec,give me a second,a moment,let me see,not so fast,slow down,brb",
)
_DISFLUENCY = _phrases("filler", "hmm,hm,hmmm,um,umm,uh,uhh,er,erm,ah,oh,well")
"""Hesitation sounds: filler before a consent ("um yes please"), a pause when nothing follows."""
_CONTRAST = _phrases(
    "contrast",
    "but,except,however,although,though,instead,actually,rather,only if,if,unless,as long as,"
    "provided,on condition,as well,also,first,before that,later,tomorrow,other,another,"
    "different,change,typo,oops,should be,i meant,meant,only,just not",
)
_NEUTRAL = _phrases("neutral", "in the first place,first of all,no longer")
"""Phrases holding a refusal or condition word that are neither ("no longer needed")."""
_LEXICON = lexicon(
    {**_CONSENT, **_WEAK, **_REFUSAL, **_HEDGE, **_PAUSE, **_DISFLUENCY, **_CONTRAST, **_NEUTRAL}
)

_YES_EMOJI = frozenset("👍👌✅✔☑🆗🙆")
_NO_EMOJI = frozenset("👎❌✖🙅🚫⛔")

_FILLER = word_set(
    "please pls plz plse plez pleas kindly thanks thank thx thnx tnx ty tks cheers ta you u "
    "much very so lot lots a an the it it's its that that's thats this these those them one "
    "ones all everything and then now just right away asap quickly straight ahead go on with to "
    "for of in at from by me my i i'm im i've i'd we we're us our your mate sir madam ma'am man "
    "dude buddy friend love lol haha ha hey hi hello really totally completely fully truly "
    "happy glad ready fine good great perfect lovely awesome wonderful excellent amazing nice "
    "brilliant appreciated appreciate finally god want wanted would like need is was be been "
    "am are have has had do does did done can could will shall what process continue carry "
    "proceed complete finish yeah yes sure ok okay alright sounds works correct right confirm "
    "agree agreed let's lets let exactly precisely as said discussed mentioned planned asked "
    "requested described above same stated thing things obviously clearly naturally course "
    "make change request go ahead yep 100 bitte danke graag alsjeblieft por favor gracias "
    "merci plait s'il vous grazie obrigado obrigada proszę prosze dziękuję spasibo спасибо "
    "пожалуйста arigato i'll we'll you'll it'll understand understood aware realise realize "
    "know new there yh"
)
"""Words a clear yes may carry besides its consent cue (politeness, filler, "go ahead and ...")."""

_TYPOS = {
    "pleas": "please",
    "plesae": "please",
    "pleae": "please",
    "pleasee": "please",
    "pleaes": "please",
    "plase": "please",
    "ahed": "ahead",
    "ahaed": "ahead",
    "thign": "thing",
    "confrim": "confirm",
    "comfirm": "confirm",
    "cofirm": "confirm",
    "thansk": "thanks",
    "thakns": "thanks",
    "thnaks": "thanks",
    "yeahh": "yeah",
    "yeahhh": "yeah",
    "yeaj": "yeah",
    "yesa": "yes",
    "yesd": "yes",
    "tyes": "yes",
    "suree": "sure",
    "surw": "sure",
    "sur": "sure",
    "okat": "okay",
    "oaky": "okay",
    "okya": "okay",
    "okau": "okay",
}
"""Common slips of short consent and filler words (longer words get one edit for free)."""

_QUESTION_START = word_set(
    "what what's whats where where's when why how how's which who whose whom is are was were "
    "can could would will should shall may might does do did have has am"
)
_POLITE_REQUEST = re.compile(
    r"^\W*(?:can|could|would|will)\s+(?:you|u)\s+(?:please\s+|pls\s+|plz\s+)?"
    r"(?:go ahead|proceed|do it|do that|do so|process it|confirm it|go on)\b[\s\w']*\W*\??\W*$"
)
"""'Can you go ahead?' asks the agent to act: a yes phrased as a question."""

_VALUE = re.compile(
    r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+|\b\d{1,2}(?::\d\d)?\s?[ap]\.?m\b\.?|\b\d{1,2}:\d\d\b"
    r"|\d[\d,]*(?:\.\d+)?[^\W\d_]*|[^\W\d_]+\d\w*"
)
"""Emails, numbers (with thousands separators and a unit: "5,000", "2pm") and ids."""

_SIGN_OFF = re.compile(
    r"(?:^|[\n.!,;]\s*|\s-{2,}\s*)(?:best regards|kind regards|warm regards|regards|best wishes|"
    r"sincerely|yours truly|many thanks|thanks again|sent from my)\b|\s-{2,}\s"
    r"|\n\s*(?:thanks|thank you|cheers|best|regards|thx|ta|many thanks)\s*[,.!]?\s*\n",
    re.IGNORECASE,
)
"""Where an email's body ends and its signature begins."""

_CHATTER_START = word_set(
    "i i'm i've i'd i was we we're we've it it's this that the my our he she they there "
    "sorry thanks thank and so because as since honestly anyway btw to be fair you you've "
    "you're your"
)
"""How a sentence that only tells a story opens ("I've been meaning to...", "The app...")."""

_DIRECTIVE = re.compile(
    r"\b(?:i|we) (?:want|wanted|need|needed|would like|'d like|prefer|expect)"
    r" (?:it|this|that|them|to|the|a|an|my|our)\b|\b(?:i|we)'d like\b"
    r"|\b(?:please|pls|plz|can you|could you|would you|will you|make sure|make it|send|ship|"
    r"deliver|use|put|charge|pay|move|add|remove|set|update|instead|rather|only)\b"
    r"|\bto (?:my|the|a|an|our|his|her|their|this|that) \w+"
)
"""Words in a chatty sentence that redirect what was asked ("I want it sent to my office")."""


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
    # "do it" and "will do" are answers; "do I get a refund" is a question.
    if first in ("do", "will") and len(tokens) > 1 and tokens[1].text in ("it", "that", "so", "do"):
        return False
    return first in _QUESTION_START and len(tokens) >= 3


# -- cues ------------------------------------------------------------------------------------


def _cues(folded: str, tokens: list[Token], asked: _Question) -> list[_Cue]:
    """Lexicon hits, read in context: the question's own words are not refusals or
    conditions, a consent right after a negation is a refusal, hesitation sounds before a
    consent are filler."""
    cues: list[_Cue] = []
    for match in match_phrases(tokens, _LEXICON):
        kind: _Kind = match.payload
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


_ACTIONS = word_set("keep cancel stop decline reject skip leave forget scrap abort")

_NEGATORS = word_set(
    "not never don't didn't won't can't isn't wasn't doesn't no haven't hasn't wouldn't"
)


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


_ACTION_FAMILIES = (
    "cancel end terminate discontinue unsubscribe close",
    "refund reimburse credit repay",
    "transfer move send pay",
    "change update modify amend edit switch correct",
    "delete remove erase wipe close",
    "block freeze lock cancel",
    "book schedule reserve arrange",
    "return send",
    "create start open make issue generate",
    "email send mail",
    "renew extend",
    "reset change",
)
"""Words for the same action: restating the question's action in other words is not new."""
_SYNONYMS: dict[str, frozenset[str]] = {}
for _family in _ACTION_FAMILIES:
    _stems = frozenset(stem(w) for w in _family.split())
    for _member in _stems:
        _SYNONYMS[_member] = _SYNONYMS.get(_member, frozenset()) | _stems


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

_KNOWN = frozenset(
    word
    for table in (_REFUSAL, _HEDGE, _PAUSE, _CONTRAST, _DISFLUENCY, _NEUTRAL, _CONSENT, _WEAK)
    for phrase in table
    for word in phrase.split()
) | frozenset(_QUESTION_START)
"""Words the lexicon knows: never "corrected" into another word."""

_FUZZY_TARGETS = frozenset(
    phrase for phrase in (*_CONSENT, *_WEAK) if " " not in phrase and len(phrase) >= 5
) | frozenset(w for w in _FILLER if len(w) >= 5)
"""One-word consent cues and filler long enough that one slip cannot make them another word
(never a word of a longer idiom: "worried" must not become the "worries" of "no worries")."""


def _one_edit_from(word: str, targets: frozenset[str]) -> str | None:
    """The only target one edit (insert, delete, substitute, swap) away from ``word``."""
    found = {t for t in targets if abs(len(t) - len(word)) <= 1 and _one_edit(word, t)}
    return next(iter(found)) if len(found) == 1 else None


def _one_edit(a: str, b: str) -> bool:
    if a == b:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        i = diff[0]
        return len(diff) == 2 and diff[1] == i + 1 and a[i] == b[i + 1] and a[i + 1] == b[i]
    short, long = (a, b) if len(a) < len(b) else (b, a)
    i = next((k for k in range(len(short)) if short[k] != long[k]), len(short))
    return short[i:] == long[i + 1 :]
