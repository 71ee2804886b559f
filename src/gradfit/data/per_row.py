"""What comes with each row besides its values: weights, checked."""

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
