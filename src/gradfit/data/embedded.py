"""Datasets that ship with gradfit, generated on demand (no data files to lose)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Callable

import numpy as np

from ..errors import BadDataError


@dataclass(frozen=True)
class Dataset:
    """A dataset with its own training/validation split.

    Attributes
    ----------
    x_train, x_val : numpy.ndarray
        Shape ``(n, d)`` features.
    y_train, y_val : numpy.ndarray
        Shape ``(n,)`` targets.
    """

    name: str
    description: str
    feature_names: list[str]
    target_name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray

    @property
    def x(self) -> np.ndarray:
        """All rows, training first: shape ``(n_train + n_val, d)``."""
        return np.concatenate([self.x_train, self.x_val])

    @property
    def y(self) -> np.ndarray:
        return np.concatenate([self.y_train, self.y_val])


@lru_cache(maxsize=None)
def book() -> Dataset:
    """The tutorial's synthetic data: ``y = 1 + 2x + noise``, 80 training and 20 validation rows.

    Generated exactly as the tutorial does, with NumPy's legacy global-seed generator (a private
    ``RandomState(42)`` draws the same stream without touching the global state)::

        np.random.seed(42); x = np.random.rand(100, 1)
        y = 1 + 2 * x + 0.1 * np.random.randn(100, 1)
        idx = np.arange(100); np.random.shuffle(idx)   # first 80 train, last 20 validation
    """
    true_b, true_w, n = 1.0, 2.0, 100
    rng = np.random.RandomState(42)
    x = rng.rand(n, 1)  # (100, 1)
    # Cached and shared between fits: make the arrays read-only so no caller can alter them.
    y = true_b + true_w * x + 0.1 * rng.randn(n, 1)  # (100, 1)
    idx = np.arange(n)
    rng.shuffle(idx)
    train, val = idx[:80], idx[80:]
    arrays = [x[train], y[train, 0], x[val], y[val, 0]]
    for array in arrays:
        array.flags.writeable = False
    return Dataset(
        name="book",
        description="y = 1 + 2x + N(0, 0.1²) noise, x ~ U(0, 1); 80 train / 20 validation rows (seed 42)",
        feature_names=["x"],
        target_name="y",
        x_train=arrays[0],
        y_train=arrays[1],
        x_val=arrays[2],
        y_val=arrays[3],
    )


DATASETS: dict[str, Callable[[], Dataset]] = {"book": book}


def load_dataset(name: str) -> Dataset:
    """An embedded dataset by name (see ``gradfit datasets``)."""
    try:
        data = DATASETS[name]()  # cached, read-only arrays
    except KeyError:
        known = ", ".join(DATASETS)
        raise BadDataError(f"no embedded dataset named {name!r}; the embedded datasets are: {known}") from None
    # Fresh writable copies for the caller (torch warns on tensors made from read-only arrays).
    return replace(data, x_train=data.x_train.copy(), y_train=data.y_train.copy(), x_val=data.x_val.copy(),
                   y_val=data.y_val.copy())
