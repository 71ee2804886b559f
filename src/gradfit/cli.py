"""The command line: parse arguments → options → API call → report. Nothing else lives here."""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings

from . import __version__
from contextlib import contextmanager
from dataclasses import dataclass

from .errors import BadDataError, BadOptionError, CollinearityWarning, ConvergenceWarning, GradfitError

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
    _add_data_arguments(fit)
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
    training.add_argument("--val-split", help="hold out this fraction for validation (default: the embedded "
                          "dataset's own split, none for files; 0 for none)")
    training.add_argument("--standardize", action=argparse.BooleanOptionalAction, default=None,
                          help="run GD on centred and scaled data, report on the original scale (default: on "
                          "for data files, off for embedded datasets)")
    output = fit.add_argument_group("output")
    output.add_argument("--json", action="store_true", help="print one JSON object on stdout and nothing else")
    output.add_argument("--quiet", action="store_true", help="hide the update trace")
    output.add_argument("--save-model", metavar="PATH", help="write the fitted model as JSON (for gradfit predict)")
    fit.set_defaults(handler=run_fit)

    solve = commands.add_parser(
        "solve", help="the exact least-squares fit and its statistics (no gradient descent)",
        description="Solve least squares exactly (QR, refined in exact arithmetic when ill-conditioned) and "
        "print statsmodels-style statistics: coefficients, standard errors, t, p, confidence intervals, R², F, "
        "log-likelihood, AIC, BIC, condition number.",
        epilog="examples:\n  gradfit solve houses.csv --target price\n"
        "  gradfit solve filip.csv --target y --poly 10 --json\n  gradfit solve longley.csv --target y --alpha 0.01",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_data_arguments(solve)
    solve.add_argument("--json", action="store_true", help="print one JSON object on stdout and nothing else")
    solve.set_defaults(handler=run_solve)

    predict = commands.add_parser(
        "predict", help="predictions from a model saved by gradfit fit --save-model",
        description="Predict with a saved model. DATA must have the model's feature columns; the output is "
        "CSV (the features and a prediction column) on stdout or in --out.",
        epilog="examples:\n  gradfit fit houses.csv --target price --save-model model.json\n"
        "  gradfit predict model.json new_houses.csv --out predictions.csv\n"
        "  gradfit predict model.json new_houses.csv --json", formatter_class=argparse.RawDescriptionHelpFormatter)
    predict.add_argument("model", metavar="MODEL", help="a model file written by --save-model")
    predict.add_argument("data", metavar="DATA", help="a CSV or Parquet file with the model's feature columns")
    predict.add_argument("--out", metavar="FILE", help="write the predictions as CSV to FILE (atomically)")
    predict.add_argument("--json", action="store_true", help='print {"predictions": [...]} on stdout')
    predict.add_argument("--dropna", action="store_true", help="drop rows with missing values")
    predict.set_defaults(handler=run_predict)

    datasets = commands.add_parser("datasets", help="list the embedded datasets",
                                   description="List the datasets that ship with gradfit.")
    datasets.add_argument("--json", action="store_true", help="print JSON")
    datasets.set_defaults(handler=run_datasets)

    devices = commands.add_parser("devices", help="CPUs and GPUs torch can use, and what auto picks",
                                  description="List the devices torch can see and which one --device auto picks.")
    devices.add_argument("--json", action="store_true", help="print JSON")
    devices.set_defaults(handler=run_devices)
    return parser


def _add_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", nargs="?", default="book", metavar="DATA",
                        help="a CSV or Parquet file, or an embedded dataset (default: book; see gradfit datasets)")
    data = parser.add_argument_group("data")
    data.add_argument("--target", metavar="COL", help="the column to predict (required for data files)")
    data.add_argument("--features", metavar="A,B,…", help="feature columns (default: every other column)")
    data.add_argument("--no-intercept", action="store_true", help="fit y ≈ x·w without b")
    data.add_argument("--poly", metavar="DEG", help="polynomial terms x, x², …, x^DEG of the one feature")
    data.add_argument("--dropna", action="store_true", help="drop rows with missing values (and say how many)")
    data.add_argument("--alpha", default="0.05", help="confidence intervals at 1 − alpha (default 0.05: 95%%)")


@dataclass
class _Data:
    """What DATA names: arrays from a file, or an embedded dataset."""

    x: object = None
    y: object = None
    names: list[str] | None = None
    target: str | None = None
    dataset: str | None = None
    source: str | None = None  # the file, for reports

    @property
    def is_file(self) -> bool:
        return self.dataset is None

    def arrays(self) -> dict:
        """Keyword arguments for gradfit.fit / gradfit.solve."""
        if self.dataset is not None:
            return {"dataset": self.dataset}
        return {"x": self.x, "y": self.y, "names": self.names}


def _load_data(args: argparse.Namespace) -> _Data:
    from .data import DATASETS, load_dataset

    features = _feature_list(args.features)
    if args.data in DATASETS and not os.path.exists(args.data):
        data = load_dataset(args.data)
        if args.target not in (None, data.target_name):
            raise BadOptionError("target", args.target, f"the {data.name} dataset's target is {data.target_name!r}")
        if features not in (None, data.feature_names):
            raise BadOptionError("features", args.features,
                                 f"the {data.name} dataset's features are {', '.join(data.feature_names)}")
        return _Data(dataset=data.name, target=data.target_name)
    if not os.path.exists(args.data):
        raise BadDataError(_unknown_data_message(args.data))
    from .data.files import read_table

    table = read_table(args.data, target=args.target, features=features, dropna=args.dropna)
    if table.n_dropped:
        print(f"gradfit {args.command}: note: dropped {table.n_dropped} row(s) with missing values (--dropna); "
              f"{len(table.y)} remain", file=sys.stderr)
    return _Data(table.x, table.y, table.feature_names, table.target_name, source=args.data)


def _feature_list(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise BadOptionError("features", text, "has an empty column name", "separate names with commas: --features a,b")
    return names


def run_fit(args: argparse.Namespace) -> int:
    from .api import fit

    data = _load_data(args)
    standardize = data.is_file if args.standardize is None else args.standardize
    with _warnings_to_stderr(args, shown_in_report=not args.json):
        result = fit(
            **data.arrays(), engine=args.engine, model=args.model, optimizer=args.optimizer, lr=args.lr,
            epochs=args.epochs, batch_size=args.batch_size, seed=args.seed, device=args.device,
            dtype=args.dtype, tol=args.tol, val_split=args.val_split, intercept=not args.no_intercept,
            poly=args.poly, standardize=standardize, alpha=args.alpha,
        )
    if data.is_file:
        result.dataset, result.target = data.source, data.target
    if args.save_model:
        from .model_file import save_model

        save_model(result.saved_model(target=result.target), args.save_model)
    if args.json:
        print(result.to_json())
    else:
        from .report import print_report

        print_report(result, quiet=args.quiet)
    return 0


@contextmanager
def _warnings_to_stderr(args: argparse.Namespace, shown_in_report: bool = False):
    """Collect gradfit's warnings and print each as one line on stderr (stdout may be JSON).

    A ConvergenceWarning is skipped when the terminal report already says it.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        warnings.simplefilter("always", CollinearityWarning)
        yield
    for warning in caught:
        if issubclass(warning.category, ConvergenceWarning) and shown_in_report:
            continue
        if issubclass(warning.category, (ConvergenceWarning, CollinearityWarning)):
            print(f"gradfit {args.command}: warning: {warning.message}", file=sys.stderr)


def run_solve(args: argparse.Namespace) -> int:
    from .api import solve

    data = _load_data(args)
    with _warnings_to_stderr(args):
        result = solve(**data.arrays(), intercept=not args.no_intercept, poly=args.poly, alpha=args.alpha,
                       target=data.target)
    if data.is_file:
        result.dataset = data.source
    if args.json:
        print(result.to_json())
    else:
        print(result.summary())
    return 0


def run_predict(args: argparse.Namespace) -> int:
    from .data.files import read_table
    from .model_file import load_model

    model = load_model(args.model)
    if not os.path.exists(args.data):
        raise BadDataError(f"data file {args.data!r} not found; check the path")
    table = read_table(args.data, target=None, features=model.features, require_target=False, dropna=args.dropna)
    predictions = model.predict(table.x)  # (n,)
    column = f"{model.target}_predicted" if model.target else "prediction"
    if args.out:
        from .atomic import atomic_write_text

        atomic_write_text(args.out, _csv_text(table.feature_names + [column], table.x, predictions))
    if args.json:
        print(json.dumps({"predictions": predictions.tolist()}))
    elif not args.out:
        sys.stdout.write(_csv_text(table.feature_names + [column], table.x, predictions))
    return 0


def _csv_text(header: list[str], x, predictions) -> str:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row, value in zip(x.tolist(), predictions.tolist()):
        writer.writerow([repr(v) for v in row] + [repr(value)])  # repr: shortest exact float text
    return buffer.getvalue()


def _unknown_data_message(data: str) -> str:
    from .data import DATASETS

    known = ", ".join(DATASETS)
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
