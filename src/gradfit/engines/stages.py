"""The walk-through's middle stages, each as the learner writes it: raw tensors or a module, the
update by hand or by ``torch.optim``, the loss written out or ``nn.MSELoss``.

``--model tensors`` trains two leaf tensors ``b`` and ``w`` made with ``requires_grad=True``;
``--update manual`` updates inside ``torch.no_grad()`` and zeroes each ``.grad`` by hand;
``--loss manual`` is ``((yhat - y) ** 2).mean()``. Every combination runs the tutorial's loop::

    yhat = b + x @ w            (or model(x))           # step 1: forward pass
    loss = loss_fn(yhat, y)                              # step 2: loss
    loss.backward()                                      # step 3: gradients
    with torch.no_grad(): b -= lr * b.grad; …            # step 4: update (or optimizer.step())
    b.grad.zero_(); …                                    #         (or optimizer.zero_grad())

on the same seeded start and the same batches as the other engines, so every stage lands on
the same numbers (the book's: start b 0.3367, w 0.1288; first gradients −3.1125, −1.8156).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..config import FitConfig
from ..data import Problem
from ..data.batches import batch_bounds, epoch_order, shuffler
from ..results.engine_run import EngineRun
from ..training.control import RunControl, ThetaLoop
from ..training.divergence import DivergenceMonitor
from .common import is_traced, record_step


class Tensors:
    """``b`` ``(1,)`` and ``w`` ``(d,)`` as bare leaf tensors (the walk-through's second stage),
    drawn as the tutorial draws them (``torch.manual_seed(seed)``, b then w from ``torch.randn``)
    on the CPU in float32, then placed on ``device`` as leaves that require gradients."""

    def __init__(self, n_features: int, intercept: bool, seed: int, device: str, dtype: torch.dtype,
                 theta0: np.ndarray | None) -> None:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            if theta0 is None:
                b = torch.randn(1) if intercept else None
                w = torch.randn(n_features)
            else:
                b = torch.as_tensor(theta0[:1], dtype=torch.float64) if intercept else None
                w = torch.as_tensor(theta0[int(intercept):], dtype=torch.float64)
        # .to() gives a copy; requires_grad_ then makes that copy the leaf (never moved after)
        self.b = None if b is None else b.to(device=device, dtype=dtype).requires_grad_()
        self.w = w.to(device=device, dtype=dtype).requires_grad_()

    def __call__(self, x: torch.Tensor) -> torch.Tensor:  # (m, d) -> (m, 1)
        out = x @ self.w.unsqueeze(-1)
        return out if self.b is None else self.b + out

    def parameters(self) -> list[torch.Tensor]:
        return ([self.b] if self.b is not None else []) + [self.w]


def ordered_parameters(net) -> list[torch.Tensor]:
    """The parameters in gradfit's order, intercept first: ``[b, w]`` of the tensors or the
    tutorial's module, ``[bias, weight]`` of ``nn.Linear`` (alone or in ``nn.Sequential``)."""
    if isinstance(net, nn.Sequential):
        net = net[0]
    if isinstance(net, nn.Linear):
        return ([net.bias] if net.bias is not None else []) + [net.weight]
    return ([net.b] if net.b is not None else []) + [net.w]


def theta_of_tensors(parameters: list[torch.Tensor]) -> np.ndarray:
    """Tensors (or their gradients) as one float64 vector, in the order given."""
    return torch.cat([p.detach().reshape(-1) for p in parameters]).to("cpu", torch.float64).numpy()


def manual_mse(yhat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The mean squared error written out (``--loss manual``)."""
    return ((yhat - y) ** 2).mean()


def run(problem: Problem, cfg: FitConfig, *, lr: float, theta0: np.ndarray | None, monitor: DivergenceMonitor,
        dtype: str, device: str, control: RunControl | None = None, model: nn.Module | None = None,
        **_) -> EngineRun:
    """Train with the loop above; ``model`` is the module of ``--model manual|linear|sequential``
    (built by the torch engine), ``None`` for ``--model tensors``."""
    torch_dtype = getattr(torch, dtype)
    net = model if model is not None else Tensors(problem.n_features, problem.intercept, cfg.seed, device,
                                                  torch_dtype, theta0)
    parameters = ordered_parameters(net)
    loss_fn = manual_mse if cfg.loss == "manual" else nn.MSELoss()
    optimizer = None if cfg.update == "manual" else torch.optim.SGD(parameters, lr=lr)

    def tensor(a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(a, dtype=torch_dtype, device=device)

    x, y = tensor(problem.x_train), tensor(problem.y_train).view(-1, 1)  # (n, d), (n, 1)
    val = None if problem.x_val is None else (tensor(problem.x_val), tensor(problem.y_val).view(-1, 1))
    out = EngineRun(initial=theta_of_tensors(parameters), theta=theta_of_tensors(parameters), train_loss=[],
                    val_loss=[], device=device)
    out.path = [out.initial.copy()] if cfg.record_path else None
    names = (["intercept"] if problem.intercept else []) + list(problem.names)
    rng = shuffler(cfg.seed)
    loop = ThetaLoop("torch", control, cfg.epochs, names, lr, out, shuffle=rng)
    if loop.epoch:  # resumed: plain SGD keeps no state beyond the parameters
        _assign(parameters, loop.theta)
        control.resume_monitor(monitor)
    bounds, n = batch_bounds(len(y), cfg.batch_size), len(y)
    loop.begin()
    try:
        for epoch in range(loop.epoch + 1, cfg.epochs + 1):
            order = epoch_order(n, cfg.batch_size, rng)
            xs, ys = (x, y) if order is None else (x[torch.as_tensor(order, device=device)],
                                                   y[torch.as_tensor(order, device=device)])
            total = 0.0
            for start, stop in bounds:
                total += _step(net, parameters, loss_fn, optimizer, lr, xs[start:stop], ys[start:stop], out,
                               cfg.trace_steps) * (stop - start)
            out.train_loss.append(total / n)
            monitor.check(epoch, out.train_loss[-1])
            if val is not None:
                out.val_loss.append(_mse(net, *val))
            if loop.end_epoch(epoch, lambda: theta_of_tensors(parameters)):
                break
    finally:
        loop.end()
    if loop.restored:
        _assign(parameters, loop.theta)
    out.theta = theta_of_tensors(parameters)
    out.final_train_loss = _mse(net, x, y)
    out.final_val_loss = None if val is None else _mse(net, *val)
    return out


def _step(net, parameters: list[torch.Tensor], loss_fn, optimizer, lr: float, xb: torch.Tensor, yb: torch.Tensor,
          out: EngineRun, trace_steps: int) -> float:
    """Steps 1–4 on one batch; the batch's loss before the update. Records the first gradient
    and, for the first ``trace_steps`` updates, each step (:func:`gradfit.engines.common.record_step`)."""
    before = theta_of_tensors(parameters)
    yhat = net(xb)  # step 1
    loss = loss_fn(yhat, yb)  # step 2
    loss.backward()  # step 3
    gradient = theta_of_tensors([p.grad for p in parameters])
    if optimizer is None:  # step 4, by hand
        with torch.no_grad():
            for p in parameters:
                p -= lr * p.grad
        for p in parameters:
            p.grad.zero_()
    else:
        optimizer.step()
        optimizer.zero_grad()
    out.updates += 1
    after = theta_of_tensors(parameters)
    record_step(out, trace_steps, before, gradient, after, float(loss.item()), yhat.detach()[:3, 0].cpu().numpy())
    if is_traced(out.updates):
        out.trace.append((out.updates, after))
    if out.path is not None:
        out.path.append(after)
    return float(loss.item())


def _mse(net, x: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return float(((net(x) - y) ** 2).mean().item())


def _assign(parameters: list[torch.Tensor], theta: np.ndarray) -> None:
    with torch.no_grad():
        start = 0
        for p in parameters:
            p.copy_(torch.as_tensor(theta[start:start + p.numel()], dtype=p.dtype).view_as(p))
            start += p.numel()
