"""Memory: a file is read once into its final arrays, and under torchrun each process reads its share.

Peaks are measured in a child process (its own ``ru_maxrss`` less its resident size after the
imports), relative to the data's float64 size, with bounds far from both the old reader's peak
(the table, a block of every column and contiguous copies, held on by the Arrow pool) and the
new one's (the data once, plus one row group).
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from gradfit.data.files import read_table
from gradfit.errors import BadDataError
from gradfit.scale.distributed import Distributed
from gradfit.scale.shares import read_share, reads_shares

N_ROWS, N_COLS = 600_000, 8  # 38 MB of float64: large beside the interpreter's noise, quick to write


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    rng = np.random.default_rng(7)
    values = rng.normal(size=(N_ROWS, N_COLS))
    names = [f"x{j}" for j in range(N_COLS - 1)] + ["y"]
    folder = tmp_path_factory.mktemp("memory")
    pq.write_table(pa.table(dict(zip(names, values.T))), folder / "big.parquet", row_group_size=100_000)
    small = values[:1_000]
    np.savetxt(folder / "small.csv", small, delimiter=",", header=",".join(names), comments="", fmt="%.17g")
    pq.write_table(pa.table(dict(zip(names, small.T))), folder / "one_group.parquet")  # fewer groups than ranks
    return folder, values


# The child's own peak: VmHWM of /proc/self/status belongs to its address space, made at exec.
# (getrusage's ru_maxrss would not do: Linux carries it across fork and exec, so the child would
# report the test runner's own high-water mark whenever that is larger.)
PEAK = """
import sys
def status(name):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(name))
import gradfit.data.files as files
files.read_table(sys.argv[2], target="y")  # the imports a read makes, and the Arrow pool's first pages
before = status("VmHWM:")
data = files.read_table(sys.argv[1], target="y")
print((status("VmHWM:") - before) * 1024 / (data.x.nbytes + data.y.nbytes))
"""


def test_reading_a_parquet_file_holds_the_data_about_once(files):
    folder, values = files
    if not sys.platform.startswith("linux"):
        pytest.skip("reads /proc/self/status")
    done = subprocess.run([sys.executable, "-c", PEAK, str(folder / "big.parquet"),
                           str(folder / "one_group.parquet")], capture_output=True, text=True,
                          check=True)
    ratio = float(done.stdout.split()[-1])
    # Measured on this file: 2.8 (the data once, one row group's Arrow buffers and the pool's pages,
    # large beside 38 MB); the old reader (whole table, then copies): 5.3. On 515 MB: 1.76 and 4.15.
    assert ratio < 4.0, f"reading peaked at {ratio:.2f}× the data's float64 size"


def test_the_arrays_read_are_contiguous_and_exact(files):
    folder, values = files
    data = read_table(folder / "big.parquet", target="y")
    assert data.x.flags.c_contiguous and data.y.flags.c_contiguous
    assert np.array_equal(data.x, values[:, :-1]) and np.array_equal(data.y, values[:, -1])


class OneOfMany(Distributed):
    """Rank ``rank`` of ``world_size`` without a process group: what the others send is what it sends."""

    def all_gather(self, value) -> list:
        return [value] * self.world_size


def group(rank: int, world_size: int) -> OneOfMany:
    return OneOfMany(rank=rank, world_size=world_size, local_rank=rank, backend="gloo", device="cpu")


@pytest.mark.parametrize("name", ["big.parquet", "one_group.parquet", "small.csv"])
@pytest.mark.parametrize("world_size", [2, 3])
def test_each_process_reads_exactly_its_share(files, name, world_size):
    folder, values = files
    whole = read_table(folder / name, target="y")
    starts = []
    for rank in range(world_size):
        share = read_share(str(folder / name), group(rank, world_size), target="y")
        rows = group(rank, world_size).share(len(whole.y))
        assert np.array_equal(share.x, whole.x[rows]) and np.array_equal(share.y, whole.y[rows])
        assert share.shares.train.start == rows.start and share.n_total == len(whole.y)
        starts.append(share.shares.train.start)
    assert starts == sorted(starts)


def test_a_bad_value_in_a_share_names_its_line_in_the_whole_file(tmp_path):
    text = "a,y\n" + "".join(f"{i},{2 * i}\n" for i in range(10)) + "5,oops\n"
    (tmp_path / "bad.csv").write_text(text)
    with pytest.raises(BadDataError, match=r"line 12 has 'oops'"):
        read_share(str(tmp_path / "bad.csv"), group(1, 2), target="y")


def test_a_tiny_column_is_judged_on_every_share_together(tmp_path):
    # The share of rank 0 holds only zeros in 'a': that alone is no magnitude below the range.
    rows = [(0.0, 1.0)] * 4 + [(1.0, 2.0)] * 4
    (tmp_path / "zeros.csv").write_text("a,y\n" + "".join(f"{a},{y}\n" for a, y in rows))
    share = read_share(str(tmp_path / "zeros.csv"), group(0, 2), target="y")
    assert np.all(share.x == 0.0) and share.n_total == 8


def test_what_needs_every_row_reads_the_whole_file():
    two = group(0, 2)
    assert reads_shares(two) and not reads_shares(None) and not reads_shares(group(0, 1))
    for needs in ({"val_split": 0.2}, {"dropna": True}, {"weights": "w"}, {"cluster": "g"}, {"poly": 2},
                  {"formula": "y ~ a"}):
        assert not reads_shares(two, **needs), needs


def test_torchrun_fit_from_shares_matches_one_process(files, tmp_path, capsys):
    """A Parquet file of one row group split between two processes: the exact engine's answer of
    the gathered shares equals the single process's."""
    pytest.importorskip("torch.distributed")
    from gradfit.cli import main
    from test_distributed import torchrun

    folder, _ = files
    args = ["fit", str(folder / "one_group.parquet"), "--target", "y", "--epochs", "200", "--json"]
    assert main(args) == 0
    one = json.loads(capsys.readouterr().out)
    done = torchrun(args, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    two = json.loads(done.stdout[done.stdout.index("{"):])
    assert two["n_train"] == one["n_train"] == 1_000
    np.testing.assert_allclose(two["params"]["coef"], one["params"]["coef"], rtol=1e-12, atol=1e-14)
