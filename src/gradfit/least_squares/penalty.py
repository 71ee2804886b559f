"""Penalized least squares: ridge, lasso and elastic net, and their exact answers.

The objective is the mean squared error plus a penalty on the coefficients (never the intercept)::

    F(θ) = ‖Aθ − y‖² / n  +  l2 · Σⱼ mⱼ θⱼ²  +  l1 · Σⱼ mⱼ |θⱼ|

with ``m`` the mask of penalized parameters (1 for a coefficient, 0 for the intercept, wherever
the design holds it). In scikit-learn's terms (its ``1/(2n)`` loss): ``Ridge(alpha = n·l2)``,
``Lasso(alpha = l1/2)``, ``ElasticNet(alpha = l1/2 + l2, l1_ratio = l1 / (l1 + 2·l2))``.

Everything here works on ``R_aug``, the triangle of ``[A | y]`` (``(p+1, p+1)``, from QR or the
sufficient statistics): ``‖Aθ − y‖² = ‖Rθ − z‖² + ρ²``, so no solver touches the rows.

- Ridge (``l1 = 0``): the normal equations ``(AᵀA + n·l2·M) θ = Aᵀy`` are never formed; the
  answer is the least-squares solution of ``[R; √(n·l2) M] θ ≈ [z; 0]`` by QR (backward stable).
- Lasso and elastic net: coordinate descent on ``G = RᵀR / n`` finds the zero pattern; on the
  nonzero set the optimality conditions are linear and are solved by QR, which gives the answer
  to rounding, and the KKT conditions are checked on every coordinate (:func:`stationarity`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import limits


@dataclass(frozen=True)
class Penalty:
    """``l2·Σ mⱼθⱼ² + l1·Σ mⱼ|θⱼ|`` on the parameters ``θ`` where gradient descent runs.

    Attributes
    ----------
    l1, l2 : float
        The weights of the absolute values and of the squares (zero or more).
    mask : numpy.ndarray
        ``(p,)`` 1.0 for a penalized parameter, 0.0 for the intercept.
    standardized : bool
        The parameters are those of the standardized rows (what the report says).
    """

    l1: float
    l2: float
    mask: np.ndarray
    standardized: bool = False

    @property
    def kind(self) -> str:
        """``ridge``, ``lasso`` or ``elastic net``."""
        if self.l1 and self.l2:
            return "elastic net"
        return "lasso" if self.l1 else "ridge"

    def value(self, theta: np.ndarray) -> float:
        """The penalty at ``θ`` ``(p,)``."""
        penalized = theta * self.mask
        return float(self.l2 * penalized @ penalized + self.l1 * np.abs(penalized).sum())

    def values(self, thetas: np.ndarray) -> np.ndarray:
        """The penalty at each row of ``thetas`` ``(K, p)``: ``(K,)``."""
        penalized = thetas * self.mask
        return self.l2 * np.einsum("kp,kp->k", penalized, penalized) + self.l1 * np.abs(penalized).sum(axis=1)

    def smooth_gradient(self, theta: np.ndarray) -> np.ndarray:
        """The gradient of the squares' part, ``2·l2·m·θ``."""
        return 2.0 * self.l2 * self.mask * theta

    def prox(self, theta: np.ndarray, step: float) -> np.ndarray:
        """The proximal step of the absolute values: each penalized θⱼ moved ``step·l1`` towards
        zero, stopping there (soft thresholding)."""
        if not self.l1:
            return theta
        threshold = step * self.l1 * self.mask
        return np.sign(theta) * np.maximum(np.abs(theta) - threshold, 0.0) + 0.0  # + 0.0: no -0.0

    def to_dict(self) -> dict:
        return {"kind": self.kind, "l1": self.l1, "l2": self.l2,
                "on": "standardized coefficients" if self.standardized else "coefficients"}


def stationarity(theta: np.ndarray, mse_gradient: np.ndarray, penalty: Penalty) -> np.ndarray:
    """The smallest element of ``F``'s subdifferential at ``θ``: zero exactly at the optimum.

    ``g = ∇MSE + 2·l2·m·θ``; where θⱼ ≠ 0 the absolute value adds ``l1·sign(θⱼ)``; where θⱼ = 0
    any value in ``[−l1, l1]`` may cancel ``gⱼ``, so what is left is ``max(|gⱼ| − l1, 0)``.
    """
    g = mse_gradient + penalty.smooth_gradient(theta)
    if not penalty.l1:
        return g
    slack = penalty.l1 * penalty.mask
    at_zero = theta == 0.0
    moved = g + slack * np.sign(theta)
    return np.where(at_zero, np.sign(g) * np.maximum(np.abs(g) - slack, 0.0), moved)


@dataclass(frozen=True)
class PenalizedSolution:
    """The exact answer of a penalized problem: ``theta``, the norm of its :func:`stationarity`
    (``kkt``, in the problem's units), and the coordinate-descent sweeps it took."""

    theta: np.ndarray
    kkt: float
    sweeps: int = 0


def mse_gradient(r_aug: np.ndarray, n: int, theta: np.ndarray) -> np.ndarray:
    """``∇MSE(θ) = 2/n Rᵀ(Rθ − z)`` from the triangle of ``[A | y]``."""
    p = len(theta)
    r, z = r_aug[:p, :p], r_aug[:p, p]
    return (2.0 / n) * (r.T @ (r @ theta - z))


def solve_penalized(r_aug: np.ndarray, n: int, penalty: Penalty, theta0: np.ndarray | None = None
                    ) -> PenalizedSolution:
    """The minimiser of ``F`` from ``R_aug`` ``(p+1, p+1)`` of ``n`` rows (see the module).

    ``theta0`` warm-starts coordinate descent (a regularization path passes the previous λ's
    answer).
    """
    p = r_aug.shape[0] - 1
    if not penalty.l1:
        theta = _ridge(r_aug, n, penalty)
        return PenalizedSolution(theta, float(np.linalg.norm(stationarity(theta, mse_gradient(r_aug, n, theta),
                                                                          penalty))))
    theta = np.zeros(p) if theta0 is None else np.array(theta0, dtype=np.float64)
    sweeps = 0
    for _ in range(limits.PENALTY_POLISH_ROUNDS):
        theta, done = _coordinate_descent(r_aug, n, penalty, theta)
        sweeps += done
        polished = _polish(r_aug, n, penalty, theta)
        if polished is not None:
            theta = polished
            residual = stationarity(theta, mse_gradient(r_aug, n, theta), penalty)
            if _kkt_holds(residual, r_aug, n, theta, penalty):
                break
    residual = stationarity(theta, mse_gradient(r_aug, n, theta), penalty)
    return PenalizedSolution(theta, float(np.linalg.norm(residual)), sweeps)


def _ridge(r_aug: np.ndarray, n: int, penalty: Penalty) -> np.ndarray:
    """Least squares of ``[R; √(n·l2)·M] θ ≈ [z; 0]`` by QR, then refined (:func:`_refine`)."""
    p = r_aug.shape[0] - 1
    lower = np.zeros((p, p + 1))
    lower[np.arange(p), np.arange(p)] = np.sqrt(n * penalty.l2) * penalty.mask
    stacked = np.vstack([r_aug[:p], lower])  # (2p, p + 1): the rows of [A | y] and of the penalty
    triangle = np.linalg.qr(stacked, mode="r")
    from scipy.linalg import solve_triangular  # (scipy loads only when a penalty is solved)

    theta = solve_triangular(triangle[:p, :p], triangle[:p, p])
    return _refine(r_aug, n, penalty, theta, triangle[:p, :p], np.arange(p))


def _refine(r_aug: np.ndarray, n: int, penalty: Penalty, theta: np.ndarray, triangle: np.ndarray,
            columns: np.ndarray) -> np.ndarray:
    """Two Newton steps on the stationarity residual of the ``columns`` (``triangle``: their
    smooth Hessian is ``2/n·TᵀT``). QR's answer is backward stable, but with a large penalty on
    some columns and none on the intercept its small coefficients can be off relative to
    themselves; each step recomputes the residual from ``R_aug`` and removes that error."""
    from scipy.linalg import solve_triangular

    theta = theta.copy()
    for _ in range(2):
        residual = stationarity(theta, mse_gradient(r_aug, n, theta), penalty)[columns]
        step = solve_triangular(triangle, solve_triangular(triangle, 0.5 * n * residual, trans="T"))
        if not np.all(np.isfinite(step)):
            break
        theta[columns] -= step
    return theta


def _coordinate_descent(r_aug: np.ndarray, n: int, penalty: Penalty, theta: np.ndarray) -> tuple[np.ndarray, int]:
    """Cyclic coordinate descent on ``θᵀGθ − 2qᵀθ + penalty`` (``G = RᵀR/n``, ``q = Rᵀz/n``)
    until a sweep moves no coordinate by more than ``limits.PENALTY_CD_TOL`` of the largest."""
    p = len(theta)
    r, z = r_aug[:p, :p], r_aug[:p, p]
    gram, q = (r.T @ r) / n, (r.T @ z) / n
    diagonal = np.diag(gram).copy()
    shrink = diagonal + penalty.l2 * penalty.mask  # (p,)
    threshold = 0.5 * penalty.l1 * penalty.mask
    gradient = gram @ theta - q  # half the MSE gradient, kept up to date
    theta = theta.copy()
    for sweep in range(1, limits.PENALTY_CD_SWEEPS + 1):
        largest_move = 0.0
        for j in range(p):
            rho = diagonal[j] * theta[j] - gradient[j]  # q_j − Σ_{k≠j} G_jk θ_k
            new = np.sign(rho) * max(abs(rho) - threshold[j], 0.0) / shrink[j]
            move = new - theta[j]
            if move:
                gradient += gram[:, j] * move
                theta[j] = new
                largest_move = max(largest_move, abs(move))
        if largest_move <= limits.PENALTY_CD_TOL * max(np.abs(theta).max(initial=0.0), 1e-300):
            return theta, sweep
    return theta, limits.PENALTY_CD_SWEEPS


def _polish(r_aug: np.ndarray, n: int, penalty: Penalty, theta: np.ndarray) -> np.ndarray | None:
    """The exact answer on coordinate descent's zero pattern: on the nonzero set ``S`` (signs
    ``s``) the optimality conditions are ``(R_SᵀR_S + n·l2·M_S) θ_S = R_Sᵀz − (n·l1/2)·M_S s``;
    solved through the QR of ``[R_S; √(n·l2)·M_S]`` (never the normal equations). ``None`` when
    the signs do not survive (the pattern was not yet the optimum's)."""
    p = len(theta)
    keep = (theta != 0.0) | (penalty.mask == 0.0)
    if not keep.any():
        return theta
    columns = np.flatnonzero(keep)
    r_s = r_aug[:p, columns]  # (p, k)
    mask_s = penalty.mask[columns]
    lower = np.diag(np.sqrt(n * penalty.l2) * mask_s)  # (k, k)
    stacked = np.vstack([r_s, lower])  # (p + k, k)
    q_factor, triangle = np.linalg.qr(stacked)  # (p + k, k), (k, k)
    target = np.concatenate([r_aug[:p, p], np.zeros(len(columns))])
    signs = np.sign(theta[columns])
    linear = 0.5 * n * penalty.l1 * mask_s * signs  # the absolute values' pull, (k,)
    from scipy.linalg import solve_triangular

    try:
        shifted = q_factor.T @ target - solve_triangular(triangle, linear, trans="T")
        theta_s = solve_triangular(triangle, shifted)
    except (np.linalg.LinAlgError, ValueError):
        return None
    if np.any((mask_s > 0) & (np.sign(theta_s) != signs)):
        return None
    out = np.zeros(p)
    out[columns] = theta_s
    refined = _refine(r_aug, n, penalty, out, triangle, columns)
    return refined if np.array_equal(np.sign(refined[columns]), np.sign(out[columns])) else out


def _kkt_holds(residual: np.ndarray, r_aug: np.ndarray, n: int, theta: np.ndarray, penalty: Penalty) -> bool:
    """Whether the stationarity residual is at rounding level: below ``limits.PENALTY_KKT_EPS``
    times the size of the gradient's terms (``2/n·‖R‖·(‖R‖·‖θ‖ + ‖z‖)`` and ``l1``)."""
    p = len(theta)
    r, z = r_aug[:p, :p], r_aug[:p, p]
    norm_r = np.linalg.norm(r, 2)
    scale = (2.0 / n) * norm_r * (norm_r * np.linalg.norm(theta) + np.linalg.norm(z)) + penalty.l1
    return bool(np.linalg.norm(residual) <= limits.PENALTY_KKT_EPS * scale)
