"""The reference of a penalized fit: ridge, lasso or elastic net in the space gradient descent runs in.

A penalty (``l1``, ``l2``: :mod:`gradfit.least_squares.penalty`) changes the answer gradient
descent is checked against, and it acts on the parameters where gradient descent runs (the
standardized ones when standardizing). :class:`PenalizedReference` wraps the least-squares
reference of the rows (dense, rows or sufficient statistics): it reduces them to the triangle of
``[A | y]`` in that space, solves the penalized problem exactly there, and answers the stages'
questions (closed form, curvature, convergence) for the penalized objective. Classical standard
errors assume unpenalized least squares: a penalized fit reports none.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..data.design import Scaling
from ..data.validate import Problem, check_values
from ..least_squares.penalty import Penalty, mse_gradient, solve_penalized, stationarity
from .references import DenseReference
from .sources import InMemory, Shared, is_small, param_names


@dataclass
class PenalizedAnswer:
    """The closed form of a penalized fit, read as the stages read a least-squares one.

    ``theta`` on the original scale, ``theta_run`` where gradient descent runs; ``kkt`` the norm
    of the stationarity residual there (zero at the exact optimum, rounding in practice).
    """

    theta: np.ndarray
    theta_run: np.ndarray
    kkt: float
    objective: float
    sweeps: int
    condition_number: float
    std_err: None = None  # classical standard errors do not apply to a penalized fit
    refined: bool = False
    needs_refinement: bool = False
    estimated_error: float = 0.0


@dataclass
class PenalizedReference:
    """``base`` (the rows' least-squares reference) with ``penalty`` on the parameters of
    ``run_scaling``'s space (``None``: the original scale)."""

    base: object
    penalty: Penalty
    run_scaling: Scaling | None
    problem: Problem = None
    triangle: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.scaling = self.base.scaling
        self.param_names = self.base.param_names
        self.triangle = run_space_triangle(self.base, self.run_scaling, self.problem)
        solution = solve_penalized(self.triangle, self.n, self.penalty)
        theta = self.to_original(solution.theta)
        p = len(solution.theta)
        singular = np.linalg.svd(self.triangle[:p, :p], compute_uv=False)
        self.closed = PenalizedAnswer(theta=theta, theta_run=solution.theta, kkt=solution.kkt,
                                      objective=self.objective(solution.theta), sweeps=solution.sweeps,
                                      condition_number=float(singular[0] / singular[-1]) if singular[-1] else np.inf)

    @property
    def n(self) -> int:
        return self.base.n

    @property
    def intercept(self) -> bool:
        return self.problem.intercept

    def to_original(self, theta_run: np.ndarray) -> np.ndarray:
        return theta_run if self.run_scaling is None else self.run_scaling.to_original(theta_run, self.intercept)

    def to_run(self, theta: np.ndarray) -> np.ndarray:
        return theta if self.run_scaling is None else self.run_scaling.to_scaled(theta, self.intercept)

    def objective(self, theta_run: np.ndarray) -> float:
        """``MSE + penalty`` where gradient descent runs (``‖Rθ − z‖² + ρ²`` over ``n``)."""
        p = len(theta_run)
        defect = self.triangle[:p, :p] @ theta_run - self.triangle[:p, p]
        return float((defect @ defect + self.triangle[p, p] ** 2) / self.n) + self.penalty.value(theta_run)

    def stationarity_run(self, theta: np.ndarray) -> np.ndarray:
        """The penalized objective's stationarity residual at ``θ`` (original scale), in the space
        gradient descent runs in (:func:`gradfit.least_squares.penalty.stationarity`)."""
        theta_run = self.to_run(theta)
        return stationarity(theta_run, mse_gradient(self.triangle, self.n, theta_run), self.penalty)

    def gradient(self, theta: np.ndarray) -> np.ndarray:
        """What the convergence verdict reads as the gradient at ``θ`` (original scale): the
        stationarity residual, expressed so that ``scaling.gradient_to_scaled`` of it is the
        residual of the scale-free objective (standardized runs: the run space's own residual)."""
        residual = self.stationarity_run(theta)
        if self.run_scaling is None:
            return residual
        return gradient_from_scaled(residual, self.run_scaling, self.intercept)

    def hessian_extremes(self, run_problem: Problem, scaling: Scaling | None) -> tuple[float, float]:
        """Extreme eigenvalues of the smooth part's Hessian, ``2/n RᵀR + 2·l2·M``."""
        p = self.triangle.shape[0] - 1
        r = self.triangle[:p, :p]
        values = np.linalg.eigvalsh((2.0 / self.n) * (r.T @ r) + np.diag(2.0 * self.penalty.l2 * self.penalty.mask))
        return float(values[-1]), float(values[0])

    def exact_engine_inputs(self, scaling: Scaling | None, source) -> dict:
        return self.base.exact_engine_inputs(scaling, source)

    def statistics(self, theta: np.ndarray, alpha: float, covariance=None):
        """None: classical standard errors, tests and intervals assume unpenalized least squares."""
        return None

    def report(self, theta: np.ndarray | None = None) -> dict:
        """The penalty, the objective and the exact answer's KKT residual (and, given ``θ``, the
        objective and scale-free stationarity residual there), for a result."""
        out = {**self.penalty.to_dict(), "objective_closed_form": self.closed.objective, "kkt_closed_form":
               scale_free_norm(self, self.closed.theta), "cd_sweeps": self.closed.sweeps}
        if theta is not None:
            out.update(objective=self.objective(self.to_run(theta)), kkt=scale_free_norm(self, theta))
        return out


def scale_free_norm(reference: PenalizedReference, theta: np.ndarray) -> float:
    """The stationarity residual's norm with features and target at unit variance."""
    gradient = reference.gradient(theta)
    return float(np.linalg.norm(reference.scaling.gradient_to_scaled(gradient, reference.intercept)))


def gradient_from_scaled(scaled: np.ndarray, scaling: Scaling, intercept: bool) -> np.ndarray:
    """The inverse of :meth:`gradfit.data.design.Scaling.gradient_to_scaled`."""
    if not intercept:
        return scaled * scaling.x_scale * scaling.y_scale
    g_b = scaled[0] * scaling.y_scale
    return np.concatenate([[g_b], scaled[1:] * scaling.x_scale * scaling.y_scale + scaling.x_mean * g_b])


class PenalizedRows(DenseReference):
    """The training rows in memory for a penalized fit: the design and the scaling, without the
    least-squares answer (which need not exist: fewer rows than parameters, collinear columns)."""

    def __post_init__(self) -> None:
        if not self.problem.values_checked:
            check_values(self.problem)
        self.design = self.problem.design(self.problem.x_train)
        self.closed = None
        self.scaling = Scaling.fit(self.problem.x_train, self.problem.y_train, self.problem.intercept)


def reference_of(source, cfg, reference=None, warn_unrefined: bool = True):
    """The reference a fit or solve of ``source`` is checked against: ``reference`` (or the
    source's least-squares one), wrapped in :class:`PenalizedReference` when ``cfg`` asks for a
    penalty. Small rows in this process go straight to the penalized answer: it exists where
    least squares has none (fewer rows than parameters, collinear columns)."""
    if reference is None:
        reference = rows_reference(source, bool(cfg.l1 or cfg.l2), warn_unrefined)
    return with_penalty(reference, cfg, source.problem)


def rows_reference(source, penalized: bool, warn_unrefined: bool = True):
    """The reference of ``source``'s rows that a fit builds on: :class:`PenalizedRows` for a
    penalized fit of small rows in this process, else the source's least-squares reference."""
    if penalized and isinstance(source, InMemory) and not isinstance(source, Shared) and is_small(source.problem):
        return PenalizedRows(source.problem, param_names(source.problem))
    return source.reference(warn_unrefined=warn_unrefined)


def run_space_triangle(base, run_scaling: Scaling | None, problem: Problem) -> np.ndarray:
    """``R_aug`` ``(p+1, p+1)`` of ``[A | y]`` where gradient descent runs: from the rows' QR
    (a dense reference; zero rows added below fewer rows than columns) or from the sufficient
    statistics (standardized without a pass)."""
    if isinstance(base, DenseReference):
        x, y = problem.x_train, problem.y_train
        if run_scaling is not None:
            x, y = run_scaling.x(x), run_scaling.y(y)
        triangle = np.linalg.qr(np.column_stack([problem.design(x), y]), mode="r")
        square = np.zeros((triangle.shape[1], triangle.shape[1]))
        square[:len(triangle)] = triangle
        return square
    stats = base.in_run_space(run_scaling)
    return stats.r_aug * stats.scale


def penalty_mask(problem: Problem) -> np.ndarray:
    """1.0 for each coefficient, 0.0 for the intercept (θ₀ with an intercept, and the whitened
    design's first column with weights)."""
    mask = np.ones(problem.n_params)
    if problem.intercept or problem.intercept_column:
        mask[0] = 0.0
    return mask


def with_penalty(reference, cfg, problem: Problem):
    """``reference`` itself, or wrapped in :class:`PenalizedReference` when ``cfg`` asks for a
    penalty (on the standardized parameters when ``cfg.standardize``)."""
    if not (cfg.l1 or cfg.l2) or isinstance(reference, PenalizedReference):
        return reference
    run_scaling = reference.scaling if cfg.standardize else None
    penalty = Penalty(float(cfg.l1), float(cfg.l2), penalty_mask(problem), standardized=run_scaling is not None)
    return PenalizedReference(reference, penalty, run_scaling, problem)
