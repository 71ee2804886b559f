"""The learning-rate range test, judged against the known stability limit of full-batch GD."""

import numpy as np
import pytest
import torch
from torch import nn

from gradfit import BadOptionError, Trainer
from gradfit import find_lr, lr_find

from published import LR_MAX_STABLE


def stability_limit(book_arrays):
    """2 / the largest eigenvalue of the MSE Hessian 2/n AᵀA on the training rows (computed here)."""
    x = book_arrays[0][:, 0]
    design = np.column_stack([np.ones_like(x), x])
    return 2 / np.linalg.eigvalsh(2 / len(x) * design.T @ design).max()


def test_full_batch_test_stops_past_the_stability_limit_and_suggests_below_it(book_arrays):
    limit = stability_limit(book_arrays)
    assert limit == pytest.approx(LR_MAX_STABLE, abs=5e-5)
    found = find_lr(dtype="float64")  # the book data, full batch, plain gradient descent
    assert found.diverged and found.lrs[-1] < 10.0  # stopped before end_lr …
    assert found.lrs[-1] > limit  # … and only past the limit: below it every step shrinks the loss
    assert 1e-4 < found.suggested_lr < limit
    assert np.all(np.isfinite(found.losses[:-1]))


def test_rates_grow_geometrically_and_losses_are_smoothed():
    found = find_lr(steps=50, start_lr=1e-4, end_lr=1e-2, smoothing=0.0)
    np.testing.assert_allclose(found.lrs, np.geomspace(1e-4, 1e-2, 50), rtol=1e-12)
    np.testing.assert_array_equal(found.losses, found.raw_losses)  # no smoothing: the raw losses
    smoothed = find_lr(steps=50, start_lr=1e-4, end_lr=1e-2, smoothing=0.9)
    np.testing.assert_array_equal(smoothed.raw_losses, found.raw_losses)  # same steps
    beta, average = 0.9, 0.0
    for i, raw in enumerate(found.raw_losses):  # bias-corrected exponential moving average
        average = beta * average + (1 - beta) * raw
        assert smoothed.losses[i] == pytest.approx(average / (1 - beta ** (i + 1)), rel=1e-12)
    assert not found.diverged and found.steepest_lr in found.lrs  # the range test's own rule: a rate it took


def test_the_trainer_is_left_untouched(book_arrays):
    x, y = (torch.as_tensor(a) for a in book_arrays[:2])
    torch.manual_seed(0)
    trainer = Trainer(nn.Linear(1, 1).double(), nn.MSELoss(), "adam", lr=0.01, train_data=(x, y), batch_size=16)
    trainer.train(2)
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    optimizer_state = trainer.optimizer.state_dict()["state"][0]["exp_avg"].clone()
    shuffle_state = trainer.shuffle_rng.bit_generator.state
    torch_state = torch.get_rng_state()
    found = trainer.lr_find(steps=60)
    assert len(found.lrs) >= 10
    for key, value in trainer.model.state_dict().items():
        assert torch.equal(value, before[key])
    assert torch.equal(trainer.optimizer.state_dict()["state"][0]["exp_avg"], optimizer_state)
    assert trainer.optimizer.param_groups[0]["lr"] == 0.01
    assert trainer.shuffle_rng.bit_generator.state == shuffle_state
    assert torch.equal(torch.get_rng_state(), torch_state)


def test_bad_ranges_are_refused():
    with pytest.raises(BadOptionError, match="start_lr"):
        find_lr(start_lr=1.0, end_lr=0.1)
    with pytest.raises(BadOptionError, match="steps"):
        find_lr(steps=1)
    trainer = Trainer(nn.Linear(1, 1), nn.MSELoss(), "sgd", lr=0.1, train_data=(np.zeros((4, 1)), np.zeros((4, 1))))
    with pytest.raises(BadOptionError, match="smoothing"):
        lr_find(trainer, smoothing=1.0)


# ---------------------------------------------------------------- read against the curvature

def minibatch_bound(design, batch_size):
    """2/L_B for batches of B rows drawn without replacement (Gower et al., 2019), written out here:
    L_B = n(B-1)/(B(n-1)) L + (n-B)/(B(n-1)) max_i 2‖a_i‖²."""
    n = len(design)
    largest = np.linalg.eigvalsh(2 / n * design.T @ design).max()
    row_max = 2 * np.max(np.sum(design ** 2, axis=1))
    l_b = n * (batch_size - 1) / (batch_size * (n - 1)) * largest + (n - batch_size) / (batch_size * (n - 1)) * row_max
    return 2 / l_b


def test_full_batch_suggestion_is_half_the_stability_limit_and_fit_converges_there(book_arrays):
    import gradfit

    limit = stability_limit(book_arrays)
    found = find_lr()
    assert found.lr_max_stable == pytest.approx(limit, rel=1e-12) and found.lr_bound == found.lr_max_stable
    # The test's lowest loss comes past the limit (the rate rises every step), its steepest fall
    # decades below it, where 1000 epochs do not converge; the suggestion is half the limit.
    assert found.min_loss_lr > limit and found.steepest_lr < limit / 10
    assert found.suggested_by == "curvature" and found.suggested_lr == 0.4  # limit / 2 = 0.4028, two digits down
    assert gradfit.fit(lr=found.suggested_lr).converged
    with pytest.warns(gradfit.ConvergenceWarning):  # what lr-find used to suggest
        assert not gradfit.fit(lr=found.steepest_lr).converged


@pytest.mark.parametrize("batch_size", [1, 8, 32])
def test_mini_batch_suggestion_stays_below_the_sampled_batch_bound(book_arrays, batch_size):
    x = book_arrays[0][:, 0]
    design = np.column_stack([np.ones_like(x), x])
    found = find_lr(batch_size=batch_size)
    assert found.lr_bound == pytest.approx(minibatch_bound(design, batch_size), rel=1e-12)
    assert found.lr_bound <= found.lr_max_stable
    assert found.suggested_lr <= min(found.lr_bound, found.min_loss_lr) / 2
    assert found.suggested_lr > 0.8 * min(found.lr_bound, found.min_loss_lr) / 2  # only rounded down
    # One-row batches are noisy: the test must not mistake that noise for divergence at tiny rates.
    assert found.lrs[-1] > 0.1


def test_adam_keeps_the_range_tests_own_suggestion_and_is_told_the_limit():
    found = find_lr(optimizer="adam")
    assert found.suggested_by == "steepest" and found.suggested_lr == found.steepest_lr
    assert found.lr_max_stable == pytest.approx(LR_MAX_STABLE, abs=5e-5)
