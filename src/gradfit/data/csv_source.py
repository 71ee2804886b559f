"""A CSV file as gradfit reads it: pandas parses the values, the csv module points at lines.

pandas is fast but reports a bad value by row index, and silently takes a first column as the
index when data rows have one field more than the header. So the header and the first data row
are read here with the csv module first, and when a value is wrong the file is re-read with the
csv module to report the line (and the raw text) the value came from. Line numbers are those of
the file, the header being line 1; a quoted value spanning lines counts from the line its record
starts on.
"""

from __future__ import annotations

import csv
import re
from contextlib import contextmanager

import numpy as np

from .. import limits
from ..errors import BadDataError, option
from .file_checks import decompression_errors, one_line


class CsvSource:
    """A CSV file: its header, pandas to parse it, the csv module to point at lines.

    Attributes
    ----------
    path : str
    compression : str or None
        ``'gzip'``, ``'bz2'``, ``'xz'`` or ``None``.
    sep : str or None
        The field separator; ``None`` for runs of whitespace.
    header_line : int
        The line of the header (after any blank lines).
    columns : list of str
        The header's fields.
    where_header : str
        Where the column names are, for messages: ``'the header (line 1)'``.
    """

    def __init__(self, path: str, suffix: str, compression: str | None) -> None:
        self.path, self.compression = path, compression
        self._check_text()
        try:
            with self._open() as file:
                first = next((line for line in file if line.strip()), "")  # the header line
        except UnicodeDecodeError:
            self._raise_not_utf8()
        except decompression_errors() as exc:
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
        """The columns at ``positions`` of every row as float64 ``(n, k)``; NaN where a value is missing."""
        blocks, offset = [], 0
        with self.pandas_chunks(max(1_000, limits.CSV_READ_CELLS // len(self.columns))) as chunks:
            for chunk in chunks:
                blocks.append(self.block(chunk, offset, positions, names, target))
                offset += len(chunk)
        return np.concatenate(blocks) if blocks else np.empty((0, len(positions)))

    def read_labels(self, name: str) -> np.ndarray:
        """Column ``name`` of every row as it is written (text), ``None`` where it is empty."""
        position, blocks = self.columns.index(name), []
        with self.pandas_chunks(max(1_000, limits.CSV_READ_CELLS // len(self.columns))) as chunks:
            for chunk in chunks:
                blocks.append(labels_of(chunk.iloc[:, position]))
        return np.concatenate(blocks) if blocks else np.empty(0, dtype=object)

    @contextmanager
    def pandas_chunks(self, rows: int):
        """pandas' chunks of ``rows`` rows, every column parsed; its errors (and those of the
        text inside the ``with``) raised as one-line :class:`~gradfit.errors.BadDataError`."""
        import pandas as pd

        # All columns are parsed (and only the needed ones kept): with usecols= pandas silently
        # truncates a row with too many fields, and then values would land in the wrong column.
        options = dict(
            sep=self.sep or r"\s+", header=0, index_col=False, skip_blank_lines=True,
            encoding="utf-8", compression=self.compression, chunksize=rows,
        )
        try:
            with pd.read_csv(self.path, **options) as reader:
                yield (self._check_width(chunk) for chunk in reader)
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            self._raise_parser_error(exc)
        except UnicodeDecodeError:
            self._raise_not_utf8()
        except decompression_errors() as exc:
            self._raise_undecompressible(exc)

    def block(self, chunk, offset: int, positions: list[int], names: list[str], target: str | None) -> np.ndarray:
        """The columns at ``positions`` of a pandas chunk (file rows from ``offset``) as float64 ``(m, k)``."""
        block = np.empty((len(chunk), len(positions)), order="F")  # (m, k), filled by column
        for j, (position, name) in enumerate(zip(positions, names)):
            block[:, j] = self._floats(chunk.iloc[:, position], offset, position, name, target)
        return block

    def close(self) -> None:
        """Nothing to close: each read opens (and closes) the file itself."""

    def locate(self, index: int) -> tuple[str, list[str] | None]:
        """``('line N', fields)`` of data row ``index`` (0-based), by re-reading the file."""
        for count, (line, fields) in enumerate(self._records()):
            if count == index + 1:  # record 0 is the header
                return f"line {line}", fields
        return f"data row {index + 1}", None

    def _check_width(self, chunk):
        if chunk.shape[1] != len(self.columns):  # pandas split the header differently
            raise BadDataError(
                f"{self.path}: pandas finds {chunk.shape[1]} columns in the header but the csv module "
                f"finds {len(self.columns)}; check the separators and quotes on line {self.header_line}"
            )
        return chunk

    def _floats(self, column, offset: int, position: int, name: str, target: str | None) -> np.ndarray:
        """One parsed column as float64 ``(m,)``, or an error naming the line of its first non-number."""
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
            hint = f"fix that value, or leave {name!r} out of {option('features')}"
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
        except decompression_errors() as exc:
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
            f"{self.path}: cannot be decompressed ({one_line(exc)}); the file is damaged or not {self.compression}"
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


def labels_of(column) -> np.ndarray:
    """A pandas column of labels as written (numbers or text), ``None`` where a value is missing."""
    return column.astype(object).where(column.notna(), None).to_numpy()


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
