"""What every command shares: the effective options, the data DATA names, the process group,
and how warnings reach the terminal (signals: ``signals.py``)."""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from contextlib import contextmanager
from dataclasses import dataclass

from .. import config, limits
from ..errors import BadDataError, BadOptionError, CollinearityWarning, ConvergenceWarning, Rendered, option, require
from .options import effective_options, flag_text


def options_namespace(cli_args: argparse.Namespace, command: str) -> argparse.Namespace:
    """The effective options (defaults ← --config file ← flags) as attributes."""
    return argparse.Namespace(command=command, **effective_options(cli_args, command))


def api_options(args: argparse.Namespace, function: str, **resolved) -> dict:
    """The keyword options Python's ``function`` takes, as the command line set them (``resolved``
    overrides, e.g. ``standardize`` decided by the kind of data)."""
    values = {spec.name: getattr(args, spec.name) for spec in config.options_of(function) if hasattr(args, spec.name)}
    values.update(resolved)
    return values


@dataclass
class Data:
    """What DATA names: arrays from a file, or an embedded dataset."""

    x: object = None
    y: object = None
    names: list[str] | None = None
    target: str | None = None
    dataset: str | None = None
    source: str | None = None  # the file, for reports
    cluster: object = None  # the --cluster column's values
    weights: object = None  # the --weights column's values

    @property
    def is_file(self) -> bool:
        return self.dataset is None

    def arrays(self) -> dict:
        """Keyword arguments for gradfit.fit / gradfit.solve."""
        if self.dataset is not None:
            return {"dataset": self.dataset}
        arrays = {"x": self.x, "y": self.y, "names": self.names}
        for name in ("cluster", "weights"):
            if getattr(self, name) is not None:
                arrays[name] = getattr(self, name)
        return arrays


def load_data(args: argparse.Namespace) -> Data:
    """Read the file DATA names (or pick the embedded dataset), checking --target and --features."""
    from ..data import DATASETS, load_dataset

    if getattr(args, "formula", None):
        return formula_data(args)
    features = feature_list(args.features)
    if os.path.isfile(args.data) and _categorical(args, features):
        return formula_data(args)
    if args.data in DATASETS and not os.path.exists(args.data):
        data = load_dataset(args.data)
        if args.target not in (None, data.target_name):
            raise BadOptionError("target", args.target, f"the {data.name} dataset's target is {data.target_name!r}")
        if features not in (None, data.feature_names):
            raise BadOptionError("features", args.features,
                                 f"the {data.name} dataset's features are {', '.join(data.feature_names)}")
        for name in ("cluster", "weights"):
            if getattr(args, name, None):
                raise BadOptionError(name, getattr(args, name), f"the {data.name} dataset has no such column",
                                     "give a data file with one")
        return Data(dataset=data.name, target=data.target_name)
    if not os.path.exists(args.data):
        raise BadDataError(unknown_data_message(args.data))
    share = file_share(args)
    if share is not None:
        return Data(share, None, share.names, share.target, source=args.data)
    from ..data.files import read_table

    table = read_table(args.data, target=args.target, features=features, dropna=args.dropna,
                       labels=getattr(args, "cluster", None), weights=getattr(args, "weights", None))
    if table.n_dropped:
        print(f"gradfit {args.command}: note: dropped {table.n_dropped} row(s) with missing values (--dropna); "
              f"{len(table.y)} remain", file=sys.stderr)
    return Data(table.x, table.y, table.feature_names, table.target_name, source=args.data, cluster=table.labels,
                weights=table.weights)


def file_share(args: argparse.Namespace):
    """Under ``torchrun``, this process's share of the file (:mod:`gradfit.scale.shares`), when the
    run needs no more of it; else None (every process reads the whole file and keeps its share)."""
    from ..scale.shares import read_share, reads_shares

    group = getattr(args, "process_group", None)
    wanted = {name: getattr(args, name, None) for name in ("val_split", "dropna", "weights", "cluster", "poly",
                                                          "formula")}
    if (args.command not in ("fit", "solve") or getattr(args, "plot", None) or getattr(args, "influence", None)
            or args.target is None or not reads_shares(group, **wanted)):
        return None
    return read_share(args.data, group, target=args.target, features=feature_list(args.features))


def _categorical(args: argparse.Namespace, features: list[str] | None) -> bool:
    """Text or True/False columns among the features: then the fit goes through a formula of the
    columns (``target ~ a + g``), which encodes them as statsmodels would (``g[T.b]``, 0/1)."""
    from ..data.files import text_columns

    if args.target is None:
        return False
    extras = {args.target, getattr(args, "cluster", None), getattr(args, "weights", None)}
    names, text = text_columns(args.data, features, exclude=extras)
    if not text:
        return False
    require("formulaic", f"{args.data}: column {text[0]!r} holds text (or True/False), so it is a categorical term; "
                         "that")
    args.formula = f"{_quoted(args.target)} ~ " + " + ".join(_quoted(name) for name in names)
    args.features, args.auto_formula = None, True
    return True


def _quoted(name: str) -> str:
    """A column as a formula term: bare when a plain name, else in backticks."""
    return name if name.isidentifier() else "`" + name.replace("`", "") + "`"


def formula_data(args: argparse.Namespace) -> Data:
    """``--formula``: the whole file as a DataFrame, the formula naming its target and columns."""
    from ..data.files import read_frame
    from ..data.formula import formula_variables

    if not os.path.exists(args.data):
        raise BadDataError(f"data file {args.data!r} not found; a formula reads a CSV or Parquet file, so check "
                           "the path")
    from ..option_checks import formula_text

    args.formula = formula_text("formula", args.formula)  # (checked here: the file is read before the fit)
    target = args.formula.split("~", 1)[0].strip().strip("`")
    if args.features:
        raise BadOptionError("features", args.features, "the formula names the columns",
                             "leave --features out, or drop --formula")
    if args.target not in (None, target) and not getattr(args, "auto_formula", False):
        raise BadOptionError("target", args.target, f"the formula's target is {target!r}",
                             "leave --target out (the formula names it)")
    required = {name: getattr(args, name) for name in ("cluster", "weights") if getattr(args, name, None)}
    frame, n_dropped, _ = read_frame(args.data, formula_variables(args.formula, args.data) + list(required.values()),
                                     dropna=args.dropna, required=required)
    frame.attrs["source"] = args.data  # how the formula's messages name the data
    if n_dropped:
        print(f"gradfit {args.command}: note: dropped {n_dropped} row(s) with missing values (--dropna); "
              f"{len(frame)} remain", file=sys.stderr)
    return Data(frame, None, None, target, source=args.data, cluster=frame[args.cluster] if args.cluster else None,
                weights=frame[args.weights] if getattr(args, "weights", None) else None)


def check_outputs(args: argparse.Namespace) -> None:
    """Refuse now, before any training, a ``--save-model`` or ``--checkpoint`` file gradfit may not
    write (not a regular file, the input data itself): see :func:`gradfit.atomic.output_path`."""
    from ..atomic import output_path

    for name, what in (("save_model", "model"), ("checkpoint", "checkpoint"), ("influence", "influence table")):
        if getattr(args, name, None):
            output_path(getattr(args, name), what)


def needs_rows(args: argparse.Namespace) -> bool:
    """Whether the run needs the rows whole (a large file is then read whole, not streamed):
    formulas."""
    return bool(args.formula)


def refuse_streamed_formula(args: argparse.Namespace) -> None:
    """A formula with a streamed file: the formula needs the rows whole (for now)."""
    if args.formula:
        raise BadOptionError("formula", args.formula, "formula fits of rows streamed from a file are not available "
                             "yet", "leave --chunk-rows out to read the file whole")


def unknown_data_message(data: str) -> str:
    from ..data import DATASETS

    known = ", ".join(DATASETS)
    return f"data file {data!r} not found, and it is not an embedded dataset ({known}); check the path"


def positive_rows(name: str, value) -> int | None:
    """A positive whole number of rows from the command line (``--chunk-rows``), or None."""
    if value is None:
        return None
    try:
        number = int(str(value))
    except ValueError:
        number = 0
    if number < 1:
        raise BadOptionError(name, value, "must be a positive whole number of rows", f"e.g. {option(name, 100000)}")
    return number


def feature_list(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise BadOptionError("features", text, "has an empty column name",
                             f"separate names with commas: {option('features', 'a,b')}")
    return names


def is_large_file(path: str) -> bool:
    """A data file above :data:`gradfit.limits.STREAM_FILES_ABOVE`: streamed when the run allows it."""
    return os.path.isfile(path) and os.path.getsize(path) > limits.STREAM_FILES_ABOVE


def is_sweep(lr) -> bool:
    return "," in str(lr) or isinstance(lr, list)


@contextmanager
def process_group(args: argparse.Namespace):
    """Under torchrun: the process group this run joins (left when the command ends); else None."""
    from ..scale.distributed import launched

    if not launched():
        yield None
        return
    if args.command == "fit" and is_sweep(args.lr):
        raise BadOptionError("lr", args.lr, "a learning-rate sweep runs in one process",
                             "start it without torchrun, or give one rate")
    require("torch")
    from ..scale.distributed import start

    group = start(getattr(args, "device", "auto"), getattr(args, "timeout", None))
    finished = False
    args.process_group = group  # for the data: each process reads its share of a file (file_share)
    try:
        yield group
        finished = True
    finally:
        group.close(finished)


@contextmanager
def warnings_to_stderr(args: argparse.Namespace, shown_in_report: bool = False):
    """Collect gradfit's warnings and print each as one line on stderr (stdout may be JSON), with
    the options it names spelled as flags. A ConvergenceWarning is skipped when the terminal
    report already says it."""
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
