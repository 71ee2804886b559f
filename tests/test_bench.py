"""gradfit bench: its rows verify answers beside timings, and the table reports them."""

import numpy as np

from gradfit.bench import suite as bench
from gradfit.bench.baselines import lean_torch_minibatch, numpy_loop, tutorial_torch_loop
from gradfit.data import load_dataset

from published import NUMPY_END, NUMPY_START, TORCH_END


def test_baselines_reproduce_the_published_runs():
    data = load_dataset("book")
    np.testing.assert_allclose(tutorial_torch_loop(data.x_train[:, 0], data.y_train), TORCH_END, atol=5e-5)
    theta = numpy_loop(data.x_train, data.y_train, np.array(NUMPY_START), epochs=1000, lr=0.1)
    np.testing.assert_allclose(theta, NUMPY_END, atol=5e-8)


def test_lean_minibatch_baseline_learns_the_line():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, 2)).astype(np.float32)
    y = (1 + x @ np.array([2.0, -1.0])).astype(np.float32)
    theta = lean_torch_minibatch(x, y, batch_size=32, epochs=5, lr=0.05)
    np.testing.assert_allclose(theta, [1, 2, -1], atol=1e-3)


def test_book_rows_check_the_answer_and_report_the_median_of_alternated_rounds():
    rows = bench.bench_book("cpu", rounds=3)
    assert rows[0].ok and rows[0].target == 0.01
    assert rows[0].rounds == 3 and rows[0].ratio_low <= rows[0].ratio <= rows[0].ratio_high
    text = bench.table(rows)
    assert text.count("\n") == len(rows) + 1 and "the tutorial's PyTorch loop" in text


def test_alternate_takes_the_ratio_within_each_round_and_swaps_the_order():
    from gradfit.bench.measure import alternate

    calls = []
    comparison, a, b = alternate(lambda: calls.append("a") or "A", lambda: calls.append("b") or "B", 4,
                                 warmup=False)
    assert calls == ["a", "b", "b", "a", "a", "b", "b", "a"] and (a, b) == ("A", "B")
    assert len(comparison.ratios) == 4
    assert comparison.ratio == sorted(comparison.ratios)[1] / 2 + sorted(comparison.ratios)[2] / 2


def test_memory_row_is_measured_in_a_subprocess():
    (row,) = bench.bench_memory(200_000, 5)
    assert row.baseline_seconds == 200_000 * 5 * 8 + 200_000 * 8  # x and y, in bytes
    assert 0 <= row.ratio < 50 and row.target == 1.5


def test_memory_row_ignores_the_parents_high_water_mark():
    # Linux carries ru_maxrss over fork and exec: a bench process that has held a lot of memory
    # once made every later child look as big. The row must measure the child alone.
    held = np.ones(40_000_000)  # 320 MB resident in this (parent) process
    (row,) = bench.bench_memory(1_000_000, 5)
    assert held[0] == 1.0
    assert row.ratio < 1.5  # the child's own peak: data + solve, not the parent's 320 MB


def test_the_gpu_script_skips_without_cuda_and_runs_through_as_a_cpu_rehearsal(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu.py"
    skipped = subprocess.run([sys.executable, str(script), str(tmp_path / "none.md")], capture_output=True, text=True)
    import torch

    if not torch.cuda.is_available():
        assert skipped.returncode == 0 and "skipped" in skipped.stdout and not (tmp_path / "none.md").exists()
    done = subprocess.run([sys.executable, str(script), "--rehearse", str(tmp_path / "rehearsal.md")],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    table = (tmp_path / "rehearsal.md").read_text()
    assert table.count("\n| ") == 5 and "torchrun, 1 process" in table and "FAILED" not in table


def test_parquet_row_checks_the_answer_against_numpy_and_alternates_with_one_pyarrow_pass(tmp_path):
    from gradfit.bench.baselines import pyarrow_pass

    (row,) = bench.bench_parquet_solve(20_000, 3, rows=4096, rounds=3)
    assert row.ok and row.target == 1.25 and row.rounds == 3 and row.ratio_low <= row.ratio <= row.ratio_high
    assert "one pyarrow pass" in row.baseline and "20,000 rows read" in row.check
    import pandas as pd

    pd.DataFrame({"a": [1.0, 2.0, 3.0], "y": [1, 2, 3]}).to_parquet(tmp_path / "t.parquet", row_group_size=2)
    assert pyarrow_pass(str(tmp_path / "t.parquet"), ["a", "y"], 2) == 3


def test_path_row_alternates_with_lasso_cv_and_reports_the_exact_answers_kkt_residual():
    import pytest

    pytest.importorskip("sklearn")
    (row,) = bench.bench_path_cv(600, 6, rounds=3)
    assert row.rounds == 3 and row.ratio_low <= row.ratio <= row.ratio_high and "LassoCV" in row.baseline
    residual = float(row.check.split("residual ")[1].split(" ")[0])
    assert residual <= 1e-9  # limits.PENALTY_KKT_EPS: every λ's answer exact, not a coordinate-descent stop
