"""Least squares in one streaming pass: sufficient statistics, then everything in O(p²).

The rows arrive in chunks (``x`` ``(m, d)``, ``y`` ``(m,)``) and are never put together. Each chunk
is folded into the R factor of the augmented matrix ``[A | y]`` (``A = [1, x]`` with an intercept)
by TSQR: the running ``(p+1, p+1)`` triangle stacked on the chunk, and QR of the stack
(LAPACK ``dtpqrt``, which is made for exactly this shape); past the first rows of well-conditioned
data, by shifted Gram sums of the same accuracy at a fifth of the cost (:mod:`.gram_stream`). From ::

    R_aug = [[R, z],      A = Q R,   z = Qᵀy,   y = Q z + r*,   r* ⊥ range(A)
             [0, ρ]]

follow the least-squares solution ``θ* = R⁻¹z``, ``(AᵀA)⁻¹ = R⁻¹R⁻ᵀ`` for standard errors, the
residual norm ``‖r*‖ = |ρ|`` and, at any ``θ``, ::

    RSS(θ) = ‖Rθ − z‖² + ρ²,      ∇ MSE(θ) = 2/n Rᵀ(Rθ − z),      Hessian = 2/n RᵀR

with no cancellation near the minimum (``ρ`` is never computed as a difference of sums).
Per-column means and sums of squared deviations of ``x`` and ``y`` are merged chunk by chunk
(Chan, Golub & LeVeque), for standardization and the total sum of squares.

Memory is O(chunk · p) whatever the number of rows, and two statistics of disjoint rows merge
(:meth:`SufficientStats.merge`) into those of all the rows: what several files or several
processes (an all-reduce) need.

Accuracy: QR is backward stable, so a well-conditioned problem is solved to a few units in the
last place, whatever the chunk size (1-row chunks included). The error grows like ``eps·κ²``
when the residuals are not small: on the NIST StRD sets TSQR alone gets 11–15 correct digits on
Norris, Pontius, NoInt1/2 and Longley, but 6–13 on Wampler1–5 and 7 on Filip.
:attr:`gradfit.least_squares.closed_form.LeastSquares.needs_refinement` flags such problems with
the estimate :func:`gradfit.least_squares.dense.lstsq` uses; the caller then refines with the exact
solver (which needs the rows in memory). Column scaling does not enter: Householder QR is exactly
invariant under scaling a column by a power of two, so columns are scaled only to stay clear of
overflow (see :mod:`gradfit.least_squares.tsqr`), and the condition number and rank test use
unit-length columns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .. import limits
from ..errors import BadDataError
from .checks import check_rank
from .closed_form import LeastSquares, estimated_error
from .gram_stream import StreamAccumulator
from .tsqr import Accumulator, range_scale


@dataclass(frozen=True, eq=False)  # eq=False: == on arrays is elementwise, not a bool
class SufficientStats:
    """Everything least squares needs from the rows, in O(p²) numbers.

    Built by :func:`accumulate`, or from a :class:`gradfit.least_squares.tsqr.Accumulator` by
    :meth:`from_accumulator`; ``p`` parameters (``d`` features and the intercept, if any).

    Attributes
    ----------
    n : int
        Rows seen.
    intercept : bool
        Whether ``A``'s first column is the column of ones.
    scale : numpy.ndarray
        ``(p + 1,)`` powers of two: the columns of ``[A | y]`` were divided by these (exactly).
    r_aug : numpy.ndarray
        ``(p + 1, p + 1)`` upper-triangular R factor of ``[A | y] / scale``.
    mean, m2, max_abs : numpy.ndarray
        ``(d + 1,)`` per column of ``[x | y]``: mean, sum of squared deviations from it, max |·|.
    names : tuple of str or None
        Parameter names, intercept first (for messages).
    solution : numpy.ndarray or None
        ``(p,)`` the least-squares solution when the rows gave it more accurately than the
        triangle's ``R⁻¹z`` can (refined from the rows, :mod:`gradfit.least_squares.gram`); not
        carried through merges or standardization, which change the solution.

    Examples
    --------
    >>> x = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> stats = accumulate([(x[:3], np.array([1.0, 3.0, 5.0])), (x[3:], np.array([7.5]))])
    >>> stats.n, stats.closed_form().theta.round(6).tolist(), round(stats.closed_form().rss, 6)
    (4, [0.9, 2.15], 0.075)
    >>> round(stats.loss([1.0, 2.0]), 6), stats.gradient([1.0, 2.0]).round(6).tolist()
    (0.0625, [-0.25, -0.75])
    """

    n: int
    intercept: bool
    scale: np.ndarray
    r_aug: np.ndarray
    mean: np.ndarray
    m2: np.ndarray
    max_abs: np.ndarray
    names: tuple[str, ...] | None = None
    solution: np.ndarray | None = None

    @classmethod
    def from_accumulator(cls, acc: Accumulator) -> "SufficientStats":
        """A snapshot of the statistics ``acc`` has folded in so far (copies: ``acc`` may go on)."""
        solution = getattr(acc, "solution", None)  # (StreamAccumulator's state; TSQR has none)
        return cls(
            n=acc.n, intercept=acc.intercept, scale=acc.scale.copy(), r_aug=np.triu(acc.r_aug),
            mean=acc.mean.copy(), m2=acc.m2.copy(), max_abs=acc.max_abs.copy(), names=acc.names,
            solution=None if solution is None else solution.copy(),
        )

    # ----- shapes and the pieces of R_aug in the data's units ----------------------------

    @property
    def p(self) -> int:
        """Parameters (columns of ``A``)."""
        return len(self.scale) - 1

    @property
    def d(self) -> int:
        """Features (columns of ``x``)."""
        return len(self.mean) - 1

    @property
    def x_mean(self) -> np.ndarray:
        return self.mean[:-1]

    @property
    def y_mean(self) -> float:
        return float(self.mean[-1])

    @property
    def r(self) -> np.ndarray:
        """``(p, p)`` R of ``A = QR`` in the data's units (entries beyond ~1e±300 over/underflow)."""
        return self.r_aug[:-1, :-1] * self.scale[:-1]

    @property
    def qty(self) -> np.ndarray:
        """``(p,)`` ``z = Qᵀy``."""
        return self.r_aug[:-1, -1] * self.scale[-1]

    @property
    def residual_norm(self) -> float:
        """``‖y − Aθ*‖``, the least-squares residual norm, without cancellation."""
        return float(abs(self.r_aug[-1, -1]) * self.scale[-1])

    @property
    def tss(self) -> float:
        """Total sum of squares of ``y``: about its mean with an intercept, about zero without."""
        if self.intercept:
            return float(self.m2[-1])
        return float(self.m2[-1] + self.n * self.mean[-1] ** 2)

    # ----- the loss and its derivatives at any θ -------------------------------------------

    def _defect(self, theta) -> np.ndarray:
        """``(Rθ − z) / scale_y``, ``(p,)``: the part of the residual inside ``range(A)``."""
        theta = self._theta(theta)
        scaled_theta = theta * self.scale[:-1] / self.scale[-1]  # θ in the units of the factorised matrix
        return self.r_aug[:-1, :-1] @ scaled_theta - self.r_aug[:-1, -1]

    def rss(self, theta) -> float:
        """``‖y − Aθ‖² = ‖Rθ − z‖² + ρ²``: exact algebra, without the cancellation of expanding
        ``yᵀy − 2θᵀAᵀy + θᵀAᵀAθ`` (accurate to about ``eps·‖y‖·‖y − Aθ‖``, as float64 residuals)."""
        e = self._defect(theta)
        rho = self.r_aug[-1, -1]
        return float((math.fsum(e * e) + rho * rho) * self.scale[-1] ** 2)

    def loss(self, theta) -> float:
        """Mean squared error ``RSS(θ) / n``."""
        return self.rss(theta) / self.n

    def gradient(self, theta) -> np.ndarray:
        """``∇ MSE(θ) = 2/n Aᵀ(Aθ − y) = 2/n Rᵀ(Rθ − z)``, ``(p,)``."""
        e = self._defect(theta)
        return (2.0 / self.n) * (self.r_aug[:-1, :-1].T @ e) * self.scale[:-1] * self.scale[-1]

    def hessian(self) -> np.ndarray:
        """``2/n AᵀA = 2/n RᵀR``, ``(p, p)``."""
        r = self.r
        return (2.0 / self.n) * (r.T @ r)

    def hessian_extremes(self) -> tuple[float, float]:
        """Largest and smallest eigenvalues of the Hessian, from the singular values of ``R``."""
        singular = np.linalg.svd(self.r, compute_uv=False)
        return 2.0 * singular[0] ** 2 / self.n, 2.0 * singular[-1] ** 2 / self.n

    def quadratic(self, theta_ref) -> "SufficientQuadratic":
        """The MSE as a quadratic around ``theta_ref``, as :class:`gradfit.engines.exact.Quadratic`."""
        theta_ref = self._theta(theta_ref)
        return SufficientQuadratic(theta_ref, self.hessian(), -self.gradient(theta_ref), self.loss(theta_ref))

    # ----- the least-squares solution ---------------------------------------------------

    def closed_form(self) -> LeastSquares:
        """``θ* = R⁻¹z``, standard errors from ``R⁻¹R⁻ᵀ``, ``RSS = ρ²`` (cached).

        Float64 TSQR only (``refined`` is ``False``; ``needs_refinement`` says whether exact
        refinement would change it) and no per-row residuals (``residuals`` is ``None``).

        Raises
        ------
        BadDataError
            Fewer rows than parameters, an all-zero column, or collinear columns (named).
        """
        return self._closed

    @cached_property
    def _closed(self) -> LeastSquares:
        p, n = self.p, self.n
        names = list(self.names) if self.names else [f"column {j}" for j in range(p)]
        if n < p:
            raise BadDataError(f"{n} rows cannot determine {p} parameters; supply at least {p} rows")
        r = self.r_aug[:-1, :-1]  # (p, p), scaled units
        norms = np.linalg.norm(r, axis=0)  # (p,) lengths of the scaled columns of A
        zero = np.flatnonzero(norms == 0)
        if zero.size:
            raise BadDataError(f"column {names[zero[0]]!r} is all zeros: it cannot be fitted; drop it")
        unit = r / norms  # R of A with unit-length columns
        _check_rank(unit, names, n)
        singular = np.linalg.svd(unit, compute_uv=False)
        kappa = float(singular[0] / singular[-1])

        # NumPy's solve (LAPACK's LU: for a triangle, the triangle itself) rather than SciPy's
        # triangular solver: SciPy's own OpenBLAS wakes its threads, 1.5-17 ms after a large product.
        u = np.linalg.solve(r, self.r_aug[:-1, -1])  # (p,) θ in scaled units
        theta = u * self.scale[-1] / self.scale[:-1] if self.solution is None else self.solution.copy()
        r_inv = np.linalg.solve(r, np.eye(p))  # (p, p)
        std_err_factor = np.sqrt(np.einsum("ij,ij->i", r_inv, r_inv)) / self.scale[:-1]  # diag(R⁻¹R⁻ᵀ)
        with np.errstate(over="ignore", under="ignore"):  # only for columns beyond ~1e±150
            cov = (r_inv @ r_inv.T) / self.scale[:-1, None] / self.scale[None, :-1]
        rss = float((self.r_aug[-1, -1] * self.scale[-1]) ** 2)
        sigma = math.sqrt(rss / (n - p)) if n > p else math.nan

        # On unit-length columns, y in its own units (÷ scale_y).
        estimated = estimated_error(kappa, abs(float(self.r_aug[-1, -1])), float(np.linalg.norm(u * norms)))
        return LeastSquares(theta=theta, residuals=None, rss=rss, condition_number=kappa,
                            std_err=sigma * std_err_factor, std_err_factor=std_err_factor, cov_unscaled=cov,
                            refined=False, estimated_error=estimated,
                            needs_refinement=bool(estimated > limits.REFINE_ABOVE))

    # ----- standardization --------------------------------------------------------------

    def scaling(self):
        """The :class:`gradfit.data.design.Scaling` that ``Scaling.fit(x, y, intercept)`` gives.

        Standard deviations (``ddof=0``) with an intercept; root mean squares without one.
        """
        from ..data.design import Scaling

        n = self.n
        if self.intercept:
            mean, spread = self.mean.copy(), np.sqrt(self.m2 / n)
        else:
            mean, spread = np.zeros_like(self.mean), np.sqrt(self.m2 / n + self.mean ** 2)
        spread = np.where(spread > 0, spread, 1.0)  # a constant column has nothing to scale
        return Scaling(mean[:-1], spread[:-1], float(mean[-1]), float(spread[-1]))

    def standardized(self, scaling) -> "SufficientStats":
        """The statistics of the standardized rows ``(x − x_mean)/x_scale``, ``(y − y_mean)/y_scale``.

        No second pass: ``[A' | y'] = [A | y] M`` with ``M`` upper triangular (a diagonal, plus the
        first row holding ``−mean/scale`` when there is an intercept), so ``R'_aug = R_aug M``.
        """
        p, i0 = self.p, int(self.intercept)
        shift = np.append(scaling.x_mean, scaling.y_mean)  # (d + 1,)
        spread = np.append(scaling.x_scale, scaling.y_scale)
        m = np.zeros((p + 1, p + 1))
        m[np.arange(i0, p + 1), np.arange(i0, p + 1)] = 1.0 / spread
        if self.intercept:
            m[0, 0] = 1.0
            m[0, 1:] = -shift / spread
        r_aug = (self.r_aug * self.scale) @ m  # (p + 1, p + 1), upper triangular, data units
        max_abs = (self.max_abs + np.abs(shift)) / spread  # a bound: only scales are chosen from it
        new_scale = np.concatenate([np.ones(i0), range_scale(max_abs)])
        return SufficientStats(
            n=self.n, intercept=self.intercept, scale=new_scale, r_aug=r_aug / new_scale,
            mean=(self.mean - shift) / spread, m2=self.m2 / spread ** 2, max_abs=max_abs, names=self.names,
        )

    # ----- combining --------------------------------------------------------------------

    def merge(self, other: "SufficientStats") -> "SufficientStats":
        """The statistics of the rows of both (disjoint row sets): R's stacked and re-factorised,
        moments merged. What a multi-file run or a distributed all-reduce calls."""
        if (other.p, other.d, other.intercept) != (self.p, self.d, self.intercept):
            raise BadDataError(
                f"cannot merge statistics of {other.p} parameters (intercept={other.intercept}) into statistics of "
                f"{self.p} (intercept={self.intercept}); both must come from the same columns"
            )
        if other.n == 0:
            return self
        if self.n == 0:
            return other
        acc = Accumulator.from_stats(self)
        acc.add_stats(other)
        return SufficientStats.from_accumulator(acc)

    def to_vector(self) -> np.ndarray:
        """Every number as one float64 vector, for an all-gather across processes.

        ``[n, intercept, scale, r_aug (row-major), mean, m2, max_abs]``; ``n`` is exact below 2**53.
        Gather each process's vector (e.g. ``torch.distributed.all_gather``), rebuild each with
        :meth:`from_vector` and :meth:`merge` them: every process gets the same statistics.
        """
        return np.concatenate([[float(self.n), float(self.intercept)], self.scale, self.r_aug.ravel(),
                               self.mean, self.m2, self.max_abs])

    @classmethod
    def from_vector(cls, vector, names: list[str] | None = None) -> "SufficientStats":
        """The statistics :meth:`to_vector` wrote.

        >>> stats = accumulate([(np.array([[0.0], [1.0], [2.0]]), np.array([1.0, 3.0, 5.5]))])
        >>> again = SufficientStats.from_vector(stats.to_vector())
        >>> again.n, again.closed_form().theta.round(6).tolist() == stats.closed_form().theta.round(6).tolist()
        (3, True)
        """
        vector = np.asarray(vector, dtype=np.float64).reshape(-1)
        intercept = bool(vector[1])
        # len = 2 + w + w² + 3(w − intercept) for w = p + 1 columns of [A | y]
        width = int(round((-4 + math.sqrt(16 + 4 * (len(vector) - 2 + 3 * intercept))) / 2))
        k = width - int(intercept)
        if 2 + width + width * width + 3 * k != len(vector):
            raise BadDataError(f"a vector of {len(vector)} numbers is not a SufficientStats.to_vector() result")
        pieces = np.split(vector[2:], np.cumsum([width, width * width, k, k]))
        return cls(n=int(vector[0]), intercept=intercept, scale=pieces[0], r_aug=pieces[1].reshape(width, width),
                   mean=pieces[2], m2=pieces[3], max_abs=pieces[4], names=tuple(names) if names else None)

    def _theta(self, theta) -> np.ndarray:
        theta = np.asarray(theta, dtype=np.float64).reshape(-1)
        if theta.shape != (self.p,):
            raise BadDataError(f"theta has {theta.size} values but the model has {self.p} parameters; "
                               "pass one coefficient per column (the intercept first)")
        return theta


@dataclass(frozen=True, eq=False)
class SufficientQuadratic:
    """``MSE(θ) = ½ δᵀHδ − δᵀc + min_part`` with ``δ = θ − theta_ref`` (the interface of
    :class:`gradfit.engines.exact.Quadratic`, built from :class:`SufficientStats`)."""

    theta_ref: np.ndarray  # (p,)
    hessian: np.ndarray  # (p, p), 2/n AᵀA
    c: np.ndarray  # (p,), 2/n Aᵀ(y − A theta_ref)
    min_part: float  # MSE at theta_ref

    def gradient(self, theta: np.ndarray) -> np.ndarray:
        return self.hessian @ (theta - self.theta_ref) - self.c

    def loss(self, theta: np.ndarray) -> float:
        delta = theta - self.theta_ref
        return float(0.5 * delta @ self.hessian @ delta - delta @ self.c + self.min_part)


def accumulate(chunks, *, intercept: bool = True, names: list[str] | None = None,
               allow_empty: bool = False) -> SufficientStats | None:
    """One pass over ``chunks`` (an iterable of ``(x, y)``, ``x`` ``(m, d)``, ``y`` ``(m,)``): by TSQR,
    or by Gram sums where they are as accurate (:class:`gradfit.least_squares.gram_stream.StreamAccumulator`).

    No rows at all is an error, or ``None`` with ``allow_empty`` (a process's empty share).

    Examples
    --------
    >>> from gradfit.data.chunks import iter_array_chunks
    >>> x = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 3.0], [3.0, 1.0], [4.0, 4.0]])
    >>> y = 1.0 + x @ [2.0, -1.0] + [0.1, -0.1, 0.0, 0.1, -0.1]
    >>> accumulate(iter_array_chunks(x, y, rows=2)).closed_form().theta.round(6).tolist()
    [1.044068, 1.987119, -1.010169]
    """
    acc = None
    for x, y in chunks:
        if acc is None:
            d = 1 if np.ndim(x) == 1 else int(np.shape(x)[1])
            acc = StreamAccumulator(d, intercept, names)
        acc.add(x, y)
    if (acc is None or acc.n == 0) and allow_empty:
        return None
    if acc is None or acc.n == 0:
        raise BadDataError("no rows to fit: the data source gave no rows; check the file or the arrays")
    return SufficientStats.from_accumulator(acc.state())


def _check_rank(unit: np.ndarray, names: list[str], n: int) -> None:
    """:func:`gradfit.least_squares.checks.check_rank` with a tolerance that grows with the rows folded in.

    ``unit`` is R of the design with unit-length columns. TSQR's backward error grows with the
    number of rows, so at 10⁷ rows a duplicated column leaves ``|R_jj|`` near 1e-13, not ``p·eps``.
    """
    check_rank(unit, names, tol=16 * limits.EPS * max(unit.shape[0], math.sqrt(n)))
