"""Large data goes through streaming sufficient statistics: same answers as the in-memory path."""

import warnings

import numpy as np
import pytest

import gradfit
import gradfit.limits
from error_bounds import QR_BACKWARD, qr_errors


@pytest.fixture
def data():
    rng = np.random.default_rng(8)
    x = rng.normal(5, 2, size=(3000, 4))
    y = 3 + x @ np.array([1.0, -2.0, 0.5, 0.0]) + rng.normal(0, 0.5, 3000)
    return x, y


def both_paths(monkeypatch, call):
    """``call()`` in memory, then with every problem streamed."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        in_memory = call()
        monkeypatch.setattr(gradfit.limits, "SMALL_CELLS", 0)  # read at call time
        streamed = call()
    return in_memory, streamed


@pytest.mark.parametrize("standardize", [False, True])
@pytest.mark.parametrize("val_split", [None, 0.2])
def test_exact_fit_streamed_equals_in_memory(monkeypatch, data, standardize, val_split):
    x, y = data
    small, large = both_paths(monkeypatch, lambda: gradfit.fit(x, y, lr="auto", epochs=500, standardize=standardize,
                                                              val_split=val_split))
    np.testing.assert_allclose(large.closed_form.theta, small.closed_form.theta, rtol=1e-11)
    np.testing.assert_allclose(large.params.theta, small.params.theta, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(large.history.train_loss, small.history.train_loss, rtol=1e-9)
    np.testing.assert_allclose(large.history.val_loss, small.history.val_loss, rtol=1e-9)
    assert large.lr == pytest.approx(small.lr, rel=1e-10)
    assert large.converged == small.converged
    for key in ("std_err", "t", "ci_low", "r_squared", "aic", "f_statistic"):
        np.testing.assert_allclose(large.stats.to_dict()[key], small.stats.to_dict()[key], rtol=1e-8)


def test_solve_streamed_equals_in_memory_and_numpy(monkeypatch, data):
    x, y = data
    small, large = both_paths(monkeypatch, lambda: gradfit.solve(x, y))
    design = np.column_stack([np.ones(len(y)), x])
    expected = np.linalg.lstsq(design, y, rcond=None)[0]
    # TSQR within its first-order bound (columnwise), LAPACK's SVD solver within its own (relative
    # to ‖A‖): tests/error_bounds.py, c = 4. The intercept beside columns at 5 ± 2 gets the least.
    bound = sum(qr_errors(design, y, expected, QR_BACKWARD, normwise=normwise)["theta"] for normwise in (False, True))
    np.testing.assert_array_less(np.abs(large.closed_form.theta - expected), bound)
    np.testing.assert_allclose(large.std_err, small.std_err, rtol=1e-10)
    assert large.stats.to_dict()["p"] == pytest.approx(small.stats.to_dict()["p"], rel=1e-6)


def test_mini_batch_auto_rate_streamed_equals_in_memory(monkeypatch, data):
    x, y = data
    small, large = both_paths(monkeypatch, lambda: gradfit.fit(x, y, lr="auto", engine="numpy", batch_size=32,
                                                              epochs=2, standardize=True))
    assert large.lr == pytest.approx(small.lr, rel=1e-10)
    np.testing.assert_allclose(large.params.theta, small.params.theta, rtol=1e-9)
