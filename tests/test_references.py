"""One exact path for every size: the reference of in-memory rows is the Gram fast path wherever
its error estimate promises full accuracy, dense QR for small data it refuses, TSQR beyond.

Each path's closed form is compared with the exact least-squares answer of the float64 data
(dense QR refined in exact arithmetic) within the first-order error bound of a backward-stable
solver (tests/error_bounds.py), and with statsmodels' statistics.
"""

import warnings

import numpy as np
import pytest

import gradfit
import gradfit.limits
from error_bounds import QR_BACKWARD, qr_errors
from gradfit.data.validate import as_problem
from gradfit.least_squares.dense import lstsq
from gradfit.pipeline.references import DenseReference, RowsReference, SufficientReference
from gradfit.pipeline.sources import InMemory


def rows(n, d, offset=2.0, seed=0, collinear=0.0):
    rng = np.random.default_rng(seed)
    x = rng.normal(offset, 1.5, size=(n, d))
    if collinear:
        x[:, 1] = x[:, 0] + collinear * rng.normal(size=n)  # nearly a copy: ill-conditioned
    y = 3.0 + x @ rng.normal(size=d) + rng.normal(size=n)
    return x, y


def reference(x, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return InMemory(as_problem(x, y, defer_checks=True)).reference()


@pytest.mark.parametrize("n, d, kind", [(200, 3, RowsReference), (100_000, 19, RowsReference),
                                        (100_000, 20, RowsReference)])
def test_well_conditioned_rows_take_the_gram_path_at_every_size(n, d, kind):
    x, y = rows(n, d, offset=0.0)
    assert type(reference(x, y)) is kind


def test_what_the_gram_estimate_refuses_is_solved_densely_when_small_and_by_tsqr_when_large(monkeypatch):
    x, y = rows(3000, 3, collinear=1e-4)  # κ ~ 1e5 on unit-length columns: beyond the Gram path
    assert type(reference(x, y)) is DenseReference
    monkeypatch.setattr(gradfit.limits, "SMALL_CELLS", 0)  # read at call time
    assert type(reference(x, y)) is SufficientReference


@pytest.mark.parametrize("offset", [0.0, 1.0, 2.0])
def test_the_gram_path_gives_the_exact_answer_within_the_qr_error_bound(offset):
    x, y = rows(20_000, 6, offset=offset)
    ref = reference(x, y)
    assert type(ref) is RowsReference
    design = np.column_stack([np.ones(len(y)), x])
    exact = lstsq(design, y, refine=True)  # the exact least-squares answer of the float64 data
    bound = qr_errors(design, y, exact.theta, QR_BACKWARD)
    # The Gram path is not backward stable (it squares the columns), but shifted and refined
    # once it keeps within the bound of one that is: what lets it stand in for QR.
    assert np.all(np.abs(ref.closed.theta - exact.theta) <= bound["theta"])
    assert np.all(np.abs(ref.closed.std_err - exact.std_err) <= bound["std_err"])


def test_the_gram_path_statistics_equal_statsmodels_and_keep_per_row_residuals():
    sm = pytest.importorskip("statsmodels.api")
    x, y = rows(5000, 4)
    res = gradfit.solve(x, y)
    assert type(res.stats).__name__ == "RowsOLSStats"
    reference_fit = sm.OLS(y, sm.add_constant(x)).fit()
    np.testing.assert_allclose(res.stats.std_err, reference_fit.bse, rtol=1e-9)
    np.testing.assert_allclose(res.stats.p, reference_fit.pvalues, rtol=1e-6, atol=1e-300)
    assert res.stats.r_squared == pytest.approx(reference_fit.rsquared, rel=1e-12)
    design = np.column_stack([np.ones(len(y)), x])
    np.testing.assert_array_equal(res.stats.residuals, y - (x @ res.closed_form.coef + res.closed_form.intercept))
    assert float(np.max(np.abs(res.stats.residuals - reference_fit.resid))) < 1e-10 * np.abs(y).max()
    assert design.shape == (5000, 5)


def test_small_well_conditioned_answers_are_correctly_rounded():
    res = gradfit.solve(np.array([0.0, 1.0, 2.0, 3.0]), np.array([1.0, 3.1, 4.9, 7.0]))
    assert (res.closed_form.intercept, float(res.closed_form.coef[0])) == (1.03, 1.98)  # the nearest doubles


@pytest.mark.parametrize("where, message", [
    ((123_456, 3), r"x has 1 non-finite value\(s\), the first at row 123456, column 3 \(missing \(NaN\)\)"),
    ((5, 0), r"x has 1 non-finite value\(s\), the first at row 5, column 0 \(infinite\)"),
])
def test_large_arrays_checked_in_the_first_pass_say_what_eager_checks_say(where, message):
    x, y = rows(150_000, 8, offset=0.0)  # 1.2 million values: checked from the Gram pass's sums
    x[where] = np.nan if where[0] == 123_456 else np.inf
    with pytest.raises(gradfit.BadDataError, match=message):
        gradfit.fit(x, y)
    small_x, small_y = x[:where[0] + 10], y[:where[0] + 10]
    with pytest.raises(gradfit.BadDataError, match=message):  # the same words from the eager check
        as_problem(small_x, small_y)


def test_large_columns_out_of_range_are_named_by_the_first_pass():
    x, y = rows(150_000, 8, offset=0.0)
    x[:, 5] *= 1e200
    with pytest.raises(gradfit.BadDataError, match=r"x column 'x6' has a value of magnitude .*e\+200"):
        gradfit.solve(x, y)
