"""One streaming pass (TSQR + moments) against numpy, statsmodels, OLSStats and NIST's certified values."""

from __future__ import annotations

import json
import math
from fractions import Fraction
import tracemalloc
import warnings

import numpy as np
import pandas as pd
import pytest

from gradfit.least_squares.residual_tests import DIAGNOSTIC_KEYS

import gradfit
from gradfit.data.chunks import iter_array_chunks, iter_csv_chunks, iter_parquet_chunks, with_poly
from gradfit.data.design import Scaling
from gradfit.data.files import read_table
from gradfit.engines.exact import Quadratic
from gradfit.errors import BadDataError, BadOptionError
from gradfit.least_squares.statistics import OLSStats
from gradfit.least_squares.sufficient import SufficientStats, accumulate
from gradfit.least_squares.sufficient_ols import SufficientOLSStats
from gradfit import solve_streaming
from error_bounds import QR_BACKWARD, qr_errors
from test_solve import CERTIFIED, NIST_SETS, assert_digits, load_nist, nist_required_digits


def make_data(seed: int = 0, n: int = 300, d: int = 4, intercept: bool = True):
    """Well-conditioned data with columns of different units; design built independently."""
    rng = np.random.default_rng(seed)
    units = np.array([1.0, 100.0, 1e-3, 5.0, 2.0, 0.5])[:d]
    x = (rng.normal(size=(n, d)) + 0.5 * np.arange(d)) * units  # κ ≈ 10 on unit-length columns
    y = (2.0 if intercept else 0.0) + (x / units) @ rng.uniform(-2, 2, size=d) + 0.3 * rng.normal(size=n)
    design = np.column_stack([np.ones(n), x]) if intercept else x
    return x, y, design


def relative(a, b) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


# --- chunking, merging ---------------------------------------------------------------------------

@pytest.mark.parametrize("intercept", [True, False], ids=["intercept", "no-intercept"])
@pytest.mark.parametrize("rows", [1, 2, 3, 7, 64, 300, 1000])  # 1–3: chunks smaller than p
def test_any_chunk_size_gives_the_least_squares_answer(rows, intercept):
    x, y, design = make_data(intercept=intercept)
    closed = accumulate(iter_array_chunks(x, y, rows), intercept=intercept).closed_form()
    theta, rss, *_ = np.linalg.lstsq(design, y, rcond=None)
    # TSQR is backward stable column by column, LAPACK's SVD solver relative to ‖A‖ (columns of
    # norm 0.02 to 1,800 here): each within its first-order bound (tests/error_bounds.py, c = 4),
    # so within their sum of each other. Measured: TSQR alone at most 0.36 of its bound (1-row chunks).
    tsqr = qr_errors(design, y, theta, QR_BACKWARD, intercept=intercept)
    svd = qr_errors(design, y, theta, QR_BACKWARD, intercept=intercept, normwise=True)
    np.testing.assert_array_less(np.abs(closed.theta - theta), tsqr["theta"] + svd["theta"])
    assert abs(closed.rss - rss[0]) <= tsqr["rss"] + svd["rss"]
    sigma2 = rss[0] / (len(y) - design.shape[1])
    cov = np.linalg.inv(design.T @ design)  # fine at κ ≈ 100
    np.testing.assert_allclose(closed.std_err, np.sqrt(sigma2 * np.diag(cov)), rtol=1e-10)
    np.testing.assert_allclose(closed.cov_unscaled, cov, rtol=1e-9, atol=1e-12 * np.abs(cov).max())
    unit = design / np.linalg.norm(design, axis=0)
    assert closed.condition_number == pytest.approx(np.linalg.cond(unit), rel=1e-10)
    exact = gradfit.solve(x, y, intercept=intercept)
    np.testing.assert_array_less(np.abs(closed.theta - exact.closed_form.theta), 2 * tsqr["theta"])  # QR, refined


def test_merging_two_halves_equals_one_pass():
    x, y, design = make_data(seed=1, n=401)
    whole = accumulate(iter_array_chunks(x, y, 50))
    first = accumulate(iter_array_chunks(x[:173], y[:173], 7))
    second = accumulate(iter_array_chunks(x[173:], y[173:], 1000))
    for merged in (first.merge(second), second.merge(first)):
        assert merged.n == whole.n == 401
        assert relative(merged.closed_form().theta, whole.closed_form().theta) < 1e-12
        assert merged.closed_form().rss == pytest.approx(whole.closed_form().rss, rel=1e-12)
        assert relative(merged.closed_form().std_err, whole.closed_form().std_err) < 1e-12
        assert relative(merged.hessian(), whole.hessian()) < 1e-12
        np.testing.assert_allclose(merged.mean, whole.mean, rtol=1e-12)
        np.testing.assert_allclose(merged.m2, whole.m2, rtol=1e-12)
    np.testing.assert_allclose(whole.mean, np.append(x.mean(axis=0), y.mean()), rtol=1e-12)
    np.testing.assert_allclose(whole.m2, np.append(((x - x.mean(axis=0)) ** 2).sum(axis=0),
                                                   ((y - y.mean()) ** 2).sum()), rtol=1e-12)


def test_gathered_vectors_merge_to_one_pass():
    # What processes of a distributed run do: each its shard, all-gather the vectors, merge them all.
    x, y, _ = make_data(seed=18, n=333)
    shards = np.array_split(np.arange(333), 3)
    vectors = np.stack([accumulate(iter_array_chunks(x[i], y[i], 40)).to_vector() for i in shards])
    merged = SufficientStats.from_vector(vectors[0])
    for vector in vectors[1:]:
        merged = merged.merge(SufficientStats.from_vector(vector))
    whole = accumulate(iter_array_chunks(x, y))
    assert merged.n == 333
    assert relative(merged.closed_form().theta, whole.closed_form().theta) < 1e-12
    assert relative(merged.closed_form().std_err, whole.closed_form().std_err) < 1e-12
    with pytest.raises(BadDataError, match="not a SufficientStats.to_vector"):
        SufficientStats.from_vector(vectors[0][:-1])


def test_merging_statistics_of_different_magnitudes_and_refusing_other_columns():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(200, 2))
    x[:100, 1] *= 1e-3
    x[100:, 1] *= 1e140  # the second half moves the column's scale by far more than 2**16 (within 1e±144)
    y = 1.0 + x @ [2.0, 3e-140] + rng.normal(size=200)
    merged = accumulate(iter_array_chunks(x[:100], y[:100])).merge(accumulate(iter_array_chunks(x[100:], y[100:])))
    design = np.column_stack([np.ones(200), x])
    scaled_design = design / [1.0, 1.0, 1e140]  # the same problem in ordinary units
    reference = np.linalg.lstsq(scaled_design, y, rcond=None)[0] / [1.0, 1.0, 1e140]
    assert relative(merged.closed_form().theta, reference) < 1e-12
    with pytest.raises(BadDataError, match="cannot merge statistics of 2 parameters .* into statistics of 3"):
        merged.merge(accumulate(iter_array_chunks(x, y), intercept=False))


def test_extreme_column_magnitudes_do_not_overflow():
    x, y, design = make_data(seed=3)
    big = x * [1e140, 1e-140, 1.0, 1.0]  # squares of 1e280 and 1e-280: near the ends of float64, within 1e±144
    stats = accumulate(iter_array_chunks(big, y, 37))
    theta = np.linalg.lstsq(design, y, rcond=None)[0]
    # TSQR is invariant under column scaling but for the rounding of x·1e±140 (eps/2 a column, within
    # c = 4): the bound of the unscaled problem holds, beside LAPACK's SVD solver's own.
    bound = sum(qr_errors(design, y, theta, QR_BACKWARD, normwise=normwise)["theta"] for normwise in (False, True))
    np.testing.assert_array_less(np.abs(stats.closed_form().theta * [1.0, 1e140, 1e-140, 1.0, 1.0] - theta), bound)
    assert np.isfinite(stats.closed_form().std_err).all()


def test_other_dtypes_are_converted_chunk_by_chunk():
    x, y, _ = make_data(seed=4)
    x32, y_int = x.astype(np.float32), np.round(y * 10).astype(np.int64)
    got = accumulate(iter_array_chunks(x32, y_int, 25)).closed_form().theta
    want = accumulate(iter_array_chunks(x32.astype(np.float64), y_int.astype(np.float64))).closed_form().theta
    assert relative(got, want) < 1e-12
    chunks = iter_array_chunks(x, y, 100)
    assert all(np.shares_memory(cx, x) and np.shares_memory(cy, y) for cx, cy in chunks)  # views


# --- loss, gradient, Hessian at any θ --------------------------------------------------------------

@pytest.mark.parametrize("intercept", [True, False], ids=["intercept", "no-intercept"])
def test_loss_gradient_hessian_at_any_theta(intercept):
    x, y, design = make_data(seed=5, intercept=intercept)
    stats = accumulate(iter_array_chunks(x, y, 13), intercept=intercept)
    n = len(y)
    rng = np.random.default_rng(6)
    theta_star = np.linalg.lstsq(design, y, rcond=None)[0]
    for theta in [rng.normal(size=design.shape[1]) * 3, theta_star, theta_star + 1e-6]:
        error = design @ theta - y
        assert stats.loss(theta) == pytest.approx(error @ error / n, rel=1e-12)
        gradient = 2.0 / n * design.T @ error
        # Each component to 1e-12 of the size of its terms (at θ* the gradient itself is ~0).
        scale = (2.0 / n) * np.abs(design).T @ (np.abs(design) @ np.abs(theta) + np.abs(y))
        assert np.all(np.abs(stats.gradient(theta) - gradient) <= 1e-12 * scale)
    np.testing.assert_allclose(stats.hessian(), 2.0 / n * design.T @ design, rtol=1e-12,
                               atol=1e-13 * np.abs(2.0 / n * design.T @ design).max())
    singular = np.linalg.svd(design, compute_uv=False)
    np.testing.assert_allclose(stats.hessian_extremes(), [2 * singular[0] ** 2 / n, 2 * singular[-1] ** 2 / n],
                               rtol=1e-10)
    # The exact engine's quadratic, built here from the statistics alone.
    reference = Quadratic(design, y, theta_star)
    quadratic = stats.quadratic(theta_star)
    np.testing.assert_allclose(quadratic.hessian, reference.hessian, rtol=1e-12, atol=1e-13 * reference.hessian.max())
    assert quadratic.min_part == pytest.approx(reference.min_part, rel=1e-12)
    probe = theta_star + rng.normal(size=len(theta_star))
    assert quadratic.loss(probe) == pytest.approx(reference.loss(probe), rel=1e-12)
    np.testing.assert_allclose(quadratic.gradient(probe), reference.gradient(probe), rtol=1e-10)


def test_loss_near_the_minimum_has_no_cancellation():
    # y ≈ 1e6 with residuals 1e-3: the normal-equations form yᵀy − 2θᵀAᵀy + θᵀAᵀAθ of the RSS
    # cancels ~18 digits and keeps none; ‖Rθ − z‖² + ρ² keeps most.
    rng = np.random.default_rng(7)
    x = rng.normal(size=(500, 2))
    y = 1e6 + x @ [3.0, -1.0] + 1e-3 * rng.normal(size=500)
    design = np.column_stack([np.ones(500), x])
    stats = accumulate(iter_array_chunks(x, y, 64))
    theta = np.linalg.lstsq(design, y, rcond=None)[0]
    exact = sum((Fraction(yi) - sum(Fraction(a) * Fraction(t) for a, t in zip(row, theta))) ** 2
                for row, yi in zip(design, y))  # RSS at θ in rational arithmetic
    assert stats.rss(theta) == pytest.approx(float(exact), rel=1e-7)
    assert stats.closed_form().rss == pytest.approx(float(exact), rel=1e-7)  # θ* beats the lstsq θ, barely
    normal_equations = y @ y - 2 * theta @ (design.T @ y) + theta @ (design.T @ design) @ theta
    assert abs(normal_equations - float(exact)) > float(exact)  # what the expansion would give


def test_scaling_and_standardized_statistics_match_the_scaled_rows():
    x, y, _ = make_data(seed=8)
    for intercept in (True, False):
        stats = accumulate(iter_array_chunks(x, y, 29), intercept=intercept)
        scaling, reference = stats.scaling(), Scaling.fit(x, y, intercept)
        for field in ("x_mean", "x_scale", "y_mean", "y_scale"):
            np.testing.assert_allclose(getattr(scaling, field), getattr(reference, field), rtol=1e-12, atol=1e-15)
        scaled = stats.standardized(scaling)
        direct = accumulate(iter_array_chunks(scaling.x(x), scaling.y(y)), intercept=intercept)
        theta = np.random.default_rng(9).normal(size=stats.p)
        assert relative(scaled.closed_form().theta, direct.closed_form().theta) < 1e-12
        assert scaled.loss(theta) == pytest.approx(direct.loss(theta), rel=1e-12)
        np.testing.assert_allclose(scaled.hessian(), direct.hessian(), rtol=1e-11, atol=1e-13)
        np.testing.assert_allclose(scaled.m2, direct.m2, rtol=1e-11)


# --- statistics ----------------------------------------------------------------------------------

@pytest.mark.parametrize("intercept", [True, False], ids=["intercept", "no-intercept"])
def test_statistics_match_olsstats_at_any_theta(intercept):
    x, y, design = make_data(seed=10, intercept=intercept)
    stats = accumulate(iter_array_chunks(x, y, 17), intercept=intercept)
    theta_star = stats.closed_form().theta
    for theta in (theta_star, theta_star * (1 + 1e-3)):
        got = SufficientOLSStats(stats, theta).to_dict()
        want = OLSStats(design, y, theta, intercept=intercept).to_dict()
        assert got.keys() == want.keys()
        for key, value in want.items():
            if key in ("names", "cov_type", "distribution", "weighted"):
                assert got[key] == value
            elif key in DIAGNOSTIC_KEYS:  # from the residuals, which streamed statistics do not keep
                assert got[key] is None
            else:
                np.testing.assert_allclose(got[key], value, rtol=1e-9, atol=0, err_msg=key)


@pytest.mark.parametrize("intercept", [True, False], ids=["intercept", "no-intercept"])
def test_statistics_match_statsmodels(intercept):
    sm = pytest.importorskip("statsmodels.api")
    scipy_stats = pytest.importorskip("scipy.stats")
    x, y, design = make_data(seed=11, n=250, d=3, intercept=intercept)
    result = sm.OLS(y, design).fit()
    ours = solve_streaming((x, y), intercept=intercept, chunk_rows=31).stats
    ci = np.asarray(result.conf_int(0.05))
    reference = {
        "coef": result.params, "std_err": result.bse, "t": result.tvalues, "p": result.pvalues,
        "ci_low": ci[:, 0], "ci_high": ci[:, 1], "r_squared": result.rsquared, "adj_r_squared": result.rsquared_adj,
        "f_statistic": result.fvalue, "f_pvalue": result.f_pvalue, "log_likelihood": result.llf,
        "aic": result.aic, "bic": result.bic, "n_obs": result.nobs, "df_model": result.df_model,
        "df_resid": result.df_resid, "residual_std": math.sqrt(result.scale),
    }
    # Every statistic to 1e-8 (both solvers backward stable at κ ≈ 10: agreement ~1e-13), but a
    # p-value, whose relative error is that of its statistic s times |s·f(s)/sf(s)|, the condition
    # number of the tail probability (up to 240 here: |t| of 16 to 88): 1e-8 of t is 2.4e-6 of p.
    t, f, df_model, df_resid = np.abs(result.tvalues), result.fvalue, result.df_model, result.df_resid
    amplify = {"p": t * np.exp(scipy_stats.t.logpdf(t, df_resid) - scipy_stats.t.logsf(t, df_resid)),
               "f_pvalue": f * np.exp(scipy_stats.f.logpdf(f, df_model, df_resid)
                                      - scipy_stats.f.logsf(f, df_model, df_resid))}
    for key, value in reference.items():
        rtol = 1e-8 * np.maximum(1.0, amplify.get(key, 1.0))
        np.testing.assert_array_less(np.abs(np.asarray(getattr(ours, key)) - value), rtol * np.abs(value) + 1e-300,
                                     err_msg=key)
    with pytest.raises(AttributeError, match="not kept when streaming"):
        ours.residuals  # noqa: B018


def test_solve_result_reports_like_solve():
    x, y, _ = make_data(seed=12, d=2)
    result = solve_streaming((x, y), names=["size", "rooms"], chunk_rows=50)
    exact = gradfit.solve(x, y, names=["size", "rooms"])
    out = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    reference = exact.to_dict()
    assert set(reference) <= set(out) and out["streamed"] is True and out["needs_refinement"] is False
    assert out["stats"]["names"] == ["intercept", "size", "rooms"]
    np.testing.assert_allclose(out["closed_form"]["coef"], reference["closed_form"]["coef"], rtol=1e-12)
    np.testing.assert_allclose(out["stats"]["std_err"], reference["stats"]["std_err"], rtol=1e-10)
    assert "R-squared" in result.summary() and "rooms" in result.summary()


# --- NIST StRD: TSQR alone (float64) ----------------------------------------------------------

@pytest.mark.parametrize("name", NIST_SETS)
def test_nist_with_tsqr_alone(nist_dir, name):
    design, _, y, cert = load_nist(nist_dir, name)
    x = design[:, 1:] if cert["intercept"] else design
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gradfit.CollinearityWarning)
        result = solve_streaming((x, y), intercept=cert["intercept"], chunk_rows=7)
    # TSQR is backward stable: the digits it is sure of are those of the exact answer of the
    # float64 data (rounded powers) less the first-order bound eps·c·(‖A⁺ᵀeᵢ‖·(‖y‖ + ‖θ‖₁) +
    # ‖(AᵀA)⁻¹eᵢ‖·√p·‖r‖) on unit-length columns (tests/error_bounds.py, c = 4): 11.2 for Norris'
    # intercept (0.26 beside a slope term of 500: the ‖θ‖₁ term), 7.6 for Wampler3's (residuals of
    # 2,360 with κ² = 5e6), 4.9 for Filip's (κ = 5e9). Measured over 1- to 1000-row chunks, OpenBLAS
    # kernels and thread counts: at least 0.57 digits above it (Norris 11.8), and c = 1 still holds.
    required = nist_required_digits(nist_dir, name, refined=False)
    for quantity, estimates in (("theta", result.closed_form.theta), ("std_err", result.std_err),
                                ("residual_std", result.stats.residual_std), ("r_squared", result.stats.r_squared)):
        assert_digits(name, quantity, estimates, cert[CERTIFIED[quantity]], required[quantity])
    # Flagged where the norm-wise estimate says float64 TSQR may fall short of 13 digits
    # (least_squares.closed_form.estimated_error): the sets gradfit.solve refines exactly.
    flagged = {"longley", "wampler1", "wampler2", "wampler3", "wampler4", "wampler5", "filip"}
    assert result.needs_refinement is (name in flagged)


# --- file sources ----------------------------------------------------------------------------------

@pytest.fixture
def table(tmp_path):
    rng = np.random.default_rng(13)
    frame = pd.DataFrame(rng.normal(size=(1000, 3)) * [1.0, 10.0, 0.1], columns=["a", "b", "c"])
    frame["y"] = 1.0 + frame.a - 0.2 * frame.b + 5 * frame.c + rng.normal(size=1000)
    return frame


def write(frame: pd.DataFrame, folder, stem: str) -> dict:
    paths = {"parquet": folder / f"{stem}.parquet", "csv": folder / f"{stem}.csv"}
    frame.to_parquet(paths["parquet"], row_group_size=128, index=False)
    frame.to_csv(paths["csv"], index=False)
    return paths


@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_file_sources_equal_the_in_memory_result(table, tmp_path, kind):
    path = write(table, tmp_path, "data")[kind]
    reference = gradfit.solve(table[["c", "a"]], table["y"])
    result = solve_streaming(path, target="y", features=["c", "a"], chunk_rows=37)
    assert result.names == ["c", "a"] and result.target == "y" and result.stats.n_obs == 1000
    assert relative(result.closed_form.theta, reference.closed_form.theta) < 1e-12
    assert relative(result.std_err, reference.std_err) < 1e-10
    iterate = iter_parquet_chunks if kind == "parquet" else iter_csv_chunks
    chunks = iterate(path, "y", rows=300)
    sizes = [(x.shape, y.shape) for x, y in chunks]
    assert sizes[0] == ((300, 3), (300,)) and sum(s[1][0] for s in sizes) == 1000
    assert chunks.feature_names == ["a", "b", "c"]


@pytest.mark.parametrize("kind", ["parquet", "csv"])
@pytest.mark.parametrize("column, value", [("b", np.nan), ("y", np.inf)], ids=["missing", "infinite"])
def test_a_bad_value_in_a_later_chunk_names_its_row(table, tmp_path, kind, column, value):
    bad = table.copy()
    bad.loc[777, column] = value
    path = write(bad, tmp_path, "bad")[kind]
    with pytest.raises(BadDataError) as whole_file:
        read_table(path, target="y")
    with pytest.raises(BadDataError) as streamed:
        solve_streaming(path, target="y", chunk_rows=100)  # row 777 is in the 8th chunk
    assert str(streamed.value) == str(whole_file.value)  # read_table's message, word for word
    assert ("line 779" if kind == "csv" else "row 778") in str(streamed.value)
    assert repr(column) in str(streamed.value)


def test_dropna_and_a_non_numeric_value_in_a_later_chunk(table, tmp_path):
    bad = table.astype(object)
    bad.loc[900, "b"] = "abc"
    bad.loc[100, "a"] = np.nan
    path = tmp_path / "text.csv"
    bad.to_csv(path, index=False)
    with pytest.raises(BadDataError, match=r"column 'b' is not numeric: line 902 has 'abc'"):
        solve_streaming(path, target="y", chunk_rows=100, dropna=True)
    result = solve_streaming(path, target="y", features=["a", "c"], chunk_rows=100, dropna=True)
    assert result.n_dropped == 1 and result.stats.n_obs == 999
    kept = table.drop(index=100)
    reference = np.linalg.lstsq(np.column_stack([np.ones(999), kept[["a", "c"]]]), kept["y"], rcond=None)[0]
    assert relative(result.closed_form.theta, reference) < 1e-12


def test_bad_values_in_arrays_name_the_row():
    x, y, _ = make_data(seed=14)
    x[250, 2] = np.nan
    with pytest.raises(BadDataError, match=r"x has a non-finite value at row 250, column 2 \(missing \(NaN\)\)"):
        solve_streaming((x, y), chunk_rows=64)
    x[250, 2], y[199] = 0.0, -np.inf
    with pytest.raises(BadDataError, match=r"y has a non-finite value at row 199 \(infinite\)"):
        solve_streaming((x, y), chunk_rows=64)


def test_column_and_option_problems_raise_up_front(table, tmp_path):
    path = write(table, tmp_path, "data")["parquet"]
    with pytest.raises(BadDataError, match="no column 'z' for target; the columns are: a, b, c, y"):
        iter_parquet_chunks(path, "z")
    with pytest.raises(BadOptionError, match="chunk_rows"):
        iter_array_chunks(np.ones((3, 1)), np.ones(3), rows=0)
    with pytest.raises(BadDataError, match="x has shape \\(5, 1\\) \\(5 rows\\) but y has shape \\(4,\\)"):
        iter_array_chunks(np.ones((5, 1)), np.ones(4))
    x, y, _ = make_data(seed=15)
    x[:, 3] = 2 * x[:, 0] - x[:, 1]  # collinear
    with pytest.raises(BadDataError, match="'x4' is a linear combination of 'x1', 'x2'"):
        solve_streaming((x, y), chunk_rows=50)
    with pytest.raises(BadDataError, match="2 rows cannot determine 5 parameters"):
        solve_streaming((x[:2], y[:2]))


def test_polynomial_terms_built_per_chunk():
    rng = np.random.default_rng(16)
    x = rng.uniform(-1, 2, size=400)
    y = 1 - x + 0.5 * x ** 3 + 0.1 * rng.normal(size=400)
    chunks = with_poly(iter_array_chunks(x, y, 23), 3)
    assert chunks.feature_names == ["x", "x^2", "x^3"]
    result = solve_streaming((x, y), poly=3, chunk_rows=23)
    reference = np.linalg.lstsq(np.column_stack([np.ones(400), x, x ** 2, x ** 3]), y, rcond=None)[0]
    assert relative(result.closed_form.theta, reference) < 1e-12
    assert relative(result.closed_form.theta, gradfit.solve(x, y, poly=3).closed_form.theta) < 1e-12
    assert result.names == ["x", "x^2", "x^3"] and result.poly_degree == 3


# --- memory --------------------------------------------------------------------------------------

def test_memory_stays_far_below_the_data_size():
    rng = np.random.default_rng(17)
    x = rng.standard_normal((2_000_000, 5))
    y = x @ [1.0, 2.0, 3.0, 4.0, 5.0] + rng.standard_normal(2_000_000)
    accumulate(iter_array_chunks(x[:10], y[:10]))  # imports (SciPy's LAPACK) before measuring
    tracemalloc.start()
    try:
        stats = accumulate(iter_array_chunks(x, y, 100_000))
        theta = stats.closed_form().theta
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    data = x.nbytes + y.nbytes  # 96 MB
    assert peak < 0.15 * data  # one 100k-row chunk and a temporary of its size, ~11 MB
    assert isinstance(stats, SufficientStats) and np.abs(theta - [0, 1, 2, 3, 4, 5]).max() < 0.01
