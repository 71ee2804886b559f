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
from ..errors import DivergedError
from ..data.batches import batch_bounds, epoch_order, shuffler
from ..results.engine_run import EngineRun
from ..training.divergence import DivergenceMonitor
from .common import is_traced
from .torch_engine import build_model, theta_of


def run_many(problem: Problem, cfg: FitConfig, *, lrs: list[float], monitors: list[DivergenceMonitor], dtype: str,
             device: str) -> list[EngineRun | DivergedError]:
    """Train ``len(lrs)`` models at once; each entry is its run, or the divergence that stopped it."""
    torch_dtype = getattr(torch, dtype)
    k, intercept = len(lrs), problem.intercept
    initial = theta_of(build_model(cfg.model or "manual", problem.n_features, intercept, cfg.seed, "cpu",
                                   torch.float32, None))  # what every single run starts from
    start = torch.as_tensor(np.tile(initial, (k, 1)), dtype=torch_dtype, device=device)  # (K, p)
    b = start[:, :1].clone().requires_grad_(intercept)  # (K, 1); unused without an intercept
    w = start[:, int(intercept):].clone().requires_grad_(True)  # (K, d)
    rates = torch.as_tensor(lrs, dtype=torch_dtype, device=device).view(-1, 1)  # (K, 1)

    def tensor(a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(a, dtype=torch_dtype, device=device)

    x, y = tensor(problem.x_train), tensor(problem.y_train)  # (n, d), (n,)
    has_val = problem.x_val is not None
    if has_val:
        x_val, y_val = tensor(problem.x_val), tensor(problem.y_val)

    def predict(xs: torch.Tensor) -> torch.Tensor:  # (m, d) -> (K, m)
        out = w @ xs.T
        return out + b if intercept else out

    def losses(xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:  # (K,): each model's MSE
        return ((predict(xs) - ys) ** 2).mean(dim=1)

    def thetas() -> np.ndarray:  # (K, p) float64
        parts = ([b.detach()] if intercept else []) + [w.detach()]
        return torch.cat(parts, dim=1).to("cpu", torch.float64).numpy()

    runs = [EngineRun(initial=initial.copy(), theta=initial.copy(), train_loss=[], val_loss=[], device=device)
            for _ in lrs]
    outcome: list[EngineRun | DivergedError] = list(runs)
    alive = np.ones(k, dtype=bool)
    rng, n = shuffler(cfg.seed), len(problem.y_train)
    bounds, updates = batch_bounds(n, cfg.batch_size), 0
    for epoch in range(1, cfg.epochs + 1):
        order = epoch_order(n, cfg.batch_size, rng)
        if order is not None:
            order = torch.as_tensor(order, device=device)
        total = torch.zeros(k, dtype=torch_dtype, device=device)
        for first, stop in bounds:
            idx = None if order is None else order[first:stop]
            xb, yb = (x, y) if idx is None else (x[idx], y[idx])
            batch = losses(xb, yb)  # (K,)
            b.grad = w.grad = None
            batch.sum().backward()  # each model's gradient is that of its own loss
            with torch.no_grad():
                w.sub_(w.grad * rates)
                if intercept:
                    b.sub_(b.grad * rates)
            total += batch.detach() * (stop - first)
            updates += 1
            if is_traced(updates):
                snapshot = thetas()
                for i in np.flatnonzero(alive):
                    runs[i].trace.append((updates, snapshot[i].copy()))
        epoch_losses = (total / n).tolist()  # the epoch's one host sync
        with torch.no_grad():
            val_losses = losses(x_val, y_val).tolist() if has_val else None
        for i in np.flatnonzero(alive):
            runs[i].train_loss.append(epoch_losses[i])
            try:
                monitors[i].check(epoch, epoch_losses[i])
            except DivergedError as error:
                outcome[i], alive[i] = error, False
                with torch.no_grad():  # park the diverged copy: no inf/nan arithmetic from here on
                    rates[i] = 0.0
                    w[i] = 0.0
                    b[i] = 0.0
                continue
            if has_val:
                runs[i].val_loss.append(val_losses[i])
        if not alive.any():
            break
    final = thetas()
    with torch.no_grad():
        train_final = losses(x, y).tolist()
        val_final = losses(x_val, y_val).tolist() if has_val else None
    for i in np.flatnonzero(alive):
        run = runs[i]
        run.theta, run.updates = final[i].copy(), updates
        run.final_train_loss = train_final[i]
        run.final_val_loss = None if val_final is None else val_final[i]
    return outcome
