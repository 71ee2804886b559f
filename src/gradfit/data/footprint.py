"""How much memory a data file's rows take once read, and how much this machine has free: the
test that sends a mini-batch fit of a file too large for memory to the streaming path by itself.
"""

from __future__ import annotations

import os

from .. import limits
from .file_checks import PARQUET_SUFFIXES, file_format

_SAMPLE_BYTES = 1 << 16  # a CSV's first 64 KiB: its bytes per line


def float_bytes(path: str, columns: int | None = None) -> int | None:
    """The rows of ``path`` as float64 (bytes), in ``columns`` columns (default: all the file's);
    ``None`` when it cannot be told without reading the file. Parquet: rows from its footer. CSV:
    the file's size over the bytes per line of its first 64 KiB."""
    try:
        suffix, compression = file_format(path)
        if suffix in PARQUET_SUFFIXES:
            import pyarrow.parquet as pq

            meta = pq.read_metadata(path)
            return 8 * int(meta.num_rows) * (columns or int(meta.num_columns))
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
    return int(8 * columns * os.path.getsize(path) / per_line)


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
    size), and the two figures."""
    need, free = float_bytes(path, columns), available_memory()
    if need is None or free is None:
        return False, need, free
    need = int(need * limits.IN_MEMORY_PEAK)
    return need > free, need, free
