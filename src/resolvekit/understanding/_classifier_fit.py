"""Fitting machinery behind :class:`~resolvekit.understanding.classifier.IntentClassifier`.

:class:`Model` holds the fitted heads, the temperature and the standardisation of the in-scope
score; :func:`cross_validate` produces the held-out predictions that calibrate it when the caller
gives no validation data.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from ..exceptions import UserError
from ._calibration import fit_temperature, log_softmax
from ._heads import CentroidHead, NeighbourHead, folds
from ._linear import LinearHead, fit_linear

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
    "held_out",
    "validation_rows",
    "weigh_blocks",
]

_T = TypeVar("_T")
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
_SCORE_L2 = 1e-2
"""L2 strength of the logistic regression that weighs the in-scope score's parts."""


@dataclass(kw_only=True)
class Model:
    """Fitted heads plus calibration state."""

    method: str
    n_classes: int
    """In-scope intents; an out-of-scope class, when trained, has index ``n_classes``."""
    knn: NeighbourHead
    linear: LinearHead | None = None
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
        best = (math.inf, candidates[0], 1.0)
        for weight in candidates:
            self.knn_weight = weight
            logits = self.logits(held_in)
            temperature = fit_temperature(logits, y)
            nll = float(-log_softmax(logits, temperature)[rows, y].mean())
            if nll < best[0] - 1e-9 or len(candidates) == 1:
                best = (nll, weight, temperature)
        _, self.knn_weight, self.temperature = best

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
        head = fit_linear(features, target, 2, l2=_SCORE_L2, sample_weight=balance)
        weights = np.maximum(head.weights[:, 1] - head.weights[:, 0], 0.0) * (self.scale > 0)
        total = float(weights.sum())
        n_parts = len(weights)
        self.weights = weights * (n_parts / total) if total > 1e-12 else np.ones(n_parts)

    def combine(self, parts: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """The in-scope score: the weighted sum of the standardised parts."""
        out: npt.NDArray[np.float64] = ((parts - self.mean) * self.scale) @ self.weights
        return out

    def to_arrays(self) -> tuple[dict[str, npt.NDArray[Any]], dict[str, Any]]:
        """The fitted state as plain arrays and JSON-able values (see :meth:`from_arrays`)."""
        arrays: dict[str, npt.NDArray[Any]] = {
            "knn_x": self.knn._x,
            "mean": self.mean,
            "scale": self.scale,
            "weights": self.weights,
        }
        if self.linear is not None:
            arrays["linear_w"], arrays["linear_b"] = self.linear.weights, self.linear.bias
        if self.centroid is not None:
            arrays["centroids"] = self.centroid._centroids
        meta = {
            "method": self.method,
            "n_classes": self.n_classes,
            "knn_k": self.knn.k,
            "knn_bounds": [list(b) for b in self.knn._bounds],
            "knn_weight": self.knn_weight,
            "temperature": self.temperature,
        }
        return arrays, meta

    @classmethod
    def from_arrays(cls, arrays: dict[str, npt.NDArray[Any]], meta: dict[str, Any]) -> Model:
        """Rebuild a model saved by :meth:`to_arrays`.

        Raises:
            ValueError: missing or inconsistent arrays or values (a damaged file).
        """
        knn_x = arrays["knn_x"]
        bounds = [(int(lo), int(hi)) for lo, hi in meta["knn_bounds"]]
        total = len(bounds)
        method, n_classes = str(meta["method"]), int(meta["n_classes"])
        ends = [0] + [hi for _, hi in bounds]
        if (
            knn_x.dtype != np.float32
            or knn_x.ndim != 2
            or any(lo != end or hi < lo for (lo, hi), end in zip(bounds, ends, strict=False))
            or ends[-1] != len(knn_x)
            or total not in (n_classes, n_classes + 1)
        ):
            raise ValueError("inconsistent kNN examples")
        dim = knn_x.shape[1]
        model = cls(
            method=method,
            n_classes=n_classes,
            knn=NeighbourHead(k=int(meta["knn_k"]), _x=knn_x, _bounds=bounds),
            knn_weight=float(meta["knn_weight"]),
            temperature=float(meta["temperature"]),
            mean=np.asarray(arrays["mean"], np.float64),
            scale=np.asarray(arrays["scale"], np.float64),
            weights=np.asarray(arrays["weights"], np.float64),
        )
        shapes: list[tuple[npt.NDArray[Any], tuple[int, ...]]] = [
            (model.mean, (3,)),
            (model.scale, (3,)),
            (model.weights, (3,)),
        ]
        if method in ("auto", "ensemble", "linear"):
            model.linear = LinearHead(
                weights=np.asarray(arrays["linear_w"], np.float64),
                bias=np.asarray(arrays["linear_b"], np.float64),
            )
            shapes += [(model.linear.weights, (dim, total)), (model.linear.bias, (total,))]
        if method == "centroid":
            model.centroid = CentroidHead(_centroids=np.asarray(arrays["centroids"], np.float32))
            shapes.append((model.centroid._centroids, (total, dim)))
        for array, shape in shapes:
            if array.shape != shape or not np.isfinite(array).all():
                raise ValueError(f"bad array of shape {array.shape}, expected {shape}")
        if not (math.isfinite(model.temperature) and model.temperature > 0):
            raise ValueError(f"bad temperature {model.temperature}")
        return model


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
        model.linear = fit_linear(x_all, y_all, total, l2=1.0 / (float(c) * len(y_all)))
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
    oos-fold ``f``. With fewer than three intents no intent is held out. Folds are fitted
    :data:`FIT_THREADS` at a time.
    """
    n_folds = 5 if len(y) <= _LARGE_DATA else 3
    example_folds = folds(y, n_folds, rng)
    oos_fold = rng.permutation(len(oos)) % n_folds
    groups: list[npt.NDArray[np.intp]] = [np.zeros(0, np.intp)] * n_folds
    if n_classes >= 3:
        order = rng.permutation(n_classes)
        groups = [order[f::n_folds] for f in range(n_folds)]
    total = n_classes + (1 if len(oos) else 0)

    def run(f: int) -> tuple[HeldOut, HeldOut] | None:
        in_fold = np.zeros(len(y), bool)
        in_fold[example_folds[f]] = True
        held_class = np.isin(y, groups[f])
        train = ~in_fold & ~held_class
        trained = np.unique(y[train])
        if len(trained) < 2:
            return None
        local = np.full(n_classes, -1, dtype=np.intp)
        local[trained] = np.arange(len(trained))
        model = fit_model(x[train], local[y[train]], len(trained), oos[oos_fold != f], settings)
        columns = np.concatenate([trained, [n_classes]]) if len(oos) else trained
        if len(oos) and not (oos_fold != f).any():
            columns = trained
        known = in_fold & (local[y] >= 0)
        unknown = held_class | (in_fold & (local[y] < 0))
        raw = model.raw(np.concatenate([x[known], x[unknown], oos[oos_fold == f]]))
        wide = np.full((len(raw.logits), total), _ABSENT)
        wide[:, columns] = raw.logits
        wide_knn = np.full((len(raw.logits), total), _ABSENT)
        wide_knn[:, columns] = raw.knn
        raw.logits, raw.knn = wide, wide_knn
        n_known = int(known.sum())
        return (
            HeldOut.take(raw, np.arange(n_known), y[known]),
            HeldOut.take(raw, np.arange(n_known, len(wide)), None),
        )

    done = _in_threads(run, range(n_folds))
    return CrossValidation(
        in_scope=HeldOut.concat([d[0] for d in done if d is not None]),
        out_of_scope=HeldOut.concat([d[1] for d in done if d is not None and len(d[1].logits)]),
    )


FIT_THREADS = 2
"""Folds fitted at once. The fits spend their time in BLAS, scikit-learn's Cython loss and
scipy's L-BFGS-B, which release the GIL; the classifier fits with one BLAS thread
(:func:`~resolvekit.understanding._threads.blas_single_thread`), so two folds use two cores."""


def _in_threads(fn: Callable[[int], _T], items: Iterable[int]) -> list[_T]:
    """``[fn(i) for i in items]``, :data:`FIT_THREADS` at a time (results in order)."""
    work = list(items)
    workers = min(FIT_THREADS, len(work), os.cpu_count() or 1)
    if workers <= 1:
        return [fn(i) for i in work]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="resolvekit-fit") as pool:
        return list(pool.map(fn, work))


Rows = tuple["npt.NDArray[np.intp]", "npt.NDArray[np.intp]"]


def validation_rows(
    val_x: npt.NDArray[np.float32] | None,
    val_labels: Sequence[str | None],
    index: dict[str, int],
) -> tuple[Rows | None, npt.NDArray[np.intp] | None]:
    """Split validation data: (rows, classes) of in-scope messages, rows of out-of-scope ones."""
    if val_x is None or len(val_labels) == 0:
        return None, None
    if len(val_x) != len(val_labels):
        raise UserError(f"Got {len(val_x)} validation vectors but {len(val_labels)} labels")
    rows_in = np.array([i for i, v in enumerate(val_labels) if v is not None], dtype=np.intp)
    rows_oos = np.array([i for i, v in enumerate(val_labels) if v is None], dtype=np.intp)
    y_in = np.array([index[v] for v in val_labels if v is not None], dtype=np.intp)
    return ((rows_in, y_in) if len(rows_in) else None), (rows_oos if len(rows_oos) else None)


def held_out(
    x: npt.NDArray[np.float32],
    y: npt.NDArray[np.intp],
    n_classes: int,
    oos: npt.NDArray[np.float32],
    val_x: npt.NDArray[np.float32] | None,
    val_in: Rows | None,
    val_oos: npt.NDArray[np.intp] | None,
    settings: dict[str, object],
    seed: int,
) -> tuple[HeldOut | None, HeldOut | None, Model | None]:
    """Held-out outputs to calibrate on, and the full model when it had to be fitted.

    With validation data holding in-scope and out-of-scope messages: the full model's outputs on
    it. Otherwise the cross-validation folds' (seeded by ``seed``), with ``val_x`` replacing
    whichever side it has; the full model is then fitted only for that, else left to the caller
    (``None``), which fits it once for the block weight it keeps.
    """
    if val_x is not None and val_in is not None and val_oos is not None:
        full = fit_model(x, y, n_classes, oos, settings)
        scored = full.raw(val_x)
        return HeldOut.take(scored, *val_in), HeldOut.take(scored, val_oos, None), full
    cv = cross_validate(x, y, n_classes, oos, settings, np.random.default_rng(seed))
    held_in, held_oos = cv.in_scope, cv.out_of_scope
    model: Model | None = None
    if val_x is not None and (val_in is not None or val_oos is not None):
        model = fit_model(x, y, n_classes, oos, settings)
        scored = model.raw(val_x)
        if val_in is not None:
            held_in = HeldOut.take(scored, *val_in)
        if val_oos is not None:
            held_oos = HeldOut.take(scored, val_oos, None)
    return held_in, held_oos, model
