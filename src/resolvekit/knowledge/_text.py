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
    we were while will with would you your yours yourself s t d ll m re ve"""
STOPWORDS = frozenset(_STOPWORDS.split())
"""English function words (and contraction pieces: "don't" -> "don", "t") ignored by BM25.
Question words (what, when, where, which, who, why, how) are kept: "when will my refund arrive"
and "why was my refund refused" ask different things, and their IDF already weighs them
down where every entry uses them."""

_WORD = re.compile(r"[^\W_]+")


_WIKI_LINK = re.compile(r"\[\[([^\[\]|]*)(?:\|([^\[\]]*))?\]\]")
_TEMPLATE = re.compile(r"\{\{[^{}]*\}\}")
_ENTITY = re.compile(r"&(?:#\d+|#x[0-9a-f]+|[a-z]+);", re.IGNORECASE)


_CODE_LINE = re.compile(r"(?<!\{)\{(?!\{)|(?<!\})\}(?!\})|;.*[=(]|[=(].*;|^\s*(?:```|~~~)")


def clean_markup(text: str) -> str:
    """Remove markup a customer must never see from source text, keeping its words: wiki links
    ``[[target|label]]`` become ``label`` (``[[text]]`` becomes ``text``), ``{{templates}}`` are
    dropped and HTML entities (``&amp;``, ``&nbsp;``) decoded. Markdown (``**bold**``,
    ``[label](url)``, headings) and anything that looks like HTML are left alone: tags inside
    prose may be a code sample (HTML files are parsed as HTML, see ``documents.parse_html``).
    Lines that look like code (braces, ``;`` with ``=`` or ``(``, fences) are never changed:
    ``folders = [[name, url]];`` is an array, not a link."""
    if "[[" not in text and "{{" not in text and "&" not in text:
        return text
    return "\n".join(
        line if _CODE_LINE.search(line) else _clean_line(line) for line in text.split("\n")
    )


def _clean_line(line: str) -> str:
    if "[[" in line:
        line = _WIKI_LINK.sub(lambda m: (m.group(2) or m.group(1)).strip(), line)
    if "{{" in line:
        line = _TEMPLATE.sub("", line)
    if "&" in line:
        line = _ENTITY.sub(lambda m: html.unescape(m.group(0)).replace("\xa0", " "), line)
    return line


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
