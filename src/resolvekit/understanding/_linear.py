"""A multinomial logistic-regression head trained with L-BFGS, in numpy only.

Keeps the classifier free of scikit-learn/scipy, so the ``"test"`` model (hashing embedder) works
with the core dependencies alone. The objective is the mean cross-entropy plus
``l2 / 2 * ||W||^2`` (the bias is not penalised); it is smooth and convex, and L-BFGS with an
Armijo backtracking line search converges in a few dozen to a few hundred iterations on sentence
embeddings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ._calibration import log_softmax

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy.typing as npt

__all__ = ["SoftmaxRegression"]


@dataclass(kw_only=True)
class SoftmaxRegression:
    """Multinomial logistic regression on dense features.

    Attributes:
        weights: ``(dim, classes)`` after :meth:`fit`.
        bias: ``(classes,)`` after :meth:`fit`.
        iterations: L-BFGS iterations the last fit used.
    """

    l2: float = 1e-3
    """Strength of the L2 penalty on the weights (per mean example loss)."""
    max_iter: int = 500
    """Upper bound on L-BFGS iterations."""
    tol: float = 1e-5
    """Stop when the gradient's max-norm falls below this."""
    memory: int = 12
    """Number of L-BFGS correction pairs kept."""
    weights: npt.NDArray[np.float64] | None = None
    bias: npt.NDArray[np.float64] | None = None
    iterations: int = 0

    def fit(
        self,
        x: npt.NDArray[np.floating],
        y: npt.NDArray[np.integer],
        n_classes: int,
        sample_weight: npt.NDArray[np.floating] | None = None,
    ) -> SoftmaxRegression:
        """Fit on features ``x`` ``(n, dim)`` and class indices ``y`` in ``[0, n_classes)``."""
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
            loss += 0.5 * self.l2 * float((weights * weights).sum())
            delta = (np.exp(logp) - onehot) * w_sample[:, None]
            grad_w = x.T @ delta + self.l2 * weights
            return loss, np.concatenate([grad_w.ravel(), delta.sum(axis=0)])

        theta = np.zeros(dim * n_classes + n_classes)
        theta, self.iterations = _lbfgs(loss_grad, theta, self.max_iter, self.tol, self.memory)
        self.weights = theta[: dim * n_classes].reshape(dim, n_classes)
        self.bias = theta[dim * n_classes :]
        return self

    def logits(self, x: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
        """Unnormalised class scores ``(n, classes)``."""
        if self.weights is None or self.bias is None:
            raise RuntimeError("SoftmaxRegression.logits called before fit")
        out: npt.NDArray[np.float64] = np.asarray(x, dtype=np.float64) @ self.weights + self.bias
        return out


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
