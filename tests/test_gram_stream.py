"""The streamed Gram sums (least_squares.gram_stream) against independent answers: numpy's SVD
solver and inverse, first-order QR bounds, TSQR bit for bit where the sums must not be used."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gradfit.data.chunks import iter_array_chunks, iter_parquet_chunks
from gradfit.errors import BadDataError
from gradfit.least_squares.gram_stream import START_ROWS, StreamAccumulator, blas_threads_for
from gradfit.least_squares.sufficient import SufficientStats, accumulate
from gradfit.least_squares.tsqr import Accumulator
from error_bounds import QR_BACKWARD, qr_errors


def folded(x, y, rows, intercept=True):
    acc = StreamAccumulator(x.shape[1], intercept)
    for start in range(0, len(y), rows):
        acc.add(x[start:start + rows], y[start:start + rows])
    return acc, SufficientStats.from_accumulator(acc.state())


def cases():
    rng = np.random.default_rng(21)
    n = 60_000
    x = rng.normal(size=(n, 4)) * [1.0, 10.0, 0.1, 3.0]
    yield "units", x, 1.0 + x @ [2.0, -0.3, 5.0, 1.0] + 0.5 * rng.normal(size=n), True
    x = rng.normal(1e4, 1.0, size=(n, 3))  # far from zero: κ ≈ 2e4 before the shift, ≈ 1 after
    yield "far from zero", x, 3.0 + x @ [1.0, 2.0, 3.0] + rng.normal(size=n), True
    x = rng.normal(size=(n, 3))  # TSS/RSS ≈ 1e22: the normal equations' RSS would be noise
    yield "tiny residuals", x, 1e3 + x @ [1.0, 2.0, 3.0] + 1e-8 * rng.normal(size=n), True
    x = rng.normal(2.0, 1.0, size=(n, 3))
    yield "no intercept", x, x @ [1.0, 2.0, 3.0] + 0.1 * rng.normal(size=n), False


@pytest.mark.parametrize("rows", [5_000, 65_536])
@pytest.mark.parametrize("name, x, y, intercept", list(cases()), ids=[c[0] for c in cases()])
def test_gram_sums_stay_within_float64_qr_bounds(name, x, y, intercept, rows):
    acc, stats = folded(x, y, rows, intercept)
    assert acc.by_gram and stats.n == len(y)
    design = np.column_stack([np.ones(len(y)), x]) if intercept else x
    theta, rss, *_ = np.linalg.lstsq(design, y, rcond=None)
    closed = stats.closed_form()
    # Within TSQR's own first-order bound (columnwise) plus LAPACK's SVD solver's (normwise).
    bound = sum(qr_errors(design, y, theta, QR_BACKWARD, intercept=intercept, normwise=normwise)["theta"]
                for normwise in (False, True))
    np.testing.assert_array_less(np.abs(closed.theta - theta), bound)
    residual = y - design @ theta
    assert closed.rss == pytest.approx(float(residual @ residual), rel=1e-9)  # no difference of sums
    if intercept:  # (AᵀA)⁻¹ from the centred design, whose normal equations are well conditioned
        centre = x.mean(axis=0)
        centred = np.column_stack([np.ones(len(y)), x - centre])
        back = np.eye(design.shape[1])
        back[0, 1:] = -centre  # [1, x] = [1, x − x̄] · back⁻¹
        cov = back @ np.linalg.inv(centred.T @ centred) @ back.T
    else:
        cov = np.linalg.inv(design.T @ design)
    np.testing.assert_allclose(closed.cov_unscaled, cov, rtol=1e-9, atol=1e-12 * np.abs(cov).max())
    columns = np.column_stack([x, y])
    np.testing.assert_allclose(stats.mean, columns.mean(axis=0), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(stats.m2, ((columns - columns.mean(axis=0)) ** 2).sum(axis=0), rtol=1e-9)
    assert np.all(stats.max_abs >= np.abs(columns).max(axis=0))  # a bound: scales are chosen from it


def test_small_and_ill_conditioned_passes_are_tsqr_bit_for_bit():
    rng = np.random.default_rng(22)
    x = rng.normal(size=(START_ROWS - 1, 3))
    y = x @ [1.0, 2.0, 3.0] + rng.normal(size=len(x))
    collinear = rng.normal(size=(20_000, 3))
    collinear[:, 2] = collinear[:, 1] + 1e-3 * rng.normal(size=20_000)  # κ ≈ 2e3, above MAX_CONDITION
    for data in ((x, y), (collinear, collinear @ [1.0, 1.0, 1.0] + rng.normal(size=20_000))):
        acc, stats = folded(*data, rows=1000)
        tsqr = Accumulator(3)
        for start in range(0, len(data[1]), 1000):
            tsqr.add(data[0][start:start + 1000], data[1][start:start + 1000])
        assert not acc.by_gram and stats.solution is None
        np.testing.assert_array_equal(stats.r_aug, np.triu(tsqr.r_aug))


def test_a_pass_whose_answer_drifts_goes_on_by_tsqr_and_stays_accurate():
    rng = np.random.default_rng(23)
    x = rng.normal(size=(40_000, 3))
    y = 1.0 + x @ [1.0, 2.0, 3.0] + 0.01 * rng.normal(size=40_000)
    y[10_000:] += x[10_000:] @ [40.0, -40.0, 20.0]  # the first rows' θ₀ is far from the answer
    acc, stats = folded(x, y, rows=5_000)
    assert not acc.by_gram  # the bound failed at the first later chunk: TSQR took it and the rest
    design = np.column_stack([np.ones(len(y)), x])
    theta = np.linalg.lstsq(design, y, rcond=None)[0]
    bound = sum(qr_errors(design, y, theta, QR_BACKWARD, normwise=normwise)["theta"] for normwise in (False, True))
    np.testing.assert_array_less(np.abs(stats.closed_form().theta - theta), bound)


def test_a_bad_value_after_the_switch_names_its_row():
    rng = np.random.default_rng(24)
    x = rng.normal(size=(30_000, 2))
    y = x @ [1.0, 2.0] + rng.normal(size=30_000)
    x[17_123, 1] = np.nan
    with pytest.raises(BadDataError, match=r"x has a non-finite value at row 17123, column 1 \(missing"):
        accumulate(iter_array_chunks(x, y, 4096))


def test_blas_runs_on_one_thread_inside_the_pass_and_as_before_after_it():
    from threadpoolctl import threadpool_info

    before = [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]
    with blas_threads_for(12):
        assert all(info["num_threads"] == 1 for info in threadpool_info() if info["user_api"] == "blas")
    with blas_threads_for(200):  # wide products keep every thread
        assert [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"] == before
    assert [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"] == before


def test_parquet_chunks_are_checked_by_one_sum_and_still_name_bad_values(tmp_path):
    rng = np.random.default_rng(25)
    frame = pd.DataFrame(rng.normal(size=(3000, 3)), columns=["a", "b", "y"])
    frame.loc[2500, "b"] = 1e200  # finite, but its square overflows: the magnitude check's to refuse
    frame.to_parquet(tmp_path / "big.parquet", row_group_size=500, index=False)
    with pytest.raises(BadDataError, match=r"column 'b' has a value of magnitude 1e\+200"):
        list(iter_parquet_chunks(tmp_path / "big.parquet", "y", rows=700))
    frame.loc[2500, "b"] = None  # a null: NaN after conversion
    frame.to_parquet(tmp_path / "null.parquet", row_group_size=500, index=False)
    with pytest.raises(BadDataError, match=r"row 2501.*'b'"):
        list(iter_parquet_chunks(tmp_path / "null.parquet", "y", rows=700))
    frame.loc[2500, "b"] = 0.25
    frame["i"] = np.arange(3000)  # an integer column is converted, float64 read as it is
    frame.to_parquet(tmp_path / "good.parquet", row_group_size=500, index=False)
    chunks = list(iter_parquet_chunks(tmp_path / "good.parquet", "y", features=["a", "b", "i"], rows=700))
    np.testing.assert_array_equal(np.concatenate([c[0] for c in chunks]), frame[["a", "b", "i"]].to_numpy(float))
    np.testing.assert_array_equal(np.concatenate([c[1] for c in chunks]), frame["y"].to_numpy())
