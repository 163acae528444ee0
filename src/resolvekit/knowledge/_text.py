"""Text helpers shared by chunking, BM25 and extractive answers: sentences and search terms."""

from __future__ import annotations

import html
import re

__all__ = ["STOPWORDS", "clean_markup", "split_sentences", "stem", "terms"]

_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences at ``.``/``!``/``?`` followed by a capital or digit."""
    out: list[str] = []
    for line in text.split("\n"):
        line = line.strip()
        if line:
            out.extend(part.strip() for part in _SENTENCE_END.split(line) if part.strip())
    return out


_STOPWORDS = """a an and are as at be been being but by can could did do does doing for from had
    has have having he her here hers him his i if in into is it its itself me my myself of on or
    our ours she so than that the their theirs them then there these they this those to too was
    we were what when where which while who whom why will with would you your yours yourself
    s t d ll m re ve"""
STOPWORDS = frozenset(_STOPWORDS.split())
"""English function words (and contraction pieces: "don't" -> "don", "t") ignored by BM25."""

_WORD = re.compile(r"[^\W_]+")


_WIKI_LINK = re.compile(r"\[\[([^\[\]|]*)(?:\|([^\[\]]*))?\]\]")
_TEMPLATE = re.compile(r"\{\{[^{}]*\}\}")
_TAG = re.compile(
    r"</?(a|b|i|u|em|strong|span|font|small|big|sub|sup|p|div|br|hr|li|ul|ol)\b[^<>]*/?>",
    re.IGNORECASE,
)
_BLOCK_TAGS = frozenset({"p", "div", "br", "hr", "li", "ul", "ol"})
_ENTITY = re.compile(r"&(?:#\d+|#x[0-9a-f]+|[a-z]+);", re.IGNORECASE)


def clean_markup(text: str) -> str:
    """Remove markup a customer must never see from source text, keeping its words: wiki links
    ``[[target|label]]`` become ``label`` (``[[text]]`` becomes ``text``), ``{{templates}}`` are
    dropped, stray inline HTML tags (``<br>``, ``<b>``, ``<a href>``...) are removed and HTML
    entities decoded. Markdown (``**bold**``, ``[label](url)``, headings) is left alone."""
    if "[[" in text:
        text = _WIKI_LINK.sub(lambda m: (m.group(2) or m.group(1)).strip(), text)
    if "{{" in text:
        text = _TEMPLATE.sub("", text)
    if "<" in text:
        text = _TAG.sub(lambda m: "\n" if m.group(1).lower() in _BLOCK_TAGS else "", text)
    if "&" in text:
        text = _ENTITY.sub(lambda m: html.unescape(m.group(0)).replace("\xa0", " "), text)
    return text


def stem(word: str) -> str:
    """Harman's "S" stemmer: folds regular plurals (``refunds`` -> ``refund``) and nothing else."""
    if len(word) > 3 and word.endswith("ies") and not word.endswith(("eies", "aies")):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("es") and not word.endswith(("aes", "ees", "oes")):
        return word[:-1]
    if len(word) > 2 and word.endswith("s") and not word.endswith(("us", "ss")):
        return word[:-1]
    return word


def terms(text: str) -> list[str]:
    """Search terms of ``text``: lower-cased words, stop words removed, plurals folded."""
    return [stem(w) for w in _WORD.findall(text.lower()) if w not in STOPWORDS]
