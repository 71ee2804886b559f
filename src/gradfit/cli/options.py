"""The command line's options: :class:`gradfit.config.FitConfig`'s declarations and the few only
the command line has. One table drives argparse, TOML config files and ``gradfit config``, so a
flag, a config key and a Python keyword can never drift apart."""

from __future__ import annotations

import argparse
import difflib
import os

from .. import config
from ..config import Option
from ..errors import BadDataError, BadOptionError


# What only the command line has: the data file and its columns, what to print and write. The
# options of the fit itself are gradfit.config.FitConfig's declarations.
FILE, BOTH = ("fit", "solve"), ("fit", "solve")
CLI_ONLY: list[Option] = [
    Option("data", "book", "data", "a CSV or Parquet file, or an embedded dataset (see gradfit datasets)", "",
           commands=BOTH, path=True, python=()),
    Option("target", None, "data", "the column to predict (required for data files)", "", metavar="COL",
           commands=BOTH, python=()),
    Option("features", None, "data", "feature columns, comma-separated (default: every other column)", "",
           metavar="A,B,…", commands=BOTH, python=()),
    Option("dropna", False, "data", "drop rows with missing values (and say how many)", "", kind="switch",
           commands=BOTH, python=()),
    Option("chunk_rows", None, "data", "stream the file N rows at a time, never holding it whole (solve; fit: "
           "full batch on the exact engine, mini-batches through --shuffle-buffer). Files above 64 MiB stream by "
           "default when the run allows it", "", metavar="N", commands=BOTH, python=()),
    Option("json", False, "output", "print one JSON object on stdout and nothing else", "", kind="switch",
           commands=BOTH, python=()),
    Option("quiet", False, "output", "hide the update trace", "", kind="switch", python=()),
    Option("save_model", None, "output", "write the fitted model as JSON (for gradfit predict)", "",
           metavar="PATH", path=True, python=()),
    Option("plot", None, "output", "write losses.png, fit.png, path.png, modes.png and lr.png into DIR", "",
           metavar="DIR", path=True, python=()),
]
SECTIONS = ("data", "model", "training", "output")
OPTIONS: list[Option] = sorted(
    CLI_ONLY + [spec for spec in config.options() if spec.commands],
    key=lambda spec: SECTIONS.index(spec.section))  # stable: declaration order within a table
BY_DEST = {option.name: option for option in OPTIONS}


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
        if option.name == "data":
            parser.add_argument("data", nargs="?", metavar="DATA", help=option.help + " (default: book)")
            continue
        group = groups.setdefault(option.section, parser.add_argument_group(option.section))
        if option.kind == "switch":
            group.add_argument(option.cli_flag, dest=option.name, action="store_const", const=True, help=option.help)
        elif option.kind == "negated":
            group.add_argument(option.cli_flag, dest=option.name, action="store_const", const=False,
                               help=option.help)
        elif option.kind == "boolean":
            group.add_argument(option.cli_flag, dest=option.name, action=argparse.BooleanOptionalAction,
                               help=option.help)
        else:
            group.add_argument(option.cli_flag, dest=option.name, metavar=option.metavar, help=option.help)
    if command == "fit":
        parser.add_argument_group("config").add_argument(
            "--config", metavar="FILE", help="read options from a TOML file (flags on the command line win)")


def effective_options(args: argparse.Namespace, command: str) -> dict:
    """Defaults, then the ``--config`` file, then the flags typed: the options a run uses."""
    values = {o.name: o.command_default for o in OPTIONS if command in o.commands}
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
                    key, [o.name for o in OPTIONS if o.section == section])
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
        for option in (o for o in OPTIONS if o.section == section and o.name in values):
            value = values[option.name]
            if value is None:
                lines.append(f"# {option.name} =  # unset: {option.help}")
            else:
                lines.append(tomli_w.dumps({option.name: _toml_value(option, value)}).strip())
    return "\n".join(lines) + "\n"


def _toml_value(option: Option, value):
    """Command-line strings back to TOML types where they are numbers."""
    if isinstance(value, str) and option.kind == "value" and option.name not in ("data", "target", "features"):
        for convert in (int, float):
            try:
                return convert(value)
            except ValueError:
                pass
    return value


def _did_you_mean(name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
