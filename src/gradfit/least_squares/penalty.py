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

import math
from dataclasses import dataclass
from functools import cached_property

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

    ``theta0`` warm-starts the solve (a regularization path passes the previous λ's answer). Many
    penalties on one triangle: :class:`PenaltySolver`, which prepares the triangle once.
    """
    return PenaltySolver(r_aug, n).solve(penalty, theta0)


class PenaltySolver:
    """The penalized answers of one triangle ``R_aug`` of ``n`` rows, for any number of penalties
    (a regularization path solves a hundred λ on one): what every solve needs of the triangle,
    ``G = RᵀR/n``, ``q = Rᵀz/n`` and ``‖R‖₂``, is made once."""

    def __init__(self, r_aug: np.ndarray, n: int) -> None:
        p = r_aug.shape[0] - 1
        self.r_aug, self.n, self.p = r_aug, n, p
        self.r, self.z = r_aug[:p, :p], r_aug[:p, p]
        self.norm_z = float(np.linalg.norm(self.z))
        self._factor: tuple = (None, None, None)  # (columns, l2, factor) of the last pattern solved
        self._reduced: PenaltySolver | None = None  # the trailing triangle's (intercept eliminated)

    # Made when first asked: with an intercept the lasso is solved on the trailing triangle's
    # solver, and the full triangle's Gram and 2-norm (an SVD) are never needed.
    @cached_property
    def gram(self) -> np.ndarray:
        """``G = RᵀR/n`` ``(p, p)``, symmetric: its rows are its columns."""
        return (self.r.T @ self.r) / self.n

    @cached_property
    def q(self) -> np.ndarray:
        return (self.r.T @ self.z) / self.n

    @cached_property
    def norm_r(self) -> float:
        return float(np.linalg.norm(self.r, 2)) if self.p else 0.0

    def factor_of(self, columns: np.ndarray, penalty: Penalty) -> np.ndarray:
        """``[T  Qᵀ[z; 0]]`` ``(k + 1, k + 1)``, the R factor of ``[R_S z; √(n·l2)·M_S 0]`` (the
        ``columns`` ``S`` of the triangle and their ridge rows); the last pattern's is kept, since
        along a path most λ share the previous one's pattern and differ only in the pull of ``l1``."""
        last_columns, last_l2, factor = self._factor
        if last_l2 == penalty.l2 and np.array_equal(last_columns, columns):
            return factor
        p, k = self.p, len(columns)
        if k == p and not penalty.l2:
            factor = self.r_aug  # every column, no ridge rows: the triangle is R_aug itself
        else:
            ridge_rows = k if penalty.l2 else 0  # (the lasso's are zero: left out)
            stacked = np.zeros((p + ridge_rows, k + 1))
            stacked[:p, :k], stacked[:p, k] = self.r_aug[:p, columns], self.z
            ridge = np.sqrt(self.n * penalty.l2) * penalty.mask[columns]
            stacked[np.arange(p, p + ridge_rows), np.arange(ridge_rows)] = ridge[:ridge_rows]
            factor = np.linalg.qr(stacked, mode="r")  # (k + 1, k + 1)
        self._factor = (columns, penalty.l2, factor)
        return factor

    def solve(self, penalty: Penalty, theta0: np.ndarray | None = None) -> PenalizedSolution:
        """:func:`solve_penalized` on this triangle.

        With a warm start the answer on ``theta0``'s zero pattern and signs is tried first: along
        a path the next λ's pattern is usually the last one's, and then one exact solve, checked
        by the KKT conditions on every coordinate, is the answer without a sweep of coordinate
        descent. Otherwise (or when the check fails) coordinate descent finds the pattern."""
        if not penalty.l1:
            theta = _ridge(self, penalty)
            return PenalizedSolution(theta, float(np.linalg.norm(self.residual(theta, penalty))))
        if self.p > 1 and penalty.mask[0] == 0.0 and np.all(penalty.mask[1:] > 0):
            return self._intercept_eliminated(penalty, theta0)
        theta = np.zeros(self.p) if theta0 is None else np.array(theta0, dtype=np.float64)
        warm = None if theta0 is None else self.warm_answer(penalty, theta)
        if warm is not None:
            return warm
        sweeps = 0
        for _ in range(limits.PENALTY_POLISH_ROUNDS):
            theta, done = _coordinate_descent(self, penalty, theta)
            sweeps += done
            polished = _polish(self, penalty, theta)
            if polished is not None:
                theta = polished
                if self.kkt_holds(self.residual(theta, penalty), theta, penalty):
                    break
        return PenalizedSolution(theta, float(np.linalg.norm(self.residual(theta, penalty))), sweeps)

    def _intercept_eliminated(self, penalty: Penalty, theta0: np.ndarray | None) -> PenalizedSolution:
        """The lasso or elastic net with its unpenalized first parameter (the intercept) eliminated.

        ``θ₀`` enters only the triangle's first row, ``R₀₀θ₀ + R₀,₁:·w = z₀``, which it satisfies
        for any ``w``; so ``w`` solves the problem of the trailing triangle ``R_aug[1:, 1:]`` (that
        of the centred columns) and ``θ₀`` follows from the first row. Where columns sit far from
        zero the full problem's Gram couples every coefficient to the intercept (coordinate
        descent crawls, and the KKT check's scale, set by the intercept's terms, would pass a wrong
        pattern); the centred one does not.
        """
        if self._reduced is None:
            self._reduced = PenaltySolver(self.r_aug[1:, 1:], self.n)
        inner = Penalty(penalty.l1, penalty.l2, penalty.mask[1:], penalty.standardized)
        solution = self._reduced.solve(inner, None if theta0 is None else np.asarray(theta0, dtype=np.float64)[1:])
        w, head = solution.theta, self.r_aug[0, 0]
        intercept = (self.z[0] - self.r_aug[0, 1:self.p] @ w) / head if head else 0.0
        theta = np.concatenate([[intercept], w])
        return PenalizedSolution(theta, float(np.linalg.norm(self.residual(theta, penalty))), solution.sweeps)

    def warm_answer(self, penalty: Penalty, theta0: np.ndarray) -> PenalizedSolution | None:
        """The exact answer on ``theta0``'s zero pattern and signs, with up to
        ``limits.PENALTY_WARM_ENTRIES`` coordinates let in one at a time (the zero coordinate whose
        KKT condition fails most, with the sign that lowers ``F``); ``None`` when the KKT
        conditions still fail or a sign flips (then coordinate descent finds the pattern)."""
        candidate = theta0
        for _ in range(limits.PENALTY_WARM_ENTRIES + 1):
            theta = _polish(self, penalty, candidate)
            if theta is None:
                return None
            residual = self.residual(theta, penalty)
            if self.kkt_holds(residual, theta, penalty):
                return PenalizedSolution(theta, float(np.linalg.norm(residual)), 0)
            outside = np.where((theta == 0.0) & (penalty.mask > 0), np.abs(residual), 0.0)
            j = int(np.argmax(outside))
            if not outside[j]:
                return None  # the pattern's own coordinates are off: not a question of entries
            candidate = theta.copy()
            candidate[j] = -np.sign(residual[j])  # (only the sign matters to the exact solve)
        return None

    def residual(self, theta: np.ndarray, penalty: Penalty) -> np.ndarray:
        """:func:`stationarity` at ``θ``."""
        return stationarity(theta, mse_gradient(self.r_aug, self.n, theta), penalty)

    def kkt_holds(self, residual: np.ndarray, theta: np.ndarray, penalty: Penalty) -> bool:
        """Whether the stationarity residual is at rounding level: below ``limits.PENALTY_KKT_EPS``
        times the size of the gradient's terms (``2/n·‖R‖·(‖R‖·‖θ‖ + ‖z‖)`` and ``l1``)."""
        scale = (2.0 / self.n) * self.norm_r * (self.norm_r * np.linalg.norm(theta) + self.norm_z) + penalty.l1
        return bool(np.linalg.norm(residual) <= limits.PENALTY_KKT_EPS * scale)


def _triangular(triangle: np.ndarray, b: np.ndarray, transpose: bool = False) -> np.ndarray:
    """``T⁻¹b`` (``T⁻ᵀb``) of an upper triangle, by LAPACK's ``trtrs`` (scipy's
    ``solve_triangular`` checks its arguments at ~10× the cost of the solve on a path's small
    triangles); a zero on the diagonal is ``LinAlgError``. (The triangles are of finite rows;
    a step that overflows is caught by its caller's sign and finiteness checks.)"""
    from scipy.linalg.lapack import dtrtrs  # (scipy loads only when a penalty is solved)

    x, info = dtrtrs(triangle, b, lower=0, trans=int(transpose))
    if info:
        raise np.linalg.LinAlgError(f"singular triangle (diagonal element {info})")
    return x


def _ridge(solver: PenaltySolver, penalty: Penalty) -> np.ndarray:
    """Least squares of ``[R; √(n·l2)·M] θ ≈ [z; 0]`` by QR, then refined (:func:`_refine`)."""
    p, n = solver.p, solver.n
    lower = np.zeros((p, p + 1))
    lower[np.arange(p), np.arange(p)] = np.sqrt(n * penalty.l2) * penalty.mask
    stacked = np.vstack([solver.r_aug[:p], lower])  # (2p, p + 1): the rows of [A | y] and of the penalty
    triangle = np.linalg.qr(stacked, mode="r")
    theta = _triangular(triangle[:p, :p], triangle[:p, p])
    return _refine(solver, penalty, theta, triangle[:p, :p], np.arange(p))


def _refine(solver: PenaltySolver, penalty: Penalty, theta: np.ndarray, triangle: np.ndarray,
            columns: np.ndarray) -> np.ndarray:
    """Two Newton steps on the stationarity residual of the ``columns`` (``triangle``: their
    smooth Hessian is ``2/n·TᵀT``). QR's answer is backward stable, but with a large penalty on
    some columns and none on the intercept its small coefficients can be off relative to
    themselves; each step recomputes the residual from ``R_aug`` and removes that error."""
    theta = theta.copy()
    for _ in range(2):
        residual = solver.residual(theta, penalty)[columns]
        try:
            step = _triangular(triangle, _triangular(triangle, 0.5 * solver.n * residual, transpose=True))
        except np.linalg.LinAlgError:
            break
        if not np.all(np.isfinite(step)):
            break
        theta[columns] -= step
    return theta


def _coordinate_descent(solver: PenaltySolver, penalty: Penalty, theta: np.ndarray) -> tuple[np.ndarray, int]:
    """Cyclic coordinate descent on ``θᵀGθ − 2qᵀθ + penalty`` (``G = RᵀR/n``, ``q = Rᵀz/n``)
    until a sweep moves no coordinate by more than ``limits.PENALTY_CD_TOL`` of the largest.
    (Scalars as Python floats: NumPy's scalar arithmetic would cost several times the sweep.)"""
    gram = solver.gram
    diagonal = np.diag(gram).tolist()
    shrink = (np.diag(gram) + penalty.l2 * penalty.mask).tolist()  # (p,)
    threshold = (0.5 * penalty.l1 * penalty.mask).tolist()
    gradient = gram @ theta - solver.q  # half the MSE gradient, kept up to date
    values = theta.tolist()
    for sweep in range(1, limits.PENALTY_CD_SWEEPS + 1):
        largest_move = 0.0
        for j in range(solver.p):
            rho = diagonal[j] * values[j] - gradient.item(j)  # q_j − Σ_{k≠j} G_jk θ_k
            new = math.copysign(max(abs(rho) - threshold[j], 0.0), rho) / shrink[j] + 0.0  # (+ 0.0: no -0.0)
            move = new - values[j]
            if move:
                gradient += move * gram[j]
                values[j] = new
                largest_move = max(largest_move, abs(move))
        if largest_move <= limits.PENALTY_CD_TOL * max(max(map(abs, values), default=0.0), 1e-300):
            return np.array(values), sweep
    return np.array(values), limits.PENALTY_CD_SWEEPS


def _polish(solver: PenaltySolver, penalty: Penalty, theta: np.ndarray) -> np.ndarray | None:
    """The exact answer on ``theta``'s zero pattern: on the nonzero set ``S`` (signs ``s``) the
    optimality conditions are ``(R_SᵀR_S + n·l2·M_S) θ_S = R_Sᵀz − (n·l1/2)·M_S s``; solved
    through the QR of ``[R_S z; √(n·l2)·M_S 0]`` (never the normal equations; its last column
    is ``Qᵀ[z; 0]``). ``None`` when the signs do not survive (the pattern was not yet the
    optimum's)."""
    p, n = solver.p, solver.n
    keep = (theta != 0.0) | (penalty.mask == 0.0)
    if not keep.any():
        return theta
    columns = np.flatnonzero(keep)
    k = len(columns)
    mask_s = penalty.mask[columns]
    factor = solver.factor_of(columns, penalty)
    triangle = factor[:k, :k]
    signs = np.sign(theta[columns])
    linear = 0.5 * n * penalty.l1 * mask_s * signs  # the absolute values' pull, (k,)
    try:
        theta_s = _triangular(triangle, factor[:k, k] - _triangular(triangle, linear, transpose=True))
    except np.linalg.LinAlgError:
        return None
    if np.any((mask_s > 0) & (np.sign(theta_s) != signs)):
        return None
    out = np.zeros(p)
    out[columns] = theta_s
    refined = _refine(solver, penalty, out, triangle, columns)
    return refined if np.array_equal(np.sign(refined[columns]), np.sign(out[columns])) else out
