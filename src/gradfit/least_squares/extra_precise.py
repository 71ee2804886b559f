"""Refinement of a least-squares solution with residuals to twice float64's precision.

Extra-precise iterative refinement (Demmel, Hida, Kahan, Li, Mukherjee & Riedy, *Error bounds
from extra-precise iterative refinement*, ACM TOMS 32(2), 2006): the residuals ``r = y − A u`` and
the gradient ``Aᵀr`` are computed in double-double arithmetic (:mod:`gradfit.floats`: exact
products, compensated sums), and each correction ``δ = R⁻¹R⁻ᵀ Aᵀr`` comes from the float64 QR
factor. Every step shrinks the error of ``u`` by about ``κ·eps``, down to float64's own rounding,
however large the residuals; the size of the last correction says how far ``u`` was (an error
estimate measured, not bounded). It costs a few passes over ``A`` in float64 — the exact integer
refinement (:mod:`gradfit.least_squares.exact_arithmetic`) is kept for what it alone does: the
covariance ``(AᵀA)⁻¹`` of ill-conditioned problems.
"""

from __future__ import annotations

import numpy as np

from ..floats import accurate_sum, fast_two_sum, two_product, two_sum


def residuals(a: np.ndarray, a_lo: np.ndarray | None, y: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``y − (a + a_lo) u`` as ``hi + lo`` (``(n,)`` each), to about eps² relative to the terms.

    >>> a = np.array([[1.0, 1e16], [1.0, 1.0]])
    >>> hi, lo = residuals(a, None, np.array([1e16, 1.0]), np.array([1.0, 1.0]))
    >>> (hi + lo).tolist()
    [-1.0, -1.0]
    """
    hi, lo = np.asarray(y, dtype=np.float64).copy(), np.zeros(len(y))
    for j in range(a.shape[1]):
        product, error = two_product(a[:, j], np.full(len(y), u[j]))  # exact: a_ij·u_j = product + error
        if a_lo is not None:
            error = error + a_lo[:, j] * u[j]
        hi, carry = two_sum(hi, -product)
        lo = lo + carry - error
    return fast_two_sum(hi, lo)


def gradient(a: np.ndarray, a_lo: np.ndarray | None, r_hi: np.ndarray, r_lo: np.ndarray) -> np.ndarray:
    """``(a + a_lo)ᵀ (r_hi + r_lo)``, ``(p,)``: an exact product per term and a sum in twice
    float64's precision (:func:`gradfit.floats.accurate_sum`), so accurate even where ``Aᵀr ≈ 0``."""
    out = np.empty(a.shape[1])
    for j in range(a.shape[1]):
        product, error = two_product(a[:, j], r_hi)
        error = error + a[:, j] * r_lo  # the small parts: float64 holds their sum well enough
        if a_lo is not None:
            error = error + a_lo[:, j] * r_hi
        out[j] = accurate_sum(np.concatenate([product, error]))
    return out


def refine(a: np.ndarray, a_lo: np.ndarray | None, y: np.ndarray, u: np.ndarray, solve, kappa: float,
           steps: int = 3):
    """Up to ``steps`` extra-precise refinement steps of ``u`` (``solve(g)`` returns ``(AᵀA)⁻¹g``
    from the float64 factor, ``kappa`` its columns' condition number). Returns ``(u, residuals,
    change)``: the refined solution, its residuals (rounded once) and the last step's correction
    relative to ``u``, per component (``(p,)``: what the step before the last left, at most).

    A step shrinks the error by about ``κ·eps``, so once a correction times ``κ·eps`` is below
    float64's rounding the next one could not change ``u``: the steps stop there."""
    eps = np.finfo(np.float64).eps
    change = np.full(len(u), np.inf)
    for _ in range(steps):
        r_hi, r_lo = residuals(a, a_lo, y, u)
        delta = solve(gradient(a, a_lo, r_hi, r_lo))
        u = u + delta
        previous, change = change, np.abs(delta) / np.maximum(np.abs(u), np.finfo(np.float64).tiny)
        if change.max() * kappa * eps <= eps or change.max() > 0.5 * previous.max():
            break  # the next step could not change u, or no longer shrinking
    r_hi, r_lo = residuals(a, a_lo, y, u)
    return u, r_hi + r_lo, change
