"""Full-batch gradient descent through XᵀX and Xᵀy: the numpy engine's iterates at O(p²) an epoch.

For the mean squared error ``L(θ) = ‖Aθ - y‖² / n`` (``A`` the design matrix, ``p`` columns)
the gradient is ``2/n (AᵀA θ - Aᵀy)``: after one pass over the data nothing in an epoch depends
on ``n``. The engine writes everything relative to the exact solution ``θ*`` and its residuals
``r*`` (``δ = θ - θ*``), which gives the same numbers without the cancellation of expanding
``θᵀAᵀAθ - 2θᵀAᵀy + yᵀy`` near the minimum::

    gradient(θ) = H δ - c,          H = 2/n AᵀA,   c = 2/n Aᵀr*  (≈ 0)
    loss(θ)     = ½ δᵀHδ - δᵀc + ‖r*‖²/n

A ridge penalty keeps the objective quadratic (``H + 2·l2·M``): the same closed-form epochs. An
``l1`` penalty, or ``optimizer='fista'``, makes each epoch a proximal gradient step (ISTA, or
FISTA's accelerated one) on the same quadratic: still O(p²) an epoch, one epoch at a time.
The recorded losses are the MSE (the data's part of the objective) on every path.
"""

from __future__ import annotations

import numpy as np

from .. import limits
from ..config import FitConfig
from ..data import Problem
from ..results.engine_run import EngineRun
from ..training.control import RunControl, ThetaLoop
from ..training.divergence import DivergenceMonitor
from .common import record_step, traced_updates
from .eigen import Eigen, components, quadratic_losses, train_losses
from .proximal import ProximalIterates, penalized_quadratic


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
        closed_theta: np.ndarray, control: RunControl | None = None, train_sufficient=None, val_sufficient=None,
        val_rows=None, penalty=None, **_) -> EngineRun:
    """Full-batch plain gradient descent, float64, from ``theta0``, every epoch at once.

    ``train_sufficient`` / ``val_sufficient`` (:class:`gradfit.least_squares.sufficient.SufficientStats`, in the
    space GD runs in) replace the rows: the engine then never touches them. ``val_rows``
    (``(x_val, y_val)``, in that space) gives the validation rows themselves instead.

    ``closed_theta`` is the least-squares solution of ``problem`` (the expansion point). The
    epochs are evaluated in blocks from the eigenbasis of the Hessian
    (:mod:`gradfit.engines.eigen`); divergence is caught in the first block it shows.

    ``penalty`` (:class:`gradfit.least_squares.penalty.Penalty`, where GD runs) adds ridge, lasso
    or elastic net; ``closed_theta`` is then the penalized problem's exact answer.

    ``control`` adds callbacks, early stopping and checkpoints (written when the run ends or
    stops: a block of epochs takes milliseconds). Since every iterate is a closed-form function of
    ``theta0`` and its epoch number, a resumed run starts again from the checkpoint's ``theta0``
    and callbacks stay silent through the checkpoint's epochs: the straight run, by construction.
    """
    if train_sufficient is not None:  # the sufficient statistics of the rows (one pass over them)
        train = train_sufficient.quadratic(closed_theta)
        val = None if val_sufficient is None else val_sufficient.quadratic(closed_theta)
        if val_rows is not None:
            val = Quadratic(problem.design(val_rows[0]), val_rows[1], closed_theta)
    else:
        train = Quadratic(problem.design(problem.x_train), problem.y_train, closed_theta)
        val = None
        if problem.x_val is not None:
            val = Quadratic(problem.design(problem.x_val), problem.y_val, closed_theta)
    theta0 = np.array(theta0, dtype=np.float64)  # (p,)
    smooth = train if penalty is None else penalized_quadratic(train, penalty)
    def fresh_iterates():
        if cfg.optimizer == "fista" or (penalty is not None and penalty.l1):
            return ProximalIterates(smooth, train, penalty, lr, theta0, accelerated=cfg.optimizer == "fista")
        return _eigen_iterates(smooth, penalty, lr, theta0, closed_theta)
    iterates = fresh_iterates()

    out = EngineRun(initial=theta0.copy(), theta=theta0.copy(), train_loss=[], val_loss=[])
    path = [] if cfg.record_path else None
    out.path = path
    traced = np.array(traced_updates(cfg.epochs), dtype=np.int64)
    names = (["intercept"] if problem.intercept else []) + list(problem.names)
    loop = ThetaLoop("exact", control, cfg.epochs, names, lr, out, checkpoint_every=0, replay=True)
    loop.begin()
    try:
        _blocks(loop, cfg, monitor, iterates, closed_theta, val, traced, out, path)
    finally:
        loop.end()
    if loop.restored:  # early stopping put back the best epoch's θ
        out.theta = loop.theta.copy()
    out.final_train_loss = train.loss(out.theta)
    out.final_val_loss = None if val is None else val.loss(out.theta)
    # The eigenbasis iterates are a function of k alone: evaluate them again; proximal ones start over.
    again = fresh_iterates() if isinstance(iterates, ProximalIterates) else iterates
    _record_steps(out, again, smooth, problem, cfg.trace_steps, min(max(cfg.trace_steps, 1), cfg.epochs))
    return out


def _record_steps(out: EngineRun, iterates, smooth, problem: Problem, trace_steps: int, count: int) -> None:
    """The first ``count`` updates' steps 1–4, evaluated again from the start (full batch: the
    gradient at θ_{k−1} and the MSE there; predictions of the first rows when they are at hand)."""
    losses, rows = iterates(np.arange(count + 1))
    thetas = rows()
    saved, out.updates = out.updates, 0
    for k in range(1, count + 1):
        before = thetas[k - 1]
        head = problem.design(problem.x_train[:3]) @ before if len(problem.x_train) else np.empty(0)
        out.updates = k
        record_step(out, trace_steps, before, smooth.gradient(before), thetas[k], float(losses[k - 1]), head)
    out.updates = saved


def _eigen_iterates(smooth, penalty, lr: float, theta0: np.ndarray, closed_theta: np.ndarray):
    """``ks -> (losses, thetas())``: the iterates ``θ_k`` from the eigenbasis of the (ridge-)
    penalized quadratic ``smooth``, and their MSE (the objective less the penalty)."""
    eigen = Eigen.of(smooth.hessian, smooth.c)
    z0 = eigen.vectors.T @ (theta0 - closed_theta)  # (p,)

    def iterates(ks: np.ndarray):
        z = components(eigen, z0, lr, ks)  # (K, p)
        losses = train_losses(eigen, z, smooth.min_part)

        def thetas() -> np.ndarray:
            return closed_theta + z @ eigen.vectors.T  # (K, p)
        if penalty is not None:
            with np.errstate(over="ignore", invalid="ignore"):  # diverging: caught by the monitor
                losses = losses - penalty.values(thetas())
        return losses, thetas
    return iterates


def _blocks(loop: ThetaLoop, cfg: FitConfig, monitor: DivergenceMonitor, iterates, closed_theta: np.ndarray,
            val: Quadratic | None, traced: np.ndarray, out: EngineRun, path: list | None) -> None:
    block = limits.EXACT_EPOCH_BLOCK  # memory: block × p floats whatever the number of epochs
    for start in range(0, cfg.epochs + 1, block):
        ks = np.arange(start, min(start + block, cfg.epochs + 1))  # iterate numbers θ_k in this block
        losses, iterate_rows = iterates(ks)
        before_update = ks < cfg.epochs  # the loss of θ_k is epoch k+1's loss, seen before its update
        monitor.check_many(losses[before_update], first_epoch=start + 1)
        out.train_loss.extend(losses[before_update].tolist())
        thetas = iterate_rows()  # (K, p)
        if val is not None:
            after_update = ks >= 1  # validation is measured after each epoch's update
            val_losses = quadratic_losses(thetas[after_update] - closed_theta, val.hessian, val.c, val.min_part)
            out.val_loss.extend(val_losses.tolist())
        in_block = traced[(traced >= ks[0]) & (traced <= ks[-1])]
        out.trace.extend((int(k), thetas[k - ks[0]].copy()) for k in in_block)
        if path is not None:
            path.extend(thetas)
        out.theta = thetas[-1].copy()
        out.updates = int(ks[-1])
        if loop.end_block(ks, thetas):
            return
