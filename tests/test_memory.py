"""Memory: a file is read once into its final arrays, under torchrun each process reads its share,
and an in-memory mini-batch fit holds the rows once (its batches standardized as they are drawn).

Peaks are measured in a child process (its own high-water mark, VmHWM, less the one after a
warm-up), relative to the data's float64 size, with bounds far from both the old code's peak and
the new one's, and derived from what each holds.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import gradfit
from gradfit import limits
from gradfit.data import footprint, read_rows
from gradfit.data.files import read_table
from gradfit.errors import BadDataError
from gradfit.pipeline import sources
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
    # Measured on this file: 2.4 (the data once, Arrow's decoding buffers and the pool's pages, a
    # few tens of MB, large beside 38 MB); whole row groups: 2.9; the old reader (whole table, then
    # copies): 5.3. On 352 MB (read_rows' docstring): 1.20, whole row groups 2.14 (one group: 4.18).
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


def test_shares_that_end_inside_a_batch_of_a_row_group_are_exact(files, monkeypatch):
    folder, values = files
    monkeypatch.setattr(read_rows, "READ_BATCH_CELLS", 8 * 3_000)  # 3,000-row batches in 100,000-row groups
    for rank in range(7):  # shares of 85,714 or 85,715 rows: their ends fall inside batches
        share = read_share(str(folder / "big.parquet"), group(rank, 7), target="y")
        rows = group(rank, 7).share(N_ROWS)
        assert np.array_equal(share.x, values[rows, :-1]) and np.array_equal(share.y, values[rows, -1])


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


# ------------------------------------------------------------------ an in-memory mini-batch fit
FIT_PEAK = """
import contextlib, io, json, sys
from gradfit.cli import main
def status(name):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith(name))
marks = []
for path in sys.argv[1:]:  # the warm-up (the imports and the path's first allocations), then the files
    with contextlib.redirect_stdout(io.StringIO()):
        main(["fit", path, "--target", "y", "--batch-size", "4096", "--epochs", "1", "--lr", "0.01", "--json"])
    marks.append(status("VmHWM:"))
print(json.dumps(marks))
"""
FIT_COLUMNS = 11  # 10 features and the target


def write_rows(path, n_rows: int, seed: int) -> int:
    """A Parquet file of ``n_rows`` × :data:`FIT_COLUMNS` (written 100,000 rows at a time, so the test
    runner stays small); returns the rows' float64 bytes."""
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    rng = np.random.default_rng(seed)
    names = [f"x{j}" for j in range(FIT_COLUMNS - 1)] + ["y"]
    with pq.ParquetWriter(path, pa.schema([(name, pa.float64()) for name in names])) as writer:
        for start in range(0, n_rows, 100_000):
            x = rng.normal(size=(min(100_000, n_rows - start), FIT_COLUMNS - 1))
            writer.write_table(pa.table(dict(zip(names, [*x.T, x @ np.arange(1.0, FIT_COLUMNS) + rng.normal(size=len(x))]))))
    return 8 * n_rows * FIT_COLUMNS


def test_a_mini_batch_fit_of_a_file_holds_its_rows_about_once(tmp_path):
    """The peak of ``gradfit fit FILE --batch-size B`` grows with the rows by about their float64
    size once: the difference of the peaks of two files, over the difference of their sizes,
    cancels what does not grow with the rows (the interpreter, torch, fixed-size buffers)."""
    if not sys.platform.startswith("linux"):
        pytest.skip("reads /proc/self/status")
    write_rows(tmp_path / "warm.parquet", 250_000, 1)  # large enough for the same path (above SMALL_CELLS)
    small, large = write_rows(tmp_path / "a.parquet", 500_000, 2), write_rows(tmp_path / "b.parquet", 2_500_000, 3)
    done = subprocess.run([sys.executable, "-c", FIT_PEAK, *(str(tmp_path / f"{name}.parquet") for name in
                                                             ("warm", "a", "b"))], capture_output=True, text=True, check=True)
    _, peak_small, peak_large = json.loads(done.stdout.splitlines()[-1])
    growth = (peak_large - peak_small) / (large - small)
    # Per byte of rows: the rows themselves (1), and beside them float64 vectors of one value per
    # row, four at most (the residual tests' residuals, centred residuals and squares at the report,
    # and the freed int64 order of the last epoch where the allocator keeps it): 4/11. Each high-water
    # mark may be off by a block the allocator keeps or returns (glibc maps blocks up to 32 MiB
    # apart from its heap): 32 MiB over the 176 MB between the files. Measured 1.20–1.28; with the
    # float32 standardized copy and an epoch's gather of it, as before: 2.19 (their 0.5 + 0.5).
    bound = 1.0 + 4 / FIT_COLUMNS + 32 * 2**20 / (large - small)
    assert growth < bound, f"the peak grew {growth:.2f}× the rows' float64 size (bound {bound:.2f})"
    # What the command's memory check counts per byte of rows covers it (data/footprint.py).
    assert limits.IN_MEMORY_PEAK + footprint.PER_ROW_VECTORS / FIT_COLUMNS > growth


@pytest.fixture(scope="module")
def large_rows():
    """250,000 × 10: above SMALL_CELLS (less 10% held out), so mini-batches are drawn from the rows
    (sources.RowBatches)."""
    rng = np.random.default_rng(11)
    x = rng.normal(size=(250_000, 10)) * np.arange(1.0, 11.0) + np.arange(10.0)
    return x, x @ np.linspace(-1, 1, 10) + 3.0 + rng.normal(size=len(x))


def copied_and_gathered(monkeypatch):
    """The fit as it ran before batches were drawn from the rows: a standardized copy of the
    training rows, one gather of it an epoch, then slices."""
    original = sources.InMemory.engine_inputs
    monkeypatch.setattr(sources.InMemory, "engine_inputs", lambda self, *args: {
        key: value for key, value in original(self, *args).items() if key != "batches"})


@pytest.mark.filterwarnings("ignore::gradfit.errors.ConvergenceWarning")  # (a few epochs: not converged)
@pytest.mark.parametrize("options", [{}, {"dtype": "float64"}, {"standardize": False, "lr": 0.0005},
                                     {"val_split": 0.1, "optimizer": "adam", "scheduler": "plateau"}])
def test_batches_drawn_from_the_rows_train_as_the_standardized_copy_did(large_rows, monkeypatch, options):
    x, y = large_rows
    given = x.copy(), y.copy()
    drawn = []
    rows_of = sources.RowBatches.rows
    monkeypatch.setattr(sources.RowBatches, "rows", lambda self, *args: drawn.append(1) or rows_of(self, *args))
    kwargs = {"engine": "torch", "batch_size": 1000, "epochs": 2, "lr": 0.01, "standardize": True, **options}
    new = gradfit.fit(x, y, **kwargs)
    assert drawn and np.array_equal(x, given[0]) and np.array_equal(y, given[1])  # the caller's rows untouched
    copied_and_gathered(monkeypatch)
    old = gradfit.fit(x, y, **kwargs)
    # The same values in the same batches: the same updates, bit for bit, and the same epoch losses.
    np.testing.assert_array_equal(new.params.theta, old.params.theta)
    assert new.history.train_loss == old.history.train_loss and new.history.val_loss == old.history.val_loss
    # The final training loss: float64 sums of the batches' squares against one float32 mean, whose
    # pairwise sum is off by about log2(n) roundings of its dtype.
    eps = np.finfo(new.dtype).eps
    np.testing.assert_allclose(new.train_loss, old.train_loss, rtol=np.log2(len(y)) * eps)


@pytest.mark.filterwarnings("ignore::gradfit.errors.ConvergenceWarning")  # (a few epochs: not converged)
def test_a_fit_drawing_batches_from_the_rows_resumes_bit_for_bit(large_rows, tmp_path):
    x, y = large_rows
    kwargs = {"engine": "torch", "batch_size": 1000, "lr": 0.01, "standardize": True}
    straight = gradfit.fit(x, y, epochs=3, **kwargs)
    gradfit.fit(x, y, epochs=1, checkpoint=str(tmp_path / "run.pt"), **kwargs)
    resumed = gradfit.fit(x, y, epochs=3, resume=str(tmp_path / "run.pt"), **kwargs)
    np.testing.assert_array_equal(resumed.params.theta, straight.params.theta)


@pytest.mark.filterwarnings("ignore::gradfit.errors.ConvergenceWarning")  # (a few epochs: not converged)
def test_a_sweep_of_large_rows_trains_on_the_standardized_rows_as_before(large_rows, monkeypatch):
    x, y = large_rows
    kwargs = {"engine": "torch", "batch_size": 1000, "epochs": 1, "lr": [0.005, 0.01], "standardize": True}
    new = gradfit.sweep(x, y, **kwargs)
    copied_and_gathered(monkeypatch)
    old = gradfit.sweep(x, y, **kwargs)
    for a, b in zip(new, old):
        np.testing.assert_array_equal(a.result.params.theta, b.result.params.theta)
