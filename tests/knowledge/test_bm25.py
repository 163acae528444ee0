"""About internals: these tests also check private helpers directly
(``resolvekit.knowledge._text``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from resolvekit.knowledge import BM25Index
from resolvekit.knowledge._text import terms

DOCS = [["cat", "sat", "mat"], ["dog", "sat"], ["cat", "cat", "cat", "dog"]]


def _idf(n: int, df: int) -> float:
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


def test_scores_match_hand_computed_bm25() -> None:
    index = BM25Index.from_terms(DOCS, k1=1.2, b=0.75)
    avg = 3.0  # (3 + 2 + 4) / 3
    idf_cat = _idf(3, 2)  # ln(1 + 1.5 / 2.5) = ln 1.6
    assert idf_cat == pytest.approx(math.log(1.6))

    def weight(tf: int, length: int, idf: float) -> float:
        return idf * tf * 2.2 / (tf + 1.2 * (1 - 0.75 + 0.75 * length / avg))

    expected = [weight(1, 3, idf_cat), 0.0, weight(3, 4, idf_cat)]
    np.testing.assert_allclose(index.scores(["cat"]), expected, rtol=1e-6)
    idf_sat = _idf(3, 2)
    idf_mat = _idf(3, 1)
    both = index.scores(["cat", "mat"])
    assert both[0] == pytest.approx(weight(1, 3, idf_cat) + weight(1, 3, idf_mat))
    # Repeated and unknown query terms change nothing.
    np.testing.assert_allclose(index.scores(["cat", "cat", "zebra"]), expected, rtol=1e-6)
    assert index.scores(["sat"])[1] == pytest.approx(weight(1, 2, idf_sat))


def test_max_score_bounds_every_document_and_normalises_to_one() -> None:
    index = BM25Index.from_terms(DOCS)
    for query in (["cat"], ["cat", "dog"], ["sat", "mat", "dog"]):
        assert index.scores(query).max() <= index.max_score(query) + 1e-6
    assert index.max_score(["zebra"]) == 0.0
    assert index.max_score(["cat"]) == pytest.approx(_idf(3, 2) * 2.2)


def test_build_tokenises_removes_stop_words_and_folds_plurals() -> None:
    assert terms("How do I get my Refunds, and the refund's status?") == [
        "how",
        "get",
        "refund",
        "refund",
        "status",
    ]
    index = BM25Index.build(["Refunds take five days", "Shipping takes two days"])
    scores = index.scores("refund")
    assert scores[0] > 0 and scores[1] == 0


def test_arrays_round_trip_and_inconsistent_arrays_are_rejected() -> None:
    index = BM25Index.from_terms(DOCS)
    again = BM25Index.from_arrays(index.to_arrays())
    np.testing.assert_array_equal(again.scores(["cat", "dog"]), index.scores(["cat", "dog"]))
    broken = index.to_arrays()
    broken["postings"] = broken["postings"] + 10
    with pytest.raises(ValueError, match="outside"):
        BM25Index.from_arrays(broken)


def test_empty_corpus_and_buffer_reuse() -> None:
    empty = BM25Index.from_terms([])
    assert empty.scores("anything").shape == (0,)
    index = BM25Index.from_terms(DOCS)
    buffer = np.full(3, 7.0, dtype=np.float32)
    out = index.scores(["mat"], out=buffer)
    assert out is buffer and buffer[1] == 0.0 and buffer[0] > 0


def test_frequent_terms_use_dense_rows_with_identical_scores() -> None:
    rng = np.random.default_rng(0)
    # "common" is in every document: it gets a dense row; "rare" stays in postings.
    documents = [
        ["common"] * int(rng.integers(1, 4)) + ["rare"] * int(i % 50 == 0) + [f"w{i % 97}"]
        for i in range(3000)
    ]
    index = BM25Index.from_terms(documents)
    rows, _ = index._dense()
    assert index.vocabulary["common"] in rows and index.vocabulary["rare"] not in rows
    reference = np.zeros(3000, dtype=np.float32)
    for term in ("common", "rare", "w5"):
        t = index.vocabulary[term]
        start, end = index.offsets[t], index.offsets[t + 1]
        reference[index.postings[start:end]] += index.weights[start:end]
    np.testing.assert_allclose(index.scores(["common", "rare", "w5"]), reference, rtol=1e-6)
