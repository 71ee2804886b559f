"""How a command ends on a signal: Ctrl-C (SIGINT), and SIGTERM (how clusters pre-empt a job, and
what ``kill`` sends).

While a run trains (:func:`signals_stop_at_epoch_end`), the first of either asks it to stop at
the end of its epoch (:func:`gradfit.request_stop`): the engines then write the checkpoint,
whatever ``--checkpoint-every`` says, and the command exits with 130 (Ctrl-C) or 143 (SIGTERM,
128 + 15) and the command line that resumes the run. A second signal aborts at once. Outside
training (:func:`sigterm_ends_cleanly`: reading data, solving, a sweep) SIGTERM ends the command
at once as Ctrl-C does: one line on stderr, exit code 143, no traceback.
"""

from __future__ import annotations

import shlex
import sys
from contextlib import contextmanager

from ..errors import Interrupted
from .options import flag_text

SIGTERM_EXIT = 143  # 128 + SIGTERM's number, what a shell reports for a job ended by SIGTERM


class Terminated(BaseException):
    """SIGTERM ended the command; ``str()`` says how. A ``BaseException``, like
    ``KeyboardInterrupt``: no ``except Exception`` on the way up can swallow it."""

    exit_code = SIGTERM_EXIT

    def __init__(self, message: str = "terminated by SIGTERM before it finished") -> None:
        super().__init__(message)


@contextmanager
def sigterm_ends_cleanly():
    """SIGTERM raises :class:`Terminated` (the command ends with one line and exit code 143)."""
    import signal

    received: list[int] = []

    def handler(signum, frame):
        received.append(signum)
        raise Terminated()

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (e.g. a test runner's worker): no handler
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
    if received:
        # The raise was swallowed on its way up (a library's bare ``except:`` while a module was
        # being imported, measured under load): the command still ends as SIGTERM asked.
        raise Terminated()


@contextmanager
def signals_stop_at_epoch_end(command: str = "fit", checkpoint: bool = True):
    """The first Ctrl-C or SIGTERM asks the run to stop at the end of its epoch (and write its
    checkpoint, if it has one: ``checkpoint``); a second one of either aborts at once. A run
    stopped by SIGTERM raises its :class:`gradfit.Interrupted` with exit code 143."""
    import signal

    from ..training.checkpoint import clear_stop_request, request_stop

    received: list[int] = []

    def abort(signum, frame):
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise Terminated("aborted by a second signal (SIGTERM) before the epoch ended"
                         + ("; a checkpoint on disk is from an earlier epoch" if checkpoint else ""))

    def first(signum, frame):
        received.append(signum)
        request_stop()
        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, abort)
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
        if received and received[0] == signal.SIGTERM:
            error.exit_code = SIGTERM_EXIT  # (the instance's: Ctrl-C's 130 stays the class's)
            error.signal_name = "SIGTERM"
        raise
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        clear_stop_request()


def interrupted_message(error: Interrupted, argv: list[str] | None) -> str:
    """The line a stopped run ends with: when, the checkpoint, and the command that resumes it."""
    from ..scale.distributed import launched

    how = getattr(error, "signal_name", None)
    head = f"stopped by {how}" if how else "interrupted"
    if error.checkpoint is None or argv is None or launched():  # (under torchrun: its own command line)
        text = error.render(flag_text)
        return text.replace("interrupted", head, 1)
    return (f"{head} after epoch {error.epoch}; checkpoint saved to {error.checkpoint!r}; continue with: "
            f"{resume_command(argv, error.checkpoint)}")


def resume_command(argv: list[str], checkpoint: str) -> str:
    """``gradfit`` and ``argv`` with ``--resume checkpoint`` (in place of any ``--resume`` given)."""
    kept, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--resume":
            skip = True
        elif not arg.startswith("--resume="):
            kept.append(arg)
    return shlex.join(["gradfit", *kept, "--resume", checkpoint])
