"""How the signals of the hybrid index combine into one score (see :mod:`.index`), and the
defaults calibrated on StackFAQ."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Literal

from ..exceptions import UserError

__all__ = ["DEFAULT_FUSION", "Fusion", "default_fusion", "default_threshold"]


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
    best_of_two: bool = True
    """For FAQ entries, the ``dense`` signal is the better of the body's and the question's
    cosine; ``False``: the body's (question + answer) alone. Best of two wins when questions are
    written like the customers' ones; body only when questions are short topic labels that
    match too many queries. :meth:`KnowledgeBase.calibrate` chooses on labelled questions."""

    def __post_init__(self) -> None:
        if self.method not in ("weighted", "rrf"):
            raise UserError(f"Fusion.method must be 'weighted' or 'rrf', not {self.method!r}")
        weights = (self.dense, self.dense_field, self.lexical, self.lexical_field)
        if any(w < 0 for w in weights) or not any(weights):
            raise UserError("Fusion weights must be non-negative and not all zero")

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {
            "method": self.method,
            "dense": self.dense,
            "dense_field": self.dense_field,
            "lexical": self.lexical,
            "lexical_field": self.lexical_field,
            "rrf_k": self.rrf_k,
            "center": self.center,
        }
        if not self.best_of_two:  # written only when set: manifests saved before stay the same
            data["best_of_two"] = False
        return data

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
            best_of_two=data.get("best_of_two", True) is not False,
        )


DEFAULT_FUSION = Fusion(method="weighted", dense=1.0, lexical=0.05, center=True)
"""Centred dense cosine (best of body and question) plus a small BM25 weight, chosen on the tune
half of StackFAQ (seed 0) by ``tools/bench/bench_knowledge.py``. Centring is what helps (on every
split); the lexical weight is within noise there and is kept for exact identifiers (product
names, error codes) in real help centres."""

_THRESHOLDS = {
    # Precision >= 0.9 of answered tune queries on StackFAQ with a third of the threads removed
    # (with DEFAULT_FUSION: centred cosines run lower than raw ones, which gave 0.707).
    "st:all-MiniLM-L6-v2": 0.568,
    # The hashing embedder measures word overlap only; a rough value for tests and demos.
    "hashing": 0.3,
}


def default_fusion(embedder_name: str) -> Fusion:
    """:data:`DEFAULT_FUSION` for learned embedders; without centring for the hashing embedder,
    whose cosines measure word overlap (centring was measured on MiniLM only)."""
    if embedder_name.startswith("hashing-"):
        return replace(DEFAULT_FUSION, center=False)
    return DEFAULT_FUSION


def default_threshold(embedder_name: str) -> float:
    """The calibrated answerability threshold for an embedder with :data:`DEFAULT_FUSION`."""
    if embedder_name.startswith("hashing-"):
        return _THRESHOLDS["hashing"]
    return _THRESHOLDS.get(embedder_name, _THRESHOLDS["st:all-MiniLM-L6-v2"])
