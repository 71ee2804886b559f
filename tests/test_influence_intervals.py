"""Influence measures and prediction intervals against statsmodels (``OLSInfluence`` and
``get_prediction(X).summary_frame``), from Python, the model file and the command line.

Data: statsmodels' bundled Grunfeld data (220 rows, κ ≈ 3 on unit-length columns). The leverages
come from the bread ``(AᵀA)⁻¹`` (relative error about ``κ²·eps`` on each side); a studentized
residual divides a residual by ``√(1 − h)`` and σ̂, each known to about ``κ·eps·‖y‖/|e_i|``
relative, so the smallest residuals set the tolerance of those columns.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import gradfit
from error_bounds import EPS, QR_BACKWARD
from gradfit.errors import BadDataError

sm = pytest.importorskip("statsmodels.api")
from statsmodels.stats.outliers_influence import OLSInfluence  # noqa: E402


@pytest.fixture(scope="module")
def grunfeld():
    data = sm.datasets.grunfeld.load_pandas().data
    return data[["value", "capital"]], data["invest"], data["firm"]


def bounds(x, y, e):
    """(relative tolerance of leverages, of residual-based columns) for this data."""
    design = np.column_stack([np.ones(len(x)), np.asarray(x, dtype=float)])
    kappa = np.linalg.cond(design / np.linalg.norm(design, axis=0))
    bread = 2 * QR_BACKWARD * EPS * kappa ** 2
    residual = 2 * QR_BACKWARD * EPS * kappa * np.linalg.norm(y) / np.min(np.abs(e))
    return bread, bread + residual


def test_influence_equals_statsmodels(grunfeld):
    x, y, _ = grunfeld
    frame = gradfit.solve(x, y).influence()
    ref = OLSInfluence(sm.OLS(y, sm.add_constant(x)).fit())
    lev_tol, tol = bounds(x, y, ref.resid)
    assert list(frame.columns) == ["leverage", "resid", "student_resid_internal", "student_resid_external",
                                   "cooks_d", "dffits"] and len(frame) == len(y)
    np.testing.assert_allclose(frame["leverage"], ref.hat_matrix_diag, rtol=lev_tol)
    np.testing.assert_allclose(frame["student_resid_internal"], ref.resid_studentized_internal, rtol=tol)
    np.testing.assert_allclose(frame["student_resid_external"], ref.resid_studentized_external, rtol=tol)
    np.testing.assert_allclose(frame["cooks_d"], ref.cooks_distance[0], rtol=2 * tol)
    np.testing.assert_allclose(frame["dffits"], ref.dffits[0], rtol=tol)


def test_influence_by_leaving_each_row_out():
    """The O(n·p²) identities against refits without each row (small data: every row refitted)."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((30, 2))
    y = 1.0 + x @ [2.0, -1.0] + rng.standard_normal(30)
    frame = gradfit.solve(x, y).influence()
    full = gradfit.solve(x, y).closed_form
    design = np.column_stack([np.ones(30), x])
    for i in range(30):
        keep = np.arange(30) != i
        out = gradfit.solve(x[keep], y[keep])
        theta = np.concatenate([[out.closed_form.intercept], out.closed_form.coef])
        # DFFITS: the change in the i-th fitted value, in units of its leave-one-out standard error
        change = design[i] @ (np.concatenate([[full.intercept], full.coef]) - theta)
        expected = change / (out.stats.residual_std * np.sqrt(frame["leverage"][i]))
        assert frame["dffits"][i] == pytest.approx(expected, rel=1e-9)


def test_cli_solve_influence_file(tmp_path, grunfeld, capsys):
    from gradfit.cli import main

    x, y, _ = grunfeld
    data, table = tmp_path / "g.csv", tmp_path / "influence.csv"
    x.assign(invest=y).to_csv(data, index=False)
    assert main(["solve", str(data), "--target", "invest", "--influence", str(table)]) == 0
    import pandas as pd

    written = pd.read_csv(table)
    ref = OLSInfluence(sm.OLS(y, sm.add_constant(x)).fit())
    np.testing.assert_allclose(written["cooks_d"], ref.cooks_distance[0], rtol=2 * bounds(x, y, ref.resid)[1])
    assert main(["solve", str(data), "--target", "invest", "--influence", str(data)]) == 2
    assert "read as input" in capsys.readouterr().err
    # streamed: a second pass writes the table chunk by chunk, the same numbers to rounding
    streamed = tmp_path / "streamed.csv"
    assert main(["solve", str(data), "--target", "invest", "--chunk-rows", "17", "--influence", str(streamed)]) == 0
    again = pd.read_csv(streamed)
    assert again.shape == written.shape
    np.testing.assert_allclose(again["leverage"], written["leverage"], rtol=1e-12)
    np.testing.assert_allclose(again["cooks_d"], written["cooks_d"], rtol=bounds(x, y, ref.resid)[1])


# ----- intervals for predictions ------------------------------------------------------------------

@pytest.mark.parametrize("kind, extra", [("nonrobust", {}), ("HC3", {})])
@pytest.mark.parametrize("alpha", [0.05, 0.1])
def test_intervals_equal_statsmodels(grunfeld, kind, extra, alpha):
    x, y, _ = grunfeld
    res = gradfit.solve(x, y, cov_type=kind)
    fitted = gradfit.fit(x, y, cov_type=kind, lr="auto", standardize=True, epochs=5000)
    assert fitted.converged
    ref = sm.OLS(y, sm.add_constant(x)).fit(cov_type=kind)
    new = x.iloc[::20]
    frame = ref.get_prediction(sm.add_constant(new)).summary_frame(alpha).reset_index(drop=True)
    rows = np.abs(sm.add_constant(new).to_numpy())
    # GD ends within max_abs_diff of least squares: a prediction moves by at most that times Σ|a_j|;
    # both sides round the sum Σ a_j θ_j, an error relative to Σ|a_j θ_j| (not to the sum itself).
    error = fitted.max_abs_diff * rows.sum(axis=1) + 2 * QR_BACKWARD * EPS * 10 * rows @ np.abs(ref.params.to_numpy())
    conf = fitted.predict(new, interval="confidence", alpha=alpha)
    pred = fitted.predict(new, interval="prediction", alpha=alpha)
    assert np.all(np.abs(conf["prediction"] - frame["mean"]) <= error)
    np.testing.assert_allclose(conf["std_err"], frame["mean_se"], rtol=1e-6)
    np.testing.assert_allclose(pred["std_err"] ** 2, frame["mean_se"] ** 2 + ref.scale, rtol=1e-6)
    half = conf["upper"] - conf["prediction"]
    np.testing.assert_allclose(half, frame["mean_ci_upper"] - frame["mean"], rtol=1e-6)
    np.testing.assert_allclose(pred["upper"] - pred["prediction"], frame["obs_ci_upper"] - frame["mean"], rtol=1e-6)
    assert np.all(np.abs(conf["lower"] - frame["mean_ci_lower"]) <= error + 1e-6 * half)
    assert res.stats.covariance.kind == kind


def test_interval_from_the_model_file_and_the_command_line(tmp_path, grunfeld, capsys):
    from gradfit.cli import main

    x, y, _ = grunfeld
    data, model, new = tmp_path / "g.csv", tmp_path / "m.json", tmp_path / "new.csv"
    x.assign(invest=y).to_csv(data, index=False)
    x.iloc[:4].to_csv(new, index=False)
    assert main(["fit", str(data), "--target", "invest", "--lr", "auto", "--epochs", "5000", "--quiet",
                 "--save-model", str(model)]) == 0
    capsys.readouterr()
    saved = json.loads(model.read_text())
    assert saved["inference"]["df_resid"] == 217 and len(saved["inference"]["cov_params"]) == 3
    assert main(["predict", str(model), str(new), "--interval", "prediction", "--alpha", "0.1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "value,capital,invest_predicted,invest_lower,invest_upper"
    ref = sm.OLS(y, sm.add_constant(x)).fit().get_prediction(sm.add_constant(x.iloc[:4])).summary_frame(0.1)
    lower = [float(line.split(",")[3]) for line in lines[1:]]
    np.testing.assert_allclose(lower, ref["obs_ci_lower"], rtol=1e-6)


def test_model_without_covariance_refuses_intervals(tmp_path, grunfeld):
    from gradfit.results.model_file import load_model

    x, y, _ = grunfeld
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"format": "gradfit-model", "version": 1, "features": ["value", "capital"],
                                "target": "invest", "intercept": -42.0, "coef": [0.1, 0.2]}))
    model = load_model(path)
    assert model.predict(x.iloc[:2]).shape == (2,)
    with pytest.raises(BadDataError, match="carries no covariance"):
        model.predict(x.iloc[:2], interval="confidence")
    damaged = json.loads(path.read_text()) | {"inference": {"cov_params": [[1.0]], "scale": 1.0, "df_resid": 3,
                                                            "distribution": "t"}}
    path.write_text(json.dumps(damaged))
    with pytest.raises(BadDataError, match="3 x 3"):
        load_model(path)
