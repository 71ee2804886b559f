"""Accurate linear least squares: the exact answer every gradient-descent fit is checked against.

Two stages. Householder QR in float64 on columns scaled to (about) unit length answers well
conditioned problems, such as the book data, in a fraction of a millisecond. When its error
estimate says float64 cannot reach full accuracy (on the NIST StRD sets: Longley, Wampler1–5 and
Filip, whose κ on unit-length columns is 5e9), the answer is refined against the normal equations
``AᵀA θ = Aᵀy`` held *exactly*: every float64 is an integer times a power of two, so ``AᵀA`` and
``Aᵀy`` are exact as Python integers, and so is the defect ``Aᵀy - AᵀA θ`` of each iterate. The
float64 factor ``R`` turns each defect into a correction that shrinks the error by about ``κ·eps``;
the same iteration gives ``(AᵀA)⁻¹`` (behind the standard errors), which float64 QR gets only to
about ``κ·eps``. The refined answers are the exact least-squares answers of the float64 data,
correctly rounded up to a unit or two in the last place.

Computed columns (powers ``x**k``) carry a rounding error that the exact arithmetic would otherwise
take as data. It matters: rounding Filip's ``x**k`` to float64 moves the least-squares answer in the
eighth digit (LRE 7.6 against NIST's certified values, even when solved exactly), while rounding the
decimal ``x`` itself to float64 costs nothing measurable (LRE 14.3; all 15 with decimal ``y``). So
``lstsq`` accepts the rounding error of each entry (``design_lo``: the design is
``design + design_lo``), and :func:`polynomial_design` builds polynomial columns with it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import BadDataError
from ..floats import two_sum

_EPS = np.finfo(np.float64).eps
_REFINE_ABOVE = 1e-13  # refine when float64's estimated relative error exceeds this
_MAX_STEPS = 12


@dataclass(frozen=True)
class LeastSquares:
    """The least-squares solution of ``A θ ≈ y``.

    Attributes
    ----------
    theta : numpy.ndarray
        Shape ``(p,)``, the minimiser of ``‖y - A θ‖²``.
    residuals : numpy.ndarray
        Shape ``(n,)``, ``y - A θ`` (each correctly rounded when ``refined``).
    rss : float
        Residual sum of squares.
    condition_number : float
        Condition number of ``A`` after scaling each column to unit length, so that it measures
        real near-collinearity rather than the units of the columns.
    std_err : numpy.ndarray
        Shape ``(p,)``, ``sqrt(diag(σ̂² (AᵀA)⁻¹))`` with ``σ̂² = rss / (n - p)``; NaN when ``n == p``.
    std_err_factor : numpy.ndarray
        Shape ``(p,)``, ``sqrt(diag((AᵀA)⁻¹))``: the standard errors per unit of ``σ̂``.
    cov_unscaled : numpy.ndarray
        Shape ``(p, p)``, ``(AᵀA)⁻¹``: times ``σ̂²`` it is the covariance of ``theta``. (Entries
        over- or underflow for columns of magnitude beyond ~1e±150; ``std_err`` does not.)
    refined : bool
        Whether the float64 answer was refined in exact arithmetic (see the module docstring).
    """

    theta: np.ndarray
    residuals: np.ndarray
    rss: float
    condition_number: float
    std_err: np.ndarray
    std_err_factor: np.ndarray
    cov_unscaled: np.ndarray
    refined: bool


def lstsq(design: np.ndarray, y: np.ndarray, names: list[str] | None = None, *,
          design_lo: np.ndarray | None = None, refine: bool | None = None) -> LeastSquares:
    """Solve least squares to (nearly) full float64 accuracy.

    Householder QR on columns scaled by powers of two to about unit length (QR never forms
    ``AᵀA``, so it loses half as many digits as the normal equations; the scaling keeps ``x`` and
    ``x**10`` from swamping each other, and being a power of two it is exact). When the error
    estimate ``eps·(κ + κ²·(1 + ‖r‖/‖θ‖))`` (scaled units) exceeds 1e-13, the solution and
    ``(AᵀA)⁻¹`` are refined in exact arithmetic (see the module docstring): about 1–10 ms for the
    NIST sets; building ``AᵀA`` exactly costs ``n·p²/2`` big-integer products (~1 s at
    100 000 × 11).

    Parameters
    ----------
    design : numpy.ndarray
        ``(n, p)`` design matrix (a column of ones included when there is an intercept).
    y : numpy.ndarray
        ``(n,)`` targets.
    names : list of str, optional
        Column names, used to say which columns are collinear.
    design_lo : numpy.ndarray, optional
        ``(n, p)`` rounding error of each entry: the exact design is ``design + design_lo``.
        Pass it for computed columns such as powers (see :func:`polynomial_design`); without it
        the float64 entries are taken as exact.
    refine : bool, optional
        Force (True) or forbid (False) the exact refinement; by default it runs when needed.

    Raises
    ------
    BadDataError
        When there are fewer rows than columns, or the columns are linearly dependent (the
        message names them).

    Examples
    --------
    >>> import numpy as np
    >>> A = np.column_stack([np.ones(4), [0.0, 1.0, 2.0, 3.0]])
    >>> fit = lstsq(A, np.array([1.0, 3.0, 5.0, 7.0]))
    >>> fit.theta.round(12), fit.refined
    (array([1., 2.]), False)
    """
    design, y, design_lo, names = _checked(design, y, design_lo, names)
    n, p = design.shape
    peak = np.max(np.abs(design), axis=0)  # (p,)
    zero = np.flatnonzero(peak == 0)
    if zero.size:
        raise BadDataError(f"column {names[zero[0]]!r} is all zeros: it cannot be fitted; drop it")
    unit_peak = design / peak  # dividing first keeps the squares from over- or underflowing
    norms = peak * np.sqrt(np.einsum("ij,ij->j", unit_peak, unit_peak))  # (p,)
    # Powers of two, so that scaled * scale == design exactly and the exact normal equations of
    # the refinement are those of the very matrix that was factorised.
    scale = np.exp2(np.round(np.log2(norms)))  # (p,)
    scaled = design / scale  # (n, p), columns of length in [0.7, 1.5]
    q, r = np.linalg.qr(scaled)  # q (n, p), r (p, p)
    _check_rank(r, names)
    condition_number = _condition_number(r, scale / norms)

    u = _solve_r(r, q.T @ y)  # (p,) solution in scaled units, θ = u / scale
    resid = y - scaled @ u
    u = u + _solve_r(r, q.T @ resid)  # one float64 refinement step
    resid = y - scaled @ u
    r_inv = _solve_r(r, np.eye(p))  # (p, p)
    cov_scaled = r_inv @ r_inv.T  # (p, p), (scaledᵀ scaled)⁻¹

    if refine is None:
        refine = _estimated_error(condition_number, resid, u) > _REFINE_ABOVE
    if refine:
        exact = _ExactNormalEquations(scaled, None if design_lo is None else design_lo / scale, y)
        u, cov_scaled = _refine(exact, r, u, cov_scaled)
        resid = exact.residuals(u)
        rss = exact.rss(u)
    else:
        rss = math.fsum(resid * resid)
    sigma = math.sqrt(rss / (n - p)) if n > p else math.nan
    std_err_factor = np.sqrt(np.diag(cov_scaled)) / scale  # (p,), scaled first: no over/underflow
    with np.errstate(over="ignore", under="ignore"):  # only for columns beyond ~1e±150
        cov_unscaled = cov_scaled / scale[:, None] / scale[None, :]
    return LeastSquares(
        theta=u / scale,
        residuals=resid,
        rss=rss,
        condition_number=condition_number,
        std_err=sigma * std_err_factor,
        std_err_factor=std_err_factor,
        cov_unscaled=cov_unscaled,
        refined=bool(refine),
    )


def residuals(design: np.ndarray, y: np.ndarray, theta: np.ndarray, design_lo: np.ndarray | None = None, *,
              exact: bool = False) -> np.ndarray:
    """``y - (design + design_lo) θ``, in float64 or exactly (then rounded once per entry).

    The exact form matters when the residuals are tiny next to ``A θ`` (Filip: residuals 1e-3
    beside terms of 1e5, so float64 keeps only 8 digits of them). Costs ``n·p`` big-integer
    products.

    Parameters
    ----------
    design : numpy.ndarray
        ``(n, p)``.
    y : numpy.ndarray
        ``(n,)``.
    theta : numpy.ndarray
        ``(p,)``.
    design_lo : numpy.ndarray, optional
        ``(n, p)`` rounding errors of the design (see :func:`lstsq`); used only when ``exact``.
    exact : bool
        Compute in exact integer arithmetic.

    Examples
    --------
    >>> A = np.array([[1.0, 1e16], [1.0, 1.0]])
    >>> residuals(A, np.array([1e16, 1.0]), np.array([1.0, 1.0]), exact=True).tolist()
    [-1.0, -1.0]
    """
    design = np.asarray(design, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    theta = np.asarray(theta, dtype=np.float64)
    if not exact:
        return y - design @ theta
    a, a_exp = _to_ints(design)
    if design_lo is not None:
        a, a_exp = _add_ints(a, a_exp, *_to_ints(np.asarray(design_lo, dtype=np.float64)))
    theta_ints, theta_exp = _to_ints(theta)
    return _to_floats(*_add_ints(*_to_ints(y), -a.dot(theta_ints), a_exp + theta_exp))


def _checked(design, y, design_lo, names):
    """Arrays as float64 with matching shapes, or a BadDataError saying what is wrong."""
    design = np.asarray(design, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if design.ndim != 2:
        raise BadDataError(f"design matrix must be 2-D (rows × columns), got shape {design.shape}")
    n, p = design.shape
    if y.shape != (n,):
        raise BadDataError(f"y must have shape ({n},) to match the design matrix, got {y.shape}")
    if n < p:
        raise BadDataError(f"{n} rows cannot determine {p} parameters; supply at least {p} rows")
    if not (np.isfinite(design).all() and np.isfinite(y).all()):
        raise BadDataError("the design matrix or y contains NaN or infinity; drop or fill those rows")
    if names is not None and len(names) != p:
        raise BadDataError(f"got {len(names)} column names for {p} columns; give one name per column")
    if design_lo is not None:
        design_lo = np.asarray(design_lo, dtype=np.float64)
        if design_lo.shape != design.shape:
            raise BadDataError(f"design_lo must have the design's shape {design.shape}, got {design_lo.shape}")
        if not np.isfinite(design_lo).all():
            raise BadDataError("design_lo contains NaN or infinity; it must hold finite rounding errors")
        if not design_lo.any():
            design_lo = None
    return design, y, design_lo, list(names) if names else [f"column {j}" for j in range(p)]


def _solve_r(r: np.ndarray, rhs: np.ndarray, transpose: bool = False) -> np.ndarray:
    """``R⁻¹ rhs`` (or ``R⁻ᵀ rhs``) by LAPACK's LU solve (backward stable).

    NumPy has no triangular solver; for upper-triangular ``R`` the LU is ``R`` itself, and this
    keeps SciPy (a second of import time) off the solver's path.
    """
    return np.linalg.solve(r.T if transpose else r, rhs)


def _condition_number(r: np.ndarray, to_unit: np.ndarray) -> float:
    """κ of the unit-length-column matrix, whose R factor is ``r`` with columns times ``to_unit``."""
    singular = np.linalg.svd(r * to_unit, compute_uv=False)
    return float(singular[0] / singular[-1])


def _estimated_error(kappa: float, residuals: np.ndarray, u: np.ndarray) -> float:
    """A (generous) estimate of float64 QR's relative error in θ and in ``(AᵀA)⁻¹``.

    The perturbation bound for least squares is ``eps·(κ + κ²·‖r‖/(‖A‖‖θ‖))`` (``‖A‖ ≈ 1`` on
    scaled columns); the covariance factor is bounded by ``κ²·eps``.
    """
    ratio = float(np.linalg.norm(residuals) / max(np.linalg.norm(u), np.finfo(np.float64).tiny))
    return _EPS * (kappa + kappa * kappa * (1.0 + ratio))


def _refine(exact: _ExactNormalEquations, r: np.ndarray, u: np.ndarray,
            cov_scaled: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Refine ``u`` and ``(AᵀA)⁻¹`` against the exact normal equations, preconditioned by ``R``.

    Iterates ``Z ← Z + R⁻¹R⁻ᵀ(C - G Z)`` with ``C - G Z`` exact, for ``Z = [u, (AᵀA)⁻¹]`` and
    ``C = [Aᵀy, I]``. ``A R⁻¹`` is orthogonal up to ``κ·eps``, so each step shrinks the error by
    about ``κ·eps``, however large the residuals. Two float64 parts are kept where one would do in
    exact arithmetic: ``I - R⁻¹R⁻ᵀG`` is far from normal, and a once-rounded ``Z`` or defect comes
    back multiplied by up to ``κ²·eps`` (Filip stalls at 13 digits). Stops when the corrections
    stop shrinking or fall below ``eps²·‖Z‖``.
    """
    z_hi = np.column_stack([u, cov_scaled])  # (p, p + 1)
    z_lo = np.zeros_like(z_hi)  # the solution is z_hi + z_lo
    previous = math.inf
    for _ in range(_MAX_STEPS):
        defect_hi, defect_lo = exact.defect(z_hi, z_lo)  # (p, p + 1) each
        dz = _solve_r(r, _solve_r(r, defect_hi, transpose=True))
        dz = dz + _solve_r(r, _solve_r(r, defect_lo, transpose=True))  # (p, p + 1)
        z_hi, z_lo = two_sum(z_hi, z_lo + dz)
        change = float(np.max(np.abs(dz)) / np.max(np.abs(z_hi)))
        if change <= _EPS * _EPS or change > 0.5 * previous:  # done, or stalled at the rounding
            break
        previous = change
    cov = 0.5 * (z_hi[:, 1:] + z_hi[:, 1:].T)  # symmetric in exact arithmetic
    return z_hi[:, 0], cov


class _ExactNormalEquations:
    """``G = AᵀA``, ``Aᵀy`` and ``yᵀy`` held exactly, as Python integers times powers of two.

    Every float64 is an integer times a power of two, so sums of products of them are exact
    integers: ``Aᵀy - G u`` comes out exact and is rounded once, correctly, to float64, with none
    of the cancellation that makes float64 normal equations lose ``κ²`` digits.
    Building ``G`` costs ``n·p²/2`` big-integer products (1 ms for Filip, ~1 s at 100 000 × 11).
    """

    def __init__(self, a_hi: np.ndarray, a_lo: np.ndarray | None, y: np.ndarray) -> None:
        a, a_exp = _to_ints(a_hi)  # (n, p)
        if a_lo is not None:
            a, a_exp = _add_ints(a, a_exp, *_to_ints(a_lo))
        y_ints, y_exp = _to_ints(y)  # (n,)
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
        z_ints, z_exp = _add_ints(*_to_ints(z_hi), *_to_ints(z_lo))
        gz = self.gram.dot(z_ints)  # (p, p + 1)
        theta_ints, theta_exp = _add_ints(self.aty[:, None], self.aty_exp, -gz[:, :1], self.gram_exp + z_exp)
        identity = np.eye(len(z_hi), dtype=np.int64).astype(object)
        cov_ints, cov_exp = _add_ints(identity, 0, -gz[:, 1:], self.gram_exp + z_exp)
        exp = min(theta_exp, cov_exp)  # one exponent for both parts
        ints = np.column_stack([theta_ints << (theta_exp - exp), cov_ints << (cov_exp - exp)])
        hi = _to_floats(ints, exp)
        lo = _to_floats(*_add_ints(ints, exp, *_negate(*_to_ints(hi))))
        return hi, lo

    def residuals(self, u: np.ndarray) -> np.ndarray:
        """``y - A u``, each entry correctly rounded. ``(n,)``."""
        u_ints, u_exp = _to_ints(u)
        return _to_floats(*_add_ints(self.y, self.y_exp, -self.a.dot(u_ints), self.a_exp + u_exp))

    def rss(self, u: np.ndarray) -> float:
        """``‖y - A u‖² = yᵀy - 2uᵀAᵀy + uᵀGu``: exact, then rounded once."""
        u_ints, u_exp = _to_ints(u)
        total = _add_ints(self.yty, self.yty_exp, -2 * u_ints.dot(self.aty), u_exp + self.aty_exp)
        return _to_float(*_add_ints(*total, u_ints.dot(self.gram.dot(u_ints)), 2 * u_exp + self.gram_exp))


def _to_ints(a: np.ndarray) -> tuple[np.ndarray, int]:
    """``(ints, e)`` with ``a == ints * 2**e`` exactly; ``ints`` an object array of Python ints."""
    mantissa, exponent = np.frexp(a)  # a = mantissa * 2**exponent, 0.5 <= |mantissa| < 1
    mantissa = (mantissa * 2.0**53).astype(np.int64)  # exact: 53 significant bits
    exponent = exponent.astype(np.int64) - 53
    nonzero = mantissa != 0
    if not nonzero.any():
        return np.zeros(a.shape, dtype=object), 0
    base = int(exponent[nonzero].min())
    shifts = np.where(nonzero, exponent - base, 0)
    return mantissa.astype(object) << shifts.astype(object), base


def _add_ints(a, a_exp: int, b, b_exp: int) -> tuple:
    """Exact ``a·2**a_exp + b·2**b_exp`` as ``(ints, exp)``, for Python ints or object arrays."""
    exp = min(a_exp, b_exp)
    return (a << (a_exp - exp)) + (b << (b_exp - exp)), exp


def _negate(ints: np.ndarray, exp: int) -> tuple[np.ndarray, int]:
    return -ints, exp


def _to_floats(ints: np.ndarray, exp: int) -> np.ndarray:
    """Round each ``ints · 2**exp`` to the nearest float64."""
    return np.frompyfunc(lambda v: _to_float(v, exp), 1, 1)(ints).astype(np.float64)


def _to_float(value: int, exp: int) -> float:
    """``value · 2**exp`` correctly rounded (Python's int true division rounds correctly)."""
    return float(value << exp) if exp >= 0 else value / (1 << -exp)


def _check_rank(r: np.ndarray, names: list[str], tol: float | None = None) -> None:
    """Raise naming the first column that is (numerically) a combination of earlier ones.

    ``r`` is R of the design with (about) unit-length columns; ``tol`` defaults to ``16·p·eps``.
    """
    diag = np.abs(np.diag(r))
    if tol is None:
        tol = r.shape[0] * _EPS * 16  # columns have about unit norm, so |R_jj| <~ 1.5
    dependent = np.flatnonzero(diag <= tol)
    if not dependent.size:
        return
    j = int(dependent[0])
    if j == 0:
        raise BadDataError(f"column {names[0]!r} is numerically zero; drop it")
    # Column j ≈ Σ c_k column_k over k < j, with c from the leading triangle of R.
    weights = np.linalg.lstsq(r[:j, :j], r[:j, j], rcond=None)[0]
    partners = [names[k] for k in np.flatnonzero(np.abs(weights) > 1e-8)]
    raise BadDataError(
        f"column {names[j]!r} is a linear combination of {', '.join(repr(p) for p in partners)} "
        "(the columns are collinear, so the least-squares answer is not unique); drop one of them"
    )
