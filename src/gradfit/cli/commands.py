"""What each command does: options → data → API call → report. No argument parsing here."""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from contextlib import contextmanager
from dataclasses import dataclass

from ..errors import BadDataError, BadOptionError, CollinearityWarning, ConvergenceWarning, Rendered, require
from .options import dump_config, effective_options, flag_text


def options_namespace(cli_args: argparse.Namespace, command: str) -> argparse.Namespace:
    """The effective options (defaults ← --config file ← flags) as attributes."""
    return argparse.Namespace(command=command, **effective_options(cli_args, command))


def run_config(cli_args: argparse.Namespace) -> int:
    """Print the effective ``fit`` configuration as TOML."""
    sys.stdout.write(dump_config(effective_options(cli_args, "fit")))
    return 0


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
    from ..data import DATASETS, load_dataset

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
    from ..data.files import read_table

    table = read_table(args.data, target=args.target, features=features, dropna=args.dropna)
    if table.n_dropped:
        print(f"gradfit {args.command}: note: dropped {table.n_dropped} row(s) with missing values (--dropna); "
              f"{len(table.y)} remain", file=sys.stderr)
    return _Data(table.x, table.y, table.feature_names, table.target_name, source=args.data)


def _positive_int(option: str, value) -> int | None:
    if value is None:
        return None
    try:
        number = int(str(value))
    except ValueError:
        number = 0
    if number < 1:
        flag = "--" + option.replace("_", "-")
        raise BadOptionError(option, value, "must be a positive whole number of rows", f"e.g. {flag} 100000")
    return number


def _feature_list(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise BadOptionError("features", text, "has an empty column name", "separate names with commas: --features a,b")
    return names


@contextmanager
def _process_group(args: argparse.Namespace):
    """Under torchrun: the process group this run joins (left when the command ends); else None."""
    from ..scale.distributed import launched

    if not launched():
        yield None
        return
    if args.command == "fit" and ("," in str(args.lr) or isinstance(args.lr, list)):
        raise BadOptionError("lr", args.lr, "a learning-rate sweep runs in one process",
                             "start it without torchrun, or give one rate")
    require("torch")
    from ..scale.distributed import start

    group = start(getattr(args, "device", "auto"))
    try:
        yield group
    finally:
        group.close()


def run_fit(cli_args: argparse.Namespace) -> int:
    args = options_namespace(cli_args, "fit")
    with _process_group(args) as group:
        return _run_fit(args, group)


def _run_fit(args: argparse.Namespace, group) -> int:
    from ..api import fit

    if args.plot:
        require("matplotlib")  # before the data is read and the model trained
    args.chunk_rows = _positive_int("chunk_rows", args.chunk_rows)
    if args.chunk_rows is not None or (_is_large_file(args.data) and _streamable(args)):
        return _run_fit_streaming(args, group)
    if args.shuffle_buffer is not None:
        raise BadOptionError("shuffle_buffer", args.shuffle_buffer, "applies to mini-batches streamed from a file",
                             "add --chunk-rows N, or leave --shuffle-buffer out (rows in memory are shuffled whole)")
    data = _load_data(args)
    standardize = data.is_file if args.standardize is None else args.standardize
    if "," in str(args.lr) or isinstance(args.lr, list):
        return _run_sweep(args, data, standardize)
    main = group is None or group.is_main  # only rank 0 prints and writes files
    callbacks = []
    if main and not (args.json or args.quiet):
        from ..training.callbacks import RichProgressCallback, progress_wanted

        if progress_wanted():
            callbacks.append(RichProgressCallback())
    with _warnings_to_stderr(args, shown_in_report=not args.json), _ctrl_c_stops_at_epoch_end():
        result = fit(
            **data.arrays(), lr=args.lr, **_fit_options(args, standardize), record_path=bool(args.plot),
            checkpoint=args.checkpoint, checkpoint_every=args.checkpoint_every, resume=args.resume,
            tensorboard=args.tensorboard, callbacks=callbacks or None, distributed=group,
        )
    if not main:
        return 0
    if data.is_file:
        result.dataset, result.target = data.source, data.target
    _report_fit(args, result)
    if args.plot:
        _write_plots(args, data, result, standardize)
    return 0


def _report_fit(args: argparse.Namespace, result) -> int:
    """``--save-model``, then the JSON or the terminal report."""
    if args.save_model:
        from ..results.model_file import save_model

        save_model(result.saved_model(target=result.target), args.save_model)
    if args.json:
        print(result.to_json())
    else:
        from ..results.report import print_report

        print_report(result, quiet=args.quiet, cli=flag_text)
    return 0


def _streamable(args: argparse.Namespace) -> bool:
    """Whether a fit can run from one streaming pass: the exact engine, nothing that needs the rows."""
    return (args.engine in ("auto", "exact") and args.batch_size is None and args.optimizer == "sgd"
            and args.model is None and args.scheduler is None and str(args.device) in ("auto", "cpu")
            and not args.val_split and not args.plot and not args.patience and "," not in str(args.lr))


def _run_fit_streaming(args: argparse.Namespace, group) -> int:
    """A file fitted from one streaming pass (``--chunk-rows``, or a large file): exact engine."""
    from ..pipeline.streaming_fit import fit_streaming

    if args.plot:
        raise BadOptionError("plot", args.plot, "the plots draw the rows, which a streamed fit does not hold",
                             "leave --chunk-rows out to read the file whole")
    if not os.path.exists(args.data):
        raise BadDataError(f"data file {args.data!r} not found; --chunk-rows streams a CSV or Parquet file, "
                           "so check the path")
    if args.target is None:
        raise BadOptionError("target", None, "is required for a data file", "name the column to predict: --target COL")
    main = group is None or group.is_main
    standardize = True if args.standardize is None else args.standardize
    given_apart = ("intercept", "poly", "standardize")
    options = {k: v for k, v in _fit_options(args, standardize).items() if k not in given_apart}
    with _warnings_to_stderr(args, shown_in_report=not args.json), _ctrl_c_stops_at_epoch_end():
        result = fit_streaming(
            args.data, target=args.target, features=_feature_list(args.features), chunk_rows=args.chunk_rows,
            dropna=args.dropna, intercept=args.intercept, poly=args.poly, standardize=standardize, lr=args.lr,
            checkpoint=args.checkpoint, checkpoint_every=args.checkpoint_every, resume=args.resume,
            tensorboard=args.tensorboard, distributed=group, shuffle_buffer=args.shuffle_buffer, **options)
    if not main:
        return 0
    if result.n_dropped:
        print(f"gradfit fit: note: dropped {result.n_dropped} row(s) with missing values (--dropna)", file=sys.stderr)
    return _report_fit(args, result)


def _write_plots(args: argparse.Namespace, data: "_Data", result, standardize: bool) -> None:
    """``--plot DIR``: the figures, from the same rows the fit used (on stderr: what was written)."""
    from ..api import _problem
    from ..config import FitConfig
    from ..figures.plots import skipped_plots, write_plots

    # The rows the fit used, chosen by the same code (the dataset's split, or the seeded one).
    cfg = FitConfig(val_split=args.val_split, seed=args.seed).validate()
    problem, _ = _problem(data.x, data.y, data.dataset, cfg, val=None, intercept=True, names=data.names)
    rows = (problem.x_train, problem.y_train, problem.x_val, problem.y_val)
    written = write_plots(result, *rows, args.plot, fit_options=_fit_options(args, standardize))
    where = sys.stderr if args.json else sys.stdout
    print(f"plots: {', '.join(str(p) for p in written)}", file=where)
    for name, reason in skipped_plots(result).items():
        print(f"plots: {name} skipped: {reason}", file=where)


def _fit_options(args: argparse.Namespace, standardize: bool) -> dict:
    return dict(engine=args.engine, model=args.model, optimizer=args.optimizer, epochs=args.epochs,
                batch_size=args.batch_size, seed=args.seed, device=args.device, dtype=args.dtype, tol=args.tol,
                val_split=args.val_split, intercept=args.intercept, poly=args.poly, standardize=standardize,
                alpha=args.alpha, patience=args.patience, scheduler=args.scheduler)


def _run_sweep(args: argparse.Namespace, data: "_Data", standardize: bool) -> int:
    """``--lr 0.01,0.1,0.5``: one run per rate and a comparison table."""
    from ..pipeline.sweep import sweep

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the table says converged or not for every rate
        runs = sweep(**data.arrays(), lr=args.lr, **_fit_options(args, standardize))
    rows = [run.row() for run in runs]
    if args.json:
        print(json.dumps({"sweep": rows}, indent=2, allow_nan=False))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Learning-rate sweep (one full run per rate)", title_justify="left")
    for column in ("lr", "train MSE", "validation MSE", "max |GD − closed form|", "converged", "diverged"):
        table.add_column(column, justify="right")
    for row in rows:
        fmt = (lambda v: "–" if v is None else f"{v:.6g}")
        table.add_row(f"{row['lr']:g}", fmt(row["train_loss"]), fmt(row["val_loss"]), fmt(row["max_abs_diff"]),
                      "yes" if row["converged"] else "no",
                      f"at epoch {row['diverged_at_epoch']}" if row["diverged"] else "no")
    console = Console(highlight=False)
    console.print(table)
    stable = next((run.result.lr_max_stable for run in runs if run.result is not None), None)
    if stable is not None:
        console.print(f"largest stable full-batch learning rate for this data: {stable:.4g}", markup=False)
    return 0


@contextmanager
def _ctrl_c_stops_at_epoch_end():
    """The first Ctrl-C asks the run to stop at the end of its epoch (and write its checkpoint);
    a second one interrupts at once."""
    import signal

    from ..api import clear_stop_request, request_stop

    def first(signum, frame):
        request_stop()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        print("\ngradfit fit: stopping at the end of this epoch (Ctrl-C again to abort now)", file=sys.stderr)

    try:
        previous = signal.signal(signal.SIGINT, first)
    except ValueError:  # not the main thread (e.g. called from a test runner's worker): no handler
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        clear_stop_request()


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
            message = warning.message
            text = message.render(flag_text) if isinstance(message, Rendered) else str(message)
            print(f"gradfit {args.command}: warning: {text}", file=sys.stderr)


def run_solve(cli_args: argparse.Namespace) -> int:
    args = options_namespace(cli_args, "solve")
    with _process_group(args) as group:
        return _run_solve(args, group)


def _run_solve(args: argparse.Namespace, group) -> int:
    from ..api import solve

    args.chunk_rows = _positive_int("chunk_rows", args.chunk_rows)
    if _is_large_file(args.data) or args.chunk_rows is not None:
        return _run_solve_streaming(args, group)
    data = _load_data(args)
    with _warnings_to_stderr(args):
        result = solve(**data.arrays(), intercept=args.intercept, poly=args.poly, alpha=args.alpha,
                       target=data.target, distributed=group)
    if group is not None and not group.is_main:
        return 0
    if data.is_file:
        result.dataset = data.source
    if args.json:
        print(result.to_json())
    else:
        print(result.summary())
    return 0


# Data files above this size are solved by streaming (row groups / CSV chunks), so memory stays
# about one chunk whatever the file's size; smaller files are read whole and solved exactly.
STREAM_FILES_ABOVE = 64 * 2**20


def _is_large_file(path: str) -> bool:
    return os.path.isfile(path) and os.path.getsize(path) > STREAM_FILES_ABOVE


def _run_solve_streaming(args: argparse.Namespace, group=None) -> int:
    from ..pipeline.streaming_solve import solve_streaming

    if not os.path.exists(args.data):
        raise BadDataError(f"data file {args.data!r} not found; --chunk-rows streams a CSV or Parquet file, "
                           "so check the path")
    with _warnings_to_stderr(args):
        result = solve_streaming(args.data, target=args.target, features=_feature_list(args.features),
                                 intercept=args.intercept, poly=args.poly, alpha=float(args.alpha), dropna=args.dropna,
                                 chunk_rows=args.chunk_rows, distributed=group)
    if group is not None and not group.is_main:
        return 0
    if result.n_dropped:
        print(f"gradfit solve: note: dropped {result.n_dropped} row(s) with missing values (--dropna)", file=sys.stderr)
    if result.needs_refinement:
        print(f"gradfit solve: warning: ill-conditioned data streamed in float64: coefficients accurate to about "
              f"{result.estimated_error:.1g} relative", file=sys.stderr)
    print(result.to_json() if args.json else result.summary())
    return 0


def run_predict(args: argparse.Namespace) -> int:
    from ..data.files import read_table
    from ..results.model_file import load_model

    model = load_model(args.model)
    if not os.path.exists(args.data):
        raise BadDataError(f"data file {args.data!r} not found; check the path")
    table = read_table(args.data, target=None, features=model.features, require_target=False, dropna=args.dropna)
    predictions = model.predict(table.x)  # (n,)
    column = f"{model.target}_predicted" if model.target else "prediction"
    if args.out:
        from ..atomic import atomic_write_text

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
    from ..data import DATASETS

    known = ", ".join(DATASETS)
    return f"data file {data!r} not found, and it is not an embedded dataset ({known}); check the path"


def run_datasets(args: argparse.Namespace) -> int:
    from ..data import DATASETS

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
    from ..scale.devices import auto_device, list_devices

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




def run_bench(args: argparse.Namespace) -> int:
    from ..bench import suite as bench
    from ..scale.devices import resolve_device

    device = resolve_device(args.device)
    rows = bench.run(quick=args.quick, device=device)
    if args.json:
        print(bench.to_json(rows))
    else:
        print(f"Measured on {bench.machine()}\n")
        print(bench.table(rows))
    if args.out:
        from ..atomic import atomic_write_text

        import datetime

        stamp = datetime.date.today().isoformat()
        size = "quick (10x smaller problems)" if args.quick else "full size"
        atomic_write_text(args.out, f"# gradfit bench\n\nMeasured {stamp} on {bench.machine()}; {size}; device "
                          f"{device}. Ratios are gradfit's time over the baseline's, measured in the same run "
                          f"(lower is better).\n\n{bench.table(rows)}\n")
    return 0


def run_graph(args: argparse.Namespace) -> int:
    from ..figures.graph import write_graph

    model = args.model or "manual"
    if model not in ("manual", "linear"):
        raise BadOptionError("model", args.model, "unknown model", "choose manual or linear")
    try:
        n_features = int(args.features)
    except ValueError:
        raise BadOptionError("features", args.features, "must be a whole number of features") from None
    written, note = write_graph(args.out, model=model, n_features=n_features)
    for path in written:
        print(path)
    if note:
        print(f"gradfit graph: note: {note}", file=sys.stderr)
    return 0


def run_lr_find(cli_args: argparse.Namespace) -> int:
    """The LR range test for the torch engine's linear model, with its plot."""
    from ..training.lr_range import find_lr

    args = options_namespace(cli_args, "fit")
    args.plot = cli_args.plot
    if args.plot:
        require("matplotlib")
    data = _load_data(args)
    standardize = data.is_file if args.standardize is None else args.standardize
    found = find_lr(**data.arrays(), model=args.model, optimizer=args.optimizer, batch_size=args.batch_size,
                    seed=args.seed, device=args.device, dtype=args.dtype, intercept=args.intercept, poly=args.poly,
                    standardize=standardize)
    if cli_args.plot:
        from ..figures.plots import plot_lr_find

        plot_lr_find(found.lrs, found.losses, found.suggested_lr, cli_args.plot)
    if args.json:
        print(json.dumps({"suggested_lr": found.suggested_lr, "min_loss_lr": found.min_loss_lr,
                          "diverged": found.diverged, "lrs": list(map(float, found.lrs)),
                          "losses": [float(v) if v == v and abs(v) != float("inf") else None for v in found.losses]},
                         indent=2))
        return 0
    print(f"suggested learning rate: {found.suggested_lr:.4g} (steepest fall of the smoothed loss); lowest loss "
          f"at lr {found.min_loss_lr:.4g}" + ("; the loss blew up past it" if found.diverged else ""))
    if cli_args.plot:
        print(f"plot: {cli_args.plot}")
    return 0
