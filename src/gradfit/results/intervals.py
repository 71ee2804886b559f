"""Intervals for predictions, as statsmodels' ``get_prediction(X).summary_frame(alpha)``.

For a new row ``a`` (the column of ones first when there is an intercept) and the covariance
``V`` of the coefficients the fit reported (classical or robust):

- the mean's standard error ``se = √(aᵀ V a)``: the **confidence** interval ``ŷ ± q·se`` covers
  the expected value of ``y`` at ``a``;
- the **prediction** interval ``ŷ ± q·√(se² + σ̂²)`` covers a new observation, ``σ̂²`` the
  residual variance;

``q`` the ``1 − alpha/2`` quantile of Student's t with the residual degrees of freedom (classical
covariance) or of the normal distribution (robust), as the fit's own intervals use.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import BadDataError, BadOptionError, option
from ..least_squares.statistics import interval_quantile
from ..option_checks import check_alpha
from .json_form import is_json_number

INTERVALS = ("confidence", "prediction")


def inference_of(stats) -> dict:
    """What a model file carries for intervals: the covariance, σ̂², the degrees of freedom."""
    return {"cov_type": stats.covariance.kind, "distribution": stats.covariance.distribution,
            "cov_params": [[float(v) for v in row] for row in np.asarray(stats.cov_params)],
            "scale": float(stats.scale), "df_resid": int(stats.df_resid)}


def interval_frame(design: np.ndarray, prediction: np.ndarray, inference: dict | None, interval: str, alpha):
    """``prediction``, ``std_err``, ``lower``, ``upper`` for the rows of ``design`` ``(n, p)``."""
    import pandas as pd

    given, interval = interval, interval.strip().lower() if isinstance(interval, str) else interval
    if interval not in INTERVALS:
        raise BadOptionError("interval", given, "unknown interval", "choose confidence or prediction")
    alpha = check_alpha(alpha)
    if inference is None:
        raise BadDataError("this model carries no covariance of its coefficients (it was saved by an older "
                           f"gradfit); refit and save it again for intervals ({option('interval', 'confidence')})")
    cov = np.asarray(inference["cov_params"], dtype=np.float64)  # (p, p)
    variance = np.einsum("ij,ij->i", design @ cov, design)  # (n,): aᵀ V a per row
    if interval == "prediction":
        variance = variance + inference["scale"]
    std_err = np.sqrt(np.maximum(variance, 0.0))
    quantile = interval_quantile(alpha, inference["df_resid"], inference["distribution"] == "t")
    return pd.DataFrame({"prediction": prediction, "std_err": std_err, "lower": prediction - quantile * std_err,
                         "upper": prediction + quantile * std_err})


def check_inference(data, p: int, damaged) -> dict | None:
    """A model file's ``inference`` object, each field checked (``damaged(problem)`` → the error)."""
    if data is None:
        return None
    if not isinstance(data, dict):
        raise damaged("'inference' must be an object or null")
    cov = data.get("cov_params")
    if not isinstance(cov, list) or len(cov) != p or not all(
            isinstance(row, list) and len(row) == p and all(_finite(v) for v in row) for row in cov):
        raise damaged(f"'inference.cov_params' must be a {p} x {p} list of finite numbers")
    if not _finite(data.get("scale")) or data["scale"] < 0:
        raise damaged("'inference.scale' must be a number, zero or more")
    df = data.get("df_resid")
    if not isinstance(df, int) or isinstance(df, bool) or df < 0:
        raise damaged("'inference.df_resid' must be a whole number, zero or more")
    if data.get("distribution") not in ("t", "normal"):
        raise damaged("'inference.distribution' must be \"t\" or \"normal\"")
    return data


def _finite(value) -> bool:
    return is_json_number(value) and math.isfinite(float(value))
