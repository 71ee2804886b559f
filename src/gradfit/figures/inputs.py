"""What the figures take from a fit: its rows as vectors, labels, the least-squares floor, the
checks that a figure applies, and short re-runs of gradient descent from where the fit started.

Everything is on the original scale of the data: ``FitResult`` parameters and paths already are.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from ..errors import BadDataError

if TYPE_CHECKING:
    from ..results.types import FitResult


def batch_mode(batch_size: int | None) -> str:
    """``full batch``, ``mini-batch 16`` or ``stochastic (batch 1)``."""
    if batch_size is None:
        return "full batch"
    return "stochastic (batch 1)" if batch_size == 1 else f"mini-batch {batch_size}"


def column(a) -> np.ndarray:
    """One feature or target as a float64 vector ``(n,)``."""
    return np.asarray(a, dtype=np.float64).reshape(len(a), -1)[:, 0]


def feature_label(result: "FitResult") -> str:
    """The name of the model's (first) feature, ``x`` when it has none."""
    return result.names[0] if result.names else "x"


def least_squares_mse(result: "FitResult") -> float | None:
    """Training MSE at the exact least-squares solution (the floor every loss curve approaches)."""
    stats = result.stats
    if stats is None:
        return None
    return float(stats.closed.rss) / stats.n_obs  # in memory or from streamed statistics alike


def require_one_feature(result: "FitResult", figure: str) -> None:
    """Refuse to draw ``figure`` for a model of more than one feature."""
    if len(result.names) != 1:
        raise BadDataError(f"the {figure} figure needs one feature; this model has {len(result.names)} "
                           f"({', '.join(result.names)})")


def require_surface(result: "FitResult", figure: str) -> None:
    """Refuse to draw ``figure`` over ``(b, w)`` unless the model is ``y ≈ b + w·x``."""
    require_one_feature(result, figure)
    if result.params.intercept is None:
        raise BadDataError(f"the {figure} figure draws the loss over (b, w) and needs a model with an intercept")


def refit_options(result: "FitResult", fit_options: Mapping[str, Any] | None) -> dict[str, Any]:
    """The data options that reproduce ``result``'s problem, then the caller's ``fit_options``.

    Starting from ``result.initial`` makes every re-run start where the figured run started.
    """
    options: dict[str, Any] = {
        "intercept": result.params.intercept is not None, "standardize": result.scaling is not None,
        "poly": result.poly_degree, "names": list(result.inputs or result.names), "seed": result.seed,
        "tol": result.tol, "init": result.initial.theta,
    }
    # What each figure sets itself, and what would change the rows: ignored if given.
    figure_owned = {"x", "y", "val", "val_split", "dataset", "engine", "model", "optimizer", "lr", "epochs",
                    "batch_size", "device", "dtype", "record_path"}
    options.update({key: value for key, value in (fit_options or {}).items() if key not in figure_owned})
    return options


def refit(x, y, val, options: dict[str, Any], **overrides) -> "FitResult":
    """:func:`gradfit.fit` on ``x``, ``y`` (``(n,)`` each) with ``options``, then ``overrides``; silent."""
    from ..api import fit

    with warnings.catch_warnings():
        # Short illustrative runs are not expected to converge, and warnings about them would
        # only be noise on the user's terminal.
        warnings.simplefilter("ignore")
        return fit(x, y, val=val, **{**options, **overrides})
