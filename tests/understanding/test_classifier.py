"""The intent classifier and its calibration helpers, on the deterministic hashing embedder.

About internals: these tests also check private helpers directly
(``resolvekit.understanding._calibration``, ``resolvekit.understanding._linear``,
``resolvekit.understanding._threads``).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from resolvekit.exceptions import UserError
from resolvekit.understanding._calibration import (
    choose_threshold,
    expected_calibration_error,
    fit_temperature,
    softmax,
)
from resolvekit.understanding._linear import fit_linear
from resolvekit.understanding.classifier import IntentClassifier
from resolvekit.understanding.embedders import HashingEmbedder

INTENTS = {
    "order_status": ["where is my order", "track my package", "has my order shipped yet",
                     "when will my parcel arrive", "order status please", "where's my delivery"],
    "cancel_order": ["cancel my order", "i want to cancel the order", "please cancel the purchase",
                     "stop my order before it ships", "cancel it now", "cancellation of my order"],
    "reset_password": ["reset my password", "forgot my password", "can't log in, password wrong",
                       "change my password", "send a password reset link", "password not working"],
    "refund": ["i want a refund", "give me my money back", "refund my purchase",
               "how do refunds work", "refund status", "when do i get my refund"],
    "update_address": ["change my address", "update my shipping address", "i moved, new address",
                       "wrong address on file", "edit delivery address", "new home address"],
}  # fmt: skip
TEXTS = [t for examples in INTENTS.values() for t in examples]
LABELS = [label for label, examples in INTENTS.items() for _ in examples]


def classifier(**kwargs: object) -> IntentClassifier:
    return IntentClassifier(HashingEmbedder(256), **kwargs)  # type: ignore[arg-type]


# --- calibration helpers (hand-computed values) --------------------------------------------------


def test_ece_matches_hand_computation() -> None:
    # Bins of width 1/15: 0.9 -> bin 13, 0.6 -> bin 8, 0.2 -> bin 2.
    # ECE = 2/4*|0.5-0.9| + 1/4*|1-0.6| + 1/4*|0-0.2| = 0.2 + 0.1 + 0.05
    assert expected_calibration_error([0.9, 0.9, 0.6, 0.2], [1, 0, 1, 0]) == pytest.approx(0.35)
    assert expected_calibration_error([1.0, 1.0], [True, True]) == pytest.approx(0.0)
    # Bins are right-closed: 1/3 and 0.3 share (0.2, 0.4] with 3 bins; mean conf 0.31667, acc 0.5.
    assert expected_calibration_error([1 / 3, 0.3], [1, 0], n_bins=3) == pytest.approx(
        abs(0.5 - (1 / 3 + 0.3) / 2)
    )
    assert expected_calibration_error([0.0], [0]) == pytest.approx(0.0)


@pytest.mark.parametrize(
    ("conf", "correct", "kwargs"),
    [([], [], {}), ([0.5], [1, 0], {}), ([1.5], [1], {}), ([0.5], [1], {"n_bins": 0})],
)
def test_ece_rejects_bad_input(
    conf: list[float], correct: list[int], kwargs: dict[str, int]
) -> None:
    with pytest.raises(UserError):
        expected_calibration_error(conf, correct, **kwargs)


def test_choose_threshold_maximises_accuracy_plus_recall() -> None:
    # Threshold in (0.4, 0.7): accuracy 3/4 + recall 1 = 1.75, better than any other cut.
    choice = choose_threshold([0.9, 0.8, 0.7, 0.3], [True, True, True, True], [0.1, 0.2, 0.4])
    assert 0.4 < choice.threshold < 0.7
    assert choice.in_scope_accuracy == pytest.approx(0.75)
    assert choice.oos_recall == pytest.approx(1.0)
    # A wrongly labelled in-scope message is worth nothing whether accepted or not.
    wrong = choose_threshold([0.9, 0.3], [True, False], [0.5])
    assert 0.5 < wrong.threshold < 0.9
    with pytest.raises(UserError):
        choose_threshold([0.5], [True], [])


def test_choose_threshold_with_a_required_oos_recall() -> None:
    ins, ok, oos = [0.9, 0.8, 0.7, 0.3], [True] * 4, [0.1, 0.2, 0.75]
    # The sum rule accepts missing the 0.75 outlier; requiring full recall moves above it.
    assert choose_threshold(ins, ok, oos).oos_recall == pytest.approx(2 / 3)
    strict = choose_threshold(ins, ok, oos, min_oos_recall=1.0)
    assert 0.75 < strict.threshold < 0.8
    assert strict.in_scope_accuracy == pytest.approx(0.5)
    lenient = choose_threshold(ins, ok, oos, min_oos_recall=0.0)
    assert lenient.in_scope_accuracy == pytest.approx(1.0)
    with pytest.raises(UserError):
        choose_threshold(ins, ok, oos, min_oos_recall=1.5)


def test_fit_temperature_recovers_the_generating_temperature() -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(4000, 6)) * 3
    probs = softmax(logits, 2.0)
    labels = np.array([rng.choice(6, p=p) for p in probs])
    fitted = fit_temperature(logits, labels)
    assert fitted == pytest.approx(2.0, rel=0.1)
    # Scaling the logits scales the temperature: calibration is monotone in the logits.
    assert fit_temperature(logits * 3, labels) == pytest.approx(3 * fitted, rel=1e-3)
    # Temperature never changes a row's label, and a hotter softmax is never more confident.
    assert np.array_equal(softmax(logits, fitted).argmax(axis=1), logits.argmax(axis=1))
    confidences = [softmax(logits, t).max(axis=1) for t in (0.5, 1.0, fitted, 4.0)]
    assert all(np.all(a >= b) for a, b in itertools.pairwise(confidences))
    with pytest.raises(UserError):
        fit_temperature(np.zeros((2, 3)), np.zeros(3, dtype=int))


def _optimality(x: np.ndarray, y: np.ndarray, k: int, model: object, w: np.ndarray) -> float:
    """Largest entry of the penalised objective's gradient (weights and bias): 0 at the optimum."""
    p = softmax(model.logits(x))  # type: ignore[attr-defined]
    delta = (p - np.eye(k)[y]) * (w / w.sum())[:, None]
    grad_w = x.T @ delta + 1e-3 * model.weights  # type: ignore[attr-defined]
    return float(max(np.abs(grad_w).max(), np.abs(delta.sum(axis=0)).max()))


@pytest.mark.parametrize("backend", ["sklearn", "numpy"])
@pytest.mark.parametrize("k", [2, 3])
def test_linear_head_reaches_the_optimum_of_its_objective(
    monkeypatch: pytest.MonkeyPatch, backend: str, k: int
) -> None:
    # Both backends minimise mean weighted cross-entropy + l2/2 |W|^2 (two classes included,
    # which scikit-learn fits as one binomial vector): the penalised gradient vanishes.
    from resolvekit.understanding import _linear

    monkeypatch.setattr(_linear, "_SKLEARN", backend == "sklearn")
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(k, 5))
    y = np.repeat(np.arange(k), 40)
    x = centres[y] + 0.5 * rng.normal(size=(len(y), 5))
    w = rng.uniform(0.5, 2.0, size=len(y))
    model = fit_linear(x, y, k, l2=1e-3, sample_weight=w, tol=1e-7)
    assert model.weights.shape == (5, k) and model.bias.shape == (k,)
    assert (model.logits(x).argmax(axis=1) == y).mean() > 0.9
    assert _optimality(x, y, k, model, w) < 1e-5


def test_numpy_fallback_fits_the_classifier_without_scikit_learn(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from resolvekit.understanding import _linear

    with_sklearn = classifier(persist=False).fit(TEXTS, LABELS)
    monkeypatch.setattr(_linear, "_SKLEARN", False)
    monkeypatch.setattr(_linear, "_fit_sklearn", None)  # would raise if it were called
    without = classifier(persist=False).fit(TEXTS, LABELS)
    probes = ["where is my parcel", "i forgot my password", "zebra quantum violin"]
    assert [p.label for p in without.predict(probes)] == [
        p.label for p in with_sklearn.predict(probes)
    ]
    np.testing.assert_allclose(
        without.scores(without.embedder.embed(probes))[0],
        with_sklearn.scores(with_sklearn.embedder.embed(probes))[0],
        atol=0.02,
    )


def test_importing_the_classifier_loads_no_scikit_learn() -> None:
    import subprocess
    import sys

    code = (
        "import sys; import resolvekit.understanding.classifier; "
        "print(any(m == 'sklearn' or m.startswith(('sklearn.', 'scipy')) for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- the classifier ------------------------------------------------------------------------


def test_fit_predict_ranking_and_confidence() -> None:
    clf = classifier(top_k=3).fit(TEXTS, LABELS)
    assert clf.classes == sorted(INTENTS)
    preds = clf.predict(["where is my parcel", "i forgot my password", "please cancel my order"])
    assert [p.label for p in preds] == ["order_status", "reset_password", "cancel_order"]
    for pred in preds:
        assert len(pred.ranking) == 3
        probs = [r.probability for r in pred.ranking]
        assert probs == sorted(probs, reverse=True)
        assert pred.confidence == probs[0]
        assert 0 < sum(probs) <= 1 + 1e-9
        assert len({r.label for r in pred.ranking}) == 3
    assert clf.predict_one("track my package").label == "order_status"
    assert clf.predict([]) == []
    assert clf.report is not None
    assert clf.report.threshold_source == "cross-validation"
    assert math.isfinite(clf.threshold)
    assert clf.report.temperature == clf.temperature > 0


@pytest.mark.parametrize("method", ["auto", "ensemble", "linear", "knn", "centroid"])
def test_every_method_classifies(method: str) -> None:
    clf = classifier(method=method).fit(TEXTS, LABELS)
    assert clf.predict_one("update my shipping address please").label == "update_address"
    assert clf.predict_one("refund my money").label == "refund"


def test_out_of_scope_messages_score_below_in_scope_ones() -> None:
    clf = classifier().fit(TEXTS, LABELS)
    inside = clf.predict(["where is my order", "i want a refund", "reset my password"])
    outside = clf.predict(["zebra quantum violin", "photosynthesis lecture notes"])
    assert all(p.in_scope for p in inside)
    assert not any(p.in_scope for p in outside)
    assert min(p.score for p in inside) > max(p.score for p in outside)


def test_threshold_is_chosen_on_validation_data_when_given() -> None:
    val_texts = [
        *("where is my package now", "cancel the order please", "refund please"),
        *("what is the capital of peru", "play some jazz music", "how tall is everest"),
    ]
    val_labels = ["order_status", "cancel_order", "refund", None, None, None]
    clf = classifier().fit(TEXTS, LABELS, val_texts=val_texts, val_labels=val_labels)
    assert clf.report is not None
    assert clf.report.threshold_source == "validation"
    # Recompute the rule on the validation scores by hand: it must give the same threshold.
    probs, score = clf.scores(clf.embedder.embed(val_texts))
    in_rows = [0, 1, 2]
    correct = [clf.classes[int(probs[r].argmax())] == val_labels[r] for r in in_rows]
    expected = choose_threshold(score[in_rows], correct, score[3:])
    assert clf.threshold == pytest.approx(expected.threshold)
    assert clf.report.heldout_oos_recall == pytest.approx(expected.oos_recall)


def test_explicit_oos_class_takes_probability_mass() -> None:
    oos = [
        *("what's the weather tomorrow", "tell me a joke", "who won the football match"),
        *("weather forecast for the weekend", "sing me a song", "football results today"),
    ]
    clf = classifier().fit(TEXTS, LABELS, oos_texts=oos)
    assert "oos" not in clf.classes and len(clf.classes) == len(INTENTS)
    weather = clf.predict_one("what will the weather be tomorrow")
    assert not weather.in_scope
    assert sum(r.probability for r in weather.ranking) < 0.5
    assert clf.predict_one("where is my order").in_scope


def test_no_threshold_without_any_held_out_out_of_scope_data() -> None:
    clf = classifier().fit(["cancel my order", "reset my password"], ["cancel", "reset"])
    assert clf.report is not None
    assert clf.report.threshold_source == "none"
    assert clf.threshold == -math.inf
    assert clf.predict_one("banana").in_scope
    clf.threshold = 100.0
    assert not clf.predict_one("cancel my order").in_scope


def test_fit_is_deterministic_for_a_seed() -> None:
    a = classifier(seed=3).fit(TEXTS, LABELS)
    b = classifier(seed=3).fit(TEXTS, LABELS)
    assert a.threshold == b.threshold
    assert a.temperature == b.temperature


@pytest.mark.parametrize(
    ("texts", "labels", "match"),
    [
        ([], [], "no examples"),
        (["a", "b"], ["x", "x"], "at least two intents"),
        (["a", "b"], ["x"], "2 texts but 1 labels"),
        (["a", "b"], ["x", ""], "non-empty strings"),
    ],
)
def test_fit_rejects_bad_training_data(texts: list[str], labels: list[str], match: str) -> None:
    with pytest.raises(UserError, match=match):
        classifier().fit(texts, labels)


def test_bad_usage_errors() -> None:
    with pytest.raises(UserError, match="not fitted"):
        classifier().predict_one("hello")
    with pytest.raises(UserError, match="Unknown method"):
        classifier(method="forest")
    with pytest.raises(UserError, match="absent from training"):
        classifier().fit(TEXTS, LABELS, val_texts=["x"], val_labels=["nonexistent"])
    with pytest.raises(UserError, match="val_labels"):
        classifier().fit(TEXTS, LABELS, val_texts=["x", "y"], val_labels=["refund"])
    clf = classifier().fit(TEXTS, LABELS)
    with pytest.raises(UserError, match="list of texts"):
        clf.predict("where is my order")  # type: ignore[arg-type]


def test_min_oos_recall_sets_the_validation_threshold() -> None:
    # The last "out-of-scope" validation message copies a training example, so it scores like an
    # in-scope one: the sum rule lets it through, a required recall of 1 must reject it.
    val_texts = [
        *("where is my package now", "cancel the order please", "refund please"),
        *("what is the capital of peru", "play some jazz music", "track my package"),
    ]
    val_labels = ["order_status", "cancel_order", "refund", None, None, None]
    default = classifier().fit(TEXTS, LABELS, val_texts=val_texts, val_labels=val_labels)
    strict = classifier(min_oos_recall=1.0).fit(
        TEXTS, LABELS, val_texts=val_texts, val_labels=val_labels
    )
    assert default.report is not None and strict.report is not None
    assert default.report.heldout_oos_recall < 1.0
    assert strict.report.heldout_oos_recall == 1.0
    assert not strict.predict_one("track my package").in_scope
    probs, score = strict.scores(strict.embedder.embed(val_texts))
    correct = [strict.classes[int(probs[r].argmax())] == val_labels[r] for r in range(3)]
    expected = choose_threshold(score[:3], correct, score[3:], min_oos_recall=1.0)
    assert strict.threshold == pytest.approx(expected.threshold)
    with pytest.raises(UserError, match="min_oos_recall"):
        classifier(min_oos_recall=1.2)


# --- embedders with several blocks ----------------------------------------------------------------


class BlockEmbedder:
    """Two blocks. ``second="noise"``: noise first, the hashed words second; ``"same"``: the
    hashed words in both."""

    def __init__(self, *, second: str) -> None:
        self.inner = HashingEmbedder(128)
        self.second = second
        self.name, self.dim, self.blocks = f"blocks-{second}", 256, (128, 128)

    def embed(self, texts: list[str]) -> np.ndarray:
        words = self.inner.embed(texts)
        if self.second == "noise":
            rng = np.random.default_rng([len(t) for t in texts])
            other = rng.normal(size=words.shape).astype(np.float32)
            other /= np.linalg.norm(other, axis=1, keepdims=True)
            first, second = other, words  # the words sit in the *second* block
        else:
            first, second = words, words
        return np.concatenate([first, second], axis=1) / np.float32(np.sqrt(2))


def test_block_weight_is_chosen_on_held_out_data() -> None:
    # The intent signal lives only in the second block: auto must keep it at full weight.
    informative = IntentClassifier(BlockEmbedder(second="noise")).fit(TEXTS * 2, LABELS * 2)
    assert informative.report is not None
    assert informative.report.block_weight == 1.0
    dropped = IntentClassifier(BlockEmbedder(second="noise"), block_weight=0.0)
    dropped.fit(TEXTS * 2, LABELS * 2)
    assert dropped.report is not None and dropped.report.block_weight == 0.0
    assert informative.report.heldout_accuracy > dropped.report.heldout_accuracy + 0.3
    assert informative.predict_one("where is my parcel").label == "order_status"


def test_blocks_that_add_nothing_keep_the_plain_embedding() -> None:
    # Two copies of the same block: every weight gives the same cosines, so no clear gain.
    clf = IntentClassifier(BlockEmbedder(second="same")).fit(TEXTS * 2, LABELS * 2)
    assert clf.report is not None and clf.report.block_weight == 0.0


def test_a_larger_block_weight_is_tried_only_after_a_clear_gain(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import resolvekit.understanding.classifier as module

    widths: list[int] = []
    real = module.held_out

    def spy(x: np.ndarray, *args: object) -> object:
        widths.append(x.shape[1])
        return real(x, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(module, "held_out", spy)
    IntentClassifier(BlockEmbedder(second="same"), persist=False).fit(TEXTS * 2, LABELS * 2)
    assert widths == [128, 256]  # weight 1/2 gained nothing: weight 1 is not tried
    widths.clear()
    IntentClassifier(BlockEmbedder(second="noise"), persist=False).fit(TEXTS * 2, LABELS * 2)
    assert widths == [128, 256, 256]


def test_single_block_embedders_report_no_block_weight() -> None:
    clf = classifier().fit(TEXTS, LABELS)
    assert clf.report is not None and clf.report.block_weight is None


def test_block_vectors_of_the_wrong_width_are_refused() -> None:
    clf = IntentClassifier(BlockEmbedder(second="same"))
    with pytest.raises(UserError, match="blocks"):
        clf.fit_embeddings(np.ones((len(TEXTS), 128), np.float32), LABELS)
    clf.fit(TEXTS, LABELS)
    with pytest.raises(UserError, match="fitted on 256-dim"):
        clf.scores(np.ones((2, 128), np.float32))
    for bad in (-0.1, 1.5, "half"):
        with pytest.raises(UserError, match="block_weight"):
            IntentClassifier(HashingEmbedder(8), block_weight=bad)  # type: ignore[arg-type]


def test_small_batches_classify_with_single_threaded_blas(monkeypatch: pytest.MonkeyPatch) -> None:
    import resolvekit.understanding.classifier as module

    entered: list[int] = []

    class Recorder:
        def __enter__(self) -> None:
            entered.append(1)

        def __exit__(self, *exc: object) -> None:
            return None

    monkeypatch.setattr(module, "blas_single_thread", Recorder)
    clf = classifier().fit(TEXTS, LABELS)
    entered.clear()
    clf.predict(["where is my order"])
    assert entered == [1]
    clf.predict(TEXTS * 3)  # a batch keeps every BLAS thread
    assert entered == [1]


def test_blas_limit_applies_inside_and_is_restored(monkeypatch: pytest.MonkeyPatch) -> None:
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from resolvekit.understanding import _threads

    # The controller sees the BLAS libraries loaded when it is made (numpy's always is); start
    # afresh so it covers every library this test process has loaded since.
    monkeypatch.setattr(_threads, "_controller", None)
    blas_single_thread = _threads.blas_single_thread

    def blas_threads() -> list[int]:
        return [
            p["num_threads"] for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"
        ]

    before = blas_threads()
    with blas_single_thread():
        assert all(n == 1 for n in blas_threads())
    assert blas_threads() == before
