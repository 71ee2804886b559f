"""Training control from the command line: checkpoints, resume, Ctrl-C and SIGTERM, early stopping, lr-find."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from gradfit.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_resume_from_the_cli_equals_the_straight_run(capsys, tmp_path):
    options = ["--engine", "numpy", "--batch-size", "16", "--lr", "0.05", "--tol", "10", "--json"]
    straight = json.loads(run(capsys, "fit", *options, "--epochs", "60")[1])
    checkpoint = str(tmp_path / "run.pt")
    assert run(capsys, "fit", *options, "--epochs", "35", "--checkpoint", checkpoint)[0] == 0
    code, out, err = run(capsys, "fit", *options, "--epochs", "60", "--resume", checkpoint)
    assert code == 0, err
    resumed = json.loads(out)
    assert resumed["params"] == straight["params"]
    assert resumed["history"] == straight["history"]


def test_a_pickle_given_to_resume_is_refused_and_never_runs(capsys, tmp_path, monkeypatch):
    import pickle

    class Payload:
        def __reduce__(self):
            return (os.system, ("touch pwned",))

    monkeypatch.chdir(tmp_path)
    (tmp_path / "evil.pt").write_bytes(pickle.dumps(Payload()))
    code, out, err = run(capsys, "fit", "--resume", "evil.pt")
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "pwned").exists()


def test_ctrl_c_writes_a_checkpoint_that_resumes(tmp_path):
    checkpoint = tmp_path / "run.pt"
    command = [sys.executable, "-m", "gradfit", "fit", "--engine", "numpy", "--batch-size", "1", "--epochs",
               "100000", "--checkpoint", str(checkpoint), "--checkpoint-every", "50", "--quiet"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not checkpoint.exists() and time.time() < deadline:  # training has started
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "Traceback" not in err and "--resume" in err
    done = subprocess.run([sys.executable, "-m", "gradfit", "fit", "--engine", "numpy", "--batch-size", "1",
                           "--epochs", "100000", "--resume", str(checkpoint), "--epochs", "1", "--json"],
                          capture_output=True, text=True, timeout=60)
    # A checkpoint already past --epochs is a clear error: proof that it loaded and knows its epoch.
    assert done.returncode == 2 and "epoch" in done.stderr


def catches_sigterm(process) -> bool:
    """Whether the process has a SIGTERM handler installed (Linux: /proc/PID/status SigCgt)."""
    try:
        status = open(f"/proc/{process.pid}/status").read()
    except OSError:
        return False
    mask = int(next(line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:")), 16)
    return bool(mask & (1 << (signal.SIGTERM - 1)))


def test_sigterm_finishes_the_epoch_writes_the_checkpoint_and_resumes(tmp_path):
    pytest.importorskip("tensorboard")  # its folder appears when training begins: the moment to send SIGTERM
    checkpoint, logs = tmp_path / "run.pt", tmp_path / "tb"
    options = ["fit", "--engine", "torch", "--batch-size", "1", "--checkpoint", str(checkpoint),
               "--checkpoint-every", "100000", "--tensorboard", str(logs), "--quiet"]
    process = subprocess.Popen([sys.executable, "-m", "gradfit", *options, "--epochs", "100000"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not logs.exists() and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 143, err
    assert "Traceback" not in err and checkpoint.exists()  # written on the stop, not by --checkpoint-every
    lines = [line for line in err.splitlines() if str(checkpoint) in line]
    assert len(lines) == 1 and lines[0].startswith("gradfit fit: stopped by SIGTERM after epoch ")
    resume = lines[0].split("continue with: ")[1].split()
    assert resume[0] == "gradfit" and resume[-2:] == ["--resume", str(checkpoint)]
    epoch = int(lines[0].split("after epoch ")[1].split(";")[0])
    resume[resume.index("--epochs") + 1] = str(epoch + 2)  # the same command, two epochs further
    done = subprocess.run([sys.executable, "-m", *resume, "--json"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)["history"]["train_loss"]) == epoch + 2


@pytest.mark.parametrize("command", ["solve", "sweep"])
def test_sigterm_outside_training_ends_with_one_line_and_143(tmp_path, command):
    if command == "solve":
        import numpy as np
        import pandas as pd

        x = np.random.default_rng(0).normal(size=(100_000, 2))
        pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "y": x @ [1.0, 2.0]}).to_parquet(tmp_path / "rows.parquet")
        argv = ["solve", str(tmp_path / "rows.parquet"), "--target", "y", "--chunk-rows", "1"]  # about 8 s
    else:
        argv = ["fit", "--lr", "0.01,0.1", "--engine", "numpy", "--batch-size", "1", "--epochs", "100000"]
    process = subprocess.Popen([sys.executable, "-m", "gradfit", *argv], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not catches_sigterm(process) and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)  # into the work
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 143, err
    prefix = "gradfit solve" if command == "solve" else "gradfit fit"
    assert err.strip().splitlines() == [f"{prefix}: terminated by SIGTERM before it finished"]


def test_patience_stops_early_and_says_where(capsys):
    code, out, _ = run(capsys, "fit", "--engine", "torch", "--batch-size", "8", "--lr", "0.1", "--epochs", "400",
                       "--patience", "5", "--tol", "10", "--json")
    data = json.loads(out)
    assert code == 0 and data["stopped_epoch"] < 400
    val = data["history"]["val_loss"]
    assert data["best_epoch"] == 1 + min(range(len(val)), key=val.__getitem__)


def test_tensorboard_logs_per_epoch_scalars(capsys, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    assert run(capsys, "fit", "--epochs", "30", "--tensorboard", str(tmp_path / "tb"), "--quiet", "--tol", "10")[0] == 0
    events = EventAccumulator(str(tmp_path / "tb"))
    events.Reload()
    assert len(events.Scalars("loss/train")) == 30 and len(events.Scalars("loss/val")) == 30


def test_lr_find_suggests_a_stable_rate_and_plots(capsys, tmp_path):
    code, out, _ = run(capsys, "lr-find", "--json", "--plot", str(tmp_path / "lr.png"))  # a .png path: that file
    data = json.loads(out)
    assert code == 0 and 0 < data["suggested_lr"] < 0.8055
    assert (tmp_path / "lr.png").read_bytes()[:4] == b"\x89PNG"


def test_lr_find_plot_dir_is_a_folder_as_for_fit(capsys, tmp_path):
    code, out, err = run(capsys, "lr-find", "--plot", str(tmp_path / "figures"))
    assert code == 0, err
    assert (tmp_path / "figures" / "lr_find.png").read_bytes()[:4] == b"\x89PNG"
    assert f"plot: {tmp_path / 'figures' / 'lr_find.png'}" in out
    (tmp_path / "taken").write_text("mine")
    code, _, err = run(capsys, "lr-find", "--plot", str(tmp_path / "taken"))
    assert code == 2 and len(err.strip().splitlines()) == 1 and "is a file, not a folder" in err
    assert (tmp_path / "taken").read_text() == "mine"


def test_lr_find_prints_the_suggestion_beside_the_stability_limit(capsys):
    code, out, err = run(capsys, "lr-find")
    assert code == 0 and err == ""
    first, check, seen = out.strip().splitlines()
    assert first.startswith("suggested learning rate: 0.4, half the stability limit 2/L = 0.8055")
    assert check.startswith("check: gradfit fit --lr 0.4 converges in 1000 epochs")
    assert "lowest at lr 3.002, past the limit" in seen  # and why a range test goes past it


def multi_feature_file(path):
    """Three features on different scales, two of them correlated, a text id column."""
    import numpy as np

    rng = np.random.default_rng(3)
    n = 300
    x1 = rng.normal(50, 10, n)
    x2 = 0.6 * x1 + rng.normal(0, 5, n)
    x3 = rng.uniform(0, 1000, n)
    y = 3 + 0.5 * x1 - 1.2 * x2 + 0.01 * x3 + rng.normal(0, 1, n)
    rows = zip(x1.tolist(), x2.tolist(), x3.tolist(), y.tolist())
    lines = ["id,x1,x2,x3,y"] + [f"r{i:03d},{a!r},{b!r},{c!r},{d!r}" for i, (a, b, c, d) in enumerate(rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("data", [[], ["FILE", "--target", "y", "--features", "x1,x2,x3"]])
def test_fit_converges_at_the_rate_lr_find_suggests(capsys, tmp_path, data):
    data = [str(multi_feature_file(tmp_path / "multi.csv")) if a == "FILE" else a for a in data]
    code, out, err = run(capsys, "lr-find", *data, "--json")
    assert code == 0, err
    found = json.loads(out)
    assert found["suggested_lr"] < found["lr_max_stable"] and found["check"]["converged"]
    code, out, err = run(capsys, "fit", *data, "--lr", repr(found["suggested_lr"]), "--json")
    assert code == 0, err
    fitted = json.loads(out)
    assert fitted["converged"] and fitted["lr_max_stable"] == pytest.approx(found["lr_max_stable"], rel=1e-9)


@pytest.mark.parametrize("args", [["--lr", "0.1"], ["--save-model", "m.json"], ["--patience", "5"],
                                  ["--checkpoint", "run.pt"], ["--engine", "numpy"], ["--scheduler", "cosine"]])
def test_lr_find_refuses_the_fit_options_it_does_not_use(capsys, args):
    code, out, err = run(capsys, "lr-find", *args)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert f"{args[0]} is an option of gradfit fit" in err and "not of gradfit lr-find" in err


@pytest.mark.parametrize("args, fragment", [
    (["--patience", "0"], "--patience 0"),
    (["--scheduler", "linear"], "--scheduler linear"),
    (["--checkpoint-every", "5"], "--checkpoint"),
])
def test_bad_training_options(capsys, args, fragment):
    code, _, err = run(capsys, "fit", *args)
    assert code == 2 and fragment in err and len(err.strip().splitlines()) == 1
