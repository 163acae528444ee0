"""Deterministic English for the task-driven customer.

τ²-bench writes a customer's instructions in the second person ("You received your order
#W2378156 and wish to exchange ..."). The customer speaks in the first person, so these helpers
rewrite the text by rules (no model), split it into sentences, tell the spoken parts from the
stage directions ("If the agent asks ...", "do not reveal it to the agent") and put catalogue
records into words ("the mechanical keyboard (switch type: linear)").
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = [
    "SECRET",
    "address_line",
    "describe_items",
    "describe_options",
    "is_stage_direction",
    "norm",
    "split_sentences",
    "spoken_part",
    "strip_identity",
    "to_first_person",
]

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(#'\"\d])|\n\s*")
_DICT = re.compile(r"\{([^{}]*)\}")
_DICT_PAIR = re.compile(r"'([^']*)'\s*:\s*'([^']*)'")


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text``, stripped, without empty or punctuation-only pieces."""
    pieces = _SENTENCE_END.split(text.strip())
    return [p.strip() for p in pieces if re.search(r"\w", p)]


@functools.lru_cache(maxsize=4096)
def norm(text: str) -> str:
    """Lower case, punctuation dropped, spaces collapsed (for matching words in agent text).

    Remembered per text: the customer matches many phrases against each agent message."""
    text = re.sub(r"[^\w\s.]|(?<!\d)\.|\.(?!\d)", " ", text.lower())
    return " ".join(text.replace("_", " ").split())


def contains(haystack: str, phrase: str) -> bool:
    """True when ``phrase`` appears in ``haystack`` as whole words, after :func:`norm`."""
    wanted = _padded(phrase)
    return wanted != "  " and wanted in _padded(haystack)


@functools.lru_cache(maxsize=4096)
def _padded(text: str) -> str:
    return f" {norm(text)} "


# -- stage directions ------------------------------------------------------------------------

_DIRECTION_START = re.compile(
    r"^(?:\.?\s*)(?:if|when|once|but when|but if|make sure|do not|don't|be |mention|"
    r"try to|you are not familiar|note)\b",
    re.IGNORECASE,
)
SECRET = re.compile(
    r"\b(?:do not|don't|not want to|prefer not to|won't|will not|never) "
    r"(?:want to )?(?:reveal|share|mention|say|tell)\b",
    re.IGNORECASE,
)
_PAREN = re.compile(r"\s*\(([^()]*)\)")
_CONDITION_TAIL = re.compile(
    r"(?:,\s*(?:but\s+|and\s+)?|\s+(?:but|and)\s+)(?:if|when|once|unless)\b.*$", re.IGNORECASE
)


def is_stage_direction(sentence: str) -> bool:
    """True for instructions to the role-player rather than things the customer says.

    Conditional instructions ("If the agent asks for confirmation, only exchange the desk
    lamp.") and secrets ("The correct item id is ... (do not share this with the agent)") are
    stage directions; the customer's goal already reflects them (see ``goals.py``).
    """
    asides = [m.group(1) for m in _PAREN.finditer(sentence) if SECRET.search(m.group(1))]
    if any(re.search(r"\bthis\b", aside, re.IGNORECASE) for aside in asides):
        return True  # "(do not share this ...)": the whole sentence is the secret
    outside = _PAREN.sub(lambda m: "" if SECRET.search(m.group(1)) else m.group(0), sentence)
    return bool(_DIRECTION_START.search(outside) or SECRET.search(outside))


def spoken_part(sentence: str) -> str:
    """``sentence`` without its secret asides and trailing conditions.

    Example:
        >>> spoken_part("You want to cancel the grill, but if the agent asks, you keep it.")
        'You want to cancel the grill.'
    """
    text = _PAREN.sub(lambda m: "" if SECRET.search(m.group(1)) else m.group(0), sentence)
    text = _CONDITION_TAIL.sub("", text).strip()
    if text.count("(") > text.count(")"):  # a condition cut an aside in two
        text = text[: text.rindex("(")].strip()
    text = _DICT.sub(lambda m: f"({_dict_words(m.group(1))})", text)
    text = text.strip(" ,;:")
    if text and text[-1] not in ".!?":
        text += "."
    return text


def _dict_words(body: str) -> str:
    pairs = _DICT_PAIR.findall(body)
    return ", ".join(f"{k}: {v}" for k, v in pairs) if pairs else body


# -- second person -> first person -----------------------------------------------------------

_OBJECT_CONTEXT = re.compile(
    r"(?:\b(?:to|for|with|at|from|about|of|by|tell|tells|give|gives|help|helps|send|sends|"
    r"let|lets|show|shows|thank|thanks|call|calls|ask|asks|charge|charges|"
    r"contact|contacts|allow|allows|offer|offers|than)\s+)$",
    re.IGNORECASE,
)
_FIXED: tuple[tuple[str, str], ...] = (
    (r"\byou are\b", "I am"),
    (r"\byou were\b", "I was"),
    (r"\byou're\b", "I'm"),
    (r"\byou've\b", "I've"),
    (r"\byou'd\b", "I'd"),
    (r"\byou'll\b", "I'll"),
    (r"\byourself\b", "myself"),
    (r"\byours\b", "mine"),
    (r"\byour\b", "my"),
)
_AGENT_VERB = re.compile(r"\bthe agent (\w+)\b", re.IGNORECASE)
_LIKE = re.compile(r"\b(I |and )(?:(also|really|just) )?(?:want|wish) to\b")
_THIRD_PERSON = {"is": "are", "has": "have", "does": "do", "was": "were"}


def to_first_person(text: str) -> str:
    """Rewrite second-person instructions as the customer's own first-person words.

    "you" becomes "I" (or "me" after a preposition or an object-taking verb), "your" becomes
    "my", "the agent" becomes "you" (the customer speaks to the agent), and "want to"/"wish to"
    becomes "would like to".

    Example:
        >>> to_first_person("You received your order #W2378156 and wish to exchange the lamp.")
        "I received my order #W2378156 and I'd like to exchange the lamp."
    """
    out = _AGENT_VERB.sub(lambda m: f"the agent {_base_verb(m.group(1))}", text)
    out = re.sub(r"\bthe agent\b", "\x00", out, flags=re.IGNORECASE)
    for pattern, replacement in _FIXED:
        out = re.sub(pattern, _replacer(replacement), out, flags=re.IGNORECASE)
    out = re.sub(r"\byou\b", _you, out, flags=re.IGNORECASE)
    out = out.replace("\x00", "you")
    out = _LIKE.sub(_would_like, out)
    out = re.sub(r"\bI wonders\b", "I wonder", out)
    return out[:1].upper() + out[1:] if out else out


def _base_verb(verb: str) -> str:
    lowered = verb.lower()
    if lowered in _THIRD_PERSON:
        return _THIRD_PERSON[lowered]
    if lowered.endswith("ies") and len(lowered) > 4:
        return verb[:-3] + "y"
    if lowered.endswith(("sses", "shes", "ches", "xes")):
        return verb[:-2]
    if lowered.endswith("s") and not lowered.endswith("ss") and len(lowered) > 3:
        return verb[:-1]
    return verb


def _replacer(replacement: str) -> Callable[[re.Match[str]], str]:
    return lambda match: _case(match.group(0), replacement)


def _case(original: str, replacement: str) -> str:
    if replacement.startswith("I ") or replacement.startswith("I'") or replacement == "I":
        return replacement
    return replacement[:1].upper() + replacement[1:] if original[:1].isupper() else replacement


def _you(match: re.Match[str]) -> str:
    before = match.string[: match.start()]
    return "me" if _OBJECT_CONTEXT.search(before) else "I"


def _would_like(match: re.Match[str]) -> str:
    adverb = f"{match.group(2)} " if match.group(2) else ""
    if match.group(1) == "I ":
        return f"I'd {adverb}like to"
    return f"and I'd {adverb}like to"


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
_USER_ID = re.compile(r"\b[a-z]+_[a-z]+_\d{3,5}\b")


def strip_identity(text: str) -> str:
    """``text`` without e-mail addresses and user ids (the customer gives them when asked)."""
    text = re.sub(r"\b(?:user id|user ID|username)\s+" + _USER_ID.pattern, "account", text)
    text = _EMAIL.sub("", _USER_ID.sub("account", text))
    return re.sub(r"\s{2,}", " ", text).replace(" ,", ",").replace(" .", ".").strip()


# -- catalogue words -------------------------------------------------------------------------


def describe_options(options: Mapping[str, Any]) -> str:
    """Option values in catalogue words: ``"switch type: clicky and backlight: none"``."""
    return join_words([f"{name}: {value}" for name, value in options.items()])


def describe_items(order_items: Sequence[Mapping[str, Any]], chosen: Sequence[int]) -> str:
    """The chosen items of an order in words, telling apart items of the same product.

    Items of a product that appears once in the order are named by the product
    ("the mechanical keyboard"); otherwise the options that differ between those items are
    added ("the tablet (color: gold, storage: 64GB)"). Identical copies are counted
    ("the two tea kettles").

    Args:
        order_items: all the order's items (``name``, ``options``).
        chosen: indices into ``order_items``.
    """
    phrases: list[str] = []
    counts: dict[str, int] = {}
    for index in chosen:
        phrase = _item_phrase(order_items, index)
        counts[phrase] = counts.get(phrase, 0) + 1
        if counts[phrase] == 1:
            phrases.append(phrase)
    words = [_counted(phrase, counts[phrase]) for phrase in phrases]
    return join_words(words)


def _item_phrase(order_items: Sequence[Mapping[str, Any]], index: int) -> str:
    item = order_items[index]
    name = str(item["name"]).lower()
    same = [other for other in order_items if other["name"] == item["name"]]
    options: dict[str, Any] = dict(item.get("options", {}))
    distinct = {
        key: value
        for key, value in options.items()
        if any(other.get("options", {}).get(key) != value for other in same)
    }
    if distinct:
        return f"the {name} ({describe_options(distinct)})"
    return f"the {name}"


def _counted(phrase: str, count: int) -> str:
    if count == 1:
        return phrase
    numbers = {2: "two", 3: "three", 4: "four"}
    head, _, tail = phrase.removeprefix("the ").partition(" (")
    plural = head if head.endswith("s") else f"{head}s"
    rest = f" ({tail}" if tail else ""
    return f"the {numbers.get(count, str(count))} {plural}{rest}"


def join_words(words: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def address_line(address: Mapping[str, Any]) -> str:
    """One line: ``"123 Main St, Apt 4, Springfield, IL, USA, 62701"`` (empty parts left out)."""
    parts = [address.get(k, "") for k in ("address1", "address2", "city", "state", "country")]
    parts.append(address.get("zip", ""))
    return ", ".join(str(p) for p in parts if str(p).strip())
