"""Robust covariances and residual diagnostics against statsmodels, from Python and the command line.

Reference data: statsmodels' bundled Grunfeld investment data (220 firm-years, 11 firms: the
classic cluster-robust example) and Longley (ill-conditioned). Tolerances follow the error of the
two float64 computations: the bread ``(AᵀA)⁻¹`` carries a relative error of about ``κ²·eps``
(``κ`` of the unit-length columns) and the middle, a sum of ``n`` terms, about ``√n·eps`` (Higham
& Mary's probabilistic bound), each from both sides.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import gradfit
from error_bounds import EPS, QR_BACKWARD
from gradfit.errors import BadDataError, BadOptionError

sm = pytest.importorskip("statsmodels.api")
from statsmodels.stats.stattools import durbin_watson, jarque_bera, omni_normtest  # noqa: E402

KINDS = [("HC0", {}), ("HC1", {}), ("HC2", {}), ("HC3", {}), ("HAC", {"maxlags": 3}), ("cluster", {})]


@pytest.fixture(scope="module")
def grunfeld():
    data = sm.datasets.grunfeld.load_pandas().data
    return data[["value", "capital"]], data["invest"], data["firm"]


def tolerance(x) -> float:
    """Relative error allowed between gradfit's and statsmodels' robust standard errors."""
    design = np.column_stack([np.ones(len(x)), np.asarray(x, dtype=float)])
    kappa = np.linalg.cond(design / np.linalg.norm(design, axis=0))
    return 2 * QR_BACKWARD * EPS * (kappa ** 2 + math.sqrt(len(x)))


def statsmodels_fit(x, y, kind, groups=None, maxlags=None):
    kwds = {"groups": groups.astype("category").cat.codes} if kind == "cluster" else \
        {"maxlags": maxlags} if kind == "HAC" else {}
    return sm.OLS(y, sm.add_constant(x)).fit(cov_type=kind, cov_kwds=kwds)


@pytest.mark.parametrize("kind, extra", KINDS)
def test_solve_equals_statsmodels(grunfeld, kind, extra):
    x, y, firm = grunfeld
    options = {"cluster": firm} if kind == "cluster" else extra
    stats = gradfit.solve(x, y, cov_type=kind, **options).stats
    ref = statsmodels_fit(x, y, kind, firm, extra.get("maxlags"))
    rtol = tolerance(x)
    np.testing.assert_allclose(stats.std_err, ref.bse.to_numpy(), rtol=rtol)
    np.testing.assert_allclose(stats.cov_params, ref.cov_params().to_numpy(), rtol=rtol,
                               atol=rtol * np.abs(ref.cov_params().to_numpy()).max())
    np.testing.assert_allclose(stats.t, ref.tvalues.to_numpy(), rtol=rtol)
    # p and the interval follow the normal distribution, as statsmodels' robust default
    np.testing.assert_allclose(stats.p, ref.pvalues.to_numpy(), rtol=1e3 * rtol, atol=1e-300)
    intervals = ref.conf_int().to_numpy()
    np.testing.assert_allclose(stats.ci_low, intervals[:, 0], rtol=rtol, atol=rtol * ref.bse.max())
    np.testing.assert_allclose(stats.ci_high, intervals[:, 1], rtol=rtol, atol=rtol * ref.bse.max())
    assert stats.f_statistic == pytest.approx(ref.fvalue, rel=rtol)
    assert stats.f_pvalue == pytest.approx(ref.f_pvalue, rel=1e3 * rtol)
    assert ref.use_t is False and stats.covariance.use_t is False


def test_longley_hc_equals_statsmodels_despite_the_condition_number():
    data = sm.datasets.longley.load_pandas()
    x, y = data.exog, data.endog
    with pytest.warns(gradfit.CollinearityWarning):
        stats = gradfit.solve(x, y, cov_type="HC1").stats
    ref = statsmodels_fit(x, y, "HC1")
    np.testing.assert_allclose(stats.std_err, ref.bse.to_numpy(), rtol=tolerance(x))


def test_nonrobust_unchanged_and_labelled(grunfeld):
    x, y, _ = grunfeld
    stats = gradfit.solve(x, y).stats
    ref = sm.OLS(y, sm.add_constant(x)).fit()
    np.testing.assert_allclose(stats.std_err, ref.bse.to_numpy(), rtol=tolerance(x))
    out = stats.to_dict()
    assert out["cov_type"] == "nonrobust" and out["distribution"] == "t"
    assert "Covariance Type:             nonrobust" in stats.summary()
    assert list(stats.to_frame().columns)[2:4] == ["t", "P>|t|"]


def test_robust_at_the_gradient_descent_answer(grunfeld):
    """The sandwich at GD's θ uses GD's residuals: checked against NumPy's own sandwich there."""
    x, y, _ = grunfeld
    with pytest.warns(gradfit.ConvergenceWarning):
        res = gradfit.fit(x, y, cov_type="HC0", epochs=5, standardize=True)
    assert not res.converged and res.to_dict()["stats"]["converged"] is False
    design = np.column_stack([np.ones(len(x)), x.to_numpy()])
    theta = np.concatenate([[res.params.intercept], res.params.coef])
    e = y.to_numpy() - design @ theta
    bread = np.linalg.inv(design.T @ design)
    expected = np.sqrt(np.diag(bread @ (design.T * e ** 2) @ design @ bread))
    np.testing.assert_allclose(res.stats.std_err, expected, rtol=tolerance(x))


def test_hac_over_blocks_equals_one_block():
    """HAC pairs rows across the blocks of the pass: any block size gives the same middle."""
    from gradfit.least_squares.covariance import CovarianceSpec, robust_covariance

    rng = np.random.default_rng(3)
    design = np.column_stack([np.ones(200), rng.standard_normal((200, 2))])
    e = rng.standard_normal(200)
    spec, bread = CovarianceSpec("HAC", maxlags=5), np.linalg.inv(design.T @ design)
    whole = robust_covariance(spec, bread, [(design, e)], 200)
    for size in (1, 3, 7, 64):
        blocks = [(design[i:i + size], e[i:i + size]) for i in range(0, 200, size)]
        np.testing.assert_allclose(robust_covariance(spec, bread, blocks, 200), whole, rtol=1e-13)


def test_cluster_labels_follow_the_validation_split(grunfeld):
    """With a validation split the labels go with their rows: the statistics equal statsmodels'
    on the training rows alone."""
    x, y, firm = grunfeld
    res = gradfit.fit(x, y, cov_type="cluster", cluster=firm, val_split=0.25, lr="auto", standardize=True,
                      epochs=5000)
    order = np.random.default_rng(42).permutation(len(y))[: res.n_train]
    xt, yt, gt = x.iloc[order], y.iloc[order], firm.iloc[order]
    ref = sm.OLS(yt, sm.add_constant(xt)).fit(cov_type="cluster", cov_kwds={"groups": gt.astype("category").cat.codes})
    np.testing.assert_allclose(res.stats.std_err, ref.bse.to_numpy(), rtol=1e-6)


@pytest.mark.parametrize("kwargs, match", [
    ({"cov_type": "cluster"}, "needs the cluster of every row"),
    ({"cov_type": "HAC"}, r"maxlags=4"),
    ({"cov_type": "HC9"}, "unknown covariance type"),
    ({"maxlags": 2}, "cov_type='HAC'"),
])
def test_bad_covariance_options(grunfeld, kwargs, match):
    x, y, _ = grunfeld
    with pytest.raises(BadOptionError, match=match):
        gradfit.solve(x, y, **kwargs)


def test_bad_cluster_labels(grunfeld):
    x, y, firm = grunfeld
    with pytest.raises(BadDataError, match="one cluster label per row"):
        gradfit.solve(x, y, cov_type="cluster", cluster=firm[:10])
    labels = firm.to_numpy(dtype=object).copy()
    labels[7] = None
    with pytest.raises(BadDataError, match="row 7 is missing"):
        gradfit.solve(x, y, cov_type="cluster", cluster=labels)
    with pytest.raises(BadDataError, match="two or more"):
        gradfit.solve(x, y, cov_type="cluster", cluster=np.zeros(len(y)))
    with pytest.raises(BadOptionError, match="validation split shuffles"):
        gradfit.fit(x, y, cov_type="HAC", maxlags=2, val_split=0.2)


@pytest.mark.parametrize("kind, extra", [("HC1", {}), ("HC2", {}), ("HAC", {"maxlags": 5})])
def test_streamed_robust_equals_in_memory(tmp_path, grunfeld, kind, extra):
    """A second pass over the file, in 9-row chunks (HAC pairs rows across chunks)."""
    x, y, _ = grunfeld
    path = tmp_path / "g.csv"
    x.assign(invest=y).to_csv(path, index=False)
    whole = gradfit.solve(x, y, cov_type=kind, **extra).stats
    streamed = gradfit.solve_streaming(path, target="invest", chunk_rows=9, cov_type=kind, **extra).stats
    np.testing.assert_allclose(streamed.std_err, whole.std_err, rtol=1e-12)
    assert streamed.f_statistic == pytest.approx(whole.f_statistic, rel=1e-12)
    for key in ("durbin_watson", "jarque_bera", "omnibus", "skew", "kurtosis"):  # the same pass's sums
        assert streamed.diagnostics[key] == pytest.approx(whole.diagnostics[key], rel=1e-9), key
    fitted = gradfit.fit_streaming(path, target="invest", chunk_rows=9, cov_type=kind, lr="auto", epochs=3000,
                                   standardize=True, **extra)
    np.testing.assert_allclose(fitted.stats.std_err, whole.std_err, rtol=1e-9)


def test_streamed_cluster_equals_in_memory(tmp_path, grunfeld):
    """The labels are read beside each chunk of the second pass and the clusters counted there."""
    x, y, firm = grunfeld
    whole = gradfit.solve(x, y, cov_type="cluster", cluster=firm).stats
    frame = x.assign(invest=y, firm=firm)
    for path in (tmp_path / "g.csv", tmp_path / "g.parquet"):
        frame.to_csv(path, index=False) if path.suffix == ".csv" else frame.to_parquet(path, row_group_size=30)
        streamed = gradfit.solve_streaming(path, target="invest", chunk_rows=13, cov_type="cluster",
                                           cluster="firm").stats
        assert streamed.names == whole.names  # the cluster column is no feature
        np.testing.assert_allclose(streamed.std_err, whole.std_err, rtol=1e-12)
        assert streamed.covariance.n_groups == 11 and streamed.f_pvalue == pytest.approx(whole.f_pvalue, rel=1e-9)
    with pytest.raises(BadOptionError, match="needs the cluster of every row"):
        gradfit.solve_streaming(tmp_path / "g.csv", target="invest", features=["value", "capital"], chunk_rows=50,
                                cov_type="cluster")
    with pytest.raises(BadDataError, match="no column 'frim'"):
        gradfit.solve_streaming(tmp_path / "g.csv", target="invest", cov_type="cluster", cluster="frim")


# ----- residual diagnostics --------------------------------------------------------------------

def test_diagnostics_equal_statsmodels(grunfeld):
    x, y, _ = grunfeld
    stats = gradfit.solve(x, y).stats
    e = sm.OLS(y, sm.add_constant(x)).fit().resid.to_numpy()
    omnibus, omnibus_p = omni_normtest(e)
    jb, jb_p, skew, kurtosis = jarque_bera(e)
    expected = {"omnibus": omnibus, "omnibus_p": omnibus_p, "skew": skew, "kurtosis": kurtosis,
                "durbin_watson": durbin_watson(e), "jarque_bera": jb, "jarque_bera_p": jb_p}
    # the residuals agree to about κ·eps·‖y‖/‖e‖ relative; the statistics are smooth in them
    for key, value in expected.items():
        assert stats.diagnostics[key] == pytest.approx(value, rel=1e-9), key
    out = json.loads(gradfit.solve(x, y).to_json())["stats"]
    assert out["durbin_watson"] == pytest.approx(expected["durbin_watson"], rel=1e-9)
    summary = stats.summary()
    assert "Durbin-Watson:" in summary and "Jarque-Bera (JB):" in summary and "Omnibus:" in summary


def test_diagnostics_of_streamed_data_are_null_without_a_second_pass(tmp_path, grunfeld):
    x, y, _ = grunfeld
    path = tmp_path / "g.csv"
    x.assign(invest=y).to_csv(path, index=False)
    res = gradfit.solve_streaming(path, target="invest", chunk_rows=50)
    out = res.to_dict()["stats"]
    assert out["omnibus"] is None and out["durbin_watson"] is None
    assert "Omnibus" not in res.summary()


def test_omnibus_undefined_below_eight_rows():
    stats = gradfit.solve(np.arange(6.0), np.array([1.0, 3.2, 4.9, 7.1, 9.0, 11.2])).stats
    assert math.isnan(stats.diagnostics["omnibus"]) and math.isfinite(stats.diagnostics["jarque_bera"])
    assert stats.to_dict()["omnibus"] is None


# ----- the command line -------------------------------------------------------------------------

def test_cli_cluster_with_a_text_column(tmp_path, grunfeld, capsys):
    from gradfit.cli import main

    x, y, firm = grunfeld
    path = tmp_path / "grunfeld.csv"
    x.assign(invest=y, firm=firm).to_csv(path, index=False)
    assert main(["solve", str(path), "--target", "invest", "--cov", "cluster", "--cluster", "firm", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)["stats"]
    ref = statsmodels_fit(x, y, "cluster", firm)
    assert out["names"] == ["intercept", "value", "capital"]  # the cluster column is no feature
    np.testing.assert_allclose(out["std_err"], ref.bse.to_numpy(), rtol=tolerance(x))
    assert out["cov_type"] == "cluster" and out["n_groups"] == 11 and out["distribution"] == "normal"
    assert main(["solve", str(path), "--target", "invest", "--cov", "cluster", "--cluster", "firm"]) == 0
    text = capsys.readouterr().out
    assert "cluster (11 groups)" in text and "P>|z|" in text


@pytest.mark.parametrize("args, message", [
    (["--cov", "cluster"], "--cov cluster: needs the cluster of every row; add --cluster COLUMN"),
    (["--cov", "HAC"], "add --maxlags 4"),
    (["--cluster", "firm"], "add --cov cluster"),
    (["--cov", "cluster", "--cluster", "frim"], "no column 'frim' for --cluster"),
    (["--cov", "cluster", "--chunk-rows", "50"], "--cov cluster: needs the cluster of every row"),
])
def test_cli_covariance_errors(tmp_path, grunfeld, capsys, args, message):
    from gradfit.cli import main

    x, y, firm = grunfeld
    path = tmp_path / "grunfeld.csv"
    x.assign(invest=y, firm=firm).to_csv(path, index=False)
    assert main(["solve", str(path), "--target", "invest", "--features", "value,capital", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_large_ill_conditioned_rows_in_memory_take_a_second_pass():
    """Above limits.SMALL_CELLS and beyond the Gram path's condition number the rows are reduced by
    TSQR; the robust covariance and the residual tests still come from the rows in memory."""
    from gradfit import limits

    rng = np.random.default_rng(5)
    n, d = limits.SMALL_CELLS // 19, 20
    x = rng.normal(2.0, 1.5, size=(n, d))
    x[:, 1] = x[:, 0] + 1e-3 * rng.normal(size=n)  # nearly collinear: κ beyond the Gram path's
    y = 3.0 + x @ rng.normal(size=d) + rng.normal(size=n)
    with pytest.warns(gradfit.CollinearityWarning):
        stats = gradfit.solve(x, y, cov_type="HC1").stats
    assert type(stats).__name__ == "SufficientOLSStats"
    ref = sm.OLS(y, sm.add_constant(x)).fit(cov_type="HC1")
    np.testing.assert_allclose(stats.std_err, ref.bse, rtol=tolerance(x))
    assert stats.diagnostics["jarque_bera"] == pytest.approx(jarque_bera(ref.resid)[0], rel=1e-9)
