"""Every engine against the tutorial's published numbers, and the engines against each other."""

import numpy as np
import pytest

import gradfit
from gradfit import ConvergenceWarning

from published import (CLOSED_FORM, LINEAR_START, NUMPY_END, NUMPY_FIRST_GRADS, NUMPY_FIRST_MSE, NUMPY_START,
                       TORCH_END, TORCH_FINAL_MSE, TORCH_FIRST_GRADS, TORCH_START)


EPS32 = float(np.finfo(np.float32).eps)


def half_unit(decimals: int) -> float:
    """Half a unit in the last decimal published: how far a published value is from what it rounds."""
    return 0.5 * 10.0 ** -decimals


def bw(params):
    return params.intercept, float(params.coef[0])


def book_curvature(book_arrays) -> tuple[float, float]:
    """``(λ_min, λ_max)`` of the training MSE's Hessian ``2/n·AᵀA`` on the book data, ``A = [1, x]``."""
    x = book_arrays[0][:, 0]
    design = np.column_stack([np.ones(len(x)), x])  # (80, 2)
    low, high = np.linalg.eigvalsh(2.0 / len(x) * design.T @ design)
    return float(low), float(high)


def rounding_drift(book_arrays, lr, theta, eps=EPS32) -> float:
    """How far gradient descent in a precision ``eps`` may end from the same run in exact arithmetic.

    Each update rounds ``θ − lr·g`` once (``eps/2·|θ|``) and adds a gradient rounded within
    ``eps`` of its terms (near the end 1/200 of ``|θ|``): at most ``eps·|θ|`` an update
    (c = 1, twice the rounding of θ), and the errors of earlier updates contract by
    ``1 − lr·λ_min`` an update, so they sum to at most ``eps·|θ|/(lr·λ_min)`` (float32: 1.6e-5 here).
    """
    return eps * float(np.max(np.abs(theta))) / (lr * book_curvature(book_arrays)[0])


def distance_bound(book_arrays, res) -> float:
    """How far a full-batch run ``res`` may end from the closed form on the book data.

    Gradient descent contracts the error by ``ρ = max|1 − lr·λ|`` an epoch, so after ``k``
    epochs ``‖θ − θ*‖∞ ≤ ρ^k·‖θ₀ − θ*‖₂``; rounding adds :func:`rounding_drift` in the run's dtype.
    """
    low, high = book_curvature(book_arrays)
    rho = max(abs(1 - res.lr * low), abs(1 - res.lr * high))
    closed = np.array(CLOSED_FORM)
    eps = float(np.finfo(np.dtype(res.dtype)).eps)
    return (rho ** res.epochs * float(np.linalg.norm(np.array(bw(res.initial)) - closed))
            + rounding_drift(book_arrays, res.lr, closed, eps))


@pytest.mark.parametrize("engine", ["numpy", "exact", "auto"])
def test_numpy_style_engines_reproduce_the_published_run(engine):
    res = gradfit.fit(engine=engine)
    assert res.engine in ("numpy", "exact")
    np.testing.assert_allclose(bw(res.initial), NUMPY_START, atol=5e-9)
    np.testing.assert_allclose(bw(res.params), NUMPY_END, atol=5e-9)
    np.testing.assert_allclose(bw(res.closed_form), CLOSED_FORM, atol=5e-9)
    assert res.history.train_loss[0] == pytest.approx(NUMPY_FIRST_MSE, rel=1e-13)


@pytest.mark.parametrize("engine", ["numpy", "exact"])
def test_first_update_follows_the_published_gradients(engine):
    res = gradfit.fit(engine=engine, lr=0.1)
    first = res.trace[0]
    assert first.update == 1
    b0, w0 = bw(res.initial)
    b1, w1 = bw(first.params)
    np.testing.assert_allclose(((b0 - b1) / 0.1, (w0 - w1) / 0.1), NUMPY_FIRST_GRADS, atol=5e-7)


def test_auto_picks_exact_for_full_batch_sgd():
    assert gradfit.fit().engine == "exact"
    assert gradfit.fit(batch_size=16, epochs=50, tol=1e3).engine == "torch"
    assert gradfit.fit(optimizer="adam", epochs=50, tol=1e3).engine == "torch"
    assert gradfit.fit(model="linear", epochs=50, tol=1e3).engine == "torch"


def test_torch_manual_model_reproduces_the_published_run(book_arrays):
    res = gradfit.fit(engine="torch", model="manual")
    assert (res.engine, res.device, res.dtype) == ("torch", "cpu", "float32")
    np.testing.assert_allclose(bw(res.initial), TORCH_START, atol=half_unit(4))  # torch's seeded draw: exact
    # The published run was float32 too, on another machine: each within rounding_drift of exact
    # arithmetic (1.6e-5), so 5e-5 + 2 × 1.6e-5 of the published end. Measured 4.3e-5.
    drift = rounding_drift(book_arrays, 0.1, TORCH_END)
    np.testing.assert_allclose(bw(res.params), TORCH_END, atol=half_unit(4) + 2 * drift)
    # Its MSE in float32, summed in an order each machine chooses: within 4·eps32 of the value
    # at each end (the drift moves an MSE at its minimum by a second-order 1e-11). 9 decimals are a
    # float32's last place here (ulp 9.3e-10): without this term the test needed identical bits.
    assert res.train_loss == pytest.approx(TORCH_FINAL_MSE, abs=half_unit(9) + 2 * 4 * EPS32 * TORCH_FINAL_MSE)
    np.testing.assert_allclose(bw(res.closed_form), CLOSED_FORM, atol=5e-9)


def test_torch_first_update_follows_the_published_gradients():
    res = gradfit.fit(engine="torch", epochs=2, tol=1e3)
    b0, w0 = bw(res.initial)
    b1, w1 = bw(res.trace[0].params)
    np.testing.assert_allclose(((b0 - b1) / 0.1, (w0 - w1) / 0.1), TORCH_FIRST_GRADS, atol=5e-4)


def test_torch_linear_model_starts_where_nn_linear_does(book_arrays):
    res = gradfit.fit(engine="torch", model="linear")
    np.testing.assert_allclose(bw(res.initial), LINEAR_START, atol=half_unit(4))  # torch's seeded draw: exact
    # Contraction from that start (3e-7 left after 1000 epochs) and float32's drift (1.6e-5); measured 4.4e-6.
    np.testing.assert_allclose(bw(res.params), CLOSED_FORM, atol=distance_bound(book_arrays, res))


def test_float64_start_is_the_float32_draw():
    f32 = gradfit.fit(engine="torch", epochs=1, tol=1e3)
    f64 = gradfit.fit(engine="torch", epochs=1, tol=1e3, dtype="float64")
    np.testing.assert_array_equal(f32.initial.theta, f64.initial.theta)


def test_exact_and_numpy_iterates_agree_epoch_by_epoch():
    a = gradfit.fit(engine="numpy")
    b = gradfit.fit(engine="exact")
    np.testing.assert_allclose(a.history.train_loss, b.history.train_loss, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(a.history.val_loss, b.history.val_loss, rtol=1e-12, atol=1e-15)
    assert [t.update for t in a.trace] == [t.update for t in b.trace]
    for ta, tb in zip(a.trace, b.trace):
        np.testing.assert_allclose(ta.params.theta, tb.params.theta, rtol=0, atol=1e-12)
    np.testing.assert_allclose(a.params.theta, b.params.theta, rtol=0, atol=1e-12)


@pytest.mark.parametrize("batch_size", [None, 16, 1])
def test_numpy_and_torch_float64_agree_epoch_by_epoch(batch_size):
    start = gradfit.fit(engine="numpy", epochs=1, tol=1e3).initial
    kwargs = dict(batch_size=batch_size, epochs=30, tol=1e3, lr=0.05)
    a = gradfit.fit(engine="numpy", **kwargs)
    b = gradfit.fit(engine="torch", dtype="float64", init=start, **kwargs)
    np.testing.assert_allclose(a.history.train_loss, b.history.train_loss, rtol=1e-10)
    np.testing.assert_allclose(a.history.val_loss, b.history.val_loss, rtol=1e-10)
    for ta, tb in zip(a.trace, b.trace):
        np.testing.assert_allclose(ta.params.theta, tb.params.theta, rtol=1e-10)
    np.testing.assert_allclose(a.params.theta, b.params.theta, rtol=1e-10)


@pytest.mark.parametrize("engine,model,dtype", [
    ("numpy", None, None), ("exact", None, None), ("torch", "manual", None),
    ("torch", "linear", None), ("torch", "manual", "float64"), ("numpy", None, "float32"),
])
def test_every_engine_reaches_the_closed_form(book_arrays, engine, model, dtype):
    res = gradfit.fit(engine=engine, model=model, dtype=dtype)
    assert res.converged
    # ρ^1000·‖θ₀ − θ*‖ is 5.3e-7 from the book's start (measured 3.6e-7), float32 adds 1.6e-5 (measured 4.4e-6).
    assert res.max_abs_diff < distance_bound(book_arrays, res)
    assert res.max_abs_diff == pytest.approx(np.max(np.abs(res.params.theta - np.array(CLOSED_FORM))), abs=1e-8)


def test_adam_reaches_the_closed_form():
    res = gradfit.fit(engine="torch", optimizer="adam", lr=0.01, epochs=3000, dtype="float64")
    np.testing.assert_allclose(res.params.theta, CLOSED_FORM, atol=1e-6)


@pytest.mark.parametrize("engine", ["numpy", "torch"])
def test_stochastic_and_mini_batch_land_near_the_closed_form(engine):
    for batch_size in (1, 16):
        with pytest.warns(ConvergenceWarning, match="mini-batch"):
            res = gradfit.fit(engine=engine, batch_size=batch_size, lr=0.05, epochs=200)
        assert res.max_abs_diff < 0.05
        assert res.updates == 200 * int(np.ceil(80 / batch_size))


def test_partial_last_batch_is_used():
    res = gradfit.fit(engine="numpy", batch_size=30, epochs=3, tol=1e3)
    assert res.updates == 9  # 30 + 30 + 20 rows each epoch


def test_seed_controls_the_start_and_the_shuffle():
    a = gradfit.fit(engine="numpy", batch_size=8, epochs=5, tol=1e3, seed=1)
    b = gradfit.fit(engine="numpy", batch_size=8, epochs=5, tol=1e3, seed=1)
    c = gradfit.fit(engine="numpy", batch_size=8, epochs=5, tol=1e3, seed=2)
    np.testing.assert_array_equal(a.params.theta, b.params.theta)
    assert not np.array_equal(a.initial.theta, c.initial.theta)


def test_fitting_leaves_global_random_state_alone():
    import torch

    np_state, torch_state = np.random.get_state()[1].copy(), torch.random.get_rng_state().clone()
    gradfit.fit(engine="torch", batch_size=8, epochs=2, tol=1e3)
    gradfit.fit(engine="numpy", batch_size=8, epochs=2, tol=1e3)
    np.testing.assert_array_equal(np.random.get_state()[1], np_state)
    assert torch.equal(torch.random.get_rng_state(), torch_state)


def test_torch_parameters_are_leaves_on_their_device():
    import torch

    from gradfit.engines.torch_engine import build_model

    for kind in ("manual", "linear"):
        model = build_model(kind, 3, True, 0, "cpu", torch.float64, None)
        for name, p in model.named_parameters():
            assert p.is_leaf and p.requires_grad and p.dtype == torch.float64, name


def test_several_features_match_least_squares():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    y = 0.5 + x @ np.array([1.0, -2.0, 3.0]) + 0.01 * rng.normal(size=200)
    expected = np.linalg.lstsq(np.column_stack([np.ones(200), x]), y, rcond=None)[0]
    for engine in ("numpy", "exact", "torch"):
        res = gradfit.fit(x, y, engine=engine, dtype="float64", lr="auto", epochs=500)
        np.testing.assert_allclose(res.closed_form.theta, expected, rtol=1e-12)
        np.testing.assert_allclose(res.params.theta, expected, atol=1e-8)
        assert res.names == ["x1", "x2", "x3"]


def test_no_intercept_fits_through_the_origin():
    rng = np.random.default_rng(1)
    x = rng.uniform(1, 2, size=(50, 2))
    y = x @ np.array([2.0, -1.0]) + 0.01 * rng.normal(size=50)
    expected = np.linalg.lstsq(x, y, rcond=None)[0]
    for engine in ("exact", "numpy", "torch"):
        res = gradfit.fit(x, y, engine=engine, intercept=False, lr="auto", epochs=3000, dtype="float64")
        assert res.params.intercept is None
        np.testing.assert_allclose(res.params.coef, expected, atol=1e-8)
