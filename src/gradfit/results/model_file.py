"""Fitted models that outlive the run: plain JSON, which can carry numbers but never code."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass

import numpy as np

from ..atomic import atomic_write_text
from ..data.design import polynomial_features
from ..errors import BadDataError, option

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
    """

    features: list[str]
    target: str | None
    poly_degree: int | None
    intercept: float | None
    coef: np.ndarray
    scaling: dict | None = None
    fit_info: dict | None = None

    def design(self, x: np.ndarray) -> np.ndarray:
        """``(n, len(features))`` inputs → ``(n, p)`` design columns (without the ones)."""
        if self.poly_degree:
            return polynomial_features(x, self.poly_degree, self.features[0])[0]
        return x

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predictions ``(n,)`` for inputs ``(n, len(features))``."""
        out = self.design(x) @ self.coef
        return out + self.intercept if self.intercept is not None else out

    def to_dict(self) -> dict:
        return {
            "format": FORMAT, "version": VERSION, "features": self.features, "target": self.target,
            "poly_degree": self.poly_degree, "intercept": self.intercept,
            "coef": [float(c) for c in self.coef], "scaling": self.scaling, "fit": self.fit_info or {},
        }


def save_model(model: SavedModel, path: str | os.PathLike) -> None:
    """Write ``model`` as JSON, atomically (temporary file, then rename)."""
    atomic_write_text(path, json.dumps(model.to_dict(), indent=2, allow_nan=False) + "\n")


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
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BadDataError(f"model file {path!r} is JSON but not a gradfit model (no \"format\": \"{FORMAT}\")")
    if data.get("version") != VERSION:
        raise BadDataError(f"model file {path!r} has version {data.get('version')!r}; this gradfit reads version "
                           f"{VERSION}: refit with this version")
    try:
        features = [str(f) for f in data["features"]]
        coef = np.asarray(data["coef"], dtype=np.float64).reshape(-1)
        intercept = None if data["intercept"] is None else float(data["intercept"])
        degree = None if data.get("poly_degree") is None else int(data["poly_degree"])
    except (KeyError, TypeError, ValueError) as error:
        raise BadDataError(f"model file {path!r} is damaged ({error}); refit and save it again") from None
    expected = degree if degree else len(features)
    values = list(coef) + ([] if intercept is None else [intercept])
    if coef.size != expected or not features or not all(math.isfinite(v) for v in values):
        raise BadDataError(f"model file {path!r} is damaged (coefficients do not match its features); refit it")
    return SavedModel(features, data.get("target"), degree, intercept, coef, data.get("scaling"), data.get("fit"))
