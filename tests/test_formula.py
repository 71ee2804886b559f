"""Formulas and categorical columns against statsmodels' formula API (``smf.ols``/``smf.wls``,
patsy underneath: an independent encoder), from Python, the model file and the command line.

Data: statsmodels' bundled Grunfeld data (firm: 11 text levels). Tolerances: the design is the
same numbers on both sides, so the answers differ by the float64 error of each solver
(:func:`tolerance`).
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
smf = pytest.importorskip("statsmodels.formula.api")
pytest.importorskip("formulaic")

FORMULA = "invest ~ value + C(firm) + value:capital + np.log(capital)"


@pytest.fixture(scope="module")
def grunfeld():
    return sm.datasets.grunfeld.load_pandas().data


def tolerance(result) -> float:
    """gradfit's error (``κ²·eps`` on unit-length columns, ``√n·eps`` for sums) plus statsmodels':
    its ``pinv`` works on the raw columns, so its relative error grows with their own condition
    number (``value:capital`` is 1e6 times a dummy: κ ≈ 3e7, an error of about 1e-9)."""
    design = result.model.exog
    kappa = np.linalg.cond(design / np.linalg.norm(design, axis=0))
    return 2 * QR_BACKWARD * EPS * (kappa ** 2 + math.sqrt(len(design))) + QR_BACKWARD * EPS * np.linalg.cond(design)


def by_name(result):
    """statsmodels' parameters keyed as gradfit names them (its ``Intercept`` is ``intercept``)."""
    return {("intercept" if name == "Intercept" else name): i for i, name in enumerate(result.params.index)}


def test_solve_with_a_formula_equals_statsmodels(grunfeld):
    ref = smf.ols(FORMULA, grunfeld).fit()
    res = gradfit.solve(grunfeld, formula=FORMULA)
    stats, index = res.stats, by_name(ref)
    assert sorted(stats.names) == sorted(index)  # C(firm)[T.Chrysler], value:capital, np.log(capital) …
    order = [index[name] for name in stats.names]
    rtol = tolerance(ref)
    np.testing.assert_allclose(stats.coef, ref.params.to_numpy()[order], rtol=rtol)
    np.testing.assert_allclose(stats.std_err, ref.bse.to_numpy()[order], rtol=rtol)
    assert stats.r_squared == pytest.approx(ref.rsquared, rel=rtol)
    assert "C(firm)[T.Chrysler]" in stats.names and "value:capital" in stats.names
    assert res.to_dict()["formula"] == FORMULA and res.target == "invest"


def test_reference_level_is_the_first_sorted(grunfeld):
    res = gradfit.solve(grunfeld, formula="invest ~ value + C(firm)")
    levels = sorted(grunfeld["firm"].unique())
    assert f"C(firm)[T.{levels[0]}]" not in res.stats.names
    assert all(f"C(firm)[T.{level}]" in res.stats.names for level in levels[1:])


def test_weighted_cluster_robust_formula_equals_statsmodels(grunfeld):
    w = 1.0 / (1.0 + grunfeld["capital"] / 100.0)
    groups = grunfeld["firm"].astype("category").cat.codes
    ref = smf.wls("invest ~ value + capital + np.log(capital)", grunfeld, weights=w).fit(
        cov_type="cluster", cov_kwds={"groups": groups})
    stats = gradfit.solve(grunfeld, formula="invest ~ value + capital + np.log(capital)", weights=w,
                          cov_type="cluster", cluster=grunfeld["firm"]).stats
    order = [by_name(ref)[name] for name in stats.names]
    np.testing.assert_allclose(stats.std_err, ref.bse.to_numpy()[order], rtol=tolerance(ref))


def test_fit_predict_and_intervals_through_the_model_file(tmp_path, grunfeld):
    from gradfit.results.model_file import load_model, save_model

    res = gradfit.fit(grunfeld, formula=FORMULA, lr="auto", standardize=True, epochs=20000)
    assert res.converged
    path = tmp_path / "model.json"
    save_model(res.saved_model(), path)
    saved = json.loads(path.read_text())
    assert saved["formula"]["text"] == FORMULA and "C(firm)" in saved["formula"]["levels"]
    model = load_model(path)
    new = grunfeld.iloc[[3, 40, 41, 200]]  # a few rows: every column must still come out
    ref = smf.ols(FORMULA, grunfeld).fit().get_prediction(new).summary_frame(0.05)
    frame = model.predict(new, interval="prediction")
    gap = res.max_abs_diff * 1e4  # |a| ≤ 1e4 here: the predictions move by at most that
    np.testing.assert_allclose(frame["prediction"], ref["mean"], rtol=1e-9, atol=gap)
    np.testing.assert_allclose(frame["upper"] - frame["prediction"], ref["obs_ci_upper"] - ref["mean"], rtol=1e-6)
    np.testing.assert_allclose(model.predict(new), res.predict(new), rtol=0, atol=0)


def test_unseen_level_and_missing_column_are_errors(grunfeld):
    new = grunfeld.iloc[:3].copy()
    new.loc[new.index[1], "firm"] = "Nowhere Inc"
    fitted = gradfit.fit(grunfeld, formula="invest ~ value + C(firm)", lr="auto", standardize=True, epochs=20000)
    with pytest.raises(BadDataError, match=r"data row 2, column 'firm' has the level 'Nowhere Inc'"):
        fitted.predict(new)
    with pytest.raises(BadDataError, match="no column 'value'"):
        fitted.predict(grunfeld[["firm"]])
    assert fitted.stats.df_model == 11  # value and ten firms besides the reference


@pytest.mark.parametrize("kwargs, error, match", [
    ({"formula": "invest value"}, BadOptionError, "must be a formula"),
    ({"formula": "invest ~ value", "poly": 2}, BadOptionError, r"I\(x\*\*2\)"),
    ({"formula": "invest ~ value", "intercept": False}, BadOptionError, "0 \\+"),
    ({"formula": "invest ~ nosuch"}, BadDataError, "nosuch"),
])
def test_bad_formulas(grunfeld, kwargs, error, match):
    with pytest.raises(error, match=match):
        gradfit.solve(grunfeld, **kwargs)


def test_formula_without_intercept_and_missing_values(grunfeld):
    res = gradfit.solve(grunfeld, formula="invest ~ 0 + value + capital")
    ref = smf.ols("invest ~ 0 + value + capital", grunfeld).fit()
    np.testing.assert_allclose(res.stats.coef, ref.params.to_numpy(), rtol=tolerance(ref))
    assert res.closed_form.intercept is None
    holes = grunfeld.copy()
    holes.loc[5, "value"] = np.nan
    with pytest.raises(BadDataError, match="'value' has missing values"):
        gradfit.solve(holes, formula="invest ~ value")
    with pytest.raises(BadDataError, match="pass the DataFrame as x, without y="):
        gradfit.solve(grunfeld, grunfeld["invest"], formula="invest ~ value")


# ----- the command line -------------------------------------------------------------------------

def test_cli_formula_and_text_features(tmp_path, grunfeld, capsys):
    from gradfit.cli import main

    path = tmp_path / "grunfeld.csv"
    grunfeld.to_csv(path, index=False)
    assert main(["solve", str(path), "--formula", FORMULA, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    ref = smf.ols(FORMULA, grunfeld).fit()
    order = [by_name(ref)[name] for name in out["stats"]["names"]]
    np.testing.assert_allclose(out["stats"]["std_err"], ref.bse.to_numpy()[order], rtol=tolerance(ref))
    # a text column among --features is a categorical term, named as statsmodels names it
    assert main(["solve", str(path), "--target", "invest", "--features", "value,capital,firm", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    ref = smf.ols("invest ~ value + capital + firm", grunfeld).fit()
    assert "firm[T.Chrysler]" in out["stats"]["names"]
    order = [by_name(ref)[name] for name in out["stats"]["names"]]
    np.testing.assert_allclose(out["stats"]["coef"], ref.params.to_numpy()[order], rtol=tolerance(ref))


def test_cli_boolean_column_is_zero_one(tmp_path, capsys):
    from gradfit.cli import main

    path = tmp_path / "b.csv"
    path.write_text("y,x,flag\n1,1,True\n2,2,False\n3.5,3,True\n4,4,False\n5.2,5,True\n6,6.5,False\n")
    assert main(["solve", str(path), "--target", "y", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    x = np.column_stack([np.ones(6), [1, 2, 3, 4, 5, 6.5], [1, 0, 1, 0, 1, 0]])
    expected = np.linalg.lstsq(x, [1, 2, 3.5, 4, 5.2, 6], rcond=None)[0]
    assert out["stats"]["names"] == ["intercept", "x", "flag"]
    np.testing.assert_allclose(out["stats"]["coef"], expected, rtol=1e-12)


def test_cli_predict_with_a_formula_model(tmp_path, grunfeld, capsys):
    from gradfit.cli import main

    data, model, new = tmp_path / "g.csv", tmp_path / "m.json", tmp_path / "new.csv"
    grunfeld.to_csv(data, index=False)
    grunfeld.iloc[:3].drop(columns=["invest"]).to_csv(new, index=False)
    assert main(["fit", str(data), "--formula", "invest ~ value + C(firm)", "--lr", "auto", "--epochs", "20000",
                 "--quiet", "--save-model", str(model)]) == 0
    capsys.readouterr()
    assert main(["predict", str(model), str(new), "--keep", "firm", "--interval", "confidence"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "firm,invest_predicted,invest_lower,invest_upper" and len(lines) == 4
    ref = smf.ols("invest ~ value + C(firm)", grunfeld).fit().get_prediction(grunfeld.iloc[:3]).summary_frame()
    np.testing.assert_allclose([float(line.split(",")[1]) for line in lines[1:]], ref["mean"], rtol=1e-8)
    bad = grunfeld.iloc[:2].drop(columns=["invest"]).assign(firm=["IBM", "Nowhere Inc"])
    bad.to_csv(new, index=False)
    assert main(["predict", str(model), str(new)]) == 2
    err = capsys.readouterr().err
    assert "data row 2, column 'firm' has the level 'Nowhere Inc'" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("args, message", [
    (["--formula", "invest ~ value", "--features", "value"], "the formula names the columns"),
    (["--formula", "invest ~ value", "--target", "capital"], "the formula's target is 'invest'"),
    (["--formula", "invest ~ value", "--chunk-rows", "50"], "streamed from a file"),
    (["--formula", "invest ~ nosuch"], "nosuch"),
    (["--formula", "invest ~ value +"], "g.csv: the formula 'invest ~ value +' cannot be built: Operator `+`"),
    (["--formula", "invest value"], "must be a formula with a target and terms"),
])
def test_cli_formula_errors(tmp_path, grunfeld, capsys, args, message):
    from gradfit.cli import main

    path = tmp_path / "g.csv"
    grunfeld.to_csv(path, index=False)
    assert main(["solve", str(path), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_model_file_formula_cannot_run_code(tmp_path, grunfeld):
    """A formula's terms are Python; one read from a model file may use only the columns, numbers,
    arithmetic and the known transforms, so a tampered file cannot run code at predict."""
    from gradfit.results.model_file import load_model, save_model

    res = gradfit.fit(grunfeld, formula="invest ~ C(firm) + np.log(capital) + I(value ** 2)", lr="auto",
                      standardize=True, epochs=200, tol=1e9)
    path = tmp_path / "m.json"
    save_model(res.saved_model(), path)
    assert load_model(path).predict(grunfeld.iloc[:2]).shape == (2,)
    data = json.loads(path.read_text())
    marker = tmp_path / "ran"
    data["formula"]["formula"] += f" + I(open({str(marker)!r}, 'w').write('x'))"
    path.write_text(json.dumps(data))
    with pytest.raises(BadDataError, match="calls code that a model file may not carry"):
        load_model(path)
    assert not marker.exists()
    data["formula"]["formula"] = "1 + C(firm)"
    data["formula"]["encoders"]["C(firm)"]["state"]["contrasts"]["__class__"] = "os.system"
    path.write_text(json.dumps(data))
    with pytest.raises(BadDataError):
        load_model(path).predict(grunfeld.iloc[:2])
    unsafe = gradfit.fit(grunfeld, formula="invest ~ value + I(abs(value) ** 0.5)", lr="auto",
                         standardize=True, epochs=50, tol=1e9)
    with pytest.raises(BadDataError, match="cannot save the model"):
        save_model(unsafe.saved_model(), tmp_path / "unsafe.json")


def test_cli_predict_formula_model_drops_incomplete_rows_beside_their_ids(tmp_path, grunfeld, capsys):
    from gradfit.cli import main

    data, model, new = tmp_path / "g.csv", tmp_path / "m.json", tmp_path / "new.csv"
    grunfeld.to_csv(data, index=False)
    rows = grunfeld.iloc[:4].drop(columns=["invest"]).assign(id=["a", "b", "c", "d"])
    rows.loc[rows.index[1], "value"] = np.nan
    rows.to_csv(new, index=False)
    assert main(["fit", str(data), "--formula", "invest ~ value + C(firm)", "--lr", "auto", "--epochs", "20000",
                 "--quiet", "--save-model", str(model)]) == 0
    capsys.readouterr()
    assert main(["predict", str(model), str(new), "--keep", "id", "--dropna"]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert [line.split(",")[0] for line in lines[1:]] == ["a", "c", "d"] and "dropped 1 row" in captured.err
    kept = grunfeld.iloc[[0, 2, 3]]
    expected = smf.ols("invest ~ value + C(firm)", grunfeld).fit().predict(kept).to_numpy()
    np.testing.assert_allclose([float(line.split(",")[1]) for line in lines[1:]], expected, rtol=1e-8)
    assert main(["solve", str(data), "--formula", "invest ~ value", "--cov", "cluster", "--cluster", "frim"]) == 2
    assert "no column 'frim' for --cluster" in capsys.readouterr().err


def test_text_column_without_formulaic_says_what_to_install(tmp_path, grunfeld, capsys, monkeypatch):
    import importlib.util

    from gradfit.cli import main

    path = tmp_path / "g.csv"
    grunfeld.to_csv(path, index=False)
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "formulaic" else real(name, *a))
    assert main(["solve", str(path), "--target", "invest", "--features", "value,firm"]) == 2
    err = capsys.readouterr().err
    assert "column 'firm' holds text" in err and "pip install formulaic" in err and "cannot be built" not in err
    assert len(err.strip().splitlines()) == 1
