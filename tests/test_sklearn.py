"""gradfit.GDRegressor: scikit-learn's estimator checks in full, and every answer against an
independent one (numpy's lstsq, scikit-learn's LinearRegression and Ridge, statsmodels' WLS, the
full-batch fit for partial_fit), with tolerances from the error of each computation."""

from __future__ import annotations

import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

import gradfit  # noqa: E402
from error_bounds import EPS, QR_BACKWARD, qr_errors  # noqa: E402
from gradfit.config import options_of  # noqa: E402
from gradfit.sklearn import ESTIMATOR_DEFAULTS, EXCLUDED, GDRegressor  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.exceptions import ConvergenceWarning, DataConversionWarning  # noqa: E402
from sklearn.linear_model import LinearRegression, Ridge  # noqa: E402
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402


# ----- scikit-learn's own checks -------------------------------------------------------------

# Eight checks fit data on which 1000 epochs of plain gradient descent do not reach tol: columns of
# mean 100 without standardizing (check_fit_idempotent, check_n_features_in …), 15 rows × 30
# columns whose null space only the 1e-4 ridge contracts (check_sample_weight_equivalence_on_dense_data).
# gradfit says so with its ConvergenceWarning, which this suite otherwise turns into an error. The
# checks judge the answers (equal refits, weights as repeated rows, shapes, messages), not the
# warning, so it is shown, not raised.
@pytest.mark.filterwarnings("default::gradfit.errors.ConvergenceWarning")
@parametrize_with_checks([GDRegressor()])
def test_scikit_learn_estimator_checks(estimator, check, monkeypatch):
    # check_array_api_input (NumPy arrays under array-API dispatch) runs only with SCIPY_ARRAY_API
    # set, and is skipped otherwise: set it, so that every check runs.
    monkeypatch.setenv("SCIPY_ARRAY_API", "1")
    check(estimator)


# ----- parameters ----------------------------------------------------------------------------

def test_parameters_are_the_options_of_fit_with_the_estimator_defaults():
    declared = [spec for spec in options_of("fit") if spec.name not in EXCLUDED]
    params = GDRegressor().get_params()
    assert list(params) == sorted(spec.name for spec in declared)  # (get_params sorts them)
    assert {spec.name: params[spec.name] for spec in declared} == \
        {spec.name: ESTIMATOR_DEFAULTS.get(spec.name, spec.default) for spec in declared}
    assert params["lr"] == "auto" and params["l2"] == 1e-4 and params["standardize"] is False
    for spec in declared:  # each is documented in the class docstring
        assert f"\n    {spec.name} : " in GDRegressor.__doc__


def test_unknown_parameters_are_a_type_error_and_init_stores_values_unchanged():
    with pytest.raises(TypeError, match="epoch"):
        GDRegressor(epoch=10)
    model = GDRegressor(lr=-3, epochs="many")  # no validation in __init__ (scikit-learn's rule) …
    assert (model.lr, model.epochs) == (-3, "many")
    with pytest.raises(ValueError, match="lr"):  # … but fit refuses it, naming the parameter
        model.fit(np.eye(3), np.ones(3))


# ----- answers against independent ones -------------------------------------------------------

def rows(n=200, d=4, seed=0, noise=0.5):
    rng = np.random.RandomState(seed)
    x = rng.randn(n, d)
    return x, 1.5 + x @ np.linspace(-2.0, 3.0, d) + noise * rng.randn(n)


def gd_tolerance(model, design, weights=None, l2=0.0) -> float:
    """How far ``model``'s gradient descent may end from the exact minimiser (∞-norm).

    On ``(2/n)AᵀWA + 2·l2·D`` (``D`` the penalised coefficients) GD contracts the error by
    ``ρ = max|1 − lr·λ|`` an epoch: ``ρ^epochs·‖θ₀ − θ*‖`` are left; rounding adds at most
    ``eps·|θ|`` an update, contracted by ``1 − lr·λ_min``: ``eps·|θ|/(lr·λ_min)`` in all
    (see tests/test_engines.py's ``rounding_drift``).
    """
    n = len(design)
    w = np.ones(n) if weights is None else weights * n / weights.sum()
    penalised = np.diag([0.0] * int(model.intercept) + [1.0] * (design.shape[1] - int(model.intercept)))
    eig = np.linalg.eigvalsh(2.0 / n * design.T @ (w[:, None] * design) + 2.0 * l2 * penalised)
    lr, res = model.result_.lr, model.result_
    rho = max(abs(1 - lr * eig[0]), abs(1 - lr * eig[-1]))
    closed = res.closed_form.theta
    return float(rho ** res.epochs * np.linalg.norm(res.initial.theta - closed)
                 + EPS * np.max(np.abs(closed)) / (lr * eig[0]))


def theta_of(model) -> np.ndarray:
    return np.r_[model.intercept_, model.coef_] if model.intercept else model.coef_.copy()


def test_ols_against_lstsq_and_linear_regression():
    x, y = rows()
    model = GDRegressor(l2=0.0, tol=1e-12).fit(x, y)
    design = np.column_stack([np.ones(len(y)), x])
    exact = np.linalg.lstsq(design, y, rcond=None)[0]
    # GD's distance to the minimiser, plus lstsq's own error (SVD: normwise backward stable).
    tol = gd_tolerance(model, design) + np.max(qr_errors(design, y, exact, QR_BACKWARD, normwise=True)["theta"])
    assert tol <= 1e-8 * np.max(np.abs(exact))  # the epochs suffice for 1e-8 relative
    assert np.max(np.abs(theta_of(model) - exact)) <= tol
    reference = LinearRegression().fit(x, y)  # lstsq on centred columns: within the same bound
    lstsq_error = np.max(qr_errors(design, y, exact, QR_BACKWARD, normwise=True)["theta"])
    assert np.max(np.abs(model.coef_ - reference.coef_)) <= tol + lstsq_error
    assert model.converged_ and model.max_abs_diff_ <= gd_tolerance(model, design)
    assert model.n_features_in_ == 4 and model.n_iter_ == 1000
    # A prediction moves by at most tol·Σ|a_j| with θ, and its 5-term dot product rounds within 5 eps.
    bound = tol * np.abs(design).sum(1) + 5 * EPS * (np.abs(design) @ np.abs(exact))
    assert np.all(np.abs(model.predict(x) - design @ exact) <= bound)


@pytest.mark.parametrize("l2", [1e-4, 0.1])
def test_ridge_against_scikit_learn_ridge(l2):
    x, y = rows(n=60, d=5, seed=1)
    model = GDRegressor(l2=l2).fit(x, y)
    design = np.column_stack([np.ones(len(y)), x])
    # MSE + l2·‖w‖² is ‖r‖² + n·l2·‖w‖²: Ridge(alpha=n·l2), solved by Cholesky on centred columns
    # (error ~ κ·eps relative, κ ≈ 3 here: within the QR bound below).
    reference = Ridge(alpha=len(y) * l2, solver="cholesky").fit(x, y)
    exact = np.r_[reference.intercept_, reference.coef_]
    tol = gd_tolerance(model, design, l2=l2) + np.max(qr_errors(design, y, exact, QR_BACKWARD)["theta"])
    assert tol <= 1e-8 * np.max(np.abs(exact))
    assert np.max(np.abs(theta_of(model) - exact)) <= tol


def test_sample_weight_against_statsmodels_wls():
    sm = pytest.importorskip("statsmodels.api")
    x, y = rows(n=120, d=3, seed=2)
    weights = np.random.RandomState(3).uniform(0.1, 5.0, size=len(y))
    given = weights.copy()
    model = GDRegressor(l2=0.0, tol=1e-12).fit(x, y, sample_weight=weights)
    np.testing.assert_array_equal(weights, given)  # the caller's array is not changed
    design = sm.add_constant(x)
    wls = sm.WLS(y, design, weights=weights).fit()
    root = np.sqrt(weights)[:, None]  # WLS is least squares on the whitened rows
    tol = gd_tolerance(model, design, weights) + \
        np.max(qr_errors(design * root, y * root[:, 0], wls.params, QR_BACKWARD)["theta"])
    assert tol <= 1e-8 * np.max(np.abs(wls.params))
    assert np.max(np.abs(theta_of(model) - wls.params)) <= tol
    # Standard errors ∝ σ̂ = √(RSS(θ)/(n − p)): GD's θ moves RSS by ‖A_w(θ − θ*)‖² (θ* minimises it),
    # σ̂ by half that relative; each side computes them within the QR bound of the whitened rows.
    whitened = design * root
    moved = float(np.linalg.norm(whitened @ (theta_of(model) - wls.params))) ** 2 / (2 * wls.ssr)
    se_tol = 2 * qr_errors(whitened, y * root[:, 0], wls.params, QR_BACKWARD)["std_err"] + moved * wls.bse
    assert np.all(np.abs(model.stats_.std_err - wls.bse) <= se_tol)


def test_weights_as_repeated_rows_and_constant_weights_as_none():
    x, y = rows(n=40, d=3, seed=4)
    counts = np.random.RandomState(5).randint(0, 4, size=len(y))
    weighted = GDRegressor().fit(x, y, sample_weight=counts)
    repeated = GDRegressor().fit(np.repeat(x, counts, axis=0), np.repeat(y, counts))
    plain, constant = GDRegressor().fit(x, y), GDRegressor().fit(x, y, sample_weight=np.full(len(y), 7.0))
    np.testing.assert_array_equal(GDRegressor().fit(x, y, sample_weight=7.0).coef_, constant.coef_)  # a number
    with pytest.raises(ValueError, match="sample_weight of row 0 is -1.0"):
        GDRegressor().fit(x, y, sample_weight=-1.0)
    design = np.column_stack([np.ones(len(y)), x])
    # Both runs are GD on one objective from one start, each within gd_tolerance of the minimiser,
    # which each computes within the least-squares rounding bound of the (whitened) rows: a ridge
    # problem is no worse conditioned than its least squares.
    for a, b, w in ((weighted, repeated, counts.astype(float)), (plain, constant, np.ones(len(y)))):
        root = np.sqrt(w)
        tol = 2 * gd_tolerance(a, design, w, l2=1e-4) + 2 * np.max(
            qr_errors(design * root[:, None], y * root, a.closed_form_.theta, QR_BACKWARD)["theta"])
        assert tol <= 1e-8 * np.max(np.abs(theta_of(a)))
        assert np.max(np.abs(theta_of(a) - theta_of(b))) <= tol


def test_no_intercept_and_a_column_target():
    x, y = rows(n=50, d=2, seed=6)
    model = GDRegressor(intercept=False, l2=0.0).fit(x, y)
    assert model.intercept_ == 0.0
    exact = np.linalg.lstsq(x, y, rcond=None)[0]
    tol = gd_tolerance(model, x) + np.max(qr_errors(x, y, exact, QR_BACKWARD, normwise=True)["theta"])
    assert np.max(np.abs(model.coef_ - exact)) <= tol
    with pytest.warns(DataConversionWarning):
        column = GDRegressor(intercept=False, l2=0.0).fit(x, y[:, None])
    np.testing.assert_array_equal(column.coef_, model.coef_)


def test_a_dataframe_names_the_features():
    pd = pytest.importorskip("pandas")
    x, y = rows(n=50, d=3, seed=7)
    frame = pd.DataFrame(x, columns=["a", "b", "c"])
    model = GDRegressor().fit(frame, pd.Series(y, name="target"))
    assert list(model.feature_names_in_) == ["a", "b", "c"] and model.result_.names == ["a", "b", "c"]
    by_hand = x @ model.coef_ + model.intercept_  # a 3-term dot product: within 4 eps of its terms' sum
    bound = 4 * EPS * (np.abs(x) @ np.abs(model.coef_) + abs(model.intercept_))
    assert np.all(np.abs(model.predict(frame) - by_hand) <= bound)
    assert not hasattr(GDRegressor().fit(x, y), "feature_names_in_")


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_stopping_short_warns_with_scikit_learns_convergence_warning_too(method):
    # A GridSearchCV user silences scikit-learn's ConvergenceWarning; gradfit's own class still
    # matches, and the warning points at the caller's line, not at gradfit's.
    rng = np.random.default_rng(3)
    X = rng.normal(100.0, 1.0, size=(60, 2))  # far from zero, not standardized: 3 epochs stop short
    y = X @ np.array([1.0, 2.0]) + rng.normal(size=60)
    estimator = GDRegressor(epochs=3, standardize=False)
    with pytest.warns(ConvergenceWarning) as caught:
        getattr(estimator, method)(X, y)
    assert all(isinstance(w.message, gradfit.ConvergenceWarning) for w in caught)
    assert {w.filename for w in caught} == {__file__}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", ConvergenceWarning)
        getattr(GDRegressor(epochs=3, standardize=False), method)(X, y)  # silenced by scikit-learn's class


def test_early_stopping_sets_n_iter():
    x, y = rows(n=200, d=3, seed=8, noise=2.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gradfit.ConvergenceWarning)  # it stops before the gradient is small
        model = GDRegressor(val_split=0.25, patience=5, epochs=5000).fit(x, y)
    assert model.result_.stopped_epoch is not None
    assert model.n_iter_ == model.result_.stopped_epoch < 5000


# ----- partial_fit: the full-batch fit of every row seen ----------------------------------------

def relative(a, b) -> float:
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def partial(model, x, y, weights=None, chunks=4):
    for part in np.array_split(np.arange(len(y)), chunks):
        model.partial_fit(x[part], y[part], sample_weight=None if weights is None else weights[part])
    return model


# Both runs are GD from the same seeded start on the same objective, whose statistics (the Gram
# path in memory, chunks merged by TSQR) agree to a backward error of a few eps per column: the
# iterates then agree to about κ·eps relative (κ ≈ 3 for these columns), far inside 1e-10.
PARTIAL_RTOL = 1e-10


@pytest.mark.parametrize("options", [{}, {"l2": 0.0}, {"standardize": True}, {"intercept": False},
                                     {"epochs": 30}, {"l2": 0.5, "lr": 0.05}, {"l1": 0.05},
                                     {"l1": 0.05, "optimizer": "fista"}])
@pytest.mark.parametrize("chunks", [1, 3, 7])
def test_partial_fit_equals_fit_of_every_row(options, chunks):
    x, y = rows(n=210, d=4, seed=9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gradfit.ConvergenceWarning)  # epochs=30 stops early on purpose
        full = GDRegressor(**options).fit(x, y)
        part = partial(GDRegressor(**options), x, y, chunks=chunks)
    assert relative(theta_of(part), theta_of(full)) <= PARTIAL_RTOL
    assert relative(part.closed_form_.theta, full.closed_form_.theta) <= PARTIAL_RTOL
    assert part.n_iter_ == full.n_iter_ and part.converged_ == full.converged_


@pytest.mark.parametrize("l2", [1e-4, 0.0])
def test_partial_fit_with_weights_equals_fit_with_all_the_weights(l2):
    x, y = rows(n=180, d=3, seed=10)
    weights = np.random.RandomState(11).uniform(0.0, 4.0, size=len(y))
    full = GDRegressor(l2=l2).fit(x, y, sample_weight=weights)
    part = partial(GDRegressor(l2=l2), x, y, weights)
    assert relative(theta_of(part), theta_of(full)) <= PARTIAL_RTOL
    # Chunks without weights are rows of weight 1 beside later weighted ones.
    mixed = GDRegressor(l2=l2).partial_fit(x[:60], y[:60]).partial_fit(x[60:], y[60:], sample_weight=weights[60:])
    together = GDRegressor(l2=l2).fit(x, y, sample_weight=np.r_[np.ones(60), weights[60:]])
    assert relative(theta_of(mixed), theta_of(together)) <= PARTIAL_RTOL
    if l2 == 0.0:  # (statistics are those of least squares: a penalised fit has none)
        assert full.stats_ is not None
        np.testing.assert_allclose(part.stats_.std_err, full.stats_.std_err, rtol=PARTIAL_RTOL)


def test_partial_fit_keeps_its_columns_and_fit_starts_again():
    x, y = rows(n=90, d=3, seed=12)
    model = GDRegressor().partial_fit(x[:30], y[:30])
    with pytest.raises(ValueError, match="X has 2 features, but GDRegressor is expecting 3"):
        model.partial_fit(x[30:, :2], y[30:])
    model.fit(x[:45], y[:45]).partial_fit(x[45:], y[45:])  # fit forgets earlier chunks
    assert relative(theta_of(model), theta_of(GDRegressor().fit(x[45:], y[45:]))) <= PARTIAL_RTOL
    restored = pickle.loads(pickle.dumps(GDRegressor().partial_fit(x[:45], y[:45]))).partial_fit(x[45:], y[45:])
    assert relative(theta_of(restored), theta_of(GDRegressor().fit(x, y))) <= PARTIAL_RTOL


@pytest.mark.parametrize("name, value", [("batch_size", 8), ("val_split", 0.2), ("patience", 5),
                                         ("engine", "torch"), ("optimizer", "adam"), ("cov_type", "HC1"),
                                         ("resume", "run.pt")])
def test_partial_fit_refuses_what_it_cannot_honour(name, value):
    x, y = rows(n=30, d=2, seed=13)
    model = GDRegressor(**{name: value})
    with pytest.raises(ValueError, match=rf"{name}={value!r}.*partial_fit cannot honour it"):
        model.partial_fit(x, y)
    assert not hasattr(model, "coef_")
    fitted = GDRegressor().partial_fit(x, y).set_params(intercept=False)
    with pytest.raises(ValueError, match="intercept=False"):
        fitted.partial_fit(x, y)


# ----- in scikit-learn's tools --------------------------------------------------------------

def test_pipeline_and_grid_search_against_ridge():
    x, y = rows(n=150, d=4, seed=14)
    x = x * [1.0, 10.0, 100.0, 0.1] + 5.0  # columns of different scales: the scaler's job
    folds = KFold(5, shuffle=True, random_state=0)
    grid = {"gdregressor__l2": [1e-4, 1e-2, 1.0]}
    search = GridSearchCV(make_pipeline(StandardScaler(), GDRegressor()), grid, cv=folds).fit(x, y)
    # Ridge on the same folds: MSE + l2·‖w‖² is Ridge(alpha=n_train·l2). GD ends within ~1e-13
    # relative of the minimiser on standardized columns (κ ≈ 2, 1000 epochs contract it to
    # rounding), so R² agrees to ~1e-12; 1e-9 leaves a wide margin.
    expected = []
    for l2 in grid["gdregressor__l2"]:
        scores = [make_pipeline(StandardScaler(), Ridge(alpha=len(train) * l2)).fit(x[train], y[train])
                  .score(x[test], y[test]) for train, test in folds.split(x)]
        expected.append(np.mean(scores))
    np.testing.assert_allclose(search.cv_results_["mean_test_score"], expected, rtol=1e-9)
    assert search.best_params_ == {"gdregressor__l2": grid["gdregressor__l2"][int(np.argmax(expected))]}


def test_cross_val_score_against_linear_regression():
    x, y = rows(n=100, d=3, seed=15)
    folds = KFold(4, shuffle=True, random_state=1)
    ours = cross_val_score(GDRegressor(l2=0.0), x, y, cv=folds)
    theirs = cross_val_score(LinearRegression(), x, y, cv=folds)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9)  # (as for the grid search above)


def test_clone_and_pickle():
    x, y = rows(n=60, d=3, seed=16)
    model = GDRegressor(l2=0.01, epochs=300).fit(x, y)
    copy = clone(model)
    assert copy.get_params() == model.get_params() and not hasattr(copy, "coef_")
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict(x), model.predict(x))
    assert restored.result_.closed_form.intercept == model.result_.closed_form.intercept


# ----- scikit-learn stays optional -------------------------------------------------------------

def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_import_gradfit_does_not_import_scikit_learn():
    done = run_python("import gradfit, sys; assert 'sklearn' not in sys.modules")
    assert done.returncode == 0, done.stderr


def test_without_scikit_learn_the_estimator_says_what_to_install():
    done = run_python(
        "import sys; sys.modules['sklearn'] = None\n"  # import sklearn now fails, as if not installed
        "import gradfit\n"
        "try:\n    gradfit.GDRegressor()\n"
        "except gradfit.errors.MissingDependencyError as error:\n    print(error)\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines() == [
        "gradfit.GDRegressor needs scikit-learn, which is not installed: pip install scikit-learn "
        "(or pip install \"gradfit[sklearn]\")"]
