"""The closed form: the least-squares solution, whichever way it was computed.

One type for both paths: :func:`gradfit.least_squares.dense.lstsq` (rows in memory, QR refined
in exact arithmetic when needed) and
:meth:`gradfit.least_squares.sufficient.SufficientStats.closed_form` (sufficient statistics of
streamed rows, float64 TSQR only: no per-row residuals).
"""

from __future__ import annotations

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


def estimated_error(kappa: float, residual_norm: float, solution_norm: float) -> float:
    """A (generous) norm-wise estimate of float64 QR's relative error in ``θ`` and ``(AᵀA)⁻¹``.

    The perturbation bound for least squares, ``eps·(κ + κ²·‖r‖/(‖A‖‖θ‖))`` on unit-length columns
    (``‖A‖ ≈ 1``), and ``eps·κ²`` for the covariance factor. Norm-wise: a coefficient small beside
    the others may lose more (NIST's Pontius: 12.7 digits on its intercept from TSQR alone), which
    :func:`gradfit.lstsq` measures and repairs from the rows (extra-precise refinement); sufficient
    statistics, which keep no rows, report this estimate.

    >>> round(estimated_error(10.0, 0.0, 1.0) / 2.22e-16)
    110
    """
    ratio = residual_norm / max(solution_norm, np.finfo(np.float64).tiny)
    return float(limits.EPS * (kappa + kappa * kappa * (1.0 + ratio)))
