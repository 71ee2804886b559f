"""The command line: output, JSON contract, exit codes, one-line errors."""

import json
import subprocess
import sys

import pytest

from gradfit.cli import main

from published import CLOSED_FORM, NUMPY_END, NUMPY_START, TORCH_END, TORCH_FINAL_MSE, TORCH_START

JSON_KEYS = {"engine", "device", "epochs", "lr", "batch_size", "initial", "params", "closed_form", "max_abs_diff",
             "train_loss", "val_loss", "history", "converged"}


def run_json(capsys, *args):
    assert main(["fit", *args, "--json"]) == 0
    out = capsys.readouterr().out
    return json.loads(out)


def bw(part):
    return [part["intercept"], part["coef"][0]]


@pytest.mark.parametrize("engine", ["numpy", "exact"])
def test_json_for_the_numpy_style_engines(capsys, engine):
    data = run_json(capsys, "--engine", engine)
    assert JSON_KEYS <= data.keys()
    assert data["engine"] == engine and data["device"] == "cpu"
    assert bw(data["initial"]) == pytest.approx(NUMPY_START, abs=5e-9)
    assert bw(data["params"]) == pytest.approx(NUMPY_END, abs=5e-9)
    assert bw(data["closed_form"]) == pytest.approx(CLOSED_FORM, abs=5e-9)
    assert set(data["history"]) == {"train_loss", "val_loss"}
    assert len(data["history"]["train_loss"]) == len(data["history"]["val_loss"]) == 1000
    assert data["converged"] is True and data["batch_size"] is None and data["lr"] == 0.1


def test_json_for_the_torch_manual_model(capsys):
    data = run_json(capsys, "--engine", "torch", "--model", "manual")
    assert bw(data["initial"]) == pytest.approx(TORCH_START, abs=5e-5)
    assert bw(data["params"]) == pytest.approx(TORCH_END, abs=5e-5)
    assert data["train_loss"] == pytest.approx(TORCH_FINAL_MSE, abs=5e-10)
    assert bw(data["closed_form"]) == pytest.approx(CLOSED_FORM, abs=5e-9)


def test_default_run_prints_trace_table_and_verdict(capsys):
    assert main(["fit"]) == 0
    out = capsys.readouterr().out
    assert "engine exact on cpu" in out
    assert "Initial: b = 0.4967, w = -0.1383" in out and "15th update" in out and "900th update" in out
    assert "1.02354075" in out and "converged: yes" in out


def test_quiet_hides_the_trace(capsys):
    assert main(["fit", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "update:" not in out and "Initial" not in out and "1.02354075" in out


def test_not_converged_json_warns_on_stderr_only(capsys):
    assert main(["fit", "--epochs", "10", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["converged"] is False
    assert "did not converge" in captured.err


@pytest.mark.parametrize("args, fragment", [
    (["--epochs", "0"], "--epochs 0: must be a positive integer"),
    (["--lr", "-0.1"], "--lr -0.1: must be a positive number"),
    (["--lr", "abc"], "--lr abc: must be a positive number"),
    (["--batch-size", "0"], "--batch-size 0: must be a positive integer"),
    (["--engine", "jax"], "unknown engine; choose one of auto, numpy, torch, exact"),
    (["--model", "mlp"], "unknown model; choose one of linear, manual"),
    (["--optimizer", "rmsprop"], "unknown optimizer; choose one of sgd, adam"),
    (["--val-split", "1.5"], "--val-split 1.5: must be at least 0 and below 1"),
    (["--device", "cuda:7"], "--device cuda:7"),
    (["--device", "tpu"], "--device tpu: not a device"),
    (["--dtype", "float16"], "unknown dtype"),
    (["missing.csv"], "data file 'missing.csv' not found"),
    (["--engine", "numpy", "--optimizer", "adam"], "numpy engine runs sgd or fista only"),
    (["--engine", "exact", "--batch-size", "8"], "exact engine runs full-batch gradient descent only"),
    (["--bogus"], "unrecognized argument(s) --bogus"),
    (["--epochs"], "expected one argument"),
])
def test_bad_options_exit_2_with_one_line(capsys, args, fragment):
    assert main(["fit", *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], captured.err
    assert lines[0].startswith("gradfit fit: error: ")


def test_divergence_exits_1_naming_a_stable_rate(capsys):
    assert main(["fit", "--lr", "1.1"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "diverged at epoch" in err
    suggested = float(err.split("try --lr ")[1].split()[0])
    assert 0 < suggested <= 0.8055


def test_datasets_lists_book(capsys):
    assert main(["datasets", "--json"]) == 0
    (book,) = json.loads(capsys.readouterr().out)["datasets"]
    assert (book["name"], book["n_train"], book["n_val"]) == ("book", 80, 20)


def test_devices_names_the_cpu_and_what_auto_picks(capsys):
    import torch

    assert main(["devices", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["devices"][0]["name"] == "cpu"
    assert data["auto"] == ("cuda:0" if torch.cuda.is_available() else "cpu")


def test_console_script_and_module_run_as_processes():
    done = subprocess.run([sys.executable, "-m", "gradfit", "fit", "--json", "--engine", "numpy"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["params"]["coef"][0] == pytest.approx(NUMPY_END[1], abs=5e-9)
    bad = subprocess.run([sys.executable, "-m", "gradfit", "fit", "--lr", "abc"], capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


def test_comma_separated_rates_print_a_sweep_table(capsys):
    assert main(["fit", "--lr", "0.1,1.1", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["sweep"]
    assert [row["lr"] for row in rows] == [0.1, 1.1]
    assert rows[0]["converged"] and not rows[0]["diverged"]
    assert rows[1]["diverged"] and rows[1]["diverged_at_epoch"] <= 20
    assert rows[0]["max_abs_diff"] < 1e-6


def test_plot_writes_the_five_figures_and_two_animations(capsys, tmp_path):
    assert main(["fit", "--quiet", "--plot", str(tmp_path / "pics")]) == 0
    assert "plots:" in capsys.readouterr().out
    names = sorted(p.name for p in (tmp_path / "pics").iterdir())
    assert names == ["fit.png", "losses.png", "lr.png", "modes.gif", "modes.png", "path.gif", "path.png"]
    for name in names:
        signature = b"GIF89a" if name.endswith(".gif") else b"\x89PNG\r\n\x1a\n"
        assert (tmp_path / "pics" / name).read_bytes()[:len(signature)] == signature


def test_graph_writes_dot(capsys, tmp_path):
    assert main(["graph", "--out", str(tmp_path)]) == 0
    dot = (tmp_path / "autograd-manual.dot").read_text()
    assert "MseLossBackward" in dot and "AccumulateGrad" in dot


def test_graph_rejects_an_unknown_model(capsys, tmp_path):
    assert main(["graph", "--model", "mlp", "--out", str(tmp_path)]) == 2
    assert "--model mlp: unknown model" in capsys.readouterr().err


@pytest.mark.parametrize("args, module", [(["fit", "--plot", "pics"], "matplotlib"),
                                          (["fit", "--tensorboard", "tb"], "tensorboard"),
                                          (["lr-find", "--plot", "lr.png"], "matplotlib")])
def test_a_missing_optional_package_is_one_line_before_any_work(capsys, monkeypatch, tmp_path, args, module):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == module else real(name, *a))
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and f"pip install {module}" in captured.err
    assert len(captured.err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []  # nothing written


def run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_no_command_is_one_line_naming_the_commands(capsys):
    code, out, err = run(capsys)
    assert code == 2 and out == ""
    assert err.strip().splitlines() == ["gradfit: error: a command is needed: fit, config, solve, path, predict, walkthrough, "
                                        "datasets, devices, lr-find, graph, bench, traps (see gradfit --help)"]


@pytest.mark.parametrize("args, fragment", [
    (["solve", "--epochs", "5"], "--epochs is an option of gradfit fit and gradfit lr-find, not of gradfit solve"),
    (["fit", "--bogus"], "unrecognized argument(s) --bogus (see gradfit fit --help)"),
])
def test_another_commands_option_is_named_as_such(capsys, args, fragment):
    code, out, err = run(capsys, *args)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and fragment in err
