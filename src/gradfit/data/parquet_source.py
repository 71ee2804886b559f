"""A Parquet file as gradfit reads it: the schema says each column's type; only the needed
columns are read. Rows in messages count from 1."""

from __future__ import annotations

import os

import numpy as np

from ..errors import BadDataError, option
from .file_checks import one_line


class ParquetSource:
    """A Parquet file: only the needed columns are read.

    Attributes
    ----------
    path : str
    file : pyarrow.parquet.ParquetFile
    schema : pyarrow.Schema
    columns : list of str
        The schema's column names.
    index_columns : set of str
        Columns pandas wrote for a non-default index (not default features).
    where_header : str
        Where the column names are, for messages: ``'the schema'``.
    """

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
            raise BadDataError(f"{path}: damaged Parquet file ({one_line(exc)}); export it again") from None
        self.schema = self.file.schema_arrow
        self.columns = list(self.schema.names)
        metadata = self.schema.pandas_metadata or {}
        self.index_columns = {c for c in metadata.get("index_columns", []) if isinstance(c, str)}
        self.where_header = "the schema"
        if self.file.metadata.num_rows == 0:
            self.file.close()
            raise BadDataError(f"{path}: the Parquet file has no rows; write some data to it")

    def check_numeric(self, names: list[str], target: str | None) -> None:
        """Raise :class:`~gradfit.errors.BadDataError` for the first of ``names`` whose type is not numeric."""
        import pyarrow as pa

        for name in names:
            kind = self.schema.field(name).type
            value_kind = kind.value_type if pa.types.is_dictionary(kind) else kind
            if not _arrow_numeric(value_kind):
                self._raise_not_numeric(name, kind, target)

    def read(self, positions: list[int], names: list[str], target: str | None) -> np.ndarray:
        """The columns ``names`` of every row as float64 ``(n, k)``; NaN for nulls. (``positions`` is
        unused: Parquet columns are read by name.)"""
        import pyarrow as pa

        self.check_numeric(names, target)
        try:
            table = self.file.read(columns=names)
        except (pa.ArrowException, OSError) as exc:
            raise BadDataError(f"{self.path}: damaged Parquet file ({one_line(exc)}); export it again") from None
        return arrow_floats(table.columns, table.num_rows)

    def read_labels(self, name: str) -> np.ndarray:
        """Column ``name`` of every row as NumPy values (numbers or text), ``None`` for nulls."""
        import pyarrow as pa

        try:
            column = self.file.read(columns=[name]).column(0)
        except (pa.ArrowException, OSError) as exc:
            raise BadDataError(f"{self.path}: damaged Parquet file ({one_line(exc)}); export it again") from None
        return arrow_labels(column)

    def close(self) -> None:
        """Close the file."""
        self.file.close()

    def locate(self, index: int) -> tuple[str, None]:
        """``('row N', None)`` of data row ``index`` (0-based); Parquet has no raw text to show."""
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
        fix = "the target must be numeric" if name == target else f"leave {name!r} out of {option('features')}"
        raise BadDataError(
            f"{self.path}: column {name!r} is not numeric (Parquet type {kind}){example}; "
            f"{fix}, or write it with a numeric type"
        )


def batches_ahead(path: str, file, rows: int, columns: list[str], row_groups, n_values: int):
    """``(values, labels, squares)`` for each batch of ``rows`` rows of ``file`` (a ``ParquetFile``):
    the first ``n_values`` columns as float64 ``(m, n_values)`` (:func:`arrow_floats`) with their
    sums of squares ``(n_values,)``, and the next column's labels (:func:`arrow_labels`) if
    ``columns`` has one more, else ``None``.

    The next batch is read and converted on a worker thread while the caller works on this one
    (both release the GIL): a streaming pass then takes about as long as the longer of the two,
    not their sum. A damaged file raises :class:`~gradfit.errors.BadDataError` where it is read.
    """
    from concurrent.futures import ThreadPoolExecutor

    import pyarrow as pa

    batches = file.iter_batches(batch_size=rows, columns=columns, row_groups=row_groups)

    def read():
        try:
            batch = next(batches, None)
        except (pa.ArrowException, OSError) as exc:
            raise BadDataError(f"{path}: damaged Parquet file ({one_line(exc)}); export it again") from None
        if batch is None:
            return None
        labels = arrow_labels(batch.column(n_values)) if len(columns) > n_values else None
        squares = np.empty(n_values)
        return arrow_floats(batch.columns[:n_values], batch.num_rows, squares), labels, squares

    with ThreadPoolExecutor(1, thread_name_prefix="gradfit-parquet") as ahead:  # (waits for it on close)
        pending = ahead.submit(read)
        while (got := pending.result()) is not None:
            pending = ahead.submit(read)
            yield got


def arrow_labels(column) -> np.ndarray:
    """An Arrow column of labels (numbers or text), ``None`` for nulls."""
    return np.array(column.to_pylist(), dtype=object)


def arrow_floats(columns, n_rows: int, squares: np.ndarray | None = None) -> np.ndarray:
    """Numeric Arrow columns (a table's or a batch's) as float64 ``(n_rows, k)``, filled by column; nulls -> NaN.

    ``squares`` ``(k,)``, if given, receives each column's sum of squares, taken while the column
    is still in cache (the chunk checks' one read: :meth:`gradfit.data.validate.Magnitudes.add`).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    values = np.empty((n_rows, len(columns)), order="F")  # (n, k)
    for j, column in enumerate(columns):
        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        if not pa.types.is_float64(column.type):  # float64 is read as it is (nulls become NaN below)
            # safe=False: int64 beyond 2**53 rounds to the nearest float64 instead of failing
            column = pc.cast(column, pa.float64(), safe=False)
        values[:, j] = column.to_numpy(zero_copy_only=False)  # the one copy: Arrow's buffer into column j
        if squares is not None:
            with np.errstate(over="ignore", invalid="ignore"):
                squares[j] = np.einsum("i,i->", values[:, j], values[:, j])
    return values


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
