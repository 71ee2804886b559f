"""Checks of a design's columns: nearly collinear (a warning) before anything is fitted."""

from __future__ import annotations

import warnings

from .. import limits
from ..errors import CollinearityWarning


def warn_if_collinear(condition_number: float, names: list[str]) -> None:
    """Warn when the columns are so nearly collinear that coefficients are poorly determined."""
    if condition_number > limits.COLLINEARITY_WARNING_ABOVE:
        warnings.warn(CollinearityWarning(
            f"the condition number of the design (columns scaled to unit length) is {condition_number:.3g}: "
            f"the columns {', '.join(names)} are nearly collinear, so individual coefficients are poorly "
            "determined (large standard errors) and gradient descent converges slowly; the closed form stays "
            "accurate"), stacklevel=3,
        )
