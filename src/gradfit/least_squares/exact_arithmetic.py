"""Exact arithmetic on float64 data: every float64 is an integer times a power of two.

So sums of products of float64 values are exact as Python integers (times one power of two),
and a result is rounded to float64 once, correctly. :class:`ExactNormalEquations` holds
``AᵀA``, ``Aᵀy`` and ``yᵀy`` this way for the refinement of the closed form
(:func:`gradfit.least_squares.dense.lstsq`); :func:`exact_residuals` gives ``y - A θ`` with
each entry correctly rounded.

A value here is a pair ``(ints, exp)``: ``ints`` a Python int or an object array of them, and
the value ``ints · 2**exp``.
"""

from __future__ import annotations

import numpy as np


class ExactNormalEquations:
    """``G = AᵀA``, ``Aᵀy`` and ``yᵀy`` held exactly, as Python integers times powers of two.

    ``Aᵀy - G u`` comes out exact and is rounded once, correctly, to float64, with none of the
    cancellation that makes float64 normal equations lose ``κ²`` digits. Building ``G`` costs
    ``n·p²/2`` big-integer products (1 ms for Filip, ~1 s at 100 000 × 11).

    Parameters
    ----------
    a_hi : numpy.ndarray
        ``(n, p)`` float64 design.
    a_lo : numpy.ndarray or None
        ``(n, p)`` rounding error of each entry: the exact design is ``a_hi + a_lo``.
    y : numpy.ndarray
        ``(n,)`` targets.

    Examples
    --------
    >>> a = np.array([[1.0, 1e16], [1.0, 1.0]])
    >>> exact = ExactNormalEquations(a, None, np.array([1e16, 1.0]))
    >>> exact.residuals(np.array([1.0, 1.0])).tolist(), exact.rss(np.array([1.0, 1.0]))
    ([-1.0, -1.0], 2.0)
    """

    def __init__(self, a_hi: np.ndarray, a_lo: np.ndarray | None, y: np.ndarray) -> None:
        a, a_exp = to_ints(a_hi)  # (n, p)
        if a_lo is not None:
            a, a_exp = add_ints(a, a_exp, *to_ints(a_lo))
        y_ints, y_exp = to_ints(y)  # (n,)
        p = a.shape[1]
        gram = np.empty((p, p), dtype=object)
        for j in range(p):  # upper triangle only: G is symmetric
            for k in range(j, p):
                gram[j, k] = gram[k, j] = a[:, j].dot(a[:, k])
        self.a, self.a_exp = a, a_exp
        self.y, self.y_exp = y_ints, y_exp
        self.gram, self.gram_exp = gram, 2 * a_exp
        self.aty, self.aty_exp = a.T.dot(y_ints), a_exp + y_exp  # (p,)
        self.yty, self.yty_exp = y_ints.dot(y_ints), 2 * y_exp

    def defect(self, z_hi: np.ndarray, z_lo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``[Aᵀy, I] - G (z_hi + z_lo)`` for ``z`` of shape ``(p, p + 1)``, as ``hi + lo``.

        Exact before rounding; ``hi + lo`` holds it to ~eps² relative.
        """
        z_ints, z_exp = add_ints(*to_ints(z_hi), *to_ints(z_lo))
        gz = self.gram.dot(z_ints)  # (p, p + 1)
        theta_ints, theta_exp = add_ints(self.aty[:, None], self.aty_exp, -gz[:, :1], self.gram_exp + z_exp)
        identity = np.eye(len(z_hi), dtype=np.int64).astype(object)
        cov_ints, cov_exp = add_ints(identity, 0, -gz[:, 1:], self.gram_exp + z_exp)
        exp = min(theta_exp, cov_exp)  # one exponent for both parts
        ints = np.column_stack([theta_ints << (theta_exp - exp), cov_ints << (cov_exp - exp)])
        hi = to_floats(ints, exp)
        lo = to_floats(*add_ints(ints, exp, *negate(*to_ints(hi))))
        return hi, lo

    def residuals(self, u: np.ndarray) -> np.ndarray:
        """``y - A u``, each entry correctly rounded. ``(n,)``."""
        u_ints, u_exp = to_ints(u)
        return to_floats(*add_ints(self.y, self.y_exp, -self.a.dot(u_ints), self.a_exp + u_exp))

    def rss(self, u: np.ndarray) -> float:
        """``‖y - A u‖² = yᵀy - 2uᵀAᵀy + uᵀGu``: exact, then rounded once."""
        u_ints, u_exp = to_ints(u)
        total = add_ints(self.yty, self.yty_exp, -2 * u_ints.dot(self.aty), u_exp + self.aty_exp)
        return to_float(*add_ints(*total, u_ints.dot(self.gram.dot(u_ints)), 2 * u_exp + self.gram_exp))


def exact_residuals(design: np.ndarray, design_lo: np.ndarray | None, y: np.ndarray,
                    theta: np.ndarray) -> np.ndarray:
    """``y - (design + design_lo) θ`` computed exactly, each entry rounded once: ``(n,)``.

    ``design`` ``(n, p)``, ``design_lo`` ``(n, p)`` or ``None``, ``y`` ``(n,)``, ``theta`` ``(p,)``,
    all float64. Costs ``n·p`` big-integer products.
    """
    a, a_exp = to_ints(design)
    if design_lo is not None:
        a, a_exp = add_ints(a, a_exp, *to_ints(design_lo))
    theta_ints, theta_exp = to_ints(theta)
    return to_floats(*add_ints(*to_ints(y), -a.dot(theta_ints), a_exp + theta_exp))


def to_ints(a: np.ndarray) -> tuple[np.ndarray, int]:
    """``(ints, e)`` with ``a == ints * 2**e`` exactly; ``ints`` an object array of Python ints.

    >>> ints, e = to_ints(np.array([0.75, 2.0]))  # 0.75 = 3·2**-2, 2 = 2**1: one exponent for both
    >>> ints.tolist() == [3 << 51, 1 << 54], e
    (True, -53)
    """
    mantissa, exponent = np.frexp(a)  # a = mantissa * 2**exponent, 0.5 <= |mantissa| < 1
    mantissa = (mantissa * 2.0**53).astype(np.int64)  # exact: 53 significant bits
    exponent = exponent.astype(np.int64) - 53
    nonzero = mantissa != 0
    if not nonzero.any():
        return np.zeros(a.shape, dtype=object), 0
    base = int(exponent[nonzero].min())
    shifts = np.where(nonzero, exponent - base, 0)
    return mantissa.astype(object) << shifts.astype(object), base


def add_ints(a, a_exp: int, b, b_exp: int) -> tuple:
    """Exact ``a·2**a_exp + b·2**b_exp`` as ``(ints, exp)``, for Python ints or object arrays."""
    exp = min(a_exp, b_exp)
    return (a << (a_exp - exp)) + (b << (b_exp - exp)), exp


def negate(ints: np.ndarray, exp: int) -> tuple[np.ndarray, int]:
    """``-(ints · 2**exp)`` as ``(ints, exp)``."""
    return -ints, exp


def to_floats(ints: np.ndarray, exp: int) -> np.ndarray:
    """Round each ``ints · 2**exp`` to the nearest float64."""
    return np.frompyfunc(lambda v: to_float(v, exp), 1, 1)(ints).astype(np.float64)


def to_float(value: int, exp: int) -> float:
    """``value · 2**exp`` correctly rounded (Python's int true division rounds correctly)."""
    return float(value << exp) if exp >= 0 else value / (1 << -exp)
