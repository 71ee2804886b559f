"""The closed form: the least-squares solution, whichever way it was computed.

One type for both paths: :func:`gradfit.least_squares.dense.lstsq` (rows in memory, QR refined
in exact arithmetic when needed) and
:meth:`gradfit.least_squares.sufficient.SufficientStats.closed_form` (sufficient statistics of
streamed rows, float64 TSQR only: no per-row residuals).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import limits


@dataclass(frozen=True)
class LeastSquares:
    """The least-squares solution of ``A θ ≈ y`` (``n`` rows, ``p`` columns).

    Attributes
    ----------
    theta : numpy.ndarray
        Shape ``(p,)``, the minimiser of ``‖y - A θ‖²``.
    residuals : numpy.ndarray or None
        Shape ``(n,)``, ``y - A θ`` (each correctly rounded when ``refined``); ``None`` when the
        solution comes from sufficient statistics, which keep no rows.
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
        Whether the float64 answer was refined in exact arithmetic (see
        :mod:`gradfit.least_squares.dense`); always ``False`` from sufficient statistics.
    estimated_error : float
        The largest relative error float64 QR may leave in a coefficient or in ``(AᵀA)⁻¹``
        before any refinement (:func:`estimated_error`).
    needs_refinement : bool
        ``estimated_error`` is above ``limits.REFINE_ABOVE`` and the answer was not refined: it
        may be short of full float64 accuracy. (``lstsq`` refines such problems itself, so only
        ``refine=False`` or sufficient statistics leave it ``True``.)
    """

    theta: np.ndarray
    residuals: np.ndarray | None
    rss: float
    condition_number: float
    std_err: np.ndarray
    std_err_factor: np.ndarray
    cov_unscaled: np.ndarray
    refined: bool
    estimated_error: float
    needs_refinement: bool


def estimated_error(r_inv: np.ndarray, u: np.ndarray, y_norm: float, residual_norm: float, kappa: float) -> float:
    """The largest relative error float64 QR may leave in a coefficient or in ``(AᵀA)⁻¹``.

    First-order perturbation theory for a backward-stable solver on (about) unit-length
    columns, per component (Higham, *Accuracy and Stability of Numerical Algorithms*, Thm 20.3)::

        |δu_i| ≲ eps·( ‖R⁻ᵀe_i‖·(‖y‖ + Σ_j |u_j|) + ‖R⁻¹R⁻ᵀe_i‖·√p·‖r‖ )

    with ``R`` the triangle of the unit-length columns and ``u`` the solution in their units. A
    coefficient small beside the others loses digits that a norm-wise estimate does not see
    (NIST's Pontius: its intercept). Coefficients below ``limits.REFINE_COMPONENT_FLOOR`` of the
    largest are judged at that floor. The covariance factor is bounded by ``eps·κ²``.

    >>> r_inv = np.eye(2); u = np.array([1.0, 1e-6])
    >>> estimated_error(r_inv, u, 1.0, 0.0, 1.0) > 1e4 * estimated_error(r_inv, np.ones(2), 1.0, 0.0, 1.0)
    True
    """
    u = np.asarray(u, dtype=np.float64)
    to_u = np.linalg.norm(r_inv, axis=1)  # ‖A⁺ᵀe_i‖ = ‖row i of R⁻¹‖
    cov_rows = np.linalg.norm(r_inv @ r_inv.T, axis=1)  # ‖(AᵀA)⁻¹e_i‖
    bound = limits.EPS * (to_u * (y_norm + float(np.abs(u).sum())) + cov_rows * math.sqrt(len(u)) * residual_norm)
    floor = max(limits.REFINE_COMPONENT_FLOOR * float(np.max(np.abs(u), initial=0.0)), np.finfo(np.float64).tiny)
    return float(max(np.max(bound / np.maximum(np.abs(u), floor)), limits.EPS * kappa * kappa))
