"""Reading CSV and Parquet files: exact values, column choice, and one clear error per bad case.

Expected values are the ones written into each file (floats through Python's ``float``, which is
correctly rounded), never values printed by the reader.
"""

from __future__ import annotations

import bz2
import gzip
import os
import re

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from gradfit import limits
from gradfit.data import file_checks
from gradfit.data.files import TableData, read_table
from gradfit.errors import BadDataError, BadOptionError


def write(folder, name: str, content: str | bytes):
    """A file holding exactly ``content`` (no newline translation)."""
    path = folder / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def write_parquet(folder, name: str, columns: dict):
    path = folder / name
    pq.write_table(pa.table(columns), path)
    return path


def bad(pattern: str, path, **options) -> str:
    """Assert read_table raises BadDataError matching ``pattern``: one line, path first, no traceback chain."""
    options.setdefault("target", "y")
    with pytest.raises(BadDataError, match=pattern) as info:
        read_table(path, **options)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__ or info.value.__context__ is None
    return message


# --- good files ----------------------------------------------------------------------------------

TEXT = [["0.1", "-2", "1e-300"], ["123456789.123456789", "0", "2.5"], ["3", "7.000000000000001", "-0.3"]]


def test_csv_gives_the_values_written(tmp_path):
    path = write(tmp_path, "data.csv", "a,b,y\n" + "".join(",".join(row) + "\n" for row in TEXT))
    data = read_table(path, target="y")
    assert isinstance(data, TableData)
    expected = np.array([[float(v) for v in row] for row in TEXT])
    assert data.x.dtype == np.float64 and data.y.dtype == np.float64
    assert data.x.shape == (3, 2) and data.y.shape == (3,)
    np.testing.assert_array_equal(data.x, expected[:, :2])  # exact: correctly rounded parsing
    np.testing.assert_array_equal(data.y, expected[:, 2])
    assert data.feature_names == ["a", "b"] and data.target_name == "y"
    assert data.n_dropped == 0 and data.path == str(path)


def test_parquet_gives_the_values_written(tmp_path):
    path = write_parquet(tmp_path, "data.parquet", {
        "a": pa.array([0.1, 1e-300, -2.5], pa.float64()),
        "n": pa.array([1, -7, 2**40], pa.int64()),
        "small": pa.array([1, 2, 3], pa.int8()),
        "flag": [True, False, True],  # bool is explicit in Parquet: read as 1/0
        "y": pa.array([1.5, 2.5, 3.5], pa.float32()),
    })
    data = read_table(path, target="y")
    np.testing.assert_array_equal(data.x, [[0.1, 1, 1, 1], [1e-300, -7, 2, 0], [-2.5, 2**40, 3, 1]])
    np.testing.assert_array_equal(data.y, [1.5, 2.5, 3.5])
    assert data.feature_names == ["a", "n", "small", "flag"]


def test_default_features_are_all_columns_but_the_target(tmp_path):
    path = write(tmp_path, "data.csv", "a,y,b\n1,2,3\n4,5,6\n")
    data = read_table(path, target="y")
    assert data.feature_names == ["a", "b"]
    np.testing.assert_array_equal(data.x, [[1, 3], [4, 6]])
    np.testing.assert_array_equal(data.y, [2, 5])


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_features_keep_the_given_order(tmp_path, kind):
    columns = {"a": [1.0, 4.0], "b": [2.0, 5.0], "c": [3.0, 6.0], "y": [7.0, 8.0]}
    if kind == "csv":
        path = write(tmp_path, "data.csv", "a,b,c,y\n1,2,3,7\n4,5,6,8\n")
    else:
        path = write_parquet(tmp_path, "data.parquet", columns)
    data = read_table(path, target="y", features=["c", "a"])
    assert data.feature_names == ["c", "a"]
    np.testing.assert_array_equal(data.x, [[3, 1], [6, 4]])
    np.testing.assert_array_equal(data.y, [7, 8])


def test_prediction_file_without_target(tmp_path):
    path = write(tmp_path, "new.csv", "b,a\n2,1\n4,3\n")
    data = read_table(path, target=None, features=["a", "b"], require_target=False)
    assert data.y is None and data.target_name is None
    np.testing.assert_array_equal(data.x, [[1, 2], [3, 4]])


def test_prediction_file_reads_the_target_when_present(tmp_path):
    path = write(tmp_path, "new.csv", "a,y\n1,2\n3,4\n")
    with_target = read_table(path, target="y", features=["a"], require_target=False)
    np.testing.assert_array_equal(with_target.y, [2, 4])
    absent = read_table(path, target="price", features=["a"], require_target=False)
    assert absent.y is None and absent.target_name is None


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_dropna_drops_rows_and_counts_them(tmp_path, kind):
    if kind == "csv":
        path = write(tmp_path, "data.csv", "a,b,y\n1,,3\n4,5,6\nNA,8,9\n10,11,12\n13,14,\n")
    else:
        path = write_parquet(tmp_path, "data.parquet", {
            "a": [1.0, 4.0, None, 10.0, 13.0], "b": [float("nan"), 5.0, 8.0, 11.0, 14.0],
            "y": [3.0, 6.0, 9.0, 12.0, None],
        })
    data = read_table(path, target="y", dropna=True)
    assert data.n_dropped == 3
    np.testing.assert_array_equal(data.x, [[4, 5], [10, 11]])
    np.testing.assert_array_equal(data.y, [6, 12])


def test_dropna_ignores_missing_values_in_unused_columns(tmp_path):
    path = write(tmp_path, "data.csv", "a,notes,y\n1,,2\n3,x,4\n")
    data = read_table(path, target="y", features=["a"], dropna=True)
    assert data.n_dropped == 0
    np.testing.assert_array_equal(data.x, [[1], [3]])


@pytest.mark.parametrize(("name", "content"), [
    ("data.tsv", b"a\tb\ty\n1\t2\t3\n4\t5\t6\n"),
    ("data.txt", b"a;b;y\n1;2;3\n4;5;6\n"),
    ("data.txt", b"a b   y\n1 2 3\n  4 5\t6\n"),  # runs of whitespace, as in NIST-style tables
    ("data.csv", b"a;b;y\n1;2;3\n4;5;6\n"),  # Excel in decimal-comma locales
    ("data.csv", b"\xef\xbb\xbfa,b,y\r\n1,2,3\r\n4,5,6\r\n"),  # BOM and CRLF
    ("data.csv.gz", gzip.compress(b"a,b,y\n1,2,3\n4,5,6\n")),
    ("data.csv.bz2", bz2.compress(b"a,b,y\n1,2,3\n4,5,6\n")),
    ("DATA.CSV", b"a,b,y\n1,2,3\n4,5,6\n"),
    ("data.pq", None),
])
def test_formats_and_separators(tmp_path, name, content):
    if content is None:
        path = write_parquet(tmp_path, name, {"a": [1, 4], "b": [2, 5], "y": [3, 6]})
    else:
        path = write(tmp_path, name, content)
    data = read_table(path, target="y")
    np.testing.assert_array_equal(data.x, [[1, 2], [4, 5]])
    np.testing.assert_array_equal(data.y, [3, 6])


def test_csv_blank_lines_and_padded_numbers(tmp_path):
    path = write(tmp_path, "data.csv", "\na,y\n1, 2\n\n   \n 3 ,4\n")
    data = read_table(path, target="y")
    np.testing.assert_array_equal(data.x, [[1], [3]])
    np.testing.assert_array_equal(data.y, [2, 4])


def test_unused_columns_may_hold_anything(tmp_path):
    path = write(tmp_path, "data.csv", "name,a,y,when\nAnn,1,2,2024-01-01\nBob,3,4,\n")
    data = read_table(path, target="y", features=["a"])
    np.testing.assert_array_equal(data.x, [[1], [3]])
    np.testing.assert_array_equal(data.y, [2, 4])


def test_parquet_pandas_index_is_not_a_default_feature(tmp_path):
    import pandas as pd

    path = tmp_path / "data.parquet"
    pd.DataFrame({"x": [1.0, 2.0], "y": [3.0, 4.0]}, index=[10, 20]).to_parquet(path)
    data = read_table(path, target="y")
    assert data.feature_names == ["x"]


def test_parquet_reads_only_the_needed_columns(tmp_path, monkeypatch):
    path = write_parquet(tmp_path, "wide.parquet", {f"c{i}": [float(i)] for i in range(50)})
    asked = []
    original = pq.ParquetFile.iter_batches  # (the rows are decoded a batch at a time)

    def spy(self, columns=None, **options):
        asked.append(columns)
        return original(self, columns=columns, **options)

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", spy)
    data = read_table(path, target="c7", features=["c3", "c41"])
    assert asked == [["c3", "c41", "c7"]]
    np.testing.assert_array_equal(data.x, [[3, 41]])


def test_csv_in_many_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "CSV_READ_CELLS", 1)  # 1,000-row chunks
    rows = np.arange(2500 * 3).reshape(2500, 3)
    text = "a,b,y\n" + "".join(f"{a},{b},{y}\n" for a, b, y in rows)
    data = read_table(write(tmp_path, "data.csv", text), target="y")
    np.testing.assert_array_equal(data.x, rows[:, :2])
    np.testing.assert_array_equal(data.y, rows[:, 2])
    # a bad value in the third chunk is reported at its own line (data row 2100 -> line 2102)
    lines = text.splitlines(keepends=True)
    lines[2101] = "1,oops,2\n"
    bad(r"column 'b' is not numeric: line 2102 has 'oops'", write(tmp_path, "late.csv", "".join(lines)))


def test_import_gradfit_does_not_import_pandas_or_pyarrow():
    import subprocess
    import sys

    code = "import sys, gradfit.data.files; print('pandas' in sys.modules, 'pyarrow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


# --- the file itself -----------------------------------------------------------------------------

def test_missing_file(tmp_path):
    bad(r"data\.csv: no such file \(looked for .*data\.csv\); check the path", tmp_path / "data.csv")


def test_missing_file_suggests_a_close_name(tmp_path):
    write(tmp_path, "data.csv", "a,y\n1,2\n")
    bad(r"no such file .*did you mean '.*data\.csv'\?", tmp_path / "data.cvs")


def test_directory(tmp_path):
    bad(r"is a directory, not a data file; give the path of one \.csv or \.parquet file", tmp_path)


def test_directory_of_parquet_parts(tmp_path):
    folder = tmp_path / "table.parquet"
    folder.mkdir()
    write_parquet(folder, "part-0.parquet", {"a": [1.0], "y": [2.0]})
    bad(r"is a directory.*directories of Parquet files are not read; give one file, e\.g\. .*part-0\.parquet", folder)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can read any file")
def test_unreadable_file(tmp_path):
    path = write(tmp_path, "data.csv", "a,y\n1,2\n")
    path.chmod(0)
    try:
        bad(r"permission denied; make the file readable \(chmod \+r\)", path)
    finally:
        path.chmod(0o644)


def test_unreadable_file_message_as_root_sees_it(tmp_path, monkeypatch):
    # the same branch as test_unreadable_file, reachable when the tests run as root
    path = write(tmp_path, "data.csv", "a,y\n1,2\n")

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(file_checks, "open", refuse, raising=False)
    bad(r"permission denied; make the file readable \(chmod \+r\)", path)


@pytest.mark.parametrize("name", ["data.csv", "data.parquet"])
def test_empty_file(tmp_path, name):
    bad(r"the file is empty \(0 bytes\); expected a header line and rows of data", write(tmp_path, name, b""))


def test_only_blank_lines(tmp_path):
    bad(r"the file has only blank lines", write(tmp_path, "data.csv", "\n  \n\n"))


def test_header_only(tmp_path):
    bad(r"no data rows after the header \(line 1\); add rows of data", write(tmp_path, "data.csv", "a,b,y\n"))


def test_header_then_blank_lines(tmp_path):
    bad(r"no data rows after the header \(line 2\)", write(tmp_path, "data.csv", "\na,y\n\n \n"))


def test_parquet_without_rows(tmp_path):
    path = write_parquet(tmp_path, "data.parquet", {"a": pa.array([], pa.float64()), "y": pa.array([], pa.float64())})
    bad(r"the Parquet file has no rows", path)


@pytest.mark.parametrize(("name", "shown"), [
    ("data.xlsx", r"\(\.xlsx\).*save the sheet as CSV"),
    ("data.json", r"\(\.json\).*export it as CSV or Parquet"),
    ("data", r"\(no extension\)"),
    ("data.parquet.gz", r"\(\.gz\)"),
])
def test_unsupported_format(tmp_path, name, shown):
    message = bad(f"unsupported file format {shown}", write(tmp_path, name, b"a,y\n1,2\n"))
    assert ".csv" in message and ".parquet" in message  # names the supported formats


@pytest.mark.parametrize(("content", "pattern"), [
    (bytes(range(256)) * 8, r"is not a text file \(it holds binary data\)"),
    (b"PAR1\x00\x01\x02", r"is a Parquet file, not CSV text; rename it to end in \.parquet"),
    (gzip.compress(b"a,y\n1,2\n"), r"is gzip-compressed; rename it to end in \.gz"),
    (b"PK\x03\x04\x14\x00", r"is a ZIP archive \(an Excel workbook\?\)"),
    ("a,y\n1,2\n".encode("utf-16"), r"is UTF-16 text; save it as UTF-8"),
])
def test_csv_that_is_not_text(tmp_path, content, pattern):
    bad(pattern, write(tmp_path, "data.csv", content))


def test_csv_that_is_not_utf8(tmp_path):
    path = write(tmp_path, "data.csv", "a,y\n1,2\n3,4\n".encode() + "5,é\n".encode("latin-1"))
    bad(r"line 4 is not UTF-8 text \(byte 0xe9\); save the file with UTF-8 encoding", path)


def test_damaged_gzip(tmp_path):
    path = write(tmp_path, "data.csv.gz", b"\x1f\x8bjunk")
    bad(r"cannot be decompressed \(.+\); the file is damaged or not gzip", path)


def test_parquet_that_is_garbage(tmp_path):
    bad(r"not a Parquet file \(it does not start with the Parquet marker PAR1\)$",
        write(tmp_path, "data.parquet", bytes(range(256)) * 4))


def test_parquet_that_is_csv_text(tmp_path):
    path = write(tmp_path, "data.parquet", "a,y\n1,2\n")
    bad(r"not a Parquet file .*; if it is CSV text, rename it to end in \.csv", path)


def test_truncated_parquet(tmp_path):
    whole = write_parquet(tmp_path, "whole.parquet", {"a": np.arange(100.0), "y": np.arange(100.0)}).read_bytes()
    path = write(tmp_path, "data.parquet", whole[: len(whole) // 2])
    bad(r"the Parquet file is truncated \(no PAR1 marker at its end\); export it again", path)


def test_parquet_with_damaged_footer(tmp_path):
    whole = bytearray(write_parquet(tmp_path, "whole.parquet", {"a": [1.0], "y": [2.0]}).read_bytes())
    whole[-12:-8] = b"\xff\xff\xff\x7f"  # the footer's length
    bad(r"damaged Parquet file \(.+\); export it again", write(tmp_path, "data.parquet", bytes(whole)))


# --- which columns -------------------------------------------------------------------------------

def test_target_required(tmp_path):
    path = write(tmp_path, "data.csv", "a,b,c\n1,2,3\n")
    bad(r"a data file needs target=COL; the columns are: a, b, c$", path, target=None)


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_unknown_target(tmp_path, kind):
    if kind == "csv":
        path = write(tmp_path, "data.csv", "size,price\n1,2\n")
    else:
        path = write_parquet(tmp_path, "data.parquet", {"size": [1.0], "price": [2.0]})
    bad(r"no column 'pirce' for target \(did you mean 'price'\?\); the columns are: size, price$",
        path, target="pirce")


def test_unknown_target_matches_case_and_shows_spaces(tmp_path):
    path = write(tmp_path, "data.csv", "size, Price\n1,2\n")
    bad(r"no column 'price' for target \(did you mean ' Price'\?\); the columns are: size, ' Price'$",
        path, target="price")


def test_long_column_lists_are_cut(tmp_path):
    path = write(tmp_path, "data.csv", ",".join(f"c{i}" for i in range(30)) + "\n" + ",".join(["1"] * 30) + "\n")
    message = bad(r"the columns are: c0, c1, .*, c19, … \(10 more\)$", path, target="zzz")
    assert "c20" not in message


def test_unknown_feature(tmp_path):
    path = write(tmp_path, "data.csv", "size,rooms,y\n1,2,3\n")
    bad(r"no column 'room' \(did you mean 'rooms'\?\) for features; the columns are: size, rooms, y$",
        path, features=["size", "room"])
    bad(r"no columns 'zz', 'qq' for features", path, features=["zz", "qq"])


def test_target_listed_as_feature(tmp_path):
    path = write(tmp_path, "data.csv", "a,y\n1,2\n")
    bad(r"column 'y' is the target and is also in features; "
        r"a column cannot predict itself: remove it from features",
        path, features=["a", "y"])


def test_features_as_one_string(tmp_path):
    path = write(tmp_path, "data.csv", "a,b,y\n1,2,3\n")
    with pytest.raises(BadOptionError, match=r"features='a,b': must be a list of column names, not one string; "
                                             r"pass features=\['a', 'b'\]"):
        read_table(path, target="y", features="a,b")


def test_feature_listed_twice(tmp_path):
    bad(r"features lists 'a' more than once", write(tmp_path, "data.csv", "a,y\n1,2\n"), features=["a", "a"])


def test_empty_feature_list(tmp_path):
    path = write(tmp_path, "data.csv", "a,y\n1,2\n")
    bad(r"features is empty; list at least one column of: a, y", path, features=[])


def test_prediction_needs_features(tmp_path):
    path = write(tmp_path, "data.csv", "a,b\n1,2\n")
    bad(r"without a target column, name the feature columns \(features=\['A', 'B'\]\); the columns are: a, b$",
        path, target=None, require_target=False)


def test_only_the_target_column(tmp_path):
    bad(r"the target 'y' is the only column, so no feature columns remain; add feature columns to the file",
        write(tmp_path, "data.csv", "y\n1\n2\n"))


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_duplicate_column_names(tmp_path, kind):
    if kind == "csv":
        path = write(tmp_path, "data.csv", "a,b,a,y\n1,2,3,4\n")
        where = r"the header \(line 1\)"
    else:
        path = tmp_path / "data.parquet"
        pq.write_table(pa.Table.from_arrays([pa.array([1.0]), pa.array([2.0]), pa.array([3.0]), pa.array([4.0])],
                                            names=["a", "b", "a", "y"]), path)
        where = "the schema"
    bad(rf"column name 'a' appears 2 times \(columns 1, 3\) in {where}; give each column a unique name", path)
    assert read_table(path, target="y", features=["b"]).x.tolist() == [[2.0]]  # unused duplicates are harmless


def test_unnamed_column(tmp_path):
    path = write(tmp_path, "data.csv", ",x,y\n0,1,2\n1,3,4\n")  # pandas' to_csv with its index
    bad(r"column 1 has no name in the header \(line 1\), perhaps a saved row index; "
        r"name it, or choose the feature columns with features", path)
    assert read_table(path, target="y", features=["x"]).x.tolist() == [[1.0], [3.0]]


# --- values --------------------------------------------------------------------------------------

def test_non_numeric_csv_column(tmp_path):
    rows = "".join(f"{i},{i * 10}\n" for i in range(5))
    path = write(tmp_path, "data.csv", "size,price\n" + rows + "6,abc\n7,70\n")
    bad(r"column 'price' is not numeric: line 7 has 'abc'; the target must be numeric: fix that value$",
        path, target="price")
    bad(r"column 'price' is not numeric: line 7 has 'abc'; fix that value, or leave 'price' out of features$",
        path, target="size")


def test_text_column(tmp_path):
    path = write(tmp_path, "data.csv", "name,y\nAnn,1\nBob,2\n")
    bad(r"column 'name' is not numeric: line 2 has 'Ann'", path)


@pytest.mark.parametrize("value", ["True", "false"])
def test_csv_booleans_are_not_numbers(tmp_path, value):
    path = write(tmp_path, "data.csv", f"flag,y\n{value},1\n,2\n")
    bad(rf"column 'flag' is not numeric: line 2 has '{value}'; write booleans as 1 and 0", path)


def test_decimal_comma(tmp_path):
    path = write(tmp_path, "data.csv", "a;y\n1;2\n2,5;3\n")
    bad(r"column 'a' is not numeric: line 3 has '2,5'; numbers need '\.' as the decimal point", path)


def test_non_numeric_parquet_column(tmp_path):
    path = write_parquet(tmp_path, "data.parquet", {"a": [1.0, 2.0], "name": [None, "Bob"], "y": [1.0, 2.0]})
    bad(r"column 'name' is not numeric \(Parquet type string\): row 2 has 'Bob'; leave 'name' out of features", path)
    path = write_parquet(tmp_path, "time.parquet", {"a": [1.0], "y": pa.array([0], pa.timestamp("ms"))})
    bad(r"column 'y' is not numeric \(Parquet type timestamp\[ms\]\).*; the target must be numeric", path)


@pytest.mark.parametrize(("row", "pattern"), [
    ("4,,6", r"line 3, column 'b' is empty"),
    ("4, ,6", r"line 3, column 'b' is empty"),
    ("4,NA,6", r"line 3, column 'b' has the missing-value marker 'NA'"),
    ("4,nan,6", r"line 3, column 'b' has the missing-value marker 'nan'"),
    ("4,5", r"line 3 has no value for column 'y' \(2 fields, the header 3\)"),  # a short row
])
def test_missing_value(tmp_path, row, pattern):
    path = write(tmp_path, "data.csv", f"a,b,y\n1,2,3\n{row}\n7,8,9\n")
    bad(pattern + r"; fill it in, or use dropna=True to drop rows with missing values$", path)


def test_missing_values_after_blank_lines_point_at_the_right_line(tmp_path):
    path = write(tmp_path, "data.csv", 'a,y\n1,2\n\n"x\ny",3\n4,\n5,\n')
    # the quoted value spans lines 4-5: the reader must not be fooled by it
    bad(r"column 'a' is not numeric: line 4 has 'x\\ny'", path)
    path = write(tmp_path, "data2.csv", 'a,y\n1,2\n\n\n4,\n5,\n')
    bad(r"line 5, column 'y' is empty; 2 rows have missing values: fill them in, or use dropna=True to drop them$",
        path)


def test_missing_value_in_parquet(tmp_path):
    path = write_parquet(tmp_path, "data.parquet", {"a": [1.0, None], "y": [1.0, 2.0]})
    bad(r"row 2, column 'a' is missing \(null or NaN\); fill it in, or use dropna=True", path)


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_dropna_dropping_every_row(tmp_path, kind):
    if kind == "csv":
        path = write(tmp_path, "data.csv", "a,y\n,1\n2,\n")
    else:
        path = write_parquet(tmp_path, "data.parquet", {"a": [None, 2.0], "y": [1.0, None]})
    bad(r"every one of the 2 rows has a missing value in the columns used \(a, y\), so dropna=True leaves no data",
        path, dropna=True)


@pytest.mark.parametrize("value", ["inf", "-Infinity", "1e400"])
def test_infinite_value(tmp_path, value):
    path = write(tmp_path, "data.csv", f"a,y\n1,2\n3,{value}\n")
    bad(rf"line 3, column 'y' has '{value}', which is infinite as a float64; replace it with a finite number", path)


def test_infinite_value_after_dropna_points_at_the_right_line(tmp_path):
    path = write(tmp_path, "data.csv", "a,y\n,1\n2,3\n4,inf\n")
    bad(r"line 4, column 'y' has 'inf'", path, dropna=True)


def test_infinite_value_in_parquet(tmp_path):
    path = write_parquet(tmp_path, "data.parquet", {"a": [1.0, float("-inf")], "y": [1.0, 2.0]})
    bad(r"row 2, column 'a' has -inf, which is infinite as a float64", path)


# --- broken CSV structure ------------------------------------------------------------------------

@pytest.mark.parametrize("features", [None, ["a"]])  # with a column subset pandas would not notice
def test_row_with_too_many_fields(tmp_path, features):
    path = write(tmp_path, "data.csv", "a,b,y\n1,2,3\n4,5,6\n7,8,9\n1,2,3,4\n")
    bad(r"line 5 has 4 fields but the header has 3; remove the extra field or quote values that contain ','$",
        path, features=features)


def test_first_row_with_too_many_fields(tmp_path):
    # pandas would silently turn the first column into the index here
    path = write(tmp_path, "data.csv", "a,y\n1,2,3\n4,5,6\n")
    bad(r"line 2 has 3 fields but the header has 2", path)


def test_row_with_trailing_separator(tmp_path):
    path = write(tmp_path, "data.csv", "a,y\n1,2\n3,4,\n")
    bad(r"line 3 has 3 fields but the header has 2; .* \(the line ends with ','\)$", path)


def test_unclosed_quote(tmp_path):
    path = write(tmp_path, "data.csv", 'a,y\n1,2\n3,"4\n5,6\n')
    bad(r"a quoted value that starts on line 3 is never closed; add the closing quote", path)


def test_every_message_is_one_line_with_the_path_first(tmp_path):
    # bad() checks this for each case above; here make sure a message never hides a newline from the data
    path = write(tmp_path, "data.csv", 'a,y\n"multi\nline",2\n')
    message = bad(r"column 'a' is not numeric: line 2 has 'multi\\nline'", path)
    assert re.fullmatch(r"[^\n]+", message)
