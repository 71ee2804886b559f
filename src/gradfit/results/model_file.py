"""Fitted models that outlive the run: plain JSON, which can carry numbers but never code."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass

import numpy as np

from ..atomic import atomic_write_text, mark_input
from ..data.design import polynomial_features
from ..data.file_checks import check_regular
from ..errors import BadDataError, option
from .display import numbers_text
from .intervals import check_inference
from .json_form import is_json_number, json_text
from .prediction_inputs import model_inputs

FORMAT = "gradfit-model"
VERSION = 1


@dataclass(frozen=True)
class SavedModel:
    """A linear model on named input columns.

    Attributes
    ----------
    features : list of str
        Input columns a data file must have (one when ``poly_degree`` is set).
    target : str or None
        Name of the column the model predicts.
    poly_degree : int or None
        Polynomial terms ``x, x², …`` of the single feature.
    intercept : float or None
    coef : numpy.ndarray
        ``(p,)`` weights of the design columns, on the original scale.
    scaling : dict or None
        The standardization used while training (for the record; ``coef`` is already unscaled).
    fit_info : dict
        How it was fitted (engine, converged, gap to the closed form, losses).
    formula : dict or None
        A formula fit's design (:func:`gradfit.data.formula.spec_to_json`): ``predict`` builds the
        columns from a DataFrame's columns ``features`` the same way (levels included).
    inference : dict or None
        What intervals need (:mod:`gradfit.results.intervals`): ``cov_params`` (the coefficients'
        covariance, intercept first), ``scale`` (σ̂²), ``df_resid``, ``distribution``, ``cov_type``.
    """

    features: list[str]
    target: str | None
    poly_degree: int | None
    intercept: float | None
    coef: np.ndarray
    scaling: dict | None = None
    fit_info: dict | None = None
    inference: dict | None = None
    formula: dict | None = None

    def design(self, x: np.ndarray) -> np.ndarray:
        """``(n, len(features))`` inputs → ``(n, p)`` design columns (without the ones)."""
        if self.poly_degree:
            return polynomial_features(x, self.poly_degree, self.features[0])[0]
        return x

    def predict(self, x, interval: str | None = None, alpha: float = 0.05, *, where: str = "the prediction rows"):
        """Predictions ``(n,)`` on the original scale of the target; with ``interval``, a DataFrame.

        Parameters
        ----------
        x : DataFrame, array_like or tensor
            A pandas DataFrame is read **by column name**: the columns ``features`` in any order,
            other columns ignored, a missing one a :class:`gradfit.BadDataError` naming it. An
            array is read by position: ``(n, len(features))`` in the order of ``features``, or
            ``(n,)`` for a one-feature model; another shape is a ``BadDataError`` naming both.
            Polynomial terms are built from the one input column here.
        interval : {'confidence', 'prediction'}, optional
            Return a pandas DataFrame with ``prediction``, ``std_err``, ``lower`` and ``upper``:
            the interval for the mean (``confidence``) or for a new observation (``prediction``)
            at level ``1 - alpha``, as statsmodels' ``get_prediction(X).summary_frame(alpha)``
            (:mod:`gradfit.results.intervals`).
        alpha : float
            ``0.05`` for 95% intervals.
        where : str
            How messages name ``x`` (a file's path, say).

        Examples
        --------
        >>> import pandas as pd
        >>> model = SavedModel(["size", "rooms"], "price", None, 10.0, np.array([2.0, 5.0]))
        >>> model.predict(pd.DataFrame({"rooms": [1.0], "size": [100.0]})).tolist()  # by name
        [215.0]
        >>> model.predict([[100.0, 1.0]]).tolist()  # by position: size, rooms
        [215.0]
        """
        if self.formula is not None:
            from ..data.formula import formula_columns

            columns = formula_columns(x, self.formula, where=where)  # (n, p - intercept)
        else:
            columns = self.design(model_inputs(x, self.features))  # (n, p - intercept)
        out = columns @ self.coef  # (n,)
        if self.intercept is not None:
            out = out + self.intercept
        if interval is None:
            return out
        from .intervals import interval_frame

        design = columns if self.intercept is None else np.column_stack([np.ones(len(columns)), columns])
        return interval_frame(design, out, self.inference, interval, alpha)

    def __repr__(self) -> str:
        degree = "" if not self.poly_degree else f", poly_degree={self.poly_degree}"
        intercept = "None" if self.intercept is None else f"{self.intercept:.6g}"
        return (f"SavedModel(target={self.target!r}, features={numbers_text(self.features, repr)}{degree}, "
                f"intercept={intercept}, coef={numbers_text(self.coef)})")

    def to_dict(self) -> dict:
        return {
            "format": FORMAT, "version": VERSION, "features": self.features, "target": self.target,
            "poly_degree": self.poly_degree, "intercept": self.intercept,
            "coef": [float(c) for c in self.coef], "scaling": self.scaling, "fit": self.fit_info or {},
            "inference": self.inference, "formula": self.formula,
        }


def save_model(model: SavedModel, path: str | os.PathLike) -> None:
    """Write ``model`` as JSON, atomically (temporary file, then rename).

    Coefficients that are not finite are refused (a :class:`gradfit.BadDataError`): written as
    ``null`` they would read back as another model. In the record (``fit_info``, ``scaling``) a
    non-finite number is written ``null``.
    """
    if model.formula is not None:  # a file that could not be read back is refused now, not at predict
        from ..data.formula import check_saved_formula

        check_saved_formula(model.formula, "cannot save the model", "write that term with the columns, numbers "
                            "and those functions")
    values = ([] if model.intercept is None else [float(model.intercept)]) + [float(c) for c in model.coef]
    if not all(math.isfinite(v) for v in values):
        raise BadDataError(f"cannot save a model whose coefficients are not all finite ({numbers_text(values)}); "
                           "refit it (see the fit's convergence message)")
    atomic_write_text(path, json_text(model.to_dict(), indent=2) + "\n", what="model")


# How to write a model file, as the command line and Python say it.
_SAVED_BY = option("save_model", python="save_model(res.saved_model(), path)")
_WRITE_ONE = option("save_model", python="save_model(res.saved_model(), path)", cli="gradfit fit … --save-model PATH")


def load_model(path: str | os.PathLike) -> SavedModel:
    """Read a model written by :func:`save_model`. Anything else is refused, never executed.

    A pickle or ``torch.save`` file (which can run code when loaded) is recognised by its first
    bytes and refused with a clear message; it is only ever read as bytes.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise BadDataError(f"model {path!r} is a directory; give the file written by {_SAVED_BY}")
    if os.path.exists(path):  # (a missing file is said below, with how to write one)
        check_regular(path, "a model file", f"give the file written by {_SAVED_BY}")
    mark_input(path)  # so predict --out cannot write over the model it reads
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        raise BadDataError(f"model file {path!r} not found; write one with {_WRITE_ONE}") from None
    except OSError as error:
        raise BadDataError(f"cannot read model file {path!r}: {error.strerror}") from None
    if raw[:1] == b"\x80" or raw[:2] == b"PK":
        raise BadDataError(
            f"model file {path!r} is a pickle or torch.save archive, which can carry code; gradfit only loads "
            f"its own JSON model files (refit and save with {_SAVED_BY})"
        )
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise BadDataError(f"model file {path!r} is not a gradfit model (not JSON); write one with {_SAVED_BY}") from None
    except RecursionError:  # [[[[…]]]]: deeper than Python's parser goes; gradfit's files are 3 levels deep
        raise BadDataError(f"model file {path!r} is not a gradfit model (JSON nested too deeply to read); "
                           f"write one with {_SAVED_BY}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BadDataError(f"model file {path!r} is JSON but not a gradfit model (no \"format\": \"{FORMAT}\")")
    if data.get("version") != VERSION:
        raise BadDataError(f"model file {path!r} has version {_kind(data.get('version'))}; this gradfit reads version "
                           f"{VERSION}: refit with this version")
    return model_from_dict(data, path)


def model_from_dict(data: dict, path: str = "<model>") -> SavedModel:
    """The :class:`SavedModel` a model file's JSON object describes, every field checked.

    Raises :class:`gradfit.BadDataError` naming the model file (``path``) and the field that is
    wrong: a file edited by hand or by another program fails here, never later while reading data.
    """
    def damaged(problem: str) -> BadDataError:
        return BadDataError(f"model file {path!r} is damaged: {problem}; refit and save it again")

    for key in ("features", "coef", "intercept"):
        if key not in data:
            raise damaged(f"it has no {key!r}")
    features = data["features"]
    if not isinstance(features, list) or not features or not all(isinstance(f, str) and f for f in features):
        raise damaged(f"'features' must be a non-empty list of column names, got {_kind(features)}")
    if len(set(features)) < len(features):
        raise damaged(f"'features' names a column twice ({features!r})")
    coef = data["coef"]
    if not isinstance(coef, list) or not coef or not all(is_json_number(c) for c in coef):
        raise damaged(f"'coef' must be a non-empty list of numbers, got {_kind(coef)}")
    intercept = data["intercept"]
    if intercept is not None and not is_json_number(intercept):
        raise damaged(f"'intercept' must be a number or null, got {_kind(intercept)}")
    degree = data.get("poly_degree")
    if degree is not None and (not isinstance(degree, int) or isinstance(degree, bool) or degree < 1):
        raise damaged(f"'poly_degree' must be a positive integer or null, got {_kind(degree)}")
    if degree is not None and len(features) != 1:
        raise damaged(f"a polynomial model has one feature, but 'features' names {len(features)}")
    for key, kind in (("target", str), ("scaling", dict), ("fit", dict)):
        if data.get(key) is not None and not isinstance(data[key], kind):
            raise damaged(f"{key!r} must be {'a string' if kind is str else 'an object'} or null, "
                          f"got {_kind(data[key])}")
    values = [float(c) for c in coef] + ([] if intercept is None else [float(intercept)])
    formula = data.get("formula")
    if formula is not None and not (isinstance(formula, dict) and isinstance(formula.get("formula"), str)
                                    and isinstance(formula.get("columns"), list)):
        raise damaged("'formula' must be an object with the formula and its columns, or null")
    if formula is not None:
        from ..data.formula import check_saved_formula

        check_saved_formula(formula, f"model file {path!r}")
    columns = len(formula["columns"]) if formula is not None else degree or len(features)
    if len(coef) != columns:
        raise damaged(f"it has {len(coef)} coefficient(s) for {columns} design column(s)")
    if not all(math.isfinite(v) for v in values):
        raise damaged("a coefficient is not finite")
    inference = check_inference(data.get("inference"), len(coef) + (intercept is not None), damaged)
    return SavedModel(list(features), data.get("target"), degree, None if intercept is None else float(intercept),
                      np.array([float(c) for c in coef]), data.get("scaling"), data.get("fit"), inference, formula)


def _kind(value) -> str:
    """What a JSON value is, for a message: ``the string 'size'``, ``a list of 3 items``."""
    if isinstance(value, str):
        return f"the string {value[:40]!r}"
    if isinstance(value, list):
        shown = ", ".join("[…]" if isinstance(v, list) else "{…}" if isinstance(v, dict) else repr(v)[:20]
                          for v in value[:3])
        return f"a list of {len(value)} item(s) [{shown}{', …' if len(value) > 3 else ''}]"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {json.dumps(value)}"
    if isinstance(value, dict):
        return "an object"
    return repr(value)[:40]
