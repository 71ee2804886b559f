"""What a fitted model predicts from: a table's columns by name, an array's by position.

A model knows the names of its input columns. A DataFrame is read by those names (any order,
other columns ignored), so swapping two columns cannot silently change the answer; a plain array
has no names, so its columns are taken in the model's order and its shape is checked. Every
refusal is a :class:`gradfit.errors.BadDataError` saying what was received, what was expected
and how to fix it.
"""

from __future__ import annotations

import sys

import numpy as np

from ..errors import BadDataError

_SHOWN = 12  # column names listed in a message before "…"


def model_inputs(x, features: list[str]) -> np.ndarray:
    """``x`` as the float64 ``(n, len(features))`` inputs of a model on columns ``features``.

    Parameters
    ----------
    x : DataFrame, array_like or tensor
        A pandas DataFrame is taken by column name (any order, extra columns ignored); anything
        else by position: ``(n, d)`` with ``d = len(features)``, or ``(n,)`` when ``d == 1``.
    features : list of str
        The model's input columns, in the order of its coefficients.

    Raises
    ------
    BadDataError
        A column is missing, repeated or not numeric; the shape does not fit; a value is
        missing or infinite.

    Examples
    --------
    >>> import pandas as pd
    >>> model_inputs(pd.DataFrame({"b": [2.0], "a": [1.0], "c": [9.0]}), ["a", "b"]).tolist()
    [[1.0, 2.0]]
    >>> model_inputs([1.0, 2.0], ["x"]).shape
    (2, 1)
    """
    features = list(features)
    if _is_frame(x):
        values = _by_name(x, features)
    else:
        values = _by_position(x, features)
    bad = ~np.isfinite(values)
    if bad.any():
        row, col = (int(i) for i in np.argwhere(bad)[0])
        raise BadDataError(
            f"column {features[col]!r} has {int(bad[:, col].sum())} missing or infinite value(s), the first at "
            f"row {row}; a prediction needs a number in every input: drop or fill those rows first"
        )
    return values


def _is_frame(x) -> bool:
    pandas = sys.modules.get("pandas")  # a DataFrame exists only if pandas was imported already
    return pandas is not None and isinstance(x, pandas.DataFrame)


def _names(names: list[str]) -> str:
    shown = ", ".join(repr(name) for name in names[:_SHOWN])
    return f"[{shown}{', …' if len(names) > _SHOWN else ''}]"


def _by_name(frame, features: list[str]) -> np.ndarray:
    """The ``features`` columns of a DataFrame, found by (string) name."""
    labels: dict[str, list] = {}
    for label in frame.columns:
        labels.setdefault(str(label), []).append(label)
    missing = [name for name in features if name not in labels]
    if missing:
        raise BadDataError(
            f"the data has no column {_names(missing)[1:-1]} (the model predicts from {_names(features)}; the "
            f"data's columns are {_names([str(c) for c in frame.columns])}): add or rename the column"
        )
    repeated = [name for name in features if len(labels[name]) > 1]
    if repeated:
        raise BadDataError(f"column {repeated[0]!r} appears {len(labels[repeated[0]])} times in the data; "
                           "keep one of them")
    columns = []
    for name in features:
        column = frame[labels[name][0]]
        try:
            columns.append(column.to_numpy(dtype=np.float64, na_value=np.nan))
        except (TypeError, ValueError):
            raise BadDataError(f"column {name!r} is not numeric (dtype {column.dtype}); convert it, e.g. with "
                               "pandas.to_numeric") from None
    return np.column_stack(columns) if columns else np.empty((len(frame), 0))


def _by_position(x, features: list[str]) -> np.ndarray:
    """An array's columns in the model's order, its shape checked."""
    try:
        values = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise BadDataError(f"cannot read the inputs as numbers ({error}); pass a numeric array or a DataFrame "
                           f"with the columns {_names(features)}") from None
    d = len(features)
    if values.ndim == 1 and d == 1:
        return values.reshape(-1, 1)  # one feature: (n,) is n rows
    if values.ndim == 2 and values.shape[1] == d:
        return values
    expected = f"(n, {d})" + (" or (n,)" if d == 1 else "")
    plural = "" if d == 1 else "s"
    if values.ndim == 1:
        fix = (f"pass a 2-D array of shape (n, {d}), one row per prediction (x.reshape(1, -1) for a single row), "
               f"or a DataFrame with those columns")
    elif values.ndim == 2:
        fix = f"pass {d} column{plural} in that order, or a DataFrame with those columns (taken by name)"
    else:
        fix = f"pass a 2-D array of shape (n, {d}) or a DataFrame with those columns"
    raise BadDataError(f"the inputs have shape {values.shape} but the model has {d} feature{plural} "
                       f"{_names(features)}, so it expects shape {expected}; {fix}")
