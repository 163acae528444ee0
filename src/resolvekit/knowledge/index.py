"""The hybrid index: exact dense cosine + BM25 over chunks, fused into one score.

Every chunk has a *body* (its context line + text) and, for FAQ entries, a *field*: the entry's
question. Four signals are computed for every chunk, each in a fixed range so that scores mean
the same thing from one query to the next (which the answerability threshold relies on):

- ``dense``: the better of cosine(query, body) and cosine(query, question) ("best of two");
- ``dense_field``: cosine(query, question) (the body's cosine for chunks without a question);
- ``lexical``: BM25 of the body divided by :meth:`BM25Index.max_score` (in [0, 1]);
- ``lexical_field``: the same over the question (the body's value for chunks without one).

With :attr:`Fusion.center`, the dense cosines are *centred*: measured after subtracting the mean
of all indexed vectors (bodies and questions) from the query and every vector. Sentence
embeddings share a large common direction (about a third of a MiniLM vector's length), which
inflates every cosine and blurs near-duplicate documents; removing it is a parameter-free
post-processing step (no labelled queries). The mean is shrunk towards zero for small corpora
(``n_docs / (n_docs + CENTER_PRIOR_DOCS)``) so a knowledge base of two documents is not pushed
to antipodes. Centred cosines come from the raw matrix-vector product with per-row constants
(no second copy of the vectors): ``(q.d - q.m - m.d + m.m) / (|q - m| |d - m|)``.

:class:`Fusion` combines them: ``weighted`` (the default; a weighted sum, weights chosen on a
held-out split by ``tools/bench/bench_knowledge.py``) or ``rrf`` (reciprocal rank fusion of the
``dense`` and ``lexical`` rankings). Stale chunks (past ``review_by``) are multiplied by
``stale_factor``; metadata filters mask chunks out before ranking.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Literal

import numpy as np

from ..exceptions import UserError
from ._text import terms as text_terms
from .bm25 import BM25Index
from .chunking import Chunk

if TYPE_CHECKING:
    import numpy.typing as npt

__all__ = ["CENTER_PRIOR_DOCS", "Filters", "Fusion", "HybridIndex", "Ranking"]

Filters = Mapping[str, str | Sequence[str]]
"""Metadata filters: ``{"product": "payments", "locale": ["en", "en-GB"], "audience": ...}``.

A chunk passes a filter when its value is one of the allowed values, or when it has no value for
that key (general content applies everywhere). ``audience`` is special: ``"customer"`` (the
default when absent) hides ``agent``-only content; ``"agent"`` sees everything.
"""

FLOAT = np.float32

CENTER_PRIOR_DOCS = 8
"""Shrinkage of the centring mean: it is scaled by ``n_docs / (n_docs + CENTER_PRIOR_DOCS)``."""


@dataclass(kw_only=True, frozen=True)
class Fusion:
    """How the signals combine into one score (see the module docstring)."""

    method: Literal["weighted", "rrf"] = "weighted"
    dense: float = 1.0
    """Weight of the best-of-two dense cosine."""
    dense_field: float = 0.0
    lexical: float = 0.0
    lexical_field: float = 0.0
    rrf_k: int = 60
    """RRF constant (``1 / (rrf_k + rank)``); ``rrf`` only."""
    center: bool = False
    """Centre the dense cosines on the corpus mean vector (see the module docstring)."""

    def __post_init__(self) -> None:
        if self.method not in ("weighted", "rrf"):
            raise UserError(f"Fusion.method must be 'weighted' or 'rrf', not {self.method!r}")
        weights = (self.dense, self.dense_field, self.lexical, self.lexical_field)
        if any(w < 0 for w in weights) or not any(weights):
            raise UserError("Fusion weights must be non-negative and not all zero")

    def to_json(self) -> dict[str, object]:
        return {
            "method": self.method,
            "dense": self.dense,
            "dense_field": self.dense_field,
            "lexical": self.lexical,
            "lexical_field": self.lexical_field,
            "rrf_k": self.rrf_k,
            "center": self.center,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Fusion:
        method = data.get("method", "weighted")
        if method not in ("weighted", "rrf"):
            raise ValueError(f"unknown fusion method {method!r}")
        return cls(
            method=method,
            dense=float(str(data.get("dense", 1.0))),
            dense_field=float(str(data.get("dense_field", 0.0))),
            lexical=float(str(data.get("lexical", 0.0))),
            lexical_field=float(str(data.get("lexical_field", 0.0))),
            rrf_k=int(str(data.get("rrf_k", 60))),
            # Indexes saved before centring existed keep their raw cosines.
            center=data.get("center", False) is True,
        )


@dataclass(kw_only=True)
class Ranking:
    """Ranked chunk rows for one query, with each row's signals."""

    rows: npt.NDArray[np.int64]
    """Chunk rows, best first."""
    scores: npt.NDArray[np.float32]
    """Fused scores (after stale down-weighting) of ``rows``."""
    dense: npt.NDArray[np.float32]
    lexical: npt.NDArray[np.float32]
    stale: npt.NDArray[np.bool_]


@dataclass(kw_only=True, eq=False)
class HybridIndex:
    """Arrays for dense + lexical search over a fixed list of chunks. Rebuilt when chunks change."""

    chunks: list[Chunk]
    vectors: npt.NDArray[np.float32]
    """``(n_chunks, dim)`` unit rows: the embedded bodies."""
    field_rows: npt.NDArray[np.int64]
    """Chunk row of each question vector."""
    field_vectors: npt.NDArray[np.float32]
    bm25: BM25Index
    """Over chunk bodies."""
    field_bm25: BM25Index
    """Over questions, one document per entry of :attr:`field_rows`."""
    _doc_codes: npt.NDArray[np.int64] = field(init=False, repr=False)
    _review_by: npt.NDArray[np.int64] = field(init=False, repr=False)
    _columns: dict[str, tuple[dict[str, int], npt.NDArray[np.int32]]] = field(
        init=False, repr=False, default_factory=dict
    )
    _stale_day: int = field(init=False, repr=False, default=-1)
    _stale_mask: npt.NDArray[np.bool_] | None = field(init=False, repr=False, default=None)
    _customer_mask: tuple[npt.NDArray[np.bool_] | None] | None = field(
        init=False, repr=False, default=None
    )
    _centering: _Centering | None = field(init=False, repr=False, default=None)

    def __post_init__(self) -> None:
        n = len(self.chunks)
        if self.vectors.shape[0] != n or self.bm25.n_docs != n:
            raise ValueError("vectors, BM25 and chunks disagree on the number of chunks")
        if self.field_vectors.shape[0] != len(self.field_rows) != self.field_bm25.n_docs:
            raise ValueError("field vectors, field BM25 and field rows disagree")
        doc_index: dict[str, int] = {}
        self._doc_codes = np.fromiter(
            (doc_index.setdefault(c.doc_id, len(doc_index)) for c in self.chunks),
            dtype=np.int64,
            count=n,
        )
        self._review_by = np.fromiter(
            (c.review_by.toordinal() if c.review_by else 0 for c in self.chunks),
            dtype=np.int64,
            count=n,
        )

    @classmethod
    def build(
        cls,
        chunks: list[Chunk],
        vectors: npt.NDArray[np.float32],
        field_vectors: npt.NDArray[np.float32],
    ) -> HybridIndex:
        """Index ``chunks``; ``field_vectors`` holds one row per chunk with a question, in order."""
        field_rows = np.array([i for i, c in enumerate(chunks) if c.question], dtype=np.int64)
        return cls(
            chunks=chunks,
            vectors=np.ascontiguousarray(vectors, dtype=FLOAT),
            field_rows=field_rows,
            field_vectors=np.ascontiguousarray(field_vectors, dtype=FLOAT),
            # Generators: the bodies are tokenised one at a time, never all held at once.
            bm25=BM25Index.from_terms(text_terms(c.body) for c in chunks),
            field_bm25=BM25Index.from_terms(
                text_terms(chunks[int(i)].question or "") for i in field_rows
            ),
        )

    def __len__(self) -> int:
        return len(self.chunks)

    def centering(self) -> _Centering:
        """The shrunk corpus mean and per-row constants for centred cosines (computed once)."""
        if self._centering is None:
            # Document codes are 0, 1, ... in order of first appearance.
            n_docs = int(self._doc_codes.max()) + 1 if len(self._doc_codes) else 0
            self._centering = _Centering.build(self.vectors, self.field_vectors, n_docs=n_docs)
        return self._centering

    def signals(
        self, query_vector: npt.NDArray[np.float32], query: str, *, center: bool = False
    ) -> dict[str, npt.NDArray[np.float32]]:
        """The four per-chunk signals of the module docstring, each of shape ``(n_chunks,)``.

        Without FAQ chunks the field signals *are* the body signals (the same arrays). With
        ``center`` the dense signals are centred cosines.
        """
        query_vector = query_vector.astype(FLOAT, copy=False)
        dense_body = self.vectors @ query_vector
        centering = self.centering() if center else None
        if centering is not None:
            query_shift, query_scale = centering.query_terms(query_vector)
            centering.apply(dense_body, centering.body, query_shift, query_scale)
        words = text_terms(query)
        term_ids = self.bm25.term_ids(words)
        lexical = self.bm25.scores_for(term_ids)
        top = self.bm25.max_score_for(term_ids)
        if top > 0:
            lexical *= FLOAT(1.0 / top)
        if not len(self.field_rows):
            return {
                "dense": dense_body,
                "dense_field": dense_body,
                "lexical": lexical,
                "lexical_field": lexical,
            }
        rows = self.field_rows
        question = self.field_vectors @ query_vector
        if centering is not None:
            centering.apply(question, centering.field, query_shift, query_scale)
        dense_field = dense_body.copy()
        dense_field[rows] = question
        dense = dense_body.copy()
        dense[rows] = np.maximum(dense_body[rows], question)
        lexical_field = lexical.copy()
        field_ids = self.field_bm25.term_ids(words)
        field_top = self.field_bm25.max_score_for(field_ids)
        field_scores = self.field_bm25.scores_for(field_ids)
        lexical_field[rows] = field_scores / FLOAT(field_top) if field_top > 0 else 0.0
        return {
            "dense": dense,
            "dense_field": dense_field,
            "lexical": lexical,
            "lexical_field": lexical_field,
        }

    def mask(self, filters: Filters | None) -> npt.NDArray[np.bool_] | None:
        """Rows allowed by ``filters`` (None when everything is allowed)."""
        filters = dict(filters or {})
        audience = filters.pop("audience", "customer")
        if audience not in ("customer", "agent"):
            raise UserError(f"audience filter must be 'customer' or 'agent', not {audience!r}")
        result: npt.NDArray[np.bool_] | None = None
        if audience == "customer":
            if self._customer_mask is None:
                codes, column = self._column("audience")
                agent_code = codes.get("agent")
                self._customer_mask = (column != agent_code if agent_code is not None else None,)
            result = self._customer_mask[0]
        for key, wanted in filters.items():
            allowed = [wanted] if isinstance(wanted, str) else list(wanted)
            codes, column = self._column(key)
            # Code 0 means "no value": general content that passes every filter.
            allowed_codes = [0] + [codes[v] for v in allowed if v in codes]
            passed = np.isin(column, np.array(allowed_codes, dtype=np.int32))
            result = passed if result is None else result & passed
        return result

    def _column(self, key: str) -> tuple[dict[str, int], npt.NDArray[np.int32]]:
        if key not in self._columns:
            codes: dict[str, int] = {}
            column = np.fromiter(
                (
                    codes.setdefault(value, len(codes) + 1)
                    if (value := c.metadata.get(key)) is not None
                    else 0
                    for c in self.chunks
                ),
                dtype=np.int32,
                count=len(self.chunks),
            )
            self._columns[key] = (codes, column)
        return self._columns[key]

    def rank(
        self,
        query_vector: npt.NDArray[np.float32],
        query: str,
        *,
        k: int,
        fusion: Fusion,
        filters: Filters | None = None,
        distinct: bool = True,
        stale_factor: float = 1.0,
        today: date | None = None,
    ) -> Ranking:
        """The ``k`` best chunk rows for a query (at most one per document when ``distinct``)."""
        n = len(self.chunks)
        empty = np.zeros(0, dtype=FLOAT)
        if n == 0 or k <= 0:
            return Ranking(
                rows=np.zeros(0, dtype=np.int64),
                scores=empty,
                dense=empty,
                lexical=empty,
                stale=np.zeros(0, dtype=bool),
            )
        signals = self.signals(query_vector, query, center=fusion.center)
        allowed = self.mask(filters)
        if fusion.method == "weighted":
            fused = self._weighted(signals, fusion)
        else:
            fused = self._rrf(signals, fusion, depth=max(100, 4 * k), allowed=allowed)
        stale = self._stale((today or date.today()).toordinal())
        if stale is not None and stale_factor != 1.0:
            # Subtracting a share of |score| demotes negative scores too (multiplying would not).
            fused[stale] -= FLOAT(1.0 - stale_factor) * np.abs(fused[stale])
        if allowed is not None:
            fused[~allowed] = -np.inf
        rows = self._top(fused, k, distinct)
        rows = rows[np.isfinite(fused[rows])]
        return Ranking(
            rows=rows,
            scores=fused[rows],
            dense=signals["dense"][rows],
            lexical=signals["lexical"][rows],
            stale=stale[rows] if stale is not None else np.zeros(len(rows), dtype=bool),
        )

    def _weighted(
        self, signals: dict[str, npt.NDArray[np.float32]], fusion: Fusion
    ) -> npt.NDArray[np.float32]:
        # Signals may share arrays (no FAQ chunks): add up the weights of each distinct array.
        weights: dict[int, tuple[npt.NDArray[np.float32], float]] = {}
        for name in ("dense", "dense_field", "lexical", "lexical_field"):
            weight = float(getattr(fusion, name))
            if weight:
                array, total = weights.get(id(signals[name]), (signals[name], 0.0))
                weights[id(array)] = (array, total + weight)
        (first, first_weight), *rest = weights.values()
        fused = np.multiply(first, FLOAT(first_weight))
        for array, weight in rest:
            fused += array * FLOAT(weight)
        return fused

    def _stale(self, today: int) -> npt.NDArray[np.bool_] | None:
        """Rows past ``review_by`` on day ``today`` (ordinal), cached per day; None if none."""
        if self._stale_day != today:
            stale = (self._review_by > 0) & (self._review_by < today)
            self._stale_mask = stale if stale.any() else None
            self._stale_day = today
        return self._stale_mask

    def _rrf(
        self,
        signals: dict[str, npt.NDArray[np.float32]],
        fusion: Fusion,
        depth: int,
        allowed: npt.NDArray[np.bool_] | None,
    ) -> npt.NDArray[np.float32]:
        fused = np.zeros(len(self.chunks), dtype=FLOAT)
        for name in ("dense", "dense_field", "lexical", "lexical_field"):
            weight = getattr(fusion, name)
            if not weight:
                continue
            signal = signals[name]
            if allowed is not None:
                signal = np.where(allowed, signal, -np.inf).astype(FLOAT)
            top = _top_rows(signal, depth)
            fused[top] += FLOAT(weight) / (fusion.rrf_k + np.arange(1, len(top) + 1, dtype=FLOAT))
        return fused

    def _top(
        self, scores: npt.NDArray[np.float32], k: int, distinct: bool
    ) -> npt.NDArray[np.int64]:
        if not distinct:
            return _top_rows(scores, k)
        depth = 4 * k
        while True:
            rows = _top_rows(scores, depth)
            _, first = np.unique(self._doc_codes[rows], return_index=True)
            kept = rows[np.sort(first)]
            if len(kept) >= k or depth >= len(scores):
                return kept[:k]
            depth *= 4


@dataclass(kw_only=True, frozen=True)
class _RowTerms:
    """Per-row constants of centred cosines for one vector matrix."""

    mean_dot: npt.NDArray[np.float32]
    """``m . d`` for every row ``d``."""
    inverse_norm: npt.NDArray[np.float32]
    """``1 / |d - m|`` (0 for a row equal to the mean: its centred cosine is 0)."""

    @classmethod
    def build(cls, vectors: npt.NDArray[np.float32], mean: npt.NDArray[np.float32]) -> _RowTerms:
        mean_dot = vectors @ mean
        squared = np.einsum("ij,ij->i", vectors, vectors) - 2 * mean_dot + float(mean @ mean)
        norm = np.sqrt(np.maximum(squared, 0.0))
        inverse = np.divide(1.0, norm, out=np.zeros_like(norm), where=norm > 1e-6)
        return cls(mean_dot=mean_dot.astype(FLOAT), inverse_norm=inverse.astype(FLOAT))


@dataclass(kw_only=True, frozen=True)
class _Centering:
    """Centred cosines from raw dot products: ``(q.d - q.m - m.d + m.m) / (|q - m| |d - m|)``."""

    mean: npt.NDArray[np.float32]
    """The corpus mean of body and question vectors, shrunk for small corpora."""
    body: _RowTerms
    field: _RowTerms

    @classmethod
    def build(
        cls,
        vectors: npt.NDArray[np.float32],
        field_vectors: npt.NDArray[np.float32],
        *,
        n_docs: int,
    ) -> _Centering:
        dim = vectors.shape[1]
        count = len(vectors) + len(field_vectors)
        total = vectors.sum(axis=0, dtype=np.float64) + field_vectors.sum(axis=0, dtype=np.float64)
        shrink = n_docs / (n_docs + CENTER_PRIOR_DOCS)
        mean = (total / count * shrink if count else np.zeros(dim)).astype(FLOAT)
        return cls(
            mean=mean,
            body=_RowTerms.build(vectors, mean),
            field=_RowTerms.build(field_vectors, mean),
        )

    def query_terms(self, query_vector: npt.NDArray[np.float32]) -> tuple[float, float]:
        """``(q.m - m.m, 1 / |q - m|)`` for a query (the scale is 0 for a query equal to m)."""
        query_dot = float(query_vector @ self.mean)
        mean_squared = float(self.mean @ self.mean)
        squared = float(query_vector @ query_vector) - 2 * query_dot + mean_squared
        scale = 1.0 / np.sqrt(squared) if squared > 1e-12 else 0.0
        return query_dot - mean_squared, float(scale)

    def apply(
        self,
        dots: npt.NDArray[np.float32],
        rows: _RowTerms,
        query_shift: float,
        query_scale: float,
    ) -> None:
        """Turn raw dot products ``dots`` (one per row of ``rows``) into centred cosines."""
        dots -= FLOAT(query_shift)
        dots -= rows.mean_dot
        dots *= rows.inverse_norm
        dots *= FLOAT(query_scale)


def _top_rows(scores: npt.NDArray[np.float32], k: int) -> npt.NDArray[np.int64]:
    """Rows of the ``k`` highest scores, best first (ties broken by row order)."""
    n = len(scores)
    if k >= n:
        return np.argsort(-scores, kind="stable").astype(np.int64)
    candidates: npt.NDArray[np.int64] | None = None
    if n >= 16_384 and k <= n // 64:
        # Exact shortcut: a threshold from a strided sample keeps ~8k candidates; if at least k
        # scores reach it, the top k are all among them. Otherwise fall back to the full array.
        sample = scores[:: n // 4096]
        above = min(len(sample) - 1, int(np.ceil(8 * k * len(sample) / n)))
        threshold = np.partition(sample, len(sample) - 1 - above)[len(sample) - 1 - above]
        found = np.flatnonzero(scores >= threshold)
        if len(found) >= k:
            candidates = found
    if candidates is None:
        candidates = np.arange(n, dtype=np.int64)
    if len(candidates) > k:
        values = scores[candidates]
        kth = values[np.argpartition(-values, k - 1)[k - 1]]
        # Ties at the cut go to the lowest rows (argpartition alone would pick any of them).
        better = candidates[values > kth]
        tied = candidates[values == kth]
        candidates = np.concatenate([better, tied[: k - len(better)]])
    order = np.lexsort((candidates, -scores[candidates]))
    return candidates[order].astype(np.int64)
