"""Emails, phone numbers, order-style ids, postal codes, person names, booleans and free text.

Normalisation:

- emails are lower-cased (``"Jane.Doe@Example.com"`` -> ``"jane.doe@example.com"``);
- phone numbers become their digits, with ``+`` kept when the customer wrote a country code
  (``"+1 (555) 123-4567"`` -> ``"+15551234567"``); 7 to 15 digits;
- ids (slots of kind ``id`` without a pattern) are returned **as written**, ``#`` included:
  without a pattern nothing says which form the backend wants, so declare one to normalise.
  An id is a token with letters and digits (``W1234567``, ``ABC-123``), ``#`` and 3+ digits
  (``#12345``), or 5+ plain digits; plain words, small numbers, ordinals and quantities with a
  unit (``3rd``, ``10am``, ``12kg``) are not ids;
- postal codes (slots whose name mentions zip/postal/postcode) are strings, so leading zeros
  survive: US ``19122`` / ``19122-1234``, UK ``SW1A 1AA``, Canada ``K1A 0B1`` (upper-cased, one
  space), or 4–6 digits elsewhere (lower score);
- person names (text slots named ``name``, ``first_name``, ``last_name``, ``full_name``...):
  after "my name is", "I'm", "I am", "this is", "call me", "called"/"named" (followed by a
  capitalised word), or a bare answer of one to three
  words; words written all in lower or upper case are title-cased ("yusuf" -> "Yusuf"), particles
  inside a name stay lower case ("van", "de"). "I'm", "I am", "this is" and "it's" only count
  at the start of the message (after a greeting), and in a message that uses capitals the name
  after them must be capitalised ("I'm looking for..." is not a name);
- booleans come from :func:`classify_yes_no` (``unsure`` gives nothing);
- free text is the message after a reason cue ("because ...", score 0.8) or the whole message
  with leading filler and trailing politeness removed (score 0.5), at most 2,000 characters.
"""

from __future__ import annotations

import re
from typing import Literal

from ._common import Extraction, Token, check_text, word_set
from ._signals import yes_no_match

__all__ = [
    "NamePart",
    "extract_booleans",
    "extract_emails",
    "extract_free_text",
    "extract_ids",
    "extract_names",
    "extract_phones",
    "extract_postal_codes",
    "name_part",
]

_EMAIL = re.compile(
    r"(?<![\w.%+-])[a-z0-9][a-z0-9._%+-]{0,63}@[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?"
    r"(?:\.[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?)*\.[a-z]{2,24}(?![\w-])"
)


def extract_emails(text: str, folded: str) -> list[Extraction]:
    """Email candidates (lower-cased), score 0.95."""
    if "@" not in folded:
        return []
    return [
        Extraction(value=m.group(), span=m.span(), score=0.95, text=text[m.start() : m.end()])
        for m in _EMAIL.finditer(folded)
    ]


_PHONE = re.compile(r"(?<![\w+#$€£¥/.:,-])\+?\(?\d(?:[\s.()-]{0,2}\d){6,14}(?![\w/:]|[.-]\d|\s\d)")
_DATE_LIKE = re.compile(r"\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4}")


def extract_phones(text: str, folded: str) -> list[Extraction]:
    """Phone candidates: digits with an optional leading ``+``; 0.9 when formatted or 10+ digits."""
    out = []
    for m in _PHONE.finditer(folded):
        raw = m.group()
        if _DATE_LIKE.fullmatch(raw.strip()):
            continue
        digits = re.sub(r"\D", "", raw)
        if not 7 <= len(digits) <= 15:
            continue
        plus = raw.startswith("+")
        formatted = plus or bool(re.search(r"[\s().-]", raw)) or len(digits) >= 10
        out.append(
            Extraction(
                value=("+" if plus else "") + digits,
                span=m.span(),
                score=0.9 if formatted else 0.7,
                text=text[m.start() : m.end()],
            )
        )
    return out


_ID = re.compile(r"(?<![\w#-])#?[^\W_]+(?:[-_][^\W_]+)*(?![\w-])")
_UNIT_SUFFIX = re.compile(
    r"\d+(?:st|nd|rd|th|am|pm|ml|l|kg|g|lb|lbs|oz|gb|tb|mb|mm|cm|km|m|in|ft|x|k|s|h|hr|hrs"
    r"|min|mins|sec|secs|d|day|days|yr|yrs|pc|pcs|v|w|mah|hz|p)"
)
_ID_CONTEXT = word_set(
    "order id number no ticket case reference ref confirmation tracking account invoice "
    "booking reservation item product sku"
)


def extract_ids(text: str, folded: str, tokens: list[Token]) -> list[Extraction]:
    """Order-style id candidates, as written (see the module docstring)."""
    out = []
    ends = {t.end: i for i, t in enumerate(tokens)}
    for m in _ID.finditer(folded):
        raw = m.group()
        body = raw.lstrip("#")
        digits = sum(c.isdigit() for c in body)
        letters = sum(c.isalpha() for c in body)
        if digits == 0 or _UNIT_SUFFIX.fullmatch(body):
            continue
        if raw.startswith("#"):
            if digits < 3 and letters == 0:
                continue
            score = 0.95
        elif letters:
            if len(body) < 4 or digits < 2:
                continue
            score = 0.9
        elif re.fullmatch(r"\d+", body):
            if digits < 5:
                continue
            score = 0.7
        else:  # digits joined by dashes or underscores
            if _DATE_LIKE.fullmatch(body) or digits < 5:
                continue
            score = 0.6
        last = _index_before(ends, m.start())
        before = {t.text for t in tokens[max(0, last - 2) : last + 1]} if last >= 0 else set()
        if _ID_CONTEXT & before:
            score = min(1.0, score + 0.05)
        raw_text = text[m.start() : m.end()]
        out.append(Extraction(value=raw_text, span=m.span(), score=score, text=raw_text))
    return out


def _index_before(ends: dict[int, int], start: int) -> int:
    """Index of the token ending closest before ``start`` (``-1`` when none within 3 chars)."""
    for gap in range(0, 4):
        if start - gap in ends:
            return ends[start - gap]
    return -1


_US_ZIP = re.compile(r"(?<![\w-])\d{5}(?:-\d{4})?(?![\w-])")
_UK_POSTCODE = re.compile(r"(?<![\w])[a-z]{1,2}\d[a-z\d]?\s?\d[a-z]{2}(?![\w])")
_CA_POSTCODE = re.compile(r"(?<![\w])[a-z]\d[a-z][\s-]?\d[a-z]\d(?![\w])")
_OTHER_POSTCODE = re.compile(r"(?<![\w-])\d{4}(?:\d{2})?(?![\w-])")
_ZIP_CONTEXT = re.compile(r"\b(?:zip|postal|post\s?code|postcode)\b")


def extract_postal_codes(text: str, folded: str) -> list[Extraction]:
    """Postal code candidates as strings (see the module docstring)."""
    out = []
    bonus = 0.05 if _ZIP_CONTEXT.search(folded) else 0.0
    for m in _US_ZIP.finditer(folded):
        out.append(
            Extraction(
                value=m.group(), span=m.span(), score=0.9 + bonus, text=text[m.start() : m.end()]
            )
        )
    for regex in (_UK_POSTCODE, _CA_POSTCODE):
        for m in regex.finditer(folded):
            compact = re.sub(r"[\s-]", "", m.group()).upper()
            value = f"{compact[:-3]} {compact[-3:]}"
            out.append(
                Extraction(
                    value=value, span=m.span(), score=0.9 + bonus, text=text[m.start() : m.end()]
                )
            )
    for m in _OTHER_POSTCODE.finditer(folded):
        if len(m.group()) == 5:
            continue
        out.append(
            Extraction(
                value=m.group(), span=m.span(), score=0.6 + bonus, text=text[m.start() : m.end()]
            )
        )
    return out


NamePart = Literal["first", "last", "full"]


def name_part(slot_name: str) -> NamePart | None:
    """Which part of a person's name a slot wants, judging by its name; None if not a name."""
    n = slot_name.lower().replace("-", "_")
    if "username" in n or "user_name" in n:
        return None
    if any(k in n for k in ("first_name", "firstname", "given_name", "forename")):
        return "first"
    if any(k in n for k in ("last_name", "lastname", "surname", "family_name")):
        return "last"
    if n in (
        "name",
        "full_name",
        "fullname",
        "customer_name",
        "your_name",
        "person_name",
        "contact_name",
        "client_name",
        "caller_name",
    ) or n.endswith("full_name"):
        return "full"
    return None


_NAME_CUE = re.compile(
    r"\b(?:(?P<part>first|last|given|family|sur)\s?name(?:\s(?:is|'s))?"
    r"|my name(?:\s(?:is|'s))?|name's|name is|call me|(?P<named>called|named|i go by)"
    r"|(?P<weak>i'm|i am|this is|it's|it is))\s+"
)
_OPENING = re.compile(r"[\W_]*(?:(?:hi|hello|hey|yes|yeah|sure|ok|okay|oh|well|so|sorry)\b[\W_]*)*")
_NAME_WORD = re.compile(r"[^\W\d_]+(?:['-][^\W\d_]+)*")
_PARTICLES = word_set("van von de der den da di del della la le du st bin al dos das ten")
_NOT_NAMES = word_set(
    """a an the and or but in on at from with for to of my your our i me you we it is am are was
    not no yes yeah ok okay hi hello hey thanks thank please sorry here there just so very really
    still also calling looking trying writing wondering having going getting doing good fine well
    happy sad angry upset sure afraid glad new back done ready sorry interested unable able order
    cancel return refund help issue problem account email phone number address zip code
    one two three four five six seven eight nine ten eleven twelve twenty thirty hundred
    none zero"""
)
"""Words never taken as (part of) a name: "one" answers "how many bags?", not "last name?"."""
_CLOSING = re.compile(
    r"(?:[\s,;:.!]+(?:please|pls|plz|thanks|thank you|thx|cheers))+[\s.!]*\Z", re.IGNORECASE
)


def extract_names(text: str, folded: str, part: NamePart) -> list[Extraction]:
    """Person-name candidates for the given name part (see the module docstring)."""
    out = []
    cased = any(c.isupper() for c in text)
    for cue in _NAME_CUE.finditer(folded):
        cue_part = cue.group("part")
        if cue_part is not None:
            wanted = "first" if cue_part in ("first", "given") else "last"
            if part != wanted and part != "full":
                continue
        weak = cue.group("weak") is not None
        if weak and not _OPENING.fullmatch(folded, 0, cue.start()):
            continue  # "it is late" in the middle of a message is not an introduction
        named = cue.group("named") is not None
        if named and not cased:
            continue  # "i called yesterday": without capitals "called" says nothing
        words = _name_words(text, cue.end(), need_capital=(weak or named) and cased)
        if not words:
            continue
        score = 0.9 if cue.group("weak") is None else 0.8
        chosen = words[:1] if cue_part is not None else _pick(words, part)
        if chosen:
            out.append(_name_extraction(text, chosen, score))
    if not out:
        bare = _bare_name(text)
        score = 0.75 if bare and all(text[s].isupper() for s, _ in bare) else 0.6
        if not bare:
            bare, score = _leading_name(text), 0.65
        if bare:
            chosen = _pick(bare, part) if len(bare) > 1 else bare
            if chosen:
                out.append(_name_extraction(text, chosen, score))
    return out


_LEADING_NAME = re.compile(
    r"\A\s*((?:[^\W\d_]+(?:['-][^\W\d_]+)*\s){0,2}[^\W\d_]+(?:['-][^\W\d_]+)*)\s*[,;]"
)


def _leading_name(text: str) -> list[tuple[int, int]]:
    """Capitalised words opening the message before a comma: "Yusuf Rossi, zip 19122"."""
    m = _LEADING_NAME.match(text)
    if m is None:
        return []
    base = m.start(1)
    words = [(w.start() + base, w.end() + base) for w in _NAME_WORD.finditer(m.group(1))]
    if not all(text[s].isupper() and text[s:e].lower() not in _NOT_NAMES for s, e in words):
        return []
    return words


def _pick(words: list[tuple[int, int]], part: NamePart) -> list[tuple[int, int]]:
    if part == "first":
        return words[:1]
    if part == "last":
        return words[-1:] if len(words) > 1 else []
    return words


def _name_words(text: str, start: int, *, need_capital: bool) -> list[tuple[int, int]]:
    words: list[tuple[int, int]] = []
    pos = start
    while len(words) < 4:
        m = _NAME_WORD.match(text, pos)
        if m is None:
            break
        word = m.group()
        low = word.lower()
        if low in _PARTICLES and words:
            nxt = _NAME_WORD.match(text, m.end() + 1)
            if nxt is None or text[m.end() : m.end() + 1] != " ":
                break
            words.append(m.span())
            pos = m.end() + 1
            continue
        if low in _NOT_NAMES or (need_capital and not word[0].isupper()):
            break
        words.append(m.span())
        if text[m.end() : m.end() + 1] != " ":
            break
        pos = m.end() + 1
    while words and text[words[-1][0] : words[-1][1]].lower() in _PARTICLES:
        words.pop()
    return words


def _bare_name(text: str) -> list[tuple[int, int]]:
    """A message that is only a name, maybe after an opening and before a closing word:
    "Rossi", "Sure: Rossi.", "ok, Dan Cohen please"."""
    lowered = text.lower()
    opening = _OPENING.match(lowered) if len(lowered) == len(text) else None
    start = opening.end() if opening is not None else 0
    closing = _CLOSING.search(text, start)
    end = closing.start() if closing is not None else len(text)
    stripped = text[start:end].strip().rstrip(".!")
    offset = text.find(stripped, start) if stripped else 0
    if not stripped or len(stripped) > 60:
        return []
    words = [m.span() for m in _NAME_WORD.finditer(stripped)]
    if not 1 <= len(words) <= 3:
        return []
    joined_len = sum(e - s for s, e in words) + len(words) - 1
    if joined_len != len(stripped):
        return []
    if any(stripped[s:e].lower() in _NOT_NAMES for s, e in words):
        return []
    return [(s + offset, e + offset) for s, e in words]


def _title(word: str) -> str:
    if word.islower() or word.isupper():
        return "-".join("'".join(p.capitalize() for p in w.split("'")) for w in word.split("-"))
    return word


def _name_extraction(text: str, words: list[tuple[int, int]], score: float) -> Extraction:
    start, end = words[0][0], words[-1][1]
    value = " ".join(
        text[s:e].lower() if k and text[s:e].lower() in _PARTICLES else _title(text[s:e])
        for k, (s, e) in enumerate(words)
    )
    return Extraction(value=value, span=(start, end), score=score, text=text[start:end])


def extract_booleans(text: str) -> list[Extraction]:
    """A boolean from a yes/no answer (score 0.85); nothing when unsure or not an answer."""
    match = yes_no_match(text)
    if match is None or match[0] == "unsure":
        return []
    label, span = match
    return [Extraction(value=label == "yes", span=span, score=0.85, text=text[span[0] : span[1]])]


_REASON_CUE = re.compile(
    r"\b(?:because(?:\sof)?|'?cause|cuz|coz|since|due to|the reason (?:is|was)(?: that)?"
    r"|reason(?: is|:)|reason being)\b[\s:,-]*"
)
_LEADING_FILLER = re.compile(
    r"\A[\W_]*(?:(?:hi|hello|hey|um+|uh+|er|well|so|ok|okay|yes|yeah|yep|sure|please|thanks"
    r"|thank you|i think|basically|honestly|actually|like|oh|ah|hmm+|it's|it is)\b[\W_]*)*"
)
_TRAILING_WORDS = ("please", "thanks", "thank you", "thx", "ty", "pls")
_MAX_FREE_TEXT = 2000


def _strip_trailing(folded: str, start: int, end: int) -> int:
    """Move ``end`` back over trailing punctuation and politeness ("..., thanks!")."""
    while True:
        while end > start and not folded[end - 1].isalnum():
            end -= 1
        for word in _TRAILING_WORDS:
            cut = end - len(word)
            if cut > start and folded.startswith(word, cut) and not folded[cut - 1].isalnum():
                end = cut
                break
        else:
            return end


def extract_free_text(text: str, folded: str, *, cue_only: bool = False) -> list[Extraction]:
    """Free-text candidates: after a reason cue (0.8), else the message minus filler (0.5)."""
    check_text(text)
    cue = _REASON_CUE.search(folded)
    if cue is not None:
        start, score = cue.end(), 0.8
    elif cue_only:
        return []
    else:
        lead = _LEADING_FILLER.match(folded)
        start, score = (lead.end() if lead else 0), 0.5
    end = min(len(folded), start + _MAX_FREE_TEXT)
    end = _strip_trailing(folded, start, end)
    while start < end and not (text[start].isalnum() or text[start] in "\"'#$€£"):
        start += 1
    value = " ".join(text[start:end].split())
    if not value or not any(c.isalnum() for c in value):
        return []
    return [Extraction(value=value, span=(start, end), score=score, text=text[start:end])]
