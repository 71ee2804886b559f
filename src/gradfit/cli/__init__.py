"""The command line: parse arguments, run a command, turn errors into one line and an exit code.

``parser.py`` builds the argument parser from the option table in ``options.py`` (flags, TOML
keys: gradfit.config's declarations and the command line's own); ``fit.py``, ``solve.py`` and
``commands.py`` run each command through the Python API and print; ``inputs.py`` holds what they
share (the data file, the process group, warnings); ``signals.py`` how Ctrl-C and SIGTERM end a
command; ``torchrun.py`` is ``gradfit-torchrun``, torchrun passing on the workers' exit code.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from ..errors import GradfitError, Interrupted, ProcessGroupError
from ..scale.launch import claim_report, group_fault
from .options import flag_owners, flag_text
from .parser import UsageError, build_parser, command_names
from .signals import (Terminated, fault_message, ignore_sigterm, interrupted_message, sigterm_deferred,
                      sigterm_ends_cleanly)

# Commands that run across the processes of a torchrun launch; the others refuse to.
DISTRIBUTED_COMMANDS = ("fit", "solve")
_STDERR = object()  # ended()'s default stream: sys.stderr as it is when the line is printed


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 1 diverged or another process of a torchrun
    launch lost, 2 bad input, 130 interrupted by Ctrl-C, 143 by SIGTERM).

    Under torchrun only rank 0 speaks: the other processes run silently (their exit codes still
    tell torchrun how they ended), but for the first process to see a peer lost, whichever its rank.
    """
    from ..scale.distributed import env_rank, launched

    if not (launched() and env_rank() != 0):
        return _main(argv, sys.stderr)
    real_stdout, real_stderr = sys.stdout, sys.stderr
    with open(os.devnull, "w", encoding="utf-8") as devnull:
        sys.stdout = sys.stderr = devnull
        try:
            return _main(argv, real_stderr)
        except BaseException:
            sys.stdout, sys.stderr = real_stdout, real_stderr  # a crash still shows its traceback
            raise
        finally:
            sys.stdout, sys.stderr = real_stdout, real_stderr


def unrecognized(command: str, extras: list[str]) -> str:
    """What is wrong with arguments ``command`` does not take: another command's option is named."""
    for extra in extras:
        owners = [f"gradfit {c}" for c in flag_owners(extra) if c != command]
        if extra.startswith("--") and owners:
            return (f"{extra.split('=', 1)[0]} is an option of {' and '.join(owners)}, not of gradfit {command}; "
                    "leave it out")
    return f"unrecognized argument(s) {' '.join(extras)}"


def _main(argv: list[str] | None, speaker) -> int:
    from ..scale.distributed import launched

    parser = build_parser()
    prefix, args = "gradfit", None
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        with sigterm_ends_cleanly():
            args, extras = parser.parse_known_args(argv)
            if args.command is None:
                raise UsageError(f"gradfit: error: a command is needed: {', '.join(command_names(parser))} "
                                 "(see gradfit --help)")
            prefix = f"gradfit {args.command}"
            if extras:
                raise UsageError(f"{prefix}: error: {unrecognized(args.command, extras)} (see {prefix} --help)")
            if launched() and args.command not in DISTRIBUTED_COMMANDS:
                raise UsageError(f"{prefix}: error: runs in one process; start it without torchrun "
                                 f"(torchrun runs {' and '.join('gradfit ' + c for c in DISTRIBUTED_COMMANDS)})")
            if launched():
                with sigterm_deferred():  # torchrun's SIGTERM (another process failed) during torch's import
                    import torch.distributed  # noqa: F401
            return args.handler(args)
    except UsageError as error:
        return ended(f"{error}", error.exit_code)
    except Interrupted as error:
        return ended(f"{prefix}: {interrupted_message(error, argv)}", error.exit_code)
    except GradfitError as error:
        if isinstance(error, ProcessGroupError) and error.fault is not None:  # as the API raised it
            ignore_sigterm()
            return _fault_ended(error.fault, prefix, argv, args, speaker)
        return ended(f"{prefix}: error: {error.render(flag_text)}", error.exit_code)
    except (Terminated, KeyboardInterrupt, RuntimeError) as error:
        if launched():
            ignore_sigterm()  # the SIGTERM torchrun sends the survivors must not cut the report short
        fault = group_fault(error)
        if fault is not None:
            return _fault_ended(fault, prefix, argv, args, speaker)
        if not isinstance(error, (Terminated, KeyboardInterrupt)):
            raise
        if isinstance(error, KeyboardInterrupt):
            return ended(f"{prefix}: interrupted", 130)
        why = " (torchrun stops every process when another one fails or the launch is stopped)" if launched() else ""
        return ended(f"{prefix}: {error}{why}", error.exit_code)
    except BrokenPipeError:  # e.g. gradfit fit | head
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


def _fault_ended(fault, prefix: str, argv: list[str], args, speaker) -> int:
    """A lost or stalled peer's one line, said by the process that claimed the report, resumed by
    torchrun's own command line."""
    line = fault_message(fault, argv, getattr(args, "checkpoint", None), getattr(args, "command", "fit") == "fit")
    failure = ProcessGroupError(line)
    return ended(f"{prefix}: error: {failure.render(flag_text)}", failure.exit_code, speaker if fault.speaks else None)


def ended(line: str, code: int, stream=_STDERR) -> int:
    """Print ``line`` (on ``stream``: stderr, or nowhere for ``None``) and return ``code``; under
    torchrun, also leave it in the error file torchrun's failure report reads
    (``TORCHELASTIC_ERROR_FILE``), so that the report shows it, whichever process wrote it, and
    let the process end with ``code``: the SIGTERM torchrun sends the survivors of a failure would
    turn it into -15 while the interpreter shuts down (torchrun's SIGKILL still follows its grace)."""
    from ..scale.distributed import launched

    if launched() and code != 0:
        ignore_sigterm()
        claim_report()  # (rank 0 speaks anyway; a peer that sees it gone then stays silent)
    if stream is not None:
        print(line, file=sys.stderr if stream is _STDERR else stream, flush=True)
    path = os.environ.get("TORCHELASTIC_ERROR_FILE")
    if path and code != 0:
        try:
            with open(path, "w", encoding="utf-8") as handle:
                # torch.distributed.elastic's own layout (ErrorHandler.record_exception): the report
                # shows py_callstack, here the line itself
                json.dump({"message": {"message": line, "extraInfo": {"py_callstack": line,
                                                                      "timestamp": str(int(time.time()))}}}, handle)
        except OSError:  # the report then says what torchrun says without it
            pass
    return code
