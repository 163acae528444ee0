"""The intent classifier: calibrated intent probabilities and an out-of-scope decision.

Trained from each intent's examples (a handful per intent is enough) over sentence embeddings::

    clf = IntentClassifier(default_embedder()).fit(texts, labels)
    pred = clf.predict_one("where's my parcel?")
    pred.label, pred.confidence, pred.in_scope, pred.ranking  # "order_status", 0.93, True, ...

How it works:

- **Heads.** A k-nearest-neighbour head (per intent, the similarity of the closest example) and a
  multinomial logistic-regression head over the same embeddings. ``method="auto"`` (the default)
  adds the kNN log-probabilities to the linear ones with a weight in ``{0, 1/8, 1/4, 1/2, 1}``
  chosen by held-out log-likelihood: the kNN head helps on BANKING77 but hurts on CLINC150.
  ``"ensemble"`` always uses weight 1 (the product of the two heads' probabilities).
- **Embedding blocks.** With an embedder whose vectors are several blocks (such as
  :func:`~resolvekit.understanding.embedders.default_intent_embedder`: MiniLM's sentence
  embedding plus its mean-pooled layer 2), the extra blocks get a weight in ``{0, 1/2, 1}``
  chosen by the same held-out log-likelihood; a non-zero weight must beat weight 0 by two
  standard errors of the paired per-message difference, so a small training set keeps the
  plain sentence embedding. The weights are tried in increasing order and a larger one only
  while the last one beat weight 0 that clearly (held-out log-likelihood has been unimodal in the
  weight on every data set tried), which spares most few-shot fits the weight-1 folds.
- **Calibration.** The combined logits are divided by a temperature fitted on held-out
  predictions, so ``confidence`` is the probability that the label is right.
- **Out of scope.** Each message gets an in-scope ``score``: a weighted sum of three standardised
  signals (log calibrated confidence, similarity to the nearest training example, and the linear
  head's log-sum-exp "energy"). The weights come from a class-balanced logistic regression of
  held-out in-scope vs out-of-scope messages (negative weights clipped to zero). A message is in
  scope when ``score >= threshold``.
- **Held-out data.** Temperature, standardisation and threshold are chosen on held-out data, never
  by hand. When the caller passes validation data holding both in-scope and out-of-scope
  messages, those are used. Otherwise the training data is cross-validated: in each fold some
  *examples* and some whole *intents* are held out; held-out examples of intents the fold trained
  on are in-scope, examples of held-out intents (and held-out ``oos_texts``) act as out-of-scope.
  The threshold maximises in-scope accuracy plus out-of-scope recall on those held-out messages,
  or, with ``min_oos_recall=r``, in-scope accuracy among thresholds rejecting at least a fraction
  ``r`` of them (:func:`~resolvekit.understanding._calibration.choose_threshold`).
- **Explicit out-of-scope class.** ``oos_texts`` (messages the agent should not handle) become an
  extra class of both heads; their probability mass lowers every intent's confidence.
- **Fitting** (scikit-learn's lbfgs ``LogisticRegression``, folds two at a time) and
  **persistence** (a fit is saved by its data and settings and loaded when asked for again,
  :mod:`~resolvekit.understanding._classifier_store`): see docs/models.md.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ..exceptions import UserError
from . import _classifier_store as store
from ._calibration import (
    choose_threshold,
    expected_calibration_error,
    log_softmax,
    softmax,
)
from ._classifier_fit import (
    BLOCK_WEIGHTS,
    HeldOut,
    Model,
    clearly_better,
    fit_model,
    held_out,
    validation_rows,
    weigh_blocks,
)
from ._classifier_store import FitKey
from ._heads import NeighbourHead
from ._threads import SMALL_BATCH, blas_single_thread
from .embedders import embedding_blocks

if TYPE_CHECKING:
    import numpy.typing as npt

    from .embedders import Embedder

__all__ = ["FitReport", "IntentClassifier", "IntentPrediction", "Method", "RankedLabel"]

Method = Literal["auto", "ensemble", "linear", "knn", "centroid"]
_Candidate = tuple[
    "npt.NDArray[np.float64] | None", float, "Model | None", "Model | None",
    "HeldOut | None", "HeldOut | None",
]  # fmt: skip
"""A block weight tried: held-out NLL per message, the weight, the full model (when fitted),
the calibration chosen on held-out data, held-out in-scope and out-of-scope outputs."""
_METHODS = ("auto", "ensemble", "linear", "knn", "centroid")


@dataclass(kw_only=True, frozen=True)
class RankedLabel:
    """One intent in a prediction's ranking."""

    label: str
    """The intent's name."""
    probability: float
    """Calibrated probability that the message is this intent."""


@dataclass(kw_only=True, frozen=True)
class IntentPrediction:
    """The classifier's verdict on one message."""

    label: str
    """The most likely intent (reported even when the message is out of scope)."""
    confidence: float
    """Calibrated probability that ``label`` is right."""
    in_scope: bool
    """Whether the message belongs to any known intent (``score >= threshold``)."""
    score: float
    """In-scope score; higher means more clearly one of the known intents."""
    ranking: tuple[RankedLabel, ...]
    """The top-k intents, most likely first: offer "did you mean X or Y?" from it."""


@dataclass(kw_only=True, frozen=True)
class FitReport:
    """How the fitted classifier did on the held-out data its calibration was chosen on."""

    n_examples: int
    """Training examples (without ``oos_texts``)."""
    n_classes: int
    """Number of intents."""
    temperature: float
    """Softmax temperature fitted on held-out predictions."""
    threshold: float
    """The out-of-scope threshold (``-inf`` when it could not be chosen)."""
    threshold_source: Literal["validation", "cross-validation", "none"]
    """Where the held-out out-of-scope messages came from."""
    heldout_accuracy: float
    """Top-1 accuracy on held-out in-scope messages (``nan`` when there were none)."""
    heldout_ece: float
    """Expected calibration error (15 bins) on held-out in-scope messages."""
    heldout_in_scope_accuracy: float
    """Held-out in-scope messages accepted and labelled right, at the threshold."""
    heldout_oos_recall: float
    """Held-out out-of-scope messages rejected, at the threshold."""
    block_weight: float | None = None
    """Weight of the embedder's extra blocks (``None`` when its vectors are one block)."""
    heldout_true: tuple[int, ...] = field(default=(), repr=False)
    heldout_predicted: tuple[int, ...] = field(default=(), repr=False)
    heldout_scores: tuple[float, ...] = field(default=(), repr=False)
    heldout_confidence: tuple[float, ...] = field(default=(), repr=False)
    heldout_oos_scores: tuple[float, ...] = field(default=(), repr=False)
    heldout_oos_confidence: tuple[float, ...] = field(default=(), repr=False)
    """Per held-out in-scope message: its intent and top intent (indices into ``classes``), score
    and confidence; per held-out out-of-scope message, its score and top confidence."""


class IntentClassifier:
    """Calibrated intent classification with out-of-scope detection.

    Args:
        embedder: turns texts into unit vectors (e.g. :func:`default_embedder` or
            :class:`HashingEmbedder` in tests).
        method: ``"auto"``/``"ensemble"`` (kNN x linear), ``"linear"``, ``"knn"`` or
            ``"centroid"``.
        top_k: length of each prediction's ranking.
        neighbours: examples averaged per intent by the kNN head.
        c: inverse L2 strength of the linear head, as in scikit-learn's ``C``.
        min_oos_recall: the threshold rule. ``None`` (default) maximises held-out in-scope
            accuracy plus out-of-scope recall; a number in ``[0, 1]`` takes the best in-scope
            accuracy whose held-out out-of-scope recall reaches it.
        block_weight: weight of the embedder's extra blocks, or ``"auto"`` (default) to choose
            one in ``{0, 1/2, 1}`` on held-out data. Ignored for single-block embedders.
        seed: seeds the cross-validation folds.
        persist: keep the fitted classifier on disk (``classifiers/`` in the resolvekit cache
            folder, ``RESOLVEKIT_CACHE_DIR``), keyed by the training vectors and labels, the
            embedder and these settings, and load it instead of fitting when the same fit is
            asked for again (in this or a later process).
    """

    def __init__(
        self,
        embedder: Embedder,
        *,
        method: Method = "auto",
        top_k: int = 3,
        neighbours: int = 1,
        c: float = 10.0,
        min_oos_recall: float | None = None,
        block_weight: float | Literal["auto"] = "auto",
        seed: int = 0,
        persist: bool = True,
    ) -> None:
        if method not in _METHODS:
            raise UserError(f"Unknown method {method!r}; choose one of {', '.join(_METHODS)}")
        if top_k < 1 or neighbours < 1 or c <= 0:
            raise UserError("top_k and neighbours must be >= 1 and c > 0")
        if min_oos_recall is not None and not 0.0 <= min_oos_recall <= 1.0:
            raise UserError(f"min_oos_recall must lie in [0, 1], got {min_oos_recall}")
        if (
            (block_weight != "auto")
            if isinstance(block_weight, str)
            else not 0 <= block_weight <= 1
        ):
            raise UserError(f"block_weight must be 'auto' or lie in [0, 1], got {block_weight!r}")
        self.min_oos_recall = min_oos_recall
        self.block_weight = block_weight
        self.embedder = embedder
        self.method: Method = method
        self.top_k = top_k
        self.neighbours = neighbours
        self.c = c
        self.seed = seed
        self.persist = persist
        self._model: Model | None = None
        self._blocks: tuple[int, ...] | None = None
        self._block_weight = 1.0
        self._classes: list[str] = []
        self._threshold = -math.inf
        self.report: FitReport | None = None

    @property
    def classes(self) -> list[str]:
        """The intents, in the order of probability columns."""
        return list(self._classes)

    @property
    def threshold(self) -> float:
        """In-scope score below which a message is out of scope; may be set by hand."""
        return self._threshold

    @threshold.setter
    def threshold(self, value: float) -> None:
        self._threshold = float(value)

    @property
    def temperature(self) -> float:
        """The fitted softmax temperature."""
        return self._fitted().temperature

    # --- fitting -------------------------------------------------------------------------------

    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        *,
        oos_texts: Sequence[str] | None = None,
        val_texts: Sequence[str] | None = None,
        val_labels: Sequence[str | None] | None = None,
    ) -> IntentClassifier:
        """Train on labelled examples.

        Args:
            texts: example messages.
            labels: the intent of each example; at least two distinct intents.
            oos_texts: messages that belong to no intent; trained as an extra class.
            val_texts: held-out messages to calibrate on instead of cross-validating.
            val_labels: their intents; ``None`` marks an out-of-scope message.

        Returns:
            ``self``, fitted.

        Raises:
            UserError: empty or mismatched data, fewer than two intents, or validation labels
                naming an unknown intent.
        """
        texts, labels = list(texts), list(labels)
        oos = list(oos_texts or [])
        val_t = list(val_texts or [])
        val_l = list(val_labels or []) if val_labels is not None else []
        if len(texts) != len(labels):
            raise UserError(f"fit got {len(texts)} texts but {len(labels)} labels")
        if len(val_t) != len(val_l):
            raise UserError(f"fit got {len(val_t)} val_texts but {len(val_l)} val_labels")
        self._check_labels(labels)
        self._check_val_labels(labels, val_l)
        everything = self.embedder.embed(texts + oos + val_t)
        x = everything[: len(texts)]
        oos_x = everything[len(texts) : len(texts) + len(oos)]
        val_x = everything[len(texts) + len(oos) :]
        return self.fit_embeddings(
            x,
            labels,
            oos_x=oos_x if oos else None,
            val_x=val_x if val_t else None,
            val_labels=val_l,
        )

    def fit_embeddings(
        self,
        x: npt.NDArray[np.float32],
        labels: Sequence[str],
        *,
        oos_x: npt.NDArray[np.float32] | None = None,
        val_x: npt.NDArray[np.float32] | None = None,
        val_labels: Sequence[str | None] = (),
    ) -> IntentClassifier:
        """:meth:`fit` on vectors already embedded by this classifier's embedder."""
        labels, val_labels = list(labels), list(val_labels)
        self._check_labels(labels)
        x = np.asarray(x, dtype=np.float32)
        if x.ndim != 2 or len(x) != len(labels):
            raise UserError(f"fit_embeddings needs ({len(labels)}, dim) vectors, got {x.shape}")
        self._check_val_labels(labels, val_labels)
        key = None
        if self.persist:  # the same vectors, labels, embedder and settings: load the last fit
            key = (
                self._key()
                .add(labels, val_labels)
                .add_array(x)
                .add_array(None if oos_x is None else np.asarray(oos_x, np.float32))
                .add_array(None if val_x is None else np.asarray(val_x, np.float32))
                .hexdigest()
            )
            if self._restore(key):
                return self
        # One BLAS thread per fit (folds run two at a time): scipy's L-BFGS-B makes many small
        # BLAS calls, and handing each to a second thread made a 77 x 20 fit ~10x slower on the
        # 2-core project machine when it was busy (322 s against 27 s).
        with blas_single_thread():
            self._fit_vectors(x, labels, oos_x, val_x, val_labels)
        if key is not None:
            self._save(key)
        return self

    def _fit_vectors(
        self,
        x: npt.NDArray[np.float32],
        labels: list[str],
        oos_x: npt.NDArray[np.float32] | None,
        val_x: npt.NDArray[np.float32] | None,
        val_labels: list[str | None],
    ) -> None:
        classes = sorted(set(labels))
        index = {label: i for i, label in enumerate(classes)}
        y = np.array([index[label] for label in labels], dtype=np.intp)
        oos = (
            np.zeros((0, x.shape[1]), np.float32)
            if oos_x is None
            else np.asarray(oos_x, np.float32)
        )

        val_in, val_oos = validation_rows(val_x, val_labels, index)
        sizes = embedding_blocks(self.embedder) if self.embedder is not None else None
        if sizes is not None and sum(sizes) != x.shape[1]:
            raise UserError(
                f"fit_embeddings got {x.shape[1]}-dim vectors; the embedder's blocks {sizes} "
                f"sum to {sum(sizes)}"
            )
        if sizes is None:
            candidates: tuple[float, ...] = (1.0,)
        elif self.block_weight == "auto":
            candidates = BLOCK_WEIGHTS
        else:
            candidates = (float(self.block_weight),)
        # Weights in increasing order; the first (0 under "auto") stands unless a later one is
        # clearly better. A larger weight is tried only while the last one was clearly better
        # than weight 0 (held-out NLL has been unimodal in the weight on every data set tried).
        best: _Candidate | None = None
        plain = None
        for w in candidates:
            held_in, held_oos, model = held_out(
                weigh_blocks(x, sizes, w),
                y,
                len(classes),
                weigh_blocks(oos, sizes, w),
                None if val_x is None else weigh_blocks(np.asarray(val_x, np.float32), sizes, w),
                val_in,
                val_oos,
                self._settings(),
                self.seed,
            )
            nll, calibration = None, None
            if len(candidates) > 1 and held_in is not None and held_in.y is not None:
                calibration = Model(method=self.method, n_classes=len(classes), knn=NeighbourHead())
                nll = calibration.heldout_nll(held_in, held_in.y)
            fit: _Candidate = (nll, w, model, calibration, held_in, held_oos)
            if best is None:
                best, plain = fit, nll
                continue
            if nll is None or plain is None or not clearly_better(nll, plain):
                break
            if best[0] is None or nll.mean() < best[0].mean():
                best = fit
        assert best is not None
        _, weight, model, calibration, held_in, held_oos = best
        if model is None:  # cross-validated: only the chosen weight's full model is fitted
            model = fit_model(weigh_blocks(x, sizes, weight), y, len(classes),
                              weigh_blocks(oos, sizes, weight), self._settings())  # fmt: skip
        if calibration is not None:  # heldout_nll already chose the kNN weight and temperature
            model.knn_weight, model.temperature = calibration.knn_weight, calibration.temperature
        self._blocks, self._block_weight = sizes, weight
        source: Literal["validation", "cross-validation", "none"] = (
            "validation" if val_oos is not None else "cross-validation"
        )
        self._finish(
            model,
            classes,
            held_in,
            held_oos,
            source,
            n_examples=len(labels),
            calibrated=calibration is not None,
        )

    def _settings(self) -> dict[str, object]:
        return {"method": self.method, "neighbours": self.neighbours, "c": self.c}

    @staticmethod
    def _check_labels(labels: list[str]) -> None:
        if not labels:
            raise UserError("Cannot fit an intent classifier on no examples")
        bad = [label for label in labels if not isinstance(label, str) or not label]
        if bad:
            raise UserError(f"Intent labels must be non-empty strings, got {bad[0]!r}")
        if len(set(labels)) < 2:
            raise UserError(
                f"An intent classifier needs at least two intents, got only {labels[0]!r}"
            )

    @staticmethod
    def _check_val_labels(labels: list[str], val_labels: Sequence[str | None]) -> None:
        known = set(labels)
        unknown = sorted({v for v in val_labels if v is not None and v not in known})
        if unknown:
            raise UserError(f"val_labels name intents absent from training: {unknown[:5]}")

    # --- persistence ---------------------------------------------------------------------------

    def _key(self) -> FitKey:
        blocks = embedding_blocks(self.embedder)
        return FitKey(
            {
                **self._settings(),
                "min_oos_recall": self.min_oos_recall,
                "block_weight": self.block_weight,
                "seed": self.seed,
                "embedder": self.embedder.name,
                "blocks": None if blocks is None else list(blocks),
            },
        )

    def _restore(self, key: str) -> bool:
        """Load the classifier fitted under ``key``; False when there is none usable."""
        fitted = store.restore(key)
        if fitted is None:
            return False
        try:
            values: dict[str, Any] = {
                k: tuple(v) if isinstance(v, list) else v for k, v in fitted.report.items()
            }
            report = FitReport(**values)
        except TypeError as exc:
            store.logger.warning("Ignoring a damaged classifier file: %s", exc)
            return False
        self._model, self._classes, self._threshold = fitted.model, fitted.classes, fitted.threshold
        self._blocks, self._block_weight, self.report = fitted.blocks, fitted.block_weight, report
        return True

    def _save(self, key: str) -> None:
        report = dataclasses.asdict(self.report) if self.report is not None else {}
        store.keep(key, store.Fitted(model=self._fitted(), classes=self._classes,
                                     blocks=self._blocks, block_weight=self._block_weight,
                                     threshold=self._threshold, report=report))  # fmt: skip

    def _finish(
        self,
        model: Model,
        classes: list[str],
        held_in: HeldOut | None,
        held_oos: HeldOut | None,
        source: Literal["validation", "cross-validation", "none"],
        *,
        n_examples: int,
        calibrated: bool = False,
    ) -> None:
        nan = float("nan")
        accuracy = ece = in_acc = oos_recall = nan
        threshold = -math.inf
        rows: dict[str, tuple[float, ...] | tuple[int, ...]] = {}
        if held_in is not None and held_in.y is not None and len(held_in.y):
            if not calibrated:
                model.calibrate(held_in, held_in.y)
            probs = softmax(model.logits(held_in), model.temperature)
            n_in = len(classes)
            predicted = probs[:, :n_in].argmax(axis=1)
            correct = predicted == held_in.y
            confidence = probs[np.arange(len(predicted)), predicted]
            accuracy = float(correct.mean())
            ece = expected_calibration_error(confidence, correct)
            parts_in = model.score_parts(held_in, n_in)
            model.fit_standardisation(parts_in)
            rows["heldout_true"] = tuple(int(v) for v in held_in.y)
            rows["heldout_predicted"] = tuple(int(v) for v in predicted)
            rows["heldout_confidence"] = tuple(float(v) for v in confidence)
            if held_oos is not None and len(held_oos.logits):
                parts_oos = model.score_parts(held_oos, n_in)
                model.fit_weights(parts_in, parts_oos)
                oos_probs = softmax(model.logits(held_oos), model.temperature)[:, :n_in]
                rows["heldout_oos_scores"] = tuple(float(v) for v in model.combine(parts_oos))
                rows["heldout_oos_confidence"] = tuple(float(v) for v in oos_probs.max(axis=1))
                choice = choose_threshold(
                    model.combine(parts_in),
                    correct,
                    model.combine(parts_oos),
                    min_oos_recall=self.min_oos_recall,
                )
                threshold, in_acc, oos_recall = (
                    choice.threshold,
                    choice.in_scope_accuracy,
                    choice.oos_recall,
                )
            else:
                source = "none"
            rows["heldout_scores"] = tuple(float(v) for v in model.combine(parts_in))
        else:
            source = "none"
        self._model, self._classes, self._threshold = model, classes, threshold
        self.report = FitReport(
            n_examples=n_examples,
            n_classes=len(classes),
            temperature=model.temperature,
            threshold=threshold,
            threshold_source=source,
            heldout_accuracy=accuracy,
            heldout_ece=ece,
            heldout_in_scope_accuracy=in_acc,
            heldout_oos_recall=oos_recall,
            block_weight=None if self._blocks is None else self._block_weight,
            **rows,  # type: ignore[arg-type]
        )

    # --- prediction ----------------------------------------------------------------------------

    def _fitted(self) -> Model:
        if self._model is None:
            raise UserError("The intent classifier is not fitted: call fit() first")
        return self._model

    def scores(
        self, x: npt.NDArray[np.float32]
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Calibrated intent probabilities ``(n, intents)`` and in-scope scores ``(n,)``.

        With ``oos_texts`` in training, each row sums to one minus the out-of-scope mass.
        """
        model = self._fitted()
        x = np.asarray(x, dtype=np.float32)
        if x.ndim != 2:
            raise UserError(f"scores needs a (n, dim) matrix, got shape {x.shape}")
        if self._blocks is not None and x.shape[1] != sum(self._blocks):
            raise UserError(
                f"scores got {x.shape[1]}-dim vectors; the classifier was fitted on "
                f"{sum(self._blocks)}-dim ones"
            )
        with blas_single_thread() if len(x) <= SMALL_BATCH else contextlib.nullcontext():
            raw = model.raw(weigh_blocks(x, self._blocks, self._block_weight))
            logits = model.logits(raw)
            probs = np.exp(log_softmax(logits, model.temperature))[:, : len(self._classes)]
            score = model.combine(model.score_parts(raw, len(self._classes)))
        return probs, score

    def predict_embeddings(self, x: npt.NDArray[np.float32]) -> list[IntentPrediction]:
        """:meth:`predict` on vectors already embedded by this classifier's embedder."""
        probs, score = self.scores(x)
        k = min(self.top_k, len(self._classes))
        top = np.argsort(-probs, axis=1, kind="stable")[:, :k]
        out: list[IntentPrediction] = []
        for row in range(len(probs)):
            ranking = tuple(
                RankedLabel(label=self._classes[c], probability=float(probs[row, c]))
                for c in top[row]
            )
            out.append(
                IntentPrediction(
                    label=ranking[0].label,
                    confidence=ranking[0].probability,
                    in_scope=bool(score[row] >= self._threshold),
                    score=float(score[row]),
                    ranking=ranking,
                )
            )
        return out

    def predict(self, texts: Sequence[str]) -> list[IntentPrediction]:
        """Classify each text.

        Raises:
            UserError: the classifier is not fitted, or ``texts`` is a single string.
        """
        self._fitted()
        if isinstance(texts, str):
            raise UserError("predict() takes a list of texts; use predict_one() for one")
        if len(texts) == 0:
            return []
        return self.predict_embeddings(self.embedder.embed(list(texts)))

    def predict_one(self, text: str) -> IntentPrediction:
        """Classify one message."""
        return self.predict([text])[0]
