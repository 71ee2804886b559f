"""Regression statistics in the statsmodels style, at any θ (a gradient-descent answer included).

:class:`OLSStats` is the results object: each statistic is a cached property, computed on first
use from the data and the given ``theta``, and :meth:`OLSStats.summary` and
:meth:`OLSStats.to_dict` are built from them. Definitions follow statsmodels' ``OLSResults``
(non-robust covariance), so the two agree to ~1e-12 at the least-squares θ:

- residuals and ``RSS`` are taken at the given θ (not at the minimiser), ``σ̂² = RSS / (n - p)``;
- ``(AᵀA)⁻¹`` comes from :func:`gradfit.least_squares.dense.lstsq` (accurate even for Filip);
- ``R²`` is centered with an intercept and uncentered (``1 - RSS / Σy²``) without one, and the
  explained sum of squares is ``TSS - RSS`` accordingly;
- ``df_model = p - 1`` with an intercept, ``p`` without; ``df_resid = n - p``;
- the log-likelihood is Gaussian with ``σ² = RSS / n``; ``aic = -2 llf + 2p``,
  ``bic = -2 llf + p log n``.

One deliberate difference: ``condition_number`` is that of the design with unit-length columns
(see :class:`gradfit.least_squares.closed_form.LeastSquares`); statsmodels reports ``sqrt(λmax/λmin)`` of the raw
``XᵀX``, which mostly measures the units of the columns.

SciPy (the t and F distributions) is imported on first use, and only ``scipy.special``: it imports
in about half the time of ``scipy.stats``.
"""

from __future__ import annotations

import math
from functools import cached_property

import numpy as np

from .. import limits
from ..errors import BadDataError, BadOptionError
from .closed_form import LeastSquares
from .covariance import CovarianceSpec, robust_covariance
from .dense import lstsq, residuals
from .gram_sums import blas_threads_for
from .residual_tests import DIAGNOSTIC_KEYS, residual_tests

_DICT_KEYS = (
    "names", "coef", "std_err", "t", "p", "ci_low", "ci_high", "r_squared", "adj_r_squared",
    "f_statistic", "f_pvalue", "log_likelihood", "aic", "bic", "n_obs", "df_model", "df_resid",
    "residual_std", "condition_number",
)



class OLSStats:
    """Statistics of the linear model ``y ≈ A θ`` at the given ``theta``.

    Parameters
    ----------
    design : numpy.ndarray
        ``(n, p)`` design matrix, the column of ones first when there is an intercept.
    y : numpy.ndarray
        ``(n,)`` targets.
    theta : numpy.ndarray
        ``(p,)`` coefficients; need not be the least-squares minimiser.
    names : list of str, optional
        Parameter names; by default ``intercept, x1, x2, …``.
    intercept : bool
        Whether the first column is the intercept (decides centered vs uncentered ``R²``, the
        model degrees of freedom and the F test).
    alpha : float
        Confidence intervals are at level ``1 - alpha``.
    closed : LeastSquares, optional
        The result of ``lstsq(design, y)`` when the caller has it already.
    design_lo : numpy.ndarray, optional
        Rounding errors of the design entries (see :func:`gradfit.least_squares.dense.lstsq`).
    covariance : CovarianceSpec, optional
        The covariance of the coefficients (:mod:`gradfit.least_squares.covariance`); classical by
        default. A robust one changes the standard errors, the test statistics (``z``, normal
        p-values), the intervals and the F test (a Wald test), as statsmodels does.
    weighting : gradfit.data.weights.Weighting, optional
        Weighted least squares: ``design`` and ``y`` are the whitened rows (``√w`` times the
        rows, the intercept's column ``√w``), and the statistics are statsmodels' ``WLS`` ones.

    Raises
    ------
    BadOptionError
        When ``alpha`` is not strictly between 0 and 1.
    BadDataError
        When shapes disagree or the columns are collinear.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.column_stack([np.ones(5), [0.0, 1.0, 2.0, 3.0, 4.0]])
    >>> y = np.array([1.1, 2.9, 5.2, 6.8, 9.1])
    >>> res = OLSStats(A, y, lstsq(A, y).theta)
    >>> round(res.r_squared, 6), res.df_resid, res.std_err.round(4).tolist()  # as statsmodels
    (0.997305, 3, [0.1463, 0.0597])
    """

    def __init__(self, design: np.ndarray, y: np.ndarray, theta: np.ndarray, names: list[str] | None = None,
                 intercept: bool = True, alpha: float = 0.05, *, closed: LeastSquares | None = None,
                 design_lo: np.ndarray | None = None, covariance: CovarianceSpec | None = None,
                 weighting=None) -> None:
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0.0 < alpha < 1.0:
            raise BadOptionError("alpha", alpha, "must be a number strictly between 0 and 1",
                                 "use 0.05 for 95% confidence intervals")
        self.design = np.asarray(design, dtype=np.float64)  # (n, p)
        self.y = np.asarray(y, dtype=np.float64)  # (n,)
        self.theta = np.asarray(theta, dtype=np.float64).reshape(-1)  # (p,)
        p = self.design.shape[1] if self.design.ndim == 2 else -1
        if self.theta.shape != (p,):
            raise BadDataError(f"theta has shape {self.theta.shape} but the design matrix has {p} columns; "
                               "pass one coefficient per column")
        self.weighting = weighting
        if intercept and weighting is None and not np.all(self.design[:, 0] == 1.0):  # (the CLI builds the design)
            raise BadDataError("intercept=True but the first design column is not all ones; "
                               "put the column of ones first or pass intercept=False")
        if names is None:
            names = (["intercept"] if intercept else []) + [f"x{j + 1}" for j in range(p - int(intercept))]
        self.intercept = bool(intercept)
        self.alpha = float(alpha)
        self._names = list(names)
        self._design_lo = design_lo
        self.covariance = covariance or CovarianceSpec()
        self.closed = closed if closed is not None else lstsq(self.design, self.y, self._names, design_lo=design_lo)

    # ----- data and sums of squares -------------------------------------------------------

    @cached_property
    def names(self) -> list[str]:
        return list(self._names)

    @cached_property
    def coef(self) -> np.ndarray:
        """``(p,)`` the coefficients the statistics are taken at."""
        return self.theta.copy()

    @cached_property
    def residuals(self) -> np.ndarray:
        """``(n,)`` ``y - A θ``; exact (correctly rounded) when the problem needed refinement."""
        if np.array_equal(self.theta, self.closed.theta):
            return self.closed.residuals
        return residuals(self.design, self.y, self.theta, self._design_lo, exact=self.closed.refined)

    @cached_property
    def rss(self) -> float:
        if np.array_equal(self.theta, self.closed.theta):
            return self.closed.rss
        return math.fsum(self.residuals * self.residuals)

    @cached_property
    def tss(self) -> float:
        """Total sum of squares: about the mean with an intercept, about zero without (weighted:
        ``Σ w (y − ȳ_w)²`` about the weighted mean, as statsmodels' WLS)."""
        if not self.intercept:
            return math.fsum(self.y * self.y)
        if self.weighting is not None:
            root = self.design[:, 0]  # √w: the whitened intercept column
            kept = root > 0
            y, w = self.y[kept] / root[kept], root[kept] ** 2
            centered = y - math.fsum(w * y) / math.fsum(w)
            return math.fsum(w * centered * centered)
        centered = self.y - math.fsum(self.y) / len(self.y)
        return math.fsum(centered * centered)

    @cached_property
    def n_obs(self) -> int:
        return int(self.design.shape[0])

    @cached_property
    def df_model(self) -> int:
        return int(self.design.shape[1] - self.intercept)

    @cached_property
    def df_resid(self) -> int:
        return int(self.design.shape[0] - self.design.shape[1])

    @cached_property
    def scale(self) -> float:
        """``σ̂² = RSS / df_resid`` (NaN when there are no residual degrees of freedom)."""
        return self.rss / self.df_resid if self.df_resid > 0 else math.nan

    @cached_property
    def residual_std(self) -> float:
        return math.sqrt(self.scale)

    # ----- coefficients ------------------------------------------------------------------

    def blocks(self):
        """``(design, residuals)`` blocks covering the rows in order (for the robust covariance)."""
        rows = limits.STATS_BLOCK_ROWS
        for start in range(0, self.n_obs, rows):
            yield self.design[start:start + rows], self.residuals[start:start + rows]

    @cached_property
    def cov_params(self) -> np.ndarray:
        """``(p, p)`` the covariance of the coefficients: ``σ̂² (AᵀA)⁻¹``, or the robust sandwich."""
        if self.covariance.robust:
            return robust_covariance(self.covariance, self.closed.cov_unscaled, self.blocks(), self.n_obs)
        return self.scale * self.closed.cov_unscaled

    @cached_property
    def std_err(self) -> np.ndarray:
        """``(p,)`` ``sqrt(σ̂² diag((AᵀA)⁻¹))``, or the square roots of the robust covariance's diagonal."""
        if self.covariance.robust:
            return np.sqrt(np.maximum(np.diag(self.cov_params), 0.0))
        return self.residual_std * self.closed.std_err_factor

    @cached_property
    def t(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.coef / self.std_err

    @cached_property
    def p(self) -> np.ndarray:
        """Two-sided p-values of ``t``: Student's t with ``df_resid`` degrees of freedom for the
        classical covariance, the normal distribution for a robust one (statsmodels' defaults)."""
        from scipy.special import ndtr, stdtr

        if not self.covariance.use_t:
            return 2.0 * ndtr(-np.abs(self.t))
        return 2.0 * stdtr(self.df_resid, -np.abs(self.t))

    @cached_property
    def _t_quantile(self) -> float:
        return interval_quantile(self.alpha, self.df_resid, self.covariance.use_t)

    @cached_property
    def ci_low(self) -> np.ndarray:
        return self.coef - self._t_quantile * self.std_err

    @cached_property
    def ci_high(self) -> np.ndarray:
        return self.coef + self._t_quantile * self.std_err

    # ----- model -------------------------------------------------------------------------

    @cached_property
    def r_squared(self) -> float:
        """``1 - RSS / TSS``; uncentered (TSS about zero) without an intercept, as statsmodels."""
        return 1.0 - self.rss / self.tss if self.tss > 0 else math.nan

    @cached_property
    def adj_r_squared(self) -> float:
        if self.df_resid <= 0:
            return math.nan
        return 1.0 - (self.n_obs - self.intercept) / self.df_resid * (1.0 - self.r_squared)

    @cached_property
    def f_statistic(self) -> float:
        """``(ESS / df_model) / σ̂²`` with ``ESS = TSS - RSS``; NaN with no regressors."""
        if self.df_model == 0 or self.df_resid <= 0:
            return math.nan
        if self.covariance.robust:
            return self._wald_f()
        if self.scale == 0:  # an exact fit
            return math.inf
        return (self.tss - self.rss) / self.df_model / self.scale

    def _wald_f(self) -> float:
        """The Wald test that every slope is zero under the robust covariance, as an F statistic
        (``θ_sᵀ V_s⁻¹ θ_s / q`` over the ``q`` slopes), as statsmodels reports it."""
        slopes = slice(int(self.intercept), None)
        theta, cov = self.coef[slopes], self.cov_params[slopes, slopes]
        if self.covariance.kind == "cluster" and self.covariance.n_groups - 1 < len(theta):
            return math.nan  # the cluster covariance has rank G − 1 at most: no test of more slopes
        try:
            return float(theta @ np.linalg.solve(cov, theta)) / len(theta)
        except np.linalg.LinAlgError:
            return math.nan

    @cached_property
    def f_pvalue(self) -> float:
        from scipy.special import fdtrc

        if math.isnan(self.f_statistic):
            return math.nan
        # The cluster covariance's F test has G − 1 denominator degrees of freedom (statsmodels).
        denominator = self.covariance.n_groups - 1 if self.covariance.kind == "cluster" else self.df_resid
        return float(fdtrc(self.df_model, denominator, self.f_statistic))

    @cached_property
    def log_likelihood(self) -> float:
        """Gaussian log-likelihood at the maximum-likelihood ``σ² = RSS / n``."""
        n = self.n_obs
        with np.errstate(divide="ignore"):
            llf = float(-n / 2 * (math.log(2 * math.pi) + np.log(self.rss / n) + 1.0))
        return llf if self.weighting is None else llf + 0.5 * self.weighting.log_sum

    @cached_property
    def aic(self) -> float:
        return -2.0 * self.log_likelihood + 2.0 * len(self.coef)

    @cached_property
    def bic(self) -> float:
        return -2.0 * self.log_likelihood + math.log(self.n_obs) * len(self.coef)

    @cached_property
    def condition_number(self) -> float:
        """Of the design with unit-length columns (not statsmodels' raw ``XᵀX`` figure)."""
        return self.closed.condition_number

    # ----- residual diagnostics -----------------------------------------------------------

    @cached_property
    def diagnostics(self) -> dict[str, float] | None:
        """The tests on the residuals at the bottom of statsmodels' summary (``omnibus``,
        ``omnibus_p``, ``skew``, ``kurtosis``, ``durbin_watson``, ``jarque_bera``,
        ``jarque_bera_p``: :mod:`gradfit.least_squares.residual_tests`); ``None`` where the rows
        are not kept (streamed data)."""
        with blas_threads_for(self.design.shape[1], self.design.size):  # (level-1 and -2 products)
            return residual_tests(self.residuals)

    def influence(self):
        """Leverage, studentized residuals, Cook's distance and DFFITS of every row, as a pandas
        DataFrame (:mod:`gradfit.least_squares.influence`: columns and statsmodels' names)."""
        import pandas as pd

        return pd.concat(list(self.influence_frames()), ignore_index=True)

    def influence_frames(self):
        """:meth:`influence` block by block (DataFrames in row order): a table of any length
        written as it is computed."""
        import pandas as pd

        from .influence import INFLUENCE_COLUMNS, influence_columns

        empty = True
        for block in self.blocks():
            empty = False
            yield pd.DataFrame(influence_columns([block[:2]], self.closed.cov_unscaled, self.rss, self.n_obs))
        if empty:
            yield pd.DataFrame({name: [] for name in INFLUENCE_COLUMNS})

    # ----- reports -----------------------------------------------------------------------

    def to_dict(self) -> dict:
        """Every statistic as plain Python values (JSON-safe: undefined or infinite → ``None``).

        >>> import json
        >>> A = np.column_stack([np.ones(4), [0.0, 1.0, 2.0, 3.0]])
        >>> d = OLSStats(A, np.array([1.0, 3.1, 4.9, 7.0]), np.array([1.0, 2.0])).to_dict()
        >>> d["df_resid"], d["names"], len(json.dumps(d, allow_nan=False)) > 0
        (2, ['intercept', 'x1'], True)
        """
        out = {}
        for key in _DICT_KEYS:
            value = getattr(self, key)
            if isinstance(value, np.ndarray):
                out[key] = [_json_float(v) for v in value.tolist()]
            elif key == "names":
                out[key] = list(value)
            elif isinstance(value, (int, np.integer)) and not isinstance(value, bool):
                out[key] = int(value)
            else:
                out[key] = _json_float(value)
        out.update(self.covariance.to_dict())
        out["distribution"] = self.covariance.distribution
        out["weighted"] = self.weighting is not None
        diagnostics = self.diagnostics
        out.update({key: None if diagnostics is None else _json_float(diagnostics[key]) for key in DIAGNOSTIC_KEYS})
        return out

    def interval_labels(self) -> tuple[str, str]:
        """The confidence bounds' column names, as statsmodels writes them: ``("[0.025", "0.975]")``."""
        return f"[{self.alpha / 2:g}", f"{1 - self.alpha / 2:g}]"

    def to_frame(self):
        """The coefficient table as a pandas DataFrame, indexed by parameter name.

        Columns ``coef``, ``std err``, ``t``, ``P>|t|`` and the interval bounds named by
        ``alpha`` (``[0.025`` and ``0.975]`` at 0.05), as in statsmodels' summary.

        >>> A = np.column_stack([np.ones(4), [0.0, 1.0, 2.0, 3.0]])
        >>> frame = OLSStats(A, np.array([1.0, 3.1, 4.9, 7.0]), np.array([1.0, 2.0])).to_frame()
        >>> list(frame.columns), list(frame.index), float(frame.loc["x1", "coef"])
        (['coef', 'std err', 't', 'P>|t|', '[0.025', '0.975]'], ['intercept', 'x1'], 2.0)
        """
        import pandas as pd  # imported here: ``import gradfit`` stays light

        low, high = self.interval_labels()
        z = "t" if self.covariance.use_t else "z"
        columns = {"coef": self.coef, "std err": self.std_err, z: self.t, f"P>|{z}|": self.p,
                   low: self.ci_low, high: self.ci_high}
        return pd.DataFrame(columns, index=pd.Index(self.names))

    def __repr__(self) -> str:
        coef = ", ".join(f"{name!r}: {value:.6g}" for name, value in zip(self.names[:6], self.coef[:6]))
        more = f", … ({len(self.names)} in all)" if len(self.names) > 6 else ""
        at = "least squares" if np.array_equal(self.theta, self.closed.theta) else \
            f"{float(np.max(np.abs(self.theta - self.closed.theta))):.3g} from least squares"
        return (f"{type(self).__name__}(n_obs={self.n_obs}, df_resid={self.df_resid}, r_squared={self.r_squared:.6g}, "
                f"residual_std={self.residual_std:.6g}, at={at!r},\n    coef={{{coef}{more}}})")

    def summary(self, title: str = "OLS Regression Results", y_name: str = "y") -> str:
        """A text table like statsmodels' ``summary()``: model statistics, coefficients, residual
        tests and notes (:func:`gradfit.least_squares.summary_text.summary_text`)."""
        from .summary_text import summary_text

        return summary_text(self, title, y_name)


def interval_quantile(alpha: float, df_resid: int, use_t: bool) -> float:
    """The ``1 − alpha/2`` quantile of Student's t with ``df_resid`` degrees of freedom, or of the
    normal distribution: what a ``1 − alpha`` interval is that many standard errors wide (NaN
    without residual degrees of freedom)."""
    from scipy.special import ndtri, stdtrit

    if not use_t:
        return float(ndtri(1.0 - alpha / 2.0))
    return float(stdtrit(df_resid, 1.0 - alpha / 2.0)) if df_resid > 0 else math.nan


def _json_float(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None
