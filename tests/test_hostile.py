"""Hostile input as a user meets it: each class closed at one root, through the CLI and the API.

1. numbers beyond what NumPy, torch or memory hold (option_checks.check_count);
2. a divergence message whose own arithmetic meets 0, inf or nan (errors.DivergedError);
3. data whose squares float64 cannot carry (data.validate.check_magnitudes, every reader);
4. complex or text values (data.validate.numeric_array);
5. a FIFO, device or socket given as a file to read (data.file_checks.check_regular);
6. files written over devices, through links, over inputs, and temp files left by a killed process
   (atomic.output_path, atomic.remove_stale_temps);
7. a diverging run's checkpoints replacing the file that was there (training.checkpoint.RunCheckpoint).

Every refusal is one line: on stderr with exit code 2 from the CLI, an exception naming the
parameter from Python; nothing the user had is changed.
"""

from __future__ import annotations

import math
import os
import socket
import subprocess
import sys
import threading

import numpy as np
import pandas as pd
import pytest

import gradfit
from gradfit import BadDataError, BadOptionError, DivergedError, atomic, limits
from gradfit.cli import main
from gradfit.data.files import read_table
from gradfit.data.validate import Magnitudes, check_magnitudes
from gradfit.errors import _round_down  # noqa: the function under test
from gradfit.least_squares.checks import check_rank
from gradfit.training.checkpoint import load_checkpoint


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def refused(capsys, *argv, match: str) -> str:
    """Run the CLI: exit 2, nothing on stdout, one line on stderr containing ``match``."""
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == "", (code, out, err)
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert match in err, err
    return err


@pytest.fixture
def data_csv(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.random(50)
    y = 1 + 2 * x + 0.1 * rng.standard_normal(50)
    path = tmp_path / "data.csv"
    path.write_text("x,y\n" + "".join(f"{float(a)!r},{float(b)!r}\n" for a, b in zip(x, y)))
    return path


def scaled_csv(tmp_path, scale: float, column: str = "x"):
    rng = np.random.default_rng(1)
    x = rng.random(50)
    y = 1 + 2 * x + 0.1 * rng.standard_normal(50)
    if column == "x":
        x = x * scale
    else:
        y = y * scale
    path = tmp_path / f"scaled_{column}.csv"
    path.write_text("x,y\n" + "".join(f"{float(a)!r},{float(b)!r}\n" for a, b in zip(x, y)))
    return path


def same_bytes(path, before: bytes) -> bool:
    return path.read_bytes() == before


def no_temp_files(folder) -> bool:
    return not [name for name in os.listdir(folder) if name.startswith(".gradfit-")]


# ----- 1. numbers out of range -----------------------------------------------------------------

@pytest.mark.parametrize("flag, value, match", [
    ("--epochs", "99999999999999999999", "--epochs 99999999999999999999: must be at most 1000000"),
    ("--epochs", "10000000000", "gradfit solve"),
    ("--seed", "99999999999999999999", "--seed 99999999999999999999: must be at most 4294967295"),
    ("--seed", "4294967296", "NumPy and torch take seeds from 0 to 2**32 - 1"),
    ("--batch-size", "99999999999999999999", "--batch-size 99999999999999999999: must be at most"),
    ("--patience", "99999999999999999999", "--patience 99999999999999999999: must be at most"),
    ("--checkpoint-every", "99999999999999999999", "--checkpoint-every 99999999999999999999: must be at most"),
])
def test_cli_counts_beyond_their_bound_are_one_line(capsys, data_csv, flag, value, match):
    refused(capsys, "fit", data_csv, "--target", "y", "--quiet", flag, value, match=match)


@pytest.mark.parametrize("options, match", [
    (dict(epochs=10**10), r"epochs=10000000000: must be at most 1000000; .*gradfit\.solve\(x, y\)"),
    (dict(epochs=1e30), r"epochs=1e\+30: must be at most 1000000"),
    (dict(seed=2**32), r"seed=4294967296: must be at most 4294967295"),
    (dict(seed=-1), r"seed=-1: must be 0 or a positive integer"),
    (dict(batch_size=2**60), r"batch_size=1152921504606846976: must be at most 9007199254740992"),
])
def test_api_counts_beyond_their_bound_name_the_parameter(options, match):
    with pytest.raises(BadOptionError, match=match):
        gradfit.fit(**options)


def test_counts_at_their_bound_are_accepted_and_bounds_are_read_at_call_time(monkeypatch):
    assert gradfit.fit(seed=2**32 - 1, epochs=2, tol=1e9, engine="numpy").epochs == 2
    with pytest.raises(BadOptionError, match="chunk_rows=1152921504606846976: must be at most"):
        gradfit.solve_streaming((np.arange(10.0), np.arange(10.0)), chunk_rows=2**60)
    monkeypatch.setattr(limits, "MAX_EPOCHS", 5)
    with pytest.raises(BadOptionError, match="epochs=6: must be at most 5"):
        gradfit.fit(epochs=6)


# ----- 2. the divergence message never fails -----------------------------------------------------

@pytest.mark.parametrize("lr_max_stable", [0.0, math.inf, math.nan, -1.0, 5e-324, None, "n/a"])
def test_divergence_message_without_a_usable_stable_rate_gives_no_false_advice(lr_max_stable):
    error = DivergedError(3, math.inf, 0.1, lr_max_stable)
    assert str(error).startswith("training diverged at epoch 3 (train loss inf) with learning rate 0.1")
    assert "try lr=" not in str(error)


def test_divergence_message_with_extreme_but_usable_rates_suggests_a_positive_rate():
    for rate in (1e-300, 1e300, 1.7976931348623157e308):
        suggested = float(str(DivergedError(1, 1.0, 1.0, rate)).split("try lr=")[1].split(" ")[0])
        assert 0 < suggested <= rate / 2
    assert [_round_down(v) for v in (0.987, 0.0, math.inf, math.nan)] == ["0.98", "0", "inf", "nan"]


# ----- 3. data whose scale float64 cannot carry ------------------------------------------------

@pytest.mark.parametrize("scale, column, words", [
    (1e-320, "x", "column 'x' has magnitude 9.81e-321 (its largest |value|), below the 1e-144"),
    (1e-200, "x", "multiply it by 1e200"),
    (1e200, "x", "column 'x' has a value of magnitude"),
    (1e308, "x", "above the 1e+144 whose squares float64 can sum"),
    (1e200, "y", "column 'y' has a value of magnitude"),
])
@pytest.mark.parametrize("command", [["fit"], ["solve"], ["solve", "--chunk-rows", "7"],
                                     ["fit", "--engine", "exact", "--chunk-rows", "7"]])
def test_cli_columns_beyond_float64_squares_are_refused_by_name(capsys, tmp_path, scale, column, words, command):
    path = scaled_csv(tmp_path, scale, column)
    err = refused(capsys, *command, path, "--target", "y", "--quiet" if command[0] == "fit" else "--json",
                  match=words)
    assert str(path) in err and "rescale it" in err


@pytest.mark.parametrize("make, match", [
    (lambda x, y: (x * 1e-320, y), r"x column 'x' has magnitude 1e-320 \(its largest \|value\|\), below the 1e-144"),
    (lambda x, y: (x * 1e200, y), r"x column 'x' has a value of magnitude 1e\+200, above .*divide it by 1e200"),
    (lambda x, y: (x, y * 1e150), r"y has a value of magnitude 3e\+150, above"),
    (lambda x, y: (pd.DataFrame({"a": x, "b": x * 1e-300}), pd.Series(y, name="price")), r"x column 'b' has"),
    (lambda x, y: (x, pd.Series(y * 1e-300, name="price")), r"y \('price'\) has magnitude"),
])
@pytest.mark.parametrize("entry", [gradfit.fit, gradfit.solve,
                                   lambda x, y: gradfit.solve_streaming((x, y), chunk_rows=7),
                                   lambda x, y: gradfit.fit_streaming((x, y), chunk_rows=7)])
def test_api_columns_beyond_float64_squares_are_refused_by_name(make, match, entry):
    x = np.linspace(0.0, 1.0, 30)
    with pytest.raises(BadDataError, match=match):
        entry(*make(x, 1 + 2 * x))


def test_polynomial_terms_beyond_the_range_name_the_term():
    x = np.linspace(1.0, 2.0, 40) * 1e10
    with pytest.raises(BadDataError, match=r"the polynomial term 'x\^14' has a value of magnitude .*lower poly"):
        gradfit.solve(x, x, poly=15)
    with pytest.raises(BadDataError, match=r"the polynomial term 'x\^1[45]' has a value"):  # per chunk
        gradfit.solve_streaming((x, x), poly=15, chunk_rows=8)


def test_a_stream_judges_a_column_by_every_chunk():
    small_then_large = Magnitudes(["x column 'a'"])
    small_then_large.add(np.full((3, 1), 1e-200))
    small_then_large.add(np.full((3, 1), 1.0))
    small_then_large.finish()  # the column's magnitude is 1: fine
    only_small = Magnitudes(["x column 'a'"])
    only_small.add(np.full((3, 1), 1e-200))
    with pytest.raises(BadDataError, match="x column 'a' has magnitude 1e-200"):
        only_small.finish()
    check_magnitudes(np.zeros((4, 2)), ["a", "b"])  # all zero: the rank check's to report
    check_magnitudes(np.array([[np.nan], [np.inf]]), ["a"])  # the finiteness checks' to report


@pytest.mark.parametrize("scale", [1e140, 1e-140])
def test_data_within_the_range_still_fits_exactly(scale):
    rng = np.random.default_rng(3)
    x = rng.random((60, 2))
    y = 1.0 + x @ [2.0, -1.0] + 0.1 * rng.standard_normal(60)
    reference = np.linalg.lstsq(np.column_stack([np.ones(60), x]), y, rcond=None)[0]
    solved = gradfit.solve(x * scale, y * scale).closed_form
    got = np.array([solved.intercept, *solved.coef]) / [scale, 1.0, 1.0]
    np.testing.assert_allclose(got, reference, rtol=1e-12)
    fitted = gradfit.fit(x * scale, y * scale, standardize=True, lr="auto", epochs=2000)
    assert fitted.converged
    np.testing.assert_allclose(np.array([fitted.params.intercept, *fitted.params.coef]) / [scale, 1.0, 1.0],
                               reference, rtol=1e-8)


def test_rank_message_always_names_the_columns():
    with pytest.raises(BadDataError, match=r"column 'x' is a linear combination of 'intercept'"):
        check_rank(np.array([[1.0, np.nan], [0.0, 0.0]]), ["intercept", "x"])
    with pytest.raises(BadDataError, match=r"column 'x' is numerically zero"):
        check_rank(np.array([[1.0, 1e-300], [0.0, 0.0]]), ["intercept", "x"])
    with pytest.raises(BadDataError, match=r"column 'x2' is a linear combination of 'intercept', 'x1'"):
        gradfit.solve(np.column_stack([np.arange(10.0), 2 * np.arange(10.0) + 1]), np.arange(10.0))


# ----- 4. complex and text values ----------------------------------------------------------------

@pytest.mark.parametrize("make, match", [
    (lambda x, y: (x + 1j, y), r"x is complex \(complex128\): row 0 has imaginary part 1; gradfit fits real"),
    (lambda x, y: (x.astype(complex), y), r"x is complex \(complex128\), with every imaginary part zero: pass x.real"),
    (lambda x, y: (x, y + 1j * (np.arange(len(y)) == 4)), r"y is complex .*row 4 has imaginary part 1"),
    (lambda x, y: (pd.DataFrame({"a": x, "z": x * 1j}), y), r"x is complex .*row 1, column 'z'"),
    (lambda x, y: (np.array([*x[:-1], 1j], dtype=object), y), r"x is not real: row 19 has 1j, a complex number"),
    (lambda x, y: (pd.DataFrame({"a": x, "city": ["Paris"] * len(x)}), y),
     r"x is not numeric: row 0, column 'city' has 'Paris'; convert that column to numbers"),
    (lambda x, y: (x, pd.Series(["1"] * 19 + ["oops"], name="price")), r"y is not numeric: row 19 has 'oops'"),
])
@pytest.mark.parametrize("entry", [gradfit.fit, gradfit.solve,
                                   lambda x, y: gradfit.solve_streaming((x, y), chunk_rows=7)])
def test_complex_and_text_values_are_refused_by_name(make, match, entry):
    x = np.linspace(0.0, 1.0, 20)
    with pytest.raises(BadDataError, match=match):
        entry(*make(x, 1 + 2 * x))


def test_complex_torch_tensors_are_refused():
    import torch

    with pytest.raises(BadDataError, match=r"x is complex \(complex64\)"):
        gradfit.fit(torch.ones(10, dtype=torch.complex64) * 1j, torch.ones(10))


def test_cli_complex_text_in_a_file_is_refused_by_name(capsys, tmp_path):
    path = tmp_path / "complex.csv"
    path.write_text("x,y\n1+2j,1\n2,2\n3,3\n")
    refused(capsys, "fit", path, "--target", "y", match="column 'x' is not numeric: line 2 has '1+2j'")


# ----- 5. FIFOs, devices and sockets as files to read --------------------------------------------

def no_hang(target, *args):
    """Run ``target(*args)`` in a thread; fail (rather than hang the suite) if it takes over 60 s."""
    outcome = {}

    def call():
        try:
            outcome["value"] = target(*args)
        except BaseException as error:  # noqa: the test inspects it
            outcome["error"] = error

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    thread.join(60)
    assert not thread.is_alive(), "hung reading a non-regular file"
    return outcome


@pytest.fixture
def fifo(tmp_path):
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this system")
    path = tmp_path / "data.csv"
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("command", [["fit"], ["solve"], ["solve", "--chunk-rows", "10"]])
def test_cli_a_fifo_as_data_is_refused_at_once(capsys, fifo, command):
    outcome = no_hang(run, capsys, *command, fifo, "--target", "y")
    code, out, err = outcome["value"]
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert f"{fifo}: is a FIFO (named pipe), not a data file; gradfit reads regular files only" in err


def test_cli_a_device_or_a_link_to_a_fifo_is_refused(capsys, fifo, tmp_path):
    refused(capsys, "fit", "/dev/null", "--target", "y", match="/dev/null: is a character device, not a data file")
    link = tmp_path / "link.csv"
    link.symlink_to(fifo)
    assert "is a FIFO" in no_hang(run, capsys, "fit", link, "--target", "y")["value"][2]
    err = no_hang(run, capsys, "fit", "--resume", fifo)["value"][2]
    assert "is a FIFO (named pipe), not a checkpoint" in err


def test_api_non_regular_files_are_refused(fifo, tmp_path):
    for call in (lambda: read_table(fifo, target="y"), lambda: gradfit.solve_streaming(fifo, target="y"),
                 lambda: load_checkpoint(fifo)):
        error = no_hang(call)["error"]
        assert isinstance(error, BadDataError) and "is a FIFO (named pipe)" in str(error)
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(tmp_path / "s.csv"))
        error = no_hang(lambda: read_table(tmp_path / "s.csv", target="y"))["error"]
        assert "is a socket, not a data file" in str(error)
    finally:
        server.close()


# ----- 6. where files are written ------------------------------------------------------------------

def test_cli_never_writes_over_a_non_regular_file(capsys, data_csv, tmp_path):
    target = tmp_path / "model.json"
    os.mkfifo(target)
    refused(capsys, "fit", data_csv, "--target", "y", "--quiet", "--save-model", target,
            match="it is a FIFO (named pipe), not a regular file, and gradfit replaces regular files only")
    assert not target.is_file() and no_temp_files(tmp_path)


def test_writes_follow_symlinks_to_their_target(capsys, data_csv, tmp_path):
    (tmp_path / "runs").mkdir()
    link = tmp_path / "latest.json"
    link.symlink_to(tmp_path / "runs" / "model.json")  # dangling: the write creates the target
    assert run(capsys, "fit", data_csv, "--target", "y", "--quiet", "--save-model", link)[0] == 0
    assert link.is_symlink() and (tmp_path / "runs" / "model.json").is_file()
    first = link.read_text()
    assert run(capsys, "fit", data_csv, "--target", "y", "--quiet", "--lr", "0.2", "--save-model", link)[0] == 0
    assert link.is_symlink() and link.read_text() != first


def test_cli_never_writes_over_its_own_input(capsys, data_csv, tmp_path):
    before = data_csv.read_bytes()
    link, hard = tmp_path / "link.json", tmp_path / "hard.json"
    link.symlink_to(data_csv)
    os.link(data_csv, hard)
    for target in (data_csv, link, hard):
        refused(capsys, "fit", data_csv, "--target", "y", "--quiet", "--save-model", target,
                match="it is a file this run read as input, which writing would replace; give another file name")
    model = tmp_path / "model.json"
    assert run(capsys, "fit", data_csv, "--target", "y", "--quiet", "--save-model", model)[0] == 0
    refused(capsys, "predict", model, data_csv, "--out", data_csv, match="a file this run read as input")
    assert same_bytes(data_csv, before) and no_temp_files(tmp_path)


def test_api_inputs_are_protected_by_identity_not_inode_number(tmp_path, data_csv, monkeypatch):
    read_table(data_csv, target="y")
    with pytest.raises(BadDataError, match="a file this run read as input"):
        atomic.atomic_write_text(data_csv, "replaced")
    # A deleted input's inode number reused by a new file elsewhere: that file is not an input.
    other = tmp_path / "other.json"
    other.write_text("{}")
    status = os.stat(other)
    monkeypatch.setitem(atomic._inputs, (status.st_dev, status.st_ino), (str(data_csv), 1, 1))
    atomic.atomic_write_text(other, "new")
    assert other.read_text() == "new"


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_temp_files_of_a_killed_process_are_removed_by_the_next_write(capsys, data_csv, tmp_path):
    killed = subprocess.Popen([sys.executable, "-c", (
        "import os, sys; import gradfit.atomic as a; os.replace = lambda *args: os._exit(9); "
        "a.atomic_write_text(sys.argv[1], 'x')"), str(tmp_path / "model.json")])
    assert killed.wait() == 9  # killed between writing its temporary file and renaming it
    left = [name for name in os.listdir(tmp_path) if name.startswith(".gradfit-")]
    assert len(left) == 1 and f"-{killed.pid}-" in left[0]
    prefix = atomic.temp_prefix()
    alive, elsewhere = f"{prefix}keep.tmp", ".gradfit-otherhost-1-keep.tmp"
    dead = prefix.replace(f"-{os.getpid()}-", f"-{dead_pid()}-") + "gone.tmp"
    for name in (alive, elsewhere, dead):
        (tmp_path / name).write_text("")
    assert run(capsys, "fit", data_csv, "--target", "y", "--quiet", "--save-model", tmp_path / "model.json")[0] == 0
    remaining = sorted(name for name in os.listdir(tmp_path) if name.startswith(".gradfit-"))
    assert remaining == sorted([alive, elsewhere])  # ours (alive) and another host's stay


# ----- 7. a diverging run leaves the checkpoint it found -------------------------------------------

@pytest.mark.parametrize("engine", ["numpy", "torch"])
def test_cli_a_diverging_run_puts_the_previous_checkpoint_back(capsys, tmp_path, engine):
    checkpoint = tmp_path / "run.pt"
    assert run(capsys, "fit", "--engine", engine, "--epochs", "5", "--checkpoint", checkpoint, "--quiet")[0] == 0
    before = checkpoint.read_bytes()
    code, _, err = run(capsys, "fit", "--engine", engine, "--epochs", "200", "--lr", "1.0", "--checkpoint",
                       checkpoint, "--quiet")
    assert code == 1 and "training diverged at epoch 13" in err
    assert same_bytes(checkpoint, before) and no_temp_files(tmp_path)
    assert load_checkpoint(checkpoint)["epoch"] == 5


def test_api_a_diverging_resumed_run_puts_back_the_file_it_resumed_from(tmp_path):
    checkpoint = str(tmp_path / "run.pt")
    gradfit.fit(engine="numpy", lr=1.0, epochs=5, tol=1e9, checkpoint=checkpoint)
    before = open(checkpoint, "rb").read()
    with pytest.raises(DivergedError):
        gradfit.fit(engine="numpy", lr=1.0, epochs=200, resume=checkpoint, checkpoint=checkpoint)
    assert open(checkpoint, "rb").read() == before and no_temp_files(tmp_path)
    resumed = gradfit.fit(engine="numpy", lr=1.0, epochs=8, tol=1e9, resume=checkpoint, checkpoint=checkpoint)
    assert resumed.epochs == 8 and load_checkpoint(checkpoint)["epoch"] == 8 and no_temp_files(tmp_path)


def test_a_run_inside_an_except_block_keeps_its_own_checkpoint(tmp_path):
    checkpoint = str(tmp_path / "run.pt")
    gradfit.fit(engine="numpy", epochs=5, tol=1e9, checkpoint=checkpoint)
    try:
        gradfit.fit(engine="numpy", lr=1.0, epochs=200, checkpoint=checkpoint)
    except DivergedError:  # the retry runs while that error is being handled
        gradfit.fit(engine="numpy", lr=0.1, epochs=30, tol=1e9, checkpoint=checkpoint)
    assert load_checkpoint(checkpoint)["epoch"] == 30 and no_temp_files(tmp_path)


def test_a_trainer_that_diverges_puts_the_previous_checkpoint_back(tmp_path):
    import torch

    from gradfit.training.callbacks import Callback, CheckpointCallback

    class Diverge(Callback):
        order = -100

        def on_epoch_end(self, trainer, epoch, logs):
            if epoch == 4:
                raise DivergedError(epoch, math.inf, 0.1, None)

    path = str(tmp_path / "trainer.pt")
    x, y = torch.randn(16, 1), torch.randn(16, 1)

    def trainer(*callbacks):
        model = torch.nn.Linear(1, 1)
        return gradfit.Trainer(model, torch.nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.1),
                               train_data=(x, y), callbacks=[*callbacks, CheckpointCallback(path)])

    trainer().train(2)
    before = open(path, "rb").read()
    with pytest.raises(DivergedError):
        trainer(Diverge()).train(10)
    assert open(path, "rb").read() == before and no_temp_files(tmp_path)
