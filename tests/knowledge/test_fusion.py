"""Centred dense cosines (``Fusion.center``) and the embedder-dependent default fusion.

About internals: these tests also check private helpers directly
(``resolvekit.knowledge.index._RowTerms``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from resolvekit.knowledge import DEFAULT_FUSION, Document, Fusion, KnowledgeBase
from resolvekit.knowledge.base import default_fusion
from resolvekit.knowledge.index import CENTER_PRIOR_DOCS, _RowTerms
from resolvekit.understanding.embedders import HashingEmbedder


class MarkerEmbedder:
    """Each text's vector is the sum of the vectors of the marker words it contains."""

    def __init__(self, vectors: Mapping[str, Sequence[float]]) -> None:
        self.vectors = {word: np.asarray(v, dtype=np.float32) for word, v in vectors.items()}
        self._dim = len(next(iter(self.vectors.values())))

    @property
    def name(self) -> str:
        return "markers-v1"

    @property
    def dim(self) -> int:
        return self._dim

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                if word in self.vectors:
                    out[row] += self.vectors[word]
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        np.divide(out, norms, out=out, where=norms > 0)
        return out


def _unit(*values: float) -> list[float]:
    v = np.array(values, dtype=np.float64)
    return list(v / np.linalg.norm(v))


def _hub_corpus() -> tuple[MarkerEmbedder, list[Document]]:
    """Every document shares a common direction (axis 0), as sentence embeddings do."""
    dim = 10
    vectors = {
        "hub": _unit(2.0, 0, 0.6, *([0] * (dim - 3))),  # mostly the common direction
        "specific": _unit(0.2, 0, 1.0, *([0] * (dim - 3))),  # mostly the query's topic
        "query": _unit(1.0, 0, 1.0, *([0] * (dim - 3))),
    }
    for i in range(6):
        filler = [1.0] + [0.0] * (dim - 1)
        filler[3 + i] = 1.0
        vectors[f"filler{i}"] = _unit(*filler)
    documents = [Document(id=word, text=word, format="text") for word in vectors if word != "query"]
    return MarkerEmbedder(vectors), documents


def test_centring_removes_the_common_direction_and_changes_the_ranking() -> None:
    embedder, documents = _hub_corpus()
    raw = KnowledgeBase(embedder=embedder, fusion=Fusion(dense=1.0))
    raw.add(documents)
    assert raw.search("query", k=2)[0].doc_id == "hub"  # inflated by the shared direction
    centred = KnowledgeBase(embedder=embedder, fusion=Fusion(dense=1.0, center=True))
    centred.add(documents)
    hits = centred.search("query", k=len(documents))
    assert hits[0].doc_id == "specific"
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_centred_cosine_is_the_cosine_after_subtracting_the_shrunk_corpus_mean() -> None:
    embedder = HashingEmbedder(64)
    documents = [
        Document(id="refunds", text="Card refunds take 5 to 10 business days.", title="Refunds"),
        Document(id="shipping", text="Standard delivery takes 3 to 5 days.", title="Shipping"),
        Document(
            id="faq-password",
            format="faq",
            question="How do I reset my password?",
            text="Click 'Forgot password' on the sign-in page.",
        ),
    ]
    kb = KnowledgeBase(embedder=embedder, fusion=Fusion(dense=1.0, center=True))
    kb.add(documents)
    bodies = embedder.embed([c.body for c in kb.chunks])
    questions = embedder.embed([c.question for c in kb.chunks if c.question])
    shrink = len(documents) / (len(documents) + CENTER_PRIOR_DOCS)
    mean = np.vstack([bodies, questions]).mean(axis=0) * shrink

    def centred(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> float:
        a, b = a - mean, b - mean
        return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))

    query = "how long do card refunds take"
    vector = embedder.embed([query])[0]
    hits = kb.search(query, k=3)
    assert len(hits) == 3
    for hit in hits:
        row = kb.chunks.index(hit.chunk)
        expected = centred(vector, bodies[row])
        if hit.chunk.question:
            expected = max(expected, centred(vector, embedder.embed([hit.chunk.question])[0]))
        assert hit.dense == pytest.approx(expected, abs=1e-5)
        assert hit.score == pytest.approx(hit.dense, abs=1e-6)  # dense weight 1, no lexical


def test_centring_handles_zero_vectors_without_nan() -> None:
    embedder = MarkerEmbedder({"known": [1.0, 0.0, 0.0], "other": [0.0, 1.0, 0.0]})
    kb = KnowledgeBase(embedder=embedder, fusion=Fusion(dense=1.0, center=True), threshold=0.0)
    # "nothing" has no marker word: a zero vector, as is the query "unrelated words".
    kb.add([Document(id=t, text=t, format="text") for t in ("known", "other", "nothing")])
    hits = kb.search("known", k=3)
    assert hits[0].doc_id == "known"
    assert len(hits) == 3 and all(np.isfinite(h.score) for h in hits)
    assert all(np.isfinite(h.score) for h in kb.search("unrelated words", k=3))


def test_a_row_equal_to_the_mean_gets_a_zero_centred_cosine() -> None:
    mean = np.array([0.5, 0.0], dtype=np.float32)
    terms = _RowTerms.build(np.array([[0.5, 0.0], [0.0, 1.0]], dtype=np.float32), mean)
    assert terms.inverse_norm[0] == 0.0
    assert terms.inverse_norm[1] == pytest.approx(1 / np.sqrt(1.25))


def test_fusion_json_round_trips_center_and_old_manifests_stay_uncentred() -> None:
    fusion = Fusion(dense=1.0, lexical=0.05, center=True)
    assert Fusion.from_json(fusion.to_json()) == fusion
    old = {"method": "weighted", "dense": 1.0, "lexical": 0.2}  # saved before centring existed
    assert Fusion.from_json(old).center is False


def test_default_fusion_is_centred_for_learned_embedders_only(tmp_path: Path) -> None:
    assert DEFAULT_FUSION.center
    assert default_fusion("st:all-MiniLM-L6-v2") == DEFAULT_FUSION
    hashing = default_fusion("hashing-512-v1")
    assert not hashing.center
    assert hashing.lexical == DEFAULT_FUSION.lexical
    assert not KnowledgeBase(embedder=HashingEmbedder()).fusion.center
    embedder, documents = _hub_corpus()
    kb = KnowledgeBase(embedder=embedder)
    assert kb.fusion == DEFAULT_FUSION
    kb.add(documents)
    kb.save(tmp_path / "index")
    assert KnowledgeBase.load(tmp_path / "index", embedder=embedder).fusion == DEFAULT_FUSION
    explicit = Fusion(dense=1.0)
    kb.fusion = explicit
    assert kb.fusion is explicit
    assert kb.search("query", k=1)[0].doc_id == "hub"  # the explicit, uncentred fusion
