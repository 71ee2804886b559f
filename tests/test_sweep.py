"""gradfit.sweep: one result per learning rate, each identical to its own single run."""

import numpy as np
import pytest

import gradfit
from gradfit.pipeline.sweep import parse_lrs

EPS32 = float(np.finfo(np.float32).eps)


def test_each_full_batch_run_equals_its_own_fit():
    rates = [0.05, 0.1, 0.5]
    runs = gradfit.sweep(lr=rates, epochs=300, tol=1e3)
    assert [run.lr for run in runs] == rates
    for run in runs:
        single = gradfit.fit(lr=run.lr, epochs=300, tol=1e3)
        np.testing.assert_array_equal(run.result.params.theta, single.params.theta)
        np.testing.assert_array_equal(run.result.history.train_loss, single.history.train_loss)


def test_a_diverging_rate_does_not_stop_the_others():
    runs = gradfit.sweep(lr="0.1,1.1", tol=1e3)
    assert runs[0].result is not None and runs[1].result is None
    assert runs[1].diverged.epoch > 0 and runs[1].row()["diverged"] is True


def test_mini_batch_runs_equal_their_own_fits():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 2))
    y = x @ [1.0, -1.0] + 0.5
    options = dict(engine="numpy", batch_size=32, epochs=5, tol=1e3)
    runs = gradfit.sweep(x, y, lr=[0.01, 0.05], **options)
    for run in runs:
        np.testing.assert_array_equal(run.result.params.theta, gradfit.fit(x, y, lr=run.lr, **options).params.theta)


@pytest.mark.parametrize("value, match", [("0.1,,0.2", "empty learning rate"), ("0.1,-1", "positive"),
                                          ([], "empty learning rate")])
def test_bad_rate_lists(value, match):
    with pytest.raises(gradfit.BadOptionError, match=match):
        parse_lrs(value)


@pytest.mark.parametrize("model", ["manual", "linear"])
def test_torch_mini_batch_rates_trained_together_equal_their_own_runs(model):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(400, 3)).astype(np.float32)
    y = (0.5 + x @ np.array([1.0, -2.0, 0.5])).astype(np.float32)
    options = dict(engine="torch", model=model, batch_size=16, epochs=4, tol=1e3, val_split=0.2)
    rates = [0.001, 0.01, 0.05]
    runs = gradfit.sweep(x, y, lr=rates, **options)
    for run in runs:
        single = gradfit.fit(x, y, lr=run.lr, **options)
        # float32, summed in other orders when stacked: each of the 80 updates rounds θ (eps32/2·|θ|)
        # and its gradient, at most eps32·|θ| an update (c = 1), and SGD below 2/L does not amplify
        # earlier errors, so θ agrees within 80·eps32·max|θ| (1.9e-5 at lr 0.05; measured 3e-8).
        # A loss L = mean(r²) then moves by at most 2·√L·max rms(x_j)·‖δθ‖₁, plus its own rounding
        # (4·eps32·L): absolute, since at lr 0.05 the noiseless L falls to 8e-6.
        drift = single.updates * EPS32 * float(np.max(np.abs(single.params.theta)))
        np.testing.assert_allclose(run.result.params.theta, single.params.theta, rtol=0, atol=drift)
        spread = max(1.0, float(np.max(np.sqrt(np.mean(x.astype(np.float64) ** 2, axis=0)))))  # with the 1s
        for ours, theirs in ((run.result.history.train_loss, single.history.train_loss),
                             (run.result.history.val_loss, single.history.val_loss)):
            theirs = np.asarray(theirs)
            bound = 2 * np.sqrt(theirs) * spread * drift * len(single.params.theta) + 4 * EPS32 * theirs
            np.testing.assert_array_less(np.abs(np.asarray(ours) - theirs), bound)
        np.testing.assert_allclose(run.result.initial.theta, single.initial.theta, rtol=0)
        assert run.result.updates == single.updates
        assert [t.update for t in run.result.trace] == [t.update for t in single.trace]


def test_a_diverging_rate_trained_together_stops_alone():
    runs = gradfit.sweep(lr=[0.05, 3.0], engine="torch", batch_size=8, epochs=30, tol=1e3)
    assert runs[0].result is not None and runs[1].result is None
    with pytest.raises(gradfit.DivergedError) as single:
        gradfit.fit(lr=3.0, engine="torch", batch_size=8, epochs=30, tol=1e3)
    assert runs[1].diverged.epoch == single.value.epoch
    np.testing.assert_allclose(runs[1].diverged.history, single.value.history, rtol=1e-5)
    np.testing.assert_allclose(runs[0].result.params.theta,
                               gradfit.fit(lr=0.05, engine="torch", batch_size=8, epochs=30, tol=1e3).params.theta,
                               atol=1e-5)
