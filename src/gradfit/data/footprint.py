"""How much memory a data file's rows take once read, and how much this machine has free: the
test that sends a mini-batch fit of a file too large for memory to the streaming path by itself.
"""

from __future__ import annotations

import os

from .. import limits
from .file_checks import PARQUET_SUFFIXES, file_format

_SAMPLE_BYTES = 1 << 16  # a CSV's first 64 KiB: its bytes per line

# Beside the rows (limits.IN_MEMORY_PEAK × their float64 size), a fit read whole holds at its peak
# float64 vectors of one value per row: the residual tests' residuals, centred residuals and their
# squares when the report is made (an epoch's int64 order and the read's kept rows, before, are
# fewer). Measured: 1 + 3/k of the rows' size for k columns (4M × 11: 1.27×; 8M × 3: 2.1×).
PER_ROW_VECTORS = 3
# And what the process loads after this check, whatever the rows: torch's libraries, Arrow's and
# BLAS's buffers (measured 420–460 MB above the 39 MB the command holds when it checks).
RUN_BYTES = 512 * 2**20


def float_bytes(path: str, columns: int | None = None) -> int | None:
    """The rows of ``path`` as float64 (bytes), in ``columns`` columns (default: all the file's);
    ``None`` when it cannot be told without reading the file. Parquet: rows from its footer. CSV:
    the file's size over the bytes per line of its first 64 KiB."""
    size = float_size(path, columns)
    return None if size is None else size[0]


def float_size(path: str, columns: int | None = None) -> tuple[int, int] | None:
    """:func:`float_bytes` and the number of columns it counts."""
    try:
        suffix, compression = file_format(path)
        if suffix in PARQUET_SUFFIXES:
            import pyarrow.parquet as pq

            meta = pq.read_metadata(path)
            columns = columns or int(meta.num_columns)
            return 8 * int(meta.num_rows) * columns, columns
        if compression is not None:
            return None
        with open(path, "rb") as handle:
            sample = handle.read(_SAMPLE_BYTES)
    except Exception:  # unreadable or damaged: the reader that follows will say what is wrong
        return None
    lines = sample.splitlines()
    if len(lines) < 3:
        return None
    columns = columns or lines[0].count(b",") + 1
    per_line = len(b"\n".join(lines[1:-1])) / max(len(lines) - 2, 1) + 1  # (the last line may be cut)
    return int(8 * columns * os.path.getsize(path) / per_line), columns


def available_memory() -> int | None:
    """Bytes of memory available to new allocations (``MemAvailable`` of /proc/meminfo), or None."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def too_large_for_memory(path: str, columns: int | None = None) -> tuple[bool, int | None, int | None]:
    """Whether reading ``columns`` columns of ``path`` (default: all) whole for a mini-batch fit
    would need more memory than is free (:data:`gradfit.limits.IN_MEMORY_PEAK` × their float64
    size, :data:`PER_ROW_VECTORS` float64 values a row and :data:`RUN_BYTES`), and the two figures."""
    size, free = float_size(path, columns), available_memory()
    if size is None or free is None:
        return False, None if size is None else size[0], free
    rows_bytes, width = size
    need = int(rows_bytes * limits.IN_MEMORY_PEAK + rows_bytes / width * PER_ROW_VECTORS + RUN_BYTES)
    return need > free, need, free
