"""Sanitising text that arrives from outside (customer messages, ids)."""

from __future__ import annotations

import re
import unicodedata

__all__ = ["clean_text"]

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
