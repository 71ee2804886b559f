"""The text of :meth:`gradfit.least_squares.statistics.OLSStats.summary`: statsmodels' layout,
columns as wide as their widest cell, so numbers never run together."""

from __future__ import annotations

import math

import numpy as np


def summary_text(stats, title: str = "OLS Regression Results", y_name: str = "y") -> str:
    """A text table like statsmodels' ``summary()``: model statistics, then coefficients.

    Every cell is formatted first; each column is then as wide as its widest cell or header
    (at least statsmodels' widths), with a space or more between columns, so numbers never
    run together. Parameter names are kept whole, never truncated or wrapped: the first
    column is as wide as the longest name (a cut name could read as another).
    """
    left = [("Dep. Variable:", y_name), ("Model:", ("WLS" if stats.weighting is not None else "OLS") + ("" if stats.intercept else ", no intercept")),
            ("No. Observations:", str(stats.n_obs)), ("Df Residuals:", str(stats.df_resid)),
            ("Df Model:", str(stats.df_model)), ("Residual std:", fmt(stats.residual_std, 6)),
            ("Covariance Type:", stats.covariance.describe())]
    right = [("R-squared" + ("" if stats.intercept else " (uncentered)") + ":", fmt(stats.r_squared, 3)),
             ("Adj. R-squared:", fmt(stats.adj_r_squared, 3)),
             ("F-statistic:", fmt(stats.f_statistic, 4)), ("Prob (F-statistic):", fmt(stats.f_pvalue, 3)),
             ("Log-Likelihood:", fmt(stats.log_likelihood, 5)), ("AIC:", fmt(stats.aic, 4)),
             ("BIC:", fmt(stats.bic, 4))]
    model = text_columns([[lk, lv, " ", rk, rv] for (lk, lv), (rk, rv) in zip(left, right)],
                         min_widths=[17, 20, 1, 23, 13], left=(0, 2, 3))
    rows = [[name, fmt(stats.coef[j], 4), fmt(stats.std_err[j], 4), fmt(stats.t[j], 3, fixed=abs(stats.t[j]) < 1e6),
             fmt(stats.p[j], 3, fixed=True), fmt(stats.ci_low[j], 4), fmt(stats.ci_high[j], 4)]
            for j, name in enumerate(stats.names)]
    z = "t" if stats.covariance.use_t else "z"
    coefs = text_columns([["", "coef", "std err", z, f"P>|{z}|", *stats.interval_labels()], *rows],
                         min_widths=[12, 10, 10, 8, 8, 11, 11], left=(0,))
    tests = _diagnostics_rows(stats)
    width = max(78, *(len(line) for line in model + coefs + tests))
    lines = [title.center(width).rstrip(), "=" * width, *model, "=" * width, coefs[0], "-" * width, *coefs[1:]]
    lines.append("=" * width)
    if tests:
        lines += [*tests, "=" * width]
    distribution = f"Student t, {stats.df_resid} df" if stats.covariance.use_t else \
        f"normal, standard errors {_COV_WORDS[stats.covariance.kind]}"
    notes = [f"Intervals are {1 - stats.alpha:.0%} confidence intervals ({distribution})."]
    if not stats.intercept:
        notes.append("R-squared is uncentered (about zero): the model has no intercept.")
    notes.append(f"Condition number {stats.condition_number:.3g} (columns scaled to unit length).")
    if not np.array_equal(stats.theta, stats.closed.theta):
        gap = float(np.max(np.abs(stats.theta - stats.closed.theta)))
        notes.append(f"Statistics are at the given coefficients, {gap:.3g} (max abs) from least squares.")
    lines += [f"[{k}] {note}" for k, note in enumerate(notes, start=1)]
    return "\n".join(lines)

def _diagnostics_rows(stats) -> list[str]:
    """The residual tests as statsmodels' summary shows them (none for streamed data)."""
    tests = stats.diagnostics
    if tests is None:
        return []
    pairs = [(("Omnibus:", fmt(tests["omnibus"], 3)), ("Durbin-Watson:", fmt(tests["durbin_watson"], 3))),
             (("Prob(Omnibus):", fmt(tests["omnibus_p"], 3)), ("Jarque-Bera (JB):", fmt(tests["jarque_bera"], 3))),
             (("Skew:", fmt(tests["skew"], 3)), ("Prob(JB):", fmt(tests["jarque_bera_p"], 3, fixed=False))),
             (("Kurtosis:", fmt(tests["kurtosis"], 3)), ("Cond. No.:", f"{stats.condition_number:.3g}"))]
    return text_columns([[lk, lv, " ", rk, rv] for (lk, lv), (rk, rv) in pairs],
                        min_widths=[17, 20, 1, 23, 13], left=(0, 2, 3))


_COV_WORDS = {
    "HC0": "robust to heteroscedasticity (HC0, White)", "HC1": "robust to heteroscedasticity (HC1: HC0 × n/(n−p))",
    "HC2": "robust to heteroscedasticity (HC2, leverage-adjusted)",
    "HC3": "robust to heteroscedasticity (HC3, jackknife-like)", "cluster": "robust to correlation within clusters",
    "HAC": "robust to heteroscedasticity and autocorrelation (Newey–West, Bartlett kernel)",
}


def text_columns(rows: list[list[str]], min_widths: list[int], left: tuple[int, ...] = (0,)) -> list[str]:
    """Rows of formatted cells as aligned text lines, numbers never touching.

    Each column is as wide as its widest cell (at least ``min_widths[j]``); columns are joined by
    one space, the ``left`` ones left-aligned, the others right-aligned; trailing spaces dropped.

    >>> text_columns([["", "coef"], ["a_long_name", "-123456.7"]], min_widths=[4, 4])
    ['                 coef', 'a_long_name -123456.7']
    """
    widths = [max([minimum] + [len(row[j]) for row in rows]) for j, minimum in enumerate(min_widths)]
    return [" ".join(cell.ljust(width) if j in left else cell.rjust(width)
                     for j, (cell, width) in enumerate(zip(row, widths))).rstrip() for row in rows]


def fmt(value: float, digits: int, fixed: bool = False) -> str:
    """Numbers as statsmodels prints them: fixed point, or scientific when very large/small."""
    value = float(value)
    if not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if fixed or value == 0 or 1e-4 <= abs(value) < 1e6:
        return f"{value:.{digits}f}"
    return f"{value:.{digits}e}"
