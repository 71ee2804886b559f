"""The walk-through's stages: each one, from Python and the command line, lands on the published
numbers (tests/published.py, from PRODUCT.md), and `gradfit walkthrough` shows them agreeing."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import gradfit
from gradfit.data.embedded import load_dataset
from gradfit.walkthrough import STAGES, walkthrough
from published import (LINEAR_START, NUMPY_FIRST_GRADS, NUMPY_FIRST_MSE, NUMPY_START, TORCH_END, TORCH_FINAL_MSE,
                       TORCH_FIRST_GRADS, TORCH_START)

# The published values have 4 decimals (torch) or 6–8 (NumPy): half a unit in the last place.
TORCH_PLACES = 5e-5
TORCH_STAGES = [
    dict(model="tensors", update="manual", loss="manual"),
    dict(model="tensors", update="optimizer", loss="manual"),
    dict(model="tensors", update="optimizer", loss="mse"),
    dict(model="tensors"),
    dict(model="manual", update="manual"),
    dict(model="manual", loss="manual"),
    dict(model="manual"),
]


@pytest.mark.parametrize("stage", TORCH_STAGES, ids=lambda s: "-".join(f"{k}={v}" for k, v in s.items()))
def test_each_torch_stage_lands_on_the_published_numbers(stage):
    res = gradfit.fit(engine="torch", **stage)
    assert res.dtype == "float32"
    np.testing.assert_allclose(res.initial.theta, TORCH_START, atol=TORCH_PLACES, rtol=0)
    np.testing.assert_allclose(res.first_gradient.theta, TORCH_FIRST_GRADS, atol=TORCH_PLACES, rtol=0)
    np.testing.assert_allclose(res.params.theta, TORCH_END, atol=TORCH_PLACES, rtol=0)
    assert res.train_loss == pytest.approx(TORCH_FINAL_MSE, rel=1e-6)  # float32: 9 digits published, 7 meaningful


@pytest.mark.parametrize("model", ["linear", "sequential"])
def test_nn_linear_stages_start_where_nn_linear_starts_and_end_on_the_same_answer(model):
    res = gradfit.fit(model=model)
    np.testing.assert_allclose(res.initial.theta, LINEAR_START, atol=TORCH_PLACES, rtol=0)
    np.testing.assert_allclose(res.params.theta, TORCH_END, atol=TORCH_PLACES, rtol=0)


@pytest.mark.parametrize("engine", ["numpy", "exact"])
def test_numpy_and_exact_engines_report_the_published_first_gradient_and_loss(engine):
    res = gradfit.fit(engine=engine, trace_steps=1)
    np.testing.assert_allclose(res.initial.theta, NUMPY_START, atol=5e-9, rtol=0)
    np.testing.assert_allclose(res.first_gradient.theta, NUMPY_FIRST_GRADS, atol=5e-7, rtol=0)
    assert res.steps[0]["loss"] == pytest.approx(NUMPY_FIRST_MSE, rel=1e-15)


@pytest.mark.parametrize("options", [dict(engine="numpy"), dict(engine="exact"), dict(engine="torch", dtype="float64"),
                                     dict(model="tensors", update="manual", loss="manual", dtype="float64")])
def test_trace_steps_are_the_four_steps_computed_independently(options):
    """Each recorded step: ŷ = b + x·w on the first rows, the MSE and its gradient at the
    parameters before the update (NumPy, here), and after = before − lr·gradient."""
    data = load_dataset("book")
    x, y = data.x_train[:, 0], data.y_train
    res = gradfit.fit(trace_steps=3, **options)
    assert [step["update"] for step in res.steps] == [1, 2, 3]
    for step in res.steps:
        b, w = step["before"]
        error = b + w * x - y
        assert step["loss"] == pytest.approx(np.mean(error ** 2), rel=1e-12)
        np.testing.assert_allclose(step["gradient"], [2 * error.mean(), 2 * (error * x).mean()], rtol=1e-12)
        np.testing.assert_allclose(step["after"], np.array(step["before"]) - 0.1 * np.array(step["gradient"]),
                                   rtol=1e-12)
        np.testing.assert_allclose(step["predictions"], (b + w * x)[:3], rtol=1e-12)
    later = [step["before"] for step in res.steps[1:]]
    np.testing.assert_array_equal(later, [step["after"] for step in res.steps[:-1]])


def test_walkthrough_runs_every_stage_in_order_and_they_agree():
    result = walkthrough()
    assert [row.stage for row in result.rows] == [name for name, _, _ in STAGES]
    assert result.agree and result.converged
    assert result.same_start_spread == 0.0  # the same float32 loop, written four ways
    for row in result.rows[1:5]:
        np.testing.assert_allclose(row.first_gradient, TORCH_FIRST_GRADS, atol=TORCH_PLACES, rtol=0)
    np.testing.assert_allclose(result.rows[0].first_gradient, NUMPY_FIRST_GRADS, atol=5e-7, rtol=0)
    text = result.summary()
    assert "the stages agree" in text and "nn.MSELoss" in text


def test_walkthrough_and_stage_options_from_the_command_line():
    cli = [sys.executable, "-m", "gradfit"]
    done = subprocess.run(cli + ["walkthrough", "--json", "--epochs", "200"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert [stage["stage"] for stage in data["stages"]][:2] == ["numpy", "tensors"]
    fit = subprocess.run(cli + ["fit", "--model", "tensors", "--update", "manual", "--loss", "manual", "--json"],
                         capture_output=True, text=True)
    assert fit.returncode == 0, fit.stderr
    first = json.loads(fit.stdout)["first_gradient"]
    assert first["intercept"] == pytest.approx(TORCH_FIRST_GRADS[0], abs=TORCH_PLACES)
    assert first["coef"][0] == pytest.approx(TORCH_FIRST_GRADS[1], abs=TORCH_PLACES)
    steps = subprocess.run(cli + ["fit", "--trace-steps", "1", "--quiet"], capture_output=True, text=True)
    assert "step 3, gradients: b -3.0448, w -1.8338" in steps.stdout


@pytest.mark.parametrize("options,fragment", [
    (dict(update="manual", optimizer="adam"), "update by hand is plain gradient descent"),
    (dict(model="tensors", l1=0.1), "without a penalty"),
    (dict(loss="manual", engine="numpy"), "loss chooses how torch trains"),
    (dict(model="tensors", scheduler="step"), "constant rate"),
])
def test_stage_options_refuse_what_they_cannot_do(options, fragment):
    with pytest.raises(gradfit.BadOptionError, match=fragment):
        gradfit.fit(**options)


def test_bare_loop_mini_batches_are_the_trainers():
    """Same seeded shuffle, same batches: the bare tensors' loop with a manual update and the
    Trainer's module with torch.optim make the same float32 operations, except that
    ``p -= lr * p.grad`` rounds ``lr·g`` before subtracting while torch's SGD kernel may fuse
    them (``add_(g, alpha=-lr)``, with FMA on CPUs that have it). So they end bit-identical on
    some machines and within one float32 rounding of the update per step on others: at most
    ``updates · eps32 · max|θ|`` apart (the loss contracts, so earlier differences do not grow)."""
    with pytest.warns(gradfit.ConvergenceWarning):  # 20 mini-batch epochs hover near the answer
        bare = gradfit.fit(model="tensors", update="manual", batch_size=16, epochs=20)
    with pytest.warns(gradfit.ConvergenceWarning):
        trainer = gradfit.fit(model="manual", batch_size=16, epochs=20)
    assert bare.updates == trainer.updates == 20 * 5
    bound = bare.updates * np.finfo(np.float32).eps * np.max(np.abs(trainer.params.theta))
    np.testing.assert_allclose(bare.params.theta, trainer.params.theta, rtol=0, atol=bound)
