"""The closed form against NIST's certified values, numpy, and exact rational arithmetic."""

from __future__ import annotations

import csv
import json
import math
from decimal import Decimal, localcontext
from fractions import Fraction
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from error_bounds import EPS, QR_BACKWARD, digits, qr_errors, rounded_solution_errors
from gradfit.errors import BadDataError, BadOptionError
from gradfit.data.design import polynomial_design
from gradfit.least_squares.dense import lstsq, residuals
from gradfit.least_squares.statistics import OLSStats

NIST_SETS = ["norris", "pontius", "noint1", "noint2", "longley",
             "wampler1", "wampler2", "wampler3", "wampler4", "wampler5", "filip"]
QUANTITIES = ("theta", "std_err", "residual_std", "r_squared", "rss")  # in the certified json: see below
CERTIFIED = {"theta": "coefficients", "std_err": "standard_errors", "residual_std": "residual_standard_deviation",
             "r_squared": "r_squared", "rss": "residual_sum_of_squares"}
# The float64 arithmetic that forms a value from its exact parts (a sum of squares, a division, a
# square root, the rounding to float64): within 4 units in its last place. For R² = 1 − RSS/TSS
# the place is that of 1, the larger term.
LAST_PLACES = 4 * EPS


def load_nist(folder: Path, name: str):
    """``(design, design_lo, y, certified)`` for one StRD set, built as the README describes."""
    certified = json.loads((folder / f"{name}.certified.json").read_text())
    with open(folder / f"{name}.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    header, values = rows[0], np.array(rows[1:], dtype=np.float64)
    assert header[0] == "y"
    y = values[:, 0]
    if certified["model"] == "polynomial":
        design, design_lo = polynomial_design(values[:, 1], certified["degree"], certified["intercept"])
    else:
        columns = ([np.ones(len(y))] if certified["intercept"] else []) + [values[:, j] for j in range(1, len(header))]
        design, design_lo = np.column_stack(columns), None
    assert design.shape == (certified["observations"], certified["parameters"])
    return design, design_lo, y, certified


def lre(estimate: float, certified: str) -> float:
    """Correct significant digits, as NIST defines it (absolute error when certified is 0), capped at 15."""
    exact = Fraction(Decimal(certified))
    error = abs(Fraction(float(estimate)) - exact)
    if exact != 0:
        error /= abs(exact)
    return 15.0 if error == 0 else min(15.0, -math.log10(error))


@cache
def float64_data_answer(folder: Path, name: str, exact_powers: bool) -> dict[str, list[Decimal]]:
    """The exact least-squares answer of the data as float64 holds them, to 40 digits.

    The decimal ``x`` and ``y`` rounded once to float64; the powers ``x**k`` of the rounded ``x``
    exact (``design + design_lo``) or themselves rounded to float64 (``exact_powers=False``: the
    data a float64 solver without ``design_lo`` sees). Rational arithmetic, square roots in
    ``decimal``. The digits this answer shares with the certified one are all any float64
    solver can be expected to reach (the certified values carry 20).
    """
    design, design_lo, y, cert = load_nist(folder, name)
    columns = [[Fraction(v) for v in column] for column in design.T]
    if exact_powers and design_lo is not None:
        columns = [[v + Fraction(lo) for v, lo in zip(column, column_lo)]
                   for column, column_lo in zip(columns, design_lo.T)]
    targets = [Fraction(v) for v in y]
    n, p = len(targets), len(columns)
    gram = [[sum(a * b for a, b in zip(ci, cj)) for cj in columns] for ci in columns]
    rhs = [sum(a * b for a, b in zip(ci, targets)) for ci in columns]
    theta, *inverse_columns = _gauss_jordan(gram, [rhs] + [[int(i == j) for i in range(p)] for j in range(p)])
    rss = sum((t - sum(a[i] * th for a, th in zip(columns, theta))) ** 2 for i, t in enumerate(targets))
    mean = sum(targets) / n if cert["intercept"] else 0  # R² is uncentred without an intercept (NIST)
    tss = sum((t - mean) ** 2 for t in targets)
    with localcontext() as context:
        context.prec = 40
        decimal = lambda value: Decimal(value.numerator) / Decimal(value.denominator)  # noqa: E731
        sigma2 = rss / (n - p)
        return {"theta": [decimal(v) for v in theta],
                "std_err": [decimal(sigma2 * column[j]).sqrt() for j, column in enumerate(inverse_columns)],
                "residual_std": [decimal(sigma2).sqrt()], "r_squared": [decimal(1 - rss / tss)], "rss": [decimal(rss)]}


def nist_required_digits(folder: Path, name: str, *, refined: bool) -> dict[str, list[float]]:
    """Correct digits a result is sure to reach on one set, per quantity (``QUANTITIES``) and component.

    The data limit them: their exact least-squares answer (:func:`float64_data_answer`) is
    itself some digits from the certified one, and a result is sure of no more than that distance
    plus its own error. Refined exactly (:func:`gradfit.least_squares.dense.lstsq`) the result is
    the exact answer of the float64 data, powers included, but for the last place or two of θ
    (:func:`error_bounds.rounded_solution_errors`); float64 QR or TSQR alone answers the data
    with rounded powers, within the first-order bound of a backward-stable solver
    (:func:`error_bounds.qr_errors`, ``c = QR_BACKWARD``). Each value then within ``LAST_PLACES``.
    """
    design, design_lo, y, cert = load_nist(folder, name)
    answer = float64_data_answer(folder, name, exact_powers=refined)
    theta = np.array(answer["theta"], dtype=np.float64)
    if refined:  # within a unit or two in the last place of θ (dense.py)
        exact_design = design if design_lo is None else design + design_lo  # near enough for a bound
        bound = rounded_solution_errors(exact_design, y, theta, ulps=2)
    else:
        bound = qr_errors(design, y, theta, QR_BACKWARD, intercept=cert["intercept"])
    required = {}
    for key, values in answer.items():
        certified = cert[CERTIFIED[key]] if key in ("theta", "std_err") else [cert[CERTIFIED[key]]]
        required[key] = [
            digits(float(abs(Fraction(value) - Fraction(Decimal(c)))) + extra
                   + LAST_PLACES * (1.0 if key == "r_squared" else float(abs(value))), c)
            for value, c, extra in zip(values, certified, np.atleast_1d(bound[key]), strict=True)]
    return required


def assert_digits(name: str, quantity: str, estimates, certified, required) -> None:
    """Each component of ``estimates`` has at least the ``required`` correct digits."""
    estimates = np.atleast_1d(np.asarray(estimates, dtype=np.float64))
    certified = [certified] if isinstance(certified, str) else certified
    reached = [lre(e, c) for e, c in zip(estimates, certified, strict=True)]
    short = [(i, round(r, 2), round(q, 2)) for i, (r, q) in enumerate(zip(reached, required, strict=True)) if r < q]
    assert not short, f"{name} {quantity}: (component, digits reached, digits the error bound promises) {short}"


@pytest.mark.parametrize("refine", [None, True], ids=["auto", "always-refine"])
@pytest.mark.parametrize("name", NIST_SETS)
def test_nist_certified_values(nist_dir, name, refine):
    design, design_lo, y, cert = load_nist(nist_dir, name)
    fit = lstsq(design, y, cert["columns"], design_lo=design_lo, refine=refine)
    required = nist_required_digits(nist_dir, name, refined=fit.refined)
    # Residual SD and R² as a user gets them: from the statistics object at the solution.
    stats = OLSStats(design, y, fit.theta, cert["columns"], intercept=cert["intercept"], closed=fit)
    for quantity, estimates in (("theta", fit.theta), ("std_err", fit.std_err), ("std_err", stats.std_err),
                                ("residual_std", stats.residual_std),
                                ("r_squared", stats.r_squared),  # uncentred for NoInt1/2
                                ("rss", fit.rss)):
        assert_digits(name, quantity, estimates, cert[CERTIFIED[quantity]], required[quantity])


@pytest.mark.parametrize("name, refined", [("norris", False), ("noint1", False), ("filip", True),
                                           ("wampler4", True), ("wampler5", True)])
def test_refinement_runs_when_float64_is_not_enough(nist_dir, name, refined):
    design, design_lo, y, cert = load_nist(nist_dir, name)
    assert lstsq(design, y, design_lo=design_lo).refined is refined


def test_filip_needs_the_exact_powers(nist_dir):
    # Exactly solved, the float64-rounded x**k give only ~7.6 digits (the rounding of each power
    # moves the answer); with their rounding errors supplied the certified values are reached.
    design, design_lo, y, cert = load_nist(nist_dir, "filip")
    without = lstsq(design, y, refine=True)  # the powers rounded to float64, taken as exact
    rounded_powers = float64_data_answer(nist_dir, "filip", exact_powers=False)["theta"]
    np.testing.assert_allclose(without.theta, np.array(rounded_powers, dtype=np.float64), rtol=LAST_PLACES, atol=0)
    # Exact arithmetic on fixed data: 7.6 to 7.7 digits on every machine, nothing to round.
    assert max(lre(value, c) for value, c in zip(rounded_powers, cert["coefficients"])) < 8
    with_lo = lstsq(design, y, design_lo=design_lo)
    assert_digits("filip", "theta", with_lo.theta, cert["coefficients"],
                  nist_required_digits(nist_dir, "filip", refined=True)["theta"])  # 14.2 digits
    assert 1e9 < with_lo.condition_number < 1e11  # ill-conditioned, yet not flagged as rank deficient


def test_well_conditioned_matches_numpy_lstsq():
    rng = np.random.default_rng(0)
    design = np.column_stack([np.ones(200), rng.normal(size=(200, 4)) * [1.0, 10.0, 0.1, 3.0]])
    y = design @ [1.0, -2.0, 0.5, 30.0, 0.0] + rng.normal(scale=0.3, size=200)
    fit = lstsq(design, y)
    reference, rss, *_ = np.linalg.lstsq(design, y, rcond=None)
    assert not fit.refined
    np.testing.assert_allclose(fit.theta, reference, rtol=1e-12, atol=1e-12 * np.abs(reference).max())
    np.testing.assert_allclose(fit.rss, rss[0], rtol=1e-12)
    np.testing.assert_allclose(fit.residuals, y - design @ reference, rtol=0, atol=1e-12)
    np.testing.assert_allclose(fit.cov_unscaled, np.linalg.inv(design.T @ design), rtol=1e-10)
    unit = design / np.linalg.norm(design, axis=0)
    np.testing.assert_allclose(fit.condition_number, np.linalg.cond(unit), rtol=1e-10)


def test_forced_refinement_agrees_with_float64_on_an_easy_problem():
    rng = np.random.default_rng(1)
    design = np.column_stack([np.ones(50), rng.uniform(size=(50, 2))])
    y = design @ [1.0, 2.0, 3.0] + rng.normal(scale=0.1, size=50)
    plain, refined = lstsq(design, y, refine=False), lstsq(design, y, refine=True)
    assert refined.refined and not plain.refined
    np.testing.assert_allclose(refined.theta, plain.theta, rtol=1e-13)
    np.testing.assert_allclose(refined.std_err, plain.std_err, rtol=1e-12)


def test_refined_answer_is_the_exact_rational_least_squares_answer():
    # Wampler-like: degree-5 polynomial with huge noise; the exact answer from rational arithmetic.
    x = np.arange(21.0)
    y = 1 + x + x**2 + x**3 + x**4 + x**5 + np.where(np.arange(21) % 2 == 0, 1e7, -1e7)
    design, design_lo = polynomial_design(x, 5)
    fit = lstsq(design, y, design_lo=design_lo)
    columns = [[Fraction(v) ** k for v in x] for k in range(6)]
    gram = [[sum(a * b for a, b in zip(ci, cj)) for cj in columns] for ci in columns]
    rhs = [sum(a * Fraction(b) for a, b in zip(ci, y)) for ci in columns]
    exact = _solve_rational(gram, rhs)
    for estimate, value in zip(fit.theta, exact):
        assert abs(Fraction(float(estimate)) - value) <= 4e-16 * abs(value)


def _solve_rational(matrix, rhs):
    """Gauss–Jordan elimination in exact rational arithmetic."""
    return _gauss_jordan(matrix, [rhs])[0]


def _gauss_jordan(matrix, right_hand_sides):
    """The solution of ``matrix · x = b`` for each ``b`` of ``right_hand_sides``, in exact rationals."""
    size, count = len(matrix), len(right_hand_sides)
    rows = [[Fraction(v) for v in row] + [Fraction(b[i]) for b in right_hand_sides] for i, row in enumerate(matrix)]
    for col in range(size):
        pivot = next(r for r in range(col, size) if rows[r][col] != 0)
        rows[col], rows[pivot] = rows[pivot], rows[col]
        for r in range(size):
            if r != col and rows[r][col] != 0:
                factor = rows[r][col] / rows[col][col]
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[col])]
    return [[rows[i][size + k] / rows[i][i] for i in range(size)] for k in range(count)]


def test_polynomial_design_carries_the_rounding_of_each_power():
    x = np.random.default_rng(2).uniform(-10, 10, size=200)
    design, design_lo = polynomial_design(x, 10, intercept=True)
    assert design.shape == design_lo.shape == (200, 11)
    np.testing.assert_array_equal(design[:, 0], 1.0)
    for i in range(0, 200, 7):
        for k in range(1, 11):
            exact = Fraction(float(x[i])) ** k
            assert abs(Fraction(design[i, k]) + Fraction(design_lo[i, k]) - exact) <= 1e-30 * abs(exact)


def test_exact_residuals_survive_cancellation():
    design = np.array([[1.0, 1e16], [1.0, 3.0]])
    theta = np.array([1.0, 1.0])
    y = np.array([1e16 + 2.0, 7.0])
    np.testing.assert_array_equal(residuals(design, y, theta, exact=True), [1.0, 3.0])
    np.testing.assert_array_equal(residuals(design, y, theta), y - design @ theta)


@pytest.mark.parametrize(
    "columns, names, match",
    [
        (lambda x, w: [np.ones_like(x), x, np.full_like(x, 3.0)], ["intercept", "x", "c"],
         r"column 'c' is a linear combination of 'intercept'"),
        (lambda x, w: [np.ones_like(x), x, x.copy()], ["intercept", "x", "x_copy"],
         r"column 'x_copy' is a linear combination of 'x'"),
        (lambda x, w: [x, w, 2 * x - 3 * w], ["x", "w", "z"],
         r"column 'z' is a linear combination of 'x', 'w'"),
        (lambda x, w: [np.ones_like(x), 1e-3 * x, 1e3 * x], ["intercept", "small", "large"],
         r"column 'large' is a linear combination of 'small'"),
        (lambda x, w: [np.ones_like(x), np.zeros_like(x)], ["intercept", "empty"],
         r"column 'empty' is all zeros"),
    ],
    ids=["constant-beside-intercept", "duplicate", "collinear", "rescaled-duplicate", "zero-column"],
)
def test_rank_deficiency_names_the_columns(columns, names, match):
    rng = np.random.default_rng(3)
    x, w = rng.normal(size=30), rng.normal(size=30)
    with pytest.raises(BadDataError, match=match):
        lstsq(np.column_stack(columns(x, w)), rng.normal(size=30), names)


@pytest.mark.parametrize(
    "design, y, kwargs, match",
    [
        (np.ones((2, 3)), np.ones(2), {}, r"2 rows cannot determine 3 parameters"),
        (np.ones(4), np.ones(4), {}, r"must be 2-D"),
        (np.eye(3), np.ones(4), {}, r"y must have shape \(3,\)"),
        (np.array([[1.0, np.nan], [1.0, 2.0], [1.0, 3.0]]), np.ones(3), {}, r"NaN or infinity"),
        (np.eye(3), np.ones(3), {"names": ["a"]}, r"got 1 column names for 3 columns"),
        (np.eye(3), np.ones(3), {"design_lo": np.zeros((3, 2))}, r"design_lo must have the design's shape"),
    ],
    ids=["too-few-rows", "1-d", "y-length", "nan", "names", "design-lo-shape"],
)
def test_bad_input_is_reported(design, y, kwargs, match):
    with pytest.raises(BadDataError, match=match):
        lstsq(design, y, **kwargs)


def test_square_system_has_no_standard_errors():
    fit = lstsq(np.array([[1.0, 0.0], [1.0, 1.0]]), np.array([1.0, 3.0]))
    np.testing.assert_allclose(fit.theta, [1.0, 2.0])
    assert fit.rss == 0.0 and np.isnan(fit.std_err).all()


def test_columns_of_extreme_magnitude_are_scaled_without_overflow():
    rng = np.random.default_rng(4)
    x = rng.normal(size=40)
    y = 3.0 + 2.0 * x + rng.normal(scale=0.1, size=40)
    base = lstsq(np.column_stack([np.ones(40), x]), y)
    for factor in (1e-200, 1e200):
        fit = lstsq(np.column_stack([np.ones(40), x * factor]), y)
        np.testing.assert_allclose(fit.theta * [1.0, factor], base.theta, rtol=1e-13)
        np.testing.assert_allclose(fit.std_err * [1.0, factor], base.std_err, rtol=1e-13)
        np.testing.assert_allclose(fit.condition_number, base.condition_number, rtol=1e-12)


@pytest.mark.parametrize("degree", [0, -1, 2.5, True])
def test_polynomial_degree_must_be_a_positive_whole_number(degree):
    with pytest.raises(BadOptionError, match="degree"):
        polynomial_design(np.arange(3.0), degree)
