"""All input checking for arrays: shapes, values, the split. One place, one style of message."""

from __future__ import annotations

import math

import numpy as np

from .. import limits
from ..errors import BadDataError, option
from .per_row import check_weights
from .problem import Problem  # noqa: F401  (re-exported: the type every stage passes)


def as_problem(x, y, *, val=None, val_split: float | None = None, seed: int = 42, intercept: bool = True,
               names: list[str] | None = None, defer_checks: bool = False, cluster=None, weights=None,
               fewer_rows_ok: bool = False) -> Problem:
    """Validate arrays and build a :class:`Problem` (``fewer_rows_ok``: a penalized fit, which has
    one answer even with fewer rows than parameters).

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
    defer_checks : bool
        Leave the value checks of large arrays (no validation rows) to the caller's first pass
        over them, which derives them from its sums (:func:`check_values` if in doubt).
    cluster, weights : array_like, optional
        ``(n,)`` per row of ``x``: cluster labels (numbers or text), weights (finite, zero or
        more, not all zero; :mod:`gradfit.data.weights` whitens them later); they follow the rows.

    Examples
    --------
    >>> p = as_problem([0.0, 1.0, 2.0], [[1.0], [3.0], [5.0]])
    >>> p.x_train.shape, p.y_train.shape
    ((3, 1), (3,))
    """
    names_from_x, y_given = _column_names(x), y
    defer = defer_checks and val is None and not val_split and math.prod(np.shape(x)) >= limits.FINITE_SUM_CHECK_CELLS
    x, x_shape = _features(x, "x", check=not defer)
    y = _targets(y, "y", x, x_shape, check=not defer)
    names = list(names or names_from_x or _default_names(x.shape[1]))
    if len(names) != x.shape[1]:
        raise BadDataError(f"{len(names)} feature names given for {x.shape[1]} features; give one name per column of x")
    y_subject = _target_subject("y", y_given)
    if not defer:
        check_magnitudes(x, [f"x column {name!r}" for name in names])
        check_magnitudes(y[:, None], [y_subject])
    x, y, x_val, y_val, cluster, weights, val_weights = _held_out(x, y, val, val_split, seed,
                                                                  _labels(cluster, len(x)), weights)
    n_params = x.shape[1] + int(intercept)
    if len(x) < n_params and not fewer_rows_ok:
        raise BadDataError(
            f"{len(x)} training rows for {n_params} parameters: least squares needs at least as many rows "
            f"as parameters; add rows, drop features, or lower {option('val_split')}"
        )
    return Problem(x, y, x_val, y_val, intercept, names, values_checked=not defer, y_subject=y_subject,
                   cluster=cluster, weights=weights, val_weights=val_weights)


def _held_out(x, y, val, val_split, seed, cluster, weights):
    """The training rows, their labels and weights, and the validation rows (and weights)."""
    weights = None if weights is None else check_weights(weights, len(x))
    if weights is not None and val is not None:
        raise BadDataError("weights with val=(x_val, y_val): the validation rows would have none; "
                           "use val_split, or leave the validation rows out")
    if val is not None and val_split:
        raise BadDataError("give either val=(x_val, y_val) or val_split, not both")
    if val is not None:
        return (x, y, *_validation_rows(val, x), cluster, weights, None)
    if not val_split:
        return x, y, None, None, cluster, weights, None
    train, held = split_rows(len(x), val_split, seed)
    return (x[train], y[train], x[held], y[held], None if cluster is None else cluster[train],
            None if weights is None else weights[train], None if weights is None else weights[held])


def _labels(cluster, n: int) -> np.ndarray | None:
    """``cluster`` as a 1-D array of ``n`` labels (any values), or None."""
    if cluster is None:
        return None
    labels = np.asarray(cluster.to_numpy() if hasattr(cluster, "to_numpy") else cluster)
    if labels.ndim != 1 or len(labels) != n:
        raise BadDataError(f"cluster has shape {labels.shape} but x has {n} rows; give one cluster label per row")
    return labels


def check_values(problem: Problem) -> None:
    """The value checks ``as_problem(..., defer_checks=True)`` left: the training rows finite and
    every column within the magnitudes float64 squares carry (the same messages)."""
    _check_finite(problem.x_train, "x")
    _check_finite(problem.y_train[:, None], "y")
    check_magnitudes(problem.x_train, [f"x column {name!r}" for name in problem.names])
    check_magnitudes(problem.y_train[:, None], [problem.y_subject])


def _validation_rows(val, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``val=(x_val, y_val)`` checked as ``x`` and ``y`` are: ``(n_val, d)`` and ``(n_val,)``."""
    try:
        x_val, y_val = val
    except (TypeError, ValueError):
        raise BadDataError("val must be a pair (x_val, y_val)") from None
    x_val, x_val_shape = _features(x_val, "x_val")
    y_val = _targets(y_val, "y_val", x_val, x_val_shape)
    check_magnitudes(x_val, [f"x_val column {j}" for j in range(x_val.shape[1])])
    check_magnitudes(y_val[:, None], ["y_val"])
    if x_val.shape[1] != x.shape[1]:
        raise BadDataError(
            f"x_val has {x_val.shape[1]} features (shape {x_val.shape}) but x has {x.shape[1]} "
            f"(shape {x.shape}); validation rows need the same columns as training rows"
        )
    return x_val, y_val


def split_rows(n: int, val_split: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The training and validation rows of ``n``: shuffled with ``default_rng(seed)``, the first
    ``n - round(n * val_split)`` train."""
    n_val = int(round(n * val_split))
    if n_val == 0 or n_val == n:
        raise BadDataError(
            f"val_split={val_split:g} of {n} rows leaves {n - n_val} training and {n_val} validation rows; "
            "choose a fraction that leaves rows on both sides"
        )
    order = np.random.default_rng(seed).permutation(n)
    return order[: n - n_val], order[n - n_val:]


def _features(x, label: str, check: bool = True) -> tuple[np.ndarray, tuple[int, ...]]:
    """``(n, d)`` float64 features (finite, unless ``check`` is off), and the shape as given."""
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
    if check:
        _check_finite(array, label)
    return array, given


def _targets(y, label: str, x: np.ndarray, x_shape: tuple[int, ...], check: bool = True) -> np.ndarray:
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
    if check:
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
    return numeric_array(values, label, dtype=np.float64)


def numeric_array(values, label: str, dtype=None) -> np.ndarray:
    """``values`` as a real array (``dtype``, or as they are when already real numbers), or a
    :class:`~gradfit.errors.BadDataError` naming ``label``, the column and the offending value.

    Complex values are refused, never cast (NumPy would drop the imaginary parts); so is text
    that is not a number (a DataFrame's column named, with its first such value).

    >>> numeric_array([[1, 2], [3, 4]], "x", np.float64).dtype
    dtype('float64')
    >>> numeric_array(np.array([1, 2j]), "y")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    gradfit.errors.BadDataError: y is complex (complex128): row 1 has imaginary part 2; ...
    """
    names = _column_names(values)
    if hasattr(values, "detach"):  # a torch tensor, possibly on a GPU or requiring grad
        values = values.detach().cpu().numpy()
    try:
        array = np.asarray(values)
    except (TypeError, ValueError) as exc:
        raise BadDataError(f"{label} must be numeric: {exc}") from None
    if array.dtype.kind == "c":
        raise BadDataError(_complex_message(array, label, names))
    if array.dtype.kind in "biuf":
        return array if dtype is None else array.astype(dtype, copy=False)
    try:
        return np.asarray(array, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise BadDataError(_not_numeric_message(array, label, names) or f"{label} must be numeric: {exc}") from None


def _place(names: list[str] | None, row: int, col: int | None) -> str:
    """Where a value is, for a message: ``row 3, column 'city'``, ``row 3, column 1`` or ``row 3``."""
    if col is None:
        return f"row {row}"
    return f"row {row}, column {names[col]!r}" if names is not None and col < len(names) else f"row {row}, column {col}"


def _complex_message(array: np.ndarray, label: str, names: list[str] | None) -> str:
    imaginary = np.imag(array)
    nonzero = np.argwhere(imaginary != 0)
    head = f"{label} is complex ({array.dtype})"
    if not nonzero.size:
        return f"{head}, with every imaginary part zero: pass {label}.real"
    index = tuple(int(i) for i in nonzero[0])
    place = _place(names, index[0], index[1] if len(index) > 1 else None)
    return (f"{head}: {place} has imaginary part {imaginary[index]:g}; gradfit fits real numbers: pass real "
            "data (the real part, or the magnitude, as the model needs)")


def _not_numeric_message(array: np.ndarray, label: str, names: list[str] | None) -> str | None:
    """The first value of ``array`` that is not a real number, said where it is; ``None`` if none is found."""
    grid = array.reshape(len(array), -1) if array.ndim >= 1 else array.reshape(1, 1)  # (n, k)
    for col in range(grid.shape[1]):
        try:
            np.asarray(grid[:, col], dtype=np.float64)
            continue
        except (TypeError, ValueError):
            pass
        for row, value in enumerate(grid[:, col]):
            value = value.item() if isinstance(value, np.generic) else value  # 'a', not np.str_('a')
            try:
                float(value)
            except (TypeError, ValueError):
                place = _place(names, row, col if array.ndim > 1 else None)
                if type(value).__name__ == "NAType":  # pandas' missing value (nullable dtypes)
                    return f"{label} has a missing value (NA) at {place}; remove or fill those rows before fitting"
                if isinstance(value, complex):
                    return f"{label} is not real: {place} has {value!r}, a complex number; gradfit fits real numbers"
                return (f"{label} is not numeric: {place} has {value!r}; convert that column to numbers (e.g. one "
                        "column per category) or leave it out")
    return None


def _target_subject(label: str, given) -> str:
    name = series_name(given)
    return label if name is None else f"{label} ({name!r})"


def check_magnitudes(values: np.ndarray, subjects: list[str], fix: str | None = None) -> None:
    """Refuse a column whose magnitude (largest ``|value|``) float64 cannot square and sum.

    ``values`` ``(n, k)``; ``subjects[j]`` names column ``j`` in the message (``"x column 'a'"``,
    ``"data.csv: column 'y'"``). Magnitudes must lie in ``[limits.MIN_COLUMN_MAGNITUDE,
    limits.MAX_COLUMN_MAGNITUDE]`` (1e-144 to 1e144, the reasons in :mod:`gradfit.limits`); an
    all-zero column is left to the rank check, NaN and inf to the finiteness checks. Streams check
    chunk by chunk with :class:`Magnitudes`, which this is for one block.

    >>> check_magnitudes(np.array([[1e-320, 1.0], [0.0, 2.0]]), ["x column 'a'", "y"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    gradfit.errors.BadDataError: x column 'a' has magnitude 1e-320 (its largest |value|), below the 1e-144 ...
    """
    magnitudes = Magnitudes(subjects, fix)
    magnitudes.add(values)
    magnitudes.finish()


class Magnitudes:
    """:func:`check_magnitudes` over the chunks of a stream: a column's magnitude is its largest
    ``|value|`` over every chunk, so a value above the range is refused in its chunk (:meth:`add`)
    and a column below it once the pass has seen every row (:meth:`finish`)."""

    def __init__(self, subjects: list[str], fix: str | None = None) -> None:
        self.subjects, self.fix = subjects, fix
        self.largest: np.ndarray | None = None  # (k,) the largest |value| so far

    def add(self, values: np.ndarray, squares: np.ndarray | None = None) -> None:
        """One chunk ``(m, k)``, read once: each column's sum of squares (``squares`` ``(k,)``
        where the reader took them) bounds its largest ``|value|`` (``√(Σx²/m) ≤ max|x| ≤ √Σx²``),
        and only a column those bounds leave in doubt (near or outside the range, or non-finite) is
        searched for its largest value (rare). A reduction along the rows is 8× slower than the one
        product, so it is kept for doubt."""
        if values.size == 0:
            return
        m = len(values)
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            if squares is None:
                squares = np.einsum("ij,ij->j", values, values, dtype=np.float64)  # (k,)
            lower, upper = np.sqrt(squares / m), np.sqrt(squares)
        doubt = ~np.isfinite(squares) | (upper > limits.MAX_COLUMN_MAGNITUDE) | (lower < limits.MIN_COLUMN_MAGNITUDE)
        largest = lower  # a lower bound of each column's largest |value|, exact where in doubt
        for j in np.flatnonzero(doubt):
            column = values[:, j]
            with np.errstate(invalid="ignore"):
                largest[j] = max(abs(float(np.max(column))), abs(float(np.min(column))))
        largest[~np.isfinite(largest)] = 0.0  # NaN and inf are the finiteness checks' to report, by row
        self.largest = largest if self.largest is None else np.maximum(self.largest, largest)
        self._refuse(largest > limits.MAX_COLUMN_MAGNITUDE)

    def finish(self) -> None:
        """After the last chunk: refuse a column whose values were all below the range (not all zero)."""
        if self.largest is not None:
            self._refuse((self.largest > 0) & (self.largest < limits.MIN_COLUMN_MAGNITUDE))

    def _refuse(self, outside: np.ndarray) -> None:
        if outside.any():
            j = int(np.argmax(outside))
            raise BadDataError(magnitude_message(self.subjects[j], float(self.largest[j]), self.fix))


def magnitude_message(subject: str, magnitude: float, fix: str | None = None) -> str:
    """The message for a column of ``magnitude`` outside the range float64 squares carry."""
    low, high = limits.MIN_COLUMN_MAGNITUDE, limits.MAX_COLUMN_MAGNITUDE
    power = int(round(np.log10(magnitude)))
    rescale = f"divide it by 1e{power}" if power > 0 else f"multiply it by 1e{-power}"
    fix = fix or f"rescale it (e.g. {rescale}: a change of units)"
    why = "the loss, its gradient, XᵀX and the statistics all square the data"
    if magnitude > high:
        return (f"{subject} has a value of magnitude {magnitude:.3g}, above the {high:g} whose squares float64 "
                f"can sum ({why}); {fix}")
    return (f"{subject} has magnitude {magnitude:.3g} (its largest |value|), below the {low:g} whose squares "
            f"float64 holds to full precision ({why}); {fix}")


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
