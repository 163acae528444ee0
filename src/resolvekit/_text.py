"""Text helpers shared across the library: sanitising what arrives from outside, folding for the
extractors, and normalising texts to compare them.

- :func:`clean_text`: valid, storable Unicode (customer messages, ids).
- :func:`fold`: lower case with plain quotes and dashes, *same length as the input*, so offsets
  found in the folded text are offsets in the original (the extractors in
  :mod:`resolvekit.understanding`).
- :func:`normalize`: a comparison key. By default case, spacing, punctuation and number
  formatting are ignored (the evals: did the agent say this fact, did the customer repeat
  themselves); ``readable=True`` ignores only case, spacing and sentence punctuation at the end,
  and keeps the text readable (the knowledge gap log groups questions by it).

Search terms for BM25 are not here: they are :func:`resolvekit.knowledge._text.terms`, whose stop
words and plural folding define the vocabulary stored in a saved index.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["clean_text", "fold", "normalize"]

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
"""C0 and C1 control characters except tab, line feed and carriage return."""
_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """``text`` as valid, storable Unicode: lone surrogates (common in JSON webhooks that cut
    an emoji in half) become U+FFFD, valid surrogate pairs are joined, control characters
    other than tab and line breaks become spaces, and the result is NFC-normalised."""
    if _SURROGATE.search(text):
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    text = _CONTROL.sub(" ", text)
    return unicodedata.normalize("NFC", text)


_PLAIN = str.maketrans(
    {
        "\u2019": "'",
        "\u2018": "'",
        "\u02bc": "'",
        "`": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u00a0": " ",
    }
)
"""Typographic quotes, dashes and the no-break space, each to its one-character plain form."""


def fold(text: str) -> str:
    """Lower-case ``text`` and plain its quotes and dashes, keeping every offset.

    Characters whose lower case is longer than one character (such as ``"İ"``) are kept as they
    are, so ``len(fold(text)) == len(text)`` always holds.

    Example:
        >>> fold("It’s İZMİR — 10 Days")
        "it's İzmİr - 10 days"
    """
    plain = text.translate(_PLAIN)
    lowered = plain.lower()
    if len(lowered) == len(plain):
        return lowered
    return "".join(low if len(low := ch.lower()) == 1 else ch for ch in plain)


_NUMBER = re.compile(r"(?<![\w.])(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?!\w)")
_PUNCT = re.compile(r"[^\w\s.]|(?<!\d)\.|\.(?!\d)")
_SPACES = re.compile(r"\s+")


def _number(match: re.Match[str]) -> str:
    whole, _, fraction = match.group(0).replace(",", "").partition(".")
    whole = whole.lstrip("0") or "0"
    fraction = fraction.rstrip("0")
    return f"{whole}.{fraction}" if fraction else whole


def normalize(text: str, *, readable: bool = False) -> str:
    """``text`` as a key for comparing texts: equal keys mean "the same words".

    Args:
        text: any text.
        readable: False (the default): lower case, numbers in one form (``1,250.00`` ->
            ``1250``, ``007`` -> ``7``), punctuation and underscores become spaces (a dot
            inside a number is kept), runs of spaces become one, so facts can be looked for as
            whole words. True: only lower case, runs of whitespace become one space,
            whitespace at the start and spaces and sentence punctuation (``?``, ``!``, ``.``)
            at the end are dropped; the key still reads like the text.

    Returns:
        The key; empty when ``text`` has no words (with ``readable=False``) or is blank.

    Example:
        >>> normalize("Refund of $1,250.00 -- issued!")
        'refund of 1250 issued'
        >>> normalize("  What's the fee for order #12?? ", readable=True)
        "what's the fee for order #12"
    """
    if readable:
        return _SPACES.sub(" ", text.strip().lower()).rstrip(" ?!.")
    text = _NUMBER.sub(_number, text.lower())
    text = _PUNCT.sub(" ", text)
    return " ".join(text.replace("_", " ").split())
