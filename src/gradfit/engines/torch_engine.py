"""Gradient descent with PyTorch autograd, ``nn.MSELoss`` and a ``torch.optim`` optimizer.

Two models: ``manual``, the tutorial's hand-made module with ``nn.Parameter`` b and w, and
``linear``, ``nn.Linear``. Initial values are drawn on the CPU from the seed (in float32, as the
tutorial draws them) and then moved, so every device and dtype starts from the same numbers;
parameters are created on their device as leaves, never moved after ``requires_grad``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..config import FitConfig
from ..data import Problem
from .common import DivergenceMonitor, EngineRun, batch_bounds, epoch_order, is_traced, shuffler


class ManualLinearRegression(nn.Module):
    """``y = b + x @ w``, with ``b`` and ``w`` as explicit parameters (the tutorial's module).

    Parameters
    ----------
    b : torch.Tensor or None
        Shape ``(1,)``; ``None`` for a model without an intercept.
    w : torch.Tensor
        Shape ``(d,)``.
    """

    def __init__(self, b: torch.Tensor | None, w: torch.Tensor) -> None:
        super().__init__()
        # nn.Parameter wraps the tensor as a leaf on whatever device it already lives on.
        self.b = None if b is None else nn.Parameter(b)
        self.w = nn.Parameter(w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (n, d) -> (n, 1)
        out = x @ self.w.unsqueeze(-1)  # for d = 1 exactly the tutorial's w * x
        return out if self.b is None else self.b + out


def build_model(kind: str, n_features: int, intercept: bool, seed: int, device: str, dtype: torch.dtype,
                theta0: np.ndarray | None) -> nn.Module:
    """A model with its initial values: from ``theta0`` if given, else drawn from ``seed``."""
    with torch.random.fork_rng(devices=[]):  # leave the caller's global RNG untouched
        torch.manual_seed(seed)
        if kind == "linear":
            model = nn.Linear(n_features, 1, bias=intercept)  # drawn on the CPU, float32
            model = model.to(device=device, dtype=dtype)  # Module.to keeps parameters as leaves
            if theta0 is not None:
                with torch.no_grad():
                    if intercept:
                        model.bias.copy_(torch.as_tensor(theta0[:1], dtype=dtype))
                    model.weight.copy_(torch.as_tensor(theta0[int(intercept):], dtype=dtype).view(1, -1))
            return model
        if theta0 is None:
            b = torch.randn(1) if intercept else None  # the tutorial: b first, then w
            w = torch.randn(n_features)
        else:
            b = torch.as_tensor(theta0[:1], dtype=torch.float64) if intercept else None
            w = torch.as_tensor(theta0[int(intercept):], dtype=torch.float64)
        b = None if b is None else b.to(device=device, dtype=dtype)
        return ManualLinearRegression(b, w.to(device=device, dtype=dtype))


def theta_of(model: nn.Module) -> np.ndarray:
    """The model's parameters as one float64 vector, intercept first."""
    if isinstance(model, nn.Linear):
        parts = ([model.bias] if model.bias is not None else []) + [model.weight.view(-1)]
    else:
        parts = ([model.b] if model.b is not None else []) + [model.w]
    return torch.cat([p.detach().reshape(-1) for p in parts]).to("cpu", torch.float64).numpy()


def make_optimizer(name: str, params, lr: float) -> torch.optim.Optimizer:
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)
    return torch.optim.SGD(params, lr=lr)


def run(problem: Problem, cfg: FitConfig, *, lr: float, theta0: np.ndarray | None, monitor: DivergenceMonitor,
        dtype: str, device: str, **_) -> EngineRun:
    """Train with autograd; returns float64 parameter vectors and per-epoch losses."""
    torch_dtype = getattr(torch, dtype)
    model = build_model(cfg.model or "manual", problem.n_features, problem.intercept, cfg.seed, device,
                        torch_dtype, theta0)
    optimizer = make_optimizer(cfg.optimizer, model.parameters(), lr)
    loss_fn = nn.MSELoss()

    def tensor(a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(a, dtype=torch_dtype, device=device)

    x, y = tensor(problem.x_train), tensor(problem.y_train).view(-1, 1)  # (n, d), (n, 1)
    has_val = problem.x_val is not None
    if has_val:
        x_val, y_val = tensor(problem.x_val), tensor(problem.y_val).view(-1, 1)
    n = len(problem.y_train)
    rng = shuffler(cfg.seed)
    bounds = batch_bounds(n, cfg.batch_size)

    out = EngineRun(initial=theta_of(model), theta=theta_of(model), train_loss=[], val_loss=[],
                    device=device)
    out.path = [out.initial.copy()] if cfg.record_path else None
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        order = epoch_order(n, cfg.batch_size, rng)
        if order is not None:
            order = torch.as_tensor(order, device=device)
        epoch_loss = torch.zeros((), dtype=torch_dtype, device=device)  # summed on the device
        for start, stop in bounds:
            if order is None:
                xb, yb = x, y
            else:
                idx = order[start:stop]
                xb, yb = x[idx], y[idx]  # (m, d), (m, 1)
            yhat = model(xb)  # (m, 1): the same shape as yb, so MSELoss cannot broadcast
            loss = loss_fn(yhat, yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()  # the update runs under no_grad inside the optimizer
            epoch_loss += loss.detach() * (stop - start)
            out.updates += 1
            if is_traced(out.updates):
                out.trace.append((out.updates, theta_of(model)))
            if out.path is not None:
                out.path.append(theta_of(model))
        out.train_loss.append(epoch_loss.item() / n)  # one host sync per epoch
        monitor.check(epoch, out.train_loss[-1])
        if has_val:
            out.val_loss.append(evaluate(model, loss_fn, x_val, y_val))
    out.theta = theta_of(model)
    out.final_train_loss = evaluate(model, loss_fn, x, y)
    out.final_val_loss = evaluate(model, loss_fn, x_val, y_val) if has_val else None
    return out


def evaluate(model: nn.Module, loss_fn: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Loss on all of ``x``, without building a graph."""
    model.eval()
    with torch.no_grad():
        return loss_fn(model(x), y).item()
