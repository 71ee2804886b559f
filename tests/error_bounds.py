"""Rounding-error bounds of float64 least squares, computed from the data at hand: test tolerances.

A backward-stable solver (Householder QR, TSQR, QR and one refinement step) returns the exact
least-squares answer of slightly moved data: each column ``a_j`` moved by at most ``c_j·eps·‖a_j‖``
and ``y`` by ``c_y·eps·‖y‖`` (Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed.,
Thm 19.4 and 20.3). To first order the answer then moves by ::

    δθ = A⁺(δy − δA θ) + (AᵀA)⁻¹ δAᵀ r

so, on unit-length columns (``A_s = A / ‖a_j‖``, ``θ_s = θ·‖a_j‖``), component ``i`` moves by at most ::

    |δθ_s,i| ≤ eps·( ‖A_s⁺ᵀe_i‖·(c_y‖y‖ + Σ_j c_j|θ_s,j|) + ‖(A_sᵀA_s)⁻¹e_i‖·‖c‖·‖r‖ )

Bounded by norms instead this is the familiar ``eps·(κ + κ²·‖r‖/(‖A‖‖θ‖))`` relative error; per
component it says more: a coefficient small beside the others (Norris' intercept, 0.26 beside a
slope times x of 500) loses the ratio in digits, and so does an intercept beside columns far from
zero (its error follows the conditioning of the un-centred columns). The standard errors, the
residual norm and R² follow in the same way (:func:`qr_errors`).

``c`` is the one constant a test states: the backward error in units of eps. The worst-case
analysis has ``γ_k = k·eps/(1 − k·eps)`` for a k-term sum or product (k up to n·p); rounding
errors add like a random walk, not in step (Higham & Mary, SIAM J. Sci. Comput. 41(5), 2019,
give ``√k·eps`` with high probability). For QR, TSQR and the Gram path refined once, the
backward error per column taken as ``c·eps`` with ``c = QR_BACKWARD`` holds with room to spare on
the data of these tests (it also bounds the loss at any θ, :func:`loss_error`); a plain sum over
all n rows is given ``c·√n·eps`` (:func:`moment_errors`).
"""

from __future__ import annotations

import math

import numpy as np

EPS = float(np.finfo(np.float64).eps)

# Householder QR's backward error per column, in units of eps. The worst-case bound is γ̃_{np}
# (a multiple of n·p·eps); rounding errors add like a random walk in practice, and on the NIST StRD
# sets the errors of QR and TSQR (1- to 1000-row chunks; OpenBLAS's Haswell, SkylakeX and
# Sandybridge kernels, 1 and 2 threads) stay below the bound with c = 1. Four leaves a factor of four.
QR_BACKWARD = 4.0


def qr_errors(design, y, theta, backward, *, backward_y=None, intercept=True, normwise=False) -> dict:
    """First-order bounds on the absolute error of a backward-stable least-squares solution.

    Parameters
    ----------
    design : numpy.ndarray
        ``(n, p)`` the design (column of ones included when there is an intercept).
    y : numpy.ndarray
        ``(n,)`` targets.
    theta : numpy.ndarray
        ``(p,)`` the least-squares solution (an accurate one: certified or exact).
    backward : float or numpy.ndarray
        ``c_j``: backward error of each column, in units of eps (scalar or ``(p,)``).
    backward_y : float, optional
        ``c_y``: backward error of ``y`` in units of eps (default: the largest ``c_j``).
    intercept : bool
        R² about the mean (True) or uncentred (False), as the statistics define it.
    normwise : bool
        The backward error is relative to ``‖A‖₂``, not to each column: that of SVD-based
        solvers (``numpy.linalg.lstsq``, LAPACK ``gelsd``), which are not invariant under column
        scaling. Householder QR and TSQR are columnwise backward stable (Higham, Thm 19.4).

    Returns
    -------
    dict
        ``theta`` and ``std_err`` ``(p,)``, ``residual_norm``, ``residual_std``, ``rss`` and
        ``r_squared``: bounds on the absolute error of each, in the data's units.
    """
    design, y, theta = (np.asarray(v, dtype=np.float64) for v in (design, y, theta))
    n, p = design.shape
    c = np.broadcast_to(np.asarray(backward, dtype=np.float64), (p,))
    c_y = float(c.max() if backward_y is None else backward_y)
    norms = np.linalg.norm(design, axis=0)  # (p,)
    if normwise:  # c·eps·‖A‖₂ in every column is c·‖A‖₂/‖a_j‖ relative to column j
        c = c * np.linalg.norm(design, 2) / norms
    q, r = np.linalg.qr(design / norms)
    r_inv = np.linalg.solve(r, np.eye(p))  # (p, p); A_s⁺ = R⁻¹Qᵀ, (A_sᵀA_s)⁻¹ = R⁻¹R⁻ᵀ
    gram_inv = r_inv @ r_inv.T
    pinv_rows = np.linalg.norm(r_inv, axis=1)  # (p,) ‖A_s⁺ᵀe_i‖ = sqrt of (A_sᵀA_s)⁻¹_ii
    gram_inv_rows = np.linalg.norm(gram_inv, axis=1)  # (p,)
    theta_unit = theta * norms  # (p,)
    residual = y - design @ theta
    r_norm, y_norm, c_norm = float(np.linalg.norm(residual)), float(np.linalg.norm(y)), float(np.linalg.norm(c))
    moved = c_y * y_norm + float(np.abs(c * theta_unit).sum())  # ‖δy − δA θ‖ / eps
    theta_err = EPS * (pinv_rows * moved + gram_inv_rows * c_norm * r_norm) / norms
    # ‖δr‖ ≤ ‖(I − P)(δy − δAθ)‖ + ‖A_s⁺ᵀ δAᵀ r‖ (valid at r = 0, where a first-order δ‖r‖ is not)
    r_err = EPS * (moved + pinv_rows.max() * math.sqrt(p) * c_norm * r_norm)
    dof = n - p
    sigma = r_norm / math.sqrt(dof) if dof else math.nan
    sigma_err = r_err / math.sqrt(dof) if dof else math.nan
    # se_i = σ·sqrt((AᵀA)⁻¹_ii); δ(AᵀA)⁻¹_ii = −2 eᵢᵀ(AᵀA)⁻¹δAᵀA(AᵀA)⁻¹eᵢ ≤ 2‖c‖eps·‖(AᵀA)⁻¹eᵢ‖·‖A⁺ᵀeᵢ‖
    std_err_err = (sigma_err * pinv_rows + sigma * EPS * c_norm * gram_inv_rows) / norms
    rss, rss_err = r_norm ** 2, 2 * r_norm * r_err + r_err ** 2
    tss = float(np.sum((y - y.mean()) ** 2) if intercept else y @ y)
    tss_err = EPS * c_y * (tss + 2 * y_norm * math.sqrt(tss))  # the rounding of y, and the sum itself
    r_squared_err = rss_err / tss + rss * tss_err / tss ** 2
    return {"theta": theta_err, "std_err": std_err_err, "residual_norm": r_err, "residual_std": sigma_err,
            "rss": rss_err, "r_squared": r_squared_err}


def rounded_solution_errors(design, y, theta, ulps=2.0) -> dict:
    """Bounds on how far the statistics at ``θ`` rounded within ``ulps`` lie from those at ``θ``.

    For a solution that is exact but for its last place (exact refinement). With
    ``δ = ‖A(θ̂ − θ)‖ ≤ ulps·eps·Σ_j ‖a_j‖·|θ_j|`` and ``r ⊥ range(A)`` at the least-squares ``θ``,
    Pythagoras gives ``RSS(θ̂) = RSS(θ) + δ²`` exactly, so ``‖r̂‖ − ‖r‖ ≤ min(δ, δ²/(2‖r‖))``.
    The rounding of the values themselves is left to the caller. Keys as :func:`qr_errors`.
    """
    design, y, theta = (np.asarray(v, dtype=np.float64) for v in (design, y, theta))
    n, p = design.shape
    norms = np.linalg.norm(design, axis=0)
    r_inv = np.linalg.solve(np.linalg.qr(design / norms)[1], np.eye(p))
    pinv_rows = np.linalg.norm(r_inv, axis=1)  # (p,) sqrt of (A_sᵀA_s)⁻¹_ii
    shift = ulps * EPS * float(np.abs(theta * norms).sum())  # δ
    r_norm = float(np.linalg.norm(y - design @ theta))
    r_err = shift if r_norm == 0 else min(shift, shift ** 2 / (2 * r_norm))
    sigma_err = r_err / math.sqrt(n - p) if n > p else math.nan
    tss = float(np.sum((y - y.mean()) ** 2))  # the smaller of centred and uncentred: the larger bound
    return {"theta": ulps * EPS * np.abs(theta), "std_err": sigma_err * pinv_rows / norms, "residual_norm": r_err,
            "residual_std": sigma_err, "rss": shift ** 2, "r_squared": shift ** 2 / tss}


def loss_error(design, y, theta, backward=QR_BACKWARD) -> float:
    """Bound on the relative error of ``RSS(θ)`` (and the loss ``RSS/n``) from sufficient statistics.

    Statistics that are exact for data moved as in :func:`qr_errors` give ``RSS(θ)`` of the moved
    data: ``δRSS = 2 r(θ)ᵀ(δy − δA θ) + …``, at most ``2‖r(θ)‖·c·eps·(‖y‖ + ‖θ_s‖₁)``.
    """
    design, y, theta = (np.asarray(v, dtype=np.float64) for v in (design, y, theta))
    moved = backward * EPS * (float(np.linalg.norm(y)) + float(np.abs(theta * np.linalg.norm(design, axis=0)).sum()))
    r_norm = float(np.linalg.norm(y - design @ theta))
    return (2 * r_norm * moved + moved ** 2) / r_norm ** 2


def moment_errors(columns, backward=QR_BACKWARD) -> tuple[np.ndarray, np.ndarray]:
    """Bounds on the absolute error of per-column means and sums of squared deviations.

    ``columns`` ``(n, k)``. A sum of ``n`` terms is within ``γ_n·Σ|xᵢ|``; here the sums run over
    all the rows, so ``γ_n`` is taken as ``c·√n·eps`` (the random walk of Higham & Mary; the
    worst case ``n·eps``): the mean within ``c·√n·eps·mean|x|``. ``M2 = Σ(xᵢ − x̄)²`` is such a
    sum, and each deviation ``xᵢ − s`` (any shift ``s``) is rounded once, by at most
    ``c·eps·|xᵢ|``, which moves M2 by at most ``2‖x − x̄‖·c·eps·‖x‖`` (Cauchy–Schwarz).
    """
    columns = np.asarray(columns, dtype=np.float64)
    walk = backward * math.sqrt(len(columns)) * EPS
    deviation = columns - columns.mean(axis=0)
    m2 = np.sum(deviation ** 2, axis=0)
    mean_err = walk * np.abs(columns).mean(axis=0)
    m2_err = walk * m2 + backward * EPS * 2 * np.linalg.norm(deviation, axis=0) * np.linalg.norm(columns, axis=0)
    return mean_err, m2_err


def digits(error, reference) -> float:
    """Correct digits an absolute ``error`` leaves in ``reference`` (absolute when it is 0), capped at 15.

    The same measure as NIST's LRE, so ``lre(estimate, certified) >= digits(bound, certified)``
    is what a bound promises.
    """
    error, reference = float(error), abs(float(reference))
    relative = error / reference if reference != 0 else error
    return 15.0 if relative <= 1e-15 else min(15.0, -math.log10(relative))
