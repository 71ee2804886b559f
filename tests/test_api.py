"""The Python API with pandas input, and gradfit.solve."""

import numpy as np
import pandas as pd
import pytest

import gradfit


@pytest.fixture
def frame():
    rng = np.random.default_rng(21)
    data = pd.DataFrame({"size": rng.uniform(50, 150, 60), "rooms": rng.integers(1, 5, 60).astype(float)})
    data["price"] = 10 + 2 * data["size"] + 5 * data["rooms"] + rng.normal(0, 2, 60)
    return data


def test_dataframe_columns_become_parameter_names(frame):
    res = gradfit.fit(frame[["size", "rooms"]], frame["price"], standardize=True, lr="auto")
    assert res.names == ["size", "rooms"] and res.target == "price"
    assert res.stats.names == ["intercept", "size", "rooms"]
    expected = np.linalg.lstsq(np.column_stack([np.ones(60), frame[["size", "rooms"]]]), frame["price"],
                               rcond=None)[0]
    np.testing.assert_allclose(res.params.theta, expected, rtol=1e-8)


def test_series_feature_is_one_named_column(frame):
    res = gradfit.fit(frame["size"], frame["price"], standardize=True, lr="auto")
    assert res.names == ["size"]


def test_solve_matches_numpy_and_names_the_target(frame):
    res = gradfit.solve(frame[["size", "rooms"]], frame["price"])
    design = np.column_stack([np.ones(60), frame[["size", "rooms"]]])
    np.testing.assert_allclose(res.closed_form.theta, np.linalg.lstsq(design, frame["price"], rcond=None)[0],
                               rtol=1e-12)
    assert res.target == "price" and "price" in res.summary()
    residuals = frame["price"] - design @ res.closed_form.theta
    sigma2 = residuals @ residuals / (60 - 3)
    np.testing.assert_allclose(res.std_err, np.sqrt(sigma2 * np.diag(np.linalg.inv(design.T @ design))),
                               rtol=1e-10)
    assert res.to_dict()["stats"]["at"] == "closed_form"


def test_solve_polynomial_without_intercept():
    x = np.arange(1.0, 9.0)
    res = gradfit.solve(x, 3 * x - 0.5 * x ** 2, poly=2, intercept=False)
    assert res.closed_form.intercept is None
    np.testing.assert_allclose(res.closed_form.coef, [3, -0.5], rtol=1e-13)


def test_high_condition_number_warns_naming_columns():
    x = np.linspace(1, 2, 30)
    with pytest.warns(gradfit.CollinearityWarning, match="condition number .* x, x\\^2, x\\^3"):
        gradfit.solve(x, np.sin(x), poly=6)


def test_saved_model_from_the_api_predicts(frame, tmp_path):
    from gradfit.results.model_file import load_model, save_model

    res = gradfit.fit(frame[["size", "rooms"]], frame["price"], standardize=True, lr="auto")
    save_model(res.saved_model(), tmp_path / "m.json")
    model = load_model(tmp_path / "m.json")
    assert model.target == "price"
    x = frame[["size", "rooms"]].to_numpy()
    np.testing.assert_allclose(model.predict(x), res.params.intercept + x @ res.params.coef, rtol=1e-12)
