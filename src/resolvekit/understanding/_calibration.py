"""Calibration and scoring helpers for the intent classifier (numpy only).

- :func:`softmax` and :func:`fit_temperature`: temperature scaling fitted by minimising the
  negative log-likelihood of held-out logits (Newton's method on ``1/T``).
- :func:`expected_calibration_error`: ECE with equal-width bins.
- :func:`choose_threshold`: the out-of-scope threshold that maximises in-scope accuracy plus
  out-of-scope recall on held-out data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..exceptions import UserError

if TYPE_CHECKING:
    import numpy.typing as npt

__all__ = [
    "ThresholdChoice",
    "choose_threshold",
    "expected_calibration_error",
    "fit_temperature",
    "log_softmax",
    "softmax",
]


def log_softmax(
    logits: npt.NDArray[np.floating], temperature: float = 1.0
) -> npt.NDArray[np.float64]:
    """Row-wise log-softmax of ``logits / temperature``."""
    z = np.asarray(logits, dtype=np.float64) / temperature
    z = z - z.max(axis=1, keepdims=True)
    out: npt.NDArray[np.float64] = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return out


def softmax(logits: npt.NDArray[np.floating], temperature: float = 1.0) -> npt.NDArray[np.float64]:
    """Row-wise softmax of ``logits / temperature``."""
    out: npt.NDArray[np.float64] = np.exp(log_softmax(logits, temperature))
    return out


def fit_temperature(
    logits: npt.NDArray[np.floating],
    labels: npt.NDArray[np.integer],
    *,
    bounds: tuple[float, float] = (0.01, 100.0),
    iterations: int = 50,
) -> float:
    """The temperature ``T`` minimising the NLL of ``softmax(logits / T)`` on held-out labels.

    The NLL is convex in ``b = 1/T`` (a log-sum-exp of functions linear in ``b``, minus one), with
    derivative ``mean(E_p[z] - z_y)`` and second derivative ``mean(Var_p[z])``; Newton's method on
    ``b``, kept inside a bracket that shrinks with the derivative's sign (bisecting when a step
    would leave it), converges in about ten steps. A temperature outside ``bounds`` is clipped.

    Args:
        logits: ``(n, classes)`` held-out scores.
        labels: ``(n,)`` true class indices.
        bounds: smallest and largest temperature considered.
        iterations: at most this many Newton steps.

    Raises:
        UserError: shapes disagree or there is no data.
    """
    z = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels)
    if z.ndim != 2 or labels.shape != (z.shape[0],) or z.shape[0] == 0:
        raise UserError(f"fit_temperature needs (n, k) logits and (n,) labels, got {z.shape}")
    z_true = z[np.arange(len(labels)), labels]

    def slope_curvature(b: float) -> tuple[float, float]:
        p = softmax(z, 1.0 / b)
        mean_z = (p * z).sum(axis=1)
        spread = z - mean_z[:, None]
        return float((mean_z - z_true).mean()), float((p * spread * spread).sum(axis=1).mean())

    lo, hi = 1.0 / bounds[1], 1.0 / bounds[0]
    if slope_curvature(lo)[0] >= 0:
        return bounds[1]
    if slope_curvature(hi)[0] <= 0:
        return bounds[0]
    b = min(max(1.0, lo), hi)
    for _ in range(iterations):
        slope, curvature = slope_curvature(b)
        if slope > 0:
            hi = b
        else:
            lo = b
        step = b - slope / curvature if curvature > 0 else math.nan
        new = step if lo < step < hi else math.sqrt(lo * hi)
        converged = abs(new - b) <= 1e-10 * b
        b = new
        if converged or slope == 0:
            break
    return 1.0 / b


def expected_calibration_error(
    confidences: npt.ArrayLike, correct: npt.ArrayLike, *, n_bins: int = 15
) -> float:
    """Expected calibration error over ``n_bins`` equal-width confidence bins.

    Bin ``b`` holds confidences in ``((b-1)/n_bins, b/n_bins]`` (a confidence of 0 goes in the
    first bin). ECE is the average over bins of ``|accuracy - mean confidence|`` weighted by the
    fraction of predictions in the bin.

    Args:
        confidences: the confidence of each prediction, in ``[0, 1]``.
        correct: whether each prediction was right (bools or 0/1).
        n_bins: number of bins (15 is the usual choice).

    Raises:
        UserError: lengths differ, no predictions, confidences outside ``[0, 1]``, or
            ``n_bins < 1``.
    """
    conf = np.asarray(confidences, dtype=np.float64)
    hit = np.asarray(correct, dtype=np.float64)
    if conf.ndim != 1 or conf.shape != hit.shape or conf.size == 0:
        raise UserError(
            "expected_calibration_error needs two 1-d arrays of the same non-zero length"
        )
    if n_bins < 1:
        raise UserError(f"n_bins must be >= 1, got {n_bins}")
    if np.any((conf < 0) | (conf > 1)) or not np.all(np.isfinite(conf)):
        raise UserError("confidences must lie in [0, 1]")
    bins = np.clip(np.ceil(conf * n_bins).astype(int) - 1, 0, n_bins - 1)
    total = 0.0
    for b in range(n_bins):
        mask = bins == b
        if mask.any():
            total += mask.mean() * abs(hit[mask].mean() - conf[mask].mean())
    return float(total)


@dataclass(kw_only=True, frozen=True)
class ThresholdChoice:
    """An out-of-scope threshold and how it did on the data it was chosen on."""

    threshold: float
    """Messages scoring below this are out of scope."""
    in_scope_accuracy: float
    """Fraction of in-scope messages accepted *and* labelled correctly."""
    oos_recall: float
    """Fraction of out-of-scope messages rejected."""


def choose_threshold(
    in_scores: npt.ArrayLike,
    in_correct: npt.ArrayLike,
    oos_scores: npt.ArrayLike,
    *,
    oos_weight: float = 1.0,
    min_oos_recall: float | None = None,
) -> ThresholdChoice:
    """Pick the threshold maximising ``in_scope_accuracy + oos_weight * oos_recall``.

    With ``min_oos_recall`` the rule is instead: the highest in-scope accuracy among thresholds
    whose out-of-scope recall is at least ``min_oos_recall`` (an operating point set by the
    product, e.g. "reject at least 85% of off-topic messages").

    A message is in scope when its score is ``>= threshold``. In-scope accuracy counts an in-scope
    message as right only when it is accepted and its label is right, so the rule trades wrong
    rejections against missed out-of-scope messages. Candidates are midpoints between consecutive
    distinct scores (and the extremes); among equally good thresholds the middle one of the best
    run is taken, which generalises better than an edge.

    Args:
        in_scores: scores of held-out in-scope messages.
        in_correct: whether the classifier's label was right for each of them.
        oos_scores: scores of held-out out-of-scope messages.
        oos_weight: how much one unit of OOS recall is worth against in-scope accuracy.
        min_oos_recall: if given, the required OOS recall in ``[0, 1]`` (overrides the sum rule).

    Raises:
        UserError: no in-scope or no out-of-scope scores.
    """
    ins = np.asarray(in_scores, dtype=np.float64).ravel()
    ok = np.asarray(in_correct, dtype=bool).ravel()
    oos = np.asarray(oos_scores, dtype=np.float64).ravel()
    if ins.size == 0 or oos.size == 0 or ins.shape != ok.shape:
        raise UserError("choose_threshold needs in-scope scores (with correctness) and OOS scores")
    values = np.unique(np.concatenate([ins, oos]))
    candidates = np.concatenate(
        [[values[0] - 1e-6], (values[:-1] + values[1:]) / 2, [values[-1] + 1e-6]]
    )
    ins_ok_sorted = np.sort(ins[ok])
    oos_sorted = np.sort(oos)
    accepted_ok = ins_ok_sorted.size - np.searchsorted(ins_ok_sorted, candidates, side="left")
    rejected_oos = np.searchsorted(oos_sorted, candidates, side="left")
    acc = accepted_ok / ins.size
    recall = rejected_oos / oos.size
    if min_oos_recall is not None:
        if not 0.0 <= min_oos_recall <= 1.0:
            raise UserError(f"min_oos_recall must lie in [0, 1], got {min_oos_recall}")
        # Infeasible candidates get a score below any feasible one.
        objective = np.where(recall >= min_oos_recall - 1e-12, acc, -1.0 - (1.0 - recall))
    else:
        objective = acc + oos_weight * recall
    best = np.flatnonzero(np.isclose(objective, objective.max(), rtol=0, atol=1e-12))
    # The middle of the first run of best candidates.
    gaps = np.flatnonzero(np.diff(best) > 1)
    run_end = int(best[gaps[0]]) if gaps.size else int(best[-1])
    pick = (best[0] + run_end) // 2
    return ThresholdChoice(
        threshold=float(candidates[pick]),
        in_scope_accuracy=float(acc[pick]),
        oos_recall=float(recall[pick]),
    )
