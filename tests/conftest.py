"""Shared fixtures: the book data generated independently of gradfit; the NIST StRD sets shipped with it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

# NIST's eleven linear StRD sets with their certified values (README.md there): part of the
# repository, so every machine runs the tests that use them.
NIST_DIR = Path(__file__).resolve().parents[1] / "datasets" / "nist-strd"


@pytest.fixture(scope="session")
def nist_dir() -> Path:
    """The folder of ``NAME.csv`` and ``NAME.certified.json`` for each NIST StRD set."""
    if not (NIST_DIR / "filip.certified.json").is_file():
        pytest.fail(f"the NIST StRD data is missing from {NIST_DIR}: it ships with the repository (git restore it)")
    return NIST_DIR


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
