"""Pieces every engine shares: initial values, mini-batches, the trace schedule, divergence."""

from __future__ import annotations

import math
from functools import lru_cache
from dataclasses import dataclass, field

import numpy as np

from ..errors import DivergedError

# A loss this many times the first epoch's has left any sensible basin: for full-batch gradient
# descent below the stable step the loss only falls, so such growth means divergence.
DIVERGENCE_FACTOR = 1e4


@dataclass
class EngineRun:
    """What an engine hands back; :func:`gradfit.fit` turns it into a :class:`FitResult`.

    ``theta`` vectors are float64, intercept first.
    """

    initial: np.ndarray
    theta: np.ndarray
    train_loss: list[float]
    val_loss: list[float]
    trace: list[tuple[int, np.ndarray]] = field(default_factory=list)
    updates: int = 0
    # MSE of the final parameters on all training / validation rows, computed in the run's own
    # dtype and device (float32 torch reports what float32 torch computes, as the tutorial does).
    final_train_loss: float = float("nan")
    final_val_loss: float | None = None
    # θ after every update (row 0: the start), when the run was asked to record its path.
    path: list[np.ndarray] | None = None
    device: str = "cpu"
    # The learning rate of each epoch, when it varies (a scheduler); None: the constant lr.
    lr: list[float] | None = None


def numpy_init(seed: int, n_features: int, intercept: bool) -> np.ndarray:
    """The tutorial's NumPy start: ``np.random.seed(seed); b = randn(1); w = randn(d)``.

    A private ``RandomState`` draws the same numbers as the legacy global seed without changing
    global state. Returns ``[b, w1, …, wd]`` (or ``[w1, …, wd]`` without an intercept).
    """
    return _numpy_init(seed, n_features, intercept).copy()


@lru_cache(maxsize=64)  # a RandomState costs ~0.2 ms to build, more than the book fit itself
def _numpy_init(seed: int, n_features: int, intercept: bool) -> np.ndarray:
    rng = np.random.RandomState(seed)
    b = rng.randn(1) if intercept else np.empty(0)
    w = rng.randn(n_features)
    return np.concatenate([b, w])


def is_traced(update: int) -> bool:
    """Whether the trace shows the parameters after this update.

    Updates 1–15, then every 100th below 1,000, every 1,000th below 10,000, and so on: for the
    tutorial's 1,000 epochs that is 1st … 15th, 100th … 900th.
    """
    if update <= 15:
        return True
    magnitude = 10 ** int(math.log10(update))
    return magnitude >= 100 and update % magnitude == 0


def traced_updates(last: int) -> list[int]:
    """The updates :func:`is_traced` shows, up to and including ``last``, generated directly."""
    updates = list(range(1, min(last, 15) + 1))
    magnitude = 100
    while magnitude <= last:
        updates += [m * magnitude for m in range(1, 10) if 15 < m * magnitude <= last]
        magnitude *= 10
    return updates


class DivergenceMonitor:
    """Stops a run the moment its loss is inf/nan or has grown without bound."""

    def __init__(self, lr: float, lr_max_stable: float | None, loss_factor: float = 1.0) -> None:
        self.lr, self.lr_max_stable = lr, lr_max_stable
        self.loss_factor = loss_factor  # reported losses in the target's units (standardized runs)
        self.first_loss: float | None = None
        self.losses: list[float] = []  # every epoch's training loss so far, for the error

    def check_many(self, losses: np.ndarray, first_epoch: int) -> None:
        """:meth:`check` for consecutive epochs at once (vectorised; same verdict, same error)."""
        if losses.size == 0:
            return
        finite = np.isfinite(losses)
        if self.first_loss is None and finite.any():
            self.first_loss = float(losses[np.argmax(finite)])
        limit = DIVERGENCE_FACTOR * max(self.first_loss or 0.0, np.finfo(np.float64).tiny)
        bad = ~finite | (losses > limit)
        if not bad.any():
            self.losses.extend(losses.tolist())
            return
        stop = int(np.argmax(bad))
        for offset, loss in enumerate(losses[: stop + 1].tolist()):
            self.check(first_epoch + offset, loss)  # raises at `stop`, with the history so far

    def check(self, epoch: int, loss: float) -> None:
        """Raise :class:`DivergedError` if ``loss`` (epoch ``epoch``, 1-based) shows divergence."""
        self.losses.append(loss)
        if self.first_loss is None and math.isfinite(loss):
            self.first_loss = loss
        limit = DIVERGENCE_FACTOR * max(self.first_loss or 0.0, np.finfo(np.float64).tiny)
        if not math.isfinite(loss) or loss > limit:
            raise DivergedError(epoch, loss * self.loss_factor, self.lr, self.lr_max_stable,
                                history=[v * self.loss_factor for v in self.losses])
