"""Sentence embedders: the :class:`Embedder` protocol and its implementations.

Every embedder returns a float32 matrix of shape ``(len(texts), dim)`` whose rows are L2-normalised,
so a dot product is a cosine similarity.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["Embedder", "HashingEmbedder"]


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into unit-length vectors."""

    @property
    def name(self) -> str:
        """Identifies the model and version; stored with indexes to detect mismatches."""
        ...

    @property
    def dim(self) -> int:
        """Length of each vector."""
        ...

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Embed ``texts`` into a ``(len(texts), dim)`` float32 matrix of unit rows."""
        ...


_TOKEN = re.compile(r"[a-z0-9]+")


class HashingEmbedder:
    """A deterministic bag of words and character trigrams, hashed into ``dim`` buckets.

    No model and no download: for tests and for the ``"test"`` model. It captures word overlap,
    not meaning, so it is far weaker than a sentence-transformer.
    """

    def __init__(self, dim: int = 512) -> None:
        self._dim = dim

    @property
    def name(self) -> str:
        return f"hashing-{self._dim}-v1"

    @property
    def dim(self) -> int:
        return self._dim

    def _features(self, text: str) -> list[tuple[int, float]]:
        features: list[tuple[int, float]] = []
        words = _TOKEN.findall(text.lower())
        for word in words:
            features.append((_bucket("w:" + word, self._dim), 1.0))
            padded = f"#{word}#"
            for i in range(len(padded) - 2):
                features.append((_bucket("c:" + padded[i : i + 3], self._dim), 0.3))
        for a, b in zip(words, words[1:], strict=False):
            features.append((_bucket(f"b:{a} {b}", self._dim), 0.5))
        return features

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        import numpy as np

        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for index, weight in self._features(text):
                sign = 1.0 if index >= 0 else -1.0
                out[row, abs(index)] += sign * weight
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return (out / norms).astype(np.float32)


def _bucket(feature: str, dim: int) -> int:
    digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
    value = int.from_bytes(digest, "little")
    index = value % dim
    # The top bit picks a sign so collisions cancel rather than pile up.
    return index if value >> 63 else -index
