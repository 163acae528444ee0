"""About internals: the compact first passes (``resolvekit.knowledge._dense``) and the two-pass
ranking of :class:`HybridIndex` against the exact float32 product."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from resolvekit.exceptions import UserError
from resolvekit.knowledge import Document, Fusion, KnowledgeBase
from resolvekit.knowledge._dense import Int8Rows, SignCodes, single_blas_thread
from resolvekit.knowledge.chunking import Chunk
from resolvekit.knowledge.index import HybridIndex

from .samples import planted_vectors

WORDS = ["refund", "card", "delivery", "password", "invoice", "E1234", "plan", "upgrade"]


def planted_index(
    n: int = 3000, *, seed: int = 0, dim: int = 64
) -> tuple[HybridIndex, np.ndarray, list[str]]:
    """An index of ``n`` chunks (every third an FAQ entry with its own question vector, two
    chunks per document, some stale, some agent-only, a product filter) and its queries."""
    rows, queries, _ = planted_vectors(n + n // 3, seed=seed, dim=dim)
    rng = np.random.default_rng(seed)
    chunks = []
    for i in range(n):
        words = rng.choice(WORDS, size=3)
        chunks.append(
            Chunk(
                id=f"d{i // 2}#c{i % 2}",
                doc_id=f"d{i // 2}",
                text=" ".join(words),
                question=f"how {words[0]} {i}" if i % 3 == 0 else None,
                review_by=date(2020, 1, 1) if i % 7 == 0 else None,
                metadata={
                    **({"audience": "agent"} if i % 11 == 0 else {}),
                    **({"product": "a" if i % 2 else "b"} if i % 5 else {}),
                },
            )
        )
    questions = np.array([rows[n + j] for j in range((n + 2) // 3)], dtype=np.float32)
    index = HybridIndex.build(chunks, rows[:n], questions)
    texts = [" ".join(rng.choice(WORDS, size=2)) for _ in range(len(queries))]
    return index, queries, texts


FUSIONS = [
    Fusion(dense=1.0, lexical=0.05, center=True),
    Fusion(dense=1.0, center=False),
    Fusion(dense=0.5, dense_field=0.5, lexical=0.3, lexical_field=0.2, center=True),
]


@pytest.mark.parametrize("fusion", FUSIONS)
@pytest.mark.parametrize("distinct", [True, False])
@pytest.mark.parametrize("filters", [None, {"product": "a"}, {"audience": "agent"}])
def test_int8_scoring_returns_exactly_the_exact_ranking(
    fusion: Fusion, distinct: bool, filters: dict[str, str] | None
) -> None:
    index, queries, texts = planted_index()
    for vector, text in zip(queries[:40], texts, strict=False):
        common = dict(
            k=10,
            fusion=fusion,
            filters=filters,
            distinct=distinct,
            stale_factor=0.8,
            today=date(2024, 1, 1),
        )
        exact = index.rank(vector, text, scoring="exact", **common)  # type: ignore[arg-type]
        fast = index.rank(vector, text, scoring="int8", **common)  # type: ignore[arg-type]
        np.testing.assert_array_equal(fast.rows, exact.rows)
        np.testing.assert_allclose(fast.scores, exact.scores, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(fast.dense, exact.dense, rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(fast.stale, exact.stale)


def test_binary_scoring_keeps_recall_and_returns_exact_scores() -> None:
    index, queries, texts = planted_index(6000, seed=1, dim=384)
    fusion = Fusion(dense=1.0, lexical=0.05, center=True)
    found = total = 0
    for vector, text in zip(queries, texts, strict=False):
        common = dict(k=10, fusion=fusion, distinct=False)
        exact = index.rank(vector, text, scoring="exact", **common)  # type: ignore[arg-type]
        fast = index.rank(vector, text, scoring="binary", depth=160, **common)  # type: ignore[arg-type]
        found += len(set(exact.rows.tolist()) & set(fast.rows.tolist()))
        total += len(exact.rows)
        # Whatever was found carries its exact score.
        exact_scores = dict(zip(exact.rows.tolist(), exact.scores.tolist(), strict=True))
        for row, score in zip(fast.rows.tolist(), fast.scores.tolist(), strict=True):
            if row in exact_scores:
                assert score == pytest.approx(exact_scores[row], rel=1e-5, abs=1e-6)
    # Measured 0.995 on this set (0.73 at 64 dimensions: sign codes need many); the floor
    # leaves room for platform rounding.
    assert found / total >= 0.95


def test_int8_error_bound_holds() -> None:
    rows, queries, _ = planted_vectors(2000, dim=384, seed=3)
    compact = Int8Rows.build(rows)
    for query in queries[:20]:
        error = np.abs(compact.dots(query) - rows @ query)
        assert (error <= compact.errors(query)).all()
    assert compact.nbytes < rows.nbytes / 3


def test_sign_codes_estimate_the_angle() -> None:
    rows, queries, targets = planted_vectors(2000, dim=384, seed=4)
    mean = rows.mean(axis=0)
    codes = SignCodes.build(rows, mean)
    estimate = codes.cosines(queries[0])
    centred = rows - mean
    exact = centred @ (queries[0] - mean)
    exact /= np.linalg.norm(centred, axis=1) * np.linalg.norm(queries[0] - mean)
    assert np.abs(estimate - exact).mean() < 0.08  # about pi * sqrt(p(1 - p) / 384)
    assert int(np.argmax(estimate)) == int(targets[0])
    assert codes.nbytes == 2000 * 48


def test_one_blas_thread_inside_a_query() -> None:
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with single_blas_thread():
        blas = [p for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"]
        assert all(p["num_threads"] == 1 for p in blas)


def test_knowledge_base_scoring_option() -> None:
    from resolvekit.understanding.embedders import HashingEmbedder

    with pytest.raises(UserError, match="scoring"):
        KnowledgeBase(embedder=HashingEmbedder(), scoring="fast")  # type: ignore[arg-type]
    documents = [Document(id=f"d{i}", text=f"refund card number {i} days") for i in range(50)]
    answers = {}
    for scoring in ("exact", "int8", "binary", "auto"):
        kb = KnowledgeBase(embedder=HashingEmbedder(), scoring=scoring)  # type: ignore[arg-type]
        kb.add(documents)
        hits = kb.search("refund card 7", k=3)
        answers[scoring] = [(h.doc_id, round(h.score, 5)) for h in hits]
    assert answers["int8"] == answers["exact"] == answers["auto"]
    assert answers["binary"][0] == answers["exact"][0]


def near_ties(n: int = 3000, dim: int = 64, seed: int = 7) -> tuple[HybridIndex, np.ndarray]:
    """Rows that differ from one another by far less than int8 rounding: the int8 pass alone
    orders them by rounding noise, so only re-scoring within the error bound finds the top."""
    rng = np.random.default_rng(seed)
    base = rng.standard_normal(dim).astype(np.float32)
    rows = base + 2e-3 * rng.standard_normal((n, dim)).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    queries = base + 2e-3 * rng.standard_normal((20, dim)).astype(np.float32)
    chunks = [Chunk(id=f"d{i}#c0", doc_id=f"d{i}", text="same words") for i in range(n)]
    return HybridIndex.build(chunks, rows, np.zeros((0, dim), dtype=np.float32)), queries


@pytest.mark.parametrize("fusion", FUSIONS[:2])
def test_int8_rescoring_within_the_bound_gives_the_exact_top_k(fusion: Fusion) -> None:
    index, queries = near_ties()
    missed = 0
    for vector in queries:
        exact = index.rank(vector, "same", k=10, fusion=fusion, scoring="exact")
        fast = index.rank(vector, "same", k=10, fusion=fusion, scoring="int8")
        np.testing.assert_array_equal(fast.rows, exact.rows)
        np.testing.assert_allclose(fast.scores, exact.scores, rtol=1e-5, atol=1e-6)
        # The first pass's own top (160 = 16 k, what rank re-scores before the bound) misses
        # part of the exact top 10: without the bound the result would differ.
        first = index.int8_rows()[0].dots(vector)
        missed += len(set(exact.rows.tolist()) - set(np.argsort(-first)[:160].tolist()))
    assert missed > 0


def _spy(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record which first pass each ranking uses."""
    calls: list[str] = []
    int8_dots, sign_cosines = Int8Rows.dots, SignCodes.cosines

    def dots(self: Int8Rows, query: np.ndarray) -> np.ndarray:
        calls.append("int8")
        return int8_dots(self, query)

    def cosines(self: SignCodes, query: np.ndarray) -> np.ndarray:
        calls.append("binary")
        return sign_cosines(self, query)

    monkeypatch.setattr(Int8Rows, "dots", dots)
    monkeypatch.setattr(SignCodes, "cosines", cosines)
    return calls


def test_auto_scoring_picks_by_size_and_fusion(monkeypatch: pytest.MonkeyPatch) -> None:
    import resolvekit.knowledge.index as index_module

    calls = _spy(monkeypatch)
    index, queries, texts = planted_index(600)
    vector, text = queries[0], texts[0]
    centred, raw = FUSIONS[0], FUSIONS[1]
    rrf = Fusion(method="rrf", center=True)

    def used(scoring: str, fusion: Fusion) -> set[str]:
        calls.clear()
        index.rank(vector, text, k=5, fusion=fusion, scoring=scoring)  # type: ignore[arg-type]
        return set(calls)

    assert index_module.AUTO_MIN_ROWS > 600
    assert used("auto", centred) == used("auto", raw) == set()  # small: the exact product
    monkeypatch.setattr(index_module, "AUTO_MIN_ROWS", 600)
    assert used("auto", centred) == {"binary"}  # sign bits where their recall was measured
    assert used("auto", raw) == {"int8"}  # elsewhere the pass that is exact
    assert used("auto", rrf) == set()  # rank fusion is always exact
    assert used("exact", centred) == set()
    assert used("int8", centred) == {"int8"}
    assert used("binary", raw) == {"binary"}
    with pytest.raises(UserError, match="scoring"):
        index.rank(vector, text, k=5, fusion=centred, scoring="fast")  # type: ignore[arg-type]


def test_a_knowledge_base_ranks_with_its_scoring(monkeypatch: pytest.MonkeyPatch) -> None:
    from resolvekit.understanding.embedders import HashingEmbedder

    seen: list[str] = []
    rank = HybridIndex.rank

    def spy(self: HybridIndex, *args: object, **options: object) -> object:
        seen.append(str(options["scoring"]))
        return rank(self, *args, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(HybridIndex, "rank", spy)
    documents = [Document(id=f"d{i}", text=f"refund card number {i} days") for i in range(5)]
    for scoring in ("auto", "int8", "binary", "exact"):
        kb = KnowledgeBase(embedder=HashingEmbedder(), scoring=scoring)  # type: ignore[arg-type]
        kb.add(documents)
        kb.search("refund card")
        kb.ask("refund card")
    assert KnowledgeBase(embedder=HashingEmbedder()).scoring == "auto"
    assert seen == ["auto", "auto", "int8", "int8", "binary", "binary", "exact", "exact"]


class _Probe(np.ndarray):
    """A vector matrix that records BLAS's thread count at each product it takes part in."""

    threads: list[int] = []

    def __matmul__(self, other: object) -> np.ndarray:
        if self.ndim == 2:  # a product over rows (not the 384-wide dot of two vectors)
            _Probe.threads.append(_blas_threads())
        return np.asarray(self) @ other


def _blas_threads() -> int:
    import threadpoolctl

    return max(p["num_threads"] for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas")


@pytest.mark.parametrize("scoring", ["exact", "int8", "binary"])
def test_every_product_of_a_query_runs_on_one_blas_thread(
    scoring: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    threadpoolctl = pytest.importorskip("threadpoolctl")
    index, queries, texts = planted_index(600)
    # The per-index constants (built once, on the first query) may use every thread.
    index.centering(), index.int8_rows(), index.sign_codes(True)
    index.vectors = index.vectors.view(_Probe)
    index.field_vectors = index.field_vectors.view(_Probe)
    dot = np.dot

    def probed_dot(*args: object, **kwargs: object) -> object:
        _Probe.threads.append(_blas_threads())
        return dot(*args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(np, "dot", probed_dot)  # the int8 pass's block products
    _Probe.threads = []
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        if _blas_threads() != 2:
            pytest.skip("BLAS here cannot run two threads")
        index.rank(queries[0], texts[0], k=5, fusion=FUSIONS[0], scoring=scoring)  # type: ignore[arg-type]
        assert _blas_threads() == 2  # restored after the query
    assert _Probe.threads and set(_Probe.threads) == {1}


def test_queries_running_at_once_share_one_blas_limit() -> None:
    """BLAS's thread count is process-wide: a query that ends must not restore it under another
    one still running, and the last one out restores it."""
    import threading

    threadpoolctl = pytest.importorskip("threadpoolctl")
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        if _blas_threads() != 2:
            pytest.skip("BLAS here cannot run two threads")
        first, second = single_blas_thread(), single_blas_thread()
        first.__enter__()
        second.__enter__()
        assert _blas_threads() == 1
        first.__exit__(None, None, None)
        assert _blas_threads() == 1  # the other query still runs on one thread
        second.__exit__(None, None, None)
        assert _blas_threads() == 2
        index, queries, texts = planted_index(600)

        def search(offset: int) -> None:
            for vector, text in zip(queries[offset::4], texts[offset::4], strict=False):
                index.rank(vector, text, k=5, fusion=FUSIONS[0], scoring="int8")

        threads = [threading.Thread(target=search, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert _blas_threads() == 2
