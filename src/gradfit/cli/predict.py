"""``gradfit predict MODEL DATA``: a saved model's predictions, written beside the input columns
they belong to (``--keep``), so they can be joined back to an id.

By default every column of DATA is kept, in its order and exactly as the file spells it (text,
ids with leading zeros, empty cells), and the prediction comes last: nothing the user had is
lost, and the output is DATA with one column more. ``--keep COL,…`` chooses the columns (any
type) and their order; ``--keep ''`` writes the prediction alone.
"""

from __future__ import annotations

import argparse
import csv
import difflib
import io
import os
import sys

import numpy as np

from ..errors import BadDataError, BadOptionError

SHOWN_COLUMNS = 20  # columns listed in a message before "…"


def run_predict(args: argparse.Namespace) -> int:
    from ..results.json_form import json_text
    from ..results.model_file import load_model

    model = load_model(args.model)
    if not os.path.exists(args.data):
        raise BadDataError(f"data file {args.data!r} not found; check the path")
    keep = keep_list(args.keep)
    if keep is not None and args.json and not args.out:
        raise BadOptionError("keep", args.keep, "chooses the columns of the CSV output, and --json prints the "
                             "predictions alone", "add --out FILE to write the CSV too, or leave --keep out")
    inputs, rows = _inputs(model, args)
    outputs = _predictions(model, inputs, args)  # {column: (n,)}
    predictions = next(iter(outputs.values()))
    text = None
    if args.out or not args.json:
        names, cells = kept_columns(args.data, keep, list(outputs), rows)
        if any(len(cell) != len(predictions) for cell in cells):  # never write a prediction beside another row
            raise BadDataError(f"{args.data}: the kept columns have {len(cells[0])} rows and the predictions "
                               f"{len(predictions)}; use --keep '' for the predictions alone")
        text = csv_text(names + list(outputs), cells, np.column_stack(list(outputs.values())))
    if args.out:
        from ..atomic import atomic_write_text

        atomic_write_text(args.out, text, what="predictions")
    if args.json:
        keys = ("predictions", "lower", "upper")
        print(json_text(dict(zip(keys, outputs.values()))))
    elif not args.out:
        sys.stdout.write(text)
    return 0


def _inputs(model, args: argparse.Namespace):
    """What the model reads from DATA (its feature columns, or a DataFrame for a formula) and the
    file rows kept (``None``: all of them)."""
    from ..data.files import read_frame, read_table

    if model.formula is not None:  # (a column the formula reads and DATA lacks: the formula says so)
        frame, n_dropped, kept = read_frame(args.data, model.features, dropna=args.dropna)
        _note_dropped(n_dropped, len(frame))
        return frame, kept
    table = read_table(args.data, target=None, features=model.features, require_target=False, dropna=args.dropna)
    _note_dropped(table.n_dropped, len(table.x))
    return table.x, table.kept


def _note_dropped(n_dropped: int, n_left: int) -> None:
    if n_dropped:
        print(f"gradfit predict: note: dropped {n_dropped} row(s) with missing values (--dropna); "
              f"{n_left} remain", file=sys.stderr)


def _predictions(model, x, args: argparse.Namespace) -> dict[str, np.ndarray]:
    """``<target>_predicted`` and, with ``--interval``, ``<target>_lower`` and ``<target>_upper``."""
    stem = model.target or "prediction"
    column = f"{model.target}_predicted" if model.target else "prediction"
    if args.interval is None:
        return {column: model.predict(x, where=args.data)}
    frame = model.predict(x, interval=args.interval, alpha=args.alpha, where=args.data)
    return {column: frame["prediction"].to_numpy(), f"{stem}_lower": frame["lower"].to_numpy(),
            f"{stem}_upper": frame["upper"].to_numpy()}


def keep_list(text: str | None) -> list[str] | None:
    """``--keep A,B`` as names; ``None``: not given (every column); ``''``: none."""
    if text is None:
        return None
    if not text.strip():
        return []
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise BadOptionError("keep", text, "has an empty column name", "separate names with commas: --keep id,date")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise BadOptionError("keep", text, f"names {', '.join(map(repr, repeated))} more than once",
                             "list each column once")
    return names


def kept_columns(path: str, keep: list[str] | None, written: list[str],
                 rows: np.ndarray | None) -> tuple[list[str], list[list[str]]]:
    """The names and the text ``(k lists of n cells)`` of the columns ``keep`` names (``None``:
    every column), for the rows the prediction has (``rows``: the file rows kept when some had
    missing features, as ``--dropna`` leaves them out); ``written`` are the prediction's columns."""
    from ..data.file_checks import file_format
    from ..data.files import open_source
    from ..data.parquet_source import ParquetSource

    source = open_source(path, *file_format(path))
    try:
        names = list(source.columns) if keep is None else keep
        _check_kept(path, names, source.columns, written)
        positions = [source.columns.index(name) for name in names] if keep is not None else \
            list(range(len(source.columns)))
        cells = _parquet_cells(source, names) if isinstance(source, ParquetSource) else _csv_cells(source, positions)
        if rows is not None:  # the rows the reader kept (its own read decided, so they agree)
            cells = [[cell[i] for i in rows] for cell in cells]
    finally:
        source.close()
    return names, cells


def _check_kept(path: str, names: list[str], columns: list[str], written: list[str]) -> None:
    for name in names:
        if name not in columns:
            close = difflib.get_close_matches(name, columns, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            shown = ", ".join(columns[:SHOWN_COLUMNS]) + (", …" if len(columns) > SHOWN_COLUMNS else "")
            raise BadOptionError("keep", ",".join(names), f"{path} has no column {name!r}{hint}; its columns are "
                                 f"{shown}")
    for column in written:
        _check_not_kept(names, columns, column, path)


def _check_not_kept(names: list[str], columns: list[str], column: str, path: str) -> None:
    if column in names:
        others = ",".join(n for n in names if n != column) or "''"
        raise BadOptionError("keep", ",".join(names) if names != columns else None,
                             f"{path} already has a column {column!r}, the name of the prediction column",
                             f"leave it out: --keep {others}")


def _csv_cells(source, positions: list[int]) -> list[list[str]]:
    """CSV columns as the file spells them (every value text: no number is re-written, no empty
    cell becomes NaN)."""
    import pandas as pd

    frame = pd.read_csv(source.path, sep=source.sep or r"\s+", header=0, index_col=False, skip_blank_lines=True,
                        encoding="utf-8", compression=source.compression, dtype=str, keep_default_na=False)
    return [frame.iloc[:, position].tolist() for position in positions]


def _parquet_cells(source, names: list[str]) -> list[list[str]]:
    """Parquet columns of any type as text: numbers as Python writes them, nulls empty."""
    table = source.file.read(columns=names)
    return [["" if v is None else repr(v) if isinstance(v, float) else str(v) for v in table.column(name).to_pylist()]
            for name in names]


def csv_text(header: list[str], cells: list[list[str]], predictions: np.ndarray) -> str:
    """CSV of the kept columns' text and the predictions ``(n,)`` or ``(n, k)`` (``repr``: the
    shortest exact float text)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    rows = predictions.reshape(len(predictions), -1).tolist()
    for i, values in enumerate(rows):
        writer.writerow([cell[i] for cell in cells] + [repr(value) for value in values])
    return buffer.getvalue()
