"""The command line on real files: NIST StRD through solve and fit, models through predict."""

import json
import os
import pickle

import numpy as np
import pandas as pd
import pytest

from gradfit.cli import main
from test_solve import CERTIFIED, NIST_SETS, assert_digits, nist_required_digits


def nist_args(folder, name):
    cert = json.loads((folder / f"{name}.certified.json").read_text())
    args = [str(folder / f"{name}.csv"), "--target", "y"]
    if cert["model"] == "polynomial" and cert["degree"] > 1:
        args += ["--poly", str(cert["degree"])]
    if not cert["intercept"]:
        args.append("--no-intercept")
    return cert, args


def run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("name", NIST_SETS)
def test_solve_reaches_the_certified_digits_on_every_nist_set(capsys, nist_dir, name):
    cert, args = nist_args(nist_dir, name)
    code, out, err = run(capsys, "solve", *args, "--json")
    assert code == 0, err
    data = json.loads(out)  # float64 values survive JSON exactly (shortest repr)
    closed = data["closed_form"]
    coef = ([closed["intercept"]] if closed["intercept"] is not None else []) + closed["coef"]
    # As gradfit.solve (test_solve.test_nist_certified_values): the digits the data carry, less the
    # error of the path taken (exact refinement, or float64 QR's first-order bound).
    required = nist_required_digits(nist_dir, name, refined=data["refined"])
    for quantity, estimates in (("theta", coef), ("std_err", closed["std_err"]),
                                ("residual_std", data["stats"]["residual_std"]),
                                ("r_squared", data["stats"]["r_squared"])):
        assert_digits(name, quantity, estimates, cert[CERTIFIED[quantity]], required[quantity])


@pytest.mark.parametrize("name", ["norris", "pontius", "noint1", "noint2"])
def test_default_fit_converges_on_the_easier_nist_sets(capsys, nist_dir, name):
    _, args = nist_args(nist_dir, name)
    code, out, err = run(capsys, "fit", *args, "--lr", "auto", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["converged"] is True and data["standardized"] is True
    exact = np.array(([data["closed_form"]["intercept"]] if data["closed_form"]["intercept"] is not None else [])
                     + data["closed_form"]["coef"])
    assert data["max_abs_diff"] <= 1e-6 * np.max(np.abs(exact))


@pytest.mark.parametrize("name", ["longley", "wampler1", "filip"])
def test_hard_nist_sets_say_plainly_when_gd_has_not_converged(capsys, nist_dir, name):
    _, args = nist_args(nist_dir, name)
    code, out, err = run(capsys, "fit", *args, "--lr", "auto", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["converged"] is False
    assert data["stats"]["converged"] is False and data["stats"]["at"] == "gradient_descent"
    assert "did not converge" in err and "gradfit solve" in err and "--epochs" in err


@pytest.fixture
def houses(tmp_path):
    rng = np.random.default_rng(11)
    n = 120
    frame = pd.DataFrame({"size": rng.uniform(40, 200, n), "rooms": rng.integers(1, 6, n).astype(float),
                          "age": rng.uniform(0, 80, n)})
    frame["price"] = 20 + 1.5 * frame["size"] + 8 * frame["rooms"] - 0.3 * frame["age"] + rng.normal(0, 3, n)
    path = tmp_path / "houses.csv"
    frame.to_csv(path, index=False)
    return frame, path


def test_fit_statistics_match_statsmodels(capsys, houses):
    import statsmodels.api as sm

    frame, path = houses
    code, out, err = run(capsys, "fit", str(path), "--target", "price", "--lr", "auto", "--epochs", "3000", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["converged"] and data["names"] == ["size", "rooms", "age"]
    x = sm.add_constant(frame[["size", "rooms", "age"]])
    reference = sm.OLS(frame["price"], x).fit()
    stats = data["stats"]
    np.testing.assert_allclose(stats["coef"], reference.params, rtol=1e-8)
    np.testing.assert_allclose(stats["std_err"], reference.bse, rtol=1e-6)
    np.testing.assert_allclose(stats["p"], reference.pvalues, rtol=1e-5)
    np.testing.assert_allclose([stats["ci_low"], stats["ci_high"]], reference.conf_int().T.values, rtol=1e-6)
    assert stats["r_squared"] == pytest.approx(reference.rsquared, rel=1e-9)
    assert stats["aic"] == pytest.approx(reference.aic, rel=1e-9)


def test_save_model_then_predict_round_trips(capsys, houses, tmp_path):
    frame, path = houses
    model = tmp_path / "model.json"
    assert run(capsys, "fit", str(path), "--target", "price", "--lr", "auto", "--epochs", "3000", "--quiet",
               "--save-model", str(model))[0] == 0
    saved = json.loads(model.read_text())
    assert saved["features"] == ["size", "rooms", "age"] and saved["target"] == "price"
    new = frame[["age", "size", "rooms"]].head(7)  # other column order, no target
    new_path = tmp_path / "new.parquet"
    new.to_parquet(new_path)
    code, out, err = run(capsys, "predict", str(model), str(new_path), "--json")
    assert code == 0, err
    expected = saved["intercept"] + new[["size", "rooms", "age"]].to_numpy() @ np.array(saved["coef"])
    np.testing.assert_allclose(json.loads(out)["predictions"], expected, rtol=1e-12)
    out_csv = tmp_path / "pred.csv"
    assert run(capsys, "predict", str(model), str(new_path), "--out", str(out_csv))[0] == 0
    written = pd.read_csv(out_csv)
    assert list(written.columns) == ["age", "size", "rooms", "price_predicted"]  # DATA's columns, then the prediction
    np.testing.assert_allclose(written["price_predicted"], expected, rtol=1e-12)


def test_polynomial_model_predicts_through_its_powers(capsys, tmp_path):
    x = np.linspace(-1, 2, 30)
    pd.DataFrame({"x": x, "y": 1 + x - 2 * x ** 2}).to_csv(tmp_path / "q.csv", index=False)
    model = tmp_path / "q.json"
    assert run(capsys, "fit", str(tmp_path / "q.csv"), "--target", "y", "--poly", "2", "--lr", "auto",
               "--epochs", "3000", "--quiet", "--save-model", str(model))[0] == 0
    pd.DataFrame({"x": [3.0]}).to_csv(tmp_path / "new.csv", index=False)
    code, out, _ = run(capsys, "predict", str(model), str(tmp_path / "new.csv"), "--json")
    assert json.loads(out)["predictions"] == pytest.approx([1 + 3 - 18], abs=1e-6)


class Payload:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_predict_refuses_a_pickle_and_never_runs_it(capsys, houses, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _, path = houses
    (tmp_path / "evil.json").write_bytes(pickle.dumps(Payload()))
    code, out, err = run(capsys, "predict", "evil.json", str(path))
    assert code == 2 and out == "" and "can carry code" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "pwned").exists()


def test_predict_names_a_missing_column(capsys, houses, tmp_path):
    _, path = houses
    model = tmp_path / "m.json"
    run(capsys, "fit", str(path), "--target", "price", "--epochs", "5", "--quiet", "--save-model", str(model))
    pd.DataFrame({"size": [1.0]}).to_csv(tmp_path / "few.csv", index=False)
    code, _, err = run(capsys, "predict", str(model), str(tmp_path / "few.csv"))
    assert code == 2 and "rooms" in err


def test_failed_fit_does_not_overwrite_an_existing_model(capsys, houses, tmp_path):
    _, path = houses
    model = tmp_path / "m.json"
    model.write_text("keep me")
    code, _, _ = run(capsys, "fit", str(path), "--target", "price", "--lr", "50", "--save-model", str(model))
    assert code == 1 and model.read_text() == "keep me"


@pytest.mark.parametrize("content, args, fragment", [
    (None, [], "not found"),
    ("", ["--target", "y"], "the file is empty"),
    ("a,y\n", ["--target", "y"], "no data rows"),
    ("a,y\n1,2\n", ["--target", "z"], "no column 'z' for --target"),
    ("a,y\n1,2\n", [], "needs --target COL"),
    ("a,y\n1,x\n3,4\n", ["--target", "y"], "column 'y' is not numeric: line 2 has 'x'"),
    ("a,y\n1,\n3,4\n", ["--target", "y"], "--dropna"),
    ("a,y\n1,inf\n3,4\n", ["--target", "y"], "infinite"),
    ("a,a,y\n1,2,3\n", ["--target", "y"], "appears 2 times"),
    ("a,y\n1,2\n3,4,5\n", ["--target", "y"], "line 3 has 3 fields"),
    ("a,y\n1,2\n2,3\n", ["--target", "y", "--poly", "0"], "--poly 0"),
    ("a,y\n1,2\n2,3\n3,5\n", ["--target", "y", "--poly", "3"], "rows for 4 parameters"),
    ("a,b,y\n1,1,2\n2,1,3\n3,1,5\n", ["--target", "y"], "'b' is a linear combination of 'intercept'"),
])
@pytest.mark.parametrize("command", ["fit", "solve"])
def test_bad_data_exits_2_with_one_line(capsys, tmp_path, command, content, args, fragment):
    path = tmp_path / "d.csv"
    if content is not None:
        path.write_text(content)
    code, out, err = run(capsys, command, str(path), *args)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], err
    assert "Traceback" not in err


def test_corrupt_parquet_and_unsupported_format(capsys, tmp_path):
    (tmp_path / "bad.parquet").write_bytes(b"garbage" * 10)
    (tmp_path / "data.xlsx").write_bytes(b"PK\x03\x04")
    for name, fragment in (("bad.parquet", "not a Parquet file"), ("data.xlsx", "unsupported file format")):
        code, _, err = run(capsys, "fit", str(tmp_path / name), "--target", "y")
        assert code == 2 and fragment in err and len(err.strip().splitlines()) == 1


def test_dropna_says_how_many_rows_it_dropped(capsys, tmp_path):
    (tmp_path / "na.csv").write_text("a,y\n1,2\n2,\n3,4.1\n4,5.9\n")
    code, _, err = run(capsys, "solve", str(tmp_path / "na.csv"), "--target", "y", "--dropna")
    assert code == 0 and "dropped 1 row(s)" in err


def test_solve_book_is_the_published_closed_form(capsys):
    code, out, _ = run(capsys, "solve", "--json")
    data = json.loads(out)
    # Half a unit in the 8th published decimal (the float64 closed form is within 1e-15 of exact).
    assert data["closed_form"]["intercept"] == pytest.approx(1.02354075, abs=5e-9)
    assert data["closed_form"]["coef"][0] == pytest.approx(1.96896447, abs=5e-9)
    assert data["stats"]["n_obs"] == 80


def test_alpha_changes_the_interval(capsys):
    wide = json.loads(run(capsys, "solve", "--json", "--alpha", "0.01")[1])["stats"]
    narrow = json.loads(run(capsys, "solve", "--json", "--alpha", "0.2")[1])["stats"]
    assert wide["ci_low"][0] < narrow["ci_low"][0] < narrow["ci_high"][0] < wide["ci_high"][0]
    code, _, err = run(capsys, "solve", "--alpha", "2")
    assert code == 2 and "--alpha 2: must be strictly between 0 and 1" in err


def test_large_files_are_solved_by_streaming_with_the_same_answer(capsys, houses, tmp_path, monkeypatch):
    import gradfit.limits

    frame, path = houses
    parquet = tmp_path / "houses.parquet"
    frame.to_parquet(parquet, row_group_size=17)
    in_memory = json.loads(run(capsys, "solve", str(parquet), "--target", "price", "--json")[1])
    monkeypatch.setattr(gradfit.limits, "STREAM_FILES_ABOVE", 0)  # read when the command runs
    code, out, err = run(capsys, "solve", str(parquet), "--target", "price", "--json")
    streamed = json.loads(out)
    assert code == 0 and streamed["streamed"] is True, err
    np.testing.assert_allclose(streamed["closed_form"]["coef"], in_memory["closed_form"]["coef"], rtol=1e-10)
    np.testing.assert_allclose(streamed["stats"]["std_err"], in_memory["stats"]["std_err"], rtol=1e-9)
