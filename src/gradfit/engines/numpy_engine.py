"""Gradient descent from scratch in NumPy, with hand-written gradients (the tutorial's loop).

The steps are the tutorial's: 0 initialise, 1 forward pass, 2 loss, 3 gradients, 4 update.
Full batch, mini-batch and stochastic (batch size 1). A penalty adds its squares' gradient in
step 3 and, for ``l1``, the proximal step (soft thresholding) after step 4; ``optimizer='fista'``
takes each full-batch step from FISTA's extrapolated point (:mod:`gradfit.engines.proximal`).
"""

from __future__ import annotations

import numpy as np

from ..config import FitConfig
from ..data import Problem
from ..least_squares.penalty import Penalty
from ..data.batches import batch_bounds, epoch_order, shuffler
from ..results.engine_run import EngineRun
from ..training.control import RunControl, ThetaLoop
from ..training.divergence import DivergenceMonitor
from .common import is_traced, record_step


def run(problem: Problem, cfg: FitConfig, *, lr: float, theta0: np.ndarray, monitor: DivergenceMonitor,
        dtype: str, control: RunControl | None = None, penalty: Penalty | None = None, **_) -> EngineRun:
    """Train ``y ≈ b + x @ w`` by gradient descent on the mean squared error.

    ``control`` adds callbacks, checkpoints, early stopping and resuming: θ, epoch, history,
    trace, path and the shuffling generator continue from the checkpoint, so a resumed run
    repeats the straight run's numbers exactly.
    """
    x = problem.x_train.astype(dtype)  # (n, d)
    y = problem.y_train.astype(dtype)  # (n,)
    x_val = None if problem.x_val is None else problem.x_val.astype(dtype)
    y_val = None if problem.y_val is None else problem.y_val.astype(dtype)
    n, intercept, rng = len(x), problem.intercept, shuffler(cfg.seed)

    def stack(b: np.ndarray, w: np.ndarray) -> np.ndarray:
        return _stack(b, w, intercept)

    # Step 0: initialise.
    b, w = _split(theta0, intercept, dtype)
    out = EngineRun(initial=stack(b, w), theta=stack(b, w), train_loss=[], val_loss=[])
    out.path = [stack(b, w)] if cfg.record_path else None
    names = (["intercept"] if intercept else []) + list(problem.names)
    loop = ThetaLoop("numpy", control, cfg.epochs, names, lr, out, shuffle=rng)
    if loop.epoch:  # resumed: continue from the checkpoint's θ
        b, w = _split(loop.theta, intercept, dtype)
        control.resume_monitor(monitor)

    bounds = batch_bounds(n, cfg.batch_size)
    on_w = None if penalty is None else Penalty(penalty.l1, penalty.l2, penalty.mask[int(intercept):].astype(dtype))
    momentum = _Momentum(b, w) if cfg.optimizer == "fista" else None
    loop.begin()
    try:
        for epoch in range(loop.epoch + 1, cfg.epochs + 1):
            batches = _batches(x, y, epoch_order(n, cfg.batch_size, rng), bounds)
            if momentum is not None:
                b, w = momentum.point(b, w)
            b, w, epoch_loss = _epoch(b, w, batches, lr, intercept, out, stack, on_w, cfg.trace_steps)
            out.train_loss.append(epoch_loss / n)
            monitor.check(epoch, out.train_loss[-1])
            if x_val is not None:
                out.val_loss.append(_mse(b, w, x_val, y_val))
            if loop.end_epoch(epoch, lambda: stack(b, w)):
                break
    finally:
        loop.end()
    if loop.restored:  # early stopping put back the best epoch's θ
        b, w = _split(loop.theta, intercept, dtype)
    out.theta = stack(b, w)
    out.final_train_loss = _mse(b, w, x, y)
    out.final_val_loss = None if x_val is None else _mse(b, w, x_val, y_val)
    return out


class _Momentum:
    """FISTA's extrapolation: each epoch steps from ``θ_k + (t_k − 1)/t_{k+1}·(θ_k − θ_{k−1})``."""

    def __init__(self, b: np.ndarray, w: np.ndarray) -> None:
        self.t, self.previous = 1.0, (b, w)

    def point(self, b: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        t_next = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * self.t * self.t))
        beta = (self.t - 1.0) / t_next
        (b_prev, w_prev), self.t, self.previous = self.previous, t_next, (b, w)
        return (b + beta * (b - b_prev)).astype(b.dtype), (w + beta * (w - w_prev)).astype(w.dtype)


def _epoch(b: np.ndarray, w: np.ndarray, batches, lr: float, intercept: bool, out: EngineRun,
           stack, penalty: Penalty | None = None, trace_steps: int = 0) -> tuple[np.ndarray, np.ndarray, float]:
    """One pass over ``batches`` (an iterable of ``(xb, yb)``): ``(b, w)`` after it and the sum
    of the batch losses weighted by batch size. Counts each update in ``out``, with its trace
    and path (``stack(b, w)``: θ as one float64 vector)."""
    epoch_loss = 0.0
    for xb, yb in batches:
        before = stack(b, w)
        b, w, loss = _step(b, w, xb, yb, lr, intercept, penalty)
        epoch_loss += float(loss) * len(yb)
        out.updates += 1
        if out.first_gradient is None or out.updates <= trace_steps:
            record_step(out, trace_steps, before, _gradient(before, xb, yb, intercept, penalty), stack(b, w),
                        float(loss), _predictions(before, xb[:3], intercept))
        if is_traced(out.updates):
            out.trace.append((out.updates, stack(b, w)))
        if out.path is not None:
            out.path.append(stack(b, w))
    return b, w, epoch_loss


def _step(b: np.ndarray, w: np.ndarray, xb: np.ndarray, yb: np.ndarray, lr: float,
          intercept: bool, penalty: Penalty | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Steps 1–4 on one batch ``xb`` ``(m, d)``, ``yb`` ``(m,)``: the updated ``(b, w)`` and the
    batch's loss before the update (``penalty``: on ``w``, its mask in ``w``'s dtype)."""
    m = len(yb)
    # Step 1: forward pass — predictions have the targets' shape (m,).
    yhat = b + xb @ w
    # Step 2: loss (mean squared error).
    error = yhat - yb  # (m,)
    loss = np.mean(error ** 2)
    # Step 3: gradients of the loss with respect to b and w.
    b_grad = 2 * np.mean(error)
    w_grad = 2 * (xb.T @ error) / m  # (d,)
    if penalty is not None:
        w_grad = w_grad + penalty.smooth_gradient(w)  # the squares' part: 2·l2·w
    # Step 4: update.
    if intercept:
        b = b - lr * b_grad
    w = w - lr * w_grad
    if penalty is not None and penalty.l1:
        w = penalty.prox(w, lr)  # the absolute values' part: soft thresholding
    return b, w, loss


def _gradient(theta: np.ndarray, xb: np.ndarray, yb: np.ndarray, intercept: bool, penalty: Penalty | None
              ) -> np.ndarray:
    """Step 3's gradient at ``θ`` on the batch (what :func:`_step` computed), for the record."""
    b, w = _split(theta, intercept, xb.dtype)
    error = b + xb @ w - yb
    w_grad = 2 * (xb.T @ error) / len(yb)
    if penalty is not None:
        w_grad = w_grad + penalty.smooth_gradient(w)
    return _stack(2 * np.mean(error), w_grad, intercept)


def _predictions(theta: np.ndarray, xb: np.ndarray, intercept: bool) -> np.ndarray:
    b, w = _split(theta, intercept, xb.dtype)
    return b + xb @ w


def _batches(x: np.ndarray, y: np.ndarray, order: np.ndarray | None, bounds):
    """The epoch's batches ``(xb, yb)``, ``(m, d)`` and ``(m,)``, in ``order`` (``None``: full batch)."""
    if order is not None:  # one gather an epoch, then every batch is a view of it
        x, y = x[order], y[order]
    for start, stop in bounds:
        yield x[start:stop], y[start:stop]


def _split(theta: np.ndarray, intercept: bool, dtype: str) -> tuple[np.ndarray, np.ndarray]:
    """b (a 0-d array: 0.0 and never updated without an intercept) and w ``(d,)``, in ``dtype``."""
    b = np.asarray(theta[0] if intercept else 0.0, dtype=dtype)
    return b, np.asarray(theta[int(intercept):], dtype=dtype)  # exact: θ came from this dtype


def _stack(b: np.ndarray, w: np.ndarray, intercept: bool) -> np.ndarray:
    """θ as one float64 vector ``(p,)``, intercept first."""
    return np.concatenate([[b] if intercept else [], w]).astype(np.float64)


def _mse(b: np.ndarray, w: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean((b + x @ w - y) ** 2))
