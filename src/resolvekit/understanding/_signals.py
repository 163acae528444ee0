"""Dialogue signals: yes/no answers, requests for a human, small talk, sentiment, corrections.

All of them are small hand-written lexicons and rules over the folded words of one message. They
are deliberately simple and predictable; each function's docstring says what it recognises.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

from .._text import fold
from ._common import (
    Token,
    check_text,
    lexicon,
    match_phrases,
    phrase_list,
    tokenize,
    word_set,
)
from ._spelling import spelled

__all__ = [
    "YesNo",
    "classify_yes_no",
    "detect_correction",
    "detect_human_request",
    "detect_small_talk",
    "sentiment",
    "yes_no_match",
]

YesNo = Literal["yes", "no", "unsure"]
CueKind = Literal["strong", "weak", "hedge", "doubt", "pause", "neg", "neutral"]


@dataclass(kw_only=True, frozen=True)
class _Cue:
    label: YesNo | None
    kind: CueKind


def _cues(kind: CueKind, label: YesNo | None, phrases: str) -> dict[str, _Cue]:
    return {p.strip(): _Cue(label=label, kind=kind) for p in phrases.split(",") if p.strip()}


_YES_NO = lexicon(
    {
        **_cues(
            "strong",
            "yes",
            "yes,yeah,yea,yeh,yep,yup,ya,yah,yas,aye,affirmative,go ahead,go for it,do it,"
            "please do,do that,confirm,confirmed,i confirm,correct,that's correct,that is correct,"
            "that's right,that is right,absolutely,definitely,certainly,of course,yes please,"
            "proceed,please proceed,sounds good,that works,works for me,let's do it,let's do that,"
            "exactly,indeed,for sure,sure thing,why not,no problem,no worries,not a problem,"
            "i don't mind,don't mind,i agree,agreed,uh huh,mhm,i think so,yes sir,yes ma'am,"
            "you bet,please go ahead,that's fine,that is fine,that's ok,that's okay,"
            "i'd like that,i would like that,yes i do,yes i would",
        ),
        **_cues(
            "weak",
            "yes",
            "ok,okay,okey,okie,alright,all right,sure,fine,right,great,perfect,cool,good,"
            "please,sounds great,nice,awesome,right away,true,that's true",
        ),
        **_cues(
            "strong",
            "no",
            "no,nope,nah,noo,negative,no thanks,no thank you,not now,not yet,not really,never,"
            "never mind,nevermind,do not,don't,please don't,don't do it,don't do that,stop,"
            "i changed my mind,changed my mind,rather not,i'd rather not,i would rather not,"
            "no way,absolutely not,definitely not,of course not,certainly not,not at all,"
            "wrong,incorrect,that's wrong,that's not right,that is not right,not correct,"
            "hold off,no no,no need,not today,i don't want to,i do not want to,i don't,false",
        ),
        **_cues(
            "hedge",
            "unsure",
            "i guess,i guess so,i suppose,i suppose so,maybe,perhaps,possibly,probably,"
            "kind of,sort of,kinda,sorta,might,could be,if you must",
        ),
        **_cues(
            "doubt",
            "unsure",
            "not sure,i'm not sure,i am not sure,unsure,don't know,i don't know,do not know,"
            "dunno,idk,no idea,not certain,can't decide,cannot decide,hard to say,depends,"
            "it depends,let me think,i need to think,need to think,think about it,"
            "not so sure,no clue",
        ),
        **_cues(
            "pause",
            "unsure",
            "wait,hold on,hang on,hmm,hm,um,umm,uh,er,let me check,one moment,one sec,"
            "one second,just a sec,just a second,give me a sec,give me a second,a moment,"
            "let me see,not so fast",
        ),
        **_cues("neg", None, "not,isn't,it's not,that's not,is not"),
        **_cues(
            "neutral",
            None,
            "right now,no one,no longer,no matter,not only,no more,good morning,good afternoon,"
            "good evening,good night,fine print,i'm good,sure if",
        ),
    }
)
_SINGLE_LETTER: dict[str, YesNo] = {"y": "yes", "k": "yes", "n": "no"}
_EMOJI: dict[str, YesNo] = {
    "👍": "yes",
    "👌": "yes",
    "✅": "yes",
    "👎": "no",
    "❌": "no",
    "🙅": "no",
}
_QUESTION_WORDS = word_set(
    "what what's where when why how which who whose can could would will is are does do "
    "did should may"
)
_LEAD_FILLER = word_set(
    "oh ah well so hi hello hey ok okay um uh actually then and but alright great thanks"
)


def _clean(text: str) -> tuple[str, list[Token]]:
    folded = fold(text)
    return folded, tokenize(folded)


def yes_no_match(text: str) -> tuple[YesNo, tuple[int, int]] | None:
    """Like :func:`classify_yes_no`, also returning the span of the deciding cue."""
    check_text(text)
    folded, tokens = _clean(text)
    for emoji, label in _EMOJI.items():
        at = text.find(emoji)
        if at >= 0 and len(tokens) <= 3:
            return label, (at, at + len(emoji))
    if len(tokens) == 1 and tokens[0].text in _SINGLE_LETTER:
        return _SINGLE_LETTER[tokens[0].text], (tokens[0].start, tokens[0].end)
    head = tokens[:40]
    found = [m for m in match_phrases(head, _YES_NO) if m.payload.kind != "neutral"]
    # A negator turns the yes cue right after it into a no ("not correct", "don't do it").
    cues: list[tuple[YesNo, CueKind, int, int]] = []
    for k, m in enumerate(found):
        kind = m.payload.kind
        cue_label = m.payload.label
        if kind == "neg":
            continue
        previous = found[k - 1] if k else None
        negates = previous is not None and (
            previous.payload.kind == "neg" or head[previous.last].text in ("don't", "not")
        )
        if previous is not None and negates and previous.last + 1 == m.first and cue_label == "yes":
            if cues and cues[-1][2] == previous.first:
                cues.pop()  # "please don't" + "do that" is one no
            cues.append(("no", "strong", previous.first, m.last))
            continue
        nxt = head[m.last + 1].text if m.last + 1 < len(head) else ""
        if cue_label == "yes" and nxt == "not":
            cues.append(("no", "strong", m.first, m.last + 1))
            continue
        assert cue_label is not None
        cues.append((cue_label, kind, m.first, m.last))
    if not cues:
        return None
    first_at = cues[0][2]
    lead = [t.text for t in tokens[:first_at]]
    if any(w not in _LEAD_FILLER for w in lead) and (first_at > 3 or len(tokens) > 8):
        return None

    def span_of(cue: tuple[YesNo, CueKind, int, int]) -> tuple[int, int]:
        return tokens[cue[2]].start, tokens[cue[3]].end

    hedges = [c for c in cues if c[1] == "hedge"]
    if hedges:
        return "unsure", span_of(hedges[0])
    decisive = [c for c in cues if c[0] in ("yes", "no")]
    if not decisive or cues[-1][1] in ("doubt", "pause"):
        return "unsure", span_of(cues[-1])
    last = decisive[-1]
    if last[1] == "weak" and _question_after(folded, tokens, last[3]):
        return None
    return last[0], span_of(last)


def _question_after(folded: str, tokens: list[Token], index: int) -> bool:
    if index + 1 >= len(tokens):
        return False
    if "?" in folded[tokens[index].end :]:
        return True
    return tokens[index + 1].text in _QUESTION_WORDS


def classify_yes_no(text: str) -> YesNo | None:
    """Classify a reply to a yes/no question.

    Recognises plain and casual answers ("yes please", "yeah go ahead", "sure", "ok do it",
    "nope", "no thanks", "don't", "👍"), negated ones ("not now", "not correct", "absolutely
    not", "no, keep it") and hesitation ("not sure", "I guess", "maybe", "wait", "hmm let me
    think"), which is ``"unsure"``. Hedges ("I guess", "maybe") always make the answer unsure; a
    pause or doubt counts only when nothing decisive follows it ("wait, yes" is yes). When both
    yes and no appear, the last one wins ("yes... actually not now" is no).

    Returns None when the message is not an answer: no cue at all ("actually what's my order
    status?"), a cue buried after other words in a longer message, or a weak cue ("ok",
    "sure") followed by a question ("ok, but when will it arrive?").

    Raises:
        UserError: ``text`` is not a string.
    """
    match = yes_no_match(text)
    return None if match is None else match[0]


# --- human requests -----------------------------------------------------------------------

_HUMAN_TARGETS = lexicon(
    {
        p: True
        for p in phrase_list(
            "human,humans,real person,live person,actual person,real human,live human,"
            "human being,live agent,human agent,real agent,actual human,representative,rep,"
            "operator,supervisor,manager,customer service,customer support,support team,"
            "someone,somebody,person,agent,staff,employee,a human,a person,an agent,"
            "someone real,people,customer care,call center,human support"
        )
    }
)
_LOOSE_TARGETS = frozenset(
    {"someone", "somebody", "customer service", "customer support", "people"}
)
_HUMAN_VERBS = word_set(
    "talk talking speak speaking chat chatting connect transfer put get give reach escalate "
    "need want prefer call contact see"
)
_STRONG_VERBS = word_set("talk talking speak speaking chat chatting connect transfer reach")
_HUMAN_NEGATORS = word_set(
    # "rather" is no negation ("I'd rather talk to someone"); "than" is: "I'd rather wait than
    # talk to someone" does not want the person.
    "don't not never no without isn't won't doesn't didn't stop avoid than"
)
_ABOUT_BOT = re.compile(
    r"^\s*(?:are|is|am|were|was)\s(?:you|this|it|that|i|they)\b"
    r"|\bam i (?:talking|chatting|speaking)"
)
_TRANSFER = re.compile(
    r"\b(?:transfer|connect)\s(?:me|my (?:call|case|chat))\b"
    r"|\bescalate\s(?:me|this|it|my (?:call|case|chat))\b"
)
"""'Transfer it' is not here: at 'Transfer £250 to Savings?' it is the money, not the call."""
_BARE_FILLER = word_set("please pls plz a an the now just i want need get me give real live")
_CLAUSES = re.compile(r"[,.;!?]+|\bbut\b|\binstead\b")


def detect_human_request(text: str) -> bool:
    """True when the customer asks to talk to a person.

    Recognises "talk to a human / person / agent / representative", "real person", "operator",
    "speak to someone", "get me a manager", "transfer me", "escalate this", and a message that is
    only the target ("human!", "agent please"). Each clause is judged on its own, so "I don't
    need a human" is False while "I don't want a bot, get me a person" is True. Questions about
    the agent ("are you a real person?") are not requests.

    Raises:
        UserError: ``text`` is not a string.
    """
    check_text(text)
    folded = fold(text)
    for clause in _CLAUSES.split(folded[:2000]):
        if not clause.strip() or _ABOUT_BOT.search(clause):
            continue
        clause = spelled(clause)
        tokens = tokenize(clause)
        words = [t.text for t in tokens]
        targets = [m for m in match_phrases(tokens, _HUMAN_TARGETS)]
        transfer = _TRANSFER.search(clause)
        if not targets and not transfer:
            continue
        if transfer is not None:
            cut = len(tokenize(clause[: transfer.start()]))
            if not any(w in _HUMAN_NEGATORS for w in words[:cut]):
                return True
            continue
        target = targets[0]
        target_text = " ".join(words[target.first : target.last + 1])
        before = words[: target.first]
        if any(w in _HUMAN_NEGATORS for w in before):
            continue
        verbs = [w for w in before if w in _HUMAN_VERBS]
        bare = all(w in _BARE_FILLER for w in before + words[target.last + 1 :])
        if target_text.split()[-1] in _LOOSE_TARGETS:
            if any(v in _STRONG_VERBS for v in verbs):
                return True
        elif verbs or bare:
            return True
    return False


# --- small talk ----------------------------------------------------------------------------

SmallTalk = Literal["greeting", "thanks", "goodbye"]

_SMALL_TALK: dict[tuple[str, ...], SmallTalk] = lexicon(
    {
        **{
            p: "greeting"
            for p in phrase_list(
                "hi,hello,hey,heya,hiya,howdy,yo,greetings,good morning,good afternoon,"
                "good evening,good day,how are you,how are you doing,how's it going,"
                "what's up,sup,hallo,hola,morning,evening,hi there,hello there"
            )
        },
        **{
            p: "thanks"
            for p in phrase_list(
                "thanks,thank you,thank u,thx,ty,tysm,appreciate it,much appreciated,"
                "appreciated,i appreciate it,i appreciate that,many thanks,grateful,"
                "thanks a lot,thanks so much,thank you so much,that helps,that helped,"
                "that was helpful,very helpful"
            )
        },
        **{
            p: "goodbye"
            for p in phrase_list(
                "bye,goodbye,good bye,bye bye,see you,see ya,see you later,take care,cya,ttyl,"
                "farewell,have a nice day,have a good day,have a great day,have a good one,"
                "good night,that's all,that is all,that's everything,nothing else,i'm done,"
                "that will be all,that'll be all,all done,later,catch you later"
            )
        },
    }
)
_SMALL_TALK_FILLER = word_set(
    "you so much very a lot again for your the help helping there all guys team folks everyone "
    "everybody oh ok okay great awesome perfect wonderful nice cool and too as well just really "
    "i it me is are doing today sir madam man mate bot friend friends dear support cheers "
    "kind of that's it's good fine thats"
)


def detect_small_talk(text: str) -> SmallTalk | None:
    """Classify a message that is *only* small talk: ``"greeting"``, ``"thanks"`` or ``"goodbye"``.

    Every word must belong to a greeting, thanks or goodbye phrase or to a short list of filler
    ("so much", "again", "for your help"), so "hi, I want to cancel my order" is None. When
    several kinds appear, goodbye beats thanks beats greeting ("bye, thanks" is goodbye).

    Raises:
        UserError: ``text`` is not a string.
    """
    check_text(text)
    folded = fold(text)
    tokens = tokenize(folded[:500])
    if not tokens or len(tokens) > 25:
        return None
    matches = match_phrases(tokens, _SMALL_TALK)
    covered = {i for m in matches for i in range(m.first, m.last + 1)}
    if any(i not in covered and t.text not in _SMALL_TALK_FILLER for i, t in enumerate(tokens)):
        return None
    kinds = {m.payload for m in matches}
    order: tuple[SmallTalk, ...] = ("goodbye", "thanks", "greeting")
    for kind in order:
        if kind in kinds:
            return kind
    if "cheers" in {t.text for t in tokens}:
        return "thanks"
    return None


# --- sentiment -----------------------------------------------------------------------------

_NEGATIVE = {
    **dict.fromkeys(["terrible", "awful", "horrible", "worst", "hate", "pathetic", "scam"], -3.0),
    **dict.fromkeys(["unacceptable", "useless", "garbage", "nightmare", "disgusting"], -3.0),
    **dict.fromkeys(["incompetent", "furious", "outrageous", "fraud", "sucks", "bullshit"], -3.0),
    **dict.fromkeys(["ridiculous", "stupid", "rude", "trash", "crap", "suck", "worthless"], -2.5),
    **dict.fromkeys(["angry", "frustrated", "frustrating", "livid", "shit", "wtf", "fuck"], -2.5),
    **dict.fromkeys(["fucking", "ripped", "lied", "lying", "liar", "joke", "disgrace"], -2.5),
    **dict.fromkeys(["mad", "annoyed", "annoying", "disappointed", "disappointing", "bad"], -2.0),
    **dict.fromkeys(["upset", "unhappy", "waste", "wasted", "damn", "sue", "lawyer"], -2.0),
    **dict.fromkeys(["poor", "sad", "complaint", "hell", "broken", "wrong", "fed"], -1.5),
    **dict.fromkeys(["late", "slow", "worried", "confused", "missing", "damaged"], -1.0),
    **dict.fromkeys(["problem", "issue", "delayed", "still", "again"], -0.5),
}
_POSITIVE = {
    **dict.fromkeys(["excellent", "amazing", "awesome", "wonderful", "fantastic"], 3.0),
    **dict.fromkeys(["brilliant", "outstanding", "superb"], 3.0),
    **dict.fromkeys(["great", "love", "perfect", "best", "lovely"], 2.5),
    **dict.fromkeys(["appreciate", "helpful", "happy", "glad", "pleased", "thrilled"], 2.0),
    **dict.fromkeys(["good", "thanks", "thank", "nice", "satisfied", "resolved"], 1.5),
    **dict.fromkeys(["quick", "fast", "easy", "fixed", "works", "like"], 1.0),
    **dict.fromkeys(["fine", "ok", "okay"], 0.5),
}
_LEXICON = {**_NEGATIVE, **_POSITIVE}
_INTENSIFIERS = {
    "very": 1.3,
    "really": 1.3,
    "so": 1.3,
    "extremely": 1.6,
    "totally": 1.4,
    "absolutely": 1.5,
    "completely": 1.5,
    "incredibly": 1.6,
    "super": 1.4,
    "utterly": 1.6,
    "too": 1.2,
    "most": 1.3,
    "such": 1.2,
    "beyond": 1.4,
    "slightly": 0.6,
    "somewhat": 0.7,
    "bit": 0.7,
    "little": 0.7,
    "kinda": 0.7,
    "fairly": 0.8,
}
_SENTIMENT_NEGATORS = word_set(
    "not no never don't isn't wasn't aren't didn't doesn't can't won't hardly nothing "
    "without nor neither"
)
_CAPS_WORD = re.compile(r"(?<![^\W_])[^\W\d_a-z]{3,}(?![^\W_])")
_SATURATION = 16.0


def sentiment(text: str) -> float:
    """A simple lexicon-based sentiment score in [-1, 1] (negative means upset).

    Sum of word weights from a small hand-written lexicon (about 120 words), where a negation in
    the three words before a word flips and halves it ("not good" < 0, "not bad" > 0),
    intensifiers scale the next word ("very", "extremely"; "a bit" softens), words in ALL CAPS
    count 1.5x, words after "but" count 1.5x and before it 0.5x, and "!" amplify the total (up
    to +60%). A message mostly in capitals with a non-positive score gets an extra -1 (shouting).
    The sum ``s`` is squashed with ``s / sqrt(s*s + 16)``. It is a signal for escalation, not a
    sentiment model: sarcasm and domain meaning are out of reach.

    Raises:
        UserError: ``text`` is not a string.
    """
    check_text(text)
    text = text[:5000]
    folded = fold(text)
    tokens = tokenize(folded)
    if not tokens:
        return 0.0
    caps = {m.start() for m in _CAPS_WORD.finditer(text)}
    words = [t.text for t in tokens]
    but_at = max((i for i, w in enumerate(words) if w == "but"), default=-1)
    total = 0.0
    for i, token in enumerate(tokens):
        weight = _LEXICON.get(words[i])
        if weight is None:
            continue
        if words[i] == "fed" and (i + 1 >= len(words) or words[i + 1] != "up"):
            continue
        if words[i] == "like" and i > 0 and words[i - 1] not in ("i", "we", "really", "they"):
            continue
        if i > 0 and words[i - 1] in _INTENSIFIERS:
            weight *= _INTENSIFIERS[words[i - 1]]
        if token.start in caps:
            weight *= 1.5
        window = words[max(0, i - 3) : i]
        if any(w in _SENTIMENT_NEGATORS for w in window) and not _broken(folded, tokens, i):
            weight *= -0.5
        if but_at >= 0:
            weight *= 1.5 if i > but_at else 0.5
        total += weight
    bangs = min(text.count("!"), 4)
    total *= 1 + 0.15 * bangs
    letters = [t for t in tokens if any(c.isalpha() for c in t.text)]
    if len(caps) >= 2 and len(caps) * 2 >= len(letters) and total <= 0:
        total -= 1.0
    return max(-1.0, min(1.0, total / math.sqrt(total * total + _SATURATION)))


def _broken(folded: str, tokens: list[Token], i: int) -> bool:
    """True when a clause break separates ``tokens[i]`` from the negation window before it."""
    start = tokens[max(0, i - 3)].start
    return bool(re.search(r"[,.;!?]", folded[start : tokens[i].start]))


# --- corrections ---------------------------------------------------------------------------

_CORRECTION = re.compile(
    r"\bi meant\b"
    r"|\b(?:sorry|oops|whoops|my bad|no|nope)\b[\s,.!-]{0,3}i mean\b"
    r"|\bi mean\b[\s,]{1,2}(?:it'?s\s|the\s|\S*\d)"
    r"|\b(?:wrong|incorrect)\s(?:one|order|number|item|address|date|email|account|card|product"
    r"|size|colou?r|name|phone|zip|code|id)\b"
    r"|\bthat'?s\s(?:wrong|incorrect|not\s(?:right|correct|it|what i (?:said|meant|asked)))\b"
    r"|\bthat is\s(?:wrong|incorrect|not\s(?:right|correct|it))\b"
    r"|\bnot\s(?:that|this)\s(?:one|order|item|address|card|email|date)\b"
    r"|\b(?:correction|typo|scratch that|let me correct|i misspoke|mistyped|misspelled"
    r"|i made a (?:mistake|typo|error)|my mistake|should (?:have|'ve) said|i said it wrong"
    r"|change (?:it|that) to|make (?:it|that) (?:the\s)?\S*\d|instead)\b"
    r"|\bit should (?:be|have been)\b"
)
_LEADING_CUE = re.compile(
    r"^\W*(?:(?:no|nope|nah|sorry|oops|wait|actually|hmm|um|oh)\b[\s,.!-]*)+"
    r"(?:(?:i meant|i mean|it'?s|it is|it was|its)\s)?"
    r"(?:the\sother\b|the\s(?:first|second|third|last|other|previous|earlier|newer|older)"
    r"\s(?:one|order|item|address|card)\b|\S*\d|\S+@\S+)"
)
_ACTUALLY = re.compile(
    r"\bactually\b[\s,.!-]*(?:it'?s|it is|its|i meant|i mean|that'?s|that should|make it"
    r"|change|the|my|not|it should|\S*\d)"
)
_OTHER_START = re.compile(r"^\W*the other (?:one|order|item|address|card|email)\b")


def detect_correction(text: str) -> bool:
    """True when the customer seems to correct something they said earlier.

    Cues: "I meant", "sorry, I mean...", "wrong one / wrong order", "that's not right",
    "not that one", "typo", "scratch that", "it should be", "change it to", "instead",
    "no, the other order", "no, it's W7654321", "sorry, it's ann@example.com", "actually it's
    ...", and a message starting with "the other one". "Actually, what's my order status?" is a
    new request, not a correction.

    Raises:
        UserError: ``text`` is not a string.
    """
    check_text(text)
    folded = fold(text[:2000])
    return bool(
        _CORRECTION.search(folded)
        or _LEADING_CUE.search(folded)
        or _ACTUALLY.search(folded)
        or _OTHER_START.search(folded)
    )
