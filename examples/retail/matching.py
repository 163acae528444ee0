"""How customers describe things: items by product name and options, orders by their contents.

Everything here is a deterministic score of word overlap, after normalising both sides the same
way ("1000ml" = "1000 ml", "T-Shirt" = "t shirt" = "tshirt", "headphone" = "Headphones"):

- :func:`match_items` finds the items of an order a description mentions ("the mechanical
  keyboard and the smart thermostat"); a product name mentioned for two different variants that
  the options do not tell apart is reported as ambiguous, so the agent asks.
- :func:`match_orders` ranks orders by how well a description fits their items.
- :func:`choose_variant` reads the options a customer wants ("same one but with clicky
  switches"): every option of the current item is kept except the ones named.
- :func:`pick_listed` understands "the second one" (or a quote) after the agent listed options,
  through the library's extractor with ``context=``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from resolvekit.models import SlotSpec
from resolvekit.understanding.extract import extract_value

from .db import Order, OrderItem, Product, Variant

__all__ = [
    "ItemMatch",
    "VariantChoice",
    "choose_variant",
    "clause_for",
    "declines",
    "describe_options",
    "match_items",
    "match_orders",
    "mentions",
    "normalise",
    "parts_about",
    "pick_listed",
    "wants_everything",
]

_SIZE_ALIASES = {
    "xs": ("xs", "extra small"),
    "s": ("s", "small"),
    "m": ("m", "medium"),
    "l": ("l", "large"),
    "xl": ("xl", "extra large"),
    "xxl": ("xxl", "2xl", "double extra large", "extra extra large"),
}
_ALL = re.compile(
    r"\b(all of (them|it|those|these)|all the items|all items|everything|every item|the whole order"
    r"|entire order|all \w+ items|both( of them)?)\b"
)
_UNITS = {
    "foot": "ft",
    "feet": "ft",
    "inches": "inch",
    "liter": "l",
    "liters": "l",
    "litre": "l",
    "litres": "l",
}
"""Unit words written out, as the catalogue abbreviates them ("4 foot" = "4 ft")."""
_EXCEPT = re.compile(r"\b(except|but not|other than|apart from|excluding)\b")
_DECLINE = re.compile(r"^(no|nope|nah|nothing|none|thats (all|it)|that is (all|it))\b")
_CHEAPEST = re.compile(r"\b(cheapest|least expensive|lowest price|cheaper)\b")
_PRICIEST = re.compile(r"\b(most expensive|priciest|highest price|pricier|more expensive)\b")


def normalise(text: str) -> str:
    """Lower-case words and numbers, units split from digits and abbreviated, punctuation
    dropped."""
    text = text.lower().replace("'", "").replace("’", "")
    text = re.sub(r"(?<=\d)(?=[a-z%])|(?<=[a-z])(?=\d)", " ", text)
    text = re.sub(r"(?<!\d)\.|\.(?!\d)", " ", text)
    text = re.sub(r"[^a-z0-9.%]+", " ", text)
    words = [_UNITS.get(w, w) for w in text.split()]
    return " ".join(words)


def _stem(word: str) -> str:
    if re.search(r"(ss|sh|ch|x|z)es$", word) and len(word) > 5:
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        return word[:-1]
    return word


def _words(text: str) -> list[str]:
    return [_stem(w) for w in normalise(text).split()]


def _contains(haystack: list[str], needle: list[str]) -> bool:
    if not needle:
        return False
    size = len(needle)
    return any(haystack[i : i + size] == needle for i in range(len(haystack) - size + 1))


def _value_forms(value: str) -> list[list[str]]:
    forms = [_words(value)]
    alias = _SIZE_ALIASES.get(value.strip().lower())
    if alias:
        forms.extend(_words(a) for a in alias)
    joined = normalise(value).replace(" ", "")
    if " " in normalise(value) and joined.isalpha():
        forms.append([_stem(joined)])
    return [f for f in forms if f]


def mentions(text: str, value: str) -> bool:
    """Whether ``text`` names the option value or product name ``value`` (as whole words)."""
    words = _words(text)
    return any(_contains(words, form) for form in _value_forms(value))


def _name_score(words: list[str], name: str, taken: frozenset[int] = frozenset()) -> float:
    """1.0 for the full product name, 0.8 for its head noun ("keyboard"), 0.4 for another word.

    Words at the positions ``taken`` (another product's full name, see :func:`_full_names`)
    do not count as a head noun or another word: "the action camera" names the Action Camera,
    not the Digital Camera too."""
    forms = _value_forms(name)
    if any(_contains(words, form) for form in forms):
        return 1.0
    joined = _stem(normalise(name).replace(" ", ""))
    if any(_stem(a + b) == joined for a, b in itertools.pairwise(words)):
        return 1.0  # "book shelf" for "Bookshelf"
    parts = _words(name)
    free = {w for i, w in enumerate(words) if i not in taken}
    if parts and parts[-1] in free:
        return 0.8
    if any(p in free for p in parts if len(p) > 3):
        return 0.4
    return 0.0


def _full_names(words: list[str], names: Sequence[str]) -> frozenset[int]:
    """The positions of ``words`` inside a full mention of one of the product ``names``."""
    taken: set[int] = set()
    for name in dict.fromkeys(names):
        for form in _value_forms(name):
            size = len(form)
            for i in range(len(words) - size + 1):
                if words[i : i + size] == form:
                    taken.update(range(i, i + size))
    return frozenset(taken)


def _options_score(words: list[str], options: Mapping[str, str]) -> float:
    if not options:
        return 0.0
    hits = sum(
        1 for value in options.values() if any(_contains(words, f) for f in _value_forms(value))
    )
    return hits / len(options)


def describe_options(options: Mapping[str, str]) -> str:
    """``{"color": "blue", "size": "M"}`` -> ``"color: blue, size: M"``."""
    return ", ".join(f"{key}: {value}" for key, value in options.items())


def wants_everything(text: str) -> bool:
    """ "All of them", "everything", "the whole order"."""
    return _ALL.search(normalise(text)) is not None


_VERBS = {
    "return": ("return", "refund", "send back"),
    "exchange": ("exchange", "swap", "replace", "trade"),
    "modify": ("modify", "change", "switch", "update", "upgrade", "swap", "replace"),
    "cancel": ("cancel",),
}
_ANY_VERB = re.compile(
    r"\b("
    + "|".join(sorted({v for vs in _VERBS.values() for v in vs}, key=len, reverse=True))
    + r")\w*"
)


def clause_for(text: str, action: str) -> str:
    """The part of a many-part request that is about ``action`` ("return", "exchange",
    "modify", "cancel"): from each of its verbs to the next action verb. The whole text when
    it has no verb of that action."""
    plain = normalise(text)
    verbs = _VERBS.get(action, ())
    spans = [(m.start(), m.group(1)) for m in _ANY_VERB.finditer(plain)]
    parts = [
        plain[start : spans[n + 1][0] if n + 1 < len(spans) else len(plain)]
        for n, (start, verb) in enumerate(spans)
        if verb in verbs
    ]
    return " ".join(parts) if parts else plain


def declines(text: str) -> bool:
    """ "No", "nothing else", "that's all": the answer turns an offer down."""
    return _DECLINE.search(normalise(text)) is not None


def parts_about(text: str, name: str, names: Sequence[str]) -> list[str]:
    """The parts of ``text`` about product ``name``, each from its mention to the next mention
    of any of ``names`` ("the lamp for a black one; the t-shirt for a red one")."""
    words = _words(text)
    plain = normalise(text).split()
    starts: dict[int, str] = {}
    for each in dict.fromkeys([*names, name]):
        for form in [*_value_forms(each), _words(each)[-1:]]:
            size = len(form)
            found = [i for i in range(len(words) - size + 1) if words[i : i + size] == form]
            if found:
                for i in found:
                    starts.setdefault(i, each)
                break
    order = sorted(starts)
    return [
        " ".join(plain[start : next((s for s in order if s > start), len(plain))])
        for start in order
        if starts[start] == name
    ]


@dataclass(kw_only=True)
class ItemMatch:
    """The items of an order a description picks out."""

    items: list[int] = field(default_factory=list)
    """Positions in the order's item list, in order."""
    ambiguous: list[list[int]] = field(default_factory=list)
    """Groups of positions the description does not tell apart (ask the customer)."""


def match_items(text: str, items: Sequence[OrderItem], *, names_only: bool = False) -> ItemMatch:
    """Which of ``items`` the description mentions.

    An item is picked when its product name (or head noun) is mentioned. When several items
    share the mentioned name, the ones whose option values are named win; different variants
    still tied are returned as an ambiguous group, identical ones (same item id) are all picked.
    "Everything except the kettle" picks all the others. ``names_only``: never pick by option
    values alone.
    """
    words = _words(text)
    plain = normalise(text)
    cut = _EXCEPT.search(plain)
    if cut is not None and wants_everything(plain[: cut.start()]):
        left_out = match_items(plain[cut.end() :], items, names_only=True)
        drop = set(left_out.items) | {i for group in left_out.ambiguous for i in group}
        return ItemMatch(items=[i for i in range(len(items)) if i not in drop])
    if wants_everything(text):
        return ItemMatch(items=list(range(len(items))))
    by_name: dict[str, list[int]] = {}
    taken = _full_names(words, [item.name for item in items])
    for index, item in enumerate(items):
        if _name_score(words, item.name, taken) >= 0.8:
            by_name.setdefault(item.name, []).append(index)
    if not by_name and names_only:
        return ItemMatch()
    if not by_name:
        # No product named: maybe only options ("the blue one", "the 1000ml one"). Values like
        # "no" or "yes" say nothing on their own ("No, that's all" is not the waterproof-no boots).
        scored = [
            (_options_score(words, _telling(item.options)), i) for i, item in enumerate(items)
        ]
        best = max((s for s, _ in scored), default=0.0)
        if best <= 0:
            return ItemMatch()
        chosen = [i for s, i in scored if s == best]
        return _settle(chosen, items)
    result = ItemMatch()
    for name, positions in by_name.items():
        chosen, decided = _by_options(words, name, positions, items)
        settled = ItemMatch(items=chosen) if decided else _settle(chosen, items)
        result.items.extend(settled.items)
        result.ambiguous.extend(settled.ambiguous)
    result.items.sort()
    return result


def _telling(options: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in options.items() if normalise(v) not in _BARE_VALUES}


def _by_options(
    words: list[str], name: str, positions: list[int], items: Sequence[OrderItem]
) -> tuple[list[int], bool]:
    """The items sharing ``name`` that the description picks by their options, and whether
    that pick is decided (several mentions each naming its item) rather than a best guess.

    Only the values that tell the items apart count. When the name is said several times ("the
    skateboard (28 inch) and the skateboard (34 inch)") every item with a distinguishing value
    named is picked; said once, the best-scoring one (a tie stays ambiguous).
    """
    if len({items[i].item_id for i in positions}) <= 1:
        return positions, False
    hits: dict[int, int] = {}
    for i in positions:
        options = items[i].options
        telling = {
            k: v
            for k, v in options.items()
            if any(items[j].options.get(k) != v for j in positions if j != i)
        }
        hits[i] = sum(
            1 for value in telling.values() if any(_contains(words, f) for f in _value_forms(value))
        )
    named = [i for i in positions if hits[i] > 0]
    if _occurrences(words, name) > 1 and named:
        return named, True
    best = max(hits.values())
    return [i for i in positions if hits[i] == best], False


def _occurrences(words: list[str], name: str) -> int:
    """How many times the product name (or its head noun) is said."""
    for form in [*_value_forms(name), _words(name)[-1:]]:
        size = len(form)
        count = sum(1 for i in range(len(words) - size + 1) if words[i : i + size] == form)
        if count:
            return count
    return 0


def _settle(chosen: list[int], items: Sequence[OrderItem]) -> ItemMatch:
    if len({items[i].item_id for i in chosen}) <= 1:
        return ItemMatch(items=chosen)
    return ItemMatch(ambiguous=[chosen])


def match_orders(text: str, orders: Sequence[Order]) -> list[tuple[float, Order]]:
    """Orders ranked by how well the description fits their items (best first, score > 0)."""
    words = _words(text)
    taken = _full_names(words, [item.name for order in orders for item in order.items])
    ranked = []
    for order in orders:
        score = 0.0
        for item in order.items:
            name = _name_score(words, item.name, taken)
            if name >= 0.8:
                score += name + 0.2 * _options_score(words, item.options)
        if score > 0:
            ranked.append((round(score, 4), order))
    ranked.sort(key=lambda pair: -pair[0])
    return ranked


@dataclass(kw_only=True)
class VariantChoice:
    """What a customer's wish for new options comes to."""

    kind: Literal["exact", "unavailable", "unchanged", "none"]
    """``exact``: an available variant with exactly the wanted options; ``unavailable``: no
    available variant has them (see ``candidates``); ``unchanged``: the wish is the current item;
    ``none``: no option value was recognised."""
    variant: Variant | None = None
    wanted: dict[str, str] = field(default_factory=dict)
    """The options asked for: the current ones with the named ones replaced."""
    named: dict[str, str] = field(default_factory=dict)
    candidates: list[Variant] = field(default_factory=list)
    """Available variants matching every named option (closest to the current item first)."""


def choose_variant(
    text: str,
    product: Product,
    current: Mapping[str, str],
    *,
    keep: Mapping[str, str] | None = None,
) -> VariantChoice:
    """The variant of ``product`` a customer asks for, relative to the ``current`` options.

    Options the customer does not name keep their current value ("same but in blue"). When the
    text names two values of one option ("Google Home instead of Apple HomeKit") the one that
    differs from the current value wins. "The cheapest" / "the most expensive" pick by price
    among the available variants that fit the named options. ``keep``: options named in earlier
    answers, overridden by this one's.
    """
    words = _words(text)
    values: dict[str, set[str]] = {}
    for variant in product.variants.values():
        for key, value in variant.options.items():
            values.setdefault(key, set()).add(value)
    named: dict[str, str] = dict(keep or {})
    for key, choices in values.items():
        # Another option's literal values ("medium" ventilation) are not aliases of this
        # option's ("medium" for size M) unless said next to this option's name.
        shadowed = {normalise(v) for k, vs in values.items() if k != key for v in vs}
        full = [v for v in choices if _names_value(words, key, v, shadowed)]
        # The longest mention wins over one inside it ("space grey" over "grey").
        full = [v for v in full if not any(v != o and mentions(o, v) for o in full)]
        partial = [v for v in _partial_hits(words, key, choices) if v not in full]
        for group in (full, partial):
            changed = sorted(v for v in group if v != current.get(key))
            if changed:
                named[key] = max(changed, key=lambda v: len(normalise(v)))
                break
        else:
            if full:
                named[key] = full[0]
    available = [v for v in product.variants.values() if v.available]
    fitting = [v for v in available if all(v.options.get(k) == x for k, x in named.items())]
    fitting.sort(key=lambda v: (-_agreement(v.options, current), v.price, v.item_id))
    by_price = _CHEAPEST.search(normalise(text)) or _PRICIEST.search(normalise(text))
    if by_price:
        pool = [v for v in fitting if v.options != dict(current)]
        if pool:
            cheap = _CHEAPEST.search(normalise(text)) is not None
            pick = min(pool, key=lambda v: v.price) if cheap else max(pool, key=lambda v: v.price)
            return VariantChoice(kind="exact", variant=pick, wanted=dict(pick.options), named=named)
    if not named:
        return VariantChoice(
            kind="none", candidates=[v for v in available if v.options != dict(current)]
        )
    wanted = {**current, **named}
    if wanted == dict(current):
        return VariantChoice(kind="unchanged", wanted=wanted, named=named)
    exact = next((v for v in available if v.options == wanted), None)
    if exact is not None:
        return VariantChoice(kind="exact", variant=exact, wanted=wanted, named=named)
    return VariantChoice(
        kind="unavailable",
        wanted=wanted,
        named=named,
        candidates=[v for v in fitting if v.options != dict(current)],
    )


_NONE_VALUES = frozenset({"none", "no"})
_BARE_VALUES = frozenset({"none", "no", "yes"})


def _names_value(words: list[str], key: str, value: str, shadowed: set[str] | None = None) -> bool:
    """The value's words; a bare "no", "none" or "yes" only next to its option's name.

    "waterproof: no", "no waterproof", "without backlight", "not waterproof" name a "no" value;
    "waterproof: yes" a "yes" value. A lone "no" ("No, the blue one") names nothing. An alias
    ("medium" for size M) in ``shadowed`` (another option's literal values) counts only next to
    the option's name ("size medium", "medium size").
    """
    plain = normalise(value)
    key_words = _words(key)
    if plain in _NONE_VALUES:
        forms = [[*key_words, "no"], [*key_words, "none"], ["no", *key_words]]
        forms += [["without", *key_words], ["not", *key_words], ["non", *key_words]]
        return any(_contains(words, form) for form in forms)
    if plain == "yes":
        return _contains(words, [*key_words, "yes"]) or _contains(words, ["with", *key_words])
    forms = _value_forms(value)
    if forms and forms[0] == _words(value) and _contains(words, forms[0]):
        return True
    for form in forms:
        if not _contains(words, form):
            continue
        if shadowed is None or " ".join(form) not in shadowed:
            return True
        if _contains(words, [*key_words, *form]) or _contains(words, [*form, *key_words]):
            return True
    return False


def _partial_hits(words: list[str], key: str, choices: set[str]) -> list[str]:
    """Values named by a word no other value of the option has ("google" -> Google Assistant)."""
    generic = set(_words(key)) | {"size", "type", "color", "with", "and", "the"}
    counts: dict[str, int] = {}
    for value in choices:
        for word in set(_words(value)):
            counts[word] = counts.get(word, 0) + 1
    return sorted(
        value
        for value in choices
        if any(
            w in words and counts[w] == 1 and len(w) > 2 and w not in generic
            for w in set(_words(value))
        )
    )


def _agreement(options: Mapping[str, str], current: Mapping[str, str]) -> int:
    return sum(1 for key, value in current.items() if options.get(key) == value)


def pick_listed(text: str, labels: Sequence[str]) -> int | None:
    """The position of the listed option the customer picks ("the second one", a quote)."""
    if not labels:
        return None
    spec = SlotSpec(name="choice", kind="choice", choices=list(labels))
    found = extract_value(text, spec, context=list(labels))
    if found is None or found.score < 0.7:
        return None
    return list(labels).index(str(found.value))
