"""About internals: these tests also check private helpers directly
(``resolvekit.knowledge.index._top_rows``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from resolvekit.exceptions import UserError
from resolvekit.knowledge import Document, Fusion, KnowledgeBase
from resolvekit.understanding.embedders import HashingEmbedder

from .samples import CountingEmbedder


class KeywordEmbedder:
    """Bag of known keywords (plus a constant dimension), so cosines are easy to compute."""

    WORDS = ("refund", "card", "days", "password", "reset", "ship", "canada", "money")

    @property
    def name(self) -> str:
        return "keywords-v1"

    @property
    def dim(self) -> int:
        return len(self.WORDS) + 1

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            lowered = text.lower()
            for col, word in enumerate(self.WORDS):
                out[row, col] = lowered.count(word)
            out[row, -1] = 0.1
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def _cos(embedder: KeywordEmbedder, a: str, b: str) -> float:
    va, vb = embedder.embed([a, b])
    return float(va @ vb)


def test_dense_search_ranks_by_cosine_and_cites_chunks(
    corpus: Path, embedder: CountingEmbedder
) -> None:
    kb = KnowledgeBase(embedder=embedder)
    kb.add(corpus)
    hits = kb.search("How long do card refunds take to appear?", k=3)
    assert hits[0].doc_id == "billing/refunds.md"
    assert hits[0].chunk.heading_path == ("Refund policy", "Timing")
    assert hits[0].citation.chunk_id == hits[0].chunk.id
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert len({h.chunk.section for h in hits}) == 3  # distinct sections by default


def test_weighted_fusion_is_the_documented_sum_and_changes_the_ranking() -> None:
    embedder = KeywordEmbedder()
    docs = [
        # Same keywords for the embedder ("refund", "card"), no shared BM25 term.
        Document(id="dense", text="Cardholder refunding."),
        Document(id="lexical", text="Zanzibar refund."),  # rare exact term
    ]
    query = "zanzibar refund card"
    dense_only = KnowledgeBase(embedder=embedder, fusion=Fusion(dense=1.0))
    dense_only.add(docs)
    assert dense_only.search(query, k=2)[0].doc_id == "dense"
    fused = KnowledgeBase(embedder=embedder, fusion=Fusion(dense=1.0, lexical=2.0))
    fused.add(docs)
    hits = fused.search(query, k=2)
    assert hits[0].doc_id == "lexical"
    for hit in hits:
        assert hit.score == pytest.approx(hit.dense + 2.0 * hit.lexical, rel=1e-5)
        assert 0.0 <= hit.lexical <= 1.0
        assert hit.dense == pytest.approx(_cos(embedder, query, hit.chunk.body), rel=1e-5)


def test_rrf_fusion_scores_are_reciprocal_ranks() -> None:
    kb = KnowledgeBase(
        embedder=KeywordEmbedder(), fusion=Fusion(method="rrf", dense=1.0, lexical=1.0, rrf_k=10)
    )
    kb.add([Document(id="a", text="refund card"), Document(id="b", text="password reset")])
    hits = kb.search("refund card", k=2)
    assert hits[0].doc_id == "a"
    assert hits[0].score == pytest.approx(2 / 11)  # first in both rankings
    assert hits[1].score == pytest.approx(2 / 12)  # second in both


def test_faq_matches_on_the_better_of_question_and_answer() -> None:
    embedder = KeywordEmbedder()
    kb = KnowledgeBase(embedder=embedder)
    kb.add(
        [
            {"id": "q", "question": "Password reset?", "answer": "No money or card needed."},
            {"id": "a", "question": "Other?", "answer": "Refunds reach your card in days."},
        ]
    )
    by_question = kb.search("reset password", k=1)[0]
    assert by_question.doc_id == "q"
    assert by_question.dense == pytest.approx(_cos(embedder, "reset password", "Password reset?"))
    body_cosine = _cos(embedder, "reset password", by_question.chunk.body)
    assert by_question.dense > body_cosine  # the question field won
    by_answer = kb.search("card refund days", k=1)[0]
    assert by_answer.doc_id == "a"
    assert by_answer.dense == pytest.approx(
        _cos(embedder, "card refund days", by_answer.chunk.body)
    )


def test_metadata_filters_and_agent_only_content(corpus: Path, embedder: CountingEmbedder) -> None:
    kb = KnowledgeBase(embedder=embedder)
    kb.add(corpus)
    everything = {h.doc_id for h in kb.search("refund", k=20, filters={"audience": "agent"})}
    assert "faq-agent-override" in everything
    customer = {h.doc_id for h in kb.search("refund limit override", k=20)}
    assert "faq-agent-override" not in customer
    payments = kb.search("refund", k=20, filters={"product": "payments"})
    # Content without a product applies everywhere; other products are filtered out.
    assert {h.doc_id for h in payments} >= {"billing/refunds.md", "faq-password"}
    assert not any(h.chunk.metadata.get("product") == "subscriptions" for h in payments)
    canada = {h.doc_id for h in kb.search("ship", k=20, filters={"locale": ["en-US"]})}
    assert "faq.json#3" not in canada
    assert "faq.json#3" in {h.doc_id for h in kb.search("ship", k=20, filters={"locale": "en-CA"})}
    with pytest.raises(UserError, match="audience"):
        kb.search("refund", filters={"audience": "robots"})


def test_stale_chunks_are_flagged_and_down_weighted() -> None:
    today = date(2025, 6, 1)
    twin = "Card refunds take five days."
    kb = KnowledgeBase(embedder=KeywordEmbedder(), stale_factor=0.5, clock=lambda: today)
    kb.add(
        [
            Document(id="old", text=twin, review_by=date(2025, 1, 1)),
            Document(id="fresh", text=twin, review_by=date(2026, 1, 1)),
        ]
    )
    fresh, old = kb.search("card refunds", k=2)
    assert (fresh.doc_id, fresh.stale) == ("fresh", False)
    assert (old.doc_id, old.stale) == ("old", True)
    assert old.score == pytest.approx(0.5 * fresh.score)
    assert [s.doc_id for s in kb.stale()] == ["old"]


def test_search_edge_cases(embedder: CountingEmbedder) -> None:
    kb = KnowledgeBase(embedder=embedder)
    assert kb.search("anything") == []  # empty base
    kb.add([Document(id="a", text="alpha"), Document(id="b", text="beta")])
    assert kb.search("   ") == []
    assert kb.search("alpha", k=0) == []
    vector = embedder.embed(["alpha"])[0]
    calls = len(embedder.calls)
    assert kb.search("alpha", query_vector=vector)[0].doc_id == "a"
    assert len(embedder.calls) == calls  # the given vector was used
    with pytest.raises(UserError, match="string"):
        kb.search(b"alpha")  # type: ignore[arg-type]
    with pytest.raises(UserError, match="k must"):
        kb.search("alpha", k=-1)
    with pytest.raises(UserError, match="weights"):
        Fusion(dense=0.0)


def test_search_is_distinct_per_section_so_a_one_page_faq_gives_k_hits(
    embedder: CountingEmbedder,
) -> None:
    kb = KnowledgeBase(embedder=embedder)
    kb.add(
        Document(
            id="faq",
            text="# FAQ\n\n## How do refunds work?\n\nrefund one\n\n"
            "## When is a refund paid?\n\nrefund two\n\n## Refund limits\n\nrefund three",
        )
    )
    hits = kb.search("refund", k=5)
    assert len(hits) == 3 and len({h.chunk.section for h in hits}) == 3


def test_pieces_of_one_long_section_are_one_hit_unless_not_distinct() -> None:
    kb = KnowledgeBase(embedder=HashingEmbedder(), max_chars=60, overlap=0)
    kb.add(Document(id="long", text="# Refunds\n\n" + "A refund sentence here. " * 12))
    assert len({c.section for c in kb.chunks}) == 1 and len(kb.chunks) > 3
    assert len(kb.search("refund sentence", k=3)) == 1
    assert len(kb.search("refund sentence", k=3, distinct=False)) == 3


@pytest.mark.parametrize("k", [1, 10, 40, 300])
def test_fast_top_k_selection_matches_a_full_sort(k: int) -> None:
    from resolvekit.knowledge.index import _top_rows

    rng = np.random.default_rng(k)
    scores = rng.standard_normal(50_000).astype(np.float32)
    scores[rng.integers(0, 50_000, 5_000)] = -np.inf  # filtered rows
    scores[:100] = scores[100]  # ties resolve by row order
    expected = np.lexsort((np.arange(50_000), -scores))[:k]
    np.testing.assert_array_equal(_top_rows(scores, k), expected)
    skewed = np.zeros(50_000, dtype=np.float32)
    skewed[-3:] = 1.0  # the sampled threshold finds fewer than k: fall back to the full array
    assert list(_top_rows(skewed, k)[:3]) == [49_997, 49_998, 49_999][:k]
    assert len(_top_rows(skewed, k)) == k
