"""All input checking for arrays: shapes, values, the split. One place, one style of message."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import limits
from ..errors import BadDataError, option


@dataclass(frozen=True)
class Problem:
    """Validated training (and validation) data for a linear least-squares model.

    Attributes
    ----------
    x_train : numpy.ndarray
        Shape ``(n, d)``, float64 features (no intercept column).
    y_train : numpy.ndarray
        Shape ``(n,)``, float64 targets. Always 1-D, so predictions ``(n,)`` and targets share
        one shape and the ``(n,)`` vs ``(n, 1)`` broadcasting trap cannot reach a loss.
    x_val, y_val : numpy.ndarray or None
        The same for validation rows.
    intercept : bool
        Whether the model has an intercept ``b``.
    names : list of str
        One name per feature.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray | None
    y_val: np.ndarray | None
    intercept: bool
    names: list[str]
    x_train_lo: np.ndarray | None = None  # (n, d) rounding errors of computed columns (x**k), or None

    @property
    def n_features(self) -> int:
        return self.x_train.shape[1]

    @property
    def n_params(self) -> int:
        return self.n_features + int(self.intercept)

    def design(self, x: np.ndarray) -> np.ndarray:
        """The design matrix: a column of ones first when there is an intercept. ``(n, p)``."""
        if not self.intercept:
            return x
        return np.column_stack([np.ones(len(x)), x])

    def design_lo(self) -> np.ndarray | None:
        """Rounding errors of the training design's entries (``None``: the entries are exact data).

        The exact design is ``design(x_train) + design_lo()``; the accurate solver uses it.
        """
        if self.x_train_lo is None:
            return None
        return np.column_stack([np.zeros(len(self.x_train_lo)), self.x_train_lo]) if self.intercept \
            else self.x_train_lo


def as_problem(
    x,
    y,
    *,
    val=None,
    val_split: float | None = None,
    seed: int = 42,
    intercept: bool = True,
    names: list[str] | None = None,
) -> Problem:
    """Validate arrays and build a :class:`Problem`.

    Parameters
    ----------
    x : array_like
        ``(n,)`` for one feature or ``(n, d)``.
    y : array_like
        ``(n,)`` or ``(n, 1)``; both give the same result.
    val : tuple (x_val, y_val), optional
        Explicit validation rows (same rules as ``x`` and ``y``).
    val_split : float, optional
        Hold out this fraction of the rows for validation, chosen by a shuffle seeded with
        ``seed``. Not allowed together with ``val``.

    Examples
    --------
    >>> p = as_problem([0.0, 1.0, 2.0], [[1.0], [3.0], [5.0]])
    >>> p.x_train.shape, p.y_train.shape
    ((3, 1), (3,))
    """
    names_from_x = _column_names(x)
    x, x_shape = _features(x, "x")
    y = _targets(y, "y", x, x_shape)
    names = list(names or names_from_x or _default_names(x.shape[1]))
    if len(names) != x.shape[1]:
        raise BadDataError(f"{len(names)} feature names given for {x.shape[1]} features; give one name per column of x")
    if val is not None and val_split:
        raise BadDataError("give either val=(x_val, y_val) or val_split, not both")
    if val is not None:
        x_val, y_val = _validation_rows(val, x)
    elif val_split:
        x, y, x_val, y_val = split(x, y, val_split, seed)
    else:
        x_val = y_val = None
    n_params = x.shape[1] + int(intercept)
    if len(x) < n_params:
        raise BadDataError(
            f"{len(x)} training rows for {n_params} parameters: least squares needs at least as many rows "
            f"as parameters; add rows, drop features, or lower {option('val_split')}"
        )
    return Problem(x, y, x_val, y_val, intercept, names)


def _validation_rows(val, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``val=(x_val, y_val)`` checked as ``x`` and ``y`` are: ``(n_val, d)`` and ``(n_val,)``."""
    try:
        x_val, y_val = val
    except (TypeError, ValueError):
        raise BadDataError("val must be a pair (x_val, y_val)") from None
    x_val, x_val_shape = _features(x_val, "x_val")
    y_val = _targets(y_val, "y_val", x_val, x_val_shape)
    if x_val.shape[1] != x.shape[1]:
        raise BadDataError(
            f"x_val has {x_val.shape[1]} features (shape {x_val.shape}) but x has {x.shape[1]} "
            f"(shape {x.shape}); validation rows need the same columns as training rows"
        )
    return x_val, y_val


def split(x: np.ndarray, y: np.ndarray, val_split: float, seed: int):
    """Shuffle rows with ``default_rng(seed)``; the first ``n - round(n * val_split)`` train."""
    n = len(x)
    n_val = int(round(n * val_split))
    if n_val == 0 or n_val == n:
        raise BadDataError(
            f"val_split={val_split:g} of {n} rows leaves {n - n_val} training and {n_val} validation rows; "
            "choose a fraction that leaves rows on both sides"
        )
    order = np.random.default_rng(seed).permutation(n)
    train, val = order[: n - n_val], order[n - n_val:]
    return x[train], y[train], x[val], y[val]


def _features(x, label: str) -> tuple[np.ndarray, tuple[int, ...]]:
    """``(n, d)`` float64 features, and the shape as given (for messages)."""
    array = _numeric(x, label)
    given = array.shape
    if array.ndim == 1:
        array = array[:, None]  # one feature: (n,) -> (n, 1)
    elif array.ndim != 2:
        raise BadDataError(
            f"{label} has shape {array.shape}: expected (n_samples,) for one feature or (n_samples, n_features)"
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise BadDataError(f"{label} has shape {array.shape}: it holds no data")
    _check_finite(array, label)
    return array, given


def _targets(y, label: str, x: np.ndarray, x_shape: tuple[int, ...]) -> np.ndarray:
    array = _numeric(y, label)
    given = array.shape
    x_label = "x" if label == "y" else "x_val"
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]  # (n, 1) -> (n,): one shape for targets everywhere inside
    elif array.ndim != 1:
        raise BadDataError(
            f"{label} has shape {array.shape}: expected (n_samples,) or (n_samples, 1); "
            f"for a single target pass {label}.reshape(-1)"
        )
    if len(array) != len(x):
        raise BadDataError(mismatch_message(x_shape, given, x_label, label))
    _check_finite(array[:, None], label)
    return array


def mismatch_message(x_shape: tuple[int, ...], y_shape: tuple[int, ...], x_label: str, y_label: str) -> str:
    """The message for features and targets of different row counts (shapes as the caller gave them).

    >>> mismatch_message((1, 80), (80, 1), "x", "y")  # doctest: +ELLIPSIS
    'x has shape (1, 80) (1 row) but y has shape (80, 1) (80 rows): ...: pass x.reshape(-1, 1)'
    """
    n, n_y = x_shape[0], y_shape[0]
    message = (
        f"{x_label} has shape {x_shape} ({_rows(n)}) but {y_label} has shape {y_shape} ({_rows(n_y)}): "
        "they need one row per sample"
    )
    d = x_shape[1] if len(x_shape) == 2 else 1
    if n == 1 and d == n_y:
        # The tutorial's trap: a row vector of samples. PyTorch says "mat1 and mat2 shapes cannot
        # be multiplied (1x80 and 1x1)"; the fix is a transpose.
        return message + f"; {x_label} looks like {d} samples laid out as one row: pass {x_label}.reshape(-1, 1)"
    return message + "; check that both come from the same rows (drop or align the extra rows)"


def _rows(n: int) -> str:
    return f"{n} row" + ("" if n == 1 else "s")


def _numeric(values, label: str) -> np.ndarray:
    if hasattr(values, "detach"):  # a torch tensor, possibly on a GPU or requiring grad
        values = values.detach().cpu().numpy()
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise BadDataError(f"{label} must be numeric: {exc}") from None
    return array


def _check_finite(array: np.ndarray, label: str) -> None:
    if array.size < limits.FINITE_SUM_CHECK_CELLS:
        if np.isfinite(array).all():
            return
    else:
        with np.errstate(over="ignore", invalid="ignore"):  # (0.1 ms: only worth it on large data)
            if np.isfinite(array.sum()):  # one read, no temporary: a NaN or inf makes it non-finite
                return
    bad = ~np.isfinite(array)  # (rare) find where; or a finite sum that overflowed
    if bad.any():  # (a sum that only overflowed finds nothing here)
        row, col = (int(i) for i in np.argwhere(bad)[0])
        what = "missing (NaN)" if np.isnan(array[row, col]) else "infinite"
        raise BadDataError(
            f"{label} has {int(bad.sum())} non-finite value(s), the first at row {row}, column {col} ({what}); "
            "remove or fill those rows before fitting"
        )


def _column_names(x) -> list[str] | None:
    columns = getattr(x, "columns", None)
    if columns is not None:
        return [str(c) for c in columns]
    name = getattr(x, "name", None)  # a pandas Series
    if isinstance(name, str) and getattr(x, "ndim", 0) == 1:
        return [name]
    return None


def series_name(values) -> str | None:
    """The name of a pandas Series (the target's name), else ``None``."""
    name = getattr(values, "name", None)
    return name if isinstance(name, str) else None


def _default_names(d: int) -> list[str]:
    return ["x"] if d == 1 else [f"x{i + 1}" for i in range(d)]
