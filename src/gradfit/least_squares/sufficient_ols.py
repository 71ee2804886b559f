"""OLS statistics from sufficient statistics: :class:`SufficientOLSStats` (streamed or gathered
rows: no per-row residuals) and :class:`RowsOLSStats` (rows still in memory, reduced by the Gram
fast path: residuals from the rows when asked for).

Every statistic but the residuals is :class:`gradfit.least_squares.statistics.OLSStats`' own code
over ``RSS(θ) = ‖Rθ − z‖² + ρ²``, the total sum of squares from the moments, and ``(AᵀA)⁻¹`` from
``R``, so the two kinds cannot drift apart.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cached_property

import numpy as np

from .. import limits
from ..errors import BadDataError, BadOptionError
from .covariance import CovarianceSpec
from .gram_sums import blas_threads_for
from .residual_tests import residual_tests
from .row_pass import RowPass, combine, moment_tests, row_blocks
from .statistics import OLSStats



class SufficientOLSStats(OLSStats):
    """:class:`gradfit.least_squares.statistics.OLSStats` at ``theta`` (default: the least-squares solution) from
    :class:`gradfit.least_squares.sufficient.SufficientStats`.

    Parameters
    ----------
    sufficient : SufficientStats
    theta : array_like, optional
        ``(p,)``, intercept first; need not be the minimiser (a gradient-descent answer).
    names : list of str, optional
        Parameter names; by default the statistics' own, else ``intercept, x1, x2, …``.
    alpha : float
        Confidence intervals at ``1 - alpha``.
    covariance : CovarianceSpec, optional
        Classical by default. A robust covariance (and the residual tests) need the rows: those
        of :class:`RowsOLSStats`, or a second pass over them through ``rows``.
    rows : callable, optional
        ``rows(theta)`` → ``(design, residuals)`` blocks of this process's rows in order (a file
        streamed again, a process's share); ``group`` adds every process's sums in rank order,
        and ``ordered=False`` says the processes' rows do not follow one another (Durbin–Watson
        is then undefined). ``tests=False`` leaves the residual tests out unless the pass runs
        anyway for a robust covariance (a streamed file is not read twice for them alone).

    Examples
    --------
    >>> from gradfit.least_squares.sufficient import accumulate
    >>> x = np.array([0.0, 1.0, 2.0, 3.0, 4.0]); y = np.array([1.1, 2.9, 5.2, 6.8, 9.1])
    >>> res = SufficientOLSStats(accumulate([(x[:2], y[:2]), (x[2:], y[2:])]))
    >>> round(res.r_squared, 6), res.df_resid, res.std_err.round(4).tolist()  # as statsmodels
    (0.997305, 3, [0.1463, 0.0597])
    """

    def __init__(self, sufficient, theta=None, names: list[str] | None = None, alpha: float = 0.05,
                 covariance: CovarianceSpec | None = None, *, model_intercept: bool | None = None,
                 weighting=None, rows=None, group=None, ordered: bool = True, tests: bool = True) -> None:
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0.0 < alpha < 1.0:
            raise BadOptionError("alpha", alpha, "must be a number strictly between 0 and 1",
                                 "use 0.05 for 95% confidence intervals")
        self.sufficient = sufficient
        self.closed = sufficient.closed_form()
        p, intercept = sufficient.p, sufficient.intercept
        self.theta = self.closed.theta.copy() if theta is None else np.asarray(theta, dtype=np.float64).reshape(-1)
        if self.theta.shape != (p,):
            raise BadDataError(f"theta has shape {self.theta.shape} but the model has {p} parameters; "
                               "pass one coefficient per column")
        if names is None:
            names = list(sufficient.names) if sufficient.names else \
                (["intercept"] if intercept else []) + [f"x{j + 1}" for j in range(p - int(intercept))]
        # The model's intercept: the design's column of ones, or (weighted) its whitened first column.
        self.intercept = bool(intercept if model_intercept is None else model_intercept)
        self.weighting = weighting
        self.alpha = float(alpha)
        self._names = list(names)
        self._design_lo = None
        self.covariance = covariance or CovarianceSpec()
        self._rows, self._group, self._ordered = rows, group, ordered
        self._tests = tests or self.covariance.robust
        counts_clusters = self.covariance.kind == "cluster" and self.covariance.groups is None
        if rows is not None and ((group is not None and self._tests) or counts_clusters):
            # now: a collective every process takes part in, whichever reports later; and the
            # number of streamed clusters, which the header and the F test need
            self._second_pass

    def blocks(self):
        if self._rows is not None:
            yield from self._rows(self.theta)
            return
        raise BadDataError("per-row statistics (robust covariances, influence) need the rows, which sufficient "
                           "statistics do not keep; give rows= (theta → blocks of design and residuals)")

    @cached_property
    def _second_pass(self):
        """The robust middle and the residuals' sums of every row, from one more pass over them."""
        rows = RowPass(self.covariance, self.closed.cov_unscaled)
        for block in self.blocks():
            rows.add(*block)
        parts = [rows.part()] if self._group is None else self._group.all_gather(rows.part())
        cov, moments = combine(parts, self.covariance, self.closed.cov_unscaled, self.n_obs)
        if self.covariance.kind == "cluster" and self.covariance.groups is None:  # the pass counted the clusters
            self.covariance = replace(self.covariance, n_groups=moments["n_groups"])
        return cov, moments

    def influence_frames(self):
        """As :meth:`OLSStats.influence_frames`; with a process group, a collective: every process's
        rows, in rank order, on every process (the processes' rows must follow one another)."""
        if self._group is None:
            yield from super().influence_frames()
            return
        if not self._ordered:
            raise BadDataError("the influence table of a file streamed under torchrun is not available (the "
                               "processes read interleaved blocks); stream it in one process")
        import pandas as pd

        local = pd.concat(list(super().influence_frames()), ignore_index=True)
        yield from self._group.all_gather(local)

    @cached_property
    def cov_params(self) -> np.ndarray:
        if self.covariance.robust and self._rows is not None:
            return self._second_pass[0]
        return super().cov_params

    @cached_property
    def diagnostics(self) -> dict[str, float] | None:
        if self._rows is None or not self._tests:  # no rows, or not read again for these alone
            return None
        tests = moment_tests(self._second_pass[1])
        if not self._ordered:
            tests["durbin_watson"] = float("nan")
        return tests

    @property
    def residuals(self):
        raise AttributeError("per-row residuals are not kept when streaming; compute y - design @ theta "
                             "chunk by chunk if you need them")

    @cached_property
    def rss(self) -> float:
        if np.array_equal(self.theta, self.closed.theta):
            return self.closed.rss
        return self.sufficient.rss(self.theta)

    @cached_property
    def tss(self) -> float:
        if self.weighting is not None and self.intercept:
            # About the weighted mean: the residual sum of squares of the intercept column alone,
            # ‖z[1:]‖² + ρ² from the triangle of [√w, √w·x | √w·y].
            column = self.sufficient.r_aug[1:, -1] * self.sufficient.scale[-1]
            return float(column @ column)
        return self.sufficient.tss

    @cached_property
    def n_obs(self) -> int:
        return int(self.sufficient.n)

    @cached_property
    def df_model(self) -> int:
        return int(self.sufficient.p - self.intercept)

    @cached_property
    def design_intercept(self) -> bool:
        """Whether the design has a column of ones (not so for whitened rows)."""
        return bool(self.sufficient.intercept)

    @cached_property
    def df_resid(self) -> int:
        return int(self.sufficient.n - self.sufficient.p)


class RowsOLSStats(SufficientOLSStats):
    """:class:`SufficientOLSStats` of rows still in memory: every statistic from the sufficient
    statistics (O(p²)), and the per-row residuals from the rows when asked for.

    Parameters
    ----------
    sufficient : SufficientStats
        Of the rows ``x`` ``(n, d)`` and ``y`` ``(n,)``.
    x, y : numpy.ndarray
        The rows (not copied).
    theta, names, alpha
        As :class:`SufficientOLSStats`.
    """

    def __init__(self, sufficient, x: np.ndarray, y: np.ndarray, theta=None, names: list[str] | None = None,
                 alpha: float = 0.05, covariance: CovarianceSpec | None = None, **model) -> None:
        super().__init__(sufficient, theta, names, alpha, covariance, **model)
        self._x, self._y = x, y

    def blocks(self):
        """``(design, residuals, labels)`` blocks of the rows in order, each design block built as it is used."""
        rows = limits.STATS_BLOCK_ROWS
        chunks = ((self._x[start:start + rows], self._y[start:start + rows]) for start in range(0, len(self._y), rows))
        yield from row_blocks(chunks, self.theta, self.design_intercept)

    @cached_property
    def diagnostics(self) -> dict[str, float]:
        """The residual tests, from the rows' residuals (as :class:`OLSStats`)."""
        with blas_threads_for(self._x.shape[1] + 1, self._x.size):  # (level-1 and -2 products)
            return residual_tests(self.residuals)

    @cached_property
    def residuals(self) -> np.ndarray:
        """``(n,)`` ``y - A θ``, from the rows (one pass, no copy of the design)."""
        w = self.theta[int(self.design_intercept):]
        fitted = self._x @ w
        if self.design_intercept:
            fitted += self.theta[0]
        return self._y - fitted
