"""The Gram fast path gives the same sufficient statistics as TSQR on well-conditioned data."""

import numpy as np
import pytest

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
    np.testing.assert_allclose(a.theta, b.theta, rtol=1e-11)
    np.testing.assert_allclose(a.std_err, b.std_err, rtol=1e-9)
    assert a.rss == pytest.approx(b.rss, rel=1e-11)
    theta = b.theta + 0.01
    assert fast.loss(theta) == pytest.approx(exact.loss(theta), rel=1e-10)
    np.testing.assert_allclose(fast.mean, exact.mean, rtol=1e-12)
    np.testing.assert_allclose(fast.m2, exact.m2, rtol=1e-9)


def test_rss_matches_the_residuals_directly():
    rng = np.random.default_rng(6)
    x = rng.normal(1e3, 1.0, size=(5000, 2))
    y = 1e5 + x @ [3.0, -2.0] + rng.normal(0, 1e-3, 5000)  # tiny residuals on a huge offset
    fast = gram_statistics(x, y, intercept=True)
    design = np.column_stack([np.ones(5000), x])
    theta = np.linalg.lstsq(design, y, rcond=None)[0]
    rss = float(np.sum((y - design @ theta) ** 2))
    assert fast.closed_form().rss == pytest.approx(rss, rel=1e-6)


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
    np.testing.assert_allclose(fast.theta, theta, rtol=1e-10, atol=1e-12)
    assert fast.rss == pytest.approx(float(rss[0]), rel=1e-10)
