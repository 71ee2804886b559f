"""``gradfit-torchrun`` (``python -m gradfit.cli.torchrun``): torchrun, exiting with the workers' code.

torchrun (torch 2.13) exits 1 whenever a worker fails: ``torch.distributed.run.main`` is wrapped
in ``@record``, which copies the first failure to the launcher's error file and re-raises
``ChildFailedError``, and no option changes that. A gradfit worker's code says how it ended (1
diverged or a lost peer, 2 bad input, 130 Ctrl-C, 143 SIGTERM), so this launcher is torchrun
itself, run as its ``main`` runs it (torch's parser, then torch's ``run(args)`` under
``record``), with one change: it exits with the first failed worker's code
(``ChildFailedError.get_first_failure()``; a worker killed by signal N, exitcode -N, gives
128 + N as a shell does), and with 128 + N, without a traceback, when the launcher itself gets
signal N (torchrun's ``SignalException``). It prints what torchrun prints: torchrun's traceback
and failure report, less this launcher's own frame.

Nothing here is imported by ``import gradfit``: torch.distributed loads when the launcher runs.
"""

from __future__ import annotations

import signal
import sys
import traceback

DESCRIPTION = ("gradfit-torchrun: torchrun (torch.distributed.run) with the same arguments, exiting with the "
               "first failed worker's exit code (gradfit: 1 diverged or a lost peer, 2 bad input, 130 Ctrl-C, 143 "
               "SIGTERM; a worker killed by signal N gives 128+N) instead of torchrun's 1, and with 128+N when the "
               "launcher itself gets signal N.")
FAILED = 1  # a failure that carries no code of its own


def worker_exit_code(exitcode: int) -> int:
    """The shell's exit code for a worker's ``exitcode`` as torch reports it (``-N``: killed by signal N).

    >>> worker_exit_code(2), worker_exit_code(143), worker_exit_code(-15), worker_exit_code(-9)
    (2, 143, 143, 137)
    >>> worker_exit_code(0)  # (never a failure's code: a failure is not reported as success)
    1
    """
    if exitcode < 0:
        return 128 + (-exitcode)
    if 0 < exitcode < 256:
        return exitcode
    return FAILED


def failure_exit_code(error) -> int:
    """The exit code of the first failed worker of a ``ChildFailedError`` (torch's own "first")."""
    _, failure = error.get_first_failure()
    return worker_exit_code(failure.exitcode)


def signal_exit_code(error) -> int:
    """128 + N for torchrun's ``SignalException`` of signal N (its ``sigval``)."""
    return 128 + int(error.sigval)


def build_parser():
    """torchrun's own parser, named and described as this launcher."""
    from torch.distributed import run as torchrun

    parser = torchrun.get_args_parser()
    parser.prog = "gradfit-torchrun"
    parser.description = DESCRIPTION
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run torchrun with ``argv`` (default: the command line's); returns the exit code: 0 when
    every worker succeeded, else the first failed worker's (:func:`worker_exit_code`), or 128 + N
    for signal N sent to the launcher. Other errors of torchrun's (a rendezvous that fails, …)
    propagate as they do from torchrun."""
    from torch.distributed import run as torchrun
    from torch.distributed.elastic.multiprocessing import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError, record

    args = build_parser().parse_args(sys.argv[1:] if argv is None else list(argv))
    before = {number: signal.getsignal(number) for number in _catchable()}
    try:
        try:
            record(torchrun.run)(args)  # what torchrun's main does once it has parsed its arguments
        finally:
            _default_handlers(before)  # before the report: a signal from here on ends the process
    except ChildFailedError as error:
        # torchrun's report as torchrun prints it (its traceback through torch's frames, then the
        # report), without this function's frame
        traceback.print_exception(type(error), error, error.__traceback__.tb_next, file=sys.stderr)
        sys.stderr.flush()
        return failure_exit_code(error)
    except SignalException as error:
        return signal_exit_code(error)  # torchrun has logged the signal and stopped the workers
    return 0


def _catchable() -> list[int]:
    return [getattr(signal, name) for name in ("SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT") if hasattr(signal, name)]


def _default_handlers(before: dict) -> None:
    """The signals whose handlers torchrun replaced (its agent raises ``SignalException`` from them)
    end the process by default from here on: a second SIGTERM while this launcher returns ends
    it with that signal (a shell reads 143 all the same) instead of a traceback."""
    for number, handler in before.items():
        try:
            if signal.getsignal(number) is not handler:
                signal.signal(number, signal.SIG_DFL)
        except (ValueError, OSError):  # (not the main thread: torchrun installed nothing)
            pass


if __name__ == "__main__":
    sys.exit(main())
