"""The classifier's fitting machinery: kNN weight choice and the in-scope score's weights.

About internals: these tests also check private helpers directly
(``resolvekit.understanding._classifier_fit``, ``resolvekit.understanding._heads``).
"""

from __future__ import annotations

import numpy as np
import pytest

from resolvekit.understanding._classifier_fit import (
    KNN_WEIGHTS,
    HeldOut,
    Model,
    clearly_better,
    weigh_blocks,
)
from resolvekit.understanding._heads import NeighbourHead


def auroc(positive: np.ndarray, negative: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    labels = np.r_[np.ones(len(positive)), np.zeros(len(negative))]
    return float(roc_auc_score(labels, np.r_[positive, negative]))


def _held(main: np.ndarray, knn: np.ndarray, y: np.ndarray) -> HeldOut:
    n = len(y)
    return HeldOut(logits=main, knn=knn, y=y, similarity=np.zeros(n), energy=np.zeros(n))


def _model(method: str) -> Model:
    return Model(method=method, n_classes=4, knn=NeighbourHead())


def _log_probs(rng: np.random.Generator, y: np.ndarray, signal: float) -> np.ndarray:
    logits = rng.normal(size=(len(y), 4))
    logits[np.arange(len(y)), y] += signal
    return logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))


def test_auto_takes_the_knn_head_only_when_it_helps_on_held_out_data() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, size=600)
    main = _log_probs(rng, y, 1.5)
    useful, useless = _log_probs(rng, y, 3.0), _log_probs(rng, y, 0.0)

    helped = _model("auto")
    helped.calibrate(_held(main, useful, y), y)
    assert helped.knn_weight == max(KNN_WEIGHTS)
    hurt = _model("auto")
    hurt.calibrate(_held(main, useless, y), y)
    assert hurt.knn_weight == 0.0
    # The temperature is the one fitted for the chosen weight: logits scaled by 2 double it.
    doubled = _model("auto")
    doubled.calibrate(_held(2 * main, 2 * useless, y), y)
    assert doubled.temperature == pytest.approx(2 * hurt.temperature, rel=1e-3)


@pytest.mark.parametrize(("method", "weight"), [("ensemble", 1.0), ("linear", 0.0)])
def test_fixed_methods_keep_their_knn_weight(method: str, weight: float) -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 4, size=200)
    model = _model(method)
    model.calibrate(_held(_log_probs(rng, y, 1.0), _log_probs(rng, y, 0.0), y), y)
    assert model.knn_weight == weight


def test_score_weights_follow_the_part_that_separates_in_from_out_of_scope() -> None:
    rng = np.random.default_rng(2)
    n_in, n_oos = 400, 100
    # Part 0 separates; part 1 is noise; part 2 is constant (std 0, so it must get no weight).
    parts_in = np.stack([rng.normal(1.0, 1.0, n_in), rng.normal(size=n_in), np.ones(n_in)], 1)
    parts_oos = np.stack([rng.normal(-1.5, 1.0, n_oos), rng.normal(size=n_oos), np.ones(n_oos)], 1)
    model = _model("auto")
    model.fit_standardisation(parts_in)
    equal = auroc(model.combine(parts_in), model.combine(parts_oos))
    model.fit_weights(parts_in, parts_oos)
    weights = model.weights
    assert weights.sum() == pytest.approx(3.0)
    assert weights[2] == 0.0
    assert weights[0] > 5 * weights[1] >= 0.0
    assert auroc(model.combine(parts_in), model.combine(parts_oos)) > equal


def test_a_part_that_points_the_wrong_way_gets_no_weight() -> None:
    rng = np.random.default_rng(3)
    parts_in = np.stack([rng.normal(1.0, 1.0, 300), rng.normal(-1.0, 1.0, 300)], 1)
    parts_oos = np.stack([rng.normal(-1.0, 1.0, 300), rng.normal(1.0, 1.0, 300)], 1)
    model = _model("auto")
    model.fit_standardisation(parts_in)
    model.fit_weights(parts_in, parts_oos)
    assert model.weights[1] == 0.0
    assert model.weights[0] == pytest.approx(2.0)


def test_a_block_weight_needs_clear_held_out_evidence() -> None:
    rng = np.random.default_rng(3)
    base = rng.exponential(0.5, size=400)
    assert clearly_better(base - 0.05, base)  # better on every message
    noisy = base + rng.normal(0.0, 0.5, size=400)
    assert not clearly_better(noisy - 0.01, noisy + rng.normal(0.0, 0.5, size=400))
    assert not clearly_better(base[:1] - 1.0, base[:1])  # one message proves nothing
    assert not clearly_better(base + 0.05, base)  # worse


def test_weigh_blocks_scales_the_extra_block_and_renormalises() -> None:
    x = np.array([[0.6, 0.8, 1.0, 0.0]], np.float32) / np.float32(np.sqrt(2))
    np.testing.assert_allclose(weigh_blocks(x, (2, 2), 0.0), [[0.6, 0.8]], rtol=1e-6)
    half = weigh_blocks(x, (2, 2), 0.5)
    np.testing.assert_allclose(half, [[0.6, 0.8, 0.5, 0.0]] / np.sqrt(1.25), rtol=1e-6)
    assert weigh_blocks(x, (2, 2), 1.0) is x
    assert weigh_blocks(x, None, 0.0) is x
    assert weigh_blocks(np.zeros((0, 4), np.float32), (2, 2), 0.0).shape == (0, 2)
