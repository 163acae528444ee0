"""Text helpers shared by chunking, BM25 and extractive answers: sentences and search terms."""

from __future__ import annotations

import re

__all__ = ["STOPWORDS", "split_sentences", "stem", "terms"]

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
