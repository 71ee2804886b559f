"""The learning-rate range test (Smith, 2017): raise the rate exponentially, watch the loss.

From a copy of the model and optimizer, take up to ``steps`` mini-batch updates with the rate
growing geometrically from ``start_lr`` to ``end_lr``; record the loss of each step, smoothed
by a bias-corrected exponential moving average. The test stops early once the smoothed loss
exceeds ``diverge_factor`` times its lowest value (or is inf/nan): the rate has left the stable
range. Its own suggestion is where the smoothed loss falls fastest against ``log(lr)`` (the
steepest descent, before the minimum). The trainer, its model, optimizer and random states are
left untouched.

For plain gradient descent on the mean squared error of a linear model the stable range is
known, and :func:`with_curvature` reads the test against it: the largest stable full-batch
rate is ``2/L`` (``L`` the largest eigenvalue of the MSE Hessian ``2/n AᵀA``), and batches of
``B`` sampled rows are bounded by ``2/L_B`` (the expected smoothness of such batches, as
``lr='auto'`` uses it). A range test sees the loss lowest *past* those limits (the rate rises
every step, and just above ``2/L`` the loss takes many steps to grow), and its steepest fall
comes decades below them, where ``gradfit.fit`` would not converge in its epochs. The suggestion
is then half the smaller of the two: the range test's lowest-loss rate and the curvature's bound.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, replace
from typing import Iterator

import numpy as np

from ..errors import BadDataError, BadOptionError, option
from ..least_squares.curvature import auto_lr, hessian_extremes


@dataclass
class LRFinderResult:
    """What the range test saw.

    Attributes
    ----------
    lrs : numpy.ndarray
        ``(k,)`` the learning rate of each step taken.
    losses : numpy.ndarray
        ``(k,)`` the smoothed training loss after each step's batch (before its update).
    raw_losses : numpy.ndarray
        ``(k,)`` the unsmoothed batch losses.
    suggested_lr : float
        The rate to train with. The range test's own (``steepest_lr``), or, read against the
        curvature by :func:`with_curvature` (``suggested_by``), half the smaller of
        ``min_loss_lr`` and ``lr_bound``, rounded down to two significant digits.
    min_loss_lr : float
        The rate at the lowest smoothed loss.
    diverged : bool
        The test stopped because the loss exploded (before ``end_lr``).
    steepest_lr : float or None
        Where the smoothed loss falls fastest against ``log10(lr)``, searched from the
        ``skip_start``-th step up to the lowest loss; if that leaves fewer than 3 points, a tenth
        of ``min_loss_lr``.
    lr_max_stable : float or None
        ``2/L``: the largest stable full-batch rate of plain gradient descent on these rows
        (``None`` when the curvature is not known: any model but the linear one).
    lr_bound : float or None
        The curvature's bound for the steps the test took: ``2/L`` for full batch, ``2/L_B``
        for batches of ``B`` rows.
    suggested_by : str
        ``'steepest'`` (the range test's own rule), ``'curvature'`` (``lr_bound / 2``) or
        ``'range test'`` (``min_loss_lr / 2``, below the bound).
    """

    lrs: np.ndarray
    losses: np.ndarray
    raw_losses: np.ndarray
    suggested_lr: float
    min_loss_lr: float
    diverged: bool
    steepest_lr: float | None = None
    lr_max_stable: float | None = None
    lr_bound: float | None = None
    suggested_by: str = "steepest"

    def to_dict(self) -> dict:
        return {"suggested_lr": self.suggested_lr, "suggested_by": self.suggested_by,
                "lr_max_stable": self.lr_max_stable, "lr_bound": self.lr_bound, "steepest_lr": self.steepest_lr,
                "min_loss_lr": self.min_loss_lr, "diverged": self.diverged, "lrs": self.lrs.tolist(),
                "losses": self.losses.tolist(), "raw_losses": self.raw_losses.tolist()}


def lr_find(trainer, *, start_lr: float = 1e-7, end_lr: float = 10.0, steps: int = 200, smoothing: float = 0.9,
            diverge_factor: float = 4.0, skip_start: int = 10, seed: int = 0) -> LRFinderResult:
    """Run the range test on a copy of ``trainer``'s model and optimizer, on its training data.

    Parameters
    ----------
    trainer : gradfit.Trainer
    start_lr, end_lr : float
        The rate of the first and of the last step (geometric in between).
    steps : int
        Updates at most (batches are drawn in shuffled epochs, as the trainer would).
    smoothing : float
        Weight of the past in the moving average of the loss (0: no smoothing). 0.9 remembers
        about 10 steps, under half a decade of rates at the defaults; fastai's 0.98 (50 steps)
        lags so far that the loss looks lowest long after the rate has left the stable range.
    diverge_factor : float
        Stop once the smoothed loss exceeds this multiple of its lowest value.
    skip_start : int
        Steps ignored at the start when looking for the steepest descent (the average is noisy).
    seed : int
        Seeds this test's own batch shuffling.

    Returns
    -------
    LRFinderResult

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from gradfit import Trainer
    >>> x = torch.linspace(0, 1, 64).view(-1, 1); y = 1 + 2 * x
    >>> _ = torch.manual_seed(0)
    >>> trainer = Trainer(nn.Linear(1, 1), nn.MSELoss(), "sgd", lr=0.1, train_data=(x, y), batch_size=16)
    >>> found = trainer.lr_find(steps=100)
    >>> found.diverged, 1e-3 < found.suggested_lr < 1.0
    (True, True)
    """
    _check_range(start_lr, end_lr, steps, smoothing)
    lrs = start_lr * (end_lr / start_lr) ** (np.arange(steps) / (steps - 1))  # (steps,)
    raw, smoothed, diverged = _range_test(trainer, lrs, smoothing, diverge_factor, seed, skip_start)
    return _result(lrs[:len(raw)], np.array(smoothed), np.array(raw), diverged, skip_start)


def _check_range(start_lr: float, end_lr: float, steps: int, smoothing: float) -> None:
    if not (0 < start_lr < end_lr and math.isfinite(end_lr)):
        raise BadOptionError("start_lr", start_lr, f"must be positive and below end_lr ({end_lr})")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 2:
        raise BadOptionError("steps", steps, "must be an integer of at least 2", f"e.g. {option('steps', 200)}")
    if not 0 <= smoothing < 1:
        raise BadOptionError("smoothing", smoothing, "must be at least 0 and below 1")


def _range_test(trainer, lrs: np.ndarray, smoothing: float, diverge_factor: float, seed: int, warm_up: int
                ) -> tuple[list[float], list[float], bool]:
    """One update at each rate of ``lrs`` ``(steps,)`` on copies of the model and optimizer, until
    the smoothed loss diverges; returns the raw and the smoothed losses, and whether it diverged."""
    import torch

    from ..data.batches import shuffler

    # One deepcopy of both keeps the optimizer pointing at the copied parameters.
    model, optimizer = copy.deepcopy((trainer.model, trainer.optimizer))
    batches = _batches(trainer, shuffler(seed))
    raw, smoothed = [], []
    average, best, diverged = 0.0, math.inf, False
    devices = [model_device.index] if (model_device := trainer.device).type == "cuda" else []
    with torch.random.fork_rng(devices=devices):  # dropout and the like must not move the run's RNG
        model.train()
        for i, (lr, (xb, yb)) in enumerate(zip(lrs.tolist(), batches)):
            value = _step(trainer, model, optimizer, lr, xb, yb)
            average = smoothing * average + (1 - smoothing) * value
            current = average / (1 - smoothing ** (i + 1))  # bias-corrected: the first steps are not pulled to 0
            raw.append(value)
            smoothed.append(current)
            if not math.isfinite(current) or current > diverge_factor * best:
                diverged = True
                break
            if i >= warm_up:
                best = min(best, current)
    return raw, smoothed, diverged


def _batches(trainer, rng: np.random.Generator) -> Iterator:
    """Endless ``(xb, yb)`` batches of the trainer's training data, in epochs shuffled by ``rng``
    (in-memory data; a DataLoader shuffles itself) as the trainer would draw them."""
    import torch

    from ..data.batches import batch_bounds, epoch_order
    from .inputs import loader_batch

    data = trainer.train_data
    while True:
        if isinstance(data, tuple):
            x, y = data
            order = epoch_order(len(x), trainer.batch_size, rng) if trainer.shuffle else None
            for start, stop in batch_bounds(len(x), trainer.batch_size):
                idx = slice(start, stop) if order is None else torch.as_tensor(order[start:stop], device=x.device)
                yield x[idx], y[idx]
        else:
            empty = True
            for batch in data:
                empty = False
                yield loader_batch(batch, trainer.device, trainer.dtype)
            if empty:
                raise BadDataError("the training DataLoader yielded no batches; check its dataset and drop_last")


def _step(trainer, model, optimizer, lr: float, xb, yb) -> float:
    """One update of ``model`` at rate ``lr`` on the batch; returns the batch's loss before it."""
    from .checks import output_shape_error

    for group in optimizer.param_groups:
        group["lr"] = lr
    output = model(xb)
    if trainer.check_shapes and output.shape != yb.shape:
        raise output_shape_error(output, yb, trainer.loss_fn)
    loss = trainer.loss_fn(output, yb)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.item()  # one sync a step: the stopping rule needs the value now


def _result(lrs: np.ndarray, losses: np.ndarray, raw: np.ndarray, diverged: bool, skip_start: int) -> LRFinderResult:
    finite = np.where(np.isfinite(losses), losses, np.inf)
    lowest = int(np.argmin(finite))
    start = min(skip_start, max(lowest - 2, 0))
    if lowest - start + 1 >= 3:
        slope = np.gradient(losses[start:lowest + 1], np.log10(lrs[start:lowest + 1]))
        suggested = float(lrs[start + int(np.argmin(slope))])
    else:
        suggested = float(lrs[lowest]) / 10
    return LRFinderResult(lrs=lrs, losses=losses, raw_losses=raw, suggested_lr=suggested,
                          min_loss_lr=float(lrs[lowest]), diverged=diverged, steepest_lr=suggested)


def with_curvature(found: LRFinderResult, design: np.ndarray, batch_size: int | None,
                   plain_gradient_descent: bool = True) -> LRFinderResult:
    """``found`` read against the curvature of the MSE on the rows the test trained on.

    Parameters
    ----------
    found : LRFinderResult
        A range test of the linear model on ``design``'s rows with the MSE loss.
    design : numpy.ndarray
        ``(n, p)`` the design matrix the test trained on (scaled as it was).
    batch_size : int or None
        Rows per step (``None``: full batch).
    plain_gradient_descent : bool
        The optimizer was plain SGD. Otherwise (adam) the limits are recorded but do not bound the
        rate, and the range test's own suggestion stands.

    Returns
    -------
    LRFinderResult
        With ``lr_max_stable`` and ``lr_bound``; for plain gradient descent ``suggested_lr`` is
        half the smaller of ``found.min_loss_lr`` and ``lr_bound``, rounded down to two digits.

    Examples
    --------
    >>> design = np.column_stack([np.ones(4), [0.0, 1.0, 2.0, 3.0]])
    >>> found = LRFinderResult(np.array([0.1, 1.0]), np.array([1.0, 9.0]), np.array([1.0, 9.0]), 0.1, 1.0, True)
    >>> read = with_curvature(found, design, None)
    >>> round(read.lr_max_stable, 4), read.suggested_lr, read.suggested_by
    (0.238, 0.11, 'curvature')
    """
    largest, smallest = (float(v) for v in hessian_extremes(design))
    limit = 2.0 / largest
    bound = limit
    if batch_size is not None and batch_size < len(design):
        bound = 2.0 * float(auto_lr(design, batch_size, largest, smallest))  # 2 / L_B, L ≤ L_B ≤ max row curvature
    if not plain_gradient_descent:
        return replace(found, lr_max_stable=limit, lr_bound=bound)
    by = "curvature" if bound <= found.min_loss_lr else "range test"
    return replace(found, suggested_lr=_round_down(min(bound, found.min_loss_lr) / 2), lr_max_stable=limit,
                   lr_bound=bound, suggested_by=by)


def _round_down(value: float) -> float:
    """Two significant digits, rounded down: a rate a user can type, never above ``value``."""
    scale = 10.0 ** (math.floor(math.log10(value)) - 1)
    return float(f"{math.floor(value / scale + 1e-9) * scale:.2g}")
