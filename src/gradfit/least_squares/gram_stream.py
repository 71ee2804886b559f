"""Streamed chunks folded by TSQR, or by Gram sums wherever they are as accurate.

TSQR (:class:`gradfit.least_squares.tsqr.Accumulator`) costs a Householder QR of every chunk:
2–3 ms for 65,536 × 11, twice the time pyarrow takes to decode the chunk. A Gram matrix of the
same chunk is one BLAS product (syrk), a fifth of that work. The normal equations it leads to
lose accuracy in two ways, and both are closed here before any rows are read that way:

- **columns far from zero** (``κ`` of ``[1, x]`` grows with ``|mean| / std``): the columns are
  shifted by the first rows' means ``c``, an exact change of basis with the intercept;
- **``κ²`` and cancellation**: the target is shifted by the first rows' answer ``θ₀``, so the
  sums are those of ``[1 | x − c | y − Aθ₀]``, whose last column is nearly the residual. Solving
  for ``δ = θ* − θ₀`` then errs by about ``eps·κ²·(‖δ‖ + ‖y − Aθ₀‖)`` (unit-length columns),
  which stays within float64 QR's own ``eps·(κ‖θ‖ + κ²‖r*‖)`` while ``‖δ‖ ≤ max(‖r*‖, ‖θ‖/κ)``,
  and the residual norm ``ρ`` is no difference of large sums.

So :class:`StreamAccumulator` folds the first ``START_ROWS`` rows by TSQR, takes ``c`` and ``θ₀``
from them, and goes on by Gram sums if their shifted columns' condition number is within
``MAX_CONDITION``. After every chunk it factors the sums (Cholesky, ``(p+1)²``) and
checks that bound and that limit again; a chunk that would break one, or that holds a value that
is not finite (TSQR then names its row), is folded by TSQR instead, starting from the Gram
triangle so far, and so is the rest of the pass. Both shifts are undone on the final triangle.
Small data (under ``START_ROWS`` rows) and ill-conditioned data are TSQR's alone, bit for bit as
before: NIST's sets, for one.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from .. import limits
from .gram_sums import Shift, blas_threads_for, gram_sums, unit_condition
from .tsqr import Accumulator

# Rows TSQR folds before the pass chooses its path: enough to place the columns (the shift) and
# the answer (θ₀) and to judge their condition; a first chunk of the default size is more.
START_ROWS = 4096
# The largest condition number (shifted, unit-length columns) the Gram sums take. The solution
# keeps QR's accuracy at any κ the bound allows, but the covariance (standard errors) comes from
# the Cholesky triangle, with an error of eps·κ² where TSQR's is nearer eps·κ: 2e-12 at 100, so
# the standard errors keep 11.6 digits (measured: TSQR's 1e-14, these sums' 1e-12 on columns
# near 100 without an intercept, which no shift can move). The in-memory path allows 1e3.
MAX_CONDITION = 100.0


class StreamAccumulator:
    """Folds chunks of rows into sufficient statistics (see the module); :meth:`state` has the
    public state of :class:`gradfit.least_squares.tsqr.Accumulator`, and ``solution``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(5.0, 2.0, size=(20_000, 2))
    >>> y = 1.0 + x @ [2.0, -3.0] + rng.normal(size=20_000)
    >>> acc = StreamAccumulator(2)
    >>> for start in range(0, 20_000, 5_000):
    ...     acc.add(x[start:start + 5_000], y[start:start + 5_000])
    >>> acc.by_gram, acc.n, acc.state().solution.round(1).tolist()
    (True, 20000, [1.0, 2.0, -3.0])
    """

    def __init__(self, d: int, intercept: bool = True, names: list[str] | None = None) -> None:
        self.tsqr = Accumulator(d, intercept, names)
        self.by_gram, self.decided = False, False

    @property
    def n(self) -> int:
        return self.start.n + self.gram_n if self.by_gram else self.tsqr.n

    def add(self, x, y) -> None:
        """Fold in the rows ``x`` ``(m, d)``, ``y`` ``(m,)`` (see :meth:`Accumulator.add`)."""
        with blas_threads_for(self.tsqr.d + 2):
            self._add(x, y)

    def _add(self, x, y) -> None:
        x, y = np.asarray(x), np.asarray(y)
        if self.by_gram:
            if len(y) == 0 or self._add_gram(x, y):
                return
            self.tsqr, self.by_gram = Accumulator.from_stats(self.state()), False  # TSQR from here on
        head = START_ROWS - self.tsqr.n  # rows still to fold before the choice
        if self.decided or len(y) < head:
            self.tsqr.add(x, y)
            return
        # This chunk reaches START_ROWS: the choice is made on its head, folded into a copy of the
        # state, so that if TSQR goes on it folds the chunk whole, as it always did.
        self.decided = True
        trial = Accumulator.from_stats(self.tsqr)
        trial.add(x[:head], y[:head])
        if self._start_gram(trial):
            self._add(x[head:], y[head:])
        else:
            self.tsqr.add(x, y)

    def state(self):
        """The statistics of the rows so far: ``n``, ``intercept``, ``names``, ``d``, ``scale``,
        ``r_aug`` (R of ``[A | y] / scale``), ``mean``, ``m2``, ``max_abs`` and ``solution``
        (``θ₀ + δ``, more accurate than ``R⁻¹z``; ``None`` from TSQR)."""
        if not self.by_gram:
            return self.tsqr
        start, triangle, p = self.start, self.triangle, self.start.p
        # θ in the shifted basis: θ₀ + δ
        shifted = self.basis.theta0(start.intercept) + np.linalg.solve(triangle[:p, :p], triangle[:p, p])
        theta = shifted.copy()
        if start.intercept:
            theta[0] -= self.basis.x @ shifted[1:]  # b = b_shifted − c·w
        r_aug = np.triu(triangle @ self.basis.undo(p))  # R of [A | y] itself
        r_aug[:p, p] = r_aug[:p, :p] @ theta
        r_aug[p, p] = abs(triangle[p, p])
        mean, m2, max_abs = self._moments()
        return SimpleNamespace(n=self.n, intercept=start.intercept, names=start.names, d=start.d,
                               scale=np.ones(p + 1), r_aug=r_aug, mean=mean, m2=m2, max_abs=max_abs, solution=theta)

    def _start_gram(self, acc: Accumulator) -> bool:
        """Go on by Gram sums from ``acc`` (the first rows) if their columns allow it (see the module)."""
        p, i0, d = acc.p, int(acc.intercept), acc.d
        r = np.triu(acc.r_aug)
        if np.any(acc.scale != 1.0) or unit_condition(r[:p, :p]) * limits.EPS > 1e-3:
            return False  # columns of extreme magnitude (TSQR scales them), or (nearly) rank-deficient so far
        theta0 = np.linalg.solve(r[:p, :p], r[:p, p])
        shift = acc.mean[:-1].copy() if acc.intercept else np.zeros(d)
        to_shifted = np.eye(p + 1)  # [1 | x − c | y − b₀ − xw₀] = [1 | x | y] · to_shifted
        to_shifted[i0:p, p] = -theta0[i0:]
        if acc.intercept:
            to_shifted[0, 1:p], to_shifted[0, p] = -shift, -theta0[0]
        triangle = r @ to_shifted
        if unit_condition(triangle[:p, :p]) > MAX_CONDITION:
            return False
        self.start = SimpleNamespace(n=acc.n, intercept=acc.intercept, names=acc.names, d=d, p=p,
                                     mean=acc.mean.copy(), m2=acc.m2.copy(), max_abs=acc.max_abs.copy())
        self.triangle = triangle
        # [1 | x − c | y − t₀ − (x − c)w₀], with t₀ the intercept of θ₀ in the shifted basis
        self.basis = Shift(shift, theta0[0] + shift @ theta0[1:] if acc.intercept else 0.0, theta0[i0:])
        self.start_gram = triangle.T @ triangle  # (p + 1, p + 1): the first rows, in the shifted basis
        self.rows_gram, self.gram_n = np.zeros((d + 2, d + 2)), 0  # [1 | x − c | y − Aθ₀] of the later rows
        self.by_gram = True
        return True

    def _add_gram(self, x: np.ndarray, y: np.ndarray) -> bool:
        """Add one chunk by Gram sums; ``False`` (nothing added) where TSQR must take it."""
        d, p, i0 = self.start.d, self.start.p, int(self.start.intercept)
        x = x[:, None] if x.ndim == 1 and d == 1 else x
        if x.ndim != 2 or x.shape[1] != d or y.shape != (len(x),) or not {x.dtype.kind, y.dtype.kind} <= set("biuf"):
            return False  # TSQR's checks name what is wrong
        rows_gram = self.rows_gram + self._chunk_gram(x, y)
        if not np.isfinite(rows_gram).all():
            return False  # a NaN or an infinity (TSQR names its row), or squares beyond float64
        try:  # the ones column is A's with an intercept, only the sums' without
            triangle = np.linalg.cholesky(self.start_gram + rows_gram[1 - i0:, 1 - i0:]).T
        except np.linalg.LinAlgError:
            return False
        r = triangle[:p, :p]
        norms = np.linalg.norm(r, axis=0)  # (p,) lengths of the shifted columns
        delta = np.linalg.solve(r, triangle[:p, p]) * norms  # δ on unit-length columns
        kappa = unit_condition(r)
        theta = float(np.linalg.norm(self.basis.theta0(self.start.intercept) * norms + delta))
        if kappa > MAX_CONDITION or np.linalg.norm(delta) > max(abs(triangle[p, p]), theta / kappa):
            return False  # no longer as accurate as QR (see the module)
        self.rows_gram, self.triangle, self.gram_n = rows_gram, triangle, self.gram_n + len(y)
        return True

    def _chunk_gram(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """``BᵀB`` of ``B = [1 | x − c | y − t₀ − (x − c)w₀]`` ``(d + 2, d + 2)``: the ones column
        is the sums' (with or without an intercept)."""
        with np.errstate(all="ignore"):  # (a value that is not finite shows in the sums)
            return gram_sums(x, y, self.basis, intercept=True)[0]

    def _moments(self):
        """Mean, M2 and a bound of max |·| per column of ``[x | y]``: the first rows' merged with the
        later rows' (their sums about ``c`` and ``t₀``, where little is left to cancel)."""
        start, n = self.start, self.gram_n
        if n == 0:
            return start.mean, start.m2, start.max_abs
        # of [1, x − c, y − t₀]: y − t₀ = (x − c)·w₀ + (y − t₀ − (x − c)w₀)
        gram, sums = self.basis.of_target(self.rows_gram, self.rows_gram[0, 1:], intercept=True)
        squares = np.diag(gram)[1:]
        mean = np.append(self.basis.x, self.basis.t0) + sums / n
        m2 = np.maximum(squares - sums * sums / n, 0.0)
        delta, total = mean - start.mean, start.n + n  # Chan, Golub & LeVeque's merge
        merged_m2 = start.m2 + m2 + delta * delta * (start.n * n / total)
        # |value| ≤ |mean| + √M2: a bound, not a pass (only scales are chosen from max_abs)
        return start.mean + delta * (n / total), merged_m2, np.maximum(start.max_abs, np.abs(mean) + np.sqrt(m2))


