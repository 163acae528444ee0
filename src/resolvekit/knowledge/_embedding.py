"""Which embedder a knowledge base uses by default, and how to recreate one from its stored name.

Nothing here imports torch or sentence-transformers at module import time.
"""

from __future__ import annotations

import re

from ..understanding.embedders import (
    CachedEmbedder,
    Embedder,
    HashingEmbedder,
    SentenceTransformerEmbedder,
    default_embedder,
)
from .errors import KnowledgeError

__all__ = ["default_embedder", "embedder_for_name"]

_HASHING = re.compile(r"hashing-(\d+)-v1")


def embedder_for_name(name: str) -> Embedder:
    """Recreate the embedder an index was built with, from its stored name.

    Hashing embedders and sentence-transformers models given by name (``st:<model>``) can be
    recreated; anything else (an OpenAI endpoint, a model loaded from a folder) must be passed
    explicitly.

    Raises:
        KnowledgeError: the name cannot be turned back into an embedder.
    """
    match = _HASHING.fullmatch(name)
    if match:
        return HashingEmbedder(int(match.group(1)))
    default = default_embedder()
    if default.name == name:
        return default
    if name.startswith("st:") and "@" not in name:
        return CachedEmbedder(SentenceTransformerEmbedder(name.removeprefix("st:")))
    raise KnowledgeError(
        f"The index was built with embedder {name!r}, which cannot be recreated from its name; "
        "pass that embedder explicitly (KnowledgeBase.load(path, embedder=...))"
    )
