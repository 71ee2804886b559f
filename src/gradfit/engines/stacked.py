"""Several learning rates trained together: K copies of the torch engine's model, one matrix
product per mini-batch for all of them (``gradfit.sweep``).

Each copy starts from the model the torch engine would build, sees the same mini-batches in the
same order (the shared shuffle), and takes plain SGD steps with its own rate, so each equals its
own single run up to the summation order of a matrix product (tested to 1e-5 in float32).
"""

from __future__ import annotations

import numpy as np
import torch

from ..config import FitConfig
from ..data import Problem
from ..data.batches import batch_bounds, epoch_order, shuffler
from ..errors import DivergedError
from ..results.engine_run import EngineRun
from ..training.divergence import DivergenceMonitor
from .common import is_traced
from .torch_engine import build_model, theta_of


def run_many(problem: Problem, cfg: FitConfig, *, lrs: list[float], monitors: list[DivergenceMonitor], dtype: str,
             device: str) -> list[EngineRun | DivergedError]:
    """Train ``len(lrs)`` models at once; each entry is its run, or the divergence that stopped it."""
    torch_dtype = getattr(torch, dtype)
    initial = theta_of(build_model(cfg.model or "manual", problem.n_features, problem.intercept, cfg.seed, "cpu",
                                   torch.float32, None))  # what every single run starts from
    models = _Models(initial, lrs, problem.intercept, torch_dtype, device)

    def tensor(a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(a, dtype=torch_dtype, device=device)

    x, y = tensor(problem.x_train), tensor(problem.y_train)  # (n, d), (n,)
    val = None if problem.x_val is None else (tensor(problem.x_val), tensor(problem.y_val))
    runs = [EngineRun(initial=initial.copy(), theta=initial.copy(), train_loss=[], val_loss=[], device=device)
            for _ in lrs]
    outcome: list[EngineRun | DivergedError] = list(runs)
    alive = np.ones(len(lrs), dtype=bool)
    rng, n = shuffler(cfg.seed), len(problem.y_train)
    bounds, updates = batch_bounds(n, cfg.batch_size), 0
    for epoch in range(1, cfg.epochs + 1):
        order = epoch_order(n, cfg.batch_size, rng)
        if order is not None:
            order = torch.as_tensor(order, device=device)
        epoch_losses, updates = _epoch(models, x, y, order, bounds, updates, runs, alive)
        with torch.no_grad():
            val_losses = None if val is None else models.losses(*val).tolist()
        _end_epoch(epoch, epoch_losses, val_losses, models, monitors, runs, outcome, alive)
        if not alive.any():
            break
    final = models.thetas()
    with torch.no_grad():
        train_final = models.losses(x, y).tolist()
        val_final = None if val is None else models.losses(*val).tolist()
    for i in np.flatnonzero(alive):
        run = runs[i]
        run.theta, run.updates = final[i].copy(), updates
        run.final_train_loss = train_final[i]
        run.final_val_loss = None if val_final is None else val_final[i]
    return outcome


class _Models:
    """K copies of ``y = b + x @ w`` as one parameter block, each with its own learning rate.

    ``b`` ``(K, 1)`` (unused without an intercept), ``w`` ``(K, d)``, ``rates`` ``(K, 1)``.
    """

    def __init__(self, initial: np.ndarray, lrs: list[float], intercept: bool, dtype: torch.dtype,
                 device: str) -> None:
        start = torch.as_tensor(np.tile(initial, (len(lrs), 1)), dtype=dtype, device=device)  # (K, p)
        self.intercept = intercept
        self.b = start[:, :1].clone()  # (K, 1)
        self.w = start[:, int(intercept):].clone()  # (K, d)
        self.rates = torch.as_tensor(lrs, dtype=dtype, device=device).view(-1, 1)  # (K, 1)

    def predict(self, xs: torch.Tensor) -> torch.Tensor:  # (m, d) -> (K, m)
        out = self.w @ xs.T
        return out + self.b if self.intercept else out

    def losses(self, xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:  # (K,): each model's MSE
        return ((self.predict(xs) - ys) ** 2).mean(dim=1)

    def thetas(self) -> np.ndarray:  # (K, p) float64
        parts = ([self.b.detach()] if self.intercept else []) + [self.w.detach()]
        return torch.cat(parts, dim=1).to("cpu", torch.float64).numpy()

    def step(self, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        """One plain SGD step of every model on the batch; returns the batch's losses before it, ``(K,)``.

        The MSE's gradient written out (``2/m·E·X`` and ``2/m·ΣE`` for the errors ``E`` ``(K, m)``)
        rather than through autograd: the same numbers up to summation order, without a graph
        built and walked for every batch (half the cost of a sweep)."""
        with torch.no_grad():
            error = self.predict(xb) - yb  # (K, m)
            m = error.shape[1]
            batch = (error * error).mean(dim=1)  # (K,)
            scaled = error * (self.rates * (2.0 / m))  # (K, m): each model's rate times its gradient factor
            self.w.sub_(scaled @ xb)
            if self.intercept:
                self.b.sub_(scaled.sum(dim=1, keepdim=True))
        return batch

    def park(self, i: int) -> None:
        """Stop model ``i`` (diverged): no inf/nan arithmetic from here on."""
        with torch.no_grad():
            self.rates[i] = 0.0
            self.w[i] = 0.0
            self.b[i] = 0.0


def _epoch(models: _Models, x: torch.Tensor, y: torch.Tensor, order: torch.Tensor | None, bounds, updates: int,
           runs: list[EngineRun], alive: np.ndarray) -> tuple[list[float], int]:
    """One pass over the rows in ``order`` (``None``: full batch): each model's mean loss over
    the epoch, and the updates counted so far (traced into the runs still ``alive``)."""
    n = len(y)
    total = torch.zeros(len(runs), dtype=x.dtype, device=x.device)
    if order is not None:  # one gather an epoch, then every batch is a view of it
        x, y = x[order], y[order]
    for first, stop in bounds:
        batch = models.step(x[first:stop], y[first:stop])  # (K,)
        total += batch.detach() * (stop - first)
        updates += 1
        if is_traced(updates):
            snapshot = models.thetas()
            for i in np.flatnonzero(alive):
                runs[i].trace.append((updates, snapshot[i].copy()))
    return (total / n).tolist(), updates  # the epoch's one host sync


def _end_epoch(epoch: int, epoch_losses: list[float], val_losses: list[float] | None, models: _Models,
               monitors: list[DivergenceMonitor], runs: list[EngineRun], outcome: list, alive: np.ndarray) -> None:
    """Record the epoch's losses in each live run; a run that diverged becomes its error and is parked."""
    for i in np.flatnonzero(alive):
        runs[i].train_loss.append(epoch_losses[i])
        try:
            monitors[i].check(epoch, epoch_losses[i])
        except DivergedError as error:
            outcome[i], alive[i] = error, False
            models.park(i)
            continue
        if val_losses is not None:
            runs[i].val_loss.append(val_losses[i])
