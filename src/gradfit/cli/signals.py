"""How a command ends on a signal: Ctrl-C (SIGINT), and SIGTERM (how clusters pre-empt a job, and
what ``kill`` sends).

While a run trains (:func:`signals_stop_at_epoch_end`), the first of either asks it to stop at
the end of its epoch (:func:`gradfit.request_stop`): the engines then write the checkpoint,
whatever ``--checkpoint-every`` says, and the command exits with 130 (Ctrl-C) or 143 (SIGTERM,
128 + 15) and the command line that resumes the run. A second signal aborts at once. Outside
training (:func:`sigterm_ends_cleanly`: reading data, solving, a sweep) SIGTERM ends the command
at once as Ctrl-C does: one line on stderr, exit code 143, no traceback.

Under torchrun the signals come from the launcher: SIGTERM when it stops the workers (another one
failed, a restart, a pre-emption), and whatever torchrun itself gets, passed on. A scheduler that
signals every process (Slurm's scancel) makes each worker get it twice, from the scheduler and
from torchrun: a repeat of the first signal within ``limits.LAUNCHER_ECHO_SECONDS`` is the same
request, not the second one that aborts. The resume command is then torchrun's own command line
(:func:`launcher_command`), and :func:`fault_message` says what a lost or stalled peer did.
"""

from __future__ import annotations

import os
import shlex
import sys
import time
from contextlib import contextmanager

from .. import limits
from ..errors import Interrupted
from ..scale.launch import Fault, fault_text, launched
from .options import flag_text

SIGTERM_EXIT = 143  # 128 + SIGTERM's number, what a shell reports for a job ended by SIGTERM


class Terminated(BaseException):
    """SIGTERM ended the command; ``str()`` says how. A ``BaseException``, like
    ``KeyboardInterrupt``: no ``except Exception`` on the way up can swallow it."""

    exit_code = SIGTERM_EXIT

    def __init__(self, message: str = "terminated by SIGTERM before it finished") -> None:
        super().__init__(message)


@contextmanager
def _on_sigterm(act):
    """SIGTERM is recorded (the list the block gets) and ``act()`` called, during the block; the
    previous handler is back after it. Outside the main thread (a test runner's worker) no
    handler can be set and nothing changes."""
    import signal

    received: list[int] = []

    def handler(signum, frame):
        received.append(signum)
        act()

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:
        yield received
        return
    try:
        yield received
    finally:
        signal.signal(signal.SIGTERM, previous)


def _raise_terminated() -> None:
    raise Terminated()


@contextmanager
def sigterm_ends_cleanly():
    """SIGTERM raises :class:`Terminated` (the command ends with one line and exit code 143)."""
    with _on_sigterm(_raise_terminated) as received:
        yield
    if received:
        # The raise was swallowed on its way up (a library's bare ``except:`` while a module was
        # being imported, measured under load): the command still ends as SIGTERM asked.
        raise Terminated()


@contextmanager
def sigterm_deferred():
    """SIGTERM waits for the end of the block, then raises :class:`Terminated`: for torch's import,
    where an exception raised by a signal handler can cross C++ code (pybind11) and abort the
    interpreter ("terminate called after throwing an instance of 'pybind11::error_already_set'")."""
    with _on_sigterm(lambda: None) as received:
        yield
    if received:
        raise Terminated()


def ignore_sigterm() -> None:
    """SIGTERM is ignored from now on (the main thread only; elsewhere nothing changes)."""
    import signal

    try:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    except ValueError:
        pass


@contextmanager
def signals_stop_at_epoch_end(command: str = "fit", checkpoint: bool = True):
    """The first Ctrl-C or SIGTERM asks the run to stop at the end of its epoch (and write its
    checkpoint, if it has one: ``checkpoint``); a second one of either aborts at once. A run
    stopped by SIGTERM raises its :class:`gradfit.Interrupted` with exit code 143."""
    import signal

    from ..training.checkpoint import clear_stop_request, request_stop

    received: list[tuple[int, float]] = []  # (signal, when) of the first signal, and of an echo of it
    launcher = launched()

    def abort(signum, frame):
        if launcher and len(received) == 1 and signum == received[0][0] \
                and time.monotonic() - received[0][1] < limits.LAUNCHER_ECHO_SECONDS:
            received.append((signum, time.monotonic()))  # torchrun passing on the signal every process got
            return
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise Terminated("aborted by a second signal (SIGTERM) before the epoch ended"
                         + ("; a checkpoint on disk is from an earlier epoch" if checkpoint else ""))

    def first(signum, frame):
        received.append((signum, time.monotonic()))
        request_stop()
        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, abort)
        if launcher and signum == signal.SIGTERM:
            return  # torchrun's SIGTERM (a failure elsewhere, a pre-emption): the run's last line says it all
        name, start = ("Ctrl-C", "\n") if signum == signal.SIGINT else ("SIGTERM", "")  # \n: after the ^C
        then = "and writing the checkpoint" if checkpoint else "(no --checkpoint: nothing will be saved)"
        print(f"{start}gradfit {command}: {name}: stopping at the end of this epoch {then} (Ctrl-C or SIGTERM "
              "again aborts now)", file=sys.stderr, flush=True)

    try:
        previous = {number: signal.signal(number, first) for number in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:  # not the main thread: no handlers
        yield
        return
    try:
        yield
        if received:  # the signal came after the last epoch: nothing was cut short
            print(f"gradfit {command}: the run had finished its epochs when the signal came; it is complete",
                  file=sys.stderr, flush=True)
    except Interrupted as error:
        if received and received[0][0] == signal.SIGTERM:
            error.exit_code = SIGTERM_EXIT  # (the instance's: Ctrl-C's 130 stays the class's)
            error.signal_name = "SIGTERM"
        raise
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        clear_stop_request()


def interrupted_message(error: Interrupted, argv: list[str] | None) -> str:
    """The line a stopped run ends with: when, the checkpoint, and the command that resumes it
    (under torchrun, the launcher's command: :func:`launcher_command`)."""
    how = getattr(error, "signal_name", None)
    head = f"stopped by {how}" if how else "interrupted"
    if error.checkpoint is None or argv is None:
        text = error.render(flag_text)
        return text.replace("interrupted", head, 1)
    again = launcher_command(argv, error.checkpoint) if launched() else resume_command(argv, error.checkpoint)
    return f"{head} after epoch {error.epoch}; checkpoint saved to {error.checkpoint!r}; continue with: {again}"


def resume_command(argv: list[str], checkpoint: str) -> str:
    """``gradfit`` and ``argv`` with ``--resume checkpoint`` (in place of any ``--resume`` given)."""
    return shlex.join(["gradfit", *resume_arguments(argv, checkpoint)])


def resume_arguments(argv: list[str], checkpoint: str) -> list[str]:
    """``argv`` with ``--resume checkpoint`` in place of any ``--resume`` given."""
    kept, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--resume":
            skip = True
        elif not arg.startswith("--resume="):
            kept.append(arg)
    return [*kept, "--resume", checkpoint]


def launcher_command(argv: list[str], checkpoint: str) -> str:
    """The torchrun command that started this process, resuming from ``checkpoint``.

    torchrun's agent is this process's parent: its command line (``/proc/PPID/cmdline``) ends with
    this process's arguments, and what comes before them is the launcher and its options. Where it
    cannot be read (not Linux), the torchrun part is left for the user to fill in.
    """
    resumed = resume_arguments(argv, checkpoint)
    try:
        with open(f"/proc/{os.getppid()}/cmdline", "rb") as handle:
            parent = [part.decode() for part in handle.read().split(b"\0")[:-1]]
    except (OSError, UnicodeDecodeError):
        parent = []
    if argv and len(parent) > len(argv) and parent[-len(argv):] == list(argv):
        launcher = parent[:-len(argv)]
        if len(launcher) > 1 and os.path.basename(launcher[1]) in ("torchrun", "gradfit-torchrun"):
            launcher = launcher[1:]  # "python …/bin/torchrun": the script runs itself
        return shlex.join(launcher + resumed)
    return "torchrun [its options] " + shlex.join(["gradfit", *resumed])


def fault_message(fault: Fault, argv: list[str], checkpoint: str | None, resumable: bool = True) -> str:
    """What a lost or stalled process did to the run, and how the run goes on (one line): the
    API's words (:func:`gradfit.scale.launch.fault_text`), resumed by torchrun's own command line."""
    again = launcher_command(argv, checkpoint) if checkpoint else None
    return fault_text(fault, checkpoint, again, resumable)
