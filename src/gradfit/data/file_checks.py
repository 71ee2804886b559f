"""Which files gradfit reads, and the checks made before one is opened: the path, the format.

Every problem raises :class:`~gradfit.errors.BadDataError` with a one-line message that starts
with the path. The helpers at the end turn a library's exception into such a line.
"""

from __future__ import annotations

import difflib
import os
import stat

from ..atomic import file_kind
from ..errors import BadDataError

CSV_SUFFIXES = (".csv", ".tsv", ".txt")
PARQUET_SUFFIXES = (".parquet", ".pq")
COMPRESSIONS = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz"}
SUPPORTED = "CSV (.csv, .tsv, .txt, optionally compressed .gz/.bz2/.xz) and Parquet (.parquet, .pq)"


def check_path(path: str) -> None:
    """Raise :class:`~gradfit.errors.BadDataError` unless ``path`` is a readable, non-empty regular file.

    Decided from ``os.stat`` before anything is opened: opening a FIFO waits for a writer
    (forever, if none comes) and reading a device or socket never ends, so those are refused
    with what they are."""
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
    check_regular(path)
    try:
        with open(path, "rb") as file:
            empty = not file.read(1)
    except PermissionError:
        raise BadDataError(f"{path}: permission denied; make the file readable (chmod +r) or read a copy") from None
    except OSError as exc:
        raise BadDataError(f"{path}: cannot be read ({exc.strerror or exc}); check the file and the disk") from None
    if empty:
        raise BadDataError(f"{path}: the file is empty (0 bytes); expected a header line and rows of data")


def check_regular(path: str, what: str = "a data file", fix: str = "save the data to a file first") -> None:
    """Refuse ``path`` unless it is (or links to) a regular file, saying what it is instead.

    Every file gradfit reads is checked so before it is opened (data files, checkpoints)."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise BadDataError(f"{path}: cannot be read ({exc.strerror or exc}); check the file and the disk") from None
    if not stat.S_ISREG(mode):
        raise BadDataError(f"{path}: is {file_kind(mode)}, not {what}; gradfit reads regular files only ({fix})")


def file_format(path: str) -> tuple[str, str | None]:
    """The data suffix and the compression: ``'a.csv.gz'`` -> ``('.csv', 'gzip')``.

    >>> file_format("houses.CSV"), file_format("rows.tsv.xz"), file_format("big.pq")
    (('.csv', None), ('.tsv', 'xz'), ('.pq', None))
    """
    stem, suffix = os.path.splitext(path.lower())
    compression = COMPRESSIONS.get(suffix)
    if compression:
        stem, suffix = os.path.splitext(stem)
    if suffix in CSV_SUFFIXES or (suffix in PARQUET_SUFFIXES and not compression):
        return suffix, compression
    shown = os.path.splitext(path)[1] or "no extension"
    hint = "; export it as CSV or Parquet" if suffix not in (".xlsx", ".xls", ".ods") else "; save the sheet as CSV"
    raise BadDataError(f"{path}: unsupported file format ({shown}); gradfit reads {SUPPORTED}{hint}")


def decompression_errors() -> tuple[type[BaseException], ...]:
    """The exceptions that gzip, bz2 and lzma raise for a damaged or mislabelled stream."""
    import lzma
    import zlib

    return (OSError, EOFError, zlib.error, lzma.LZMAError)


def one_line(exc: BaseException) -> str:
    """A library exception's text on one line (its type name when it has no text)."""
    return " ".join(str(exc).split()) or type(exc).__name__
