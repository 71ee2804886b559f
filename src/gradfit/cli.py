"""The command line: parse arguments → options → API call → report. Nothing else lives here."""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings

from . import __version__
from .errors import BadOptionError, ConvergenceWarning, GradfitError

EPILOG_FIT = """examples:
  gradfit fit                                   the tutorial's data, exact engine, update trace
  gradfit fit --engine numpy --json             hand-written NumPy gradients, JSON on stdout
  gradfit fit --engine torch --model manual     autograd, nn.MSELoss, torch.optim.SGD
  gradfit fit --engine torch --optimizer adam --lr 0.05 --batch-size 16
  gradfit fit --lr auto                         step size from the curvature of the loss

exit codes: 0 success, 1 training diverged, 2 bad input or options, 130 interrupted
"""


class UsageError(GradfitError):
    """A command line argparse cannot parse."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, no usage dump
        raise UsageError(f"{self.prog}: error: {message} (see {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="gradfit", description="Regression by gradient descent, checked against exact "
                     "least squares.")
    parser.add_argument("--version", action="version", version=f"gradfit {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    fit = commands.add_parser(
        "fit", help="train a linear regression by gradient descent",
        description="Train y ≈ b + x·w by gradient descent and compare it with the exact least-squares "
        "answer.", epilog=EPILOG_FIT, formatter_class=argparse.RawDescriptionHelpFormatter)
    fit.add_argument("data", nargs="?", default="book", metavar="DATA",
                     help="an embedded dataset (default: book; see gradfit datasets)")
    engine = fit.add_argument_group("engine")
    engine.add_argument("--engine", default="auto", help="auto (default), numpy, torch or exact")
    engine.add_argument("--model", help="torch module: manual (nn.Parameter b and w; default) or linear "
                        "(nn.Linear)")
    engine.add_argument("--optimizer", default="sgd", help="sgd (default) or adam (torch engine)")
    engine.add_argument("--device", default="auto", help="auto (default), cpu, cuda or cuda:N (torch engine)")
    engine.add_argument("--dtype", help="float32 or float64 (default: float32 for torch, float64 otherwise)")
    training = fit.add_argument_group("training")
    training.add_argument("--lr", default="0.1", help="learning rate, or auto (from the loss curvature); "
                          "default 0.1")
    training.add_argument("--epochs", default="1000", help="passes over the training rows (default 1000)")
    training.add_argument("--batch-size", help="rows per update: omit for full batch, 1 for stochastic")
    training.add_argument("--seed", default="42", help="seeds initial values and shuffling (default 42)")
    training.add_argument("--tol", default="1e-4", help="converged when the final scale-free gradient norm "
                          "(features and target at unit variance) is at most tol (default 1e-4)")
    data = fit.add_argument_group("data")
    data.add_argument("--val-split", help="hold out this fraction for validation (default: the dataset's "
                      "own split; 0 for none)")
    data.add_argument("--no-intercept", action="store_true", help="fit y ≈ x·w without b")
    output = fit.add_argument_group("output")
    output.add_argument("--json", action="store_true", help="print one JSON object on stdout and nothing else")
    output.add_argument("--quiet", action="store_true", help="hide the update trace")
    fit.set_defaults(handler=run_fit)

    datasets = commands.add_parser("datasets", help="list the embedded datasets",
                                   description="List the datasets that ship with gradfit.")
    datasets.add_argument("--json", action="store_true", help="print JSON")
    datasets.set_defaults(handler=run_datasets)

    devices = commands.add_parser("devices", help="CPUs and GPUs torch can use, and what auto picks",
                                  description="List the devices torch can see and which one --device auto picks.")
    devices.add_argument("--json", action="store_true", help="print JSON")
    devices.set_defaults(handler=run_devices)
    return parser


def run_fit(args: argparse.Namespace) -> int:
    from .api import fit
    from .data import DATASETS

    if args.data not in DATASETS:
        raise UsageError("gradfit fit: error: " + _unknown_data_message(args.data))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        result = fit(
            dataset=args.data, engine=args.engine, model=args.model, optimizer=args.optimizer, lr=args.lr,
            epochs=args.epochs, batch_size=args.batch_size, seed=args.seed, device=args.device,
            dtype=args.dtype, tol=args.tol, val_split=args.val_split, intercept=not args.no_intercept,
        )
    if args.json:
        print(result.to_json())
        for warning in caught:  # the report shows it otherwise; under --json stdout is JSON only
            if issubclass(warning.category, ConvergenceWarning):
                print(f"gradfit fit: warning: {warning.message}", file=sys.stderr)
    else:
        from .report import print_report

        print_report(result, quiet=args.quiet)
    return 0


def _unknown_data_message(data: str) -> str:
    from .data import DATASETS

    known = ", ".join(DATASETS)
    if os.path.isdir(data):
        return f"{data!r} is a directory; give a data file or an embedded dataset ({known})"
    if os.path.exists(data):
        return f"{data!r}: reading data files is not supported yet; use an embedded dataset ({known})"
    return f"data file {data!r} not found, and it is not an embedded dataset ({known}); check the path"


def run_datasets(args: argparse.Namespace) -> int:
    from .data import DATASETS

    rows = []
    for name, make in DATASETS.items():
        data = make()
        rows.append({"name": name, "features": data.feature_names, "target": data.target_name,
                     "n_train": len(data.y_train), "n_val": len(data.y_val), "description": data.description})
    if args.json:
        print(json.dumps({"datasets": rows}, indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Embedded datasets (use the name as DATA: gradfit fit NAME)", title_justify="left")
    for column in ("name", "features → target", "train", "validation", "description"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["name"], ", ".join(row["features"]) + " → " + row["target"], str(row["n_train"]),
                      str(row["n_val"]), row["description"])
    Console(highlight=False).print(table)
    return 0


def run_devices(args: argparse.Namespace) -> int:
    from .devices import auto_device, list_devices

    devices, auto = list_devices(), auto_device()
    if args.json:
        print(json.dumps({"devices": [{"name": d.name, "description": d.description,
                                       "memory_bytes": d.memory_bytes} for d in devices], "auto": auto}, indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Devices torch can use", title_justify="left")
    for column in ("--device", "what", "memory", "auto picks"):
        table.add_column(column)
    for d in devices:
        memory = f"{d.memory_bytes / 2**30:.1f} GiB" if d.memory_bytes else "-"
        table.add_row(d.name, d.description, memory, "←" if d.name == auto else "")
    console = Console(highlight=False)
    console.print(table)
    console.print(f"--device auto picks {auto} for the torch engine; the numpy and exact engines run on the CPU.")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 1 diverged, 2 bad input, 130 interrupted)."""
    parser = build_parser()
    prefix = "gradfit"
    try:
        args, extras = parser.parse_known_args(argv)
        if args.command is None:
            parser.print_help(sys.stderr)
            return 2
        prefix = f"gradfit {args.command}"
        if extras:
            raise UsageError(f"gradfit {args.command}: error: unrecognized argument(s) {' '.join(extras)} "
                             f"(see gradfit {args.command} --help)")
        return args.handler(args)
    except BadOptionError as error:
        print(f"{prefix}: error: {error.render(cli=True)}", file=sys.stderr)
        return error.exit_code
    except UsageError as error:
        print(f"{error}", file=sys.stderr)
        return error.exit_code
    except GradfitError as error:
        print(f"{prefix}: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print(f"{prefix}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. gradfit fit | head
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
