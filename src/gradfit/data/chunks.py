"""Rows in chunks, for one streaming pass: in-memory arrays (views), Parquet batches, CSV blocks.

Each source is an iterable of ``(x, y)`` with ``x`` ``(m, d)`` and ``y`` ``(m,)``; iterating again
starts a fresh pass. It knows ``feature_names`` and ``target_name``. File sources check their
columns up front as :func:`gradfit.data.files.read_table` does (same messages), then convert and
check each chunk as it comes: a missing or infinite value in any chunk is a
:class:`~gradfit.errors.BadDataError` naming the file, the row (Parquet, counting from 1) or line
(CSV, the header being line 1) and the column. Only the needed columns are read; pandas and
PyArrow are imported when a file is read.
"""

from __future__ import annotations

import os

import numpy as np

from .. import limits
from ..option_checks import check_count, poly_degree
from ..errors import BadDataError, BadOptionError
from . import files
from .batches import share
from .columns import choose_columns, require_column
from .csv_source import labels_of
from .per_row import missing_labels
from .design import choose_one_feature, poly_fix, polynomial_design
from .file_checks import CSV_SUFFIXES, PARQUET_SUFFIXES, check_path, file_format, one_line
from .parquet_source import batches_ahead
from .validate import Magnitudes, check_magnitudes, mismatch_message, numeric_array, series_name


def default_chunk_rows(width: int) -> int:
    """Rows per chunk for ``width`` columns: about ``limits.CHUNK_CELLS`` cells (a million), from
    ``limits.MIN_CHUNK_ROWS`` to ``limits.MAX_CHUNK_ROWS`` rows (1,024 to 65,536).

    >>> default_chunk_rows(3), default_chunk_rows(100), default_chunk_rows(10_000)
    (65536, 10485, 1024)
    """
    cells = limits.CHUNK_CELLS // max(width, 1)
    return int(min(limits.MAX_CHUNK_ROWS, max(limits.MIN_CHUNK_ROWS, cells)))


class ArrayChunks:
    """Row blocks of in-memory arrays, as views (no copies; other dtypes are converted per chunk).

    Examples
    --------
    >>> chunks = iter_array_chunks(np.arange(10.0).reshape(5, 2), np.arange(5.0), rows=2)
    >>> [(x.shape, y.shape) for x, y in chunks]
    [((2, 2), (2,)), ((2, 2), (2,)), ((1, 2), (1,))]
    >>> np.shares_memory(next(iter(chunks))[0], chunks.x)
    True
    """

    def __init__(self, x, y, rows: int | None = None, names: list[str] | None = None) -> None:
        columns, target = getattr(x, "columns", None), series_name(y)
        x, y = _array(x, "x"), _array(y, "y")
        x_shape, y_shape = x.shape, y.shape
        if x.ndim == 1:
            x = x[:, None]  # one feature: (n,) -> (n, 1), a view
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if x.ndim != 2:
            raise BadDataError(f"x has shape {x_shape}: expected (n_samples,) for one feature "
                               "or (n_samples, n_features)")
        if y.ndim != 1:
            raise BadDataError(f"y has shape {y_shape}: expected (n_samples,) or (n_samples, 1)")
        if len(x) != len(y):
            raise BadDataError(mismatch_message(x_shape, y_shape, "x", "y"))
        self.x, self.y = x, y
        self.rows = _rows(rows, x.shape[1] + 2)
        d = x.shape[1]
        self.feature_names = list(names or ([str(c) for c in columns] if columns is not None else
                                            (["x"] if d == 1 else [f"x{j + 1}" for j in range(d)])))
        if len(self.feature_names) != d:
            raise BadDataError(f"{len(self.feature_names)} feature names given for {d} features; "
                               "give one name per column of x")
        # In memory: judged whole before any pass computes with them (two reads, no copy).
        check_magnitudes(x, [f"x column {name!r}" for name in self.feature_names])
        check_magnitudes(y[:, None], ["y" if target is None else f"y ({target!r})"])
        self.target_name = None
        self.n_rows = len(y)
        self.n_dropped = 0
        self.chunk_positions = None  # the rows (from 0) of the last chunk handed on

    def __iter__(self):
        for start in range(0, self.n_rows, self.rows):
            self.chunk_positions = np.arange(start, min(start + self.rows, self.n_rows))
            yield self.x[start:start + self.rows], self.y[start:start + self.rows]


def iter_array_chunks(x, y, rows: int | None = None, *, names: list[str] | None = None) -> ArrayChunks:
    """``(x[i:i+rows], y[i:i+rows])`` for each block of rows: views of the arrays, never copies.

    ``x`` may be ``(n,)`` (one feature) or ``(n, d)``; ``y`` ``(n,)`` or ``(n, 1)``. Values are
    checked for NaN and infinity as they are accumulated, chunk by chunk.
    """
    return ArrayChunks(x, y, rows, names)


class _Labelled:
    """What the file readers share: a chunk's values checked with its labels (a missing label is
    a missing value), the kept rows' labels left in :attr:`chunk_labels` for the consumer."""

    labels: str | None = None
    chunk_labels: np.ndarray | None = None
    _last: tuple | None = None  # (first file row, kept chunk rows or None for all, rows) of the last chunk

    @property
    def chunk_positions(self) -> np.ndarray | None:
        """The file rows (from 0) of the last chunk's kept rows, made when asked (a pass may not ask)."""
        if self._last is None:
            return None
        offset, kept, rows = self._last
        return np.arange(offset, offset + rows) if kept is None else offset + kept

    def locate(self, index: int) -> str:
        """Where file row ``index`` (from 0, as :attr:`chunk_positions` counts) is: ``line N`` of a
        CSV file, ``row N`` of a Parquet one (for messages about a chunk's rows)."""
        source = getattr(self, "source", None)
        return source.locate(index)[0] if source is not None else f"row {index + 1}"

    def _kept(self, values: np.ndarray, labels, rows: _Rows, positions, squares=None) -> np.ndarray:
        names, where = self.columns, positions
        if labels is not None:
            squares = None  # (of the values only: the labels' column joins them here)
            values = np.column_stack([values, np.where(missing_labels(labels), np.nan, 0.0)])
            names = names + [self.labels]
            where = None if positions is None else positions + [self.source.columns.index(self.labels)]
        values, kept = _checked_values(values, rows, names, where, self.dropna, self, labels is not None, squares)
        self._last = (rows.offset, kept, len(values))
        if labels is not None:
            values, self.chunk_labels = values[:, :-1], (labels if kept is None else labels[kept])
        return values


class ParquetChunks(_Labelled):
    """The target and feature columns of a Parquet file, batch by batch (a row group at a time).

    ``part=(rank, world_size)`` reads only this process's row groups: contiguous groups, each
    process taking those that start in its share of the rows (a file of one row group is read by
    rank 0 alone; files written with several row groups spread evenly)."""

    contiguous_parts = True  # the processes' parts follow one another in rank order

    def __init__(self, path, target: str, features: list[str] | None = None, rows: int | None = None, *,
                 dropna: bool = False, part: tuple[int, int] | None = None, labels: str | None = None) -> None:
        source = _open(path, PARQUET_SUFFIXES)
        try:
            self.feature_names, self.target_name = choose_columns(source, target, features, True,
                                                                  exclude=() if labels is None else (labels,))
            self.labels = require_column(source, labels, "cluster")
            self.columns = self.feature_names + [self.target_name]
            source.check_numeric(self.columns, self.target_name)
            self.n_rows = int(source.file.metadata.num_rows)
        finally:
            source.close()
        self.path, self.dropna, self.part = source.path, bool(dropna), part
        self.rows = _rows(rows, len(self.columns) + 1)
        self.n_dropped = 0

    def _row_groups(self, file) -> tuple[list[int] | None, int]:
        """The row groups this process reads (``None``: all) and the file row its first one starts at."""
        if self.part is None:
            return None, 0
        rank, world_size = self.part
        mine = share(self.n_rows, rank, world_size)
        chosen, first_row, row = [], None, 0
        for group in range(file.metadata.num_row_groups):
            if mine.start <= row < mine.stop:
                chosen.append(group)
                first_row = row if first_row is None else first_row
            row += file.metadata.row_group(group).num_rows
        return chosen, first_row or 0

    def __iter__(self):
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.n_dropped, offset, kept = 0, 0, 0
        self.magnitudes = _magnitudes(self)
        d = len(self.feature_names)
        where = _Rows(self.path, lambda i: (f"row {i + 1}", None))  # Parquet rows count from 1
        # Buffered page by page, not pre-buffered a row group (or several) at a time: memory stays
        # near one batch (~200 MB peak for a 20M-row file, instead of growing with the row groups).
        # Not memory-mapped either: mapped pages would count as this process's memory. Columns are
        # decoded in parallel by Arrow's pool (gradfit.scale.threads sizes it to this process's cores).
        try:
            file = pq.ParquetFile(self.path, buffer_size=1 << 20, pre_buffer=False)
        except (pa.ArrowException, OSError) as exc:
            raise BadDataError(f"{self.path}: damaged Parquet file ({one_line(exc)}); export it again") from None
        try:
            row_groups, offset = self._row_groups(file)
            if row_groups == []:  # another process reads every row group
                return
            columns = self.columns + ([self.labels] if self.labels else [])
            for values, labels, squares in batches_ahead(self.path, file, self.rows, columns, row_groups,
                                                         len(self.columns)):
                m = len(values)  # values (m, d + 1): x, then y
                values = self._kept(values, labels, where.at(offset), None, squares)
                offset += m
                kept += len(values)
                if len(values):
                    yield values[:, :d], values[:, d]
        finally:
            file.close()
        if self.part is None:  # a process's part may be empty; the run as a whole is checked
            _check_any_kept(self, offset, kept)
            self.magnitudes.finish()  # (a part's small values may sit beside another's large ones)


def iter_parquet_chunks(path, target: str, features: list[str] | None = None, rows: int | None = None, *,
                        dropna: bool = False) -> ParquetChunks:
    """Batches of ``rows`` rows of a Parquet file (only the needed columns), as float64 ``(x, y)``.

    The file is read page by page (buffered, not pre-buffered), so memory stays near one batch
    whatever the size of the file or of its row groups. Column problems (unknown, non-numeric,
    duplicated) raise at once with the messages of :func:`gradfit.data.files.read_table`; a null,
    NaN or infinite value raises when its batch is read, naming its row (counting from 1) and
    column. ``dropna`` drops rows with missing values instead and counts them in ``n_dropped``.
    """
    return ParquetChunks(path, target, features, rows, dropna=dropna)


class CsvChunks(_Labelled):
    """The target and feature columns of a CSV file, parsed by pandas ``rows`` rows at a time.

    ``part=(rank, world_size)``: every process parses the file (text has no index to seek by)
    but converts, checks and hands on only blocks ``rank, rank + world_size, …``."""

    contiguous_parts = False  # interleaved blocks: the rows' order is not the processes' order

    def __init__(self, path, target: str, features: list[str] | None = None, rows: int | None = None, *,
                 dropna: bool = False, part: tuple[int, int] | None = None, labels: str | None = None) -> None:
        self.source = _open(path, CSV_SUFFIXES)
        self.feature_names, self.target_name = choose_columns(self.source, target, features, True,
                                                              exclude=() if labels is None else (labels,))
        self.labels = require_column(self.source, labels, "cluster")
        self.columns = self.feature_names + [self.target_name]
        self.positions = [self.source.columns.index(name) for name in self.columns]
        self.path, self.dropna, self.part = self.source.path, bool(dropna), part
        self.rows = _rows(rows, len(self.source.columns))
        self.n_rows = None  # unknown until read
        self.n_dropped = 0

    def __iter__(self):
        source, d = self.source, len(self.feature_names)
        self.n_dropped, offset, kept = 0, 0, 0
        self.magnitudes = _magnitudes(self)
        where = _Rows(self.path, source.locate)  # "line N" and the raw fields, by re-reading the file
        # As in read_table, every column is parsed and the needed ones kept (see CsvSource.pandas_chunks).
        with source.pandas_chunks(self.rows) as chunks:
            for index, chunk in enumerate(chunks):
                if self.part is not None and index % self.part[1] != self.part[0]:
                    offset += len(chunk)  # another process's block
                    continue
                values = source.block(chunk, offset, self.positions, self.columns, self.target_name)  # (m, d + 1)
                labels = labels_of(chunk.iloc[:, source.columns.index(self.labels)]) if self.labels else None
                values = self._kept(values, labels, where.at(offset), self.positions)
                offset += len(chunk)
                kept += len(values)
                if len(values):
                    yield values[:, :d], values[:, d]
        if self.part is None:
            _check_any_kept(self, offset, kept)
            self.magnitudes.finish()


def iter_csv_chunks(path, target: str, features: list[str] | None = None, rows: int | None = None, *,
                    dropna: bool = False) -> CsvChunks:
    """Blocks of ``rows`` rows of a CSV file (pandas ``read_csv(chunksize=...)``) as float64 ``(x, y)``.

    The formats, column checks and messages are those of :func:`gradfit.data.files.read_table`;
    a non-numeric, missing or infinite value raises when its block is parsed, naming its line.
    """
    return CsvChunks(path, target, features, rows, dropna=dropna)


def iter_file_chunks(path, target: str, features: list[str] | None = None, rows: int | None = None, *,
                     dropna: bool = False, part: tuple[int, int] | None = None,
                     labels: str | None = None) -> ParquetChunks | CsvChunks:
    """:func:`iter_parquet_chunks` or :func:`iter_csv_chunks`, by the file's extension.

    ``part=(rank, world_size)``: only this process's share (Parquet row groups, CSV blocks).
    ``labels``: a column (cluster ids) read beside the values, left out of the default features;
    after each chunk is handed on, ``chunks.chunk_labels`` holds its rows' labels."""
    path = os.fspath(path)
    check_path(path)
    suffix, _ = file_format(path)
    chunks = ParquetChunks if suffix in PARQUET_SUFFIXES else CsvChunks
    return chunks(path, target, features, rows, dropna=dropna, part=part, labels=labels)


class Wrapped:
    """What a chunk source that transforms another's chunks (polynomial terms, weights) reports
    of the source it wraps (``self.source``): rows dropped, the chunk's labels, the parts' order."""

    @property
    def n_dropped(self) -> int:
        return getattr(self.source, "n_dropped", 0)

    @property
    def chunk_labels(self):
        return getattr(self.source, "chunk_labels", None)

    @property
    def labels(self):
        return getattr(self.source, "labels", None)

    @property
    def chunk_positions(self):
        return getattr(self.source, "chunk_positions", None)

    @property
    def contiguous_parts(self) -> bool:
        return getattr(self.source, "contiguous_parts", False)


class PolyChunks(Wrapped):
    """A one-feature source with ``x`` replaced by ``x, x², …, x^degree``, built per chunk.

    The powers are those of :func:`gradfit.data.design.polynomial_design` (double-double, then rounded
    once), the columns :func:`gradfit.data.design.expand_poly` gives; their rounding errors are not
    carried (TSQR works in float64).

    Examples
    --------
    >>> chunks = with_poly(iter_array_chunks(np.array([1.0, 2.0, 3.0]), np.zeros(3), rows=2), 3)
    >>> chunks.feature_names, next(iter(chunks))[0].tolist()
    (['x', 'x^2', 'x^3'], [[1.0, 1.0, 1.0], [2.0, 4.0, 8.0]])
    """

    def __init__(self, source, degree: int) -> None:
        self.source, self.degree = source, poly_degree("poly", degree)
        self._fix = choose_one_feature(from_file=isinstance(source, (ParquetChunks, CsvChunks)))
        names = list(getattr(source, "feature_names", None) or ["x"])  # a bare iterable: checked per chunk
        if len(names) != 1:
            raise BadOptionError("poly", degree, f"polynomial terms need exactly one feature, got {len(names)} "
                                 f"({', '.join(names)})", self._fix)
        self.feature_names = [names[0]] + [f"{names[0]}^{k}" for k in range(2, self.degree + 1)]
        self.target_name = getattr(source, "target_name", None)
        self.n_rows = getattr(source, "n_rows", None)

    def __iter__(self):
        magnitudes = Magnitudes([f"the polynomial term {name!r}" for name in self.feature_names], poly_fix())
        for x, y in self.source:
            x = np.asarray(x, dtype=np.float64)
            if x.ndim == 2 and x.shape[1] != 1:
                raise BadOptionError("poly", self.degree,
                                     f"polynomial terms need exactly one feature, got {x.shape[1]}", self._fix)
            powers = polynomial_design(x.reshape(-1), self.degree, intercept=False)[0]
            if not np.isfinite(powers).all() and np.isfinite(x).all():
                raise BadOptionError("poly", self.degree, f"x^{self.degree} overflows float64",
                                     "lower the degree or rescale x")
            magnitudes.add(powers)
            yield powers, y
        magnitudes.finish()


def with_poly(source, degree: int) -> PolyChunks:
    """``source`` (one feature) with polynomial terms ``x … x^degree`` built chunk by chunk."""
    return PolyChunks(source, degree)


# --- inside --------------------------------------------------------------------------------------

def _rows(rows, width: int) -> int:
    if rows is None:
        return default_chunk_rows(width)
    if isinstance(rows, bool) or not isinstance(rows, (int, np.integer)) or rows < 1:
        raise BadOptionError("chunk_rows", rows, "must be a positive whole number of rows", "e.g. 65536")
    return check_count("chunk_rows", int(rows))


def _array(values, label: str) -> np.ndarray:
    array = numeric_array(values, label)  # no dtype: float32 or integer data is converted chunk by chunk
    if array.size == 0:
        raise BadDataError(f"{label} has shape {array.shape}: it holds no data")
    return array


def _open(path, suffixes):
    """The checked file, as the ``read_table`` source class for its format."""
    path = os.fspath(path)
    check_path(path)
    suffix, compression = file_format(path)
    if suffix not in suffixes:
        kind = "Parquet" if suffixes == PARQUET_SUFFIXES else "CSV"
        raise BadDataError(f"{path}: not a {kind} file name ({suffix}); use iter_file_chunks to choose by extension")
    return files.open_source(path, suffix, compression)


class _Rows:
    """Where row ``i`` of a chunk is in the file (for messages): ``locate(offset + i)``."""

    def __init__(self, path: str, locate, offset: int = 0) -> None:
        self.path, self._locate, self.offset = path, locate, offset

    def at(self, offset: int) -> "_Rows":
        return _Rows(self.path, self._locate, offset)

    def locate(self, index: int):
        return self._locate(self.offset + index)


def _checked_values(values: np.ndarray, rows: _Rows, names: list[str], positions, dropna: bool, owner,
                    labelled: bool = False, squares: np.ndarray | None = None):
    """The chunk without rows holding missing values (``dropna``), or an error naming the first;
    and the chunk rows kept (``None``: every one). One read decides almost every chunk: a column's sum of squares is
    finite only if each value is (NaN, inf and overflowing squares carry through), and it bounds
    the largest ``|value|``; only a chunk with a non-finite sum is searched value by value.
    ``squares`` ``(k,)``: those sums, when the reader took them (:func:`batches_ahead`)."""
    if squares is None:
        with np.errstate(over="ignore", invalid="ignore"):
            squares = np.einsum("ij,ij->j", values, values)  # (k,)
    if np.isfinite(squares).all():
        k = values.shape[1] - int(labelled)  # the labels' column (0 or NaN) is no data
        owner.magnitudes.add(values[:, :k], squares[:k])
        return values, None
    kept = np.arange(len(values))  # chunk row of each row of values
    missing = np.isnan(values)  # (m, k)
    if missing.any():
        bad = missing.any(axis=1)  # (m,)
        if not dropna:
            row = int(np.argmax(bad))
            j = int(np.argmax(missing[row]))
            where, fields = rows.locate(row)
            what = files.describe_missing(where, fields, names[j], positions[j] if fields is not None else 0, None)
            raise BadDataError(f"{rows.path}: {what}; {files.missing_value_fix()}")
        kept = np.flatnonzero(~bad)
        owner.n_dropped += len(values) - len(kept)
        values = values[kept]
    checked, checked_names = (values[:, :-1], names[:-1]) if labelled else (values, names)
    files.check_finite(rows, checked, kept, positions if positions is not None else list(range(len(checked_names))),
                       checked_names)
    owner.magnitudes.add(checked)
    return values, kept


def _magnitudes(owner) -> Magnitudes:
    """The magnitude check of one pass over a file's used columns (features, then the target)."""
    return Magnitudes([f"{owner.path}: column {name!r}" for name in owner.columns])


def _check_any_kept(owner, seen: int, kept: int) -> None:
    if seen and not kept:
        raise BadDataError(files.no_rows_left_message(owner.path, seen, owner.columns))
