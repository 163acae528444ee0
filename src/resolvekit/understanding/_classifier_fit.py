"""Fitting machinery behind :class:`~resolvekit.understanding.classifier.IntentClassifier`.

:class:`Model` holds the fitted heads, the temperature and the standardisation of the in-scope
score; :func:`cross_validate` produces the held-out predictions that calibrate it when the caller
gives no validation data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ._calibration import fit_temperature, log_softmax
from ._heads import CentroidHead, NeighbourHead, folds
from ._linear import SoftmaxRegression

if TYPE_CHECKING:
    import numpy.typing as npt

__all__ = [
    "BLOCK_EVIDENCE",
    "BLOCK_WEIGHTS",
    "KNN_WEIGHTS",
    "CrossValidation",
    "HeldOut",
    "Model",
    "clearly_better",
    "cross_validate",
    "fit_model",
    "weigh_blocks",
]

_ABSENT = -1e9
"""Logit of a class the fold's model never saw (its probability underflows to zero)."""
_LARGE_DATA = 2000
"""Above this many examples, cross-validation uses 3 folds instead of 5."""


@dataclass(kw_only=True)
class HeldOut:
    """Raw outputs of a model on some messages (and their true classes when known)."""

    logits: npt.NDArray[np.float64]
    """``(n, classes)`` logits of the main head before temperature; the out-of-scope class is
    last. For ``auto``/``ensemble`` this is the linear head's log-probabilities."""
    knn: npt.NDArray[np.float64]
    """``(n, classes)`` the kNN head's log-probabilities, added with weight
    :attr:`Model.knn_weight` (zeros when the method has no second head)."""
    y: npt.NDArray[np.intp] | None
    """True intent of each row, when these are labelled in-scope messages."""
    similarity: npt.NDArray[np.float64]
    """``(n,)`` cosine similarity to the nearest in-scope training example."""
    energy: npt.NDArray[np.float64]
    """``(n,)`` log-sum-exp of the linear head's in-scope logits (zeros without one)."""

    @classmethod
    def take(
        cls, raw: HeldOut, rows: npt.NDArray[np.intp], y: npt.NDArray[np.intp] | None
    ) -> HeldOut:
        """The given rows of ``raw``, labelled ``y``."""
        return cls(
            logits=raw.logits[rows],
            knn=raw.knn[rows],
            y=y,
            similarity=raw.similarity[rows],
            energy=raw.energy[rows],
        )

    @classmethod
    def concat(cls, parts: list[HeldOut]) -> HeldOut | None:
        """Stack several held-out sets; ``None`` when there are none."""
        if not parts:
            return None
        ys = [p.y for p in parts]
        return cls(
            logits=np.concatenate([p.logits for p in parts]),
            knn=np.concatenate([p.knn for p in parts]),
            y=None
            if any(y is None for y in ys)
            else np.concatenate([y for y in ys if y is not None]),
            similarity=np.concatenate([p.similarity for p in parts]),
            energy=np.concatenate([p.energy for p in parts]),
        )


BLOCK_WEIGHTS = (0.0, 0.5, 1.0)
"""Weights of an embedder's extra blocks (e.g. a lower MiniLM layer) that the classifier
chooses from by held-out log-likelihood; 0 drops them."""
BLOCK_EVIDENCE = 2.0
"""Standard errors by which a block weight's held-out log-likelihood must beat weight 0."""


def clearly_better(nll: npt.NDArray[np.float64], baseline: npt.NDArray[np.float64]) -> bool:
    """Whether ``nll`` beats ``baseline`` (per-row, same rows) by :data:`BLOCK_EVIDENCE` standard
    errors of the paired difference: small held-out sets must not switch features on noise."""
    diff = baseline - nll
    if len(diff) < 2:
        return False
    se = float(diff.std(ddof=1)) / math.sqrt(len(diff))
    return float(diff.mean()) > BLOCK_EVIDENCE * se


KNN_WEIGHTS = (0.0, 0.125, 0.25, 0.5, 1.0)
"""Weights of the kNN head's log-probabilities that ``method="auto"`` chooses from."""
_SCREEN_STEPS = 20
"""Golden-section steps of the coarse temperature fit used to compare kNN weights."""
_SCORE_L2 = 1e-2
"""L2 strength of the logistic regression that weighs the in-scope score's parts."""


@dataclass(kw_only=True)
class Model:
    """Fitted heads plus calibration state."""

    method: str
    n_classes: int
    """In-scope intents; an out-of-scope class, when trained, has index ``n_classes``."""
    knn: NeighbourHead
    linear: SoftmaxRegression | None = None
    centroid: CentroidHead | None = None
    knn_weight: float = 0.0
    """Weight of the kNN log-probabilities added to the main head's (``auto`` picks it)."""
    temperature: float = 1.0
    mean: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(3))
    scale: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(3))
    """Per score part, ``1/std`` on held-out in-scope data (0 drops a constant part)."""
    weights: npt.NDArray[np.float64] = field(default_factory=lambda: np.ones(3))
    """Per standardised score part, its weight in the in-scope score."""

    def raw(self, x: npt.NDArray[np.float32]) -> HeldOut:
        """Head outputs and score ingredients for ``x``."""
        sims = self.knn.similarities(x)
        knn_logp = log_softmax(self.knn.logits_from(sims))
        lin = self.linear.logits(x) if self.linear is not None else None
        second = np.zeros_like(knn_logp)
        if self.method == "linear":
            assert lin is not None
            logits = lin
        elif self.method == "knn":
            logits = knn_logp
        elif self.method == "centroid":
            assert self.centroid is not None
            logits = self.centroid.logits(x)
        else:
            assert lin is not None
            logits, second = log_softmax(lin), knn_logp
        if lin is not None:
            top = lin[:, : self.n_classes].max(axis=1, keepdims=True)
            energy = (
                top + np.log(np.exp(lin[:, : self.n_classes] - top).sum(axis=1, keepdims=True))
            )[:, 0]
        else:
            energy = np.zeros(len(x))
        return HeldOut(
            logits=logits,
            knn=second,
            y=None,
            similarity=sims[:, : self.n_classes].max(axis=1),
            energy=energy,
        )

    def logits(self, held: HeldOut) -> npt.NDArray[np.float64]:
        """Combined logits (before temperature): main head plus weighted kNN head."""
        if self.knn_weight == 0.0:
            return held.logits
        out: npt.NDArray[np.float64] = held.logits + self.knn_weight * held.knn
        return out

    def calibrate(self, held_in: HeldOut, y: npt.NDArray[np.intp]) -> None:
        """Pick the kNN weight (``auto``) and fit the temperature on held-out in-scope messages.

        ``auto`` takes the weight in :data:`KNN_WEIGHTS` whose temperature-scaled held-out
        negative log-likelihood is lowest: the kNN head helps on some data sets (BANKING77) and
        hurts on others (CLINC150), so the data decides.
        """
        candidates = (
            KNN_WEIGHTS
            if self.method == "auto"
            else ((1.0,) if self.method == "ensemble" else (0.0,))
        )
        rows = np.arange(len(y))
        best = (math.inf, candidates[0])
        if len(candidates) > 1:
            # Compare candidates with a coarse temperature search; refine only the winner's.
            for weight in candidates:
                self.knn_weight = weight
                logits = self.logits(held_in)
                temperature = fit_temperature(logits, y, iterations=_SCREEN_STEPS)
                nll = float(-log_softmax(logits, temperature)[rows, y].mean())
                if nll < best[0] - 1e-9:
                    best = (nll, weight)
        self.knn_weight = best[1]
        self.temperature = fit_temperature(self.logits(held_in), y)

    def heldout_nll(self, held_in: HeldOut, y: npt.NDArray[np.intp]) -> npt.NDArray[np.float64]:
        """Calibrate on ``held_in``; the temperature-scaled negative log-likelihood of each row."""
        self.calibrate(held_in, y)
        logp = log_softmax(self.logits(held_in), self.temperature)
        out: npt.NDArray[np.float64] = -logp[np.arange(len(y)), y]
        return out

    def score_parts(self, held: HeldOut, n_in: int) -> npt.NDArray[np.float64]:
        """``(n, 3)``: log calibrated top in-scope probability, nearest similarity, energy."""
        logp = log_softmax(self.logits(held), self.temperature)[:, :n_in].max(axis=1)
        return np.stack([logp, held.similarity, held.energy], axis=1)

    def fit_standardisation(self, parts: npt.NDArray[np.float64]) -> None:
        """Centre and scale each part on held-out in-scope messages."""
        self.mean = parts.mean(axis=0)
        std = parts.std(axis=0)
        self.scale = np.where(std > 1e-9, 1.0 / np.maximum(std, 1e-9), 0.0)

    def fit_weights(
        self, parts_in: npt.NDArray[np.float64], parts_oos: npt.NDArray[np.float64]
    ) -> None:
        """Weigh the standardised parts by how well they separate held-out in-scope from OOS.

        A class-balanced, L2-penalised logistic regression (in-scope vs out-of-scope) on the
        standardised parts gives one coefficient per part. Every part is built so that higher
        means "more in scope", so a negative coefficient (an artefact of correlated parts) is
        clipped to zero. The weights are rescaled to sum to the number of parts; with nothing to
        learn from they stay equal.
        """
        z_in = (parts_in - self.mean) * self.scale
        z_oos = (parts_oos - self.mean) * self.scale
        features = np.concatenate([z_in, z_oos])
        target = np.concatenate([np.ones(len(z_in), np.intp), np.zeros(len(z_oos), np.intp)])
        balance = np.concatenate(
            [np.full(len(z_in), 1.0 / len(z_in)), np.full(len(z_oos), 1.0 / len(z_oos))]
        )
        head = SoftmaxRegression(l2=_SCORE_L2).fit(features, target, 2, sample_weight=balance)
        assert head.weights is not None
        weights = np.maximum(head.weights[:, 1] - head.weights[:, 0], 0.0) * (self.scale > 0)
        total = float(weights.sum())
        n_parts = len(weights)
        self.weights = weights * (n_parts / total) if total > 1e-12 else np.ones(n_parts)

    def combine(self, parts: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """The in-scope score: the weighted sum of the standardised parts."""
        out: npt.NDArray[np.float64] = ((parts - self.mean) * self.scale) @ self.weights
        return out


def weigh_blocks(
    x: npt.NDArray[np.float32], sizes: tuple[int, ...] | None, weight: float
) -> npt.NDArray[np.float32]:
    """Scale every block after the first by ``weight`` (dropping them at 0) and re-normalise."""
    if sizes is None or weight == 1.0:
        return x
    head = x[:, : sizes[0]]
    if len(x) == 0:
        return head if weight == 0.0 else x
    out = head if weight == 0.0 else np.concatenate([head, weight * x[:, sizes[0] :]], axis=1)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    unit: npt.NDArray[np.float32] = (out / np.maximum(norms, 1e-12)).astype(np.float32)
    return unit


def fit_model(
    x: npt.NDArray[np.float32],
    y: npt.NDArray[np.intp],
    n_classes: int,
    oos: npt.NDArray[np.float32],
    settings: dict[str, object],
) -> Model:
    """Fit the heads the method needs on ``x``/``y`` plus ``oos`` as an extra class."""
    method = str(settings["method"])
    neighbours = settings["neighbours"]
    c = settings["c"]
    assert isinstance(neighbours, int)
    assert isinstance(c, float | int)
    if len(oos):
        x_all = np.concatenate([x, oos])
        y_all = np.concatenate([y, np.full(len(oos), n_classes, dtype=np.intp)])
        total = n_classes + 1
    else:
        x_all, y_all, total = x, y, n_classes
    model = Model(
        method=method, n_classes=n_classes, knn=NeighbourHead(k=neighbours).fit(x_all, y_all, total)
    )
    if method in ("auto", "ensemble", "linear"):
        model.linear = SoftmaxRegression(l2=1.0 / (float(c) * len(y_all))).fit(x_all, y_all, total)
    if method == "centroid":
        model.centroid = CentroidHead().fit(x_all, y_all, total)
    return model


@dataclass(kw_only=True)
class CrossValidation:
    """Held-out predictions gathered over the folds."""

    in_scope: HeldOut | None
    """Held-out examples of intents their fold trained on (labelled)."""
    out_of_scope: HeldOut | None
    """Examples of intents their fold held out entirely, plus held-out ``oos`` messages."""


def cross_validate(
    x: npt.NDArray[np.float32],
    y: npt.NDArray[np.intp],
    n_classes: int,
    oos: npt.NDArray[np.float32],
    settings: dict[str, object],
    rng: np.random.Generator,
) -> CrossValidation:
    """Out-of-fold predictions holding out examples and whole intents.

    Fold ``f`` trains on the examples outside example-fold ``f`` whose intent is not in
    intent-group ``f``. Its held-out in-scope set is example-fold ``f`` restricted to intents the
    fold trained on; its pseudo out-of-scope set is every example of intent-group ``f`` (each intent
    is in exactly one group), examples whose intent had no training example in the fold, and
    oos-fold ``f``. With fewer than three intents no intent is held out.
    """
    n_folds = 5 if len(y) <= _LARGE_DATA else 3
    example_folds = folds(y, n_folds, rng)
    oos_fold = rng.permutation(len(oos)) % n_folds
    groups: list[npt.NDArray[np.intp]] = [np.zeros(0, np.intp)] * n_folds
    if n_classes >= 3:
        order = rng.permutation(n_classes)
        groups = [order[f::n_folds] for f in range(n_folds)]
    total = n_classes + (1 if len(oos) else 0)
    held_in: list[HeldOut] = []
    held_oos: list[HeldOut] = []
    for f in range(n_folds):
        in_fold = np.zeros(len(y), bool)
        in_fold[example_folds[f]] = True
        held_class = np.isin(y, groups[f])
        train = ~in_fold & ~held_class
        trained = np.unique(y[train])
        if len(trained) < 2:
            continue
        local = np.full(n_classes, -1, dtype=np.intp)
        local[trained] = np.arange(len(trained))
        model = fit_model(x[train], local[y[train]], len(trained), oos[oos_fold != f], settings)
        columns = np.concatenate([trained, [n_classes]]) if len(oos) else trained
        if len(oos) and not (oos_fold != f).any():
            columns = trained
        known = in_fold & (local[y] >= 0)
        unknown = held_class | (in_fold & (local[y] < 0))
        pieces = [x[known], x[unknown], oos[oos_fold == f]]
        raw = model.raw(np.concatenate(pieces))
        wide = np.full((len(raw.logits), total), _ABSENT)
        wide[:, columns] = raw.logits
        wide_knn = np.full((len(raw.logits), total), _ABSENT)
        wide_knn[:, columns] = raw.knn
        raw.logits, raw.knn = wide, wide_knn
        n_known = int(known.sum())
        held_in.append(HeldOut.take(raw, np.arange(n_known), y[known]))
        held_oos.append(HeldOut.take(raw, np.arange(n_known, len(wide)), None))
    return CrossValidation(
        in_scope=HeldOut.concat(held_in),
        out_of_scope=HeldOut.concat([h for h in held_oos if len(h.logits)]),
    )
