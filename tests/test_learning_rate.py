"""Step size from curvature, and divergence that stops at once with a useful message."""

import numpy as np
import pytest

import gradfit
from gradfit import DivergedError
from gradfit.least_squares.curvature import auto_lr

from published import CLOSED_FORM, LR_MAX_STABLE


def book_design():
    from gradfit.data import load_dataset

    x = load_dataset("book").x_train[:, 0]
    return np.column_stack([np.ones_like(x), x])


def test_largest_stable_rate_is_two_over_the_top_hessian_eigenvalue():
    design = book_design()
    expected = 2 / np.linalg.eigvalsh(2 / 80 * design.T @ design).max()
    res = gradfit.fit()
    assert res.lr_max_stable == pytest.approx(expected, rel=1e-12)
    assert res.lr_max_stable == pytest.approx(LR_MAX_STABLE, abs=5e-5)


def test_just_below_the_limit_converges_and_just_above_diverges():
    res = gradfit.fit(lr=0.8)
    assert res.converged and res.max_abs_diff < 1e-5
    with pytest.raises(DivergedError):
        gradfit.fit(lr=0.81)


@pytest.mark.parametrize("engine", ["exact", "numpy", "torch"])
def test_divergence_stops_at_once_and_names_a_stable_rate(engine):
    with pytest.raises(DivergedError) as info:
        gradfit.fit(engine=engine, lr=1.1)
    error = info.value
    assert error.exit_code == 1
    assert error.epoch <= 20  # the loss grows ~7x an epoch at lr 1.1
    assert error.lr_max_stable == pytest.approx(LR_MAX_STABLE, abs=5e-5)
    message = str(error)
    assert f"epoch {error.epoch}" in message and "0.8055" in message
    suggested = float(message.split("try lr=")[1].split()[0])
    assert 0 < suggested <= LR_MAX_STABLE


def test_nan_loss_is_divergence():
    with pytest.raises(DivergedError):
        gradfit.fit(lr=1e12, epochs=5)


def test_auto_full_batch_is_the_optimal_quadratic_step():
    design = book_design()
    eigenvalues = np.linalg.eigvalsh(2 / 80 * design.T @ design)  # (μ, L): L/μ ≈ 11, below the cap
    res = gradfit.fit(lr="auto")
    assert res.lr == pytest.approx(2 / (eigenvalues[0] + eigenvalues[1]), rel=1e-12)
    assert res.lr < res.lr_max_stable and res.lr_requested == "auto"
    np.testing.assert_allclose(res.params.theta, CLOSED_FORM, atol=5e-9)


def test_auto_caps_the_condition_number_for_ill_conditioned_data():
    x = np.array([1.0, 1.001, 1.002, 1.003, 1.0045])  # nearly collinear with the intercept
    design = np.column_stack([np.ones(5), x])
    top, bottom = np.linalg.eigvalsh(2 / 5 * design.T @ design)[::-1]
    assert top / bottom > 100
    assert auto_lr(design, None, top, bottom) == pytest.approx(2 / (top * 1.01), rel=1e-12)


def test_auto_stochastic_uses_the_stiffest_row():
    design = book_design()
    expected = 1 / (2 * np.max(np.sum(design ** 2, axis=1)))
    assert auto_lr(design, 1, 2.48) == pytest.approx(expected, rel=1e-12)


def test_auto_mini_batch_lies_between_stochastic_and_full_batch():
    design = book_design()
    top = 2 * np.linalg.eigvalsh(design.T @ design / 80).max()
    rates = [auto_lr(design, b, top) for b in (1, 4, 16, 79)]
    assert rates == sorted(rates)
    assert rates[-1] < 1 / top * 1.01


def test_not_converged_is_reported_not_hidden():
    with pytest.warns(gradfit.ConvergenceWarning, match="did not converge in 20 epochs.*raise epochs, try lr=.auto."):
        res = gradfit.fit(epochs=20)
    assert not res.converged
    assert res.grad_norm > res.tol * res.initial_grad_norm
