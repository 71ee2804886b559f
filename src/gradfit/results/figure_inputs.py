"""What a fit's figures read from its result: the rows as vectors, labels, the least-squares
floor, the checks a figure applies, and the rows a result was fitted on.

Everything is on the original scale of the data: ``FitResult`` parameters and paths already are.
Here, below ``figures/``, because the result's own ``plot_*`` methods draw with them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import BadDataError

if TYPE_CHECKING:
    from .types import FitResult

# Training rows a result was fitted on, each (n,): x_train, y_train, x_val, y_val (None: no validation rows).
Rows = tuple[np.ndarray, np.ndarray, "np.ndarray | None", "np.ndarray | None"]


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


def fitted_rows(result: "FitResult", x=None, y=None, x_val=None, y_val=None) -> Rows:
    """The rows ``result`` was fitted on, as ``(n,)`` vectors: ``x_train, y_train, x_val, y_val``.

    ``x``, ``y`` given: ``result.n_train`` rows are the training rows (``x_val``, ``y_val`` as
    given); ``n_train + n_val`` rows are everything passed to :func:`gradfit.fit`, and the
    validation rows are split off again as ``val_split`` split them (the same seed). Neither
    given: the embedded dataset the result was fitted on (``result.dataset``), with its own split
    or the one ``val_split`` made, whichever gives the result's training loss.

    Raises
    ------
    BadDataError
        Only one of ``x``, ``y``; rows that are not one column; a number of rows the fit did not
        have; no rows and no embedded dataset to take them from.
    """
    if x is None and y is None:
        return _embedded_rows(result)
    if x is None or y is None:
        raise BadDataError("give both x and y (the rows the result was fitted on), or neither for an embedded dataset")
    x, y = _one_column(x, "x"), _one_column(y, "y")
    if len(x) != len(y):
        raise BadDataError(f"x has {len(x)} rows and y has {len(y)}; give the same rows of both")
    if (x_val is None) != (y_val is None):
        raise BadDataError("give both x_val and y_val (the validation rows), or neither")
    if x_val is not None:
        return x, y, _one_column(x_val, "x_val"), _one_column(y_val, "y_val")
    if len(y) == result.n_train:
        return x, y, None, None
    if result.n_val and len(y) == result.n_train + result.n_val:
        return _split_again(result, x, y)
    val = f" or all {result.n_train + result.n_val} (training and validation)" if result.n_val else ""
    raise BadDataError(f"{len(y)} rows given, but the result was fitted on {result.n_train} training rows; "
                       f"pass those{val}")


def _one_column(a, name: str) -> np.ndarray:
    array = np.asarray(a, dtype=np.float64)
    if array.ndim > 2 or (array.ndim == 2 and array.shape[1] != 1) or array.ndim == 0:
        raise BadDataError(f"{name} has shape {array.shape}; the figure draws one feature: give (n,) or (n, 1)")
    return array.reshape(-1)


def _split_again(result: "FitResult", x: np.ndarray, y: np.ndarray) -> Rows:
    """``val_split``'s rows of ``x``, ``y``: ``round(n · n_val/n) = n_val`` rows held out, as fit did."""
    from ..data.validate import split_rows

    train, held = split_rows(len(y), result.n_val / len(y), result.seed)
    return x[train], y[train], x[held], y[held]


def _embedded_rows(result: "FitResult") -> Rows:
    """The embedded dataset's rows the result was fitted on: the candidate split whose training
    MSE at ``result.params`` is the result's training loss."""
    from ..data.embedded import DATASETS, load_dataset

    if result.dataset not in DATASETS:
        raise BadDataError("this result was not fitted on an embedded dataset, so the figure needs its rows: "
                           "pass the x and y it was fitted on")
    data = load_dataset(result.dataset)
    candidates = []
    if (len(data.y_train), len(data.y_val)) == (result.n_train, result.n_val):
        candidates.append((column(data.x_train), data.y_train, column(data.x_val), data.y_val))
    if result.n_val and len(data.y) == result.n_train + result.n_val:
        candidates.append(_split_again(result, column(data.x), data.y))
    for rows in candidates:
        mse = float(np.mean((rows[1] - (result.params.intercept or 0.0) - result.params.coef[0] * rows[0]) ** 2))
        if abs(mse - result.train_loss) <= 1e-6 * max(result.train_loss, 1e-300):
            return rows
    raise BadDataError(f"cannot tell which of the {result.dataset!r} dataset's rows the result was fitted on; "
                       "pass its training rows x and y")
