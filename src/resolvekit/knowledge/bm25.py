"""Okapi BM25 over an inverted index held in numpy arrays.

The index stores, for every term, its postings (document rows) and each posting's precomputed BM25
weight::

    weight(t, d) = idf(t) * tf(t, d) * (k1 + 1) / (tf(t, d) + k1 * (1 - b + b * len(d) / avglen))
    idf(t)       = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5))

so a query costs one vectorised scatter-add per query term, with no Python loop over documents.
Each distinct query term counts once. :meth:`BM25Index.max_score` is the score a document would
get if it contained every query term with saturated frequency; dividing by it gives a score in
[0, 1] comparable across queries, which is what the fused index uses.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ._text import terms as text_terms
from .errors import KnowledgeError

if TYPE_CHECKING:
    import numpy.typing as npt

__all__ = ["BM25Index"]


@dataclass(kw_only=True, eq=False)
class BM25Index:
    """An immutable BM25 index. Build it with :meth:`build` (texts) or :meth:`from_terms`."""

    vocabulary: dict[str, int]
    """Term -> row in :attr:`idf` / :attr:`offsets`."""
    idf: npt.NDArray[np.float32]
    offsets: npt.NDArray[np.int64]
    """Postings of term ``t`` are ``[offsets[t], offsets[t + 1])``."""
    postings: npt.NDArray[np.int32]
    """Document rows, ascending within each term."""
    weights: npt.NDArray[np.float32]
    """Precomputed BM25 weight of each posting."""
    doc_lengths: npt.NDArray[np.int32]
    k1: float = 1.2
    b: float = 0.75
    _dense_cache: tuple[dict[int, int], npt.NDArray[np.float32]] | None = field(
        default=None, init=False, repr=False
    )

    @property
    def n_docs(self) -> int:
        return int(self.doc_lengths.shape[0])

    @classmethod
    def build(cls, texts: Sequence[str], *, k1: float = 1.2, b: float = 0.75) -> BM25Index:
        """Index ``texts`` (tokenised with stop words removed and plurals folded)."""
        return cls.from_terms((text_terms(text) for text in texts), k1=k1, b=b)

    @classmethod
    def from_terms(
        cls, documents: Iterable[Sequence[str]], *, k1: float = 1.2, b: float = 0.75
    ) -> BM25Index:
        """Index pre-tokenised documents (each a sequence of terms), streaming: only term ids
        are kept, never every document's term list at once."""
        if k1 < 0 or not 0 <= b <= 1:
            raise KnowledgeError(f"BM25 needs k1 >= 0 and 0 <= b <= 1, got k1={k1}, b={b}")
        vocabulary: dict[str, int] = {}
        ids = array("i")  # int32 term ids: half the memory of int64 at 100k documents
        lengths_list = array("q")
        for document in documents:
            ids.extend(vocabulary.setdefault(t, len(vocabulary)) for t in document)
            lengths_list.append(len(document))
        lengths = np.frombuffer(lengths_list, dtype=np.int64).astype(np.int32)
        n_docs = len(lengths)
        stride = max(n_docs, 1)
        # One key per (term, document) pair, term-major; built and sorted in place.
        keys = np.frombuffer(ids, dtype=np.int32).astype(np.int64)
        del ids
        keys *= stride
        keys += np.repeat(np.arange(n_docs, dtype=np.int32), lengths)
        keys.sort()
        # Run-length encode the sorted keys: each run is one posting, its length the tf.
        first = np.ones(len(keys), dtype=bool)
        np.not_equal(keys[1:], keys[:-1], out=first[1:])
        starts = np.flatnonzero(first)
        del first
        tf = np.diff(np.append(starts, len(keys))).astype(np.float64)
        keys = keys[starts]
        del starts
        term_of = (keys // stride).astype(np.int32)
        postings = (keys % stride).astype(np.int32)
        del keys
        df = np.bincount(term_of, minlength=len(vocabulary)).astype(np.int64)
        offsets = np.zeros(len(vocabulary) + 1, dtype=np.int64)
        np.cumsum(df, out=offsets[1:])
        idf = np.log1p((n_docs - df + 0.5) / (df + 0.5)).astype(np.float32)
        avg = float(lengths.mean()) if n_docs and lengths.sum() else 1.0
        # weight = idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avg)), in place (float64).
        scratch = lengths[postings].astype(np.float64)
        scratch *= k1 * b / avg
        scratch += k1 * (1 - b) + tf
        np.divide(tf * (k1 + 1), scratch, out=scratch)
        scratch *= idf[term_of]
        weights = scratch.astype(np.float32)
        del scratch
        return cls(
            vocabulary=vocabulary,
            idf=idf,
            offsets=offsets,
            postings=postings,
            weights=weights,
            doc_lengths=lengths,
            k1=k1,
            b=b,
        )

    def term_ids(self, query: str | Sequence[str]) -> list[int]:
        """Distinct known term ids of ``query`` (a string, or pre-tokenised terms)."""
        words = text_terms(query) if isinstance(query, str) else query
        ids = {self.vocabulary[w] for w in words if w in self.vocabulary}
        return sorted(ids)

    def scores(
        self,
        query: str | Sequence[str],
        *,
        out: npt.NDArray[np.float32] | None = None,
    ) -> npt.NDArray[np.float32]:
        """BM25 score of every document for ``query`` (shape ``(n_docs,)``).

        Args:
            query: the query text, or its terms.
            out: optional buffer to fill (avoids an allocation per query).
        """
        return self.scores_for(self.term_ids(query), out=out)

    def scores_for(
        self, term_ids: Sequence[int], *, out: npt.NDArray[np.float32] | None = None
    ) -> npt.NDArray[np.float32]:
        """:meth:`scores` for term ids from :meth:`term_ids`."""
        if out is None:
            out = np.zeros(self.n_docs, dtype=np.float32)
        else:
            out.fill(0.0)
        dense_rows, dense = self._dense()
        for term in term_ids:
            row = dense_rows.get(term)
            if row is not None:
                out += dense[row]  # a frequent term: one contiguous add beats a scatter
                continue
            start, end = self.offsets[term], self.offsets[term + 1]
            # Postings of one term are distinct rows, so fancy-index += is a correct scatter-add.
            out[self.postings[start:end]] += self.weights[start:end]
        return out

    def _dense(self) -> tuple[dict[int, int], npt.NDArray[np.float32]]:
        """Frequent terms' weights expanded to full rows, built on first use.

        A term in at least 1/16 of the documents (and 1,024 of them) gets a dense row: under
        Zipf's law these are a few dozen terms, yet they hold most postings of a typical query.
        """
        if self._dense_cache is None:
            df = np.diff(self.offsets)
            frequent = np.flatnonzero(df >= max(1024, self.n_docs // 16))
            dense = np.zeros((len(frequent), self.n_docs), dtype=np.float32)
            for row, term in enumerate(frequent):
                start, end = self.offsets[term], self.offsets[term + 1]
                dense[row, self.postings[start:end]] = self.weights[start:end]
            self._dense_cache = ({int(t): r for r, t in enumerate(frequent)}, dense)
        return self._dense_cache

    def max_score(self, query: str | Sequence[str]) -> float:
        """Upper bound of :meth:`scores` for ``query``: every term present, tf saturated."""
        return self.max_score_for(self.term_ids(query))

    def max_score_for(self, term_ids: Sequence[int]) -> float:
        """:meth:`max_score` for term ids from :meth:`term_ids`."""
        return float(self.idf[list(term_ids)].sum()) * (self.k1 + 1) if term_ids else 0.0

    def to_arrays(self) -> dict[str, Any]:
        """Arrays and parameters for persistence (see :meth:`from_arrays`)."""
        terms = [""] * len(self.vocabulary)
        for term, index in self.vocabulary.items():
            terms[index] = term
        return {
            "idf": self.idf,
            "offsets": self.offsets,
            "postings": self.postings,
            "weights": self.weights,
            "doc_lengths": self.doc_lengths,
            "params": np.array([self.k1, self.b], dtype=np.float64),
            "terms": terms,
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, Any]) -> BM25Index:
        """Rebuild an index saved by :meth:`to_arrays`; raises ``ValueError`` if inconsistent."""
        terms = list(arrays["terms"])
        index = cls(
            vocabulary={term: i for i, term in enumerate(terms)},
            idf=np.asarray(arrays["idf"], dtype=np.float32),
            offsets=np.asarray(arrays["offsets"], dtype=np.int64),
            postings=np.asarray(arrays["postings"], dtype=np.int32),
            weights=np.asarray(arrays["weights"], dtype=np.float32),
            doc_lengths=np.asarray(arrays["doc_lengths"], dtype=np.int32),
            k1=float(arrays["params"][0]),
            b=float(arrays["params"][1]),
        )
        index.validate()
        return index

    def validate(self) -> None:
        """Check the arrays are mutually consistent; raise ``ValueError`` if not."""
        n_terms = len(self.vocabulary)
        if self.idf.shape != (n_terms,) or self.offsets.shape != (n_terms + 1,):
            raise ValueError("BM25 vocabulary, idf and offsets sizes disagree")
        if self.postings.shape != self.weights.shape or int(self.offsets[-1]) != len(self.postings):
            raise ValueError("BM25 postings and offsets disagree")
        if len(self.postings) and (
            int(self.postings.min()) < 0 or int(self.postings.max()) >= self.n_docs
        ):
            raise ValueError("BM25 postings point outside the document range")
