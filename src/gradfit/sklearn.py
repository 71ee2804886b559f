"""scikit-learn's interface to gradfit: :class:`GDRegressor`, an estimator over :func:`gradfit.fit`.

Its parameters are :func:`gradfit.fit`'s options, read from their declarations
(:func:`gradfit.config.options_of`), so an option added there is a parameter here too.
scikit-learn is optional: without it, building a ``GDRegressor`` raises gradfit's one-line
:class:`gradfit.errors.MissingDependencyError` saying what to install.
"""

from __future__ import annotations

import inspect
import numbers
import textwrap
import warnings

import numpy as np

from .api import fit as fit_rows
from .config import BY_NAME, config_from, options_of
from .data.per_row import check_weights
from . import errors
from .errors import BadOptionError, MissingDependencyError, option
from .pipeline.run import fit_source
from .pipeline.summarized import Summary

try:
    from sklearn.base import BaseEstimator, RegressorMixin
    from sklearn.exceptions import ConvergenceWarning as SklearnConvergenceWarning
except ImportError:  # scikit-learn is optional: the estimator says what to install when it is built
    SklearnConvergenceWarning = UserWarning

    class RegressorMixin:  # noqa: D101 (a stand-in, never used)
        pass

    class BaseEstimator:  # noqa: D101
        def __new__(cls, *args, **kwargs):
            raise MissingDependencyError("gradfit.GDRegressor needs scikit-learn, which is not installed: "
                                         "pip install scikit-learn (or pip install \"gradfit[sklearn]\")")



class ConvergenceWarning(errors.ConvergenceWarning, SklearnConvergenceWarning):
    """:class:`gradfit.errors.ConvergenceWarning` as :class:`GDRegressor` issues it: scikit-learn's
    ``sklearn.exceptions.ConvergenceWarning`` too, so that a filter on either class (as
    ``GridSearchCV`` users and scikit-learn's own checks set) catches it."""


def warning_as_sklearns(call):
    """``call()``, its gradfit ConvergenceWarnings issued again as :class:`ConvergenceWarning`
    (every other warning as it was), from the place gradfit named, under the caller's filters."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # (each one recorded: the caller's filters judge them below)
        result = call()
    for seen in caught:
        message = seen.message
        if type(message) is errors.ConvergenceWarning:
            message = ConvergenceWarning(message.template)
        warnings.warn_explicit(message, type(message), seen.filename, seen.lineno, source=seen.source)
    return result


# Options an estimator has no use for: scikit-learn hands fit() the columns (X) and the target (y)
# apart, and a feature transform is a Pipeline step; coef_ has one entry per column of X.
EXCLUDED = {
    "formula": "the design matrix comes from X (use a transformer in a Pipeline to build terms)",
    "poly": "polynomial terms are sklearn.preprocessing.PolynomialFeatures in a Pipeline",
}
# Defaults that differ from gradfit.fit's (see the class docstring for why). Options not declared
# (yet) are left out.
ESTIMATOR_DEFAULTS = {"lr": "auto", "l2": 1e-4}

# What partial_fit cannot honour: it keeps no rows (nothing to hold out, sample in mini-batches or
# read again) and runs the exact engine from the rows' statistics. name: (accepted, why not).
PARTIAL_FIT_REFUSES = {
    "val_split": (lambda v: not v, "it keeps no rows to hold out for validation"),
    "patience": (lambda v: v is None, "early stopping needs validation rows, and it keeps none"),
    "batch_size": (lambda v: v is None, "mini-batches need the rows; it runs full batch from their statistics"),
    "resume": (lambda v: v is None, "each call refits from the start, on every row seen so far"),
    "engine": (lambda v: v in ("auto", "exact"), "it runs the exact engine, from the rows' statistics"),
    "optimizer": (lambda v: v != "adam", "adam runs on the torch engine, which needs the rows"),
    "scheduler": (lambda v: v is None, "learning-rate schedules run on the torch engine, which needs the rows"),
    "model": (lambda v: v is None, "it trains no torch module (the exact engine)"),
    "device": (lambda v: v in ("auto", "cpu"), "the exact engine runs on the CPU"),
    "cov_type": (lambda v: v == "nonrobust", "robust covariances need a second pass over the rows"),
    "maxlags": (lambda v: v is None, "HAC covariances need a second pass over the rows"),
}


def estimator_options() -> list:
    """The options of :func:`gradfit.fit` that are :class:`GDRegressor`'s parameters, in order."""
    return [spec for spec in options_of("fit") if spec.name not in EXCLUDED]


def estimator_signature() -> inspect.Signature:
    """``__init__(self, *, intercept=True, …)``: one keyword per option, with the estimator's defaults."""
    keyword = inspect.Parameter.KEYWORD_ONLY
    parameters = [inspect.Parameter(spec.name, keyword, default=ESTIMATOR_DEFAULTS.get(spec.name, spec.default))
                  for spec in estimator_options()]
    return inspect.Signature([inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD), *parameters])


def parameter_docs() -> str:
    """The numpydoc entries of the parameters (each option's own documentation)."""
    entries = []
    for spec in estimator_options():
        default = ESTIMATOR_DEFAULTS.get(spec.name, spec.default)
        kind, _, text = spec.doc.partition("\n")
        kind = kind.removesuffix(", optional")  # the default says it (scikit-learn's style)
        entries.append(f"{spec.name} : {kind}, default={default!r}\n{text}")
    return textwrap.indent("\n".join(entries), "    ")


class GDRegressor(RegressorMixin, BaseEstimator):
    """Linear regression by gradient descent (:func:`gradfit.fit`), checked against least squares.

    Minimises ``(1/n) Σ wᵢ (yᵢ − b − xᵢ·coef)² + l2·‖coef‖² + l1·‖coef‖₁`` (``wᵢ = 1`` without
    ``sample_weight``; the intercept ``b`` is never penalised) by gradient descent, and compares
    the answer with the exact minimiser (``closed_form_``, ``max_abs_diff_``).

    Parameters
    ----------
    {parameters}

    Attributes
    ----------
    coef_ : numpy.ndarray
        ``(n_features,)`` the gradient-descent coefficients.
    intercept_ : float
        The intercept (0.0 with ``intercept=False``).
    n_features_in_ : int
        Columns of ``X`` seen by ``fit``.
    feature_names_in_ : numpy.ndarray
        ``(n_features_in_,)`` the column names, when ``X`` was a DataFrame with text column names.
    n_iter_ : int
        Epochs this fit ran (fewer than ``epochs`` when early stopping stopped it).
    closed_form_ : gradfit.Params
        The exact minimiser of the same objective on the same rows.
    max_abs_diff_ : float
        ``max |[intercept_, coef_] − closed_form_|``.
    converged_ : bool
        Whether the scale-free gradient norm ended at or below ``tol``.
    stats_ : gradfit.OLSStats or None
        Statistics at the gradient-descent answer (standard errors, p-values, ``summary()``);
        ``None`` for a penalised fit (``l2`` or ``l1`` above 0, the default), whose coefficients
        classical standard errors do not describe.
    result_ : gradfit.FitResult
        Everything :func:`gradfit.fit` returned. Without a penalty its statistics keep the rows
        (for residual diagnostics and influence), so a pickled model is then as large as ``X``.

    Notes
    -----
    Defaults that differ from :func:`gradfit.fit`'s:

    - ``lr='auto'`` (fit: 0.1): the step comes from the curvature of the loss, about the optimal
      fixed step for these rows; a fixed 0.1 diverges on arbitrary data.
    - ``l2=1e-4`` (fit: 0.0): a small ridge penalty, as scikit-learn's ``SGDRegressor`` has
      (``alpha=1e-4``), so that every problem has one answer, fewer rows than columns included.
      Set ``l2=0.0`` for ordinary (or weighted) least squares.

    ``standardize=False`` is gradfit.fit's default, kept on purpose: the penalty then acts on the
    coefficients of ``X`` as given, so weights that are whole numbers fit exactly as repeated rows
    (standardizing weighted rows uses the whitened rows' spread, which repeated rows do not share).
    Put a ``StandardScaler`` in front in a ``Pipeline``, or set ``standardize=True``, for data
    whose columns differ in scale.

    ``alpha`` is the significance of the statistics' confidence intervals (gradfit's option), not
    a penalty. ``formula`` and ``poly`` are not parameters: scikit-learn passes the columns and
    the target apart, and building terms is a transformer's job in a ``Pipeline``. The paths
    (``checkpoint``, ``resume``, ``tensorboard``) are kept for long single fits; clones share
    them, so leave them out of searches and cross-validation, whose fits would write one file.

    ``sample_weight`` is normalised to mean 1 (``w·n/Σw``) before the fit, so that whole-number
    weights equal repeated rows and ``c·ones`` equals no weights, penalty included.

    :meth:`partial_fit` folds each chunk into sufficient statistics (O(p²) numbers, no rows) and
    refits from them: the model after any number of chunks is ``fit`` of all their rows. A call
    to ``fit`` forgets the chunks.

    Examples
    --------
    >>> import numpy as np
    >>> from gradfit import GDRegressor
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]]); y = np.array([1.0, 3.1, 4.9, 7.0])
    >>> model = GDRegressor(l2=0.0, tol=1e-10, epochs=5000).fit(X, y)
    >>> round(model.intercept_, 6), model.coef_.round(6).tolist(), model.converged_
    (1.03, [1.98], True)
    """

    def __init__(self, **params):
        bound = inspect.signature(type(self).__init__).bind(self, **params)  # TypeError for unknown names
        bound.apply_defaults()
        for name, value in bound.arguments.items():
            if name != "self":
                setattr(self, name, value)

    __init__.__signature__ = estimator_signature()

    def fit(self, X, y, sample_weight=None) -> "GDRegressor":
        """Fit the model to the rows ``X`` ``(n, d)`` and targets ``y`` ``(n,)``.

        Parameters
        ----------
        X : array_like or pandas.DataFrame
            ``(n_samples, n_features)``.
        y : array_like
            ``(n_samples,)`` (a column ``(n_samples, 1)`` is read as one, with scikit-learn's warning).
        sample_weight : array_like, optional
            ``(n_samples,)`` zero or more; normalised to mean 1 (the caller's array is not changed).

        Returns
        -------
        GDRegressor
            ``self``, fitted.
        """
        from sklearn.utils.validation import validate_data

        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True, reset=True)
        self._summary = None  # partial_fit's chunks are forgotten
        result = warning_as_sklearns(lambda: fit_rows(X, y, weights=mean_one(sample_weight, len(y)),
                                                      names=self._feature_names(), **self._fit_options()))
        return self._set_fitted(result)

    def partial_fit(self, X, y, sample_weight=None) -> "GDRegressor":
        """Fold the rows ``X``, ``y`` into the statistics of every row seen, and refit from them.

        The model is then the model of ``fit`` on all the rows of every call since the last
        ``fit`` (their weights normalised to mean 1 over all of them), from the same start: each
        call runs full batch on the exact engine in O(p²) an epoch and keeps no rows.

        Parameters
        ----------
        X, y, sample_weight
            As :meth:`fit`; ``X`` has the columns of the first call.

        Returns
        -------
        GDRegressor
            ``self``, fitted.
        """
        from sklearn.utils.validation import validate_data

        summary, options = getattr(self, "_summary", None), self._fit_options()
        check_partial_fit(options)  # every option checked before the rows are read
        cfg = config_from("fit", options)
        if summary is not None and summary.intercept != cfg.intercept:
            raise BadOptionError("intercept", cfg.intercept, f"the earlier partial_fit calls fitted "
                                 f"intercept={summary.intercept}", "keep it, or call fit to start again")
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True, reset=summary is None)
        if summary is None:
            summary = Summary(cfg.intercept, tuple(self._feature_names()))
        summary = summary.add(X, y, None if sample_weight is None else as_weights(sample_weight, len(y)))
        result = warning_as_sklearns(lambda: fit_source(summary.source(), cfg))
        self._summary = summary
        return self._set_fitted(result)

    def predict(self, X) -> np.ndarray:
        """``intercept_ + X @ coef_``, ``(n_samples,)``."""
        from sklearn.utils.validation import check_is_fitted, validate_data

        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return X @ self.coef_ + self.intercept_

    # ----- between the estimator and gradfit --------------------------------------------

    def _fit_options(self) -> dict:
        """The keywords of :func:`gradfit.fit`: every parameter, as set."""
        return {spec.name: getattr(self, spec.name) for spec in estimator_options()}

    def _feature_names(self) -> list[str]:
        """The columns' names: a DataFrame's, else scikit-learn's ``x0``, ``x1`` …"""
        names = getattr(self, "feature_names_in_", None)
        return [f"x{j}" for j in range(self.n_features_in_)] if names is None else [str(n) for n in names]

    def _set_fitted(self, result) -> "GDRegressor":
        """``self`` with the fitted attributes of gradfit's ``result``."""
        self.result_ = result
        self.coef_ = np.asarray(result.params.coef, dtype=np.float64).copy()
        self.intercept_ = 0.0 if result.params.intercept is None else float(result.params.intercept)
        stopped = result.stopped_epoch
        self.n_iter_ = int((result.epochs if stopped is None else stopped) - result.start_epoch)
        self.closed_form_ = result.closed_form
        self.max_abs_diff_ = float(result.max_abs_diff)
        self.converged_ = bool(result.converged)
        self.stats_ = result.stats
        return self


GDRegressor.__doc__ = GDRegressor.__doc__.replace("    {parameters}", parameter_docs())


def check_partial_fit(options: dict) -> None:
    """Refuse the options (``name: value``) :meth:`GDRegressor.partial_fit` cannot honour."""
    for name, (accepted, reason) in PARTIAL_FIT_REFUSES.items():
        value = options.get(name)
        if not accepted(value):
            default = ESTIMATOR_DEFAULTS.get(name, BY_NAME[name].default)
            raise BadOptionError(name, value, f"partial_fit cannot honour it: {reason}",
                                 f"leave it at {option(name, default)}, or use fit on all the rows")


def as_weights(sample_weight, n: int) -> np.ndarray:
    """``sample_weight`` as float64 ``(n,)``, checked (a number stands for every row's weight)."""
    if isinstance(sample_weight, numbers.Real):
        sample_weight = np.full(n, float(sample_weight))
    return check_weights(sample_weight, n, "sample_weight")


def mean_one(sample_weight, n: int) -> np.ndarray | None:
    """``sample_weight`` scaled to mean 1 (``w·n/Σw``), a new array; ``None`` stays ``None``.

    Gradient descent minimises ``(1/n) Σ wᵢ rᵢ²``: with weights of mean 1 that is the MSE of the
    rows repeated ``wᵢ`` times, and ``c·ones`` is no weights at all.
    """
    if sample_weight is None:
        return None
    weights = as_weights(sample_weight, n)
    return weights * (n / weights.sum())
