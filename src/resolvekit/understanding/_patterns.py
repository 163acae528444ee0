"""Developer-declared regular expressions for slots, and how their matches are normalised.

A slot may declare ``pattern`` (for finding the value in a message) and its JSON Schema may declare
``pattern`` too (what the tool will accept). Searching and normalising work like this:

1. The search pattern is ``slot.pattern``, or else the JSON Schema ``pattern``. A leading ``^`` /
   ``\\A`` and a trailing ``$`` / ``\\Z`` are dropped (they anchor a *whole value*, not a message),
   and the pattern must not touch a letter or digit on either side (``W\\d{7}`` does not match
   inside ``W12345678``).
2. It is tried case-sensitively first (score 1.0), then case-insensitively (score 0.9; 0.4 when the
   match is a plain word the customer did not write in capitals, "cancel" or "Robert" for
   ``[A-Z0-9]{6}``: most likely a word, not a code).
3. If the pattern has a group named ``value``, that group is the value; else, if it has groups,
   the first group that took part in the match; else the whole match.
4. The value is normalised to what the tool accepts. Variants are tried in this order and the
   first accepted wins: as written, upper-cased, then each without a leading ``#``, then each
   with a ``#`` added. "Accepted" means it matches the JSON Schema ``pattern`` (JSON Schema
   semantics: a search) and, when the whole match is the value, the search pattern in full. So
   with ``pattern="#?W\\d{7}"`` and a schema pattern ``^W\\d{7}$``, "#w1234567" gives
   ``"W1234567"``; with a schema pattern ``^#W\\d{7}$``, "W1234567" gives ``"#W1234567"``. A match
   no variant of which is accepted is dropped.

Patterns come from developers, so they are checked when first used: an invalid one raises
:class:`~resolvekit.exceptions.UserError` naming the slot, and so does a group repeated with an
unbounded quantifier around another unbounded quantifier (``(\\w+)+``, ``(a*)*``), the classic
shape of catastrophic backtracking; rewrite it with a possessive quantifier (``\\w++``) or an
atomic group (``(?>...)``). Long messages are scanned in overlapping 512-character windows so any
remaining super-linear pattern stays bounded per window.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..exceptions import UserError
from ._common import Extraction

__all__ = ["SlotPatterns", "extract_pattern", "schema_get", "slot_patterns"]

_WINDOW = 512
_FOLDED_WORD = 0.4
"""Score of a case-insensitive match that is a plain lower-case or Capitalised word: below the
bar for prefilling or correcting slots, so "cancel my booking" never sets a booking reference."""
_OVERLAP = 128


@dataclass(kw_only=True, frozen=True)
class SlotPatterns:
    """The compiled patterns of one slot."""

    search: re.Pattern[str]
    search_folded: re.Pattern[str]
    """The same, case-insensitive."""
    whole: re.Pattern[str]
    """The search pattern alone, for checking a whole value (``fullmatch``)."""
    schema: re.Pattern[str] | None
    """The JSON Schema pattern (``search`` semantics)."""


def schema_get(schema: dict[str, Any], key: str) -> Any:
    """``schema[key]``, also looking into ``anyOf``/``oneOf`` branches (``Optional[...]``)."""
    if key in schema:
        return schema[key]
    for branch_key in ("anyOf", "oneOf", "allOf"):
        for branch in schema.get(branch_key, []) or []:
            if isinstance(branch, dict) and key in branch:
                return branch[key]
    return None


def _backslashes_before(pattern: str, index: int) -> int:
    count = 0
    while index - 1 - count >= 0 and pattern[index - 1 - count] == "\\":
        count += 1
    return count


def unanchor(pattern: str) -> str:
    """Drop a leading ``^``/``\\A`` and a trailing unescaped ``$``/``\\Z``."""
    core = pattern
    if core.startswith("^"):
        core = core[1:]
    elif core.startswith("\\A"):
        core = core[2:]
    if core.endswith("$") and _backslashes_before(core, len(core) - 1) % 2 == 0:
        core = core[:-1]
    elif core.endswith("\\Z") and _backslashes_before(core, len(core) - 1) % 2 == 1:
        core = core[:-2]
    return core


def _quantifier_at(pattern: str, i: int) -> tuple[str | None, int]:
    """The quantifier starting at ``pattern[i]``: (``"unbounded"``/``"bounded"``/None, length).

    A possessive quantifier (``*+``, ``++``, ``{2,}+``) counts as bounded: it never backtracks.
    """
    if i >= len(pattern):
        return None, 0
    c = pattern[i]
    kind: str | None = None
    length = 0
    if c in "*+":
        kind, length = "unbounded", 1
    elif c == "?":
        kind, length = "bounded", 1
    elif c == "{":
        m = re.match(r"\{(\d*)(,?)(\d*)\}", pattern[i:])
        if m is None:
            return None, 0
        kind = "unbounded" if m.group(2) and not m.group(3) else "bounded"
        length = m.end()
    if kind is None:
        return None, 0
    nxt = pattern[i + length : i + length + 1]
    if nxt == "+":
        return "bounded", length + 1
    if nxt == "?":
        return kind, length + 1
    return kind, length


def nested_quantifier(pattern: str) -> bool:
    """True when a group holding an unbounded quantifier is itself repeated without bound."""
    stack: list[list[bool]] = [[False, False]]  # [contains unbounded quantifier, atomic]
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if c == "[":
            j = i + 1
            if j < n and pattern[j] == "^":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                j += 2 if pattern[j] == "\\" else 1
            i = j + 1
            continue
        if c == "(":
            stack.append([False, pattern.startswith("(?>", i)])
            i += 1
            continue
        if c == ")" and len(stack) > 1:
            inner, atomic = stack.pop()
            kind, length = _quantifier_at(pattern, i + 1)
            if kind == "unbounded" and inner and not atomic:
                return True
            if (inner and not atomic) or kind == "unbounded":
                stack[-1][0] = True
            i += 1 + length
            continue
        kind, length = _quantifier_at(pattern, i)
        if kind == "unbounded":
            stack[-1][0] = True
        i += max(1, length)
    return False


@functools.lru_cache(maxsize=512)
def _compile(search: str, schema: str | None) -> SlotPatterns:
    core = unanchor(search)
    if nested_quantifier(core):
        raise ValueError(
            "it repeats a group that already holds an unbounded quantifier, which can take "
            "exponential time; use a possessive quantifier (\\w++) or an atomic group (?>...)"
        )
    wrapped = rf"(?<![^\W_])(?:{core})(?![^\W_])"
    return SlotPatterns(
        search=re.compile(wrapped),
        search_folded=re.compile(wrapped, re.IGNORECASE),
        whole=re.compile(core),
        schema=re.compile(schema) if schema is not None else None,
    )


def slot_patterns(
    name: str, pattern: str | None, json_schema: dict[str, Any]
) -> SlotPatterns | None:
    """Compile a slot's patterns (cached), or None when it declares none.

    Raises:
        UserError: a pattern is not a valid regular expression, or risks catastrophic
            backtracking; the message names the slot.
    """
    schema_pattern = schema_get(json_schema, "pattern")
    if schema_pattern is not None and not isinstance(schema_pattern, str):
        raise UserError(f"Slot {name!r}: the JSON Schema 'pattern' must be a string")
    search = pattern if pattern is not None else schema_pattern
    if search is None:
        return None
    if not isinstance(search, str) or not search:
        raise UserError(f"Slot {name!r}: pattern must be a non-empty string, got {search!r}")
    try:
        return _compile(search, schema_pattern)
    except (re.error, ValueError) as err:
        raise UserError(f"Slot {name!r} has an unusable pattern {search!r}: {err}") from err


def _variants(value: str) -> list[str]:
    bases = [value] if value == value.upper() else [value, value.upper()]
    out = list(bases)
    out += [b[1:] for b in bases if b.startswith("#") and len(b) > 1]
    out += ["#" + b for b in bases if not b.startswith("#")]
    return out


def normalise(value: str, patterns: SlotPatterns, *, whole_match: bool) -> str | None:
    """The first variant of ``value`` the slot's patterns accept (see the module docstring)."""
    checks: list[Callable[[str], object]] = []
    if patterns.schema is not None:
        checks.append(patterns.schema.search)
    if whole_match:
        checks.append(patterns.whole.fullmatch)
    for variant in _variants(value):
        if all(check(variant) for check in checks):
            return variant
    return None


def _windows(text: str) -> list[tuple[int, int]]:
    if len(text) <= _WINDOW:
        return [(0, len(text))]
    step = _WINDOW - _OVERLAP
    return [(s, min(len(text), s + _WINDOW)) for s in range(0, len(text) - _OVERLAP, step)]


def _value_group(match: re.Match[str]) -> int | str:
    if "value" in match.re.groupindex:
        return "value"
    for index in range(1, (match.re.groups or 0) + 1):
        if match.group(index) is not None:
            return index
    return 0


def extract_pattern(text: str, patterns: SlotPatterns) -> list[Extraction]:
    """Candidates from the slot's own pattern, normalised; case-insensitive matches score 0.9."""
    found: dict[tuple[int, int], Extraction] = {}
    for regex, score in ((patterns.search, 1.0), (patterns.search_folded, 0.9)):
        for start, end in _windows(text):
            for m in regex.finditer(text, start, end):
                if m.end() == end < len(text):
                    continue  # cut by the window edge; the next window sees it whole
                group = _value_group(m)
                raw = m.group(group)
                if not raw:
                    continue
                span = m.span(group)
                if span in found:
                    continue
                value = normalise(raw, patterns, whole_match=group == 0)
                if value is None:
                    continue
                # Matched only after case-folding and written as a word ("cancel", "Robert"
                # for [A-Z0-9]{6}): most likely a word, not a code.
                word = score < 1.0 and raw.isalpha() and not raw.isupper()
                found[span] = Extraction(
                    value=value, span=span, score=_FOLDED_WORD if word else score, text=raw
                )
    return sorted(found.values(), key=lambda e: e.span)
