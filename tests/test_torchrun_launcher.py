"""gradfit-torchrun: torchrun itself, exiting with the first failed worker's exit code.

torchrun (torch 2.13) exits 1 whenever a worker fails; gradfit-torchrun takes torchrun's
arguments, runs torch's own launcher and exits with the code the worker exited with (2 bad
input, 143 SIGTERM, …; -N, killed by signal N, is 128 + N), or 128 + N for a signal to the
launcher itself. The claims, under 2 processes: bad input exits 2 (plain torchrun: 1), a SIGTERM
to the launcher exits 143 without a traceback, and a run that succeeds exits 0 with plain
torchrun's JSON result; without processes, the mapping of exit codes and signals, and the
arguments parsed exactly as torchrun parses them. The launches reuse test_faults' helpers.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
import torch.distributed as dist  # noqa: E402
from torch.distributed import run as torchrun  # noqa: E402
from torch.distributed.elastic.multiprocessing import SignalException  # noqa: E402
from torch.distributed.elastic.multiprocessing.errors import ChildFailedError, ProcessFailure  # noqa: E402

from gradfit.cli import torchrun as launcher  # noqa: E402
from test_faults import (FIT, checkpoint_written, data_dir, exit_codes, gradfit_errors, launch,  # noqa: E402,F401
                         linux, no_gradfit_traceback)

pytestmark = pytest.mark.skipif(not dist.is_available(), reason="torch.distributed is not available")

MODULE = (sys.executable, "-m", "gradfit.cli.torchrun")
SCRIPT = Path(sys.executable).with_name("gradfit-torchrun")  # the console script, beside this interpreter


# ---------------------------------------------------------------- under torchrun


@linux
def test_bad_input_exits_2_through_the_launcher_where_torchrun_exits_1(launch):
    bad = ["fit", "missing.csv", "--target", "y"]
    plain = launch(bad)
    assert plain.finish() == 1  # torchrun's own code for any failed worker
    expected = gradfit_errors(plain.stderr())
    assert len(expected) == 1 and exit_codes(plain.stderr()) == {2}, plain.stderr()[-3000:]
    run = launch(bad, launcher=MODULE)  # (the same files: plain's output was read above)
    assert run.finish() == 2, run.stderr()[-3000:]
    stderr = run.stderr()
    assert gradfit_errors(stderr) == expected  # the worker's one line
    assert exit_codes(stderr) == {2} and "Root Cause (first observed failure)" in stderr  # torchrun's report stays
    no_gradfit_traceback(stderr)  # (the launcher's own frame left out of torchrun's traceback)


@linux
def test_sigterm_to_the_launcher_exits_143_without_a_traceback(launch):
    """As a scheduler stops a job: torchrun's agent stops the workers (SIGTERM; they checkpoint an
    epoch) and raises its SignalException, which the launcher turns into 143."""
    run = launch([*FIT, "--checkpoint", "c.pt"], launcher=MODULE)
    run.wait_for(checkpoint_written(run), "first checkpoint")
    run.wait_for(lambda: len(run.ranks()) >= 2, "workers")  # (torchrun's signal handlers are in place)
    os.kill(run.proc.pid, signal.SIGTERM)
    assert run.finish() == 143, run.stderr()[-3000:]
    stderr = run.stderr()
    assert "SignalException" not in stderr and "Traceback" not in stderr, stderr[-3000:]
    lines = gradfit_errors(stderr)
    assert len(lines) == 1 and lines[0].startswith("gradfit fit: stopped by SIGTERM after epoch "), stderr[-3000:]
    # the command that resumes is this launcher's
    assert f"continue with: {sys.executable} -m gradfit.cli.torchrun --standalone" in lines[0], lines[0]


@linux
def test_success_exits_0_with_plain_torchruns_result(launch):
    args = ["fit", "data.csv", "--target", "y", "--json"]
    plain = launch(args)
    assert plain.finish() == 0, plain.stderr()[-3000:]
    expected = json.loads(plain.stdout())
    assert SCRIPT.is_file(), f"no {SCRIPT}: install gradfit again (pip install -e .) for its console scripts"
    run = launch(args, launcher=(str(SCRIPT),))
    assert run.finish() == 0, run.stderr()[-3000:]
    assert json.loads(run.stdout()) == expected
    assert expected["world_size"] == 2


# ---------------------------------------------------------------- without processes


@pytest.mark.parametrize("exitcode, shell", [(1, 1), (2, 2), (130, 130), (143, 143), (-15, 143), (-9, 137),
                                             (-2, 130), (0, 1), (256, 1)])
def test_a_workers_exit_code_as_the_shell_reads_it(exitcode, shell):
    assert launcher.worker_exit_code(exitcode) == shell


@pytest.fixture
def quiet_record(monkeypatch):
    """torch's ``record`` as torchrun runs it, without redirecting this process's fault handler
    and with no launcher error file."""
    import faulthandler

    monkeypatch.setattr(faulthandler, "enable", lambda **_: None)
    monkeypatch.delenv("TORCHELASTIC_ERROR_FILE", raising=False)


ARGV = ["--standalone", "--nproc_per_node=2", "-m", "gradfit", "fit", "data.csv", "--target", "y"]


def failure(rank: int, exitcode: int, timestamp: int) -> ProcessFailure:
    failed = ProcessFailure(local_rank=rank, pid=1000 + rank, exitcode=exitcode, error_file="/nonexistent/error.json")
    failed.timestamp = timestamp
    return failed


def test_the_first_failed_workers_code_is_the_launchers(monkeypatch, quiet_record, capsys):
    seen = []

    def failing(args):
        seen.append(args)
        raise ChildFailedError("gradfit", {0: failure(0, 1, 200), 1: failure(1, -15, 100)})  # rank 1 failed first

    monkeypatch.setattr(torchrun, "run", failing)
    assert launcher.main(ARGV) == 143
    assert vars(seen[0]) == vars(torchrun.parse_args(ARGV))  # parsed by torchrun's parser, run by its run()
    err = capsys.readouterr().err
    assert "ChildFailedError" in err and "Root Cause (first observed failure)" in err and "exitcode  : -15" in err
    assert launcher.__file__ not in err  # torchrun's traceback, without the launcher's frame
    monkeypatch.setattr(torchrun, "run", lambda args: None)
    assert launcher.main(ARGV) == 0 and capsys.readouterr() == ("", "")


def test_a_signal_to_the_launcher_is_128_plus_its_number_and_leaves_default_handlers(monkeypatch, quiet_record,
                                                                                    capsys):
    def signalled(args):
        signal.signal(signal.SIGTERM, lambda *_: None)  # as torchrun's agent installs its handler
        raise SignalException("Process 1 got signal: SIGTERM", sigval=signal.Signals.SIGTERM)

    monkeypatch.setattr(torchrun, "run", signalled)
    before = signal.getsignal(signal.SIGTERM)
    try:
        assert launcher.main(ARGV) == 143
        assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # a second SIGTERM ends it, no traceback
    finally:
        signal.signal(signal.SIGTERM, before)
    assert capsys.readouterr() == ("", "")
    assert launcher.signal_exit_code(SignalException("", sigval=signal.Signals.SIGINT)) == 130


def test_the_launcher_takes_torchruns_arguments_and_says_what_it_is():
    parser = launcher.build_parser()
    assert vars(parser.parse_args(ARGV)) == vars(torchrun.parse_args(ARGV))
    text = parser.format_help()
    assert text.startswith("usage: gradfit-torchrun ") and "--nproc-per-node" in text
    assert "exiting with the first failed worker's exit code" in " ".join(text.split())


def test_import_gradfit_leaves_torch_distributed_unloaded():
    code = ("import sys, gradfit, gradfit.cli, gradfit.cli.torchrun; "
            "print(sorted(m for m in sys.modules if m.startswith('torch.distributed')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stderr[-3000:]
