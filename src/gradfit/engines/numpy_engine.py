"""Gradient descent from scratch in NumPy, with hand-written gradients (the tutorial's loop).

The steps are the tutorial's: 0 initialise, 1 forward pass, 2 loss, 3 gradients, 4 update.
Full batch, mini-batch and stochastic (batch size 1).
"""

from __future__ import annotations

import numpy as np

from ..config import FitConfig
from ..data import Problem
from .common import DivergenceMonitor, EngineRun, batch_bounds, epoch_order, is_traced, shuffler


def run(problem: Problem, cfg: FitConfig, *, lr: float, theta0: np.ndarray, monitor: DivergenceMonitor,
        dtype: str, **_) -> EngineRun:
    """Train ``y ≈ b + x @ w`` by gradient descent on the mean squared error."""
    x = problem.x_train.astype(dtype)  # (n, d)
    y = problem.y_train.astype(dtype)  # (n,)
    x_val = None if problem.x_val is None else problem.x_val.astype(dtype)
    y_val = None if problem.y_val is None else problem.y_val.astype(dtype)
    n = len(x)
    rng = shuffler(cfg.seed)

    # Step 0: initialise. b is a 0-d array (0.0 and never updated without an intercept).
    b = np.asarray(theta0[0] if problem.intercept else 0.0, dtype=dtype)
    w = theta0[int(problem.intercept):].astype(dtype)  # (d,)

    def mse(xs: np.ndarray, ys: np.ndarray) -> float:
        return float(np.mean((b + xs @ w - ys) ** 2))

    def theta() -> np.ndarray:
        return np.concatenate([[b] if problem.intercept else [], w]).astype(np.float64)

    out = EngineRun(initial=theta(), theta=theta(), train_loss=[], val_loss=[])
    out.path = [theta()] if cfg.record_path else None
    bounds = batch_bounds(n, cfg.batch_size)
    for epoch in range(1, cfg.epochs + 1):
        order = epoch_order(n, cfg.batch_size, rng)
        epoch_loss = 0.0
        for start, stop in bounds:
            if order is None:
                xb, yb = x, y  # full batch: no copy
            else:
                idx = order[start:stop]
                xb, yb = x[idx], y[idx]  # (m, d), (m,)
            m = len(yb)
            # Step 1: forward pass — predictions have the targets' shape (m,).
            yhat = b + xb @ w
            # Step 2: loss (mean squared error).
            error = yhat - yb  # (m,)
            loss = np.mean(error ** 2)
            # Step 3: gradients of the loss with respect to b and w.
            b_grad = 2 * np.mean(error)
            w_grad = 2 * (xb.T @ error) / m  # (d,)
            # Step 4: update.
            if problem.intercept:
                b = b - lr * b_grad
            w = w - lr * w_grad
            epoch_loss += float(loss) * m
            out.updates += 1
            if is_traced(out.updates):
                out.trace.append((out.updates, theta()))
            if out.path is not None:
                out.path.append(theta())
        out.train_loss.append(epoch_loss / n)
        monitor.check(epoch, out.train_loss[-1])
        if x_val is not None:
            out.val_loss.append(mse(x_val, y_val))
    out.theta = theta()
    out.final_train_loss = mse(x, y)
    out.final_val_loss = None if x_val is None else mse(x_val, y_val)
    return out
