"""Vectors for a re-index: reused by content hash from the current index, else embedded."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ..understanding.embedders import Embedder
from .chunking import Chunk, content_hash
from .errors import KnowledgeError
from .index import HybridIndex

if TYPE_CHECKING:
    import numpy.typing as npt

    from ._pg import PgIndex

__all__ = ["vectors_for"]


def _known_vectors(index: HybridIndex, hashes: list[str]) -> dict[str, npt.NDArray[np.float32]]:
    known = {h: index.vectors[i] for i, h in enumerate(hashes)}
    for row, vector in zip(index.field_rows, index.field_vectors, strict=True):
        question = index.chunks[int(row)].question or ""
        known[content_hash(question)] = vector
    return known


def vectors_for(
    index: HybridIndex | PgIndex,
    old_hashes: list[str],
    chunks: list[Chunk],
    hashes: list[str],
    embedder: Callable[[], Embedder],
    dim: int | None,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], int]:
    """Body and question vectors of ``chunks`` (reused by content hash from ``index``, whose
    chunk bodies hash to ``old_hashes``, else embedded), and how many texts were embedded.

    ``hashes`` are the bodies' hashes then the questions'; ``dim`` is the current vector size.
    """
    assert isinstance(index, HybridIndex)
    known = _known_vectors(index, old_hashes)
    texts = [c.body for c in chunks] + [c.question for c in chunks if c.question]
    missing = {h: t for h, t in zip(hashes, texts, strict=True) if h not in known}
    del texts
    n = len(chunks)
    if missing:
        model = embedder()
        vectors = np.asarray(model.embed(list(missing.values())), dtype=np.float32)
        if vectors.shape != (len(missing), model.dim):
            raise KnowledgeError(
                f"Embedder {model.name!r} returned shape {vectors.shape}, "
                f"expected {(len(missing), model.dim)}"
            )
        if not known and len(missing) == len(hashes):
            # First build without duplicate texts: the embedder's rows are already in order
            # (bodies, then questions), so views avoid a second copy of the vectors.
            return vectors[:n], vectors[n:], len(missing)
        known.update(zip(missing, vectors, strict=True))
    if known:
        size = int(next(iter(known.values())).shape[0])
    else:
        size = dim if dim is not None else embedder().dim
    empty = np.zeros((0, size), dtype=np.float32)
    body = np.stack([known[h] for h in hashes[:n]]) if n else empty
    field = np.stack([known[h] for h in hashes[n:]]) if len(hashes) > n else empty
    return body, field, len(missing)
