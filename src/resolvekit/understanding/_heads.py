"""Classification heads over unit-length embeddings, and the cross-validation folds.

A head turns an embedding matrix into per-class logits. The intent classifier combines them:

- :class:`NeighbourHead`: per class, the mean cosine similarity of the ``k`` most similar training
  examples (``k=1`` is plain nearest neighbour), divided by a fixed temperature.
- :class:`CentroidHead`: cosine similarity to each class's normalised mean, same temperature.
- the linear head is :class:`~resolvekit.understanding._linear.SoftmaxRegression`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import numpy.typing as npt

__all__ = ["CentroidHead", "NeighbourHead", "folds"]

SIMILARITY_TEMPERATURE = 0.05
"""Cosine similarities are divided by this before a softmax: 0.05 makes a 0.1 gap a factor e^2."""

_CHUNK = 512
"""Queries scored at once, bounding the (queries x training examples) similarity matrix."""


@dataclass(kw_only=True)
class NeighbourHead:
    """k-nearest-neighbour scores: mean of the top-``k`` similarities within each class."""

    k: int = 1
    """Neighbours averaged per class (fewer when a class has fewer examples)."""
    _x: npt.NDArray[np.float32] = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    _bounds: list[tuple[int, int]] = field(default_factory=list)

    def fit(
        self, x: npt.NDArray[np.float32], y: npt.NDArray[np.intp], n_classes: int
    ) -> NeighbourHead:
        """Store the examples grouped by class (every class must have one)."""
        order = np.argsort(y, kind="stable")
        self._x = np.ascontiguousarray(x[order], dtype=np.float32)
        counts = np.bincount(y, minlength=n_classes)
        ends = np.cumsum(counts)
        self._bounds = [(int(e - c), int(e)) for c, e in zip(counts, ends, strict=True)]
        return self

    def similarities(self, x: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
        """``(n, classes)`` mean top-k cosine similarity per class."""
        out = np.empty((len(x), len(self._bounds)))
        for start in range(0, len(x), _CHUNK):
            sims = np.asarray(x[start : start + _CHUNK], np.float32) @ self._x.T
            for c, (lo, hi) in enumerate(self._bounds):
                block = sims[:, lo:hi]
                k = min(self.k, hi - lo)
                if k == 1:
                    out[start : start + len(block), c] = block.max(axis=1)
                else:
                    top = np.partition(block, hi - lo - k, axis=1)[:, hi - lo - k :]
                    out[start : start + len(block), c] = top.mean(axis=1)
        return out

    def logits(self, x: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
        """Similarities divided by :data:`SIMILARITY_TEMPERATURE`."""
        return self.logits_from(self.similarities(x))

    @staticmethod
    def logits_from(similarities: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Logits from precomputed :meth:`similarities`."""
        return similarities / SIMILARITY_TEMPERATURE


@dataclass(kw_only=True)
class CentroidHead:
    """Nearest-centroid scores: cosine similarity to each class's normalised mean."""

    _centroids: npt.NDArray[np.float32] = field(
        default_factory=lambda: np.zeros((0, 0), np.float32)
    )

    def fit(
        self, x: npt.NDArray[np.float32], y: npt.NDArray[np.intp], n_classes: int
    ) -> CentroidHead:
        """Average and normalise each class's examples."""
        sums = np.zeros((n_classes, x.shape[1]))
        np.add.at(sums, y, x)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        self._centroids = (sums / norms).astype(np.float32)
        return self

    def logits(self, x: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
        """Similarities divided by :data:`SIMILARITY_TEMPERATURE`."""
        sims: npt.NDArray[np.float64] = (x @ self._centroids.T).astype(np.float64)
        return sims / SIMILARITY_TEMPERATURE


def folds(
    y: npt.NDArray[np.intp], n_folds: int, rng: np.random.Generator
) -> list[npt.NDArray[np.intp]]:
    """Split example indices into ``n_folds`` folds, stratified by class.

    Each class's examples are shuffled and dealt round-robin, starting at a random fold, so every
    fold gets ``floor`` or ``ceil`` of the class's share.
    """
    assigned = np.empty(len(y), dtype=np.intp)
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        rng.shuffle(members)
        offset = int(rng.integers(n_folds))
        assigned[members] = (np.arange(len(members)) + offset) % n_folds
    return [np.flatnonzero(assigned == f) for f in range(n_folds)]
