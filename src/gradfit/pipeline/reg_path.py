"""The regularization path: the exact penalized answer over a grid of λ, each warm-started from
the last, and K-fold cross-validation of the choice.

The objective is :mod:`gradfit.least_squares.penalty`'s ``MSE + l2·Σw² + l1·Σ|w|`` in the space
:func:`gradfit.solve` penalizes (the standardized coefficients when standardizing), so the answer
at each λ is the one ``gradfit.solve(x, y, l1=λ, l2=…, standardize=…)`` gives. The rows are
reduced once to the triangle ``R_aug`` of ``[A | y]`` there (:func:`run_space_triangle`); every λ
is then solved from that ``(p+1, p+1)`` triangle alone.

- ``l1='auto'``: ``n_lambdas`` values, log-spaced from ``λ_max`` down to ``eps·λ_max``. ``λ_max``
  is the least l1 at which every coefficient is zero: at ``w = 0`` with the unpenalized
  parameters (the intercept) at their least-squares values, the KKT conditions hold exactly when
  ``l1 ≥ max_j |∂MSE/∂w_j|``. The ridge part's gradient ``2·l2·w`` is zero there, so an elastic
  net's ``λ_max`` is the lasso's whatever the fixed l2.
- ``l2='auto'`` (with ``l1=0``): a ridge path from ``limits.PATH_RIDGE_SHRINK·s_max`` down to
  ``s_min / PATH_RIDGE_SHRINK`` (or ``eps`` times the top), where ``s_max``, ``s_min`` are the
  extreme eigenvalues of the Gram ``RᵀR/n`` of the penalized coefficients with the unpenalized ones
  projected out. Ridge scales the least-squares coefficients along each eigenvector by
  ``s/(s + l2)``: at the top every coefficient is within 1% of zero, at the bottom within 1% of
  least squares (at most ``limits.PATH_RIDGE_DECADES`` decades down, where the Gram is singular).
- ``cv=K``: rows shuffled by ``np.random.default_rng(seed).permutation(n)`` and cut into K folds by
  ``np.array_split``; each fold's training rows get their own scaling and triangle (what
  ``gradfit.solve`` on those rows does, so nothing of the held-out rows leaks in), the same λ grid,
  and the held-out MSE on the original scale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from .. import limits
from ..data.design import Scaling
from ..data.problem import Problem
from ..errors import BadDataError, BadOptionError, option
from ..least_squares.penalty import Penalty, PenaltySolver, mse_gradient, stationarity
from ..option_checks import non_negative_int, positive_int
from ..results.path_result import PathCV, RegularizationPath, one_standard_error
from .penalized import penalty_mask, rows_reference, run_space_triangle
from .sources import InMemory, is_small, param_names


@dataclass(frozen=True)
class PathSpec:
    """The checked options of a path: which penalty varies (``l1`` or ``l2``), its values (``None``:
    the automatic grid), the other penalty's value, and the grid and CV settings."""

    varying: str
    values: tuple[float, ...] | None
    fixed: float
    n_lambdas: int
    eps: float | None  # None: limits.PATH_L1_EPS for l1, the ridge range's own end for l2
    cv: int | None
    seed: int


def path_spec(l1, l2, n_lambdas, eps, cv, seed) -> PathSpec:
    """Check a path's options (every mistake one :class:`BadOptionError` naming its option)."""
    n_lambdas = positive_int(50)("n_lambdas", n_lambdas)
    if n_lambdas > limits.PATH_MAX_LAMBDAS:
        raise BadOptionError("n_lambdas", n_lambdas, f"must be at most {limits.PATH_MAX_LAMBDAS:,}",
                             "no choice of λ needs a finer grid")
    eps = None if eps is None else _eps(eps)
    if cv is not None:
        cv = positive_int(5)("cv", cv)
        if cv < 2:
            raise BadOptionError("cv", cv, "must be at least 2 folds", f"e.g. {option('cv', 5)}")
    seed = non_negative_int("seed", seed)
    l1_auto, l2_auto = _is_auto(l1), _is_auto(l2)
    if l1_auto and l2_auto:
        raise BadOptionError("l2", "auto", f"a path varies one penalty, and {option('l1', 'auto')} varies l1",
                             f"fix l2 (e.g. {option('l2', 0.1)}: an elastic-net path), or set "
                             f"{option('l1', 0)} for a ridge path")
    if l2_auto or _is_list(l2):
        l1_value = _values("l1", l1, allow_auto=False)
        if l1_value != (0.0,):
            raise BadOptionError("l1", l1, "a ridge path (l2 varying) has no lasso part",
                                 f"set {option('l1', 0)}, or fix l2 and vary l1")
        return PathSpec("l2", None if l2_auto else _values("l2", l2), 0.0, n_lambdas, eps, cv, seed)
    fixed = _values("l2", l2, allow_auto=False)
    if len(fixed) != 1:
        raise BadOptionError("l2", l2, "must be one number while l1 varies")
    return PathSpec("l1", None if l1_auto else _values("l1", l1), fixed[0], n_lambdas, eps, cv, seed)


def _eps(eps) -> float:
    try:
        value = float(eps)
    except (TypeError, ValueError):
        value = math.nan
    if isinstance(eps, bool) or not 0.0 < value < 1.0:
        raise BadOptionError("eps", eps, "must be a number between 0 and 1 (the smallest λ as a fraction of the "
                             "largest)", f"e.g. {option('eps', 0.001)}")
    return value


def _is_auto(value) -> bool:
    return isinstance(value, str) and value.strip().lower() == "auto"


def _is_list(value) -> bool:
    return (isinstance(value, str) and "," in value) or isinstance(value, (list, tuple, np.ndarray))


def _values(name: str, value, allow_auto: bool = True) -> tuple[float, ...]:
    """A penalty's values, largest first: a number, a list, or ``"0.1,0.01"`` (each ≥ 0, finite)."""
    items = value.split(",") if isinstance(value, str) else np.ravel(np.asarray(value, dtype=object)).tolist()
    wanted = "'auto' or values of zero or more" if allow_auto else "a penalty of zero or more"
    listed = option(name, "1,0.1,0.01", python=f"{name}=[1, 0.1, 0.01]")
    fix = f"e.g. {option(name, 'auto')} or {listed}" if allow_auto else f"e.g. {option(name, 0.1)}"
    numbers = []
    for item in items:
        try:
            number = math.nan if isinstance(item, bool) else float(str(item).strip())
        except ValueError:
            number = math.nan
        if not (0.0 <= number <= limits.MAX_PENALTY):
            raise BadOptionError(name, value, f"must be {wanted} (finite, at most {limits.MAX_PENALTY:g})", fix)
        numbers.append(number)
    if not numbers:
        raise BadOptionError(name, value, f"must be {wanted}: none was given", fix)
    return tuple(sorted(set(numbers), reverse=True))


@dataclass
class PenalizedSpace:
    """One set of training rows reduced to ``R_aug`` where the penalty acts, and what maps its
    answers back: ``run_scaling`` (``None``: the original scale) and the rows' own ``scaling``."""

    triangle: np.ndarray  # (p+1, p+1)
    n: int
    mask: np.ndarray  # (p,) 1.0 for a penalized coefficient
    intercept: bool  # a column of ones in the design (not the whitened one)
    scaling: Scaling
    run_scaling: Scaling | None

    @classmethod
    def of(cls, problem: Problem, standardize: bool) -> "PenalizedSpace":
        """What :func:`gradfit.solve` builds for these rows with a penalty: their reference (as
        :func:`gradfit.pipeline.penalized.reference_of` picks it: small rows straight to the
        penalized answer, where least squares need not exist), its scaling, the triangle."""
        base = rows_reference(InMemory(problem), penalized=True)
        run_scaling = base.scaling if standardize else None
        return cls(run_space_triangle(base, run_scaling, problem), base.n, penalty_mask(problem), problem.intercept,
                   base.scaling, run_scaling)

    def null_answer(self) -> np.ndarray:
        """Every penalized coefficient zero, the others (the intercept) at their least squares."""
        p = len(self.mask)
        r, z = self.triangle[:p, :p], self.triangle[:p, p]
        theta, free = np.zeros(p), np.flatnonzero(self.mask == 0.0)
        if free.size:
            theta[free] = np.linalg.lstsq(r[:, free], z, rcond=None)[0]
        return theta

    def lambda_max_l1(self) -> float:
        """The least l1 that zeroes every coefficient: ``max_j |∂MSE/∂w_j|`` at :meth:`null_answer`."""
        gradient = mse_gradient(self.triangle, self.n, self.null_answer())
        return float(np.max(np.abs(gradient[self.mask > 0]), initial=0.0))

    def ridge_range(self) -> tuple[float, float]:
        """The top and the end of a ridge path: ``PATH_RIDGE_SHRINK × s_max`` and ``s_min /
        PATH_RIDGE_SHRINK`` (at most ``PATH_RIDGE_DECADES`` below), ``s`` the eigenvalues of the
        penalized block's Gram with the unpenalized columns projected out (``σ(M)²/n``, ``M``
        their least-squares residual in the triangle)."""
        p = len(self.mask)
        r = self.triangle[:p, :p]
        penalized, free = r[:, self.mask > 0], r[:, self.mask == 0.0]
        if free.shape[1]:
            penalized = penalized - free @ np.linalg.lstsq(free, penalized, rcond=None)[0]
        s = np.linalg.svd(penalized, compute_uv=False) ** 2 / self.n if penalized.size else np.zeros(1)
        top = float(limits.PATH_RIDGE_SHRINK * s.max())
        # (fewer rows than coefficients, or collinear columns: s_min is 0 to rounding, and the cap ends it)
        return top, float(max(s.min() / limits.PATH_RIDGE_SHRINK, top * 10.0 ** -limits.PATH_RIDGE_DECADES))

    def penalty(self, spec: PathSpec, value: float) -> Penalty:
        l1, l2 = (value, spec.fixed) if spec.varying == "l1" else (spec.fixed, value)
        return Penalty(float(l1), float(l2), self.mask, standardized=self.run_scaling is not None)

    def solve_path(self, spec: PathSpec, lambdas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(L, p)`` the answers where the penalty acts, largest λ first, each warm-starting the
        next; ``(L,)`` their scale-free KKT residuals. At ``l1 ≥ λ_max`` the answer is known
        exactly (:meth:`null_answer`) and not left to rounding in coordinate descent."""
        null, top = self.null_answer(), self.lambda_max_l1() if spec.varying == "l1" else math.inf
        theta, thetas, kkt, solver = null, [], [], PenaltySolver(self.triangle, self.n)
        for value in lambdas:
            penalty = self.penalty(spec, value)
            theta = null if value >= top else solver.solve(penalty, theta0=theta).theta
            thetas.append(theta)
            kkt.append(self.scale_free_kkt(theta, penalty))
        return np.array(thetas), np.array(kkt)

    def scale_free_kkt(self, theta: np.ndarray, penalty: Penalty) -> float:
        """The stationarity residual's norm with features and target at unit variance (as
        :func:`gradfit.solve` reports ``kkt_closed_form``)."""
        residual = stationarity(theta, mse_gradient(self.triangle, self.n, theta), penalty)
        if self.run_scaling is None:
            residual = self.scaling.gradient_to_scaled(residual, self.intercept)
        return float(np.linalg.norm(residual))

    def to_original(self, thetas: np.ndarray) -> np.ndarray:
        """``(L, p)`` answers on the original scale."""
        if self.run_scaling is None:
            return thetas.copy()
        return np.array([self.run_scaling.to_original(theta, self.intercept) for theta in thetas])


def grid(space: PenalizedSpace, spec: PathSpec) -> tuple[np.ndarray, float]:
    """The λ values (largest first) and the automatic grid's top (:class:`PenalizedSpace`)."""
    if spec.varying == "l1":
        top = space.lambda_max_l1()
        bottom = top * (limits.PATH_L1_EPS if spec.eps is None else spec.eps)
    else:
        top, bottom = space.ridge_range()
        bottom = bottom if spec.eps is None else top * spec.eps
    if spec.values is not None:
        return np.array(spec.values), top
    if not top > 0:
        why = "no feature is correlated with the target" if spec.varying == "l1" else "every feature is constant"
        raise BadDataError(f"every coefficient is zero at any {spec.varying} ({why} in these rows), so there is no "
                           "path to draw")
    return np.geomspace(top, bottom, spec.n_lambdas) if spec.n_lambdas > 1 else np.array([top]), top


def fold_of_rows(n: int, folds: int, seed: int) -> np.ndarray:
    """``(n,)`` each row's fold: ``np.array_split`` of the seeded permutation of the rows."""
    fold_of_row = np.empty(n, dtype=np.int64)
    for k, rows in enumerate(np.array_split(np.random.default_rng(seed).permutation(n), folds)):
        fold_of_row[rows] = k
    return fold_of_row


def rows_of(problem: Problem, keep: np.ndarray) -> Problem:
    """The training rows ``keep`` (a boolean ``(n,)``) as a problem of their own (no validation rows)."""
    def take(values):
        return None if values is None else values[keep]

    return replace(problem, x_train=problem.x_train[keep], y_train=problem.y_train[keep], x_val=None, y_val=None,
                   x_train_lo=take(problem.x_train_lo), cluster=None, n_groups=0, weights=take(problem.weights),
                   val_weights=None)


def check_folds(spec: PathSpec, n: int) -> None:
    """At most one fold per row."""
    if spec.cv is not None and spec.cv > n:
        raise BadOptionError("cv", spec.cv, f"must be at most the number of rows ({n})",
                             f"e.g. {option('cv', min(5, n))}")


def cross_validate(problem: Problem, spec: PathSpec, lambdas: np.ndarray, standardize: bool) -> PathCV:
    """Each fold's held-out MSE at each λ, fitted on the other folds' rows alone."""
    n = len(problem.y_train)
    check_folds(spec, n)
    fold_of_row = fold_of_rows(n, spec.cv, spec.seed)
    mse = np.empty((spec.cv, len(lambdas)))  # (K, L)
    folds = FoldTriangles.of(problem, fold_of_row, spec.cv)
    for k in range(spec.cv):
        held = fold_of_row == k
        space = PenalizedSpace.of(rows_of(problem, ~held), standardize) if folds is None else \
            folds.training_space(problem, ~held, k, standardize)
        thetas = space.to_original(space.solve_path(spec, lambdas)[0])  # (L, p)
        mse[k] = held_out_mse(problem, held, thetas) if folds is None else folds.held_out_mse(k, thetas)
    mean, se = mse.mean(axis=0), mse.std(axis=0, ddof=1) / math.sqrt(spec.cv)
    best, one_se = one_standard_error(mean, se)
    return PathCV(spec.cv, spec.seed, fold_of_row, mse, mean, se, best, one_se)


@dataclass(frozen=True)
class FoldTriangles:
    """Cross-validation's rows reduced once: each fold's triangle of ``B = [1 | x − c | y − c_y]``
    (``c`` the means of all the rows: an exact change of basis of ``[1 | x | y]`` that keeps the
    columns near zero), from which each training set's triangle is one small QR of the other
    folds' stacked triangles, and each held-out MSE a product with the fold's own. Every row is
    reduced once, where refitting each training set reads ``K − 1`` folds' rows ``K`` times.

    For models with an intercept and unweighted rows small enough for the dense QR (the other
    cases fit each fold's rows as :func:`gradfit.solve` would: :meth:`PenalizedSpace.of`).
    """

    centre: np.ndarray  # (d + 1,) c and c_y
    triangles: tuple  # K triangles (≤ p + 1, p + 1) of B's rows in each fold
    sizes: tuple  # rows per fold

    @classmethod
    def of(cls, problem: Problem, fold_of_row: np.ndarray, folds: int) -> "FoldTriangles | None":
        plain = problem.intercept and not problem.intercept_column and problem.weights is None
        if not plain or not is_small(problem):
            return None
        centre = np.append(problem.x_train.mean(axis=0), problem.y_train.mean())
        shifted = np.column_stack([problem.x_train, problem.y_train]) - centre  # (n, d + 1)
        rows = np.column_stack([np.ones(len(fold_of_row)), shifted])
        parts = [rows[fold_of_row == k] for k in range(folds)]
        return cls(centre, tuple(np.linalg.qr(part, mode="r") for part in parts), tuple(len(part) for part in parts))

    def training_space(self, problem: Problem, train: np.ndarray, k: int, standardize: bool) -> PenalizedSpace:
        """Fold ``k``'s training rows ``train`` as :meth:`PenalizedSpace.of` makes them (their own
        scaling); the triangle in the run space is ``R_B·T``, ``R_B`` the QR of the other folds'
        stacked triangles and ``T`` the unit-triangular change of basis from ``B`` to
        ``[1 | (x − m)/s | (y − m_y)/s_y]`` (the fold's means and scales), or to ``[1 | x | y]``
        without standardizing."""
        stacked = np.vstack([triangle for j, triangle in enumerate(self.triangles) if j != k])
        triangle = np.linalg.qr(stacked, mode="r")  # (≤ p + 1, p + 1)
        square = np.zeros((triangle.shape[1], triangle.shape[1]))  # (zero rows below fewer rows than columns)
        square[:len(triangle)] = triangle
        scaling = Scaling.fit(problem.x_train[train], problem.y_train[train], True)
        width = len(square)
        basis = np.eye(width)
        if standardize:
            means, scales = np.append(scaling.x_mean, scaling.y_mean), np.append(scaling.x_scale, scaling.y_scale)
            basis[0, 1:] = -(means - self.centre) / scales
            basis[np.arange(1, width), np.arange(1, width)] = 1.0 / scales
        else:
            basis[0, 1:] = self.centre
        return PenalizedSpace(square @ basis, int(np.count_nonzero(train)), penalty_mask(problem), True, scaling,
                              scaling if standardize else None)

    def held_out_mse(self, k: int, thetas: np.ndarray) -> np.ndarray:
        """``(L,)`` fold ``k``'s mean squared residual at each row of ``thetas`` ``(L, p)`` (the
        original scale): ``y − b − x·w = B·[c_y − b − c·w; −w; 1]``."""
        c, c_y = self.centre[:-1], self.centre[-1]
        vectors = np.column_stack([c_y - thetas[:, 0] - thetas[:, 1:] @ c, -thetas[:, 1:], np.ones(len(thetas))])
        residuals = self.triangles[k] @ vectors.T  # (·, L)
        return np.einsum("il,il->l", residuals, residuals) / self.sizes[k]


def held_out_mse(problem: Problem, held: np.ndarray, thetas: np.ndarray) -> np.ndarray:
    """``(L,)`` the mean squared residual of the rows ``held`` at each row of ``thetas`` ``(L, p)``.

    From the triangle of the held rows' ``[A | y]``: ``‖Aθ − y‖² = ‖R_aug·[θ; −1]‖²``, so one QR of
    the ``m`` rows serves every λ (an ``(m, L)`` array of residuals, 16 MB at 20,000 rows and 100 λ,
    is never made). Whitened rows (weights): the mean is ``Σ wᵢrᵢ² / m``.
    """
    rows = np.column_stack([problem.design(problem.x_train[held]), problem.y_train[held]])  # (m, p + 1)
    triangle = np.linalg.qr(rows, mode="r")  # (min(m, p + 1), p + 1)
    residuals = triangle @ np.vstack([thetas.T, -np.ones(len(thetas))])  # (·, L)
    return np.einsum("il,il->l", residuals, residuals) / len(rows)


def path_of(problem: Problem, spec: PathSpec, standardize: bool) -> RegularizationPath:
    """The path of ``problem``'s training rows (and its CV when ``spec.cv``)."""
    check_folds(spec, len(problem.y_train))  # before any work
    space = PenalizedSpace.of(problem, standardize)
    lambdas, top = grid(space, spec)
    run, kkt = space.solve_path(spec, lambdas)
    n_nonzero = np.count_nonzero(run * space.mask, axis=1)  # (the intercept, wherever it is, not counted)
    return RegularizationPath(
        varying=spec.varying, lambdas=lambdas, fixed=spec.fixed, lambda_max=top, names=param_names(problem),
        coefficients=space.to_original(run), run_coefficients=run, n_nonzero=n_nonzero, kkt=kkt,
        standardized=standardize, n=space.n, model_intercept=problem.model_intercept,
        cv=None if spec.cv is None else cross_validate(problem, spec, lambdas, standardize))
