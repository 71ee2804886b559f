"""Weighted least squares against statsmodels' WLS, on every engine, in memory and under the
command line; weights that cannot be used are one clear error naming the row.

Reference data: statsmodels' bundled Grunfeld data with weights ``1 / (1 + capital/100)``, and
simulated heteroscedastic rows. Tolerances follow the error of the float64 computations: about
``κ²·eps`` for the bread (``κ`` of the whitened, unit-length columns), ``√n·eps`` for the sums.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import gradfit
from error_bounds import EPS, QR_BACKWARD
from gradfit.errors import BadDataError

sm = pytest.importorskip("statsmodels.api")


@pytest.fixture(scope="module")
def grunfeld():
    data = sm.datasets.grunfeld.load_pandas().data
    return data[["value", "capital"]], data["invest"], 1.0 / (1.0 + data["capital"] / 100.0), data["firm"]


def tolerance(x, w) -> float:
    design = np.column_stack([np.ones(len(x)), np.asarray(x, dtype=float)]) * np.sqrt(np.asarray(w))[:, None]
    kappa = np.linalg.cond(design / np.linalg.norm(design, axis=0))
    return 2 * QR_BACKWARD * EPS * (kappa ** 2 + math.sqrt(len(x)))


def test_solve_equals_statsmodels_wls(grunfeld):
    x, y, w, _ = grunfeld
    stats = gradfit.solve(x, y, weights=w).stats
    ref = sm.WLS(y, sm.add_constant(x), weights=w).fit()
    rtol = tolerance(x, w)
    np.testing.assert_allclose(stats.coef, ref.params.to_numpy(), rtol=rtol)
    np.testing.assert_allclose(stats.std_err, ref.bse.to_numpy(), rtol=rtol)
    np.testing.assert_allclose(stats.p, ref.pvalues.to_numpy(), rtol=1e3 * rtol, atol=1e-300)
    for ours, theirs in [(stats.r_squared, ref.rsquared), (stats.adj_r_squared, ref.rsquared_adj),
                         (stats.f_statistic, ref.fvalue), (stats.log_likelihood, ref.llf), (stats.aic, ref.aic),
                         (stats.bic, ref.bic), (stats.scale, ref.scale)]:
        assert ours == pytest.approx(theirs, rel=rtol)
    # statsmodels' summary takes the residual tests of the whitened residuals
    from statsmodels.stats.stattools import durbin_watson, jarque_bera

    assert stats.diagnostics["durbin_watson"] == pytest.approx(durbin_watson(ref.wresid), rel=1e-9)
    assert stats.diagnostics["jarque_bera"] == pytest.approx(jarque_bera(ref.wresid)[0], rel=1e-9)
    assert "Model:                             WLS" in stats.summary() and stats.to_dict()["weighted"] is True


@pytest.mark.parametrize("kind", ["HC0", "HC3", "cluster", "HAC"])
def test_weighted_robust_covariances_equal_statsmodels(grunfeld, kind):
    x, y, w, firm = grunfeld
    options = {"cluster": firm} if kind == "cluster" else {"maxlags": 2} if kind == "HAC" else {}
    stats = gradfit.solve(x, y, weights=w, cov_type=kind, **options).stats
    kwds = {"groups": firm.astype("category").cat.codes} if kind == "cluster" else \
        {"maxlags": 2} if kind == "HAC" else {}
    ref = sm.WLS(y, sm.add_constant(x), weights=w).fit(cov_type=kind, cov_kwds=kwds)
    np.testing.assert_allclose(stats.std_err, ref.bse.to_numpy(), rtol=tolerance(x, w))
    assert stats.f_statistic == pytest.approx(ref.fvalue, rel=tolerance(x, w))


@pytest.mark.parametrize("engine, dtype, atol", [("exact", "float64", 1e-9), ("numpy", "float64", 1e-9),
                                                 ("torch", "float64", 1e-9)])
def test_gradient_descent_minimises_the_weighted_mse(grunfeld, engine, dtype, atol):
    x, y, w, _ = grunfeld
    res = gradfit.fit(x, y, weights=w, engine=engine, dtype=dtype, lr="auto", standardize=True, epochs=3000)
    ref = sm.WLS(y, sm.add_constant(x), weights=w).fit()
    assert res.converged
    np.testing.assert_allclose(res.closed_form.theta, ref.params.to_numpy(), rtol=tolerance(x, w))
    scale = np.abs(ref.params.to_numpy())
    assert np.all(np.abs(res.params.theta - ref.params.to_numpy()) <= atol * np.maximum(scale, 1.0))
    weighted_mse = float(np.mean(w * (y - ref.fittedvalues) ** 2))
    assert res.train_loss == pytest.approx(weighted_mse, rel=1e-9)
    assert res.names == ["value", "capital"] and res.params.intercept is not None


def test_unit_weights_are_ordinary_least_squares(grunfeld):
    x, y, _, _ = grunfeld
    plain, weighted = gradfit.solve(x, y), gradfit.solve(x, y, weights=np.ones(len(y)))
    rtol = tolerance(x, np.ones(len(y)))
    np.testing.assert_allclose(weighted.stats.coef, plain.stats.coef, rtol=rtol)
    np.testing.assert_allclose(weighted.stats.std_err, plain.stats.std_err, rtol=rtol)
    assert weighted.stats.r_squared == pytest.approx(plain.stats.r_squared, rel=rtol)
    assert weighted.stats.log_likelihood == pytest.approx(plain.stats.log_likelihood, rel=rtol)


def test_zero_weights_drop_rows_from_the_estimate(grunfeld):
    """A zero weight leaves its row out of the coefficients (statsmodels keeps it in n)."""
    x, y, w, _ = grunfeld
    w0 = w.to_numpy().copy()
    w0[:20] = 0.0
    ours = gradfit.solve(x, y, weights=w0).stats
    kept = gradfit.solve(x.iloc[20:], y.iloc[20:], weights=w0[20:]).stats
    np.testing.assert_allclose(ours.coef, kept.coef, rtol=tolerance(x, w))


def test_large_weighted_rows_take_the_gram_path():
    rng = np.random.default_rng(0)
    n = 300_000
    x = rng.standard_normal((n, 3))
    w = rng.uniform(0.1, 2.0, n)
    y = 5.0 + x @ [1.0, 2.0, 3.0] + rng.standard_normal(n) / np.sqrt(w)
    stats = gradfit.solve(x, y, weights=w).stats
    ref = sm.WLS(y, sm.add_constant(x), weights=w).fit()
    assert type(stats).__name__ == "RowsOLSStats"  # the sufficient statistics of the whitened rows
    rtol = tolerance(x, w)
    np.testing.assert_allclose(stats.std_err, ref.bse, rtol=rtol)
    assert stats.r_squared == pytest.approx(ref.rsquared, rel=rtol)
    assert stats.log_likelihood == pytest.approx(ref.llf, rel=rtol)


def test_weights_follow_their_rows_into_the_validation_split(grunfeld):
    x, y, w, _ = grunfeld
    res = gradfit.fit(x, y, weights=w, val_split=0.25, lr="auto", standardize=True, epochs=3000)
    order = np.random.default_rng(42).permutation(len(y))
    train, val = order[:res.n_train], order[res.n_train:]
    ref = sm.WLS(y.iloc[train], sm.add_constant(x.iloc[train]), weights=w.iloc[train]).fit()
    np.testing.assert_allclose(res.closed_form.theta, ref.params.to_numpy(), rtol=tolerance(x, w))
    theta = res.params.theta
    fitted = theta[0] + x.iloc[val].to_numpy() @ theta[1:]
    assert res.val_loss == pytest.approx(float(np.mean(w.iloc[val] * (y.iloc[val] - fitted) ** 2)), rel=1e-9)


@pytest.mark.parametrize("bad, match", [
    (lambda w: np.where(np.arange(len(w)) == 3, -1.0, w), "weights of row 3 is -1.0"),
    (lambda w: np.where(np.arange(len(w)) == 5, np.nan, w), "weights of row 5 is nan"),
    (lambda w: np.where(np.arange(len(w)) == 2, np.inf, w), "weights of row 2 is inf"),
    (lambda w: np.zeros(len(w)), "is zero"),
    (lambda w: w[:10], "one weight per row"),
])
def test_bad_weights(grunfeld, bad, match):
    x, y, w, _ = grunfeld
    with pytest.raises(BadDataError, match=match):
        gradfit.solve(x, y, weights=bad(w.to_numpy()))


def test_cli_weights_column(tmp_path, grunfeld, capsys):
    from gradfit.cli import main

    x, y, w, _ = grunfeld
    path = tmp_path / "g.csv"
    x.assign(w=w, invest=y).to_csv(path, index=False)
    assert main(["solve", str(path), "--target", "invest", "--weights", "w", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    ref = sm.WLS(y, sm.add_constant(x), weights=w).fit()
    assert out["stats"]["names"] == ["intercept", "value", "capital"]  # the weights are no feature
    np.testing.assert_allclose(out["stats"]["std_err"], ref.bse.to_numpy(), rtol=tolerance(x, w))
    frame = x.assign(w=w, invest=y)
    frame.loc[7, "w"] = -2.0
    frame.to_csv(path, index=False)
    assert main(["solve", str(path), "--target", "invest", "--weights", "w"]) == 2
    err = capsys.readouterr().err
    assert "line 9, column 'w' (the weights) is -2" in err and len(err.strip().splitlines()) == 1
    assert main(["solve", str(path), "--target", "invest", "--weights", "ww"]) == 2
    assert "no column 'ww' for --weights" in capsys.readouterr().err
    assert main(["solve", str(path), "--target", "invest", "--weights", "w", "--chunk-rows", "50"]) == 2
    assert capsys.readouterr().err == err  # the streamed pass names the same line


def test_streamed_weights_errors_name_the_file_line_after_dropped_rows(tmp_path, grunfeld, capsys):
    """A chunk's bad weight is placed in the file as the in-memory read places it: the line of a
    CSV file (a dropped row before it counted), the row of a Parquet file, in another process's
    share or not."""
    from gradfit.cli import main

    x, y, w, _ = grunfeld
    frame = x.assign(w=w, invest=y)
    frame.loc[2, "value"] = np.nan  # dropped with --dropna: data row 27 below is the file's 28th
    frame.loc[27, "w"] = -0.5
    for path, where in ((tmp_path / "g.csv", "line 29"), (tmp_path / "g.parquet", "row 28")):
        frame.to_csv(path, index=False) if path.suffix == ".csv" else frame.to_parquet(path, row_group_size=40)
        errors = []
        for chunks in ([], ["--chunk-rows", "10"]):
            assert main(["solve", str(path), "--target", "invest", "--weights", "w", "--dropna", *chunks]) == 2
            errors.append(capsys.readouterr().err)
        assert errors[0] == errors[1] and f"{path.name}: {where}, column 'w' (the weights) is -0.5" in errors[0]
    from gradfit.data.weights import weighted_file_chunks

    share = weighted_file_chunks(str(tmp_path / "g.csv"), "invest", None, "w", 10, dropna=True, part=(0, 2),
                                 intercept=True)
    with pytest.raises(BadDataError, match="g.csv: line 29, column 'w'"):  # process 0 of 2 reads rows 20–29
        list(share)
    frame["w"] = 0.0
    frame.to_csv(tmp_path / "g.csv", index=False)
    assert main(["solve", str(tmp_path / "g.csv"), "--target", "invest", "--weights", "w", "--chunk-rows", "10",
                 "--dropna"]) == 2
    assert "g.csv: every weight in column 'w' is zero" in capsys.readouterr().err


def test_streamed_weights_equal_in_memory(tmp_path, grunfeld):
    """One pass, chunk by chunk (CSV and Parquet, 7-row chunks), gives the in-memory WLS answer."""
    x, y, w, _ = grunfeld
    frame = x.assign(w=w, invest=y)
    whole = gradfit.solve(x, y, weights=w).stats
    for path in (tmp_path / "g.csv", tmp_path / "g.parquet"):
        frame.to_csv(path, index=False) if path.suffix == ".csv" else frame.to_parquet(path, row_group_size=40)
        streamed = gradfit.solve_streaming(path, target="invest", weights="w", chunk_rows=7).stats
        assert streamed.names == whole.names and streamed.weighting is not None
        np.testing.assert_allclose(streamed.coef, whole.coef, rtol=1e-12)
        np.testing.assert_allclose(streamed.std_err, whole.std_err, rtol=1e-12)
        for key in ("r_squared", "log_likelihood", "f_statistic", "aic"):
            assert getattr(streamed, key) == pytest.approx(getattr(whole, key), rel=1e-12), key
    fitted = gradfit.fit_streaming(tmp_path / "g.csv", target="invest", weights="w", chunk_rows=7, lr="auto",
                                   standardize=True, epochs=3000)
    assert fitted.converged and fitted.params.intercept == pytest.approx(whole.coef[0], rel=1e-9)


def test_weighted_influence_is_that_of_the_whitened_rows(grunfeld):
    """Leverages of WLS are the hat matrix of the whitened design (trace p, as R's hatvalues of a
    weighted lm); statsmodels' OLSInfluence on the whitened OLS gives them independently."""
    from statsmodels.stats.outliers_influence import OLSInfluence

    x, y, w, _ = grunfeld
    frame = gradfit.solve(x, y, weights=w).influence()
    root = np.sqrt(w.to_numpy())
    whitened = OLSInfluence(sm.OLS(y.to_numpy() * root, sm.add_constant(x).to_numpy() * root[:, None]).fit())
    np.testing.assert_allclose(frame["leverage"], whitened.hat_matrix_diag, rtol=tolerance(x, w))
    assert frame["leverage"].sum() == pytest.approx(3.0, rel=1e-12)
    np.testing.assert_allclose(frame["cooks_d"], whitened.cooks_distance[0], rtol=1e-9)
    np.testing.assert_allclose(frame["student_resid_external"], whitened.resid_studentized_external, rtol=1e-9)
