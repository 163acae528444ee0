"""Hits, answers, grounding and answerability.

**Extractive answers** (no LLM): the best passage, or, when it is long, the window of consecutive
sentences that covers the most query terms, cited, with ``…`` where sentences were left out and
every warning sentence of the passage kept.

**Generated answers** (an LLM): the model gets the retrieved passages numbered from 1 and must
cite them with *citation markers*: ``[n]`` (or ``[n, m]``) right after the claim, where ``n`` is a
passage number. Grounding keeps only sentences that carry at least one marker pointing at a
retrieved passage; markers to anything else are removed, sentences left without a valid marker are
dropped, and the kept markers are renumbered to index :attr:`Answer.citations` (``[1]`` is
``citations[0]``). If nothing survives, the answer is not answerable (the model found the passages
insufficient, or cited nothing it was given): the agent clarifies or escalates.

A model is treated as an LLM when ``"answer" in model.capabilities``; others (no model, the
offline ``LocalModel``, test doubles without the capability) get extractive answers.

**Answerability** is the fused score of the best hit. Below the threshold the answer is
``answerable=False`` with no text: the agent clarifies or escalates rather than guess.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from ..messages import Citation
from ._text import split_sentences, terms
from .chunking import Chunk

__all__ = [
    "ANSWER_INSTRUCTIONS",
    "ELLIPSIS",
    "WARNING",
    "Answer",
    "Grounded",
    "Hit",
    "calibrate_threshold",
    "extract_answer",
    "ground",
]


@dataclass(kw_only=True)
class Hit:
    """One search result: a chunk, its scores and its citation."""

    chunk: Chunk
    score: float
    """Fused score (after stale down-weighting); what ``answerability`` is measured on."""
    dense: float = 0.0
    """Best-of-two cosine similarity."""
    lexical: float = 0.0
    """BM25 divided by its maximum for the query, in [0, 1]."""
    stale: bool = False
    """The chunk is past its ``review_by`` date (and was down-weighted)."""

    @property
    def text(self) -> str:
        return self.chunk.text

    @property
    def doc_id(self) -> str:
        return self.chunk.doc_id

    @property
    def citation(self) -> Citation:
        return self.chunk.citation


@dataclass(kw_only=True)
class Answer:
    """An answer to a knowledge question, with the evidence behind it."""

    query: str
    text: str
    """The answer ("" when not answerable)."""
    citations: list[Citation] = field(default_factory=list)
    answerability: float = 0.0
    """Fused score of the best hit: how well the knowledge base covers the question."""
    answerable: bool = False
    """``answerability >= threshold``; when False the agent must not guess."""
    hits: list[Hit] = field(default_factory=list)
    mode: Literal["extractive", "generated", "none"] = "none"
    """How ``text`` was made; ``none`` when not answerable."""
    dropped: list[str] = field(default_factory=list)
    """Generated sentences removed because they cited no retrieved passage."""
    rejected_citations: list[Citation] = field(default_factory=list)
    """Citations the model returned that point at no retrieved passage."""
    truncated: bool = False
    """An extractive answer cut from a longer passage (``…`` marks the cuts; the citation
    points at the whole passage)."""


ANSWER_INSTRUCTIONS = (
    "Answer the customer's question using only the numbered passages. After every sentence, "
    "cite the passages it relies on with markers like [1] or [1, 2]. Sentences without a valid "
    "marker are removed before the customer sees the answer. If the passages do not answer the "
    "question, say so in one sentence citing nothing."
)
"""Sent as ``ModelRequest.instructions`` with ``task="answer"``: the citation-marker convention."""


WARNING = re.compile(
    r"^[\s>*_!#\-\u26a0\ufe0f]*(?:warning|caution|important|danger|attention|note)\b"
    r"|^[\s>*_]*(?:do not|don't|never)\b",
    re.IGNORECASE,
)
"""Sentences an extractive answer never drops: those the source marks as a warning ("Warning:",
"Important:", "Note:", a "> **Caution**" callout...) or that forbid something ("Do not...",
"Never..."). Left out of a cut answer, they could turn advice into harm."""

ELLIPSIS = "…"
"""Marks where an extractive answer leaves out part of its passage."""


def extract_answer(
    query: str,
    hit: Hit,
    *,
    max_chars: int = 600,
    weight: Callable[[str], float] | None = None,
) -> str:
    """The best span of ``hit``'s text for ``query``.

    Args:
        query: the question.
        hit: the passage to answer from.
        max_chars: passages up to this length are returned whole; longer ones are cut to the
            window of consecutive sentences (at most this long) with the most query-term weight.
            A cut answer says so: ``…`` stands where sentences were left out. Sentences the
            source marks as warnings (:data:`WARNING`) are kept wherever they are, even past
            ``max_chars``.
        weight: importance of a term (e.g. its IDF); every term weighs 1 by default.
    """
    text = hit.chunk.text.strip()
    if len(text) <= max_chars:
        return text
    sentences = split_sentences(text)
    wanted = set(terms(query))
    weigh = weight or (lambda _term: 1.0)
    gains = [sum(weigh(t) for t in set(terms(s)) & wanted) for s in sentences]
    best: tuple[float, int, int] = (-1.0, 0, 1)
    for start in range(len(sentences)):
        length, score, end = 0, 0.0, start
        while end < len(sentences) and length + len(sentences[end]) + 1 <= max_chars:
            length += len(sentences[end]) + 1
            score += gains[end]
            end += 1
        if end == start:  # a single sentence longer than max_chars
            end = start + 1
            score = gains[start]
        # Strictly greater: ties go to the earliest window (answers tend to come first).
        if score > best[0]:
            best = (score, start, end)
    _, start, end = best
    kept = sorted(
        set(range(start, end)) | {i for i, s in enumerate(sentences) if WARNING.search(s)}
    )
    parts: list[str] = [ELLIPSIS] if kept[0] > 0 else []
    for position, index in enumerate(kept):
        if position and index != kept[position - 1] + 1:
            parts.append(ELLIPSIS)
        sentence = sentences[index]
        if len(sentence) > max_chars and not WARNING.search(sentence):
            sentence = sentence[: max_chars - 1].rstrip() + ELLIPSIS
        parts.append(sentence)
    if kept[-1] < len(sentences) - 1:
        parts.append(ELLIPSIS)
    return " ".join(parts)


_MARKER = re.compile(r"\[(\s*\d+\s*(?:,\s*\d+\s*)*)\]")
_TRAILING = re.compile(r"([.!?])((?:\s*\[\s*\d+\s*(?:,\s*\d+\s*)*\])+)")


@dataclass(kw_only=True)
class Grounded:
    """The result of :func:`ground`."""

    text: str
    """Kept sentences, markers renumbered to index :attr:`cited`."""
    cited: list[int] = field(default_factory=list)
    """0-based passage indexes in citation order."""
    dropped: list[str] = field(default_factory=list)


def ground(text: str, n_passages: int) -> Grounded:
    """Keep the sentences of ``text`` that cite one of ``n_passages`` passages (see module doc)."""
    # A marker written after the full stop ("... 5 days. [1]") belongs to the sentence before it.
    text = _TRAILING.sub(lambda m: " " + m.group(2).strip() + m.group(1), text)
    sentences = split_sentences(text)
    order: dict[int, int] = {}
    kept: list[str] = []
    dropped: list[str] = []
    for sentence in sentences:
        valid = [
            int(n) - 1
            for group in _MARKER.findall(sentence)
            for n in group.split(",")
            if 1 <= int(n) <= n_passages
        ]
        if not valid:
            dropped.append(_tidy(_MARKER.sub("", sentence)))
            continue
        for index in valid:
            order.setdefault(index, len(order))

        def renumber(match: re.Match[str]) -> str:
            numbers = [int(n) - 1 for n in match.group(1).split(",")]
            mine = sorted({order[i] + 1 for i in numbers if 0 <= i < n_passages})
            return "[" + ", ".join(map(str, mine)) + "]" if mine else ""

        kept.append(_tidy(_MARKER.sub(renumber, sentence)))
    return Grounded(text=" ".join(kept), cited=list(order), dropped=dropped)


def _tidy(sentence: str) -> str:
    """Remove the space a deleted marker leaves before punctuation."""
    return re.sub(r"\s+([.!?,;:])", r"\1", sentence).strip()


def calibrate_threshold(
    scores: Sequence[float], correct: Sequence[bool], *, target_precision: float = 0.9
) -> float:
    """The lowest answerability threshold whose answered queries reach ``target_precision``.

    Args:
        scores: answerability of each labelled query.
        correct: whether the top hit of each query was right (False for unanswerable queries).
        target_precision: the share of let-through answers that must be right.

    Returns:
        The threshold: answering every query with ``score >= threshold`` keeps precision at or
        above the target on these queries while declining as few as possible. If no threshold
        reaches the target, the highest score plus a small margin (decline everything).
    """
    if len(scores) != len(correct) or not scores:
        raise ValueError("scores and correct must be non-empty and of equal length")
    pairs = sorted(zip(scores, correct, strict=True), key=lambda p: -p[0])
    best: float | None = None
    right = 0
    for i, (score, ok) in enumerate(pairs, start=1):
        right += bool(ok)
        next_score = pairs[i][0] if i < len(pairs) else None
        # Only cut between distinct scores: equal scores are answered or declined together.
        if next_score != score and right / i >= target_precision:
            best = score
    return best if best is not None else pairs[0][0] + 1e-6
