"""Full-batch gradient descent through XᵀX and Xᵀy: the numpy engine's iterates at O(p²) an epoch.

For the mean squared error ``L(θ) = ‖Aθ - y‖² / n`` (``A`` the design matrix, ``p`` columns)
the gradient is ``2/n (AᵀA θ - Aᵀy)``: after one pass over the data nothing in an epoch depends
on ``n``. The engine writes everything relative to the exact solution ``θ*`` and its residuals
``r*`` (``δ = θ - θ*``), which gives the same numbers without the cancellation of expanding
``θᵀAᵀAθ - 2θᵀAᵀy + yᵀy`` near the minimum::

    gradient(θ) = H δ - c,          H = 2/n AᵀA,   c = 2/n Aᵀr*  (≈ 0)
    loss(θ)     = ½ δᵀHδ - δᵀc + ‖r*‖²/n
"""

from __future__ import annotations

import numpy as np

from ..config import FitConfig
from ..data import Problem
from .common import DivergenceMonitor, EngineRun, is_traced


class Quadratic:
    """The MSE of a linear model on fixed rows, as a quadratic in θ around ``theta_ref``."""

    def __init__(self, design: np.ndarray, y: np.ndarray, theta_ref: np.ndarray) -> None:
        n = len(y)
        residuals = y - design @ theta_ref  # (n,)
        self.theta_ref = theta_ref
        self.hessian = (2.0 / n) * (design.T @ design)  # (p, p)
        self.c = (2.0 / n) * (design.T @ residuals)  # (p,)
        self.min_part = float(residuals @ residuals) / n

    def gradient(self, theta: np.ndarray) -> np.ndarray:
        return self.hessian @ (theta - self.theta_ref) - self.c

    def loss(self, theta: np.ndarray) -> float:
        delta = theta - self.theta_ref
        return float(0.5 * delta @ self.hessian @ delta - delta @ self.c + self.min_part)


def run(problem: Problem, cfg: FitConfig, *, lr: float, theta0: np.ndarray, monitor: DivergenceMonitor,
        closed_theta: np.ndarray, **_) -> EngineRun:
    """Full-batch plain gradient descent, float64, from ``theta0``.

    ``closed_theta`` is the least-squares solution of ``problem`` (the expansion point).
    """
    train = Quadratic(problem.design(problem.x_train), problem.y_train, closed_theta)
    val = None
    if problem.x_val is not None:
        val = Quadratic(problem.design(problem.x_val), problem.y_val, closed_theta)

    theta = np.array(theta0, dtype=np.float64)  # (p,)
    out = EngineRun(initial=theta.copy(), theta=theta, train_loss=[], val_loss=[])
    out.path = [theta.copy()] if cfg.record_path else None
    for epoch in range(1, cfg.epochs + 1):
        out.train_loss.append(train.loss(theta))  # loss before this epoch's update, as numpy's
        theta = theta - lr * train.gradient(theta)
        out.updates = epoch
        if is_traced(epoch):
            out.trace.append((epoch, theta.copy()))
        if out.path is not None:
            out.path.append(theta.copy())
        monitor.check(epoch, out.train_loss[-1])
        if val is not None:
            out.val_loss.append(val.loss(theta))
    out.theta = theta
    out.final_train_loss = train.loss(theta)
    out.final_val_loss = None if val is None else val.loss(theta)
    return out
