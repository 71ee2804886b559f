"""Accurate linear least squares: the exact answer every gradient-descent fit is checked against.

Two stages. Householder QR in float64 on columns scaled to (about) unit length answers well
conditioned problems, such as the book data, in a fraction of a millisecond. When its error
estimate says float64 cannot reach full accuracy (on the NIST StRD sets: Longley, Wampler1–5 and
Filip, whose κ on unit-length columns is 5e9), the answer is refined against the normal equations
``AᵀA θ = Aᵀy`` held *exactly*: every float64 is an integer times a power of two, so ``AᵀA`` and
``Aᵀy`` are exact as Python integers (:mod:`gradfit.least_squares.exact_arithmetic`), and so is
the defect ``Aᵀy - AᵀA θ`` of each iterate. The float64 factor ``R`` turns each defect into a
correction that shrinks the error by about ``κ·eps``; the same iteration gives ``(AᵀA)⁻¹``
(behind the standard errors), which float64 QR gets only to about ``κ·eps``. The refined answers
are the exact least-squares answers of the float64 data, correctly rounded up to a unit or two in
the last place.

The first stage in detail: the columns are scaled by powers of two to about unit length (QR never
forms ``AᵀA``, so it loses half as many digits as the normal equations; the scaling keeps ``x``
and ``x**10`` from swamping each other, and being a power of two it is exact), and the QR answer
is refined with residuals in twice float64's precision (:mod:`gradfit.least_squares.extra_precise`),
which brings every coefficient to float64's accuracy whenever ``κ·eps`` is small, whatever the
residuals. The error estimate is that of the refined coefficients (measured: the last correction
times ``κ·eps``) and of the standard errors (a first-order bound, about ``eps·√p·κ``); above
``limits.REFINE_ABOVE`` (1e-13) the exact refinement runs: about 1–10 ms for the NIST sets, where
building ``AᵀA`` exactly costs ``n·p²/2`` big-integer products (~1 s at 100 000 × 11).

Computed columns (powers ``x**k``) carry a rounding error that the exact arithmetic would otherwise
take as data. It matters: rounding Filip's ``x**k`` to float64 moves the least-squares answer in the
eighth digit (LRE 7.6 against NIST's certified values, even when solved exactly), while rounding the
decimal ``x`` itself to float64 costs nothing measurable (LRE 14.3; all 15 with decimal ``y``). So
``lstsq`` accepts the rounding error of each entry (``design_lo``: the design is
``design + design_lo``), and :func:`gradfit.data.design.polynomial_design` builds polynomial
columns with it.
"""

from __future__ import annotations

import math

import numpy as np

from .. import limits
from ..errors import BadDataError
from ..floats import two_sum
from .checks import check_rank
from . import extra_precise
from .closed_form import LeastSquares
from .exact_arithmetic import ExactNormalEquations, exact_residuals

__all__ = ["LeastSquares", "lstsq", "residuals"]


def lstsq(design: np.ndarray, y: np.ndarray, names: list[str] | None = None, *,
          design_lo: np.ndarray | None = None, refine: bool | None = None) -> LeastSquares:
    """Solve least squares to (nearly) full float64 accuracy.

    Householder QR on columns scaled to about unit length, refined in exact arithmetic when its
    error estimate exceeds ``limits.REFINE_ABOVE`` (see the module docstring).

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
        Pass it for computed columns such as powers (see
        :func:`gradfit.data.design.polynomial_design`); without it the float64 entries are exact.
    refine : bool, optional
        Force (True) or forbid (False) the exact refinement; by default it runs when needed.

    Returns
    -------
    LeastSquares
        θ, residuals, RSS, standard errors, ``(AᵀA)⁻¹``, κ and the error estimate.

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
    >>> fit.theta.round(12), fit.refined, fit.needs_refinement
    (array([1., 2.]), False, False)
    """
    design, y, design_lo, names = _checked(design, y, design_lo, names)
    scale, norms = _column_scales(design, names)  # (p,) each
    scaled = design / scale  # (n, p), columns of length in [0.7, 1.5]
    q, r = np.linalg.qr(scaled)  # q (n, p), r (p, p)
    check_rank(r, names)
    condition_number = _condition_number(r, scale / norms)
    scaled_lo = None if design_lo is None else design_lo / scale
    u, resid, cov_scaled, error = _float64_solution(q, r, scaled, scaled_lo, y, condition_number)
    if refine is None:
        refine = error > limits.REFINE_ABOVE
    if refine:
        exact = ExactNormalEquations(scaled, scaled_lo, y)
        u, cov_scaled = _refine(exact, r, u, cov_scaled)
        resid = exact.residuals(u)
        rss = exact.rss(u)
    else:
        rss = math.fsum(resid * resid)
    return _solution(u, resid, rss, cov_scaled, scale, condition_number, error, bool(refine))


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
    if design_lo is not None:
        design_lo = np.asarray(design_lo, dtype=np.float64)
    return exact_residuals(design, design_lo, y, theta)


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


def _column_scales(design: np.ndarray, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """``(scale, norms)``, each ``(p,)``: the power of two nearest each column's length, and the length.

    Powers of two, so that ``scaled * scale == design`` exactly and the exact normal equations of
    the refinement are those of the very matrix that was factorised.
    """
    peak = np.max(np.abs(design), axis=0)  # (p,)
    zero = np.flatnonzero(peak == 0)
    if zero.size:
        raise BadDataError(f"column {names[zero[0]]!r} is all zeros: it cannot be fitted; drop it")
    unit_peak = design / peak  # dividing first keeps the squares from over- or underflowing
    norms = peak * np.sqrt(np.einsum("ij,ij->j", unit_peak, unit_peak))  # (p,)
    return np.exp2(np.round(np.log2(norms))), norms


def _float64_solution(q: np.ndarray, r: np.ndarray, scaled: np.ndarray, scaled_lo: np.ndarray | None,
                      y: np.ndarray, kappa: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """``(u, residuals, (scaledᵀ scaled)⁻¹, estimated error)`` from ``scaled = q r``.

    QR's answer refined with residuals in twice float64's precision
    (:mod:`gradfit.least_squares.extra_precise`): ``u`` is then accurate to about ``κ·eps``
    times the last correction, which is measured. The standard errors from ``R`` (``(RᵀR)⁻¹``'s
    diagonal) move, to first order, by at most ``c·eps·‖C e_i‖₁ / √C_ii`` relative (``C =
    (AᵀA)⁻¹``, ``R`` the exact factor of columns moved by ``c·eps`` each, Householder QR being
    columnwise backward stable; ``c = 3`` covers columns of length up to 1.5 with a factor two to
    spare): about ``eps·√p·κ``, where a norm-wise bound says ``eps·κ²``.
    """
    r_inv = _solve_r(r, np.eye(len(r)))  # (p, p)
    cov = r_inv @ r_inv.T
    u = _solve_r(r, q.T @ y)  # (p,) solution in scaled units
    u, resid, change = extra_precise.refine(scaled, scaled_lo, y, u, lambda g: cov @ g, kappa)
    floor = limits.REFINE_COMPONENT_FLOOR * np.max(np.abs(u))
    change = change * np.abs(u) / np.maximum(np.abs(u), floor)  # a coefficient far below the rest: at the floor
    theta_error = max(limits.EPS, float(change.max()) * kappa * limits.EPS)
    std_err_error = 3.0 * limits.EPS * float(np.max(np.abs(cov).sum(axis=1) / np.sqrt(np.diag(cov))))
    return u, resid, cov, max(theta_error, std_err_error)


def _solution(u: np.ndarray, resid: np.ndarray, rss: float, cov_scaled: np.ndarray, scale: np.ndarray,
              condition_number: float, error: float, refined: bool) -> LeastSquares:
    """The :class:`LeastSquares` of the solution ``u`` in scaled units (``θ = u / scale``)."""
    n, p = len(resid), len(u)
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
        refined=refined,
        estimated_error=float(error),
        # lstsq refines whatever needs it, unless refine=False forbade it
        needs_refinement=bool(error > limits.REFINE_ABOVE and not refined),
    )


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


def _refine(exact: ExactNormalEquations, r: np.ndarray, u: np.ndarray,
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
    for _ in range(limits.MAX_REFINE_STEPS):
        defect_hi, defect_lo = exact.defect(z_hi, z_lo)  # (p, p + 1) each
        dz = _solve_r(r, _solve_r(r, defect_hi, transpose=True))
        dz = dz + _solve_r(r, _solve_r(r, defect_lo, transpose=True))  # (p, p + 1)
        z_hi, z_lo = two_sum(z_hi, z_lo + dz)
        change = float(np.max(np.abs(dz)) / np.max(np.abs(z_hi)))
        if change <= limits.EPS * limits.EPS or change > 0.5 * previous:  # done, or stalled at the rounding
            break
        previous = change
    cov = 0.5 * (z_hi[:, 1:] + z_hi[:, 1:].T)  # symmetric in exact arithmetic
    return z_hi[:, 0], cov
