"""Polynomial terms and standardization: GD runs scaled, everything is reported unscaled."""

import numpy as np
import pytest

import gradfit
from gradfit import BadOptionError
from gradfit.data.design import Scaling, polynomial_features


def test_polynomial_columns_and_names():
    cols, names = polynomial_features(np.array([[2.0], [-1.0]]), 3, "t")
    np.testing.assert_array_equal(cols, [[2, 4, 8], [-1, 1, -1]])
    assert names == ["t", "t^2", "t^3"]


@pytest.mark.parametrize("intercept", [True, False])
def test_scaling_round_trips_parameters(intercept):
    rng = np.random.default_rng(3)
    x = rng.normal(5, 3, size=(40, 3))
    y = rng.normal(100, 20, size=40)
    scaling = Scaling.fit(x, y, intercept)
    theta = rng.normal(size=3 + intercept)
    np.testing.assert_allclose(scaling.to_original(scaling.to_scaled(theta, intercept), intercept), theta,
                               rtol=1e-12)


@pytest.mark.parametrize("intercept", [True, False])
def test_unscaled_parameters_predict_what_scaled_ones_do(intercept):
    rng = np.random.default_rng(4)
    x = rng.normal(50, 10, size=(30, 2))
    y = rng.normal(7, 2, size=30)
    scaling = Scaling.fit(x, y, intercept)
    v = rng.normal(size=2 + intercept)
    scaled_pred = scaling.x(x) @ v[intercept:] + (v[0] if intercept else 0)
    theta = scaling.to_original(v, intercept)
    original_pred = x @ theta[intercept:] + (theta[0] if intercept else 0)
    np.testing.assert_allclose(scaling.y_mean + scaling.y_scale * scaled_pred, original_pred, rtol=1e-12)


def test_standardized_fit_reaches_the_unscaled_least_squares_answer():
    rng = np.random.default_rng(5)
    x = np.column_stack([rng.uniform(0, 1e4, 300), rng.normal(0, 1e-3, 300)])  # wildly different units
    y = 3.0 + x @ [2e-3, 4e2] + rng.normal(0, 0.1, 300)
    expected = np.linalg.lstsq(np.column_stack([np.ones(300), x]), y, rcond=None)[0]
    res = gradfit.fit(x, y, standardize=True, lr="auto")
    np.testing.assert_allclose(res.params.theta, expected, rtol=1e-6)
    assert res.scaling is not None and res.to_dict()["standardized"] is True
    # Without scaling, the same lr rule leaves the small-scale column far from its answer.
    with pytest.warns(gradfit.ConvergenceWarning):
        gradfit.fit(x, y, standardize=False, lr="auto")


def test_standardized_losses_are_in_the_targets_units():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(50, 1))
    y = 1000 + 50 * x[:, 0] + rng.normal(0, 5, 50)
    res = gradfit.fit(x, y, standardize=True, lr="auto")
    theta = res.params.theta
    expected = np.mean((theta[0] + x[:, 0] * theta[1] - y) ** 2)
    assert res.train_loss == pytest.approx(expected, rel=1e-9)
    assert res.history.train_loss[-1] == pytest.approx(expected, rel=1e-6)


def test_book_data_with_standardization_keeps_the_closed_form():
    res = gradfit.fit(standardize=True)
    np.testing.assert_allclose(res.params.theta, res.closed_form.theta, atol=1e-8)


def test_poly_fits_a_quadratic():
    x = np.linspace(-2, 3, 40)
    y = 1 - 2 * x + 0.5 * x ** 2
    res = gradfit.fit(x, y, poly=2, standardize=True, lr="auto", epochs=3000)
    np.testing.assert_allclose(res.params.theta, [1, -2, 0.5], atol=1e-8)
    assert res.names == ["x", "x^2"]


@pytest.mark.parametrize("poly, match", [(0, "between 1 and 20"), ("two", "integer degree"), (25, "between 1")])
def test_bad_poly_degrees(poly, match):
    with pytest.raises(BadOptionError, match=match):
        gradfit.fit(np.arange(10.0), np.arange(10.0), poly=poly)


def test_poly_needs_one_feature():
    with pytest.raises(BadOptionError, match="exactly one feature, got 2"):
        gradfit.fit(np.random.rand(10, 2), np.random.rand(10), poly=2)
