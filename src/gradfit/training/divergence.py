"""Divergence: a run stops the moment its loss is inf/nan or has grown without bound."""

from __future__ import annotations

import math

import numpy as np

from .. import limits
from ..errors import DivergedError


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
        limit = limits.DIVERGENCE_FACTOR * max(self.first_loss or 0.0, np.finfo(np.float64).tiny)
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
        limit = limits.DIVERGENCE_FACTOR * max(self.first_loss or 0.0, np.finfo(np.float64).tiny)
        if not math.isfinite(loss) or loss > limit:
            raise DivergedError(epoch, loss * self.loss_factor, self.lr, self.lr_max_stable,
                                history=[v * self.loss_factor for v in self.losses])
