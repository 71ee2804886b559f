"""Read a user's CSV or Parquet file into validated float64 arrays, with one clear error per problem.

Every problem with a file raises :class:`~gradfit.errors.BadDataError` with a one-line message that
starts with the path and says what is wrong, where (line or row, column) and how to fix it, naming
options in the caller's words (``dropna=True`` from Python, ``--dropna`` from the command line).

Formats, by extension: ``.csv`` (comma-separated), ``.tsv`` (tab), ``.txt`` (the separator among
``, tab ; |`` that the header line uses, else runs of whitespace), each optionally compressed
(``.csv.gz``, ``.bz2``, ``.xz``); ``.parquet`` or ``.pq``. CSV text must be UTF-8 with a header
line; blank lines are skipped. Only the needed Parquet columns are read; a CSV file is parsed in
chunks and only the needed columns are kept.

Booleans: a Parquet ``bool`` column is read as 1.0/0.0 (its type says so); CSV text such as
``True``/``False`` is not a number and is an error. A Parquet file written by pandas with a
non-default index stores it as a column; it is not a default feature.

Where a message points: in a CSV file, ``line N`` is the 1-based line of the file, the header
being line 1 (so without blank lines, data row ``i`` counting from 0 is line ``i + 2``; a quoted
value spanning lines is reported at the line where its record starts). In a Parquet file,
``row N`` counts data rows from 1.

The modules beside this one do the parts: :mod:`~gradfit.data.file_checks` (the path and the
format), :mod:`~gradfit.data.csv_source` and :mod:`~gradfit.data.parquet_source` (the readers),
:mod:`~gradfit.data.columns` (which columns). pandas and PyArrow are imported inside the
functions that use them: ``import gradfit`` stays fast.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..atomic import mark_input
from ..errors import BadDataError, BadOptionError, option
from .columns import choose_columns, require_column
from .per_row import missing_labels
from .csv_source import CsvSource
from .file_checks import PARQUET_SUFFIXES, check_path, file_format
from .parquet_source import ParquetSource
from .read_rows import block_of, compact, read_rows, row_chunks
from .validate import Magnitudes


@dataclass(frozen=True, eq=False)  # eq=False: == on arrays is elementwise, not a bool
class TableData:
    """Numeric data read from a file.

    Attributes
    ----------
    x : numpy.ndarray
        Shape ``(n, d)``, float64 features, columns in the order of ``feature_names``.
    y : numpy.ndarray or None
        Shape ``(n,)``, float64 target; ``None`` when no target was read (prediction files).
    feature_names : list of str
    target_name : str or None
    n_dropped : int
        Rows dropped because they had a missing value (``dropna=True``).
    path : str
        The file, as the caller named it.
    labels, weights : numpy.ndarray or None
        ``(n,)`` the ``labels`` (as they are) and ``weights`` columns, when asked for.
    kept : numpy.ndarray or None
        ``(n,)`` the file's data rows (from 0) the arrays hold, when rows were dropped.
    """

    x: np.ndarray
    y: np.ndarray | None
    feature_names: list[str]
    target_name: str | None
    n_dropped: int
    path: str
    labels: np.ndarray | None = None  # (n,) the raw values of the ``labels`` column (cluster ids)
    weights: np.ndarray | None = None
    kept: np.ndarray | None = None


def read_table(path, *, target: str | None, features: list[str] | None = None, require_target: bool = True,
               dropna: bool = False, labels: str | None = None, weights: str | None = None) -> TableData:
    """Read the target and feature columns of a CSV or Parquet file (formats, and where messages
    point: the module's docstring) as float64 arrays.

    Parameters
    ----------
    path : str or os.PathLike
        The data file.
    target : str or None
        The target column. Required when ``require_target`` is true.
    features : list of str, optional
        Feature columns, kept in the given order. Default: every column except the target.
        Required when there is no target.
    require_target : bool, default True
        When false (prediction files) the target is read only if the file has it; otherwise
        ``y`` and ``target_name`` are ``None``.
    dropna : bool, default False
        Drop rows with a missing value (empty cell, ``NA``, ``NaN``, Parquet null) in a used
        column and count them in ``n_dropped``; by default such a row is an error.
    labels : str, optional
        A column read as it is (cluster ids, numbers or text), not a default feature.
    weights : str, optional
        A column of row weights (numbers, zero or more), not a default feature.

    Returns
    -------
    TableData
        ``x`` ``(n, d)``, ``y`` ``(n,)`` or ``None``, the names, ``n_dropped`` and ``labels``.
        Every problem with the file or the columns is a one-line :class:`~gradfit.BadDataError`
        (a string for ``features``: :class:`~gradfit.BadOptionError`).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> file = pathlib.Path(tempfile.mkdtemp()) / "houses.csv"
    >>> _ = file.write_text("size,rooms,price\\n50,2,100\\n80,3,150\\n")
    >>> data = read_table(file, target="price")
    >>> data.feature_names, data.x.shape, data.y
    (['size', 'rooms'], (2, 2), array([100., 150.]))
    >>> read_table(file, target="prize")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    gradfit.errors.BadDataError: ...houses.csv: no column 'prize' for target (did you mean 'price'?); ...
    """
    if isinstance(features, str):  # list("a,b") would quietly become ['a', ',', 'b']
        raise BadOptionError("features", features, "must be a list of column names, not one string",
                             f"pass features={features.split(',')!r}")
    path = os.fspath(path)
    check_path(path)  # before the format: a missing "data.cvs" is missing, not unsupported
    source = open_source(path, *file_format(path))
    try:
        return read_columns(source, path, target, features, require_target, dropna, labels, weights)
    finally:
        source.close()


def read_columns(source, path, target, features, require_target, dropna, labels, weights,
                 start: int = 0, stop: int | None = None, magnitudes: list | None = None) -> TableData:
    """:func:`read_table`'s columns of an open ``source``: its data rows ``[start, stop)`` (a
    process's share; messages name lines and rows of the whole file). ``magnitudes``: a list that
    receives the columns' :class:`~gradfit.data.validate.Magnitudes`, left unfinished (a share's
    columns are judged on every process's rows together), instead of finishing them here."""
    feature_names, target_name = choose_columns(source, target, features, require_target,
                                                exclude=tuple(c for c in (labels, weights) if c is not None))
    label_values = None if require_column(source, labels, "cluster") is None else \
        (labels, source.read_labels(labels))
    extra = [] if require_column(source, weights, "weights") is None else [weights]
    x, others, n_dropped, label_values, kept = _read_values(source, feature_names, extra, target_name, dropna,
                                                            label_values, start, stop, magnitudes)
    weight_values = None if weights is None else _check_weights(source, others[0], kept, weights)
    y = others[-1] if target_name is not None else None
    return TableData(x, y, feature_names, target_name, n_dropped, path, label_values, weight_values,
                     kept if n_dropped else None)


def _check_weights(source, weights: np.ndarray, kept: np.ndarray, name: str) -> np.ndarray:
    """The weights column: none negative (the file's line named), not all zero."""
    negative = weights < 0
    if negative.any():
        row = int(np.argmax(negative))
        where, _ = source.locate(int(kept[row]))
        raise BadDataError(f"{source.path}: {where}, column {name!r} (the weights) is {weights[row]:g}; weights must be "
                           "zero or more (a weight is the inverse of the row's error variance)")
    if not np.any(weights > 0):
        raise BadDataError(f"{source.path}: every weight in column {name!r} is zero; give some rows a positive weight")
    return np.ascontiguousarray(weights)


def text_columns(path, names: list[str] | None, exclude=()) -> tuple[list[str], list[str]]:
    """The columns ``names`` (default: every column but ``exclude``), and those among them that hold
    text (no value a number) or ``True``/``False``: the categorical and boolean columns a formula
    encodes. The file's first rows decide for CSV (a column of numbers with a stray word stays
    numeric, and its word an error); Parquet's types."""
    path = os.fspath(path)
    check_path(path)
    source = open_source(path, *file_format(path))
    try:
        names = list(names) if names is not None else [c for c in source.columns if c not in exclude]
        present = [name for name in names if name in source.columns]
        if isinstance(source, ParquetSource):
            import pyarrow as pa

            kinds = {name: source.schema.field(name).type for name in present}
            return names, [name for name, kind in kinds.items() if pa.types.is_string(kind)
                           or pa.types.is_large_string(kind) or pa.types.is_boolean(kind)
                           or pa.types.is_dictionary(kind)]
        with source.pandas_chunks(2_000) as chunks:
            first = next(iter(chunks), None)
    finally:
        source.close()
    return names, [] if first is None else [name for name in present if _is_text(first[name])]


def _is_text(column) -> bool:
    import pandas as pd

    values = column.dropna()
    if values.empty or pd.api.types.is_bool_dtype(values):
        return not values.empty
    if pd.api.types.is_numeric_dtype(values):
        return False
    return bool(pd.to_numeric(values, errors="coerce").isna().all())


def read_frame(path, used=(), dropna: bool = False, required: dict | None = None):
    """The whole of a CSV or Parquet file as a pandas DataFrame, each column's type as pandas or
    Parquet infers it (text stays text: formulas make it categorical); the rows dropped; and the
    file's data rows (from 0) the frame holds, ``None`` when it holds them all.

    With ``dropna`` a row missing a value in one of the ``used`` columns there is dropped (and
    counted); without it a missing value is left to the formula to report. ``required`` maps
    options to the columns they name (``{"cluster": "firm"}``), which must be there.
    """
    import pandas as pd

    path = os.fspath(path)
    check_path(path)
    source = open_source(path, *file_format(path))
    try:
        for option_name, name in (required or {}).items():
            require_column(source, name, option_name)
        if isinstance(source, ParquetSource):
            frame = source.file.read().to_pandas()
        else:
            with source.pandas_chunks(max(1_000, 1_000_000 // max(len(source.columns), 1))) as chunks:
                frame = pd.concat(list(chunks), ignore_index=True)
    finally:
        source.close()
    needed = [name for name in used if name in frame.columns]
    complete = frame[needed].notna().all(axis=1).to_numpy() if dropna and needed else None
    if complete is None or complete.all():
        return frame, 0, None
    if not complete.any():
        raise BadDataError(no_rows_left_message(path, len(frame), needed))
    kept = np.flatnonzero(complete)
    return frame.iloc[kept].reset_index(drop=True), len(frame) - len(kept), kept


def open_source(path: str, suffix: str, compression: str | None) -> CsvSource | ParquetSource:
    """The reader for a checked file of this format (:func:`~gradfit.data.file_checks.file_format`).

    Every data file is opened here (whole or in chunks), and registered as an input of this
    process: no output of the run may replace it (:func:`gradfit.atomic.mark_input`)."""
    mark_input(path)
    if suffix in PARQUET_SUFFIXES:
        return ParquetSource(path)
    return CsvSource(path, suffix, compression)


def _read_values(source, feature_names: list[str], extra: list[str], target_name: str | None, dropna: bool,
                 labels=None, start: int = 0, stop: int | None = None, unfinished: list | None = None):
    """The used columns as float64, each once (:func:`gradfit.data.read_rows.read_rows`): the
    features ``(n_kept, d)`` and the ``extra`` columns then the target, each ``(n_kept,)``; the rows
    dropped, the kept rows' ``labels`` (``(name, values)`` or None) and the kept file rows. Rows are
    checked a block at a time, in the order of the messages: missing values, infinite values,
    magnitudes."""
    names = feature_names + extra + ([target_name] if target_name is not None else [])
    positions = [source.columns.index(name) for name in names]
    x, others = read_rows(source, names, positions, target_name, len(feature_names), start, stop)
    if labels is not None:  # a missing label counts as a missing value of one more column
        labels = (labels[0], labels[1][start:stop])
    missing, first_infinite = _scan(x, others, None if labels is None else missing_labels(labels[1]))
    kept = _kept_rows(source, x, others, missing, positions, names, dropna, labels, start)  # (n_kept,) file rows
    n_dropped = len(x) - len(kept)
    if n_dropped:
        compact(x, others, kept)
        labels = None if labels is None else (labels[0], labels[1][kept])
        first_infinite = int(np.searchsorted(kept, first_infinite)) if first_infinite is not None else None
    if first_infinite is not None:
        row = slice(first_infinite, first_infinite + 1)
        check_finite(source, block_of(x, others, row), kept[row] + start, positions, names)
    magnitudes = Magnitudes([f"{source.path}: column {name!r}" for name in names])
    for rows in row_chunks(len(x), len(names)):
        magnitudes.add(block_of(x, others, rows))
    if unfinished is None:
        magnitudes.finish()
    else:
        unfinished.append(magnitudes)
    kept = kept + start if start else kept  # (n,) int64: not a second one for a whole file
    return x, others, n_dropped, None if labels is None else labels[1], kept


def _scan(x: np.ndarray, others: list[np.ndarray], missing_label) -> tuple[np.ndarray, int | None]:
    """Which rows miss a value ``(n,)``, and the first row without one that holds an infinity."""
    missing, first_infinite = np.zeros(len(x), dtype=bool), None
    for rows in row_chunks(len(x), x.shape[1] + len(others)):
        block = block_of(x, others, rows)
        missing[rows] = np.isnan(block).any(axis=1)
        if missing_label is not None:
            missing[rows] |= missing_label[rows]
        if first_infinite is None:
            infinite = np.isinf(block).any(axis=1) & ~missing[rows]
            if infinite.any():
                first_infinite = rows.start + int(np.argmax(infinite))
    return missing, first_infinite


def describe_missing(where: str, fields: list[str] | None, name: str, position: int, n_header: int | None) -> str:
    """What a missing value looks like at ``where`` (``line 7`` / ``row 7``), for the error.

    ``fields`` are the line's raw CSV fields (``None`` for Parquet), ``position`` the column's
    place among them, ``n_header`` the header's field count (``None`` to leave it out).

    >>> describe_missing("line 3", ["1", " ", "2"], "b", 1, 3)
    "line 3, column 'b' is empty"
    """
    if fields is None:
        return f"{where}, column {name!r} is missing (null or NaN)"
    if position >= len(fields):
        header = "" if n_header is None else f" ({len(fields)} fields, the header {n_header})"
        return f"{where} has no value for column {name!r}{header}"
    if fields[position].strip() == "":
        return f"{where}, column {name!r} is empty"
    return f"{where}, column {name!r} has the missing-value marker {fields[position]!r}"


def missing_value_fix(n_missing: int = 1) -> str:
    """How to put right ``n_missing`` rows with missing values: the end of the message."""
    if n_missing == 1:
        return f"fill it in, or use {option('dropna', True)} to drop rows with missing values"
    return f"{n_missing} rows have missing values: fill them in, or use {option('dropna', True)} to drop them"


def no_rows_left_message(path: str, n_rows: int, names: list[str]) -> str:
    """The message when dropping rows with missing values leaves none of the ``n_rows``."""
    return (f"{path}: every one of the {n_rows} rows has a missing value in the columns used "
            f"({', '.join(names)}), so {option('dropna', True)} leaves no data; fill in values or choose other columns")


def _kept_rows(source, x, others, missing: np.ndarray, positions, names, dropna: bool, labels, start: int
               ) -> np.ndarray:
    """The indices of the rows to keep; an error for a missing value unless ``dropna``."""
    n_missing = int(missing.sum())
    if not n_missing:
        return np.arange(len(missing))
    names = names + ([labels[0]] if labels is not None else [])
    if dropna:
        if n_missing == len(missing):
            raise BadDataError(no_rows_left_message(source.path, n_missing, names))
        return np.flatnonzero(~missing)
    row = int(np.argmax(missing))
    values = block_of(x, others, slice(row, row + 1))[0]
    flags = np.isnan(values).tolist() + ([True] if labels is not None else [])  # the label last, as it is
    j = flags.index(True)
    where, fields = source.locate(start + row)
    positions = positions + ([source.columns.index(labels[0])] if labels is not None else [])
    what = describe_missing(where, fields, names[j], positions[j], len(source.columns))
    raise BadDataError(f"{source.path}: {what}; {missing_value_fix(n_missing)}")


def check_finite(source, values: np.ndarray, kept: np.ndarray, positions, names) -> None:
    """Raise :class:`~gradfit.errors.BadDataError` naming the first infinite value of ``values``.

    ``values`` ``(m, k)`` holds no NaN; ``kept[i]`` is the row of ``values[i]`` that
    ``source.locate`` (and ``source.path``) places in the file; ``positions`` are the columns' places
    among a line's fields.
    """
    infinite = np.isinf(values)  # (m, k); NaN is gone by now
    if not infinite.any():
        return
    row, j = (int(i) for i in np.argwhere(infinite)[0])
    where, fields = source.locate(int(kept[row]))
    shown = repr(fields[positions[j]]) if fields is not None else repr(float(values[row, j]))
    raise BadDataError(
        f"{source.path}: {where}, column {names[j]!r} has {shown}, which is infinite as a float64; "
        "replace it with a finite number or remove the row"
    )
