"""Training control from the command line: checkpoints, resume, Ctrl-C, early stopping, lr-find."""

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
    code, out, _ = run(capsys, "lr-find", "--json", "--plot", str(tmp_path / "lr.png"))
    data = json.loads(out)
    assert code == 0 and 0 < data["suggested_lr"] < 0.8055
    assert (tmp_path / "lr.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("args, fragment", [
    (["--patience", "0"], "--patience 0"),
    (["--scheduler", "linear"], "--scheduler linear"),
    (["--checkpoint-every", "5"], "--checkpoint"),
])
def test_bad_training_options(capsys, args, fragment):
    code, _, err = run(capsys, "fit", *args)
    assert code == 2 and fragment in err and len(err.strip().splitlines()) == 1
