"""The options of ``fit`` and ``solve``: one table drives argparse, TOML config files and
``gradfit config``, so a flag and a config key can never drift apart."""

from __future__ import annotations

import argparse
import difflib
import os
from dataclasses import dataclass

from ..errors import BadDataError, BadOptionError


@dataclass(frozen=True)
class Option:
    """One option: ``dest`` is its name in Python and in TOML, ``flag`` on the command line."""

    dest: str
    section: str  # TOML table: data, model, training, output
    default: object
    help: str
    flag: str | None = None  # default: --dest-with-dashes
    kind: str = "value"  # value | switch (store True) | negated (--no-X stores False) | boolean (--X/--no-X)
    metavar: str | None = None
    commands: tuple[str, ...] = ("fit",)
    path: bool = False  # a file or folder: relative paths in a config file are relative to that file

    @property
    def cli_flag(self) -> str:
        return self.flag or "--" + self.dest.replace("_", "-")


DATA, SOLVE = ("fit", "solve"), ("fit", "solve")
OPTIONS: list[Option] = [
    # [data]: what is fitted
    Option("data", "data", "book", "a CSV or Parquet file, or an embedded dataset (see gradfit datasets)",
           commands=DATA, path=True),
    Option("target", "data", None, "the column to predict (required for data files)", metavar="COL", commands=DATA),
    Option("features", "data", None, "feature columns, comma-separated (default: every other column)",
           metavar="A,B,…", commands=DATA),
    Option("intercept", "data", True, "fit y ≈ x·w without b", flag="--no-intercept", kind="negated",
           commands=DATA),
    Option("poly", "data", None, "polynomial terms x, x², …, x^DEG of the one feature", metavar="DEG",
           commands=DATA),
    Option("dropna", "data", False, "drop rows with missing values (and say how many)", kind="switch",
           commands=DATA),
    Option("chunk_rows", "data", None, "stream the file N rows at a time, never holding it whole (solve; fit: full "
           "batch on the exact engine, mini-batches through --shuffle-buffer). Files above 64 MiB stream by default "
           "when the run allows it",
           metavar="N", commands=DATA),
    Option("alpha", "data", 0.05, "confidence intervals at 1 − alpha (default 0.05: 95%%)", commands=SOLVE),
    Option("val_split", "data", None, "hold out this fraction for validation (default: the embedded dataset's "
           "own split, none for files; 0 for none)", metavar="F"),
    Option("standardize", "data", None, "run GD on centred and scaled data, report on the original scale "
           "(default: on for data files, off for embedded datasets)", kind="boolean"),
    # [model]: what is trained, where
    Option("engine", "model", "auto", "auto (default), numpy, torch or exact"),
    Option("model", "model", None, "torch module: manual (nn.Parameter b and w; default) or linear (nn.Linear)"),
    Option("device", "model", "auto", "auto (default), cpu, cuda or cuda:N (torch engine)"),
    Option("dtype", "model", None, "float32 or float64 (default: float32 for torch, float64 otherwise)"),
    # [training]: how
    Option("optimizer", "training", "sgd", "sgd (default) or adam (torch engine)"),
    Option("lr", "training", 0.1, "learning rate, or auto (from the loss curvature); default 0.1"),
    Option("epochs", "training", 1000, "passes over the training rows (default 1000)", metavar="N"),
    Option("batch_size", "training", None, "rows per update: omit for full batch, 1 for stochastic", metavar="N"),
    Option("shuffle_buffer", "training", None, "with --chunk-rows and --batch-size: rows shuffled together as they "
           "stream from the file (default about 64 MiB of rows)", metavar="N"),
    Option("seed", "training", 42, "seeds initial values and shuffling (default 42)", metavar="N"),
    Option("tol", "training", 1e-4, "converged when the final scale-free gradient norm (features and target at "
           "unit variance) is at most tol (default 1e-4)"),
    Option("patience", "training", None, "early stopping: stop after N epochs without a better validation loss "
           "and keep the best epoch's weights", metavar="N"),
    Option("scheduler", "training", None, "learning-rate schedule (torch engine): step (halve every 100 epochs), "
           "cosine (to 0 over --epochs) or plateau (x0.1 after 10 epochs without improvement)"),
    Option("resume", "training", None, "continue the run saved in this checkpoint up to --epochs in total",
           metavar="PATH", path=True),
    # [output]
    Option("json", "output", False, "print one JSON object on stdout and nothing else", kind="switch",
           commands=SOLVE),
    Option("quiet", "output", False, "hide the update trace", kind="switch"),
    Option("save_model", "output", None, "write the fitted model as JSON (for gradfit predict)", metavar="PATH",
           path=True),
    Option("checkpoint", "output", None, "save a checkpoint here every epoch (or --checkpoint-every N), at the "
           "end and on Ctrl-C", metavar="PATH", path=True),
    Option("checkpoint_every", "output", None, "epochs between checkpoints (default 1)", metavar="N"),
    Option("tensorboard", "output", None, "write TensorBoard logs (losses, lr, parameters, graph) into DIR",
           metavar="DIR", path=True),
    Option("plot", "output", None, "write losses.png, fit.png, path.png, modes.png and lr.png into DIR",
           metavar="DIR", path=True),
]
BY_DEST = {option.dest: option for option in OPTIONS}


def flag_text(name: str, value: object, has_value: bool) -> str:
    """How the command line spells option ``name`` (with ``value``) in a message: ``--lr 0.4``,
    ``--dropna``, ``--no-intercept``. The renderer of :meth:`gradfit.errors.GradfitError.render`."""
    option = BY_DEST.get(name)
    flag = option.cli_flag if option else "--" + name.replace("_", "-")
    if option is None or option.kind == "value" or not has_value:
        return f"{flag} {value}" if has_value else flag
    if option.kind == "boolean":
        return flag if value else "--no-" + flag[2:]
    return flag  # a switch (--dropna) or a negated default (--no-intercept) has one spelling


def add_arguments(parser: argparse.ArgumentParser, command: str) -> None:
    """Add ``command``'s options; every default is ``None`` so we can tell what was typed."""
    groups: dict[str, argparse._ArgumentGroup] = {}
    for option in OPTIONS:
        if command not in option.commands:
            continue
        if option.dest == "data":
            parser.add_argument("data", nargs="?", metavar="DATA", help=option.help + " (default: book)")
            continue
        group = groups.setdefault(option.section, parser.add_argument_group(option.section))
        if option.kind == "switch":
            group.add_argument(option.cli_flag, dest=option.dest, action="store_const", const=True, help=option.help)
        elif option.kind == "negated":
            group.add_argument(option.cli_flag, dest=option.dest, action="store_const", const=False,
                               help=option.help)
        elif option.kind == "boolean":
            group.add_argument(option.cli_flag, dest=option.dest, action=argparse.BooleanOptionalAction,
                               help=option.help)
        else:
            group.add_argument(option.cli_flag, dest=option.dest, metavar=option.metavar, help=option.help)
    if command == "fit":
        parser.add_argument_group("config").add_argument(
            "--config", metavar="FILE", help="read options from a TOML file (flags on the command line win)")


def effective_options(args: argparse.Namespace, command: str) -> dict:
    """Defaults, then the ``--config`` file, then the flags typed: the options a run uses."""
    values = {o.dest: o.default for o in OPTIONS if command in o.commands}
    config = getattr(args, "config", None)
    if config:
        values.update({k: v for k, v in load_config(config).items() if k in values})
    values.update({dest: getattr(args, dest) for dest in values if getattr(args, dest, None) is not None})
    return values


def load_config(path: str) -> dict:
    """Read a TOML config file: ``[data]``, ``[model]``, ``[training]``, ``[output]`` tables.

    Unknown tables or keys are errors (with a suggestion); relative paths are taken relative
    to the file's folder.
    """
    import tomllib

    try:
        with open(path, "rb") as handle:
            document = tomllib.load(handle)
    except FileNotFoundError:
        raise BadDataError(f"config file {path!r} not found; check the path") from None
    except IsADirectoryError:
        raise BadDataError(f"config file {path!r} is a directory; give a .toml file") from None
    except tomllib.TOMLDecodeError as error:
        raise BadDataError(f"config file {path!r} is not valid TOML: {error}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise BadDataError(f"cannot read config file {path!r}: {error}") from None
    sections = sorted({o.section for o in OPTIONS})
    values: dict = {}
    for section, table in document.items():
        if section not in sections or not isinstance(table, dict):
            hint = _did_you_mean(section, sections)
            raise BadDataError(f"{path}: unknown table [{section}]{hint}; the tables are "
                               + ", ".join(f"[{s}]" for s in sections))
        for key, value in table.items():
            option = BY_DEST.get(key)
            if option is None or option.section != section:
                where = f" (it belongs in [{option.section}])" if option else _did_you_mean(
                    key, [o.dest for o in OPTIONS if o.section == section])
                raise BadDataError(f"{path}: unknown option {key!r} in [{section}]{where}")
            if key == "features" and isinstance(value, list):
                value = ",".join(str(v) for v in value)
            if option.kind in ("switch", "negated", "boolean") and not isinstance(value, bool):
                raise BadOptionError(key, value, f"in {path} [{section}] must be true or false")
            if option.path and isinstance(value, str) and not os.path.isabs(value):
                candidate = os.path.join(os.path.dirname(os.path.abspath(path)), value)
                # An embedded dataset's name is not a path.
                value = value if key == "data" and not os.path.exists(candidate) else candidate
            values[key] = value
    return values


def dump_config(values: dict) -> str:
    """The options as a TOML document, every option listed (unset ones as comments)."""
    import tomli_w

    lines = ["# gradfit fit configuration: gradfit fit --config FILE (flags on the command line win)"]
    for section in ("data", "model", "training", "output"):
        lines.append(f"\n[{section}]")
        for option in (o for o in OPTIONS if o.section == section and o.dest in values):
            value = values[option.dest]
            if value is None:
                lines.append(f"# {option.dest} =  # unset: {option.help}")
            else:
                lines.append(tomli_w.dumps({option.dest: _toml_value(option, value)}).strip())
    return "\n".join(lines) + "\n"


def _toml_value(option: Option, value):
    """Command-line strings back to TOML types where they are numbers."""
    if isinstance(value, str) and option.kind == "value" and option.dest not in ("data", "target", "features"):
        for convert in (int, float):
            try:
                return convert(value)
            except ValueError:
                pass
    return value


def _did_you_mean(name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
