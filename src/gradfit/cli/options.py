"""The command line's options: :class:`gradfit.config.FitConfig`'s declarations and the few only
the command line has. One table drives argparse, TOML config files and ``gradfit config``, so a
flag, a config key and a Python keyword can never drift apart."""

from __future__ import annotations

import argparse
import difflib
import json
import os
import typing

from .. import config
from ..atomic import mark_input
from ..data.file_checks import check_regular
from ..config import Option
from ..errors import BadDataError, BadOptionError, render


# What only the command line has: the data file and its columns, what to print and write. The
# options of the fit itself are gradfit.config.FitConfig's declarations.
BOTH, DATA = ("fit", "solve"), ("fit", "solve", "lr-find", "path")
CLI_ONLY: list[Option] = [
    Option("data", "book", "data", "a CSV or Parquet file, or an embedded dataset (see gradfit datasets)", "",
           commands=DATA, path=True, python=()),
    Option("target", None, "data", "the column to predict (required for data files)", "", metavar="COL",
           commands=DATA, python=()),
    Option("features", None, "data", "feature columns, comma-separated (default: every other column)", "",
           metavar="A,B,…", commands=DATA, python=()),
    Option("dropna", False, "data", "drop rows with missing values (and say how many)", "", kind="switch",
           commands=DATA, python=()),
    Option("weights", None, "data", "the column of row weights for weighted least squares (as statsmodels' WLS: "
           "a weight is 1 / the row's error variance)", "", metavar="COL", commands=BOTH + ("path",), python=()),
    Option("cluster", None, "data", "the column of cluster ids (numbers or text) for --cov cluster", "", metavar="COL",
           commands=BOTH, python=()),
    Option("chunk_rows", None, "data", "stream the file N rows at a time, never holding it whole (solve; fit: "
           "full batch on the exact engine, mini-batches through --shuffle-buffer). Files above 64 MiB stream by "
           "default when the run allows it (mini-batches: when their rows would not fit in the memory free)", "", metavar="N", commands=BOTH, python=()),
    Option("json", False, "output", "print one JSON object on stdout and nothing else", "", kind="switch",
           commands=DATA, python=()),
    Option("quiet", False, "output", "hide the update trace", "", kind="switch", python=()),
    Option("save_model", None, "output", "write the fitted model as JSON (for gradfit predict)", "",
           metavar="PATH", path=True, python=()),
    Option("influence", None, "output", "write each row's leverage, studentized residuals, Cook's distance and "
           "DFFITS to FILE (CSV)", "", metavar="FILE", path=True, commands=("solve",), python=()),
    Option("plot", None, "output", "write losses.png, fit.png, path.png, modes.png and lr.png into DIR", "",
           metavar="DIR", path=True, commands=("fit", "lr-find", "path"), python=()),
]
# The value each of them takes in a config file (FitConfig's fields say it for the others).
CLI_ONLY_TYPES = {"data": str, "target": str, "features": str, "cluster": str, "weights": str, "chunk_rows": int, "save_model": str, "plot": str, "influence": str}
# Where a command uses an option its own way, its --help says so.
COMMAND_HELP = {
    ("lr-find", "plot"): "write the range test's plot to DIR/lr_find.png (DIR is created; a path ending in .png "
                         "is written as that file)",
    ("lr-find", "batch_size"): "rows per step of the range test, as gradfit fit would use them: omit for full "
                               "batch, 1 for stochastic",
    ("lr-find", "epochs"): "check the suggestion with full-batch gradient descent over N epochs, as gradfit fit "
                           "would run it (default 1000)",
    ("lr-find", "tol"): "the convergence test of that check, as for gradfit fit (default 1e-4)",
    ("lr-find", "optimizer"): "sgd (default: plain gradient descent, bounded by the curvature) or adam",
    ("path", "plot"): "write the path's figure (coefficients against λ, and the CV curve with --cv) to "
                      "DIR/path.png (DIR is created; a path ending in .png is written as that file)",
}
# The commands that read --config FILE.
CONFIG_COMMANDS = ("fit", "lr-find")
SECTIONS = ("data", "model", "training", "output")
OPTIONS: list[Option] = sorted(
    CLI_ONLY + [spec for spec in config.options() if spec.commands],
    key=lambda spec: SECTIONS.index(spec.section))  # stable: declaration order within a table
BY_DEST = {option.name: option for option in OPTIONS}
_FIELD_TYPES = typing.get_type_hints(config.FitConfig)  # the declared type of each option's value


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
        add_flag(group, option, COMMAND_HELP.get((command, option.name), option.help))
    if command in CONFIG_COMMANDS:
        own = "" if command == "fit" else f"; {command} takes the options it uses and leaves the others"
        parser.add_argument_group("config").add_argument(
            "--config", metavar="FILE", help=f"read options from a TOML file (flags on the command line win{own})")


def add_flag(group, option: Option, text: str) -> None:
    """The argparse argument of ``option`` (its flag, kind and metavar; default ``None``)."""
    if option.kind == "switch":
        group.add_argument(option.cli_flag, dest=option.name, action="store_const", const=True, help=text)
    elif option.kind == "negated":
        group.add_argument(option.cli_flag, dest=option.name, action="store_const", const=False, help=text)
    elif option.kind == "boolean":
        group.add_argument(option.cli_flag, dest=option.name, action=argparse.BooleanOptionalAction, help=text)
    else:
        group.add_argument(option.cli_flag, dest=option.name, metavar=option.metavar, help=text)


def flag_owners(flag: str) -> list[str]:
    """The commands that take ``flag`` (``--lr``, ``--no-standardize``, ``--lr=0.1``)."""
    name = flag.split("=", 1)[0]
    owners = [command for option in OPTIONS for command in option.commands
              if name in (option.cli_flag, "--no-" + option.cli_flag[2:])]
    return list(dict.fromkeys(owners + (list(CONFIG_COMMANDS) if name == "--config" else [])))


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

    Unknown tables or keys are errors (with a suggestion); every value is checked against the
    option it sets (its type, then its value) and a mistake is one line naming the file, the
    table, the key, what was given and what is expected. Relative paths are taken relative to
    the file's folder.
    """
    document = _read_toml(path)
    sections = sorted({o.section for o in OPTIONS})
    values: dict = {}
    for section, table in document.items():
        if not isinstance(table, dict):
            raise BadDataError(_outside_tables(path, section, table, sections))
        if section not in sections:
            raise BadDataError(f"{path}: unknown table [{section}]{_did_you_mean(section, sections)}; the tables are "
                               + ", ".join(f"[{s}]" for s in sections))
        for key, value in table.items():
            option = BY_DEST.get(key)
            if option is None or option.section != section:
                where = f" (it belongs in [{option.section}])" if option else _did_you_mean(
                    key, [o.name for o in OPTIONS if o.section == section])
                raise BadDataError(f"{path}: unknown option {key!r} in [{section}]{where}")
            check_config_value(path, section, option, value)
            values[key] = _config_value(path, option, value)
    return values


def _read_toml(path: str) -> dict:
    import tomllib

    if os.path.exists(path):  # a FIFO would wait forever; a missing file is said below
        check_regular(path, "a config file", "give a .toml file")
    mark_input(path)
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise BadDataError(f"config file {path!r} not found; check the path") from None
    except IsADirectoryError:
        raise BadDataError(f"config file {path!r} is a directory; give a .toml file") from None
    except tomllib.TOMLDecodeError as error:
        raise BadDataError(f"config file {path!r} is not valid TOML: {error}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise BadDataError(f"cannot read config file {path!r}: {error}") from None


def _outside_tables(path: str, key: str, value, sections: list[str]) -> str:
    """The message for ``key = value`` written above every table header (TOML's top level)."""
    given = f"{key} = {toml_text(value)}"
    option = BY_DEST.get(key)
    if option is not None:
        return (f"{path}: {given} is outside any table; {key} belongs in [{option.section}]: write "
                f"[{option.section}] on a line above {key} = …")
    close = difflib.get_close_matches(key, [o.name for o in OPTIONS], n=1)
    hint = f" (did you mean {close[0]!r}, in [{BY_DEST[close[0]].section}]?)" if close else ""
    return (f"{path}: {given} is outside any table and {key!r} is not an option{hint}; options go in the tables "
            + ", ".join(f"[{s}]" for s in sections))


def _config_value(path: str, option: Option, value):
    """A checked config value as the command line would give it: column lists joined, paths
    relative to the config file's folder."""
    if option.name == "features" and isinstance(value, list):
        return ",".join(value)
    if option.path and not os.path.isabs(value):
        candidate = os.path.join(os.path.dirname(os.path.abspath(path)), value)
        # An embedded dataset's name is not a path.
        return value if option.name == "data" and not os.path.exists(candidate) else candidate
    return value


def check_config_value(path: str, section: str, option: Option, value) -> None:
    """Raise :class:`~gradfit.errors.BadDataError` unless ``value`` (from TOML) is of the type
    ``option`` takes, and a value its check accepts; the message names file, table and key."""
    where = f"{path}: [{section}] {option.name} = {toml_text(value)}"
    expected = _expected(option, value)
    if expected is not None:
        raise BadDataError(f"{where}: must be {expected}")
    if option.parse is None:
        return
    items = value if isinstance(value, list) else [value]  # a list: the rates of a sweep
    if option.name == "lr" and isinstance(value, str):
        items = value.split(",")  # "0.01,0.1", as gradfit config writes --lr 0.01,0.1
    for item in items:
        try:
            option.parse(option.name, item)
        except BadOptionError as error:
            raise BadDataError(f"{where}: {render(error.template, _toml_reference)}") from None


def value_types(option: Option) -> tuple[type, ...]:
    """The TOML value types ``option`` takes: from FitConfig's annotations (or
    :data:`CLI_ONLY_TYPES`), ``bool`` for switches."""
    if option.kind != "value":
        return (bool,)
    hint = _FIELD_TYPES.get(option.name) or CLI_ONLY_TYPES[option.name]
    return tuple(t for t in (typing.get_args(hint) or (hint,)) if t is not type(None))


def _expected(option: Option, value) -> str | None:
    """What ``option`` takes, when ``value`` is not of that type (None when it is)."""
    types = value_types(option)
    if option.name == "features":
        if isinstance(value, str) or (isinstance(value, list) and value and all(isinstance(v, str) for v in value)):
            return None
        return 'a list of column names in quotes, e.g. features = ["size", "rooms"] (or one string "size,rooms")'
    if option.name == "lr":
        items = value if isinstance(value, list) and value else [value]
        if isinstance(value, str) or all(_is_a(v, (float,)) for v in items):
            return None
        return 'a number, "auto", or a list of numbers (a sweep), e.g. lr = 0.1'
    if _is_a(value, types):
        return None
    words = {bool: "true or false", int: "an integer", float: "a number", str: "text in quotes"}
    text = " or ".join(words[t] for t in types)
    if types == (str,) and not isinstance(option.command_default, str) and not isinstance(value, (list, dict)):
        return f"{text}: {option.name} = {toml_text(str(value))}"  # a column or a path: the same, quoted
    if isinstance(value, str) and _is_a(_number(value), types):
        return f"{text}, without quotes: {option.name} = {value.strip()}"
    example = True if types == (bool,) else option.command_default
    return text + (f", e.g. {option.name} = {toml_text(example)}" if example is not None else "")


def _is_a(value, types: tuple[type, ...]) -> bool:
    if isinstance(value, bool):
        return bool in types
    if isinstance(value, int):
        return int in types or float in types
    return isinstance(value, float) and float in types or isinstance(value, str) and str in types


def _number(text: str):
    for convert in (int, float):
        try:
            return convert(text.strip())
        except ValueError:
            pass
    return None


def toml_text(value) -> str:
    """``value`` as TOML writes it (short: long strings and lists are cut), for messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value if len(value) <= 60 else value[:57] + "…", ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml_text(v) for v in value[:4]) + (", …" if len(value) > 4 else "") + "]"
    if isinstance(value, dict):
        items = [f"{k} = {toml_text(v)}" for k, v in list(value.items())[:3]]
        return "{" + ", ".join(items) + (", …" if len(value) > 3 else "") + "}"
    return str(value)


def _toml_reference(name: str, value: object, has_value: bool) -> str:
    """How a config file spells an option reference in a message: ``lr = 0.1``."""
    if not has_value:
        return name
    return f"{name} = {value if isinstance(value, str) and _number(value) is not None else toml_text(value)}"


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
