"""What every engine hands back: the raw record of one training run (the pipeline turns it into a
:class:`gradfit.results.types.FitResult`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


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
    # The gradient of the first update (the first batch, at θ₀), ``(p,)``, where GD runs.
    first_gradient: np.ndarray | None = None
    # ``trace_steps``: the first updates' steps 1–4, one dict each (see gradfit.engines.common.record_step).
    steps: list[dict] = field(default_factory=list)
