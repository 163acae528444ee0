"""Dense scoring helpers: centred cosines, exact top-k, compact copies for a fast first pass, and
one BLAS thread per query.

A query's dense scores over a large index are one matrix-vector product: 100,000 x 384 float32
is 154 MB read per query, memory-bound and easily stalled on a busy machine. Two compact copies
make a first pass that touches less memory; the best candidates are then re-scored exactly from
the float32 rows (see :meth:`HybridIndex.rank`), so every returned score is the exact one:

- :class:`Int8Rows`: each row scaled by ``127 / max|row|`` and rounded (a quarter of the bytes).
  The product is computed block by block (int8 -> float32 into a small buffer that stays in the
  CPU cache, then BLAS). Each approximate dot product is within ``0.5 * scale * |q|_1`` of the
  exact one, a bound the index uses to make the int8 pass *exact*: every row whose bound could
  reach the k-th best exact score is re-scored.
- :class:`SignCodes`: one bit per dimension (the sign of the row minus a mean vector), 48 bytes a
  row at 384 dimensions (1/32 of float32), compared by Hamming distance. The angle between two
  vectors is estimated as ``pi * hamming / dim``; there is no error bound, so recall is measured
  (``tools/bench/bench_knowledge.py --only scoring``), not guaranteed.

:func:`single_blas_thread` bounds BLAS to one thread for the duration of a query (threadpoolctl,
when installed): a multi-threaded product stalls when the other core is busy, and a server
answers several queries at once anyway.
"""

from __future__ import annotations

import contextlib
import math
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import numpy.typing as npt

    from .fusion import Fusion

__all__ = [
    "BLOCK_ROWS",
    "Centering",
    "Int8Rows",
    "RowTerms",
    "SignCodes",
    "combine_signals",
    "demote",
    "fuse",
    "single_blas_thread",
    "top_rows",
]

BLOCK_ROWS = 1024
"""Rows converted per block: 1024 x 384 float32 is 1.5 MB, within a core's L2 cache."""

_controller: list[Any] = []
"""``[controller, modules]``: the threadpoolctl controller of the BLAS libraries and
``len(sys.modules)`` when it was made (a new import may load another BLAS, e.g. scipy's: the
controller is then made again); ``[None, 0]`` without threadpoolctl."""

_blas_lock = threading.Lock()
_blas_users = 0
_blas_saved: list[tuple[Any, int]] = []
"""Each BLAS library's thread count before the first of the queries now running lowered it."""


def _blas_libraries() -> list[Any]:
    if not _controller or (_controller[0] is not None and _controller[1] != len(sys.modules)):
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - threadpoolctl is a dependency
            _controller[:] = [None, 0]
        else:
            blas = ThreadpoolController().select(user_api="blas")
            _controller[:] = [blas, len(sys.modules)]
    controller = _controller[0]
    return [] if controller is None else list(controller.lib_controllers)


@contextlib.contextmanager
def single_blas_thread() -> Iterator[None]:
    """Limit BLAS to one thread inside the block (a no-op without threadpoolctl).

    BLAS's thread count is one setting for the whole process, so the blocks of all threads
    share one limit: the first block to enter lowers it, the last to leave restores it (a
    query finishing never raises it under another one still running), and nested blocks cost
    a counter. Other BLAS work in the process runs on one thread while any query does.
    """
    global _blas_users
    with _blas_lock:
        if _blas_users == 0:
            _blas_saved[:] = [(lib, lib.get_num_threads()) for lib in _blas_libraries()]
            for lib, threads in _blas_saved:
                if threads not in (None, 1):
                    lib.set_num_threads(1)
        _blas_users += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_users -= 1
            if _blas_users == 0:
                for lib, threads in _blas_saved:
                    if threads not in (None, 1):
                        lib.set_num_threads(threads)
                _blas_saved.clear()


@dataclass(kw_only=True, eq=False)
class Int8Rows:
    """Rows quantised to int8 with one float scale per row."""

    codes: npt.NDArray[np.int8]
    scales: npt.NDArray[np.float32]
    """``max|row| / 127``: ``row ~= codes * scale``."""

    @classmethod
    def build(cls, vectors: npt.NDArray[np.float32]) -> Int8Rows:
        codes = np.empty(vectors.shape, dtype=np.int8)
        scales = np.empty(len(vectors), dtype=np.float32)
        for start in range(0, len(vectors), 8 * BLOCK_ROWS):
            block = vectors[start : start + 8 * BLOCK_ROWS]
            peak = np.abs(block).max(axis=1) if block.shape[1] else np.zeros(len(block))
            scale = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
            scales[start : start + len(block)] = scale
            codes[start : start + len(block)] = np.rint(block / scale[:, None])
        return cls(codes=codes, scales=scales)

    @property
    def nbytes(self) -> int:
        return int(self.codes.nbytes + self.scales.nbytes)

    def dots(self, query: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Approximate ``rows @ query``."""
        n = len(self.codes)
        out = np.empty(n, dtype=np.float32)
        buffer = np.empty((min(n, BLOCK_ROWS), self.codes.shape[1]), dtype=np.float32)
        for start in range(0, n, BLOCK_ROWS):
            end = min(n, start + BLOCK_ROWS)
            block = buffer[: end - start]
            np.copyto(block, self.codes[start:end], casting="unsafe")
            np.dot(block, query, out=out[start:end])
        out *= self.scales
        return out

    def errors(self, query: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """A bound on ``|dots(query) - rows @ query|`` for every row (rounding error plus a
        margin for float32 accumulation)."""
        norm1 = float(np.abs(query).sum())
        bound = self.scales * np.float32(0.5 * norm1)
        bound += np.float32(1e-5 * (1.0 + norm1))
        return bound


@dataclass(kw_only=True, eq=False)
class SignCodes:
    """The signs of ``rows - center``, packed 64 dimensions to a word, word-major."""

    words: npt.NDArray[np.uint64]
    """``(ceil(dim / 64), n_rows)``: word ``w`` of every row is contiguous."""
    center: npt.NDArray[np.float32]
    dim: int

    @classmethod
    def build(cls, vectors: npt.NDArray[np.float32], center: npt.NDArray[np.float32]) -> SignCodes:
        n, dim = vectors.shape
        n_words = max(1, math.ceil(dim / 64))
        words = np.zeros((n_words, n), dtype=np.uint64)
        for start in range(0, n, 8 * BLOCK_ROWS):
            block = vectors[start : start + 8 * BLOCK_ROWS] > center
            packed = np.packbits(block, axis=1)  # (rows, ceil(dim / 8)) bytes
            padded = np.zeros((len(block), n_words * 8), dtype=np.uint8)
            padded[:, : packed.shape[1]] = packed
            words[:, start : start + len(block)] = padded.view(np.uint64).T
        return cls(words=words, center=center.astype(np.float32), dim=dim)

    @property
    def nbytes(self) -> int:
        return int(self.words.nbytes)

    def cosines(self, query: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Estimated cosine of ``query - center`` with every ``row - center``."""
        bits = np.packbits(query > self.center)
        padded = np.zeros(self.words.shape[0] * 8, dtype=np.uint8)
        padded[: len(bits)] = bits
        query_words = padded.view(np.uint64)
        n = self.words.shape[1]
        distance = np.zeros(n, dtype=np.uint16)
        scratch = np.empty(n, dtype=np.uint64)
        counts = np.empty(n, dtype=np.uint8)
        for word, query_word in zip(self.words, query_words, strict=True):
            np.bitwise_xor(word, query_word, out=scratch)
            np.bitwise_count(scratch, out=counts)
            distance += counts
        angle = distance.astype(np.float32)
        angle *= np.float32(math.pi / self.dim)
        return np.cos(angle, out=angle)


@dataclass(kw_only=True, frozen=True)
class RowTerms:
    """Per-row constants of centred cosines for one vector matrix."""

    mean_dot: npt.NDArray[np.float32]
    """``m . d`` for every row ``d``."""
    inverse_norm: npt.NDArray[np.float32]
    """``1 / |d - m|`` (0 for a row equal to the mean: its centred cosine is 0)."""

    @classmethod
    def build(cls, vectors: npt.NDArray[np.float32], mean: npt.NDArray[np.float32]) -> RowTerms:
        mean_dot = vectors @ mean
        squared = np.einsum("ij,ij->i", vectors, vectors) - 2 * mean_dot + float(mean @ mean)
        norm = np.sqrt(np.maximum(squared, 0.0))
        inverse = np.divide(1.0, norm, out=np.zeros_like(norm), where=norm > 1e-6)
        return cls(mean_dot=mean_dot.astype(np.float32), inverse_norm=inverse.astype(np.float32))


@dataclass(kw_only=True, frozen=True)
class Centering:
    """Centred cosines from raw dot products: ``(q.d - q.m - m.d + m.m) / (|q - m| |d - m|)``."""

    mean: npt.NDArray[np.float32]
    """The corpus mean of body and question vectors, shrunk for small corpora."""
    body: RowTerms
    field: RowTerms

    @classmethod
    def build(
        cls,
        vectors: npt.NDArray[np.float32],
        field_vectors: npt.NDArray[np.float32],
        *,
        n_docs: int,
        prior_docs: int,
    ) -> Centering:
        dim = vectors.shape[1]
        count = len(vectors) + len(field_vectors)
        total = vectors.sum(axis=0, dtype=np.float64) + field_vectors.sum(axis=0, dtype=np.float64)
        shrink = n_docs / (n_docs + prior_docs)
        mean = (total / count * shrink if count else np.zeros(dim)).astype(np.float32)
        return cls(
            mean=mean,
            body=RowTerms.build(vectors, mean),
            field=RowTerms.build(field_vectors, mean),
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
        rows: RowTerms,
        query_shift: float,
        query_scale: float,
    ) -> None:
        """Turn raw dot products ``dots`` (one per row of ``rows``) into centred cosines."""
        dots -= np.float32(query_shift)
        dots -= rows.mean_dot
        dots *= rows.inverse_norm
        dots *= np.float32(query_scale)

    def apply_at(
        self,
        dots: npt.NDArray[np.float32],
        rows: RowTerms,
        at: npt.NDArray[np.int64],
        query_shift: float,
        query_scale: float,
    ) -> None:
        """:meth:`apply` for dot products of the rows ``at`` only."""
        dots -= np.float32(query_shift)
        dots -= rows.mean_dot[at]
        dots *= rows.inverse_norm[at]
        dots *= np.float32(query_scale)


def top_rows(scores: npt.NDArray[np.float32], k: int) -> npt.NDArray[np.int64]:
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


def combine_signals(
    field_rows: npt.NDArray[np.int64],
    body: npt.NDArray[np.float32],
    question: npt.NDArray[np.float32],
    lexical: npt.NDArray[np.float32],
    field_lexical: npt.NDArray[np.float32],
    best_of_two: bool = True,
) -> dict[str, npt.NDArray[np.float32]]:
    """The four signals from per-body and per-question scores (``question`` and
    ``field_lexical`` have one value per entry of ``field_rows``); ``best_of_two``: see
    :attr:`Fusion.best_of_two`."""
    if not len(field_rows):
        return {"dense": body, "dense_field": body, "lexical": lexical, "lexical_field": lexical}
    dense_field = body.copy()
    dense_field[field_rows] = question
    dense = body.copy()
    if best_of_two:
        dense[field_rows] = np.maximum(body[field_rows], question)
    lexical_field = lexical.copy()
    lexical_field[field_rows] = field_lexical
    return {
        "dense": dense,
        "dense_field": dense_field,
        "lexical": lexical,
        "lexical_field": lexical_field,
    }


def demote(
    scores: npt.NDArray[np.float32], stale: npt.NDArray[np.bool_], stale_factor: float
) -> None:
    """Down-weight stale rows in place: subtracting a share of |score| demotes negative scores
    too (multiplying would not)."""
    scores[stale] -= np.float32(1.0 - stale_factor) * np.abs(scores[stale])


def fuse(signals: dict[str, npt.NDArray[np.float32]], fusion: Fusion) -> npt.NDArray[np.float32]:
    """The weighted sum of the signals (``weighted`` fusion), as a new array."""
    # Signals may share arrays (no FAQ chunks): add up the weights of each distinct array.
    weights: dict[int, tuple[npt.NDArray[np.float32], float]] = {}
    for name in ("dense", "dense_field", "lexical", "lexical_field"):
        weight = float(getattr(fusion, name))
        if weight:
            array, total = weights.get(id(signals[name]), (signals[name], 0.0))
            weights[id(array)] = (array, total + weight)
    (first, first_weight), *rest = weights.values()
    fused = np.multiply(first, np.float32(first_weight))
    for array, weight in rest:
        fused += array * np.float32(weight)
    return fused
