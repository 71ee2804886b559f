"""What comes with each row besides its values: weights, checked; labels (cluster ids, levels)."""

from __future__ import annotations

import numpy as np

from ..errors import BadDataError


def check_weights(weights, n: int, label: str = "weights") -> np.ndarray:
    """``weights`` as float64 ``(n,)``: finite, none negative, not all zero (errors name the row)."""
    try:
        array = np.asarray(weights.to_numpy() if hasattr(weights, "to_numpy") else weights, dtype=np.float64)
    except (TypeError, ValueError):
        raise BadDataError(f"{label} must be numbers, one per row") from None
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1 or len(array) != n:
        raise BadDataError(f"{label} has shape {array.shape} but x has {n} rows; give one weight per row")
    bad = ~np.isfinite(array) | (array < 0)
    if bad.any():
        row = int(np.argmax(bad))
        raise BadDataError(f"{label} of row {row} is {float(array[row])!r}: weights must be finite and zero or more "
                           "(a weight is the inverse of the row's error variance)")
    if not np.any(array > 0):
        raise BadDataError(f"every one of the {n} {label} is zero: give some rows a positive weight")
    return array


def label_key(label):
    """A label (a cluster id, a categorical level) as a comparable key: 3, 3.0 and NumPy's 3 are
    one label; text stays text.

    >>> label_key(np.int64(3)) == label_key(3.0), label_key("b")
    (True, 'b')
    """
    if isinstance(label, (bool, np.bool_)):
        return int(label)
    if isinstance(label, (int, float, np.integer, np.floating)):
        return float(label)
    return str(label)


def missing_labels(labels) -> np.ndarray:
    """``(n,)`` which labels are missing: ``None``, NaN or pandas' ``NA`` (as ``pandas.isna``).

    >>> missing_labels(np.array(["a", None, float("nan")], dtype=object)).tolist()
    [False, True, True]
    """
    labels = np.asarray(labels)
    if labels.dtype.kind == "f":
        return np.isnan(labels)
    if labels.dtype.kind == "O":
        import pandas as pd

        return np.asarray(pd.isna(labels), dtype=bool)
    return np.zeros(len(labels), dtype=bool)


def label_codes(labels) -> tuple[np.ndarray, np.ndarray]:
    """The distinct labels, sorted, and each label's code ``0 … G−1`` into them; labels of mixed
    types (numbers and text, which do not sort together) compared as text.

    >>> [u.tolist() for u in label_codes(np.array(["b", "a", "b"], dtype=object))]
    [['a', 'b'], [1, 0, 1]]
    """
    labels = np.asarray(labels)
    if labels.dtype.kind == "O":
        labels = np.array([label_key(label) for label in labels], dtype=object)
    try:
        return np.unique(labels, return_inverse=True)
    except TypeError:
        return np.unique(labels.astype(str), return_inverse=True)
