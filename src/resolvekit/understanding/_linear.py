"""The multinomial logistic-regression head: scikit-learn's ``LogisticRegression`` (lbfgs).

The objective is the (sample-weighted) mean cross-entropy plus ``l2 / 2 * ||W||^2``, the bias
not penalised: scikit-learn's with ``C = 1 / (l2 * sum of sample weights)``. With three or more
classes that is its multinomial lbfgs fit. With two classes scikit-learn fits one weight vector
(binomial); :func:`fit_linear` asks it for the binomial problem that has the same optimum as the
two-class multinomial one (``C`` doubled, the vector split as ``-w/2, +w/2``), so the head means
the same thing for every number of classes.

scikit-learn comes with the ``local`` extra (sentence-transformers requires it). Without it (the
core install, where only the hashing embedder of ``model="test"`` exists) the same objective is
minimised by :func:`_fit_numpy`, a small L-BFGS in numpy. That path is kept because it is lighter,
not faster: it needs no scipy or scikit-learn (``import sklearn.linear_model`` took 0.9 s here,
scipy and scikit-learn are ~110 MB installed). On the classifier's 77-intent x 20-example fits it
is slower than scikit-learn: see ``docs/benchmarks.md`` ("Intent understanding", fit time).
Both reach the same optimum (a test checks they agree).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ._calibration import log_softmax

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy.typing as npt

__all__ = ["TOL", "LinearHead", "fit_linear", "have_sklearn"]

TOL = 1e-4
"""Stop when the largest gradient entry of the mean objective falls below this (scikit-learn's
default ``tol``; 1e-3 cost 0.3-0.6 points of held-out accuracy on BANKING77 at 20 per intent)."""
_MAX_ITER = 1000


@dataclass(kw_only=True)
class LinearHead:
    """A fitted linear head: ``logits = x @ weights + bias``."""

    weights: npt.NDArray[np.float64]
    """``(dim, classes)``."""
    bias: npt.NDArray[np.float64]
    """``(classes,)``."""
    iterations: int = 0
    """Optimiser iterations the fit used."""

    def logits(self, x: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
        """Unnormalised class scores ``(n, classes)``."""
        out: npt.NDArray[np.float64] = np.asarray(x, dtype=np.float64) @ self.weights + self.bias
        return out


_SKLEARN: bool | None = None


def have_sklearn() -> bool:
    """Whether scikit-learn can be imported (checked once, without importing it)."""
    global _SKLEARN
    if _SKLEARN is None:
        import importlib.util

        _SKLEARN = importlib.util.find_spec("sklearn") is not None
    return _SKLEARN


def fit_linear(
    x: npt.NDArray[np.floating],
    y: npt.NDArray[np.integer],
    n_classes: int,
    *,
    l2: float,
    sample_weight: npt.NDArray[np.floating] | None = None,
    tol: float = TOL,
) -> LinearHead:
    """Fit on features ``x`` ``(n, dim)`` and class indices ``y``; every class in
    ``[0, n_classes)`` must occur.

    Args:
        l2: strength of the L2 penalty on the weights, per unit of mean (weighted) loss.
        sample_weight: per-row weights (normalised to sum to one in the objective).
        tol: the largest gradient entry at which the fit stops.
    """
    fit = _fit_sklearn if have_sklearn() else _fit_numpy
    return fit(x, y, n_classes, l2=l2, sample_weight=sample_weight, tol=tol)


def _fit_sklearn(
    x: npt.NDArray[np.floating],
    y: npt.NDArray[np.integer],
    n_classes: int,
    *,
    l2: float,
    sample_weight: npt.NDArray[np.floating] | None,
    tol: float,
) -> LinearHead:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    total = float(len(y) if sample_weight is None else np.sum(sample_weight))
    c = 1.0 / (l2 * total)
    binary = n_classes == 2
    model = LogisticRegression(C=2 * c if binary else c, tol=tol, max_iter=_MAX_ITER)
    with warnings.catch_warnings():
        # Reaching max_iter leaves a usable, nearly converged head.
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(np.asarray(x), np.asarray(y), sample_weight=sample_weight)
    coef = np.asarray(model.coef_, dtype=np.float64)
    intercept = np.asarray(model.intercept_, dtype=np.float64)
    if binary:
        coef = np.concatenate([-coef, coef]) / 2
        intercept = np.concatenate([-intercept, intercept]) / 2
    return LinearHead(
        weights=np.ascontiguousarray(coef.T),
        bias=intercept,
        iterations=int(np.max(model.n_iter_)),
    )


def _fit_numpy(
    x: npt.NDArray[np.floating],
    y: npt.NDArray[np.integer],
    n_classes: int,
    *,
    l2: float,
    sample_weight: npt.NDArray[np.floating] | None,
    tol: float,
) -> LinearHead:
    """The same objective by L-BFGS with Armijo backtracking, numpy only."""
    x = np.asarray(x, dtype=np.float64)
    n, dim = x.shape
    onehot = np.zeros((n, n_classes))
    onehot[np.arange(n), y] = 1.0
    w_sample = np.ones(n) if sample_weight is None else np.asarray(sample_weight, np.float64)
    w_sample = w_sample / w_sample.sum()

    def loss_grad(theta: npt.NDArray[np.float64]) -> tuple[float, npt.NDArray[np.float64]]:
        weights = theta[: dim * n_classes].reshape(dim, n_classes)
        bias = theta[dim * n_classes :]
        logp = log_softmax(x @ weights + bias)
        loss = -float((w_sample * (onehot * logp).sum(axis=1)).sum())
        loss += 0.5 * l2 * float((weights * weights).sum())
        delta = (np.exp(logp) - onehot) * w_sample[:, None]
        grad_w = x.T @ delta + l2 * weights
        return loss, np.concatenate([grad_w.ravel(), delta.sum(axis=0)])

    theta = np.zeros(dim * n_classes + n_classes)
    theta, iterations = _lbfgs(loss_grad, theta, _MAX_ITER, tol, memory=10)
    return LinearHead(
        weights=theta[: dim * n_classes].reshape(dim, n_classes),
        bias=theta[dim * n_classes :],
        iterations=iterations,
    )


def _lbfgs(
    fun: Callable[[npt.NDArray[np.float64]], tuple[float, npt.NDArray[np.float64]]],
    theta: npt.NDArray[np.float64],
    max_iter: int,
    tol: float,
    memory: int,
) -> tuple[npt.NDArray[np.float64], int]:
    loss, grad = fun(theta)
    s_hist: list[npt.NDArray[np.float64]] = []
    y_hist: list[npt.NDArray[np.float64]] = []
    iteration = 0
    for iteration in range(1, max_iter + 1):  # noqa: B007 - the count is returned
        if float(np.abs(grad).max()) < tol:
            break
        direction = _two_loop(grad, s_hist, y_hist)
        slope = float(grad @ direction)
        if slope >= 0:  # not a descent direction: restart from steepest descent
            s_hist.clear()
            y_hist.clear()
            direction, slope = -grad, -float(grad @ grad)
        step = 1.0
        while True:
            candidate = theta + step * direction
            new_loss, new_grad = fun(candidate)
            if new_loss <= loss + 1e-4 * step * slope or step < 1e-10:
                break
            step *= 0.5
        s, yv = candidate - theta, new_grad - grad
        if float(s @ yv) > 1e-10:
            s_hist.append(s)
            y_hist.append(yv)
            if len(s_hist) > memory:
                s_hist.pop(0)
                y_hist.pop(0)
        improvement = loss - new_loss
        theta, loss, grad = candidate, new_loss, new_grad
        if step < 1e-10 or improvement < 1e-12 * max(1.0, abs(loss)):
            break
    return theta, iteration


def _two_loop(
    grad: npt.NDArray[np.float64],
    s_hist: list[npt.NDArray[np.float64]],
    y_hist: list[npt.NDArray[np.float64]],
) -> npt.NDArray[np.float64]:
    q = grad.copy()
    alphas: list[float] = []
    rhos = [1.0 / float(y @ s) for s, y in zip(s_hist, y_hist, strict=True)]
    for s, y, rho in zip(reversed(s_hist), reversed(y_hist), reversed(rhos), strict=True):
        alpha = rho * float(s @ q)
        alphas.append(alpha)
        q -= alpha * y
    if s_hist:
        q *= float(s_hist[-1] @ y_hist[-1]) / float(y_hist[-1] @ y_hist[-1])
    else:
        q /= max(1.0, float(np.abs(grad).max()) * 10)
    for s, y, rho, alpha in zip(s_hist, y_hist, rhos, reversed(alphas), strict=True):
        beta = rho * float(y @ q)
        q += (alpha - beta) * s
    return -q
