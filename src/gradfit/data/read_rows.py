"""A file's used columns read block by block straight into their final float64 arrays.

Reading a whole table first and then picking columns out of it held the data three or four times
at once (Arrow's table, a float64 block of every column, then contiguous copies of the features
and of the target; the Arrow pool keeps its freed pages). Here a Parquet file is decoded a batch
of rows at a time (never a whole row group: see :func:`_parquet_blocks`) and a CSV file parsed one
pandas chunk at a time, each block converted and copied into preallocated arrays: the features
``(n, d)`` in C order and each other column ``(n,)``, so the data is held once, plus one block.
``start``/``stop`` read only those data rows (a process's share of a file,
:mod:`gradfit.scale.shares`): Parquet reads only the row groups they overlap.

Measured (4,000,000 × 11 float64, 352 MB, peak RSS above the interpreter's over the data's size):
1.20× in four row groups, 1.23× in one (whole row groups, Arrow's pre-buffered reader: 2.14× and
4.18×).
"""

from __future__ import annotations

import numpy as np

from .. import limits
from ..errors import BadDataError
from .file_checks import one_line

# Cells per batch of a Parquet file decoded at a time (2 MiB of float64): small beside any data
# worth holding, large enough that Arrow's per-batch cost does not show (4M × 11 read in about
# the time whole row groups took, 1–2 s on a shared 2-core machine; 8 MiB batches peaked 0.1×
# the data higher).
READ_BATCH_CELLS = 2**18
# The Parquet reader's buffer: the file is read 64 KiB at a time as its pages are decoded, not a
# row group's column chunks at once (Arrow's pre_buffer: the whole file when it is one group).
READ_BUFFER_BYTES = 1 << 16


def count_rows(source) -> int:
    """The file's data rows: Parquet's metadata; a CSV file parsed once (the rows pandas reads)."""
    if hasattr(source, "file"):
        return int(source.file.metadata.num_rows)
    with source.pandas_chunks(_chunk_rows(source)) as chunks:
        return sum(len(chunk) for chunk in chunks)


def read_rows(source, names: list[str], positions: list[int], target: str | None, n_features: int,
              start: int = 0, stop: int | None = None) -> tuple[np.ndarray, list[np.ndarray]]:
    """Data rows ``[start, stop)`` (default: all) of the columns ``names`` as float64: the first
    ``n_features`` as one C-ordered ``(m, n_features)`` array, each other one ``(m,)``; NaN where a
    value is missing. Messages about a value name its line or row in the whole file."""
    exact = stop is not None or hasattr(source, "file")  # the row count is known: no growing
    total = stop if stop is not None else count_rows(source) if exact else None
    capacity = (total - start) if exact else 0
    x = np.empty((capacity, n_features))  # (m, d)
    others = [np.empty(capacity) for _ in names[n_features:]]  # (m,) each
    filled = 0
    for block in _blocks(source, names, positions, target, start, stop):  # (b, k), file order
        rows = len(block)
        if filled + rows > len(x):  # CSV of unknown length: grow by doubling (realloc, not a copy kept)
            capacity = max(2 * len(x), filled + rows, 1024)
            x.resize((capacity, n_features), refcheck=False)
            for column in others:
                column.resize(capacity, refcheck=False)
        x[filled:filled + rows] = block[:, :n_features]
        for j, column in enumerate(others):
            column[filled:filled + rows] = block[:, n_features + j]
        filled += rows
    if hasattr(source, "file"):
        import pyarrow as pa

        pa.default_memory_pool().release_unused()  # the pool would keep the row groups' pages
    if filled != len(x):
        x.resize((filled, n_features), refcheck=False)
        for column in others:
            column.resize(filled, refcheck=False)
    return x, others


CHECK_CELLS = 2**18  # a check's block of rows: 2 MiB of float64, small beside any data worth measuring


def row_chunks(n: int, width: int):
    """``slice``s of rows covering ``n`` rows of ``width`` columns, :data:`CHECK_CELLS` cells
    each: for checks that look at a few rows at a time."""
    step = max(1, CHECK_CELLS // max(width, 1))
    for first in range(0, n, step):
        yield slice(first, min(n, first + step))


def block_of(x: np.ndarray, others: list[np.ndarray], rows: slice) -> np.ndarray:
    """Rows ``rows`` of the features and the other columns side by side, ``(m, k)`` (a copy of a
    few rows, for checks and messages written for one block)."""
    return np.column_stack([x[rows], *(column[rows] for column in others)]) if others else x[rows]


def compact(x: np.ndarray, others: list[np.ndarray], kept: np.ndarray) -> None:
    """Keep only the rows ``kept`` (increasing), moved up in place chunk by chunk and the arrays
    shrunk: no second copy of the data (row ``kept[i] ≥ i`` is read before row ``i`` is written)."""
    for rows in row_chunks(len(kept), x.shape[1] + len(others)):
        source_rows = kept[rows]
        x[rows] = x[source_rows]
        for column in others:
            column[rows] = column[source_rows]
    x.resize((len(kept), x.shape[1]), refcheck=False)
    for column in others:
        column.resize(len(kept), refcheck=False)


def _chunk_rows(source) -> int:
    return max(1_000, limits.CSV_READ_CELLS // len(source.columns))


def _blocks(source, names, positions, target, start: int, stop: int | None):
    """``(b, k)`` float64 blocks of rows ``[start, stop)``, in file order."""
    if hasattr(source, "file"):
        yield from _parquet_blocks(source, names, target, start, stop)
        return
    offset = 0
    with source.pandas_chunks(_chunk_rows(source)) as chunks:
        for chunk in chunks:
            first, last = max(start, offset), len(chunk) + offset if stop is None else min(stop, offset + len(chunk))
            if first < last:
                yield source.block(chunk.iloc[first - offset:last - offset], first, positions, names, target)
            offset += len(chunk)
            if stop is not None and offset >= stop:
                return


def _parquet_blocks(source, names, target, start: int, stop: int | None):
    """Rows ``[start, stop)`` of the row groups they overlap, in batches of about
    :data:`READ_BATCH_CELLS` cells decoded one at a time (``iter_batches``), from a reader that
    reads the file through a small buffer rather than whole column chunks ahead (``pre_buffer``,
    Arrow's default, holds a row group's compressed columns: the whole file when it is one group)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    source.check_numeric(names, target)
    metadata, offset = source.file.metadata, 0
    stop = metadata.num_rows if stop is None else stop
    rows_per_batch = max(1024, READ_BATCH_CELLS // max(len(names), 1))
    try:
        reader = pq.ParquetFile(source.path, pre_buffer=False, buffer_size=READ_BUFFER_BYTES)
    except (pa.ArrowException, OSError) as exc:
        raise BadDataError(f"{source.path}: damaged Parquet file ({one_line(exc)}); export it again") from None
    try:
        for group in range(metadata.num_row_groups):
            rows = metadata.row_group(group).num_rows
            first, last = max(start, offset), min(stop, offset + rows)
            if first < last:
                batches = reader.iter_batches(batch_size=rows_per_batch, row_groups=[group], columns=names)
                yield from _group_blocks(source.path, batches, offset, first, last)
            offset += rows
            if offset >= stop:
                return
    finally:
        reader.close()


def _group_blocks(path: str, batches, offset: int, first: int, last: int):
    """File rows ``[first, last)`` of a row group's record ``batches`` (its first row: file row
    ``offset``) as ``(b, k)`` float64 blocks."""
    import pyarrow as pa

    from .parquet_source import arrow_floats

    at = offset  # the file row of the next batch's first row
    while at < last:
        try:
            batch = next(batches, None)
        except (pa.ArrowException, OSError) as exc:
            raise BadDataError(f"{path}: damaged Parquet file ({one_line(exc)}); export it again") from None
        if batch is None:
            return
        lo, hi = max(first, at) - at, min(last, at + batch.num_rows) - at  # (a share's part of the batch)
        at += batch.num_rows
        if lo < hi:
            batch = batch.slice(lo, hi - lo) if hi - lo < batch.num_rows else batch
            yield arrow_floats(batch.columns, batch.num_rows)
