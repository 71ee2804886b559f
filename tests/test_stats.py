"""Regression statistics against statsmodels and against the textbook formulas."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from gradfit.errors import BadDataError, BadOptionError
from gradfit.least_squares.dense import lstsq
from gradfit.least_squares.statistics import OLSStats

sm = pytest.importorskip("statsmodels.api", reason="statsmodels is the reference for these tests")
scipy_stats = pytest.importorskip("scipy.stats")

RTOL = 1e-8

# (seed, n, d, noise, intercept, x offset, y offset): small and large, with and without an
# intercept, and one far from the origin (x ≈ 1000 ± 1, y ≈ 1e5) that float64 solvers find hard.
DATASETS = {
    "n200-d3": (0, 200, 3, 0.5, True, 0.0, 0.0),
    "n30-d1-noisy": (1, 30, 1, 2.0, True, 0.0, 0.0),
    "n500-d5-no-intercept": (2, 500, 5, 0.1, False, 0.0, 0.0),
    "n12-d8-no-intercept": (3, 12, 8, 1.0, False, 0.0, 0.0),
    "offset-1e3-y-1e5": (4, 100, 2, 3.0, True, 1e3, 1e5),
}


def make_data(seed, n, d, noise, intercept, x_offset, y_offset):
    rng = np.random.default_rng(seed)
    x = x_offset + rng.normal(size=(n, d))  # (n, d)
    beta = rng.uniform(-2.0, 2.0, size=d)
    y = y_offset + (1.5 if intercept else 0.0) + x @ beta + noise * rng.normal(size=n)  # (n,)
    design = np.column_stack([np.ones(n), x]) if intercept else x  # (n, p)
    return design, y


def assert_matches(stats: OLSStats, reference: dict) -> None:
    for key, expected in reference.items():
        np.testing.assert_allclose(getattr(stats, key), expected, rtol=RTOL, atol=0, err_msg=key)


def statsmodels_reference(result, alpha: float = 0.05) -> dict:
    ci = np.asarray(result.conf_int(alpha=alpha))
    return {
        "coef": result.params, "std_err": result.bse, "t": result.tvalues, "p": result.pvalues,
        "ci_low": ci[:, 0], "ci_high": ci[:, 1], "r_squared": result.rsquared,
        "adj_r_squared": result.rsquared_adj, "f_statistic": result.fvalue, "f_pvalue": result.f_pvalue,
        "log_likelihood": result.llf, "aic": result.aic, "bic": result.bic, "n_obs": result.nobs,
        "df_model": result.df_model, "df_resid": result.df_resid, "residual_std": math.sqrt(result.scale),
    }


@pytest.mark.parametrize("case", DATASETS.values(), ids=DATASETS.keys())
def test_matches_statsmodels_at_the_least_squares_solution(case):
    design, y = make_data(*case)
    intercept = case[4]
    result = sm.OLS(y, design).fit()
    assert result.k_constant == int(intercept)  # statsmodels saw the same model
    stats = OLSStats(design, y, lstsq(design, y).theta, intercept=intercept)
    assert_matches(stats, statsmodels_reference(result))
    unit = design / np.linalg.norm(design, axis=0)
    np.testing.assert_allclose(stats.condition_number, np.linalg.cond(unit), rtol=1e-8)


@pytest.mark.parametrize("alpha", [0.01, 0.1, 0.32])
def test_alpha_sets_the_confidence_level(alpha):
    design, y = make_data(*DATASETS["n200-d3"])
    stats = OLSStats(design, y, lstsq(design, y).theta, alpha=alpha)
    ci = np.asarray(sm.OLS(y, design).fit().conf_int(alpha=alpha))
    np.testing.assert_allclose(stats.ci_low, ci[:, 0], rtol=RTOL)
    np.testing.assert_allclose(stats.ci_high, ci[:, 1], rtol=RTOL)
    assert f"[{alpha / 2:.3g}" in stats.summary()


@pytest.mark.parametrize("alpha", [0, 1, -0.1, 1.5, "0.05", True, float("nan")])
def test_bad_alpha_is_refused(alpha):
    design, y = make_data(*DATASETS["n30-d1-noisy"])
    with pytest.raises(BadOptionError, match="alpha"):
        OLSStats(design, y, np.zeros(2), alpha=alpha)


@pytest.mark.parametrize("intercept", [True, False])
def test_statistics_at_a_theta_that_is_not_the_minimiser(intercept):
    # A gradient-descent answer stops short of the minimiser: every statistic is taken at it.
    design, y = make_data(5, 60, 2, 1.0, intercept, 0.0, 0.0)
    n, p = design.shape
    theta = lstsq(design, y).theta + np.linspace(0.05, -0.1, p)
    stats = OLSStats(design, y, theta, intercept=intercept)

    # By hand, from the formulas.
    resid = y - design @ theta
    rss = resid @ resid
    df_resid, df_model = n - p, p - int(intercept)
    sigma2 = rss / df_resid
    se = np.sqrt(sigma2 * np.diag(np.linalg.inv(design.T @ design)))
    t = theta / se
    tss = np.sum((y - y.mean()) ** 2) if intercept else np.sum(y**2)
    quantile = scipy_stats.t.ppf(0.975, df_resid)
    f = (tss - rss) / df_model / sigma2
    llf = -n / 2 * np.log(2 * np.pi) - n / 2 * np.log(rss / n) - n / 2
    by_hand = {
        "coef": theta, "std_err": se, "t": t, "p": 2 * scipy_stats.t.sf(np.abs(t), df_resid),
        "ci_low": theta - quantile * se, "ci_high": theta + quantile * se, "r_squared": 1 - rss / tss,
        "adj_r_squared": 1 - (n - int(intercept)) / df_resid * rss / tss, "f_statistic": f,
        "f_pvalue": scipy_stats.f.sf(f, df_model, df_resid), "log_likelihood": llf,
        "aic": -2 * llf + 2 * p, "bic": -2 * llf + np.log(n) * p, "residual_std": np.sqrt(sigma2),
        "n_obs": n, "df_model": df_model, "df_resid": df_resid,
    }
    assert_matches(stats, by_hand)

    # And statsmodels' own results object evaluated at the same θ.
    from statsmodels.regression.linear_model import OLSResults

    model = sm.OLS(y, design)
    at_theta = OLSResults(model, theta, normalized_cov_params=np.linalg.inv(design.T @ design), scale=sigma2)
    assert_matches(stats, {k: v for k, v in statsmodels_reference(at_theta).items() if k != "residual_std"})
    assert "from least squares" in stats.summary()


def test_p_value_of_a_coefficient_that_is_zero_in_truth():
    rng = np.random.default_rng(7)
    n = 80
    x = rng.normal(size=(n, 3))
    y = 2.0 + 1.5 * x[:, 0] + 0.0 * x[:, 1] - 1.0 * x[:, 2] + rng.normal(size=n)
    design = np.column_stack([np.ones(n), x])
    stats = OLSStats(design, y, lstsq(design, y).theta)
    np.testing.assert_allclose(stats.p, sm.OLS(y, design).fit().pvalues, rtol=RTOL)
    assert stats.p[2] > 0.05 and stats.ci_low[2] < 0.0 < stats.ci_high[2]
    assert stats.p[1] < 1e-10 and stats.p[3] < 1e-10


def test_p_values_of_a_null_coefficient_are_calibrated():
    # Under the null the test rejects at 5% in about 5% of repetitions (400 draws: sd 1.1%).
    rng = np.random.default_rng(11)
    rejections = 0
    for _ in range(400):
        x = rng.normal(size=(25, 2))
        y = 1.0 + 2.0 * x[:, 0] + 0.0 * x[:, 1] + rng.normal(size=25)
        design = np.column_stack([np.ones(25), x])
        rejections += OLSStats(design, y, lstsq(design, y).theta).p[2] < 0.05
    assert 0.02 <= rejections / 400 <= 0.085


def test_to_dict_has_exactly_the_statistics_and_is_strict_json():
    design, y = make_data(*DATASETS["n200-d3"])
    stats = OLSStats(design, y, lstsq(design, y).theta, names=["intercept", "a", "b", "c"])
    out = stats.to_dict()
    assert list(out) == ["names", "coef", "std_err", "t", "p", "ci_low", "ci_high", "r_squared",
                         "adj_r_squared", "f_statistic", "f_pvalue", "log_likelihood", "aic", "bic",
                         "n_obs", "df_model", "df_resid", "residual_std", "condition_number", "cov_type",
                         "distribution", "weighted", "omnibus", "omnibus_p", "skew", "kurtosis", "durbin_watson",
                         "jarque_bera",
                         "jarque_bera_p"]
    assert out["names"] == ["intercept", "a", "b", "c"]
    assert all(type(v) is float for v in out["coef"] + out["p"]) and type(out["n_obs"]) is int
    assert json.loads(json.dumps(out, allow_nan=False)) == out
    np.testing.assert_allclose(out["std_err"], stats.std_err)


def test_undefined_statistics_become_none():
    # Intercept only: no regressors, so no F test.
    y = np.array([1.0, 2.0, 4.0, 7.0])
    only = OLSStats(np.ones((4, 1)), y, np.array([3.5])).to_dict()
    assert only["f_statistic"] is None and only["f_pvalue"] is None and only["df_model"] == 0
    reference = sm.OLS(y, np.ones((4, 1))).fit()
    np.testing.assert_allclose(only["std_err"], reference.bse, rtol=RTOL)
    # An exact fit: zero residuals, so zero standard errors and infinite t.
    design = np.column_stack([np.ones(5), np.arange(5.0)])
    exact = OLSStats(design, 1.0 + 2.0 * np.arange(5.0), np.array([1.0, 2.0])).to_dict()
    assert exact["std_err"] == [0.0, 0.0] and exact["t"] == [None, None] and exact["f_statistic"] is None
    json.dumps(exact, allow_nan=False)


def test_summary_shows_the_table():
    design, y = make_data(*DATASETS["n500-d5-no-intercept"])
    stats = OLSStats(design, y, lstsq(design, y).theta, intercept=False)
    text = stats.summary()
    for piece in ("coef", "std err", "P>|t|", "[0.025", "0.975]", "R-squared (uncentered):", "x5",
                  "Log-Likelihood:", "AIC:", "BIC:", "F-statistic:", f"{stats.r_squared:.3f}"):
        assert piece in text
    coef_rows = [line for line in text.splitlines() if line.startswith("x")]
    assert [row.split()[0] for row in coef_rows] == ["x1", "x2", "x3", "x4", "x5"]
    assert coef_rows[0].split()[1] == f"{stats.coef[0]:.4f}"


def test_shape_and_intercept_mistakes_are_reported():
    design, y = make_data(*DATASETS["n30-d1-noisy"])
    with pytest.raises(BadDataError, match="theta has shape"):
        OLSStats(design, y, np.zeros(3))
    with pytest.raises(BadDataError, match="first design column is not all ones"):
        OLSStats(design[:, ::-1], y, np.zeros(2))


def test_scipy_is_imported_only_when_a_distribution_is_needed():
    code = ("import sys, numpy as np; import gradfit.least_squares.statistics as s; assert 'scipy' not in sys.modules; "
            "A = np.column_stack([np.ones(5), np.arange(5.0)]); r = s.OLSStats(A, A[:, 1] ** 2, np.zeros(2)); "
            "r.r_squared; r.std_err; assert 'scipy' not in sys.modules; r.p; "
            "assert 'scipy.special' in sys.modules and 'scipy.stats' not in sys.modules; "
            "assert 'statsmodels' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
