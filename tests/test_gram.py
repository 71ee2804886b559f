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


@pytest.mark.parametrize("intercept", [True, False])
@pytest.mark.parametrize("offset", [0.0, 50.0])
def test_targets_the_columns_nearly_determine_take_one_pass_and_keep_qr_accuracy(monkeypatch, intercept, offset):
    # TSS/RSS = 1e8: from the plain sums the residual sum of squares would lose eps·1e8 = 2e-8 of
    # itself, and the refinement pass (a second read of x) used to repair it. Shifted by the first
    # rows' answer, the target column is nearly the residual, so the one pass is as accurate.
    import gradfit.least_squares.gram as gram

    def second_pass(*args):
        raise AssertionError("the rows were read a second time")

    monkeypatch.setattr(gram, "_refine", second_pass)
    rng = np.random.default_rng(11)
    n = 200_000
    x = rng.normal(offset, 1.0, size=(n, 5))
    y = (3.0 if intercept else 0.0) + x @ np.array([1.0, -2.0, 0.5, 4.0, -1.5]) + rng.normal(0, 1e-4, n)
    design = np.column_stack([np.ones(n), x]) if intercept else x
    # Reference: QR, refined twice with residuals in extended precision (80-bit long double).
    q, r = np.linalg.qr(design)
    theta = np.linalg.solve(r, q.T @ y)
    wide = design.astype(np.longdouble)
    for _ in range(2):
        theta = theta + np.linalg.solve(r, q.T @ (y - wide @ theta).astype(np.float64))
    residual = y - wide @ theta
    rss = float(residual @ residual)
    # (Through the origin, columns at 50 ± 1 have κ = 112 on unit length: the Cholesky solution
    # would err by eps·κ² = 3e-12, but it solves only for θ − θ₀, which is 1e-6 of θ.)
    got = gram.gram_statistics(x, y, intercept=intercept).closed_form()
    # Within the first-order bound of a backward-stable solver (tests/error_bounds.py, c = 4).
    bound = qr_errors(design, y, theta, QR_BACKWARD, intercept=intercept)
    np.testing.assert_array_less(np.abs(got.theta - theta), bound["theta"])
    np.testing.assert_array_less(np.abs(got.std_err - np.sqrt(rss / (n - design.shape[1]))
                                        * np.sqrt(np.diag(np.linalg.inv(r.T @ r)))), 2 * bound["std_err"])
    assert abs(got.rss - rss) <= bound["rss"]


def test_a_target_the_columns_do_not_determine_is_only_centred():
    # R² = 0.5: the plain sums lose eps·TSS/RSS = 4e-16 of the residual sum of squares, nothing worth
    # a product per chunk, so the first rows' answer is not taken; at R² = 1 − 1e-12 it is, on large
    # data only (below limits.GRAM_TARGET_SHIFT_CELLS the refinement pass costs less).
    import gradfit.least_squares.gram as gram
    from gradfit import limits

    rng = np.random.default_rng(12)
    n = limits.GRAM_TARGET_SHIFT_CELLS // 3 + 1
    x = rng.normal(size=(n, 3))
    noise = rng.normal(size=n)
    assert gram._shift(x, x @ np.array([0.6, 0.6, 0.5]) + noise, intercept=True).w0 is None
    determined = x @ np.array([0.6, 0.6, 0.5]) + 1e-6 * noise
    assert gram._shift(x, determined, intercept=True).w0 is not None
    assert gram._shift(x[:n // 2], determined[:n // 2], intercept=True).w0 is None
