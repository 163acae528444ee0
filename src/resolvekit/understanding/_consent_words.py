"""The words consent is read with (:mod:`resolvekit.understanding.consent`): consent, refusal,
doubt, pause, condition and neutral phrases; filler a yes may carry; common slips; how answers
that are questions, emails and chatty sentences look."""

from __future__ import annotations

import re
from typing import Literal

from ._choices import stem
from ._common import lexicon, word_set

Kind = Literal["yes", "weak", "no", "hedge", "pause", "filler", "neutral", "contrast"]
"""What a phrase of the lexicon signals."""


def _phrases(kind: Kind, text: str) -> dict[str, Kind]:
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
    # Taking what was offered ("I can give you 50% off... Would you like that?").
    "i'll take it,i will take it,i'll take that,i will take that,i'll take the offer,"
    "i'll take the deal,i'll take the discount,i'll take you up on that,sign me up,"
    "i'd love that,i would love that,i'll have that,"
    # Other languages. Not "jah" (Estonian) nor "joo" (Finnish): one key from "nah" and "noo",
    # so a slip on a refusal would read as consent.
    "si,sí,oui,ouais,ja,jawohl,jep,jup,sim,evet,da,да,tak,ano,igen,kyllä,haan,はい,是,"
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
    "no,nope,nah,naw,nay,noo,nop,na,negative,not,never,don't,do not,didn't,did not,won't,will not,"
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


_ACTIONS = word_set("keep cancel stop decline reject skip leave forget scrap abort")

_NEGATORS = word_set(
    "not never don't didn't won't can't isn't wasn't doesn't no haven't hasn't wouldn't"
)


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
