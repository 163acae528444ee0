"""The hybrid index: exact dense cosine + BM25 over chunks, fused into one score.

Every chunk has a *body* (its context line + text) and, for FAQ entries, a *field*: the entry's
question. Four signals are computed for every chunk, each in a fixed range so that scores mean
the same thing from one query to the next (which the answerability threshold relies on):

- ``dense``: the better of cosine(query, body) and cosine(query, question) ("best of two"), or
  cosine(query, body) alone without :attr:`Fusion.best_of_two`;
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

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Literal

import numpy as np

from ..exceptions import UserError
from ._dense import Centering as _Centering
from ._dense import Int8Rows, SignCodes, combine_signals, demote, fuse, single_blas_thread
from ._dense import RowTerms as _RowTerms  # noqa: F401  (tests use it from here)
from ._dense import top_rows as _top_rows
from ._text import terms as text_terms
from .bm25 import BM25Index
from .chunking import Chunk
from .fusion import Fusion

if TYPE_CHECKING:
    import numpy.typing as npt

__all__ = [
    "AUTO_MIN_ROWS",
    "CENTER_PRIOR_DOCS",
    "DEFAULT_DEPTH",
    "Filters",
    "Fusion",
    "HybridIndex",
    "Ranking",
    "Scoring",
]

Scoring = Literal["auto", "exact", "int8", "binary"]
"""How the dense scores of a query are computed (see :meth:`HybridIndex.rank`):

- ``exact``: one float32 matrix-vector product over every row;
- ``int8``: a first pass over int8 copies of the vectors, then the best candidates re-scored from
  the float32 rows, with an error bound that makes the result the exact one;
- ``binary``: a first pass over one sign bit per dimension (Hamming distance), then the best
  ``depth`` candidates (and the best lexical ones) re-scored exactly: approximate, recall measured;
- ``auto`` (the default): ``exact`` below :data:`AUTO_MIN_ROWS` rows; above, ``binary`` with a
  centred fusion (sentence embeddings, where its recall was measured) and ``int8`` otherwise.

Returned scores are always the exact float32 ones; only which rows get re-scored differs.
"""

AUTO_MIN_ROWS = 20_000
"""``auto`` scoring uses the exact product below this many chunks (it costs under 3 ms there)."""

DEFAULT_DEPTH = 1024
"""Candidates re-scored exactly after a ``binary`` first pass (at least ``16 * k`` and 1% of the
chunks): recall@10 0.996 on real MiniLM vectors at 1% (docs/benchmarks.md)."""

Filters = Mapping[str, str | Sequence[str]]
"""Metadata filters: ``{"product": "payments", "locale": ["en", "en-GB"], "audience": ...}``.

A chunk passes a filter when its value is one of the allowed values, or when it has no value for
that key (general content applies everywhere). ``audience`` is special: ``"customer"`` (the
default when absent) hides ``agent``-only content; ``"agent"`` sees everything.
"""

FLOAT = np.float32

CENTER_PRIOR_DOCS = 8
"""Shrinkage of the centring mean: it is scaled by ``n_docs / (n_docs + CENTER_PRIOR_DOCS)``."""


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
    chunks: list[Chunk] | None = None
    """The chunk of each row, when the index is not an in-memory list (PostgreSQL)."""


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
    _section_codes: npt.NDArray[np.int64] = field(init=False, repr=False)
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
    _int8: tuple[Int8Rows, Int8Rows] | None = field(init=False, repr=False, default=None)
    _signs: dict[bool, tuple[SignCodes, SignCodes]] = field(
        init=False, repr=False, default_factory=dict
    )
    _field_of_row: npt.NDArray[np.int64] | None = field(init=False, repr=False, default=None)

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
        section_index: dict[tuple[str, tuple[str, ...], str], int] = {}
        self._section_codes = np.fromiter(
            (section_index.setdefault(c.section, len(section_index)) for c in self.chunks),
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
            self._centering = _Centering.build(
                self.vectors, self.field_vectors, n_docs=n_docs, prior_docs=CENTER_PRIOR_DOCS
            )
        return self._centering

    def signals(
        self,
        query_vector: npt.NDArray[np.float32],
        query: str,
        *,
        center: bool = False,
        best_of_two: bool = True,
    ) -> dict[str, npt.NDArray[np.float32]]:
        """The four per-chunk signals of the module docstring, each of shape ``(n_chunks,)``.

        Without FAQ chunks the field signals *are* the body signals (the same arrays). With
        ``center`` the dense signals are centred cosines; without ``best_of_two`` the ``dense``
        signal is the body's cosine alone (:attr:`Fusion.best_of_two`).
        """
        query_vector = query_vector.astype(FLOAT, copy=False)
        with single_blas_thread():
            dense_body = self.vectors @ query_vector
            question = self.field_vectors @ query_vector
        if center:
            centering = self.centering()
            query_shift, query_scale = centering.query_terms(query_vector)
            centering.apply(dense_body, centering.body, query_shift, query_scale)
            centering.apply(question, centering.field, query_shift, query_scale)
        lexical, field_lexical = self.lexical_signals(query)
        return combine_signals(
            self.field_rows, dense_body, question, lexical, field_lexical, best_of_two
        )

    def lexical_signals(
        self, query: str
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """BM25 of every body and of every question (one per :attr:`field_rows`), each divided
        by the best score the query could reach."""
        words = text_terms(query)
        term_ids = self.bm25.term_ids(words)
        lexical = self.bm25.scores_for(term_ids)
        top = self.bm25.max_score_for(term_ids)
        if top > 0:
            lexical *= FLOAT(1.0 / top)
        if not len(self.field_rows):
            return lexical, np.zeros(0, dtype=FLOAT)
        field_ids = self.field_bm25.term_ids(words)
        field_top = self.field_bm25.max_score_for(field_ids)
        field_scores = self.field_bm25.scores_for(field_ids)
        if field_top > 0:
            field_scores *= FLOAT(1.0 / field_top)
        else:
            field_scores[:] = 0.0
        return lexical, field_scores

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
        scoring: Scoring = "exact",
        depth: int = DEFAULT_DEPTH,
    ) -> Ranking:
        """The ``k`` best chunk rows for a query (at most one per section when ``distinct``).

        ``scoring`` picks how dense scores are computed (see :data:`Scoring`; ``rrf`` fusion is
        always exact); ``depth`` is how many candidates a ``binary`` first pass re-scores (at
        least ``16 * k`` and 1% of the chunks).
        """
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
        if scoring not in ("auto", "exact", "int8", "binary"):
            raise UserError(f"scoring must be auto, exact, int8 or binary, not {scoring!r}")
        if scoring == "auto":
            # Sign codes were measured on centred sentence embeddings only (recall in
            # docs/benchmarks.md); anything else gets the int8 pass, which is exact.
            scoring = "exact" if n < AUTO_MIN_ROWS else "binary" if fusion.center else "int8"
        allowed = self.mask(filters)
        stale = self._stale((today or date.today()).toordinal())
        if scoring != "exact" and fusion.method == "weighted":
            query_vector = query_vector.astype(FLOAT, copy=False)
            return self._rank_two_pass(
                query_vector,
                query,
                k=k,
                fusion=fusion,
                allowed=allowed,
                stale=stale if stale_factor != 1.0 else None,
                stale_factor=stale_factor,
                distinct=distinct,
                binary=scoring == "binary",
                depth=max(depth, 16 * k, n // 100),
            )
        signals = self.signals(
            query_vector, query, center=fusion.center, best_of_two=fusion.best_of_two
        )
        if fusion.method == "weighted":
            fused = self._weighted(signals, fusion)
        else:
            fused = self._rrf(signals, fusion, depth=max(100, 4 * k), allowed=allowed)
        if stale is not None and stale_factor != 1.0:
            demote(fused, stale, stale_factor)
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

    def _rank_two_pass(
        self,
        query_vector: npt.NDArray[np.float32],
        query: str,
        *,
        k: int,
        fusion: Fusion,
        allowed: npt.NDArray[np.bool_] | None,
        stale: npt.NDArray[np.bool_] | None,
        stale_factor: float,
        distinct: bool,
        binary: bool,
        depth: int,
    ) -> Ranking:
        """:meth:`rank` with a compact first pass over every row and exact re-scoring of the
        candidates it finds (see :data:`Scoring`)."""
        n = len(self.chunks)
        lexical, field_lexical = self.lexical_signals(query)
        slack: npt.NDArray[np.float32] | None = None
        with single_blas_thread():
            if binary:
                body_codes, field_codes = self.sign_codes(fusion.center)
                body = body_codes.cosines(query_vector)
                question = field_codes.cosines(query_vector)
            else:
                body_rows, field_rows = self.int8_rows()
                body, body_error = body_rows.dots(query_vector), body_rows.errors(query_vector)
                question = field_rows.dots(query_vector)
                question_error = field_rows.errors(query_vector)
                if fusion.center:
                    centering = self.centering()
                    shift, scale = centering.query_terms(query_vector)
                    centering.apply(body, centering.body, shift, scale)
                    centering.apply(question, centering.field, shift, scale)
                    body_error *= centering.body.inverse_norm * FLOAT(scale)
                    question_error *= centering.field.inverse_norm * FLOAT(scale)
                # The fused score moves by at most (dense weights) x (the worse of the two
                # cosines' errors), twice that on stale rows (their demotion has slope <= 2).
                slack = body_error
                if len(self.field_rows):
                    slack[self.field_rows] = np.maximum(slack[self.field_rows], question_error)
                slack *= FLOAT((fusion.dense + fusion.dense_field) * (1 if stale is None else 2))
        signals = combine_signals(
            self.field_rows, body, question, lexical, field_lexical, fusion.best_of_two
        )
        approximate = self._weighted(signals, fusion)
        if stale is not None:
            demote(approximate, stale, stale_factor)
        if allowed is not None:
            approximate[~allowed] = -np.inf
        lexical_part = None
        if binary and (fusion.lexical or fusion.lexical_field):
            # No error bound for sign codes: keep the best lexical rows as candidates too.
            lexical_part = signals["lexical"] * FLOAT(fusion.lexical)
            lexical_part += signals["lexical_field"] * FLOAT(fusion.lexical_field)
            if allowed is not None:
                lexical_part[~allowed] = -np.inf
        candidates = _top_rows(approximate, min(depth, n))
        if lexical_part is not None:
            candidates = _union(candidates, _top_rows(lexical_part, min(depth // 4, n)))
        while True:
            exact, dense = self._exact_at(candidates, query_vector, signals, fusion)
            if stale is not None:
                demote(exact, stale[candidates], stale_factor)
            if allowed is not None:
                exact[~allowed[candidates]] = -np.inf
            order = self._top_of(candidates, exact, k, distinct)
            more = np.zeros(0, dtype=np.int64)
            if slack is not None and len(order) == k and len(candidates) < n:
                # Exact for int8: every row whose bound reaches the k-th score is re-scored.
                kth = exact[order[-1]]
                reach = np.flatnonzero(approximate + slack >= kth)
                more = np.setdiff1d(reach, candidates, assume_unique=True)
            elif len(order) < k and len(candidates) < n:
                depth *= 4  # too few distinct documents among the candidates
                more = np.setdiff1d(_top_rows(approximate, min(depth, n)), candidates)
                more = more[np.isfinite(approximate[more])]
            if not len(more):
                break
            candidates = _union(candidates, more)
        order = order[np.isfinite(exact[order])]
        rows = candidates[order]
        return Ranking(
            rows=rows,
            scores=exact[order],
            dense=dense[order],
            lexical=signals["lexical"][rows],
            stale=stale[rows] if stale is not None else np.zeros(len(rows), dtype=bool),
        )

    def _exact_at(
        self,
        rows: npt.NDArray[np.int64],
        query_vector: npt.NDArray[np.float32],
        signals: dict[str, npt.NDArray[np.float32]],
        fusion: Fusion,
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """Exact fused scores and dense signal of ``rows`` (lexical signals taken as given)."""
        with single_blas_thread():
            body = self.vectors[rows] @ query_vector
            at = self.field_of_row()[rows]
            has = at >= 0
            question_rows = at[has]
            question = self.field_vectors[question_rows] @ query_vector
        if fusion.center:
            centering = self.centering()
            shift, scale = centering.query_terms(query_vector)
            centering.apply_at(body, centering.body, rows, shift, scale)
            centering.apply_at(question, centering.field, question_rows, shift, scale)
        local = np.flatnonzero(has)
        picked = {
            "lexical": signals["lexical"][rows],
            "lexical_field": signals["lexical_field"][rows],
        }
        if signals["lexical_field"] is signals["lexical"]:
            picked["lexical_field"] = picked["lexical"]
        dense = body.copy()
        if fusion.best_of_two:
            dense[local] = np.maximum(body[local], question)
        dense_field = body.copy()
        dense_field[local] = question
        if not len(self.field_rows):
            dense_field = dense
        fused = self._weighted({"dense": dense, "dense_field": dense_field, **picked}, fusion)
        return fused, dense

    def _top_of(
        self,
        rows: npt.NDArray[np.int64],
        scores: npt.NDArray[np.float32],
        k: int,
        distinct: bool,
    ) -> npt.NDArray[np.int64]:
        """Positions in ``rows`` of the ``k`` best ``scores`` (one per section if distinct);
        ties go to the lower chunk row, as in :meth:`_top`."""
        order = np.lexsort((rows, -scores))
        if distinct:
            _, first = np.unique(self._section_codes[rows[order]], return_index=True)
            order = order[np.sort(first)]
        return order[:k].astype(np.int64)

    def int8_rows(self) -> tuple[Int8Rows, Int8Rows]:
        """int8 copies of the body and question vectors (built on first use)."""
        if self._int8 is None:
            self._int8 = (Int8Rows.build(self.vectors), Int8Rows.build(self.field_vectors))
        return self._int8

    def sign_codes(self, center: bool) -> tuple[SignCodes, SignCodes]:
        """Sign codes of the body and question vectors, around the centring mean when
        ``center`` (else around zero); built on first use."""
        if center not in self._signs:
            mean = self.centering().mean if center else np.zeros(self.vectors.shape[1], FLOAT)
            self._signs[center] = (
                SignCodes.build(self.vectors, mean),
                SignCodes.build(self.field_vectors, mean),
            )
        return self._signs[center]

    def field_of_row(self) -> npt.NDArray[np.int64]:
        """For every chunk row, its row in :attr:`field_vectors` (-1 without a question)."""
        if self._field_of_row is None:
            field_of_row = np.full(len(self.chunks), -1, dtype=np.int64)
            field_of_row[self.field_rows] = np.arange(len(self.field_rows))
            self._field_of_row = field_of_row
        return self._field_of_row

    def _weighted(
        self, signals: dict[str, npt.NDArray[np.float32]], fusion: Fusion
    ) -> npt.NDArray[np.float32]:
        return fuse(signals, fusion)

    def stale_chunks(self, today: date) -> list[Chunk]:
        """Chunks past their ``review_by`` date on ``today``."""
        return [c for c in self.chunks if c.is_stale(today)]

    def term_weights(self, words: Iterable[str]) -> dict[str, float]:
        """The body BM25 IDF of each term (0 for unknown terms), for extractive answers."""
        vocabulary, idf = self.bm25.vocabulary, self.bm25.idf
        return {
            w: float(idf[row]) if (row := vocabulary.get(w)) is not None else 0.0 for w in words
        }

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
            _, first = np.unique(self._section_codes[rows], return_index=True)
            kept = rows[np.sort(first)]
            if len(kept) >= k or depth >= len(scores):
                return kept[:k]
            depth *= 4


def _union(a: npt.NDArray[np.int64], b: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Sorted distinct rows of both (``np.union1d`` hashes: six times slower on a thousand)."""
    rows = np.concatenate((a, b))
    rows.sort()
    if len(rows) > 1:
        rows = rows[np.concatenate(([True], rows[1:] != rows[:-1]))]
    return rows
