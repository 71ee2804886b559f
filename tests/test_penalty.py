"""Ridge, lasso and elastic net: the exact answers against scikit-learn, gradient descent on every
engine against the exact answers, and what a penalized result reports.

The objective is ``MSE + l2·Σw² + l1·Σ|w|`` (intercept never penalized). scikit-learn writes its
losses with ``1/(2n)``, so the mapping is::

    Ridge(alpha = n·l2)                      (Ridge: ‖y − Xw‖² + alpha·‖w‖², no 1/n)
    Lasso(alpha = l1/2)                      (Lasso: ‖y − Xw‖²/(2n) + alpha·‖w‖₁)
    ElasticNet(alpha = l1/2 + l2, l1_ratio = (l1/2) / (l1/2 + l2))
                                             (ElasticNet: ‖·‖²/(2n) + alpha·l1_ratio·‖w‖₁
                                              + alpha·(1 − l1_ratio)/2·‖w‖²)
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import numpy as np
import pytest

import gradfit

sklearn = pytest.importorskip("sklearn")
from sklearn.datasets import load_diabetes  # noqa: E402
from sklearn.linear_model import ElasticNet, Lasso, Ridge  # noqa: E402

PENALTIES = {"ridge": dict(l2=0.002), "lasso": dict(l1=0.3), "elastic net": dict(l1=0.3, l2=0.01)}


@pytest.fixture(scope="module")
def diabetes():
    """Real data (442 patients, 10 measurements): the first 342 rows to fit, the last 100 held out."""
    x, y = load_diabetes(return_X_y=True)
    return x[:342], y[:342], x[342:], y[342:]


def sklearn_model(l1: float = 0.0, l2: float = 0.0, n: int = 1):
    """scikit-learn's estimator for gradfit's ``l1``, ``l2`` (the module's mapping), run to its
    tightest tolerance."""
    if not l1:
        return Ridge(alpha=n * l2, solver="cholesky")
    if not l2:
        return Lasso(alpha=l1 / 2, tol=1e-15, max_iter=1_000_000)
    return ElasticNet(alpha=l1 / 2 + l2, l1_ratio=(l1 / 2) / (l1 / 2 + l2), tol=1e-15, max_iter=1_000_000)


def theta_of(model) -> np.ndarray:
    return np.concatenate([[model.intercept_], model.coef_])


# scikit-learn's coordinate descent stops when its duality gap is below tol·‖y‖²/n; at tol 1e-15 on
# this data its coefficients are within ~1e-10 of the optimum (relative), and gradfit's exact answer
# is at rounding (KKT residual ~1e-16, asserted below). 1e-8 leaves room for both without letting a
# wrong answer (a penalty off by a factor, a penalized intercept: differences of 1e-2 or more) pass.
AGREE = 1e-8


@pytest.mark.parametrize("kind", PENALTIES)
def test_exact_answer_equals_scikit_learn_on_held_out_rows(diabetes, kind):
    x, y, x_out, y_out = diabetes
    penalty = PENALTIES[kind]
    res = gradfit.solve(x, y, **penalty)
    reference = sklearn_model(n=len(y), **penalty).fit(x, y)
    ours, theirs = res.closed_form.theta, theta_of(reference)
    assert np.max(np.abs(ours - theirs)) <= AGREE * np.max(np.abs(theirs))
    assert np.array_equal(res.closed_form.coef == 0, reference.coef_ == 0)  # the same zero pattern
    predicted = res.closed_form.intercept + x_out @ res.closed_form.coef
    assert np.max(np.abs(predicted - reference.predict(x_out))) <= AGREE * np.max(np.abs(y_out))
    assert res.penalty["kind"] == kind and res.stats is None and res.std_err is None
    assert res.penalty["kkt_closed_form"] < 1e-13  # at rounding: the exact answer is exact


def test_lasso_zero_pattern_is_nontrivial_on_this_data(diabetes):
    """(The zero-pattern assertions above would be empty if nothing were zero, or everything.)"""
    x, y, *_ = diabetes
    zeros = int(np.sum(gradfit.solve(x, y, l1=0.3).closed_form.coef == 0))
    assert 0 < zeros < x.shape[1]


@pytest.mark.parametrize("kind", ["lasso", "elastic net"])
def test_columns_far_from_zero_get_the_exact_answer_on_the_raw_scale(kind):
    """Features near 1e4 with unit spread, penalized on the raw scale: in the full problem's Gram
    the intercept (about −5,000) couples to every coefficient, and the KKT check's scale is the
    intercept's. It is eliminated first (the centred triangle), so the answer and its zero pattern
    are scikit-learn's at every λ, partial patterns included (once, coordinate descent on the full
    Gram stopped near zero and a KKT residual of 1.5 was returned as the answer)."""
    rng = np.random.default_rng(11)
    x = 1e4 + rng.normal(size=(27, 4))
    y = 5 + x @ np.array([1.0, -2.0, 0.0, 0.5]) + rng.normal(size=27)
    partial = 0
    for l1 in (1.66, 0.62, 0.23, 0.086, 0.012):
        penalty = dict(l1=l1) if kind == "lasso" else dict(l1=l1, l2=0.01)
        res = gradfit.solve(x, y, **penalty)
        reference = sklearn_model(n=len(y), **penalty).fit(x, y)
        assert np.array_equal(res.closed_form.coef == 0, reference.coef_ == 0), l1
        assert np.max(np.abs(res.closed_form.coef - reference.coef_)) <= AGREE * max(np.abs(reference.coef_).max(), 1)
        assert res.closed_form.intercept == pytest.approx(reference.intercept_, rel=AGREE)
        partial += 0 < np.count_nonzero(reference.coef_) < 4
    assert partial  # (a pattern neither empty nor full was checked)


@pytest.mark.parametrize("kind", PENALTIES)
def test_standardized_penalty_equals_scikit_learn_on_standardized_rows(diabetes, kind):
    """``standardize=True`` penalizes the coefficients of the standardized rows (features and
    target at mean 0, standard deviation 1, ddof 0): scikit-learn on those rows, unscaled after."""
    x, y, *_ = diabetes
    penalty = PENALTIES[kind] if kind != "ridge" else dict(l2=0.05)
    res = gradfit.solve(x, y, standardize=True, **penalty)
    x_mean, x_scale, y_mean, y_scale = x.mean(axis=0), x.std(axis=0), y.mean(), y.std()
    reference = sklearn_model(n=len(y), **penalty).fit((x - x_mean) / x_scale, (y - y_mean) / y_scale)
    coef = y_scale * reference.coef_ / x_scale
    intercept = y_mean + y_scale * reference.intercept_ - coef @ x_mean
    assert np.max(np.abs(res.closed_form.coef - coef)) <= AGREE * np.max(np.abs(coef))
    assert abs(res.closed_form.intercept - intercept) <= AGREE * abs(intercept)
    assert res.penalty["on"] == "standardized coefficients"


def strong_convexity(x: np.ndarray, l2: float) -> float:
    """The smallest eigenvalue of the standardized objective's smooth Hessian, ``2/n ZᵀZ + 2·l2·M``
    (``Z`` the standardized design with its column of ones), computed here from the rows."""
    z = np.column_stack([np.ones(len(x)), (x - x.mean(axis=0)) / x.std(axis=0)])
    mask = np.r_[0.0, np.ones(x.shape[1])]
    return float(np.linalg.eigvalsh(2.0 / len(x) * z.T @ z + np.diag(2 * l2 * mask))[0])


ENGINES = [("exact", "sgd"), ("exact", "fista"), ("numpy", "sgd"), ("numpy", "fista"), ("torch", "sgd")]


@pytest.mark.parametrize("engine,optimizer", ENGINES)
@pytest.mark.parametrize("kind", PENALTIES)
def test_gradient_descent_reaches_the_exact_answer_on_every_engine(diabetes, kind, engine, optimizer):
    """Converged GD is within ``KKT residual / μ`` of the optimum (``μ`` the strong convexity of
    the standardized objective: ``‖v − v*‖ ≤ dist(0, ∂F(v)) / μ``), with the same zeros."""
    x, y, *_ = diabetes
    penalty = PENALTIES[kind]
    res = gradfit.fit(x, y, standardize=True, lr="auto", epochs=4000, engine=engine, optimizer=optimizer,
                      dtype="float64", **penalty)
    assert res.converged and res.grad_norm == res.penalty["kkt"]
    scaled = res.scaling.to_scaled(res.params.theta, True)
    exact = res.scaling.to_scaled(res.closed_form.theta, True)
    bound = res.penalty["kkt"] / strong_convexity(x, penalty.get("l2", 0.0))
    rounding = 1e-12 * np.max(np.abs(exact))  # the maps to and from the standardized space
    assert np.linalg.norm(scaled - exact) <= bound + rounding
    assert np.array_equal(res.params.coef == 0, res.closed_form.coef == 0)
    assert res.penalty["objective"] >= res.penalty["objective_closed_form"] * (1 - 1e-14)  # the exact one is least


def test_l1_at_the_largest_useful_value_zeroes_every_coefficient(diabetes):
    """Every coefficient is zero exactly when ``l1 ≥ λ_max = max_j |2/n Σ (x_ij − x̄_j)(y_i − ȳ)|``
    (the KKT condition at w = 0, b = ȳ); just below it the coefficient reaching λ_max enters alone."""
    x, y, *_ = diabetes
    lam_max = np.max(np.abs(2.0 / len(y) * (x - x.mean(axis=0)).T @ (y - y.mean())))
    above = gradfit.solve(x, y, l1=lam_max * (1 + 1e-9))
    assert np.all(above.closed_form.coef == 0)
    assert above.closed_form.intercept == pytest.approx(y.mean(), rel=1e-14)  # never penalized
    first = int(np.argmax(np.abs((x - x.mean(axis=0)).T @ (y - y.mean()))))
    below = gradfit.solve(x, y, l1=lam_max * (1 - 1e-6))
    assert np.flatnonzero(below.closed_form.coef).tolist() == [first]


def test_weighted_lasso_equals_scikit_learn_with_sample_weight(diabetes):
    """With weights summing to n, gradfit's (1/n)·Σ wᵢrᵢ² is scikit-learn's weighted loss (its
    Lasso rescales sample weights to sum to n), and the whitened intercept column stays unpenalized."""
    x, y, *_ = diabetes
    w = np.random.default_rng(3).uniform(0.2, 3.0, len(y))
    w *= len(y) / w.sum()
    res = gradfit.solve(x, y, weights=w, l1=0.3)
    reference = sklearn_model(l1=0.3).fit(x, y, sample_weight=w)
    assert np.max(np.abs(res.closed_form.theta - theta_of(reference))) <= AGREE * np.max(np.abs(reference.coef_))
    gd = gradfit.fit(x, y, weights=w, l1=0.3, standardize=True, lr="auto", epochs=4000, engine="torch",
                     dtype="float64")
    # (standardized whitened rows: a different penalized problem from the one above, checked against its own exact answer)
    assert gd.converged and np.array_equal(gd.params.coef == 0, gd.closed_form.coef == 0)


def test_streamed_penalized_fit_equals_in_memory(diabetes):
    x, y, *_ = diabetes
    memory = gradfit.solve(x, y, l1=0.3, l2=0.01)
    streamed = gradfit.solve_streaming((x, y), chunk_rows=50, l1=0.3, l2=0.01)
    assert np.max(np.abs(streamed.closed_form.theta - memory.closed_form.theta)) <= 1e-12 * np.max(
        np.abs(memory.closed_form.theta))
    fitted = gradfit.fit_streaming((x, y), chunk_rows=50, l1=0.3, standardize=True, lr="auto", epochs=3000)
    assert fitted.converged and fitted.penalty["kind"] == "lasso"


def test_sweep_with_a_penalty_equals_each_single_fit(diabetes):
    x, y, *_ = diabetes
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gradfit.ConvergenceWarning)  # 200 mini-batch epochs hover, as they should
        runs = gradfit.sweep(x, y, lr=[0.05, 0.2], l1=0.3, standardize=True, epochs=200, engine="torch",
                             dtype="float64", batch_size=64)
        single = gradfit.fit(x, y, lr=0.2, l1=0.3, standardize=True, epochs=200, engine="torch", dtype="float64",
                             batch_size=64)
    assert np.array_equal(runs[1].result.params.theta, single.params.theta)


def test_a_penalized_result_says_why_it_has_no_standard_errors(diabetes):
    x, y, *_ = diabetes
    res = gradfit.fit(x, y, l1=0.3, standardize=True, lr="auto", epochs=3000)
    text = res.summary()
    assert "standard errors: none" in text and "exactly zero" in text and "KKT residual" in text
    data = json.loads(res.to_json())
    assert data["stats"] is None and data["penalty"]["l1"] == 0.3 and data["closed_form"]["std_err"] is None
    with pytest.raises(gradfit.BadOptionError, match="unpenalized"):
        res.influence()
    with pytest.raises(gradfit.BadOptionError, match="cov_type='HC3'"):
        gradfit.fit(x, y, l1=0.3, cov_type="HC3")


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf"), "lots"])
def test_bad_penalty_values_are_refused_by_name(bad):
    with pytest.raises(gradfit.BadOptionError, match="l1"):
        gradfit.fit(l1=bad)


def test_fista_is_refused_where_it_cannot_run():
    with pytest.raises(gradfit.BadOptionError, match="optimizer='fista'"):
        gradfit.fit(optimizer="fista", engine="torch")
    with pytest.raises(gradfit.BadOptionError, match="full-batch"):
        gradfit.fit(optimizer="fista", batch_size=8, engine="numpy")


def test_cli_lasso_on_a_file(tmp_path, diabetes):
    x, y, *_ = diabetes
    path = tmp_path / "d.csv"
    header = ",".join([f"x{j}" for j in range(x.shape[1])] + ["y"])
    np.savetxt(path, np.column_stack([x, y]), delimiter=",", header=header, comments="")
    cli = [sys.executable, "-m", "gradfit"]
    done = subprocess.run(cli + ["fit", str(path), "--target", "y", "--l1", "0.3", "--lr", "auto", "--epochs", "3000",
                                 "--json"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["converged"] and data["penalty"]["on"] == "standardized coefficients"
    solved = subprocess.run(cli + ["solve", str(path), "--target", "y", "--l1", "0.3", "--json"], capture_output=True,
                            text=True)
    # gradfit solve standardizes a file as gradfit fit does: the same penalized problem
    assert np.allclose(json.loads(solved.stdout)["closed_form"]["coef"], data["closed_form"]["coef"], rtol=1e-12,
                       atol=0)
    bad = subprocess.run(cli + ["fit", str(path), "--target", "y", "--l2", "-1"], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "--l2 -1" in bad.stderr


@pytest.mark.parametrize("l2", [1e-8, 1.0, 1e50, 1e150])
def test_ridge_of_one_feature_equals_its_closed_form_to_rounding_at_any_strength(l2):
    """One feature: ``w = Sxy / (Sxx + n·l2)``, ``b = ȳ − w·x̄`` (centred sums). A strong penalty
    makes ``w`` tiny beside an unpenalized intercept: still correct to rounding, relative to ``w``."""
    rng = np.random.default_rng(5)
    x = rng.normal(3.0, 2.0, 200)
    y = 1.0 + 0.5 * x + rng.normal(0.0, 1.0, 200)
    xc, yc = x - x.mean(), y - y.mean()
    w = (xc @ yc) / (xc @ xc + len(x) * l2)
    res = gradfit.solve(x, y, l2=l2)
    assert res.closed_form.coef[0] == pytest.approx(w, rel=1e-13)
    assert res.closed_form.intercept == pytest.approx(y.mean() - w * x.mean(), rel=1e-13)


def test_ridge_answers_where_least_squares_has_none():
    """Fewer rows than parameters, and exactly collinear columns: least squares is refused, ridge
    has one answer (scikit-learn's Ridge through the SVD, with the module's mapping), and gradient
    descent is checked against it."""
    rng = np.random.RandomState(42)
    x, y = rng.rand(15, 30), rng.randint(0, 3, 15).astype(float)
    with pytest.raises(gradfit.BadDataError, match="at least as many rows"):
        gradfit.solve(x, y)
    res = gradfit.solve(x, y, l2=1e-2)
    reference = Ridge(alpha=len(y) * 1e-2, solver="svd").fit(x, y)
    assert np.max(np.abs(res.closed_form.theta - theta_of(reference))) <= 1e-12 * np.max(np.abs(reference.coef_))
    gd = gradfit.fit(x, y, l2=1e-2, lr="auto", epochs=200_000, tol=1e-12)
    # The objective is μ-strongly convex (μ the smallest eigenvalue of its Hessian, 0.0036 here: the
    # ones column is nearly a combination of the 30 others); converged means a scale-free KKT residual
    # ≤ 1e-12, and this data's scale factors (x_scale·y_scale < 1) make the raw one smaller still.
    design = np.column_stack([np.ones(len(y)), x])
    mu = np.linalg.eigvalsh(2 / len(y) * design.T @ design + np.diag(np.r_[0.0, np.full(30, 2e-2)]))[0]
    assert gd.converged and gd.max_abs_diff <= 1e-12 / mu
    collinear = np.column_stack([x[:, :2], x[:, 0] + x[:, 1]])
    with pytest.raises(gradfit.BadDataError, match="collinear"):
        gradfit.solve(collinear, y)
    ridge = gradfit.solve(collinear, y, l2=1e-3)
    reference = Ridge(alpha=len(y) * 1e-3, solver="svd").fit(collinear, y)
    assert np.max(np.abs(ridge.closed_form.theta - theta_of(reference))) <= 1e-10 * np.max(np.abs(reference.coef_))
