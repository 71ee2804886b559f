"""Predictions take a DataFrame's columns by name and an array's by position, shapes checked.

Every expected value is computed independently: ``numpy.linalg.lstsq`` on the same rows, then
the design of the new rows times those coefficients. Gradient descent's answer is within
``max_abs_diff`` of the closed form in every parameter, so a prediction from it is within
``max_abs_diff · (1 + Σ|x_j|)`` of the closed form's (plus rounding, far smaller).
"""

import numpy as np
import pandas as pd
import pytest

import gradfit
from gradfit import BadDataError
from gradfit.results.model_file import load_model, save_model


@pytest.fixture(scope="module")
def houses():
    rng = np.random.default_rng(7)
    n = 120
    frame = pd.DataFrame({"size": rng.uniform(40, 250, n), "rooms": rng.integers(1, 7, n).astype(float)})
    price = 20_000 + 1_500 * frame["size"] + 9_000 * frame["rooms"] + rng.normal(0, 15_000, n)
    return frame, pd.Series(price, name="price")


def closed_form_predictions(x_train, y_train, x_new):
    """Least squares on ``[1, x]`` by numpy, applied to new rows."""
    design = np.column_stack([np.ones(len(x_train)), x_train])
    theta = np.linalg.lstsq(design, y_train, rcond=None)[0]
    return theta[0] + np.asarray(x_new, dtype=float) @ theta[1:]


def assert_close_to_closed_form(res, predictions, expected, x_new):
    bound = res.max_abs_diff * (1 + np.abs(np.asarray(x_new, dtype=float)).sum(axis=1))
    assert res.max_abs_diff < 1e-6 * np.max(np.abs(res.closed_form.theta))  # the fit converged
    np.testing.assert_array_less(np.abs(predictions - expected), bound + 1e-9 * np.abs(expected))


@pytest.mark.parametrize("standardize, size_unit", [(True, 1.0), (False, 100.0)])  # raw m² is ill-conditioned
def test_dataframe_columns_are_taken_by_name_in_any_order(houses, standardize, size_unit):
    frame, price = houses
    frame = frame.assign(size=frame["size"] / size_unit)
    res = gradfit.fit(frame, price, lr="auto", epochs=20_000, standardize=standardize)
    assert res.n_train == len(frame)
    new = frame.iloc[:5]
    expected = closed_form_predictions(frame[["size", "rooms"]].to_numpy(), price.to_numpy(), new.to_numpy())
    swapped = new[["rooms", "size"]]
    extra = new.assign(colour="red", garden=1.0)[["garden", "rooms", "colour", "size"]]
    for given in (new, swapped, extra):
        assert_close_to_closed_form(res, res.predict(given), expected, new.to_numpy())
        assert_close_to_closed_form(res, res.saved_model().predict(given), expected, new.to_numpy())
    # The positional reading of the swapped frame is a very different (wrong) answer: names matter.
    assert np.max(np.abs(res.predict(swapped.to_numpy()) - expected)) > 1e4


def test_saved_model_predicts_by_name_after_a_round_trip(houses, tmp_path):
    frame, price = houses
    res = gradfit.fit(frame, price, lr="auto", epochs=20_000, standardize=True)
    save_model(res.saved_model(), tmp_path / "m.json")
    model = load_model(tmp_path / "m.json")
    expected = closed_form_predictions(frame.to_numpy(), price.to_numpy(), frame.to_numpy())
    assert_close_to_closed_form(res, model.predict(frame[["rooms", "size"]]), expected, frame.to_numpy())


def test_arrays_are_taken_by_position(houses):
    frame, price = houses
    res = gradfit.fit(frame, price, lr="auto", epochs=20_000, standardize=True)
    x = frame.to_numpy()[:3]
    expected = closed_form_predictions(frame.to_numpy(), price.to_numpy(), x)
    assert_close_to_closed_form(res, res.predict(x), expected, x)
    assert_close_to_closed_form(res, res.predict(x.tolist()), expected, x)


def test_a_missing_column_is_named_with_the_columns_present(houses):
    frame, price = houses
    res = gradfit.fit(frame, price, lr="auto", epochs=200, tol=1e3)
    with pytest.raises(BadDataError, match=r"no column 'rooms'.*columns are \['size', 'garden'\]"):
        res.predict(frame[["size"]].assign(garden=1.0))
    with pytest.raises(ValueError, match="'rooms'"):  # BadDataError is a ValueError
        res.saved_model().predict(frame[["size"]])


@pytest.mark.parametrize("shape, match", [
    ((4, 3), r"shape \(4, 3\) but the model has 2 features \['size', 'rooms'\], so it expects shape \(n, 2\); "
             r"pass 2 columns in that order"),
    ((4, 1), r"shape \(4, 1\) .* expects shape \(n, 2\)"),
    ((4,), r"shape \(4,\) .* pass a 2-D array of shape \(n, 2\).*reshape\(1, -1\)"),
    ((2, 2, 2), r"shape \(2, 2, 2\)"),
])
def test_a_wrong_shape_names_both_shapes_and_the_fix(houses, shape, match):
    frame, price = houses
    res = gradfit.fit(frame, price, lr="auto", epochs=200, tol=1e3)
    with pytest.raises(BadDataError, match=match):
        res.predict(np.ones(shape))


@pytest.mark.parametrize("given, match", [
    (pd.DataFrame({"x": ["a", "b"]}), "column 'x' is not numeric"),
    (pd.DataFrame({"x": [1.0, np.nan]}), "column 'x' has 1 missing or infinite value.*row 1"),
    (np.array([1.0, np.inf]), "1 missing or infinite"),
    ("abc", "cannot read the inputs as numbers"),
    (pd.DataFrame([[1.0, 2.0]], columns=["x", "x"]), "column 'x' appears 2 times"),
])
def test_inputs_that_cannot_be_predicted_from(given, match):
    with pytest.raises(BadDataError, match=match):
        gradfit.fit().predict(given)


def test_one_feature_takes_a_vector_a_column_or_a_series(book_arrays):
    x_train, y_train, x_val, _ = book_arrays
    res = gradfit.fit()
    expected = closed_form_predictions(x_train, y_train.ravel(), x_val)
    for given in (x_val, x_val.ravel(), pd.Series(x_val.ravel()), pd.DataFrame({"x": x_val.ravel()})):
        assert_close_to_closed_form(res, res.predict(given), expected, x_val)
    assert res.predict(np.empty((0, 1))).shape == (0,)


def test_polynomial_models_build_their_powers():
    rng = np.random.default_rng(3)
    x = rng.uniform(-2, 2, 80)
    y = 1 - 2 * x + 0.5 * x ** 2 + 0.25 * x ** 3 + rng.normal(0, 0.05, 80)
    res = gradfit.fit(pd.DataFrame({"t": x}), y, poly=3, lr="auto", epochs=50_000, standardize=True)
    new = np.array([-1.5, 0.0, 0.7, 1.9])
    powers = np.column_stack([x, x ** 2, x ** 3])
    expected = closed_form_predictions(powers, y, np.column_stack([new, new ** 2, new ** 3]))
    for given in (new, new.reshape(-1, 1), pd.DataFrame({"other": 0.0, "t": new})):
        predictions = res.predict(given)
        assert_close_to_closed_form(res, predictions, expected, np.column_stack([new, new ** 2, new ** 3]))
    with pytest.raises(BadDataError, match=r"no column 't'"):
        res.predict(pd.DataFrame({"x": new}))
