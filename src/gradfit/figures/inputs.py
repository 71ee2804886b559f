"""What the figures take from a fit, and short re-runs of gradient descent from where the fit started.

The helpers that read a result (its rows as vectors, labels, the least-squares floor, the checks
a figure applies) are :mod:`gradfit.results.figure_inputs`, re-exported here: the result's own
``plot_*`` methods draw with them, and ``results/`` may not import this layer.

Everything is on the original scale of the data: ``FitResult`` parameters and paths already are.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any, Mapping

from ..results.figure_inputs import (batch_mode, column, feature_label, fitted_rows, least_squares_mse,
                                     require_one_feature, require_surface)

if TYPE_CHECKING:
    from ..results.types import FitResult

__all__ = ["batch_mode", "column", "feature_label", "fitted_rows", "least_squares_mse", "refit", "refit_options",
           "require_one_feature", "require_surface"]


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
