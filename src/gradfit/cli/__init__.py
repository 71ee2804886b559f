"""The command line: parse arguments, run a command, turn errors into one line and an exit code.

``parser.py`` builds the argument parser from the option table in ``options.py`` (flags, TOML
keys: gradfit.config's declarations and the command line's own); ``fit.py``, ``solve.py`` and
``commands.py`` run each command through the Python API and print; ``inputs.py`` holds what they
share (the data file, the process group, warnings); ``signals.py`` how Ctrl-C and SIGTERM end a
command.
"""

from __future__ import annotations

import argparse
import os
import sys

from ..errors import GradfitError, Interrupted
from .options import flag_owners, flag_text
from .parser import UsageError, build_parser, command_names
from .signals import Terminated, interrupted_message, sigterm_ends_cleanly

# Commands that run across the processes of a torchrun launch; the others refuse to.
DISTRIBUTED_COMMANDS = ("fit", "solve")


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 1 diverged, 2 bad input, 130 interrupted by
    Ctrl-C, 143 by SIGTERM).

    Under torchrun only rank 0 speaks: the other processes run silently (their exit codes still
    tell torchrun how they ended).
    """
    from ..scale.distributed import env_rank, launched

    if not (launched() and env_rank() != 0):
        return _main(argv)
    real_stdout, real_stderr = sys.stdout, sys.stderr
    with open(os.devnull, "w", encoding="utf-8") as devnull:
        sys.stdout = sys.stderr = devnull
        try:
            return _main(argv)
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


def _main(argv: list[str] | None) -> int:
    from ..scale.distributed import launched

    parser = build_parser()
    prefix = "gradfit"
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
            return args.handler(args)
    except UsageError as error:
        print(f"{error}", file=sys.stderr)
        return error.exit_code
    except Interrupted as error:
        print(f"{prefix}: {interrupted_message(error, argv)}", file=sys.stderr)
        return error.exit_code
    except GradfitError as error:
        print(f"{prefix}: error: {error.render(flag_text)}", file=sys.stderr)
        return error.exit_code
    except Terminated as error:
        print(f"{prefix}: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print(f"{prefix}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. gradfit fit | head
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
