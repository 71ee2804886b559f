"""gradfit traps: every trap of the walk-through raises, on the installed PyTorch, PyTorch's own words,
and its numbers agree with computations made here, independently (NumPy in float64 on the same
float32-rounded inputs, with float32 error bounds derived below); the Trainer's matmul message."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from gradfit import Trainer
from gradfit.cli import main
from gradfit.errors import BadDataError, BadModelError, BadOptionError
from gradfit.training.traps import TRAP_FILE, TRAPS, run_traps
from published import LINEAR_START, TORCH_FIRST_GRADS, TORCH_START

U32 = 2.0 ** -24  # float32's unit roundoff


@pytest.fixture(scope="module")
def traps():
    return {trap.name: trap for trap in run_traps()}


@pytest.fixture(scope="module")
def book32(book_arrays):
    """The tutorial's training rows (generated in conftest, not by gradfit) rounded to float32, as
    the traps' tensors hold them, back in float64: x (80,), y (80,)."""
    x_train, y_train = book_arrays[0], book_arrays[1]
    return (x_train[:, 0].astype(np.float32).astype(np.float64), y_train[:, 0].astype(np.float32).astype(np.float64))


def value(trap, expression: str, which: str = "wrong"):
    number = next(n for n in trap.numbers if n.expression == expression)
    return getattr(number, which)


def said(trap, kind: str):
    return [s for s in trap.raised or () if s.kind == kind]


# ---------------------------------------------------------------- PyTorch's own words, live
@pytest.mark.parametrize("name, kind, fragment", [
    ("not-a-leaf", "warning", "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed"),
    ("not-a-leaf", "error", "'float' and 'NoneType'"),
    ("in-place-leaf", "error", "a leaf Variable that requires grad is being used in an in-place operation"),
    ("matmul-shapes", "error", "mat1 and mat2 shapes cannot be multiplied (1x80 and 1x1)"),
    ("broadcast-mse", "warning", "Using a target size (torch.Size([80])) that is different to the input size "
                                 "(torch.Size([80, 1]))"),
    ("device", "error", "device"),
    ("numpy-needs-detach", "error", "requires grad"),
])
def test_each_trap_raises_pytorchs_words_and_its_fix_runs_clean(traps, name, kind, fragment):
    trap = traps[name]
    assert any(fragment in s.text for s in said(trap, kind)), trap.raised
    assert trap.fix_raised is None
    assert trap.why and trap.fix != trap.code


def test_the_messages_are_the_ones_pytorch_gives_here(traps):
    """The same operations made here give the same texts: nothing in gradfit is a copy."""
    leaf = torch.randn(1, requires_grad=True)
    with pytest.raises(RuntimeError) as in_place:
        leaf -= 0.1
    with pytest.raises(RuntimeError) as matmul:
        nn.Linear(1, 1)(torch.zeros(80))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        (leaf * 2).grad
        nn.MSELoss()(torch.zeros(80, 1), torch.zeros(80))
    assert said(traps["in-place-leaf"], "error")[0].text == str(in_place.value)
    assert said(traps["matmul-shapes"], "error")[0].text == str(matmul.value)
    assert [s.text for s in said(traps["not-a-leaf"], "warning")] == [str(caught[0].message)]
    assert [s.text for s in said(traps["broadcast-mse"], "warning")] == [str(caught[1].message)]


def test_a_non_leaf_b_warns_then_fails_on_the_update_line(traps):
    trap = traps["not-a-leaf"]
    assert [(s.kind, s.type, s.by) for s in trap.raised] == [("warning", "UserWarning", "PyTorch"),
                                                             ("error", "TypeError", "Python")]
    code = trap.code.splitlines()
    assert {code[s.line - 1].strip() for s in trap.raised} == {"b = b - lr * b.grad  # a new tensor, computed from b"}
    assert (value(trap, "b.is_leaf"), value(trap, "b.is_leaf", "right")) == (False, True)


def test_the_code_shown_is_the_code_that_ran(traps, book_arrays):
    """Each trap's code, run here, says what the trap recorded."""
    for trap in traps.values():
        namespace = {"torch": torch, "nn": nn, "x_train": book_arrays[0].copy(), "y_train": book_arrays[1][:, 0].copy()}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                exec(compile(trap.code, TRAP_FILE, "exec"), namespace)
                error = None
            except Exception as exc:
                error = exc
        texts = [str(w.message) for w in caught] + ([str(error)] if error is not None else [])
        assert texts == [s.text for s in trap.raised or ()], trap.name


def test_device_trap_runs_on_cuda_or_says_it_used_meta(traps):
    trap = traps["device"]
    if torch.cuda.is_available():
        assert "'cuda'" in trap.code and trap.note is None
        assert value(trap, "str(yhat.device)", "right").startswith("cuda")
    else:
        assert "'meta'" in trap.code and "no CUDA" in trap.note
        assert value(trap, "str(yhat.device)", "right") == "meta"


# ---------------------------------------------------------------- the numbers, computed independently
def gradient_bounds(b: float, w: float, x: np.ndarray, y: np.ndarray):
    """The exact gradients of the MSE at (b, w) on float32 data, and bounds on float32's errors.

    Forward, each residual r_i = (b + w·x_i) − y_i takes three roundings: |δr_i| ≤ 3u·(|b| + |w·x_i|
    + |y_i|). Backward, each term 2·r_i/n (times x_i for w) takes up to three more, and the sum of n
    terms n − 1: (n + 2)·u·Σ|term| (n + 3 with x_i). First order; float64's own error is below 1e-15.
    """
    n, r = len(x), b + w * x - y
    grad_b, grad_w = 2 * r.mean(), 2 * (r * x).mean()
    delta = 3 * U32 * (abs(b) + np.abs(w * x) + np.abs(y))
    bound_b = 2 * delta.mean() + (n + 2) * U32 * 2 * np.abs(r).mean()
    bound_w = 2 * (delta * np.abs(x)).mean() + (n + 3) * U32 * 2 * np.abs(r * x).mean()
    return (grad_b, grad_w), (bound_b, bound_w)


def seeded_start() -> tuple[float, float]:
    """b, then w, from torch.randn(1) after torch.manual_seed(42) (the tutorial's start)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(42)
        b, w = torch.randn(1), torch.randn(1)
    return float(b), float(w)


def test_backward_twice_doubles_the_gradient(traps, book32):
    trap, (x, y) = traps["grad-accumulates"], book32
    b, w = seeded_start()
    assert (round(b, 4), round(w, 4)) == TORCH_START
    (grad_b, grad_w), (bound_b, bound_w) = gradient_bounds(b, w, x, y)
    first_b = value(trap, "first.item()")
    assert abs(first_b - grad_b) <= bound_b
    assert round(first_b, 4) == TORCH_FIRST_GRADS[0]
    assert round(value(trap, "w.grad.item()", "right"), 4) == TORCH_FIRST_GRADS[1]
    # Twice the exact gradient, within twice the bound and the rounding of the float32 sum.
    doubled_b, doubled_w = value(trap, "b.grad.item()"), value(trap, "w.grad.item()")
    assert abs(doubled_b - 2 * grad_b) <= 2 * bound_b + U32 * abs(doubled_b)
    assert abs(doubled_w - 2 * grad_w) <= 2 * bound_w + U32 * abs(doubled_w)
    # On the CPU both backward passes make the same float32 operations, and g + g = 2g exactly.
    assert doubled_b == 2 * first_b
    assert value(trap, "b.grad.item()", "right") == first_b


def test_without_zeroing_epoch_two_steps_with_the_sum_of_both_gradients(traps):
    trap = traps["no-zero-grad"]
    first, wrong, right = value(trap, "grads[0][0]"), value(trap, "grads[1][0]"), value(trap, "grads[1][0]", "right")
    assert value(trap, "grads[0][0]", "right") == first
    # Epoch 2 starts from the same b, w in both runs; .grad is then float32(first + right).
    assert np.float32(wrong) == np.float32(first) + np.float32(right)
    assert abs(wrong) > abs(first) > abs(right)  # the right gradient shrinks; the accumulated one grows


def mse_bound(r: np.ndarray, delta: np.ndarray) -> float:
    """float32's error bound on the mean of r² over n terms, each r off by at most ``delta``: the
    square adds 2|r|·δ + δ² and one rounding, the sum n − 1 roundings, the division one."""
    return float((2 * np.abs(r) * delta + delta ** 2).mean() + (r.size + 1) * U32 * (r ** 2).mean())


def test_the_broadcast_mse_is_wrong_and_the_right_one_is_numpys(traps, book32):
    trap, (x, y) = traps["broadcast-mse"], book32
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(42)
        model = nn.Linear(1, 1)
    w, b = model.weight.item(), model.bias.item()
    assert (round(b, 4), round(w, 4)) == LINEAR_START
    right, wrong = value(trap, "loss.item()", "right"), value(trap, "loss.item()")
    with torch.no_grad():  # nn.MSELoss on (80, 1) against (80, 1), made here
        x32, y32 = torch.as_tensor(x, dtype=torch.float).view(-1, 1), torch.as_tensor(y, dtype=torch.float).view(-1, 1)
        assert right == nn.MSELoss()(model(x32), y32).item()
    delta = 3 * U32 * (abs(b) + np.abs(w * x) + np.abs(y))
    r = b + w * x - y  # (80,): each prediction against its own target
    assert abs(right - (r ** 2).mean()) <= mse_bound(r, delta)
    r_wide = (b + w * x)[:, None] - y[None, :]  # (80, 80): every prediction against every target
    assert abs(wrong - (r_wide ** 2).mean()) <= mse_bound(r_wide, delta[:, None] + delta[None, :])
    assert abs(wrong - right) > 100 * (mse_bound(r, delta) + mse_bound(r_wide, 2 * delta.max()))
    assert (value(trap, "tuple((yhat - y).shape)"), value(trap, "tuple((yhat - y).shape)", "right")) == ((80, 80), (80, 1))
    warned = said(trap, "warning")[0]  # issued inside torch, on the trap's line that called the loss
    assert trap.code.splitlines()[warned.line - 1] == "loss = loss_fn(yhat, y)"


def test_a_1d_x_gives_no_output_and_the_fix_gives_80_rows(traps):
    trap = traps["matmul-shapes"]
    assert (value(trap, "tuple(yhat.shape)"), value(trap, "tuple(yhat.shape)", "right")) == (None, (80, 1))


def test_item_is_a_float_and_the_array_needs_detach(traps):
    trap = traps["numpy-needs-detach"]
    assert value(trap, "type(value).__name__", "right") == "float"
    assert value(trap, "repr(array)", "right").startswith("array(")


def test_the_traps_leave_the_global_random_state_alone():
    before = torch.random.get_rng_state()
    run_traps(only="grad-accumulates")
    assert torch.equal(torch.random.get_rng_state(), before)


def test_an_unknown_trap_is_refused_naming_the_traps():
    with pytest.raises(BadOptionError, match="only='nope': no trap of that name; choose one of: not-a-leaf"):
        run_traps(only="nope")


# ---------------------------------------------------------------- the command line
def test_the_command_prints_each_trap_with_what_pytorch_says(capsys):
    assert main(["traps"]) == 0
    out = capsys.readouterr().out
    assert out.count("PyTorch says (") >= 6 and "Python says (TypeError, line 10)" in out
    for name in TRAPS:
        assert f"] {name}: " in out
    assert "mat1 and mat2 shapes cannot be multiplied (1x80 and 1x1)" in out
    assert "+ y = torch.as_tensor(y_train, dtype=torch.float).view(-1, 1)  # (80, 1)" in out  # a fix's line


def test_json_is_one_object_with_every_trap(capsys):
    assert main(["traps", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["torch_version"] == torch.__version__
    assert len(report["traps"]) >= 6 and [t["name"] for t in report["traps"]] == list(TRAPS)
    for trap in report["traps"]:
        assert {"name", "code", "raised", "why", "fix", "numbers"} <= set(trap)
    assert main(["traps", "--json", "--only", "in-place-leaf"]) == 0
    only = json.loads(capsys.readouterr().out)["traps"]
    assert [t["name"] for t in only] == ["in-place-leaf"] and only[0]["raised"][0]["type"] == "RuntimeError"


def test_an_unknown_trap_on_the_command_line_is_one_line(capsys):
    assert main(["traps", "--only", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gradfit traps: error: --only nope: no trap of that name") and len(err.splitlines()) == 1


def test_without_torch_the_command_says_what_to_install(capsys, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a))
    assert main(["traps"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.strip().splitlines()) == 1
    assert "running the traps needs torch, which is not installed: pip install torch" in captured.err


# ---------------------------------------------------------------- the Trainer says it in gradfit's words
def test_the_trainer_turns_the_matmul_error_into_one_line_naming_both_shapes(book_arrays):
    x, y = book_arrays[0][:, 0], book_arrays[1][:, 0]  # (80,), (80,)
    trainer = Trainer(nn.Linear(1, 1), nn.MSELoss(), "sgd", lr=0.1, train_data=(x, y), shuffle=False)
    for call in (lambda: trainer.train(1), lambda: trainer.predict(x), lambda: trainer.evaluate((x, y))):
        with pytest.raises(BadDataError) as caught:
            call()
        message = str(caught.value)
        assert "has shape (80,)" in message and "takes rows of 1 feature" in message
        assert "x.reshape(-1, 1)" in message and "\n" not in message
        assert isinstance(caught.value.__cause__, RuntimeError)  # PyTorch's error, chained
        assert str(caught.value.__cause__) in message  # and quoted as PyTorch gave it
        assert "mat1 and mat2 shapes cannot be multiplied (1x80 and 1x1)" in message


def test_the_trainer_names_too_wide_rows_and_layers_that_do_not_fit(book_arrays):
    x, y = np.hstack([book_arrays[0]] * 3), book_arrays[1]  # (80, 3), (80, 1)
    with pytest.raises(BadDataError, match=r"x has shape \(80, 3\), but a layer of the model takes rows of 1 "
                                           r"feature .*pass \(n, 1\) rows, or build the layer for rows of 3 "
                                           r"\(nn.Linear\(3, 1\)\)"):
        Trainer(nn.Linear(1, 1), nn.MSELoss(), "sgd", lr=0.1, train_data=(x, y)).train(1)
    model = nn.Sequential(nn.Linear(1, 3), nn.Linear(2, 1))
    with pytest.raises(BadModelError, match="the model's layers do not fit together: .* rows of 2 features but "
                                            "gets rows of 3"):
        Trainer(model, nn.MSELoss(), "sgd", lr=0.1, train_data=(book_arrays[0], y)).train(1)


def test_a_summed_loss_is_n_times_the_mean(traps):
    """nn.MSELoss on one example: the published 1.17 = ((0.5 − 2)² + (1 − 1.3)²) / 2, in float32."""
    trap = traps["summed-loss"]
    errors = np.array([0.5, 1.0], dtype=np.float32) - np.array([2.0, 1.3], dtype=np.float32)
    right = float(np.mean(errors.astype(np.float64) ** 2))
    assert value(trap, "loss.item()", "right") == pytest.approx(1.17, abs=1e-6)
    assert value(trap, "loss.item()", "right") == pytest.approx(right, rel=4 * U32)
    assert value(trap, "loss.item()") == pytest.approx(2 * right, rel=4 * U32)
    assert trap.raised is None  # nothing warns: the trap is silent


def test_a_state_dict_taken_before_a_step_moves_with_it(traps):
    trap = traps["state-dict-is-live"]
    after = value(trap, 'model.state_dict()["0.weight"].item()')
    assert value(trap, 'before["0.weight"].item()') == after  # the same tensor
    assert value(trap, 'before["0.weight"].item()', "right") == pytest.approx(LINEAR_START[1], abs=5e-5)
    assert after != pytest.approx(LINEAR_START[1], abs=1e-3)  # the step did move w
