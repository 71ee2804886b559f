"""Checks of option values: each converts what the command line or Python gave (strings from
the command line included) or raises a :class:`gradfit.BadOptionError` naming the option and the fix.

:class:`gradfit.config.FitConfig` declares which check each option goes through.
"""

from __future__ import annotations

import math
import os
from typing import Callable

from . import limits
from .errors import BadOptionError, option


def _float(name: str, value: object, expected: str = "a number") -> float:
    if isinstance(value, bool):
        raise BadOptionError(name, value, f"must be {expected}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise BadOptionError(name, value, f"must be {expected}") from None


def _int(name: str, value: object) -> int:
    """``value`` as a whole number within the bound of option ``name`` (:func:`check_count`)."""
    if isinstance(value, bool):
        raise BadOptionError(name, value, "must be an integer")
    try:
        if isinstance(value, int):
            number = int(value)
        elif not isinstance(value, str) and float(value).is_integer():
            number = int(float(value))
        else:
            number = int(str(value).strip())
    except (TypeError, ValueError, OverflowError):
        raise BadOptionError(name, value, "must be an integer") from None
    return check_count(name, number, value)


def check_count(name: str, number: int, given: object = None) -> int:
    """``number`` unless it is above option ``name``'s bound: ``limits.MAX_EPOCHS`` for ``epochs``,
    ``limits.MAX_SEED`` for ``seed``, ``limits.MAX_COUNT`` for every other count. The one guard
    of whole numbers, so that none reaches NumPy, torch or C beyond what they hold (a traceback)
    or asks for memory without bound (the history keeps one value per epoch).

    >>> check_count("batch_size", 32)
    32
    >>> check_count("seed", 2**32)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    gradfit.errors.BadOptionError: seed=4294967296: must be at most 4294967295; ...
    """
    bound, why = _bound(name)
    if number > bound:
        raise BadOptionError(name, number if given is None else given, f"must be at most {bound}", why)
    return int(number)


def _bound(name: str) -> tuple[int, str]:
    """The largest value of count ``name`` and what to do instead (read from limits at call time)."""
    if name == "epochs":
        solve = option("solve", python="gradfit.solve(x, y)", cli="gradfit solve")
        return limits.MAX_EPOCHS, (
            f"the loss history keeps every epoch (about 70 bytes each); for more, take the exact answer "
            f"({solve}), or converge sooner with {option('lr', 'auto')} or {option('standardize', True)}")
    if name == "seed":
        return limits.MAX_SEED, f"NumPy and torch take seeds from 0 to 2**32 - 1, e.g. {option('seed', 42)}"
    return limits.MAX_COUNT, "no count gradfit can use is larger (2**53)"


def choice(*choices: str) -> Callable:
    """A check: one of ``choices`` (case-insensitive)."""
    def parse(name: str, value: object) -> str:
        text = value.strip().lower() if isinstance(value, str) else value
        if text not in choices:
            raise BadOptionError(name, value, f"unknown {name}", "choose one of " + ", ".join(choices))
        return text
    return parse


def positive_int(example: int | None = None, fix: str = "") -> Callable:
    """A check: a whole number ≥ 1 (the fix shows ``example``)."""
    def parse(name: str, value: object) -> int:
        number = _int(name, value)
        if number < 1:
            raise BadOptionError(name, value, "must be a positive integer", fix or f"e.g. {option(name, example)}")
        return number
    return parse


def positive_float(example: float | str) -> Callable:
    def parse(name: str, value: object) -> float:
        number = _float(name, value)
        if not (number > 0 and math.isfinite(number)):
            raise BadOptionError(name, value, "must be a positive number", f"e.g. {option(name, example)}")
        return number
    return parse


def non_negative_float(example: float | str) -> Callable:
    """A penalty's weight: zero or more, at most ``limits.MAX_PENALTY``."""
    def parse(name: str, value: object) -> float:
        number = _float(name, value)
        if not (number >= 0 and math.isfinite(number)):
            raise BadOptionError(name, value, "must be zero or a positive number", f"e.g. {option(name, example)}")
        if number > limits.MAX_PENALTY:
            raise BadOptionError(name, value, f"must be at most {limits.MAX_PENALTY:g} (far beyond it every "
                                 "coefficient is zero already)", f"e.g. {option(name, example)}")
        return number
    return parse


def seconds(name: str, value: object) -> float:
    """A positive time in seconds, at most ``limits.MAX_PROCESS_TIMEOUT`` (a week)."""
    number = _float(name, value, "a number of seconds")
    if not (number > 0 and math.isfinite(number)):
        raise BadOptionError(name, value, "must be a positive number of seconds", f"e.g. {option(name, 300)}")
    if number > limits.MAX_PROCESS_TIMEOUT:
        raise BadOptionError(name, value, f"must be at most {limits.MAX_PROCESS_TIMEOUT:g} seconds (a week: a "
                             "wait that long is a hang)", f"e.g. {option(name, 300)}")
    return number


def non_negative_int(name: str, value: object) -> int:
    number = _int(name, value)
    if number < 0:
        raise BadOptionError(name, value, "must be 0 or a positive integer")
    return number


def fraction(name: str, value: object) -> float:
    number = _float(name, value)
    if not 0.0 <= number < 1.0:
        raise BadOptionError(name, value, "must be at least 0 and below 1",
                             f"e.g. {option(name, 0.2)} holds out 20% of the rows")
    return number


def check_alpha(value: object, name: str = "alpha") -> float:
    """A significance level strictly between 0 and 1."""
    number = _float(name, value, "a number between 0 and 1")
    if not 0.0 < number < 1.0:
        raise BadOptionError(name, value, "must be strictly between 0 and 1",
                             f"e.g. {option(name, 0.05)} for 95% intervals")
    return number


def parse_lr(value: float | str, name: str = "lr") -> float | str:
    """A positive finite learning rate, or ``"auto"``."""
    if isinstance(value, str) and value.strip().lower() == "auto":
        return "auto"
    lr = _float(name, value, "a positive number such as 0.1, or auto")
    if not (lr > 0 and math.isfinite(lr)):
        raise BadOptionError(name, value, "must be a positive number", f"e.g. {option(name, 0.1)}, or "
                             f"{option(name, 'auto')}")
    return lr


def boolean(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise BadOptionError(name, value, "must be True or False")
    return value


def path_text(name: str, value: object) -> str:
    if not isinstance(value, (str, os.PathLike)) or not os.fspath(value):
        raise BadOptionError(name, value, "must be a file or folder path")
    return os.fspath(value)


def device_text(name: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise BadOptionError(name, value, "must be auto, cpu, cuda or cuda:N")
    return value


def poly_degree(name: str, value: object) -> int:
    """A polynomial degree: an integer from 1 to 20."""
    try:
        degree = int(str(value).strip())
    except (TypeError, ValueError):
        raise BadOptionError(name, value, "must be an integer degree", f"e.g. {option(name, 2)} for x and x^2") from None
    if not 1 <= degree <= 20:
        raise BadOptionError(name, value, "must be between 1 and 20",
                             f"higher powers overflow float64 precision; e.g. {option(name, 3)}")
    return degree


def learning_rate(name: str, value: object) -> float | str:
    return parse_lr(value, name)


def significance(name: str, value: object) -> float:
    return check_alpha(value, name)


COV_TYPES = ("nonrobust", "HC0", "HC1", "HC2", "HC3", "cluster", "HAC")


def cov_type(name: str, value: object) -> str:
    """One of :data:`COV_TYPES` (case-insensitive), spelled as statsmodels spells it.

    >>> cov_type("cov_type", "hc1")
    'HC1'
    """
    kind = {kind.lower(): kind for kind in COV_TYPES}.get(value.strip().lower()) if isinstance(value, str) else None
    if kind is None:
        raise BadOptionError(name, value, "unknown covariance type", "choose one of " + ", ".join(COV_TYPES))
    return kind


def formula_text(name: str, value: object) -> str:
    """A formula with a target and terms: ``y ~ x1 + C(g)``."""
    if not isinstance(value, str) or "~" not in value or not value.split("~", 1)[1].strip():
        raise BadOptionError(name, value, "must be a formula with a target and terms",
                             f"e.g. {option(name, 'y ~ x1 + C(g)', python='formula=' + repr('y ~ x1 + C(g)'))}")
    return value.strip()
