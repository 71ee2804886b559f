"""Shared fixtures: the book data generated independently of gradfit."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="session")
def book_arrays():
    """The tutorial's data-generation code, verbatim (global legacy seed), not gradfit's."""
    state = np.random.get_state()
    try:
        np.random.seed(42)
        x = np.random.rand(100, 1)
        y = 1 + 2 * x + 0.1 * np.random.randn(100, 1)
        idx = np.arange(100)
        np.random.shuffle(idx)
    finally:
        np.random.set_state(state)
    train, val = idx[:80], idx[80:]
    return x[train], y[train], x[val], y[val]
