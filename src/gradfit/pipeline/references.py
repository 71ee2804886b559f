"""The reference every fit is checked against: the least-squares problem of the training rows.

Two kinds, one interface: :class:`DenseReference` holds the design matrix in memory (small data;
the closed form from QR with exact refinement, full accuracy on every NIST set), and
:class:`SufficientReference` holds the rows' sufficient statistics (large, streamed or
gathered from several processes; everything in O(p²)). Each gives the closed form, the
training split's scaling, the MSE gradient at any θ, the curvature of the loss where gradient
descent runs, and the statistics at any θ.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from .. import limits
from ..data.design import Scaling
from ..data.validate import Problem
from ..errors import BadOptionError, CollinearityWarning, option
from ..least_squares.covariance import CovarianceSpec, covariance_spec
from ..least_squares.checks import warn_if_collinear
from ..least_squares.curvature import hessian_extremes
from ..least_squares.dense import lstsq
from ..least_squares.statistics import OLSStats
from ..least_squares.sufficient_ols import RowsOLSStats, SufficientOLSStats


@dataclass
class DenseReference:
    """The training rows in memory: ``design`` ``(n, p)`` on the original scale."""

    problem: Problem
    param_names: list[str]
    design: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.design = self.problem.design(self.problem.x_train)
        self.closed = lstsq(self.design, self.problem.y_train, self.param_names, design_lo=self.problem.design_lo())
        warn_if_collinear(self.closed.condition_number, self.param_names)
        # Training-split statistics: the scale-free convergence test of every run, and the space
        # gradient descent runs in when standardizing.
        self.scaling = Scaling.fit(self.problem.x_train, self.problem.y_train, self.problem.intercept)

    @property
    def n(self) -> int:
        return len(self.problem.y_train)

    def gradient(self, theta: np.ndarray) -> np.ndarray:
        """``∇ MSE(θ) = 2/n Aᵀ(Aθ − y)``, ``(p,)``, on the original scale."""
        return (2.0 / self.n) * (self.design.T @ (self.design @ theta - self.problem.y_train))

    def hessian_extremes(self, run_problem: Problem, scaling: Scaling | None) -> tuple[float, float]:
        """Largest and smallest eigenvalues of the loss Hessian where gradient descent runs
        (``run_problem``: the rows, standardized when ``scaling``)."""
        return hessian_extremes(run_problem.design(run_problem.x_train))

    def exact_engine_inputs(self, scaling: Scaling | None, source) -> dict:
        """Nothing: the exact engine forms XᵀX from the rows it is given."""
        return {}

    def statistics(self, theta: np.ndarray, alpha: float, covariance: CovarianceSpec | None = None) -> OLSStats:
        return OLSStats(self.design, self.problem.y_train, theta, self.param_names, self.problem.model_intercept,
                        alpha, closed=self.closed, design_lo=self.problem.design_lo(), covariance=covariance,
                        weighting=self.problem.weighting)


@dataclass
class SufficientReference:
    """The training rows as sufficient statistics (:class:`gradfit.least_squares.sufficient.SufficientStats`).

    When float64 QR on this many rows cannot promise full accuracy (the rows are not at hand for
    exact refinement), a :class:`gradfit.CollinearityWarning` says so (``warn_unrefined``).
    """

    sufficient: object
    param_names: list[str]
    warn_unrefined: bool = True
    model_intercept: bool | None = None  # the model's, when the rows are whitened (weights)
    weighting: object = None
    # A second pass over the rows, for robust covariances and residual tests (streamed or shared
    # rows: see gradfit.least_squares.sufficient_ols.SufficientOLSStats).
    rows: object = None
    group: object = None
    ordered: bool = True
    tests: bool = True
    where: str = "streamed or shared among processes"  # the rows, for the accuracy warning

    def __post_init__(self) -> None:
        self.closed = self.sufficient.closed_form()
        if self.closed.needs_refinement and self.warn_unrefined and \
                self.closed.estimated_error > limits.WARN_UNREFINED_ABOVE:
            warnings.warn(CollinearityWarning(
                f"the closed form of this ill-conditioned problem (condition number "
                f"{self.closed.condition_number:.3g}) is accurate to about {self.closed.estimated_error:.1g} relative: "
                f"float64 QR on {self.sufficient.n:,} rows, {self.where}, without exact refinement"), stacklevel=5)
        warn_if_collinear(self.closed.condition_number, self.param_names)
        self.scaling = self.sufficient.scaling()

    @property
    def n(self) -> int:
        return int(self.sufficient.n)

    def gradient(self, theta: np.ndarray) -> np.ndarray:
        return self.sufficient.gradient(theta)

    def in_run_space(self, scaling: Scaling | None):
        """The statistics where gradient descent runs (standardized when ``scaling``)."""
        return self.sufficient if scaling is None else self.sufficient.standardized(scaling)

    def hessian_extremes(self, run_problem: Problem, scaling: Scaling | None) -> tuple[float, float]:
        return self.in_run_space(scaling).hessian_extremes()

    def exact_engine_inputs(self, scaling: Scaling | None, source) -> dict:
        """The exact engine runs from the statistics (training, and validation when the source
        has any), never from the rows."""
        inputs = {"train_sufficient": self.in_run_space(scaling)}
        val = source.val_sufficient()
        if val is not None:
            inputs["val_sufficient"] = val if scaling is None else val.standardized(scaling)
        return inputs

    def statistics(self, theta: np.ndarray, alpha: float,
                   covariance: CovarianceSpec | None = None) -> SufficientOLSStats:
        return SufficientOLSStats(self.sufficient, theta, self.param_names, alpha, covariance,
                                  model_intercept=self.model_intercept, weighting=self.weighting, rows=self.rows,
                                  group=self.group, ordered=self.ordered, tests=self.tests)


@dataclass
class RowsReference(SufficientReference):
    """The training rows in memory, reduced by the Gram fast path (well-conditioned data):
    the closed form, curvature and statistics from the sufficient statistics in O(p²), as for
    :class:`SufficientReference`, and the rows kept for what needs them (per-row residuals)."""

    problem: Problem = None

    def exact_engine_inputs(self, scaling: Scaling | None, source) -> dict:
        """The training rows' statistics; validation rows as rows when few (their statistics cost
        more than the quadratic itself), in the space gradient descent runs in."""
        x_val, y_val = self.problem.x_val, self.problem.y_val
        if x_val is None or x_val.size > limits.EXTRA_PRECISE_CELLS:
            return super().exact_engine_inputs(scaling, source)
        rows = (x_val, y_val) if scaling is None else (scaling.x(x_val), scaling.y(y_val))
        return {"train_sufficient": self.in_run_space(scaling), "val_rows": rows}

    def statistics(self, theta: np.ndarray, alpha: float, covariance: CovarianceSpec | None = None) -> RowsOLSStats:
        return RowsOLSStats(self.sufficient, self.problem.x_train, self.problem.y_train, theta, self.param_names, alpha,
                            covariance, model_intercept=self.model_intercept, weighting=self.weighting)


def covariance_for(source, cov_type: str, maxlags: int | None, val_split: float | None) -> CovarianceSpec:
    """The checked covariance a fit or solve of ``source`` reports, refused before any work when
    the rows cannot give it: the cluster of every row, HAC's rows in their order. A streamed file's
    cluster column (``cluster``: its name) is read beside each chunk of the second pass."""
    cluster = source.problem.cluster if source.holds_rows else getattr(source.streamed.chunks, "labels", None)
    if cov_type == "nonrobust" and cluster is None and maxlags is None:
        return CovarianceSpec()
    if cov_type == "cluster" and not source.holds_rows:
        if cluster is None:
            raise BadOptionError("cov_type", cov_type, "needs the cluster of every row",
                                 f"add {option('cluster', 'COLUMN', python='cluster=COLUMN (a column of the file)')}")
        return CovarianceSpec("cluster")  # the clusters are counted as the second pass meets them
    if cov_type == "HAC" and not source.holds_rows and not source.rows_in_order:
        raise BadOptionError("cov_type", cov_type, "HAC needs the rows in their order, and the processes of a "
                             "streamed torchrun run read a CSV file in interleaved blocks",
                             "stream it in one process, convert it to Parquet, or read it whole under torchrun")
    if cov_type == "HAC" and val_split:
        raise BadOptionError("cov_type", "HAC", "needs the rows in their order, and a validation split shuffles "
                             "them", f"leave {option('val_split')} out (or give validation rows of your own)")
    return covariance_spec(cov_type, groups=cluster, maxlags=maxlags, n_rows=source.n_train,
                           n_groups=source.problem.n_groups)
