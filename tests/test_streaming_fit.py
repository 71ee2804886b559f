"""Fitting a file that is never held whole: one streaming pass, then the exact engine."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import gradfit
from gradfit.cli import main
from gradfit.errors import BadOptionError
from gradfit import fit_streaming

pd = pytest.importorskip("pandas")
pytest.importorskip("pyarrow")


@pytest.fixture
def frame():
    rng = np.random.default_rng(21)
    table = pd.DataFrame(rng.normal(size=(1500, 3)) * [1.0, 10.0, 0.1] + [3.0, -20.0, 0.0], columns=["a", "b", "c"])
    table["y"] = 1.0 + table.a - 0.2 * table.b + 5 * table.c + rng.normal(size=1500)
    return table


def test_streamed_arrays_give_the_in_memory_iterates(frame):
    x, y = frame[["a", "b", "c"]].to_numpy(), frame["y"].to_numpy()
    options = dict(lr="auto", epochs=300, standardize=True)
    streamed = fit_streaming((x, y), chunk_rows=64, **options)
    whole = gradfit.fit(x, y, **options)
    np.testing.assert_allclose(streamed.params.theta, whole.params.theta, rtol=1e-10)
    np.testing.assert_allclose(streamed.history.train_loss, whole.history.train_loss, rtol=1e-10)
    np.testing.assert_allclose(streamed.stats.std_err, whole.stats.std_err, rtol=1e-9)
    # and the closed form is least squares itself (numpy, independently)
    design = np.column_stack([np.ones(len(y)), x])
    np.testing.assert_allclose(streamed.closed_form.theta, np.linalg.lstsq(design, y, rcond=None)[0], rtol=1e-10)
    assert streamed.n_train == 1500 and streamed.engine == "exact"


@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_cli_chunk_rows_equals_reading_the_file_whole(frame, tmp_path, kind, capsys):
    path = tmp_path / f"data.{kind}"
    frame.to_parquet(path, row_group_size=200, index=False) if kind == "parquet" else frame.to_csv(path, index=False)
    assert main(["fit", str(path), "--target", "y", "--epochs", "200", "--json"]) == 0
    whole = json.loads(capsys.readouterr().out)
    assert main(["fit", str(path), "--target", "y", "--epochs", "200", "--json", "--chunk-rows", "97"]) == 0
    streamed = json.loads(capsys.readouterr().out)
    np.testing.assert_allclose(streamed["params"]["coef"], whole["params"]["coef"], rtol=1e-10)
    np.testing.assert_allclose(streamed["history"]["train_loss"], whole["history"]["train_loss"], rtol=1e-10)
    assert streamed["n_train"] == whole["n_train"] == 1500 and streamed["standardized"]
    assert streamed["dataset"] == str(path) and streamed["target"] == "y"


@pytest.mark.parametrize("flags, option", [
    (["--engine", "numpy"], "--engine numpy"),
    (["--optimizer", "adam"], "--engine torch"),  # full batch on torch: the rows are not held
    (["--plot", "pics"], "--plot pics"),
])
def test_what_a_streamed_fit_cannot_do_is_one_line(frame, tmp_path, flags, option, capsys):
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    assert main(["fit", str(path), "--target", "y", "--chunk-rows", "50", *flags]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"gradfit fit: error: {option}: ")
    assert not (tmp_path / "pics").exists()


MEMORY_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np, pyarrow, pyarrow.parquet, pandas  # the imports are not the data
    import gradfit
    from gradfit import fit_streaming

    def status(key):
        with open("/proc/self/status") as handle:
            return next(int(line.split()[1]) * 1024 for line in handle if line.startswith(key))

    fit_streaming((np.ones((300, 5)) + np.eye(300, 5), np.arange(300.0)), epochs=5)  # warm up LAPACK and co.
    before = status("VmRSS:")
    res = fit_streaming(sys.argv[1], target="y", chunk_rows=50_000, epochs=100, lr="auto")
    print(json.dumps({"extra": status("VmHWM:") - before, "theta": res.closed_form.theta.tolist(),
                      "n": res.n_train}))
""")


def write_parquet(path, row_groups: int, rng) -> np.ndarray:
    """``row_groups`` × 250,000 rows of 5 features and ``y``; returns the generating coefficients."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    coef = np.array([1.0, -2.0, 0.5, 3.0, -1.5])
    with pq.ParquetWriter(path, pa.schema([(f"x{j}", pa.float64()) for j in range(5)] + [("y", pa.float64())])) as w:
        for _ in range(row_groups):
            x = rng.normal(size=(250_000, 5))
            y = 0.5 + x @ coef + 0.1 * rng.normal(size=250_000)
            w.write_table(pa.table({**{f"x{j}": x[:, j] for j in range(5)}, "y": y}))
    return coef


def peak_beyond_imports(path) -> dict:
    done = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT, str(path)], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_memory_of_a_streamed_fit_does_not_grow_with_the_file(tmp_path):
    """500,000 and 2,000,000 rows × 6 (24 and 96 MB of float64): the peak beyond the imports is
    the same, about 75 MiB (a 50,000-row chunk, its temporaries, and PyArrow's buffers for a
    decoded row group), not the data. (From 2 row groups on it stays flat: 20,000,000 rows
    measured 79 MiB.)"""
    rng = np.random.default_rng(5)
    write_parquet(tmp_path / "small.parquet", 2, rng)
    coef = write_parquet(tmp_path / "large.parquet", 8, rng)
    small, large = peak_beyond_imports(tmp_path / "small.parquet"), peak_beyond_imports(tmp_path / "large.parquet")
    assert (small["n"], large["n"]) == (500_000, 2_000_000)
    growth = large["extra"] - small["extra"]  # what 72 MB more data cost
    assert growth < 0.1 * (1_500_000 * 6 * 8), f"{growth / 2**20:.1f} MiB more for 72 MB more data"
    np.testing.assert_allclose(large["theta"], [0.5, *coef], atol=5e-4)  # the generating truth, 0.1/sqrt(n) noise


# ---------------------------------------------------------------- mini-batches from disk


def test_a_buffer_holding_every_row_gives_the_in_memory_batches(frame, tmp_path, capsys):
    """Same seeded permutation per epoch, so the float64 torch run is the in-memory one."""
    path = tmp_path / "data.parquet"
    frame.to_parquet(path, row_group_size=200, index=False)
    common = ["fit", str(path), "--target", "y", "--batch-size", "64", "--epochs", "3", "--dtype", "float64",
              "--lr", "auto", "--json"]
    assert main(common) == 0
    whole = json.loads(capsys.readouterr().out)
    assert main(common + ["--chunk-rows", "150", "--shuffle-buffer", "1500"]) == 0
    streamed = json.loads(capsys.readouterr().out)
    assert streamed["engine"] == whole["engine"] == "torch" and streamed["lr"] == pytest.approx(whole["lr"], rel=1e-12)
    np.testing.assert_allclose(streamed["params"]["coef"], whole["params"]["coef"], rtol=1e-12)
    np.testing.assert_allclose(streamed["history"]["train_loss"], whole["history"]["train_loss"], rtol=1e-12)


def test_a_small_buffer_still_shows_every_row_once_an_epoch():
    from gradfit.data.chunks import iter_array_chunks
    from gradfit.scale.shuffle_buffer import ShuffledBatches

    x = np.arange(1000.0)[:, None]
    batches = ShuffledBatches(iter_array_chunks(x, np.arange(1000.0), rows=70), batch_size=32, buffer_rows=200,
                              seed=3)
    for _ in range(2):  # two epochs, two different orders
        seen = [batch_x.numpy()[:, 0] for batch_x, _ in batches]
        rows = np.concatenate(seen)
        assert sorted(rows.tolist()) == list(range(1000))  # every row once, none repeated (no padding)
        assert [len(s) for s in seen] == [32] * 31 + [8]  # 1000 = 31 × 32 + 8: one partial batch, last
        assert not np.array_equal(rows, np.arange(1000.0))  # shuffled …
        # … within reach of the buffer: a row leaves at most a buffer (plus the carried remainder) early
        assert np.max(np.arange(1000) - np.argsort(rows)) < 200 + 32 + 70
