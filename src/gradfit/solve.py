"""Accurate linear least squares: the exact answer every gradient-descent fit is checked against."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import BadDataError


@dataclass(frozen=True)
class LeastSquares:
    """The least-squares solution of ``A θ ≈ y``.

    Attributes
    ----------
    theta : numpy.ndarray
        Shape ``(p,)``, the minimiser of ``‖y - A θ‖²``.
    residuals : numpy.ndarray
        Shape ``(n,)``, ``y - A θ``.
    rss : float
        Residual sum of squares.
    condition_number : float
        Condition number of ``A`` after scaling each column to unit length, so that it measures
        real near-collinearity rather than the units of the columns.
    """

    theta: np.ndarray
    residuals: np.ndarray
    rss: float
    condition_number: float


def lstsq(design: np.ndarray, y: np.ndarray, names: list[str] | None = None) -> LeastSquares:
    """Solve least squares by Householder QR on unit-length columns, in float64.

    QR never forms ``AᵀA``, so it loses half as many digits as the normal equations; scaling the
    columns first keeps columns of very different magnitude (``x`` and ``x**10``) from swamping
    each other. One step of iterative refinement then removes most of the triangular-solve error.

    Parameters
    ----------
    design : numpy.ndarray
        ``(n, p)`` design matrix (a column of ones included when there is an intercept).
    y : numpy.ndarray
        ``(n,)`` targets.
    names : list of str, optional
        Column names, used to say which columns are collinear.

    Raises
    ------
    BadDataError
        When the columns are linearly dependent (the message names them).

    Examples
    --------
    >>> import numpy as np
    >>> A = np.column_stack([np.ones(4), [0.0, 1.0, 2.0, 3.0]])
    >>> lstsq(A, np.array([1.0, 3.0, 5.0, 7.0])).theta.round(12)
    array([1., 2.])
    """
    design = np.asarray(design, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n, p = design.shape
    names = names or [f"column {j}" for j in range(p)]
    scale = np.sqrt(np.einsum("ij,ij->j", design, design))  # (p,) column norms
    zero = np.flatnonzero(scale == 0)
    if zero.size:
        raise BadDataError(f"column {names[zero[0]]!r} is all zeros: it cannot be fitted; drop it")
    scaled = design / scale
    q, r = np.linalg.qr(scaled)  # q (n, p), r (p, p)
    _check_rank(r, names)
    theta_scaled = np.linalg.solve(r, q.T @ y)
    residuals = y - scaled @ theta_scaled
    theta_scaled = theta_scaled + np.linalg.solve(r, q.T @ residuals)  # refinement step
    residuals = y - scaled @ theta_scaled
    singular = np.linalg.svd(r, compute_uv=False)
    return LeastSquares(
        theta=theta_scaled / scale,
        residuals=residuals,
        rss=float(residuals @ residuals),
        condition_number=float(singular[0] / singular[-1]),
    )


def _check_rank(r: np.ndarray, names: list[str]) -> None:
    """Raise naming the first column that is (numerically) a combination of earlier ones."""
    diag = np.abs(np.diag(r))
    tol = r.shape[0] * np.finfo(np.float64).eps * 16  # columns have unit norm, so |R_jj| <= 1
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
