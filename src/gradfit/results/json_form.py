"""The one JSON writer of gradfit's results: strict JSON, where an undefined number is ``null``.

JSON has no ``inf`` or ``nan``; Python's :func:`json.dumps` writes them as the invalid tokens
``Infinity``/``NaN`` by default, or raises with ``allow_nan=False``. gradfit's JSON is read by
other programs (``jq``, JavaScript, a database), so every non-finite float becomes ``null``,
wherever it sits (a NumPy scalar, inside lists, tuples, dicts, arrays), and writing never fails on
one. Finite values are written exactly as :func:`json.dumps` writes them (shortest round-trip text).
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np


def json_ready(obj: Any) -> Any:
    """``obj`` with non-finite floats as ``None`` and NumPy values as Python ones.

    Dicts (keys as :func:`json.dumps` takes them), lists, tuples and arrays are walked; other
    objects are returned unchanged (``json.dumps`` decides about them).

    >>> json_ready({"a": [1.0, float("nan")], "b": np.float32(np.inf), "c": np.arange(2)})
    {'a': [1.0, None], 'b': None, 'c': [0, 1]}
    """
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (float, np.floating)):
        value = float(obj)
        return value if math.isfinite(value) else None
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, dict):
        return {key: json_ready(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_ready(value) for value in obj]
    if isinstance(obj, np.ndarray):
        return json_ready(obj.tolist())
    return obj


def json_text(obj: Any, indent: int | None = 2) -> str:
    """Strict JSON text of ``obj``: non-finite floats are ``null``, never ``NaN``, never an error.

    Parameters
    ----------
    obj : dict, list or scalar
        Plain Python and NumPy values, nested at any depth.
    indent : int or None
        As for :func:`json.dumps`; ``None`` writes one line.

    Examples
    --------
    >>> json_text({"loss": float("inf"), "coef": [np.float64(0.5)]}, indent=None)
    '{"loss": null, "coef": [0.5]}'
    """
    return json.dumps(json_ready(obj), indent=indent, allow_nan=False)


def is_json_number(value) -> bool:
    """A JSON number float64 can hold: not a bool, not a string, not 1e400 written as an integer.

    >>> is_json_number(2.5), is_json_number(True), is_json_number(10 ** 400)
    (True, False, False)
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        float(value)
    except OverflowError:
        return False
    return True
