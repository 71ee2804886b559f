"""Error-free transformations of float64 arithmetic (Knuth, Dekker).

``two_sum`` and ``two_product`` return a rounded result and its exact rounding error, so a
value can be carried as ``hi + lo`` to about twice float64's precision. They build exact powers
of data columns (:func:`gradfit.data.design.polynomial_design`) and carry the iterates of the
closed form's exact refinement (:mod:`gradfit.least_squares.dense`).
"""

from __future__ import annotations

import numpy as np


def split(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dekker's split of ``a`` into two halves of 26 bits each (``hi + lo == a`` exactly)."""
    c = 134217729.0 * a  # 2**27 + 1
    hi = c - (c - a)
    return hi, a - hi


def two_product(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(p, e)`` with ``p = fl(a·b)`` and ``p + e == a·b`` exactly (barring over/underflow)."""
    product = a * b
    a_hi, a_lo = split(a)
    b_hi, b_lo = split(b)
    error = ((a_hi * b_hi - product) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo
    return product, error


def two_sum(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(s, e)`` with ``s = fl(a + b)`` and ``s + e == a + b`` exactly (Knuth)."""
    total = a + b
    b_virtual = total - a
    return total, (a - (total - b_virtual)) + (b - b_virtual)


def fast_two_sum(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(s, e)`` with ``s = fl(a + b)`` and ``s + e == a + b`` exactly, for ``|a| >= |b|``."""
    total = a + b
    return total, b - (total - a)


def accurate_sum(values: np.ndarray) -> float:
    """``Σ values`` as if computed in twice float64's precision, then rounded (Ogita, Rump & Oishi's
    *Sum2*, by pairwise halving): ``two_sum`` keeps each level's rounding errors, and their own
    sum, small beside the terms, needs only float64. Error about ``eps·|Σ| + n·eps²·Σ|values|``,
    where plain summation has ``log n·eps·Σ|values|`` (what cancellation near ``Aᵀr = 0`` exposes).

    >>> accurate_sum(np.array([1e16, 1.0, -1e16, 1.0]))
    2.0
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    errors = 0.0
    while len(values) > 1:
        if len(values) % 2:
            values = np.append(values, 0.0)
        values, lost = two_sum(values[0::2], values[1::2])
        errors += float(lost.sum())
    total = float(values[0]) if len(values) else 0.0
    return total + errors
