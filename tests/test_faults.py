"""Faults under torchrun: a lost worker (SIGKILL), a stalled one (SIGSTOP), SIGTERM and Ctrl-C
from a scheduler or torchrun, and restarts (``--max-restarts``).

The claims: every surviving process ends within about the timeout with one line from gradfit
(naming the rank that failed and how the run goes on) and no traceback from gradfit; a signal
stops every process at the same epoch with a checkpoint that resumes to the uninterrupted
answer; a group torchrun restarts resumes from the latest checkpoint by itself and ends with the
uninterrupted answer; the workers' exit codes (1, 130, 143) show in torchrun's report (torchrun
itself exits 1 whenever a worker fails: it cannot pass a worker's code on; gradfit-torchrun does,
test_torchrun_launcher).

The uninterrupted answer is computed in this process, one process, float64: a torchrun run
gives it to about 1e-16 (measured; the tolerance below is 1e-10, as in test_distributed). Each
launch takes a few seconds (two interpreters importing torch); waits poll for files and
processes with generous bounds rather than sleeping fixed times.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.distributed as dist  # noqa: E402

from gradfit.cli import main  # noqa: E402
from gradfit.cli.signals import Terminated, fault_message, launcher_command, signals_stop_at_epoch_end  # noqa: E402
from gradfit.errors import BadOptionError  # noqa: E402
from gradfit.scale.launch import Fault, fresh_namespace, group_fault  # noqa: E402

pytestmark = pytest.mark.skipif(not dist.is_available(), reason="torch.distributed is not available")
linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds the workers through /proc")

EPOCHS = 100  # about 5 s of training on two processes; the faults land after the first epoch's checkpoint
FIT = ["fit", "data.csv", "--target", "y", "--engine", "torch", "--batch-size", "64", "--dtype", "float64",
       "--epochs", str(EPOCHS), "--json"]
BOUND = 120  # seconds any one launch may take, however busy the machine


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """801 rows, 3 features: 13 batches of 64 an epoch."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=(801, 3)) * [1.0, 2.0, 3.0] + [5.0, 0.0, -1.0]
    y = 2.0 + x @ [1.5, -0.5, 0.25] + 0.3 * rng.normal(size=801)
    folder = tmp_path_factory.mktemp("faults")
    lines = ["a,b,c,y"] + [",".join(repr(float(v)) for v in row) for row in np.column_stack([x, y])]
    (folder / "data.csv").write_text("\n".join(lines) + "\n")
    return folder


@pytest.fixture(scope="module")
def uninterrupted(data_dir):
    """The answer of the run no fault touched: one process, in this one."""
    import contextlib
    import io

    out = io.StringIO()
    cwd = os.getcwd()
    try:
        os.chdir(data_dir)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            assert main(FIT) == 0
    finally:
        os.chdir(cwd)
    return json.loads(out.getvalue())


class Launch:
    """``torchrun --standalone`` running gradfit, its output in files, its workers found by rank."""

    def __init__(self, args: list[str], cwd, *options: str, nproc: int = 2, program=("-m", "gradfit"),
                 launcher=(sys.executable, "-m", "torch.distributed.run")) -> None:
        self.cwd = cwd
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        env.pop("WORLD_SIZE", None)
        command = [*launcher, "--standalone", f"--nproc_per_node={nproc}", *options, *program, *args]
        self.out, self.err = open(cwd / "stdout.txt", "w+"), open(cwd / "stderr.txt", "w+")
        self.proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=self.out, stderr=self.err)

    def ranks(self) -> dict[int, int]:
        """``{rank: pid}`` of the running workers (children of torchrun's agent with ``RANK`` set)."""
        found = {}
        for pid in _children(self.proc.pid):
            try:
                with open(f"/proc/{pid}/environ", "rb") as handle:
                    env = dict(item.split(b"=", 1) for item in handle.read().split(b"\0") if b"=" in item)
            except OSError:
                continue
            if b"RANK" in env and b"TORCHELASTIC_RUN_ID" in env:
                found[int(env[b"RANK"])] = pid
        return found

    def wait_for(self, condition, what: str, timeout: float = BOUND) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if self.proc.poll() is not None:
                pytest.fail(f"torchrun ended before {what}:\n{self.stderr()[-3000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"no {what} after {timeout} s:\n{self.stderr()[-3000:]}")
            time.sleep(0.05)

    def signal(self, rank: int | None, number: int) -> float:
        """Send ``number`` to rank ``rank``'s worker (``None``: every worker); returns when."""
        self.wait_for(lambda: len(self.ranks()) >= 2, "workers")
        targets = self.ranks()
        for r, pid in targets.items():
            if rank is None or r == rank:
                os.kill(pid, number)
        return time.monotonic()

    def finish(self, timeout: float = BOUND) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"torchrun still running after {timeout} s:\n{self.stderr()[-3000:]}")

    def stdout(self) -> str:
        self.out.seek(0)
        return self.out.read()

    def stderr(self) -> str:
        self.err.seek(0)
        return self.err.read()

    def close(self) -> None:
        """Nothing left behind: torchrun and the workers it still runs (a stopped one too; once
        torchrun has ended, it has reaped its workers)."""
        if self.proc.poll() is None:
            for pid in _children(self.proc.pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            self.proc.kill()
        self.proc.wait(30)
        self.out.close()
        self.err.close()


def _children(parent: int) -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as handle:
                    if int(handle.read().rsplit(")", 1)[1].split()[1]) == parent:
                        found.append(int(name))
            except (OSError, IndexError, ValueError):
                pass
    return found


@pytest.fixture
def launch(data_dir):
    """Start launches in the data's folder (a fresh checkpoint each test); all cleaned up after."""
    started: list[Launch] = []
    for name in ("c.pt", "stdout.txt", "stderr.txt", "outcome.json"):
        (data_dir / name).unlink(missing_ok=True)

    def start(args: list[str], *options: str, program=("-m", "gradfit"), **launcher) -> Launch:
        started.append(Launch(args, data_dir, *options, program=program, **launcher))
        return started[-1]

    yield start
    for each in started:
        each.close()


def gradfit_errors(stderr: str) -> list[str]:
    """gradfit's own lines on stderr, but its warnings (not torchrun's messages, not its report)."""
    return [line for line in stderr.splitlines() if line.startswith("gradfit fit") and ": warning:" not in line]


def exit_codes(stderr: str) -> set[int]:
    """The workers' exit codes in torchrun's failure report."""
    return {int(line.split(":", 1)[1].split()[0]) for line in stderr.splitlines() if line.startswith("  exitcode  :")}


def no_gradfit_traceback(stderr: str) -> None:
    import gradfit

    assert os.path.dirname(gradfit.__file__) not in stderr, stderr[-3000:]


def same_answer(result: dict, expected: dict) -> None:
    np.testing.assert_allclose(result["params"]["coef"], expected["params"]["coef"], rtol=0, atol=1e-10)
    assert result["params"]["intercept"] == pytest.approx(expected["params"]["intercept"], abs=1e-10)
    np.testing.assert_allclose(result["history"]["train_loss"], expected["history"]["train_loss"], rtol=1e-10)
    assert result["updates"] == expected["updates"] == EPOCHS * 13


def checkpoint_written(run: Launch):
    return lambda: (run.cwd / "c.pt").is_file()


def resume_from_the_printed_command(line: str, cwd) -> dict:
    """Run the command a stopped run's line says resumes it; its JSON result."""
    import shlex

    command = shlex.split(line.split("continue with: ", 1)[1] if "continue with: " in line
                          else line.split("checkpoint with: ", 1)[1])
    assert command[1:3] == ["-m", "torch.distributed.run"] and command[-2:] == ["--resume", "c.pt"], command
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("WORLD_SIZE", None)
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=BOUND)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


# ---------------------------------------------------------------- under torchrun


@linux
def test_a_killed_worker_ends_the_others_with_one_line_and_the_command_that_resumes(launch, uninterrupted):
    run = launch([*FIT, "--checkpoint", "c.pt"])
    run.wait_for(checkpoint_written(run), "first checkpoint")
    killed = run.signal(1, signal.SIGKILL)
    assert run.finish() == 1  # torchrun's own code for a failed worker
    ended = time.monotonic() - killed
    stderr = run.stderr()
    lines = gradfit_errors(stderr)
    assert len(lines) == 1, stderr[-3000:]
    assert lines[0].startswith("gradfit fit: error: rank 1 of 2 was lost (its connection closed: killed or crashed); "
                               "this process stopped too; continue from its last checkpoint with: ")
    assert ended < 30, f"{ended:.1f} s"  # measured about 0.4-1 s: the others see the closed connection at once
    no_gradfit_traceback(stderr)
    codes = exit_codes(stderr)  # rank 1's -9, and rank 0's 1 when it had ended by torchrun's look (it shows the line)
    assert -9 in codes and codes <= {1, -9}, stderr[-3000:]
    assert 1 not in codes or "traceback : gradfit fit: error: rank 1 of 2 was lost" in stderr
    same_answer(resume_from_the_printed_command(lines[0], run.cwd), uninterrupted)


def said_once_that_the_group_restarts(run) -> None:
    """Rank 0's one line about the lost rank and the restart, and no traceback from gradfit."""
    stderr = run.stderr()
    assert gradfit_errors(stderr) == ["gradfit fit: error: rank 1 of 2 was lost (its connection closed: killed or "
                                      "crashed); this process stopped too; torchrun restarts the group (1 restart "
                                      "left), which resumes from c.pt"], stderr[-3000:]
    no_gradfit_traceback(stderr)


@linux
def test_a_killed_worker_under_max_restarts_resumes_by_itself_to_the_uninterrupted_answer(launch, uninterrupted):
    run = launch([*FIT, "--checkpoint", "c.pt"], "--max-restarts=1")
    run.wait_for(checkpoint_written(run), "first checkpoint")
    run.signal(1, signal.SIGKILL)
    assert run.finish() == 0, run.stderr()[-3000:]
    result = json.loads(run.stdout())
    assert result["start_epoch"] >= 1  # the restarted round went on from the checkpoint
    same_answer(result, uninterrupted)
    said_once_that_the_group_restarts(run)


@linux
def test_a_stalled_worker_ends_the_others_within_the_timeout(launch):
    """SIGSTOP rank 1 with a 5 s timeout: rank 0 ends about 5 s later with one line. (torchrun
    then sends the stopped one SIGTERM and SIGKILL after a grace of 30 s, fixed when a worker
    fails: --shutdown-timeout is its grace only when torchrun itself is signalled; not waited
    for here.)"""
    run = launch([*FIT, "--checkpoint", "c.pt", "--timeout", "5"])
    run.wait_for(checkpoint_written(run), "first checkpoint")
    rank0 = run.ranks()[0]
    stopped = run.signal(1, signal.SIGSTOP)
    run.wait_for(lambda: not os.path.exists(f"/proc/{rank0}") or _state(rank0) == "Z", "rank 0's end", timeout=60)
    ended = time.monotonic() - stopped
    stderr = run.stderr()
    lines = gradfit_errors(stderr)
    assert len(lines) == 1 and lines[0].startswith(
        "gradfit fit: error: rank 1 of 2 did not answer within 5 seconds (stopped, hung or unreachable; --timeout 5 "
        "sets the wait); this process stopped too; continue from its last checkpoint with: "), stderr[-3000:]
    assert 4 < ended < 30, f"{ended:.1f} s"  # measured 5.5 s: the timeout, then the line
    no_gradfit_traceback(stderr)


def _state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def the_one_sigterm_line(stderr: str) -> str:
    """Rank 0's one gradfit line after a SIGTERM: where the run stopped."""
    lines = gradfit_errors(stderr)
    assert len(lines) == 1 and lines[0].startswith("gradfit fit: stopped by SIGTERM after epoch "), stderr[-3000:]
    return lines[0]


@linux
def test_sigterm_to_every_worker_checkpoints_one_epoch_and_shows_143(launch, uninterrupted):
    """SIGTERM to the workers (as torchrun sends it when it stops them): both stop at the same
    epoch, rank 0 writes the checkpoint, both exit 143 (torchrun's report shows it; torchrun
    itself exits 1), and the checkpoint resumes to the uninterrupted answer."""
    run = launch([*FIT, "--checkpoint", "c.pt"])
    run.wait_for(checkpoint_written(run), "first checkpoint")
    run.signal(None, signal.SIGTERM)
    assert run.finish() == 1
    stderr = run.stderr()
    line = the_one_sigterm_line(stderr)
    epoch = int(line.split("after epoch ", 1)[1].split(";", 1)[0])
    assert 1 <= epoch < EPOCHS and torch.load(run.cwd / "c.pt", weights_only=True)["epoch"] == epoch
    assert exit_codes(stderr) == {143}, stderr[-3000:]  # each worker torchrun saw end (rank 0, rank 1 or both)
    no_gradfit_traceback(stderr)
    result = resume_from_the_printed_command(line, run.cwd)
    assert result["start_epoch"] == epoch
    same_answer(result, uninterrupted)


@linux
def test_a_scheduler_signalling_every_process_stops_at_an_epoch_with_its_checkpoint(launch):
    """SIGTERM to torchrun and to every worker at once (as Slurm's scancel sends it): the workers
    get it twice (from the scheduler, then from torchrun, measured 0.2-5 ms apart), which is one
    request to stop, not a second one that aborts."""
    run = launch([*FIT, "--checkpoint", "c.pt"])
    run.wait_for(checkpoint_written(run), "first checkpoint")
    run.wait_for(lambda: len(run.ranks()) >= 2, "workers")
    for pid in [run.proc.pid, *run.ranks().values()]:
        os.kill(pid, signal.SIGTERM)
    assert run.finish() == 1  # torchrun re-raises the signal it got (its SignalException)
    stderr = run.stderr()
    assert "checkpoint saved to 'c.pt'" in the_one_sigterm_line(stderr)
    no_gradfit_traceback(stderr)


@linux
def test_ctrl_c_to_every_worker_shows_130(launch):
    run = launch([*FIT, "--checkpoint", "c.pt"])
    run.wait_for(checkpoint_written(run), "first checkpoint")
    run.signal(None, signal.SIGINT)
    assert run.finish() == 1
    stderr = run.stderr()
    lines = gradfit_errors(stderr)
    assert any(line.startswith("gradfit fit: interrupted after epoch ") for line in lines), stderr[-3000:]
    assert exit_codes(stderr) == {130}, stderr[-3000:]
    no_gradfit_traceback(stderr)


# A worker that dies as its fit ends, after the last epoch's checkpoint, in the launch's first round
# only: the fit's last stage (fit_result) is where rank 1 is SIGKILLed. "fit …" runs the command
# line; "api" calls gradfit.fit(distributed=True) and rank 0 writes what it raised to outcome.json.
DYING_AT_THE_END = """
import json, os, signal, sys
import numpy as np
import gradfit, gradfit.pipeline.run as stages
from gradfit.scale.launch import restart_count

finish = stages.fit_result

def dying(run, record):
    if os.environ["RANK"] == "1" and restart_count() == 0:
        os.kill(os.getpid(), signal.SIGKILL)
    return finish(run, record)

stages.fit_result = dying
if sys.argv[1] != "api":
    from gradfit.cli import main
    sys.exit(main(sys.argv[1:]))
signal.signal(signal.SIGTERM, signal.SIG_IGN)  # torchrun's, as rank 1 dies: rank 0 still writes its outcome
rng = np.random.default_rng(7)
x = rng.normal(size=(201, 2))
try:
    gradfit.fit(x, 1.0 + x @ [2.0, -1.0], distributed=True, engine="torch", batch_size=32, epochs=2,
                dtype="float64", checkpoint="c.pt")
    outcome = {"raised": None}
except Exception as error:
    outcome = {"raised": type(error).__name__, "gradfit": isinstance(error, gradfit.GradfitError),
               "cause": type(error.__cause__).__module__ + "." + type(error.__cause__).__name__,
               "message": str(error)}
if os.environ["RANK"] == "0":
    with open("outcome.json", "w") as handle:
        json.dump(outcome, handle)
"""


@linux
def test_a_worker_lost_after_the_last_checkpoint_is_restarted_to_report_the_result_once(launch, uninterrupted,
                                                                                         data_dir):
    """The restarted round finds the finished run's checkpoint: it trains no more, and reports the
    uninterrupted answer, once (the first round's rank 0 had not reported: every process agrees
    that the fit ended before any reports it)."""
    (data_dir / "dying.py").write_text(DYING_AT_THE_END)
    run = launch([*FIT, "--checkpoint", "c.pt"], "--max-restarts=1", program=(str(data_dir / "dying.py"),))
    assert run.finish() == 0, run.stderr()[-3000:]
    result = json.loads(run.stdout())  # one document: the restarted round's
    assert result["start_epoch"] == EPOCHS  # resumed from the last epoch's checkpoint, no epoch trained again
    same_answer(result, uninterrupted)
    said_once_that_the_group_restarts(run)


@linux
def test_the_api_raises_gradfits_error_for_a_lost_peer_with_torchs_as_its_cause(launch, data_dir):
    (data_dir / "dying.py").write_text(DYING_AT_THE_END)
    run = launch(["api"], program=(str(data_dir / "dying.py"),))
    run.finish()
    outcome = json.loads((data_dir / "outcome.json").read_text())
    assert outcome["raised"] == "ProcessGroupError" and outcome["gradfit"], outcome
    assert outcome["cause"] in ("torch.distributed.DistBackendError", "builtins.RuntimeError"), outcome  # gloo's
    assert outcome["message"] == ("rank 1 of 2 was lost (its connection closed: killed or crashed); this process "
                                  "stopped too; continue from its last checkpoint with: resume='c.pt'"), outcome


# ---------------------------------------------------------------- without processes


def test_timeout_is_checked_and_named_as_the_caller_spells_it(capsys):
    from gradfit.config import FitConfig

    assert FitConfig(timeout="30").validate().timeout == 30.0
    for bad in (0, -1, "soon", float("inf"), 1e9, True):
        with pytest.raises(BadOptionError, match="timeout="):
            FitConfig(timeout=bad).validate()
    assert main(["fit", "book", "--timeout", "0"]) == 2
    assert capsys.readouterr().err.strip() == ("gradfit fit: error: --timeout 0: must be a positive number of "
                                               "seconds; e.g. --timeout 300")


def test_the_round_namespace_ignores_the_previous_rounds_post():
    """A restarted rank 1 that reads the round before's post answers it in vain and waits for
    this round's rank 0, however late that one comes; both agree on a new name."""
    from datetime import timedelta

    store = dist.TCPStore("127.0.0.1", 0, 1, True, timeout=timedelta(seconds=20))
    client = lambda: dist.TCPStore("127.0.0.1", store.port, 1, False, timeout=timedelta(seconds=20))  # noqa: E731
    names: dict[str, str] = {}

    def rank(key: str, number: int, delay: float) -> None:
        time.sleep(delay)
        names[key] = fresh_namespace(client(), number, 2, 20.0)

    for round_, delays in (("first", (0.0, 0.0)), ("second", (1.5, 0.0))):  # round 2: rank 0 starts late
        threads = [threading.Thread(target=rank, args=(f"{round_}{r}", r, delays[r])) for r in (0, 1)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert names["first0"] == names["first1"] and names["second0"] == names["second1"] != names["first0"]


def test_fault_classes_from_torchs_words(monkeypatch):
    """gloo's closed connection, a timeout, and the SIGTERM that replaced one while it unwound."""
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    reset = RuntimeError("[../third_party/gloo/gloo/transport/tcp/pair.cc:537] Read error [127.0.0.1]:16809: "
                         "Connection reset by peer. This is typically caused by a remote worker hanging")
    assert group_fault(reset).kind == "lost"
    late = dist.DistBackendError("[../gloo/transport/tcp/unbound_buffer.cc:81] Timed out waiting 5000ms for recv")
    assert group_fault(late).kind == "stalled"
    try:
        try:
            raise reset
        finally:
            raise Terminated()  # torchrun's SIGTERM arriving while the gloo error unwinds
    except Terminated as replaced:
        assert group_fault(replaced).kind == "lost"
    assert group_fault(RuntimeError("mat1 and mat2 shapes cannot be multiplied")) is None
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert group_fault(reset) is None  # one process: no group to blame


def test_fault_lines_say_who_and_how_the_run_goes_on(monkeypatch, tmp_path):
    from gradfit.cli.options import flag_text
    from gradfit.errors import ProcessGroupError

    def line(fault: Fault, checkpoint=None) -> str:
        return ProcessGroupError(fault_message(fault, ["fit", "d.csv"], checkpoint)).render(flag_text)

    monkeypatch.delenv("TORCHELASTIC_MAX_RESTARTS", raising=False)
    lost = Fault("lost", [2], 4, 300.0, True, "")
    assert line(lost) == ("rank 2 of 4 was lost (its connection closed: killed or crashed); this process stopped "
                          "too; nothing saved (add --checkpoint PATH to be able to resume)")
    stalled = Fault("stalled", None, 4, 30.0, True, "")
    assert line(stalled, str(tmp_path / "none.pt")).startswith(
        "another process did not answer within 30 seconds (stopped, hung or unreachable; --timeout 30 sets the "
        "wait); this process stopped too; no checkpoint was written yet")
    (tmp_path / "c.pt").write_bytes(b"")
    assert line(Fault("lost", [1, 3], 4, 300.0, True, ""), str(tmp_path / "c.pt")).startswith(
        "ranks 1, 3 of 4 were lost")
    monkeypatch.setenv("TORCHELASTIC_MAX_RESTARTS", "2")
    monkeypatch.setenv("TORCHELASTIC_RESTART_COUNT", "1")
    assert line(lost, "c.pt").endswith("torchrun restarts the group (1 restart left), which resumes from c.pt")


def test_the_resume_command_outside_torchrun_is_left_to_fill_in():
    assert launcher_command(["fit", "d.csv", "--resume", "old.pt"], "c.pt") == \
        "torchrun [its options] gradfit fit d.csv --resume c.pt"


def test_a_scheduler_and_torchrun_passing_the_same_sigterm_is_one_request(monkeypatch):
    """Under torchrun: SIGTERM twice within a second stops at the epoch's end (no abort, no extra
    line); a third aborts."""
    from gradfit.training.checkpoint import stop_requested

    monkeypatch.setenv("WORLD_SIZE", "2")
    with signals_stop_at_epoch_end():
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)  # (the handlers run between bytecodes)
        assert stop_requested()
        with pytest.raises(Terminated, match="aborted by a second signal"):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)


def test_the_api_turns_a_lost_peer_into_gradfits_error_at_one_place(monkeypatch):
    """Whatever collective failed (torch's words, from gloo), the API raises ProcessGroupError with
    the command line's words (options as Python spells them) and torch's error as its cause;
    anything else passes unchanged."""
    from gradfit.errors import GradfitError, ProcessGroupError
    from gradfit.scale.launch import fault_text, peer_faults

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    monkeypatch.delenv("TORCHELASTIC_MAX_RESTARTS", raising=False)
    late = dist.DistBackendError("[../gloo/transport/tcp/unbound_buffer.cc:81] Timed out waiting 5000ms for recv")
    with pytest.raises(ProcessGroupError) as info:
        with peer_faults(None):
            raise late
    assert isinstance(info.value, GradfitError) and info.value.__cause__ is late and info.value.exit_code == 1
    assert info.value.fault.kind == "stalled"  # (no group joined here: its timeout and ranks are unknown)
    assert str(info.value) == ("the process group failed ([../gloo/transport/tcp/unbound_buffer.cc:81] Timed out "
                               "waiting 5000ms for recv); this process stopped too; nothing saved (add "
                               "checkpoint=PATH to be able to resume)")
    stalled = Fault("stalled", [1], 2, 5.0, True, "")  # as a joined process sees it
    assert str(ProcessGroupError(fault_text(stalled, "c.pt"))) == (
        "rank 1 of 2 did not answer within 5 seconds (stopped, hung or unreachable; timeout=5 sets the wait); this "
        "process stopped too; no checkpoint was written yet: run the same command again")
    with pytest.raises(ProcessGroupError, match="; this process stopped too; run it again$"):
        with peer_faults(resumable=False):  # solve: nothing to resume
            raise RuntimeError("[../third_party/gloo/gloo/transport/tcp/pair.cc:537] Connection closed by peer")
    other = RuntimeError("mat1 and mat2 shapes cannot be multiplied")
    with pytest.raises(RuntimeError) as info:
        with peer_faults("c.pt"):
            raise other
    assert info.value is other
    with pytest.raises(BadOptionError):
        with peer_faults("c.pt"):
            raise BadOptionError("lr", -1, "must be positive")


@pytest.mark.parametrize("engine, options", [("exact", {}), ("numpy", {"batch_size": 8}),
                                             ("torch", {"batch_size": 8, "dtype": "float64"})])
def test_resuming_a_finished_run_reports_it_and_fewer_epochs_are_refused(tmp_path, engine, options):
    """What a restarted round meets when a worker was lost after the last checkpoint: the run's own
    result, from the checkpoint, with no epoch trained again."""
    import gradfit

    path = str(tmp_path / "c.pt")
    straight = gradfit.fit(engine=engine, epochs=30, lr=0.1, tol=1e3, checkpoint=path, **options)
    for again in (dict(resume=path), dict(resume_if_exists=True)):
        finished = gradfit.fit(engine=engine, epochs=30, lr=0.1, tol=1e3, checkpoint=path, **again, **options)
        assert finished.start_epoch == 30 and finished.updates == straight.updates
        np.testing.assert_array_equal(finished.params.theta, straight.params.theta)
        assert finished.history.train_loss == straight.history.train_loss
        assert finished.train_loss == straight.train_loss
    with pytest.raises(BadOptionError, match=r"epochs=29: checkpoint .* already holds 30 epochs.*epochs=30 to "
                                             r"report that run"):
        gradfit.fit(engine=engine, epochs=29, lr=0.1, tol=1e3, resume=path, **options)


def test_the_command_line_reports_a_finished_run_from_its_checkpoint(tmp_path, capsys):
    path = str(tmp_path / "c.pt")
    assert main(["fit", "book", "--epochs", "40", "--checkpoint", path, "--json"]) == 0
    straight = json.loads(capsys.readouterr().out)
    assert main(["fit", "book", "--epochs", "40", "--checkpoint", path, "--resume", path, "--json"]) == 0
    finished = json.loads(capsys.readouterr().out)
    assert finished["params"] == straight["params"] and finished["start_epoch"] == 40
    assert main(["fit", "book", "--epochs", "39", "--resume", path]) == 2
    assert capsys.readouterr().err.strip().startswith("gradfit fit: error: --epochs 39: checkpoint ")
