"""Read a user's CSV or Parquet file into validated float64 arrays, with one clear error per problem.

Every problem with a file raises :class:`~gradfit.errors.BadDataError` with a one-line message that
starts with the path and says what is wrong, where (line or row, column) and how to fix it.
pandas and PyArrow are imported inside the functions that use them: ``import gradfit`` stays fast.
"""

from __future__ import annotations

import csv
import difflib
import os
import re
from dataclasses import dataclass

import numpy as np

from ..errors import BadDataError, BadOptionError

CSV_SUFFIXES = (".csv", ".tsv", ".txt")
PARQUET_SUFFIXES = (".parquet", ".pq")
COMPRESSIONS = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz"}
SUPPORTED = "CSV (.csv, .tsv, .txt, optionally compressed .gz/.bz2/.xz) and Parquet (.parquet, .pq)"
_CHUNK_CELLS = 4_000_000  # CSV cells parsed per chunk: bounds memory whatever the width of the file


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
    """

    x: np.ndarray
    y: np.ndarray | None
    feature_names: list[str]
    target_name: str | None
    n_dropped: int
    path: str


def read_table(
    path,
    *,
    target: str | None,
    features: list[str] | None = None,
    require_target: bool = True,
    dropna: bool = False,
) -> TableData:
    """Read the target and feature columns of a CSV or Parquet file as float64 arrays.

    The format comes from the extension: ``.csv`` (comma-separated), ``.tsv`` (tab), ``.txt``
    (the separator among ``, tab ; |`` that the header line uses, else runs of whitespace), each
    optionally compressed (``.csv.gz``, ``.bz2``, ``.xz``); ``.parquet`` or ``.pq``. CSV text must
    be UTF-8 with a header line; blank lines are skipped. Only the needed Parquet columns are read;
    a CSV file is parsed in chunks and only the needed columns are kept.

    Booleans: a Parquet ``bool`` column is read as 1.0/0.0 (its type says so); CSV text such as
    ``True``/``False`` is not a number and is an error. A Parquet file written by pandas with a
    non-default index stores it as a column; it is not a default feature.

    Where a message points: in a CSV file, ``line N`` is the 1-based line of the file, the header
    being line 1 (so without blank lines, data row ``i`` counting from 0 is line ``i + 2``; a
    quoted value spanning lines is reported at the line where its record starts). In a Parquet
    file, ``row N`` counts data rows from 1.

    Parameters
    ----------
    path : str or os.PathLike
        The data file.
    target : str or None
        The target column (``--target``). Required when ``require_target`` is true.
    features : list of str, optional
        Feature columns (``--features``), kept in the given order. Default: every column except
        the target. Required when there is no target.
    require_target : bool, default True
        When false (prediction files) the target is read only if the file has it; otherwise
        ``y`` and ``target_name`` are ``None``.
    dropna : bool, default False
        Drop rows with a missing value (empty cell, ``NA``, ``NaN``, Parquet null) in a used
        column and count them in ``n_dropped``; by default such a row is an error.

    Returns
    -------
    TableData
        ``x`` ``(n, d)``, ``y`` ``(n,)`` or ``None``, the names, and ``n_dropped``.

    Raises
    ------
    BadDataError
        For every problem with the file or the column choice, with a one-line message.
    BadOptionError
        When ``features`` is a string rather than a list of names.

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
    gradfit.errors.BadDataError: ...houses.csv: no column 'prize' for --target (did you mean 'price'?); ...
    """
    if isinstance(features, str):  # list("a,b") would quietly become ['a', ',', 'b']
        raise BadOptionError("features", features, "must be a list of column names, not one string",
                             f"pass features={features.split(',')!r}")
    path = os.fspath(path)
    _check_path(path)
    suffix, compression = _suffix(path)
    if suffix in PARQUET_SUFFIXES:
        source: _CsvSource | _ParquetSource = _ParquetSource(path)
    else:
        source = _CsvSource(path, suffix, compression)
    try:
        feature_names, target_name = _choose_columns(source, target, features, require_target)
        names = feature_names + ([target_name] if target_name is not None else [])
        positions = [source.columns.index(name) for name in names]
        values = source.read(positions, names, target_name)  # (n, k): features, then the target
        kept = _missing(source, values, positions, names, dropna)  # (n_kept,) file row indices
        n_dropped = len(values) - len(kept)
        if n_dropped:
            values = values[kept]
        _check_finite(source, values, kept, positions, names)
    finally:
        source.close()
    d = len(feature_names)
    y = np.ascontiguousarray(values[:, d]) if target_name is not None else None
    return TableData(np.ascontiguousarray(values[:, :d]), y, feature_names, target_name, n_dropped, path)


# --- the file itself -----------------------------------------------------------------------------

def _check_path(path: str) -> None:
    if not os.path.exists(path):
        folder = os.path.dirname(path) or "."
        hint = "check the path"
        if os.path.isdir(folder):
            close = difflib.get_close_matches(os.path.basename(path), os.listdir(folder), n=1)
            if close:
                hint = f"did you mean {os.path.join(os.path.dirname(path), close[0])!r}?"
        raise BadDataError(f"{path}: no such file (looked for {os.path.abspath(path)}); {hint}")
    if os.path.isdir(path):
        hint = "give the path of one .csv or .parquet file"
        parts = sorted(f for f in os.listdir(path) if f.endswith(PARQUET_SUFFIXES))
        if parts:  # a partitioned Parquet dataset, as Spark and Dask write them
            hint = f"directories of Parquet files are not read; give one file, e.g. {os.path.join(path, parts[0])}"
        raise BadDataError(f"{path}: is a directory, not a data file; {hint}")
    try:
        with open(path, "rb") as file:
            empty = not file.read(1)
    except PermissionError:
        raise BadDataError(f"{path}: permission denied; make the file readable (chmod +r) or read a copy") from None
    except OSError as exc:
        raise BadDataError(f"{path}: cannot be read ({exc.strerror or exc}); check the file and the disk") from None
    if empty:
        raise BadDataError(f"{path}: the file is empty (0 bytes); expected a header line and rows of data")


def _suffix(path: str) -> tuple[str, str | None]:
    """The data suffix and the compression: ``'a.csv.gz'`` -> ``('.csv', 'gzip')``."""
    stem, suffix = os.path.splitext(path.lower())
    compression = COMPRESSIONS.get(suffix)
    if compression:
        stem, suffix = os.path.splitext(stem)
    if suffix in CSV_SUFFIXES or (suffix in PARQUET_SUFFIXES and not compression):
        return suffix, compression
    shown = os.path.splitext(path)[1] or "no extension"
    hint = "; export it as CSV or Parquet" if suffix not in (".xlsx", ".xls", ".ods") else "; save the sheet as CSV"
    raise BadDataError(f"{path}: unsupported file format ({shown}); gradfit reads {SUPPORTED}{hint}")


class _CsvSource:
    """A CSV file: its header, pandas to parse it, the csv module to point at lines."""

    def __init__(self, path: str, suffix: str, compression: str | None) -> None:
        self.path, self.compression = path, compression
        self._check_text()
        try:
            with self._open() as file:
                first = next((line for line in file if line.strip()), "")  # the header line
        except UnicodeDecodeError:
            self._raise_not_utf8()
        except _decompression_errors() as exc:
            self._raise_undecompressible(exc)
        self.sep = _separator(suffix, first)
        records = self._records()
        header = next(records, None)
        if header is None:
            raise BadDataError(f"{path}: the file has only blank lines; expected a header line and rows of data")
        self.header_line, self.columns = header
        first_row = next(records, None)
        if first_row is None:
            raise BadDataError(f"{path}: no data rows after the header (line {self.header_line}); add rows of data")
        if len(first_row[1]) > len(self.columns):
            # pandas would silently take the first column as the index here: report it instead.
            self._raise_ragged(*first_row)
        self.where_header = f"the header (line {self.header_line})"

    def read(self, positions: list[int], names: list[str], target: str | None) -> np.ndarray:
        import pandas as pd

        blocks, offset = [], 0
        chunk_rows = max(1_000, _CHUNK_CELLS // len(self.columns))
        # All columns are parsed (and only the needed ones kept): with usecols= pandas silently
        # truncates a row with too many fields, and then values would land in the wrong column.
        options = dict(
            sep=self.sep or r"\s+", header=0, index_col=False, skip_blank_lines=True,
            encoding="utf-8", compression=self.compression, chunksize=chunk_rows,
        )
        try:
            with pd.read_csv(self.path, **options) as chunks:
                for chunk in chunks:
                    if chunk.shape[1] != len(self.columns):  # pandas split the header differently
                        raise BadDataError(
                            f"{self.path}: pandas finds {chunk.shape[1]} columns in the header but the csv module "
                            f"finds {len(self.columns)}; check the separators and quotes on line {self.header_line}"
                        )
                    block = np.empty((len(chunk), len(positions)), order="F")  # (rows, k), filled by column
                    for j, (position, name) in enumerate(zip(positions, names)):
                        block[:, j] = self._floats(chunk.iloc[:, position], offset, position, name, target)
                    blocks.append(block)
                    offset += len(chunk)
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            self._raise_parser_error(exc)
        except UnicodeDecodeError:
            self._raise_not_utf8()
        except _decompression_errors() as exc:
            self._raise_undecompressible(exc)
        return np.concatenate(blocks) if blocks else np.empty((0, len(positions)))

    def close(self) -> None:
        pass

    def locate(self, index: int) -> tuple[str, list[str] | None]:
        """``('line N', fields)`` of data row ``index`` (0-based), by re-reading the file."""
        for count, (line, fields) in enumerate(self._records()):
            if count == index + 1:  # record 0 is the header
                return f"line {line}", fields
        return f"data row {index + 1}", None

    def _floats(self, column, offset: int, position: int, name: str, target: str | None) -> np.ndarray:
        import pandas as pd
        from pandas.api.types import is_bool_dtype, is_numeric_dtype

        if is_bool_dtype(column.dtype):  # pandas read True/False text
            bad = column.notna().to_numpy()
        elif is_numeric_dtype(column.dtype):
            return column.to_numpy(dtype=np.float64, na_value=np.nan)
        else:  # text (' 2' too), or text mixed with numbers: each value must be a number or missing
            numbers = pd.to_numeric(column, errors="coerce")  # blank cells ('  ') become NaN: missing
            text = column.astype(object)
            blank = text.map(lambda v: isinstance(v, str) and not v.strip()).to_numpy(dtype=bool)
            is_bool = text.map(lambda v: isinstance(v, (bool, np.bool_))).to_numpy(dtype=bool)
            bad = ((numbers.isna() & column.notna()).to_numpy(dtype=bool) & ~blank) | is_bool
            if not bad.any():
                return numbers.to_numpy(dtype=np.float64, na_value=np.nan)
        first = int(np.argmax(bad))
        where, fields = self.locate(offset + first)
        raw = fields[position] if fields is not None and position < len(fields) else str(column.iloc[first])
        if raw.strip().lower() in ("true", "false"):
            hint = "write booleans as 1 and 0 (in CSV, True/False are text)"
        elif re.fullmatch(r"\s*-?[\d.]+,\d+\s*", raw):
            hint = "numbers need '.' as the decimal point and no thousands separators"
        elif name == target:
            hint = "the target must be numeric: fix that value"
        else:
            hint = f"fix that value, or leave {name!r} out of --features"
        raise BadDataError(f"{self.path}: column {name!r} is not numeric: {where} has {raw!r}; {hint}")

    def _open(self, mode: str = "rt"):
        import bz2
        import gzip
        import lzma

        opener = {None: open, "gzip": gzip.open, "bz2": bz2.open, "xz": lzma.open}[self.compression]
        if mode == "rb":
            return opener(self.path, "rb")
        return opener(self.path, "rt", encoding="utf-8-sig", newline="")

    def _records(self):
        """``(first line, fields)`` for each non-blank record, the header first; as pandas splits them."""
        with self._open() as file:
            if self.sep is None:  # runs of whitespace
                for number, line in enumerate(file, start=1):
                    fields = line.split()
                    if fields:
                        yield number, fields
                return
            reader = csv.reader(file, delimiter=self.sep)
            while True:
                start = reader.line_num + 1
                try:
                    fields = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    message = f"{self.path}: line {start} is not valid CSV ({exc}); check its quotes"
                    raise BadDataError(message) from None
                # pandas skips empty and whitespace-only lines, so these do not count as rows
                if len(fields) > 1 or (fields and fields[0].strip()):
                    yield start, fields

    def _check_text(self) -> None:
        try:
            with self._open("rb") as file:
                head = file.read(8192)
        except _decompression_errors() as exc:
            self._raise_undecompressible(exc)
        problem = None
        if head.startswith(b"PAR1"):
            problem = "is a Parquet file, not CSV text; rename it to end in .parquet"
        elif head.startswith(b"\x1f\x8b"):
            problem = "is gzip-compressed; rename it to end in .gz (e.g. data.csv.gz)"
        elif head.startswith(b"PK\x03\x04"):
            problem = "is a ZIP archive (an Excel workbook?), not CSV text; export the sheet as CSV (UTF-8)"
        elif head.startswith((b"\xff\xfe", b"\xfe\xff")):
            problem = "is UTF-16 text; save it as UTF-8 CSV"
        elif b"\x00" in head:
            problem = "is not a text file (it holds binary data); give a CSV (UTF-8 text) or a Parquet file"
        if problem:
            raise BadDataError(f"{self.path}: {problem}")

    def _raise_not_utf8(self):
        with self._open("rb") as file:
            for number, line in enumerate(file, start=1):
                try:
                    line.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise BadDataError(
                        f"{self.path}: line {number} is not UTF-8 text (byte 0x{line[exc.start]:02x}); "
                        "save the file with UTF-8 encoding"
                    ) from None
        raise BadDataError(f"{self.path}: the file is not UTF-8 text; save it with UTF-8 encoding") from None

    def _raise_undecompressible(self, exc: BaseException):
        raise BadDataError(
            f"{self.path}: cannot be decompressed ({_one_line(exc)}); the file is damaged or not {self.compression}"
        ) from None

    def _raise_ragged(self, line: int, fields: list[str]):
        extra = len(fields) - len(self.columns)
        hint = f"remove the extra field{'s' * (extra > 1)}"
        if self.sep:
            hint += f" or quote values that contain {self.sep!r}"
        if fields[-1] == "":
            hint += f" (the line ends with {self.sep!r})"
        raise BadDataError(
            f"{self.path}: line {line} has {len(fields)} fields but the header has {len(self.columns)}; {hint}"
        ) from None

    def _raise_parser_error(self, exc: BaseException):
        message = " ".join(str(exc).split())
        last = None
        for record in self._records():
            if len(record[1]) > len(self.columns):
                self._raise_ragged(*record)
            last = record
        if "EOF inside string" in message and last is not None:
            raise BadDataError(
                f"{self.path}: a quoted value that starts on line {last[0]} is never closed; add the closing quote"
            ) from None
        raise BadDataError(f"{self.path}: not valid CSV ({message}); check the separators and quotes") from None


def _decompression_errors() -> tuple[type[BaseException], ...]:
    import lzma
    import zlib

    return (OSError, EOFError, zlib.error, lzma.LZMAError)


def _separator(suffix: str, header: str) -> str | None:
    """Tab for .tsv; else the separator the header line uses (``None``: runs of whitespace).

    A .csv file is comma-separated unless its header has no comma but a ``;`` or tab (as Excel
    writes in locales with a decimal comma). A .txt file uses the most frequent of , tab ; | in
    its header, or whitespace when it has none of them.
    """
    if suffix == ".tsv":
        return "\t"
    counts = {sep: header.count(sep) for sep in (",", "\t", ";", "|")}
    best = max(counts, key=counts.get)  # ties: the first, the comma
    if counts[best]:
        return best
    return "," if suffix == ".csv" else None


class _ParquetSource:
    """A Parquet file: only the needed columns are read."""

    def __init__(self, path: str) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.path = path
        with open(path, "rb") as file:
            head = file.read(4)
            file.seek(max(0, os.path.getsize(path) - 4))
            tail = file.read(4)
        if head != b"PAR1":
            text = "; if it is CSV text, rename it to end in .csv" if _looks_like_text(path) else ""
            raise BadDataError(f"{path}: not a Parquet file (it does not start with the Parquet marker PAR1){text}")
        if tail != b"PAR1":
            raise BadDataError(f"{path}: the Parquet file is truncated (no PAR1 marker at its end); export it again")
        try:
            self.file = pq.ParquetFile(path)
        except (pa.ArrowException, OSError) as exc:
            raise BadDataError(f"{path}: damaged Parquet file ({_one_line(exc)}); export it again") from None
        self.schema = self.file.schema_arrow
        self.columns = list(self.schema.names)
        metadata = self.schema.pandas_metadata or {}
        self.index_columns = {c for c in metadata.get("index_columns", []) if isinstance(c, str)}
        self.where_header = "the schema"
        if self.file.metadata.num_rows == 0:
            self.file.close()
            raise BadDataError(f"{path}: the Parquet file has no rows; write some data to it")

    def read(self, positions: list[int], names: list[str], target: str | None) -> np.ndarray:
        import pyarrow as pa
        import pyarrow.compute as pc

        for name in names:
            kind = self.schema.field(name).type
            value_kind = kind.value_type if pa.types.is_dictionary(kind) else kind
            if not _arrow_numeric(value_kind):
                self._raise_not_numeric(name, kind, target)
        try:
            table = self.file.read(columns=names)
        except (pa.ArrowException, OSError) as exc:
            raise BadDataError(f"{self.path}: damaged Parquet file ({_one_line(exc)}); export it again") from None
        values = np.empty((table.num_rows, len(names)))  # (n, k)
        for j, column in enumerate(table.columns):
            if pa.types.is_dictionary(column.type):
                column = column.cast(column.type.value_type)
            # safe=False: int64 beyond 2**53 rounds to the nearest float64 instead of failing
            values[:, j] = pc.cast(column, pa.float64(), safe=False).to_numpy()  # nulls -> NaN
        return values

    def close(self) -> None:
        self.file.close()

    def locate(self, index: int) -> tuple[str, None]:
        return f"row {index + 1}", None

    def _raise_not_numeric(self, name: str, kind, target: str | None):
        example = ""
        try:
            column = self.file.read(columns=[name]).column(0)
            valid = column.is_valid().to_numpy(zero_copy_only=False).nonzero()[0]
            if len(valid):
                example = f": row {valid[0] + 1} has {str(column[int(valid[0])].as_py())!r}"
        except Exception:  # the example is a courtesy; the type alone says what is wrong
            pass
        fix = "the target must be numeric" if name == target else f"leave {name!r} out of --features"
        raise BadDataError(
            f"{self.path}: column {name!r} is not numeric (Parquet type {kind}){example}; "
            f"{fix}, or write it with a numeric type"
        )


def _arrow_numeric(kind) -> bool:
    import pyarrow as pa

    t = pa.types
    return t.is_integer(kind) or t.is_floating(kind) or t.is_decimal(kind) or t.is_boolean(kind) or t.is_null(kind)


def _looks_like_text(path: str) -> bool:
    with open(path, "rb") as file:
        head = file.read(4096)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return b"\x00" not in head


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


# --- which columns -------------------------------------------------------------------------------

def _choose_columns(source, target, features, require_target) -> tuple[list[str], str | None]:
    path, columns = source.path, source.columns
    if target is None and require_target:
        raise BadDataError(f"{path}: a data file needs --target COL; the columns are: {_listing(columns)}")
    if target is not None and target not in columns:
        if require_target:
            raise BadDataError(
                f"{path}: no column {target!r} for --target{_suggest(target, columns)}; "
                f"the columns are: {_listing(columns)}"
            )
        target = None  # prediction: the file need not hold the target
    if features is None:
        if target is None:
            raise BadDataError(
                f"{path}: without a target column, name the feature columns (--features A,B); "
                f"the columns are: {_listing(columns)}"
            )
        features = [c for c in columns if c != target and c not in getattr(source, "index_columns", ())]
        if not features:
            raise BadDataError(
                f"{path}: the target {target!r} is the only column, so no feature columns remain; "
                "add feature columns to the file"
            )
    else:
        features = list(features)
        if not features:
            raise BadDataError(f"{path}: --features is empty; list at least one column of: {_listing(columns)}")
        unknown = [f for f in features if f not in columns]
        if unknown:
            shown = ", ".join(f"{f!r}{_suggest(f, columns)}" for f in unknown)
            noun = "column" if len(unknown) == 1 else "columns"
            raise BadDataError(f"{path}: no {noun} {shown} for --features; the columns are: {_listing(columns)}")
        repeated = sorted({f for f in features if features.count(f) > 1})
        if repeated:
            shown = ", ".join(map(repr, repeated))
            raise BadDataError(f"{path}: --features lists {shown} more than once; list each column once")
        if target in features:
            raise BadDataError(
                f"{path}: column {target!r} is the target and is also in --features; "
                "a column cannot predict itself: remove it from --features"
            )
    for name in features + ([target] if target is not None else []):
        places = [i + 1 for i, c in enumerate(columns) if c == name]
        if name.strip() == "":
            raise BadDataError(
                f"{path}: column {places[0]} has no name in {source.where_header}, perhaps a saved row index; "
                "name it, or choose the feature columns with --features"
            )
        if len(places) > 1:
            raise BadDataError(
                f"{path}: column name {name!r} appears {len(places)} times (columns {', '.join(map(str, places))}) "
                f"in {source.where_header}; give each column a unique name"
            )
    return features, target


def describe_missing(where: str, fields: list[str] | None, name: str, position: int, n_header: int | None) -> str:
    """What a missing value looks like at ``where`` (``line 7`` / ``row 7``), for the error.

    ``fields`` are the line's raw CSV fields (``None`` for Parquet), ``position`` the column's
    place among them, ``n_header`` the header's field count (``None`` to leave it out).
    """
    if fields is None:
        return f"{where}, column {name!r} is missing (null or NaN)"
    if position >= len(fields):
        header = "" if n_header is None else f" ({len(fields)} fields, the header {n_header})"
        return f"{where} has no value for column {name!r}{header}"
    if fields[position].strip() == "":
        return f"{where}, column {name!r} is empty"
    return f"{where}, column {name!r} has the missing-value marker {fields[position]!r}"


def _suggest(name: str, columns: list[str]) -> str:
    folded = [c for c in columns if c.strip().lower() == name.strip().lower()]
    close = folded or difflib.get_close_matches(name, columns, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _listing(columns: list[str], limit: int = 20) -> str:
    shown = [c if c and c == c.strip() and "," not in c else repr(c) for c in columns[:limit]]
    more = f", … ({len(columns) - limit} more)" if len(columns) > limit else ""
    return ", ".join(shown) + more


# --- values --------------------------------------------------------------------------------------

def _missing(source, values: np.ndarray, positions, names, dropna: bool) -> np.ndarray:
    """The indices of the rows to keep; an error for a missing value unless ``dropna``."""
    missing = np.isnan(values)  # (n, k)
    rows = missing.any(axis=1)  # (n,)
    n_missing = int(rows.sum())
    if not n_missing:
        return np.arange(len(values))
    if dropna:
        if n_missing == len(values):
            raise BadDataError(
                f"{source.path}: every one of the {n_missing} rows has a missing value in the columns used "
                f"({', '.join(names)}), so --dropna leaves no data; fill in values or choose other columns"
            )
        return np.flatnonzero(~rows)
    row = int(np.argmax(rows))
    j = int(np.argmax(missing[row]))
    where, fields = source.locate(row)
    what = describe_missing(where, fields, names[j], positions[j], len(source.columns))
    if n_missing == 1:
        fix = "fill it in, or use --dropna to drop rows with missing values"
    else:
        fix = f"{n_missing} rows have missing values: fill them in, or use --dropna to drop them"
    raise BadDataError(f"{source.path}: {what}; {fix}")


def _check_finite(source, values: np.ndarray, kept: np.ndarray, positions, names) -> None:
    infinite = np.isinf(values)  # (n_kept, k); NaN is gone by now
    if not infinite.any():
        return
    row, j = (int(i) for i in np.argwhere(infinite)[0])
    where, fields = source.locate(int(kept[row]))
    shown = repr(fields[positions[j]]) if fields is not None else repr(float(values[row, j]))
    raise BadDataError(
        f"{source.path}: {where}, column {names[j]!r} has {shown}, which is infinite as a float64; "
        "replace it with a finite number or remove the row"
    )
