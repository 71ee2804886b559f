"""Pieces every engine shares: initial values and the trace schedule."""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np


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


def record_step(out, trace_steps: int, before: np.ndarray, gradient: np.ndarray, after: np.ndarray, loss: float,
                predictions: np.ndarray) -> None:
    """After update ``out.updates``: keep its gradient if it is the first, and, within the first
    ``trace_steps`` updates, the tutorial's four steps — the first predictions ``ŷ`` (step 1),
    the batch loss (step 2), the gradient (step 3) and the parameters before and after (step 4)."""
    if out.first_gradient is None:
        out.first_gradient = np.array(gradient, dtype=np.float64)
    if out.updates <= trace_steps:
        out.steps.append({"update": out.updates, "predictions": [float(v) for v in predictions],
                          "loss": float(loss), "gradient": [float(v) for v in gradient],
                          "before": [float(v) for v in before], "after": [float(v) for v in after]})
