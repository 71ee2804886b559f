"""Gradient descent with PyTorch autograd, ``nn.MSELoss`` and a ``torch.optim`` optimizer.

Two models: ``manual``, the tutorial's hand-made module with ``nn.Parameter`` b and w, and
``linear``, ``nn.Linear``. Initial values are drawn on the CPU from the seed (in float32, as the
tutorial draws them) and then moved, so every device and dtype starts from the same numbers;
parameters are created on their device as leaves, never moved after ``requires_grad``.

Training runs on :class:`gradfit.Trainer` (the same loop users get for their own modules), with
the shuffle of :func:`gradfit.data.batches.shuffler` that the numpy engine uses, so both see
the same mini-batches in the same order.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..config import FitConfig
from ..data import Problem
from ..errors import BadOptionError, option
from ..results.engine_run import EngineRun
from ..training.callbacks import Callback
from ..training.control import RunControl
from ..training.divergence import DivergenceMonitor
from ..training.trainer import Trainer
from .common import is_traced, record_step
from .stages import ordered_parameters, theta_of_tensors


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
        if kind in ("linear", "sequential"):
            linear = nn.Linear(n_features, 1, bias=intercept)  # drawn on the CPU, float32
            linear = linear.to(device=device, dtype=dtype)  # Module.to keeps parameters as leaves
            if theta0 is not None:
                with torch.no_grad():
                    if intercept:
                        linear.bias.copy_(torch.as_tensor(theta0[:1], dtype=dtype))
                    linear.weight.copy_(torch.as_tensor(theta0[int(intercept):], dtype=dtype).view(1, -1))
            return linear if kind == "linear" else nn.Sequential(linear)
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
    return theta_of_tensors(ordered_parameters(model))


class StatsLoss:
    """The validation MSE of a model from the held-out rows' sufficient statistics
    (:class:`gradfit.least_squares.sufficient.SufficientStats`): streamed rows are not read again."""

    def __init__(self, stats) -> None:
        self.stats = stats

    def loss_sum(self, model: nn.Module) -> tuple[torch.Tensor, int]:
        return torch.tensor(self.stats.loss(theta_of(model)), dtype=torch.float64), 1


def make_optimizer(name: str, params, lr: float) -> torch.optim.Optimizer:
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)
    return torch.optim.SGD(params, lr=lr)


def add_penalty(optimizer: torch.optim.Optimizer, model: nn.Module, penalty, intercept: bool) -> torch.optim.Optimizer:
    """``optimizer`` with the penalty's two parts as step hooks on the weights: before each step
    the squares' gradient ``2·l2·m·w`` joins the (already all-reduced) gradient, after it the
    proximal step of ``l1`` moves each weight ``lr·l1`` towards zero, stopping there. The
    intercept is never touched (nor, with weights, the whitened design's intercept column)."""
    weight = ordered_parameters(model)[-1]  # w, or nn.Linear's weight
    mask = torch.as_tensor(penalty.mask[int(intercept):], dtype=weight.dtype, device=weight.device).view_as(weight)

    def squares(opt, args, kwargs) -> None:
        if penalty.l2 and weight.grad is not None:
            weight.grad.add_(weight.detach() * mask, alpha=2.0 * penalty.l2)

    def absolute_values(opt, args, kwargs) -> None:
        if penalty.l1:
            with torch.no_grad():
                threshold = mask * (float(opt.param_groups[0]["lr"]) * penalty.l1)
                weight.copy_(torch.sign(weight) * torch.clamp(weight.abs() - threshold, min=0.0) + 0.0)  # no -0.0

    optimizer.register_step_pre_hook(squares)
    optimizer.register_step_post_hook(absolute_values)
    return optimizer


# --scheduler: the rate is changed once per epoch. Step and plateau do not depend on --epochs, so
# a resumed run extended past its first plan follows the same schedule as a straight run.
STEP_EPOCHS, STEP_GAMMA = 100, 0.5  # step: halve the rate every 100 epochs
# plateau: torch's defaults (×0.1 after 10 epochs without a relative improvement of 1e-4), on the
# validation loss (the training loss without validation data); cosine: from lr to 0 over --epochs.


def make_scheduler(kind: str | None, epochs: int):
    """A factory ``optimizer -> scheduler`` for ``--scheduler`` (``None``: constant rate)."""
    schedulers = torch.optim.lr_scheduler
    if kind is None:
        return None
    if kind == "step":
        return lambda optimizer: schedulers.StepLR(optimizer, step_size=STEP_EPOCHS, gamma=STEP_GAMMA)
    if kind == "cosine":
        return lambda optimizer: schedulers.CosineAnnealingLR(optimizer, T_max=epochs)
    return lambda optimizer: schedulers.ReduceLROnPlateau(optimizer)


class _Divergence(Callback):
    """Stop at the first epoch whose loss shows divergence (before anything is checkpointed)."""

    order = -100

    def __init__(self, monitor: DivergenceMonitor) -> None:
        self.monitor = monitor

    def on_epoch_end(self, trainer, epoch: int, logs: dict) -> None:
        self.monitor.check(epoch, logs["train_loss"])


class _Steps(Callback):
    """The first update's gradient and the first ``trace_steps`` updates' steps 1–4, read after
    each step (``.grad`` still holds the gradient the optimizer used: the next step clears it)."""

    order = -50  # before any callback changes the parameters

    def __init__(self, out: EngineRun, initial: np.ndarray, trace_steps: int) -> None:
        self.out, self.before, self.trace_steps = out, initial.copy(), trace_steps

    def on_batch_end(self, trainer, step: int, logs: dict) -> None:
        if self.out.first_gradient is not None and step > self.trace_steps:
            return
        parameters = ordered_parameters(trainer.model)
        if any(p.grad is None for p in parameters):
            return
        after = theta_of(trainer.model)
        self.out.updates = step
        output = logs.get("output")
        head = np.empty(0) if output is None else output.detach()[:3].reshape(-1).cpu().numpy()
        record_step(self.out, self.trace_steps, self.before, theta_of_tensors([p.grad for p in parameters]), after,
                    float(logs["loss"].item()), head)
        self.before = after


class _Trace(Callback):
    """The parameters after the traced updates (and after every update when recording the path)."""

    def __init__(self, initial: np.ndarray, record_path: bool) -> None:
        self.trace: list[tuple[int, np.ndarray]] = []
        self.path = [initial.copy()] if record_path else None

    def on_batch_end(self, trainer, step: int, logs: dict) -> None:
        if is_traced(step):
            self.trace.append((step, theta_of(trainer.model)))
        if self.path is not None:
            self.path.append(theta_of(trainer.model))

    def state_dict(self) -> dict:
        return {"trace": [(k, t.tolist()) for k, t in self.trace],
                "path": None if self.path is None else torch.from_numpy(np.array(self.path))}

    def load_state_dict(self, state: dict) -> None:
        self.trace = [(int(k), np.array(t, dtype=np.float64)) for k, t in state["trace"]]
        if self.path is not None and state.get("path") is not None:
            self.path = list(state["path"].numpy())


def refuse_stage(cfg: FitConfig, shard, batches) -> None:
    """The walk-through's bare loops run in one process, on rows in memory."""
    if shard is None and batches is None:
        return
    chosen = "model" if cfg.model == "tensors" else "update" if cfg.update == "manual" else "loss"
    where = "under torchrun" if shard is not None else "on batches streamed from a file"
    raise BadOptionError(chosen, getattr(cfg, chosen), f"the walk-through's bare loop does not run {where}",
                         f"use {option('model', 'manual')} and leave {option('update')} and {option('loss')} out")


def run(problem: Problem, cfg: FitConfig, *, lr: float, theta0: np.ndarray | None, monitor: DivergenceMonitor,
        dtype: str, device: str, control: RunControl | None = None, shard=None, batches=None, penalty=None,
        val_sufficient=None, **_) -> EngineRun:
    """Train with autograd on :class:`gradfit.Trainer` (the walk-through's bare loops — bare tensors,
    an update by hand, the loss written out — on :mod:`gradfit.engines.stages`); returns float64
    parameter vectors and per-epoch losses. ``control`` adds callbacks, checkpoints, early stopping
    and resuming. ``shard`` (:class:`gradfit.scale.distributed.GlobalRows`): ``problem`` holds this
    process's rows of a ``torch.distributed`` run (DistributedDataParallel, the global batches of one
    process). ``batches`` (:class:`gradfit.scale.shuffle_buffer.ShuffledBatches`): mini-batches
    streamed from disk instead of ``problem``'s rows (``shard`` is then the process group sharing
    the file), ``val_sufficient`` the held-out rows' statistics, for the validation loss.
    ``penalty``: ridge, lasso or elastic net on the weights (:func:`add_penalty`); losses are the MSE."""
    control = control or RunControl()
    torch_dtype = getattr(torch, dtype)
    model = None if cfg.model == "tensors" else build_model(cfg.model or "manual", problem.n_features,
                                                             problem.intercept, cfg.seed, device, torch_dtype, theta0)
    if cfg.walkthrough_stage:
        from . import stages

        refuse_stage(cfg, shard, batches)
        return stages.run(problem, cfg, lr=lr, theta0=theta0, monitor=monitor, dtype=dtype, device=device,
                          control=control, model=model)

    def tensor(a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(a, dtype=torch_dtype, device=device)

    # (n, d), (n, 1): as the model's output; or batches drawn from rows not held here as tensors
    train_data = (tensor(problem.x_train), tensor(problem.y_train).view(-1, 1)) if batches is None else batches
    val = StatsLoss(val_sufficient) if val_sufficient is not None else None if problem.x_val is None else \
        (tensor(problem.x_val), tensor(problem.y_val).view(-1, 1))
    initial = theta_of(model)
    control.extra["initial"] = initial.tolist()  # a resumed run reports the run's start
    trace = _Trace(initial, cfg.record_path)
    steps = EngineRun(initial=initial, theta=initial, train_loss=[], val_loss=[])  # collects the steps

    def optimizer(params) -> torch.optim.Optimizer:
        made = make_optimizer(cfg.optimizer, params, lr)
        return made if penalty is None else add_penalty(made, model, penalty, problem.intercept)

    trainer = Trainer(model, nn.MSELoss(), optimizer,
                      train_data=train_data, val_data=val, batch_size=cfg.batch_size, seed=cfg.seed,
                      scheduler=make_scheduler(cfg.scheduler, cfg.epochs), shard=shard,
                      callbacks=[_Divergence(monitor), trace, _Steps(steps, initial, cfg.trace_steps),
                                 *control.run_callbacks(theta_of=lambda run: theta_of(run.model))])
    if batches is not None:
        batches.rng = trainer.shuffle_rng  # the streamed shuffle's state: checkpointed with the Trainer's
    if control.resume is not None:
        trainer.load_state_dict(control.resume, restore_global_rng=False)  # fit leaves global RNGs alone
        control.resume_monitor(monitor)
    if trainer.epoch < cfg.epochs:  # (a finished run's checkpoint, resumed: its result, no more epochs)
        trainer.train(cfg.epochs - trainer.epoch)

    history = trainer.history
    out = EngineRun(initial=initial, theta=theta_of(model), train_loss=list(history.train_loss),
                    val_loss=list(history.val_loss), trace=trace.trace, updates=trainer.global_step,
                    path=trace.path, device=device, lr=list(history.lr) if cfg.scheduler else None,
                    first_gradient=steps.first_gradient, steps=steps.steps)
    out.final_train_loss = trainer.evaluate(train_data)  # streamed: one more pass
    out.final_val_loss = trainer.evaluate() if val is not None else None
    return out
