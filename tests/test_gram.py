"""The Gram fast path gives the same sufficient statistics as TSQR on well-conditioned data."""

import numpy as np
import pytest

from error_bounds import QR_BACKWARD, loss_error, moment_errors, qr_errors
from gradfit.data.chunks import iter_array_chunks
from gradfit.least_squares.gram import gram_statistics
from gradfit.least_squares.sufficient import accumulate


@pytest.mark.parametrize("intercept", [True, False])
@pytest.mark.parametrize("offset", [0.0, 1e4])
def test_gram_equals_tsqr(intercept, offset):
    rng = np.random.default_rng(5)
    x = rng.normal(offset, 3.0, size=(150_000, 4))  # more rows than one chunk
    y = 7.0 + x @ np.array([0.5, -1.0, 2.0, 0.25]) + rng.normal(0, 1.0, 150_000)
    fast = gram_statistics(x, y, intercept=intercept)
    if offset and not intercept:  # columns ~1e4 ± 3 through the origin: condition number ~7e3
        assert fast is None
        return
    exact = accumulate(iter_array_chunks(x, y), intercept=intercept)
    a, b = fast.closed_form(), exact.closed_form()
    # Both are backward stable (TSQR; the Gram triangle refined once against residuals of the rows
    # themselves), so each lies within the first-order bound of the exact answer
    # (tests/error_bounds.py, c = 4) and the two within twice it. The bound follows the columns as
    # given, not centred: at offset 1e4, κ = 1.7e4 on unit-length [1, x], and the intercept (7 beside
    # x̄ᵀβ = 1.75e4) is sure of only 5e-9 relative (4e-8 with c = 4, twice), the slopes of 1e-11.
    # Measured: at most 0.0015 of the c = 1 bound at offset 1e4, 0.51 at offset 0 (κ = 1).
    design = np.column_stack([np.ones(len(y)), x]) if intercept else x
    bound = qr_errors(design, y, b.theta, QR_BACKWARD, intercept=intercept)
    np.testing.assert_array_less(np.abs(a.theta - b.theta), 2 * bound["theta"])
    np.testing.assert_array_less(np.abs(a.std_err - b.std_err), 2 * bound["std_err"])
    assert abs(a.rss - b.rss) <= 2 * bound["rss"]
    theta = b.theta + 0.01
    assert fast.loss(theta) == pytest.approx(exact.loss(theta), rel=2 * loss_error(design, y, theta))
    mean_err, m2_err = moment_errors(np.column_stack([x, y]))  # (d + 1,) each
    np.testing.assert_array_less(np.abs(fast.mean - exact.mean), 2 * mean_err)
    np.testing.assert_array_less(np.abs(fast.m2 - exact.m2), 2 * m2_err)


def test_rss_matches_the_residuals_directly():
    rng = np.random.default_rng(6)
    x = rng.normal(1e3, 1.0, size=(5000, 2))
    y = 1e5 + x @ [3.0, -2.0] + rng.normal(0, 1e-3, 5000)  # tiny residuals on a huge offset
    fast = gram_statistics(x, y, intercept=True)
    design = np.column_stack([np.ones(5000), x])
    theta = np.linalg.lstsq(design, y, rcond=None)[0]
    rss = float(np.sum((y - design @ theta) ** 2))
    # Both within the bound on RSS (residuals computed from rows of 1e5: 3.6e-7 relative, c = 4;
    # LAPACK's SVD solver relative to ‖A‖); measured 3e-11: float64 residuals keep ~8 of their digits.
    bound = sum(qr_errors(design, y, theta, QR_BACKWARD, normwise=normwise)["rss"] for normwise in (False, True))
    assert abs(fast.closed_form().rss - rss) <= bound


def test_ill_conditioned_columns_are_left_to_tsqr():
    x = np.linspace(0, 1, 2000)
    design = np.column_stack([x ** k for k in range(1, 9)])  # unit-column condition number ~1e7
    assert gram_statistics(design, np.sin(x), intercept=True) is None


@pytest.mark.parametrize("layout", ["C", "F", "strided"])
@pytest.mark.parametrize("n", [999, 70_001])  # within one chunk; many chunks and a short last one
@pytest.mark.parametrize("offset", [0.0, 50.0])  # unshifted views; shifted copies of each chunk
def test_any_memory_layout_and_row_count_gives_numpy_lstsq(layout, n, offset):
    rng = np.random.default_rng(7)
    wide = rng.normal(offset, 2.0, size=(n, 6))
    x = {"C": np.ascontiguousarray(wide[:, :3]), "F": np.asfortranarray(wide[:, :3]), "strided": wide[:, ::2]}[layout]
    y = -4.0 + x @ np.array([1.5, 0.0, -0.75]) + rng.normal(0, 0.3, n)
    design = np.column_stack([np.ones(n), x])
    theta, rss = np.linalg.lstsq(design, y, rcond=None)[:2]
    fast = gram_statistics(x, y, intercept=True).closed_form()
    # Each within its first-order bound (tests/error_bounds.py, c = 4; LAPACK's SVD solver relative to ‖A‖).
    gram, svd = (qr_errors(design, y, theta, QR_BACKWARD, normwise=normwise) for normwise in (False, True))
    np.testing.assert_array_less(np.abs(fast.theta - theta), gram["theta"] + svd["theta"])
    assert abs(fast.rss - float(rss[0])) <= gram["rss"] + svd["rss"]
