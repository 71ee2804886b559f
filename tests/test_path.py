"""The regularization path (``gradfit.regularization_path``, ``gradfit path``): every λ's answer
against scikit-learn and against ``gradfit.solve``, λ_max, the ridge path's range, and K-fold
cross-validation against an independent computation of each fold.

The objective is ``F = MSE + l2·Σw² + l1·Σ|w|`` on the standardized coefficients (features and
target at mean 0, standard deviation 1, ddof 0), the intercept never penalized. scikit-learn writes
its losses with ``1/(2n)``, so ``F`` is twice its objective when::

    Lasso(alpha = l1/2)                  lasso_path(Z, t, alphas = lambdas/2)
    ElasticNet(alpha = l1/2 + l2, l1_ratio = (l1/2) / (l1/2 + l2))
    Ridge(alpha = n·l2)                  (Ridge: ‖t − Zw‖² + alpha·‖w‖², no 1/n)

Tolerances. ``F`` is μ-strongly convex on the standardized coefficients, ``μ = 2·(λ_min(ZᵀZ/n) +
l2)``, so any ``w`` is within ``dist(0, ∂F(w)) / μ`` of the optimum (the KKT residual over μ). Two
answers ``w₁``, ``w₂`` are then within ``(kkt(w₁) + kkt(w₂)) / μ`` of each other: the bound used
against scikit-learn, with both residuals computed here from ``Z`` and ``t`` (scikit-learn's
coordinate descent stops at a duality gap, leaving a KKT residual of ~1e-12 to 1e-10 on this
data; gradfit's is ~1e-16). A wrong mapping (a penalty off by a factor 2, a penalized intercept)
moves the coefficients by 1e-2 or more, far outside it.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import gradfit
from gradfit.cli import main

sklearn = pytest.importorskip("sklearn")
from sklearn.datasets import load_diabetes  # noqa: E402
from sklearn.linear_model import Lasso, Ridge, enet_path, lasso_path  # noqa: E402

ROUNDING = 1e-13  # KKT residuals and coefficient differences computed in float64 from O(1) numbers


@pytest.fixture(scope="module")
def diabetes():
    """Real data: 442 patients, 10 measurements, bundled with scikit-learn."""
    return load_diabetes(return_X_y=True)


@pytest.fixture(scope="module")
def standardized(diabetes):
    x, y = diabetes
    return (x - x.mean(axis=0)) / x.std(axis=0), (y - y.mean()) / y.std()


@pytest.fixture(scope="module")
def lasso(diabetes):
    return gradfit.regularization_path(*diabetes)


def kkt(z: np.ndarray, t: np.ndarray, w: np.ndarray, l1: float, l2: float = 0.0) -> float:
    """The norm of F's least subgradient at ``w`` (no intercept: ``z``, ``t`` are centred), from the rows."""
    g = -2.0 / len(t) * z.T @ (t - z @ w) + 2.0 * l2 * w
    return float(np.linalg.norm(np.where(w != 0, g + l1 * np.sign(w), np.sign(g) * np.maximum(np.abs(g) - l1, 0))))


def strong_convexity(z: np.ndarray, l2: float = 0.0) -> float:
    return float(2.0 * (np.linalg.eigvalsh(z.T @ z / len(z))[0] + l2))


def test_lasso_path_equals_scikit_learn_lasso_path(lasso, standardized):
    z, t = standardized
    _, coefs, _ = lasso_path(z, t, alphas=lasso.lambdas / 2, tol=1e-12, max_iter=1_000_000)  # (d, L)
    mu = strong_convexity(z)
    assert lasso.lambdas.shape == (50,) and lasso.coefficients.shape == (50, 11)
    assert np.max(np.abs(lasso.run_coefficients[:, 0])) <= ROUNDING  # the intercept of centred rows
    for i, l1 in enumerate(lasso.lambdas):
        ours, theirs = lasso.run_coefficients[i, 1:], coefs[:, i]
        bound = (kkt(z, t, ours, l1) + kkt(z, t, theirs, l1)) / mu
        assert np.linalg.norm(ours - theirs) <= bound + ROUNDING, i
        assert np.array_equal(ours == 0, theirs == 0), i  # the same zero pattern at every λ
        assert kkt(z, t, ours, l1) <= ROUNDING and lasso.kkt[i] <= ROUNDING
    assert lasso.n_nonzero.tolist() == np.count_nonzero(coefs, axis=0).tolist()


def test_original_scale_coefficients_are_the_standardized_ones_unscaled(lasso, diabetes, standardized):
    """w = y_scale·v / x_scale, b = ȳ − w·x̄, checked at scikit-learn's answers (bound as above, scaled)."""
    x, y = diabetes
    z, t = standardized
    for i in (5, 20, 49):
        theirs = Lasso(alpha=lasso.lambdas[i] / 2, tol=1e-12, max_iter=1_000_000, fit_intercept=False).fit(z, t).coef_
        coef = y.std() * theirs / x.std(axis=0)
        intercept = y.mean() - coef @ x.mean(axis=0)
        slack = y.std() / x.std(axis=0).min() * (kkt(z, t, theirs, lasso.lambdas[i]) / strong_convexity(z) + ROUNDING)
        assert np.max(np.abs(lasso.coefficients[i, 1:] - coef)) <= slack
        assert abs(lasso.coefficients[i, 0] - intercept) <= slack * np.abs(x.mean(axis=0)).sum() + 1e-12 * y.mean()


@pytest.mark.parametrize("l2", [0.01, 0.2])
def test_elastic_net_path_equals_scikit_learn_enet_path(diabetes, standardized, l2):
    z, t = standardized
    path = gradfit.regularization_path(*diabetes, l2=l2, n_lambdas=20)
    mu = strong_convexity(z, l2)
    for i, l1 in enumerate(path.lambdas):
        ratio = (l1 / 2) / (l1 / 2 + l2)  # l1_ratio varies along a path of fixed l2: one enet_path per λ
        _, coefs, _ = enet_path(z, t, l1_ratio=ratio, alphas=[l1 / 2 + l2], tol=1e-12, max_iter=1_000_000)
        ours, theirs = path.run_coefficients[i, 1:], coefs[:, 0]
        bound = (kkt(z, t, ours, l1, l2) + kkt(z, t, theirs, l1, l2)) / mu
        assert np.linalg.norm(ours - theirs) <= bound + ROUNDING, i
        assert np.array_equal(ours == 0, theirs == 0), i


def test_path_equals_gradfit_solve_at_each_lambda(lasso, diabetes):
    """Warm starts change the work, not the answer: each λ is ``gradfit.solve``'s exact answer. Both
    are the exact solution on the same zero pattern, apart by the rounding of two solves
    (≈ κ·eps ≈ 470·2e-16 relative on this data); 1e-10 leaves room for it."""
    x, y = diabetes
    for i in range(0, 50, 7):
        solved = gradfit.solve(x, y, l1=lasso.lambdas[i], standardize=True).closed_form.theta
        assert np.max(np.abs(lasso.coefficients[i] - solved)) <= 1e-10 * np.max(np.abs(solved))


def test_lambda_max_zeroes_every_coefficient_and_the_next_lambda_does_not(lasso, diabetes, standardized):
    """λ_max = max_j |2/n Σ z_ij t_i| (the KKT condition at w = 0, b = ȳ), computed from the rows."""
    x, y = diabetes
    z, t = standardized
    lam_max = np.max(np.abs(2.0 / len(t) * z.T @ t))
    assert lasso.lambdas[0] == pytest.approx(lam_max, rel=1e-13) and lasso.lambda_max == lasso.lambdas[0]
    assert lasso.lambdas[-1] == pytest.approx(1e-3 * lam_max, rel=1e-13)
    assert np.all(np.diff(np.log(lasso.lambdas)) == pytest.approx(np.log(1e-3) / 49, rel=1e-10))  # a log grid
    assert lasso.n_nonzero[0] == 0 and np.all(lasso.coefficients[0, 1:] == 0)
    assert lasso.coefficients[0, 0] == pytest.approx(y.mean(), rel=1e-14)  # the intercept is never penalized
    assert np.all(Lasso(alpha=lam_max / 2 * (1 + 1e-9), fit_intercept=False).fit(z, t).coef_ == 0)
    assert np.all(gradfit.solve(x, y, l1=lam_max * (1 + 1e-9), standardize=True).closed_form.coef == 0)
    assert lasso.n_nonzero[1] > 0
    first = int(np.argmax(np.abs(z.T @ t)))
    assert lasso.coefficients[1, 1 + first] != 0  # the coefficient at λ_max's bound enters first
    # The ridge part's gradient 2·l2·w is zero at w = 0: an elastic net has the same λ_max.
    assert gradfit.regularization_path(x, y, l2=0.3, n_lambdas=2).lambdas[0] == pytest.approx(lam_max, rel=1e-13)


def test_ridge_path_equals_scikit_learn_ridge_and_spans_zero_to_least_squares(diabetes, standardized):
    x, y = diabetes
    z, t = standardized
    path = gradfit.regularization_path(x, y, l1=0, l2="auto", n_lambdas=15)
    assert path.varying == "l2" and path.kind == "ridge" and np.all(path.n_nonzero == 10)
    for i, l2 in enumerate(path.lambdas):
        theirs = Ridge(alpha=len(t) * l2, solver="cholesky", fit_intercept=False).fit(z, t).coef_
        # two direct solves of a system of condition ≤ 470: rounding ~1e-13 relative
        assert np.max(np.abs(path.run_coefficients[i, 1:] - theirs)) <= 1e-11 * np.max(np.abs(theirs))
    s = np.linalg.eigvalsh(z.T @ z / len(t))
    assert path.lambdas[0] == pytest.approx(100 * s[-1], rel=1e-12)
    assert path.lambdas[-1] == pytest.approx(s[0] / 100, rel=1e-12)
    ols = np.linalg.lstsq(z, t, rcond=None)[0]
    # s/(s + l2) ≤ 1/101 along every eigenvector at the top, ≥ 100/101 at the bottom
    assert np.linalg.norm(path.run_coefficients[0, 1:]) <= np.linalg.norm(ols) / 101
    assert np.linalg.norm(path.run_coefficients[-1, 1:] - ols) <= np.linalg.norm(ols) / 101


def test_given_values_are_solved_largest_first(diabetes):
    x, y = diabetes
    path = gradfit.regularization_path(x, y, l1=[0.01, 1.0, 0.1, 0.1])
    assert path.lambdas.tolist() == [1.0, 0.1, 0.01]
    solved = gradfit.solve(x, y, l1=0.1, standardize=True).closed_form.theta
    assert np.max(np.abs(path.coefficients[1] - solved)) <= 1e-10 * np.max(np.abs(solved))


def test_weighted_path_equals_weighted_solve(diabetes):
    x, y = diabetes
    w = np.random.default_rng(3).uniform(0.2, 3.0, len(y))
    path = gradfit.regularization_path(x, y, weights=w, n_lambdas=8)
    assert path.n_nonzero[0] == 0 and path.names[0] == "intercept"
    for i in (1, 4, 7):
        solved = gradfit.solve(x, y, weights=w, l1=path.lambdas[i], standardize=True).closed_form.theta
        assert np.max(np.abs(path.coefficients[i] - solved)) <= 1e-10 * np.max(np.abs(solved))


# ----- cross-validation ---------------------------------------------------------------------

K, SEED = 5, 7


@pytest.fixture(scope="module")
def cross_validated(diabetes):
    return gradfit.regularization_path(*diabetes, n_lambdas=12, cv=K, seed=SEED)


def independent_curve(x, y, fold_of_row, lambdas):
    """Each fold's held-out MSE at each λ, each fold fitted by ``gradfit.solve`` on its training rows."""
    mse = np.empty((K, len(lambdas)))
    for k in range(K):
        train = fold_of_row != k
        for i, l1 in enumerate(lambdas):
            fitted = gradfit.solve(x[train], y[train], l1=l1, standardize=True).closed_form
            residual = y[~train] - (fitted.intercept + x[~train] @ fitted.coef)
            mse[k, i] = np.mean(residual ** 2)
    return mse


def test_folds_are_the_documented_seeded_split_and_reproducible(cross_validated, diabetes):
    n = len(diabetes[1])
    expected = np.empty(n, dtype=int)
    for k, rows in enumerate(np.array_split(np.random.default_rng(SEED).permutation(n), K)):
        expected[rows] = k
    assert np.array_equal(cross_validated.cv.fold_of_row, expected)
    assert sorted(np.bincount(expected).tolist()) == [88, 88, 88, 89, 89]
    again = gradfit.regularization_path(*diabetes, n_lambdas=12, cv=K, seed=SEED)
    assert np.array_equal(again.cv.mse, cross_validated.cv.mse)  # the same seed: the same numbers, bit for bit
    other = gradfit.regularization_path(*diabetes, n_lambdas=12, cv=K, seed=SEED + 1)
    assert not np.array_equal(other.cv.fold_of_row, expected)


def test_cv_curve_equals_an_independent_computation_and_chooses_its_argmin(cross_validated, diabetes):
    """Each fold's answer is ``gradfit.solve``'s on that fold's rows (its own scaling), so its
    held-out MSE agrees to the rounding of two exact solves (1e-10 relative, as above)."""
    x, y = diabetes
    path = cross_validated
    mse = independent_curve(x, y, path.cv.fold_of_row, path.lambdas)
    assert np.max(np.abs(path.cv.mse - mse) / mse) <= 1e-10
    mean, se = mse.mean(axis=0), mse.std(axis=0, ddof=1) / np.sqrt(K)
    assert np.max(np.abs(path.cv_mse - mean) / mean) <= 1e-10
    assert np.max(np.abs(path.cv_se - se) / se) <= 1e-8  # (a difference of nearly equal MSEs)
    best = int(np.argmin(mean))
    assert path.best_l1 == path.lambdas[best] and path.best == {"l1": path.lambdas[best], "l2": 0.0}
    one_se = min(i for i in range(len(mean)) if mean[i] <= mean[best] + se[best])  # largest λ within 1 SE
    assert path.l1_1se == path.lambdas[one_se] and path.l1_1se >= path.best_l1
    assert path.n_nonzero[one_se] < path.n_nonzero[best]  # the 1-SE rule's sparser model, on this data


@pytest.mark.parametrize("standardize", [True, False])
def test_cv_of_columns_far_from_zero_in_folds_of_three_rows_equals_refitting_each_fold(standardize):
    """The folds' rows are reduced once (each training set's triangle from the other folds'), so
    each held-out MSE must still be that of ``gradfit.solve`` on the training rows: here with
    columns near 1e4 (the change of basis from the shifted rows to each fold's scaling, or to the
    raw columns) and held-out folds of 3 rows (triangles shorter than wide). Two exact solves
    differ in θ by about ``eps·κ`` (κ of the centred unit columns: a few); held-out residuals of
    columns near 1e4 amplify that by ``|x|/|r|`` ≈ 1e4, so 1e-9 relative leaves a factor 100."""
    rng = np.random.default_rng(11)
    x = 1e4 + rng.normal(size=(30, 4))
    y = 5 + x @ np.array([1.0, -2.0, 0.0, 0.5]) + rng.normal(size=30)
    path = gradfit.regularization_path(x, y, n_lambdas=8, cv=10, seed=3, standardize=standardize)
    for k in range(10):
        train = path.cv.fold_of_row != k
        for i, l1 in enumerate(path.lambdas):
            fitted = gradfit.solve(x[train], y[train], l1=l1, standardize=standardize).closed_form
            expected = np.mean((y[~train] - fitted.intercept - x[~train] @ fitted.coef) ** 2)
            assert path.cv.mse[k, i] == pytest.approx(expected, rel=1e-9), (k, l1)


def test_each_fold_is_standardized_with_its_own_rows(cross_validated, diabetes, standardized):
    """Had the fold been standardized with all the rows' statistics (leaking the held-out rows),
    its answer would differ by far more than rounding: the test above would notice."""
    x, y = diabetes
    z, t = standardized  # the whole data's scaling
    train = cross_validated.cv.fold_of_row != 0
    l1 = cross_validated.lambdas[6]
    leaked = Lasso(alpha=l1 / 2, tol=1e-12, fit_intercept=True).fit(z[train], t[train])
    coef = y.std() * leaked.coef_ / x.std(axis=0)
    own = gradfit.solve(x[train], y[train], l1=l1, standardize=True).closed_form.coef
    assert np.max(np.abs(coef - own)) > 1e-3 * np.max(np.abs(own))


# ----- the result's forms ---------------------------------------------------------------------

def test_frame_json_repr_and_figure(cross_validated):
    path = cross_validated
    frame = path.to_frame()
    assert list(frame.columns[:5]) == ["l1", "n_nonzero", "kkt", "cv_mse", "cv_se"] and len(frame) == 12
    assert np.array_equal(frame[path.names].to_numpy(), path.coefficients)
    data = json.loads(path.to_json())
    assert data["best"]["l1"] == path.best_l1 and data["cv"]["folds"] == K and len(data["coefficients"]) == 12
    assert "lasso" in repr(path) and "5-fold CV" in repr(path) and "1-SE" in repr(path)
    text = path.summary()
    assert "chosen: l1 =" in text and "*" in text and "1se" in text
    figure = path.plot()
    assert len(figure.axes) == 2
    best_lines = [line for line in figure.axes[1].lines if line.get_linestyle() == "--"]
    assert best_lines and best_lines[0].get_xdata()[0] == pytest.approx(path.best_l1)
    assert len(gradfit.regularization_path(x=np.arange(20.0), y=np.arange(20.0) ** 1.5, n_lambdas=3).plot().axes) == 1


@pytest.mark.parametrize("options,named", [
    (dict(l1=[-1.0, 0.1]), "l1="), (dict(l1="lots"), "l1="), (dict(cv=1), "cv=1"), (dict(cv=443), "cv=443"),
    (dict(n_lambdas=0), "n_lambdas=0"), (dict(l1="auto", l2="auto"), "l2='auto'"), (dict(eps=1.5), "eps=1.5"),
    (dict(l1=0.1, l2="auto"), "l1=0.1"), (dict(l2=-1.0), "l2=-1.0"),
])
def test_bad_options_are_refused_by_name(diabetes, options, named):
    with pytest.raises(gradfit.BadOptionError) as error:
        gradfit.regularization_path(*diabetes, **options)
    assert str(error.value).startswith(named) and "\n" not in str(error.value)


# ----- the command line -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def data_file(tmp_path_factory, diabetes):
    x, y = diabetes
    path = tmp_path_factory.mktemp("path") / "diabetes.csv"
    header = ",".join([f"x{j}" for j in range(x.shape[1])] + ["y"])
    np.savetxt(path, np.column_stack([x, y]), delimiter=",", header=header, comments="", fmt="%.17g")
    return path


def test_cli_table_plot_and_csv(data_file, tmp_path, diabetes):
    figures, table = tmp_path / "figures", tmp_path / "path.csv"
    done = subprocess.run([sys.executable, "-m", "gradfit", "path", str(data_file), "--target", "y", "--cv", "5",
                           "--n-lambdas", "10", "--plot", str(figures), "--out", str(table)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "chosen: l1 =" in done.stdout and "cv_mse" in done.stdout
    png = (figures / "path.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000
    written = pd.read_csv(table)
    python = gradfit.regularization_path(*diabetes, n_lambdas=10, cv=5)  # the same problem (the file's digits: %.17g)
    assert np.allclose(written[["intercept"] + [f"x{j}" for j in range(10)]].to_numpy(), python.coefficients,
                       rtol=1e-12, atol=0)
    assert np.allclose(written["cv_mse"], python.cv_mse, rtol=1e-12, atol=0)


def test_cli_json(data_file, capsys):
    assert main(["path", str(data_file), "--target", "y", "--l1", "auto", "--l2", "0.05", "--n-lambdas", "6",
                 "--cv", "3", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["kind"] == "elastic net" and data["fixed"] == {"l2": 0.05} and len(data["lambdas"]) == 6
    assert data["best"]["l2"] == 0.05 and data["standardized"] is True


@pytest.mark.parametrize("flags,named", [
    (["--l1=-1,0.1"], "--l1 -1,0.1"), (["--cv", "1"], "--cv 1"), (["--cv", "1000"], "--cv 1000"),
    (["--n-lambdas", "0"], "--n-lambdas 0"), (["--l1", "auto", "--l2", "auto"], "--l2 auto"),
    (["--eps", "0"], "--eps 0"), (["--l2", "-2"], "--l2 -2"),
])
def test_cli_bad_options_exit_2_with_one_line(data_file, capsys, flags, named):
    assert main(["path", str(data_file), "--target", "y"] + flags) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and named in err and err.startswith("gradfit path: error:")


def test_cli_data_options_work_as_for_solve(data_file, capsys, diabetes):
    """--features and --formula choose the same columns; --no-standardize penalizes the raw coefficients."""
    x, y = diabetes
    assert main(["path", str(data_file), "--formula", "y ~ x2 + x3 + x8", "--l1", "0.5,0.05", "--json"]) == 0
    by_formula = json.loads(capsys.readouterr().out)
    assert main(["path", str(data_file), "--target", "y", "--features", "x2,x3,x8", "--l1", "0.5,0.05",
                 "--json"]) == 0
    by_features = json.loads(capsys.readouterr().out)
    assert by_formula["names"] == by_features["names"] == ["intercept", "x2", "x3", "x8"]
    assert np.allclose(by_formula["coefficients"], by_features["coefficients"], rtol=1e-12, atol=0)
    assert main(["path", str(data_file), "--target", "y", "--l1", "0.5", "--no-standardize", "--json"]) == 0
    raw = json.loads(capsys.readouterr().out)
    solved = gradfit.solve(x, y, l1=0.5).closed_form.theta  # Python's solve penalizes the raw ones by default
    assert 0 < np.count_nonzero(solved[1:]) < 10
    assert raw["standardized"] is False and np.allclose(raw["coefficients"][0], solved, rtol=1e-10, atol=0)
