"""Checks of a design's columns: linearly dependent (an error) or nearly collinear (a warning)."""

from __future__ import annotations

import warnings

import numpy as np

from .. import limits
from ..errors import BadDataError, CollinearityWarning


def check_rank(r: np.ndarray, names: list[str], tol: float | None = None) -> None:
    """Raise naming the first column that is (numerically) a combination of earlier ones.

    Parameters
    ----------
    r : numpy.ndarray
        ``(p, p)`` upper-triangular R of the design with (about) unit-length columns.
    names : list of str
        The ``p`` column names, for the message.
    tol : float, optional
        ``|R_jj|`` at or below this marks column ``j`` as dependent; default ``16·p·eps``.

    Raises
    ------
    BadDataError
        Naming the dependent column and the earlier columns it is a combination of.

    Examples
    --------
    >>> r = np.linalg.qr(np.array([[1.0, 2.0], [1.0, 2.0]]) / np.sqrt(2))[1]
    >>> check_rank(r, ["a", "b"])
    Traceback (most recent call last):
    ...
    gradfit.errors.BadDataError: column 'b' is a linear combination of 'a' (the columns are collinear, so the least-squares answer is not unique); drop one of them
    """
    diag = np.abs(np.diag(r))
    if tol is None:
        tol = r.shape[0] * limits.EPS * 16  # columns have about unit norm, so |R_jj| <~ 1.5
    dependent = np.flatnonzero(diag <= tol)
    if not dependent.size:
        return
    j = int(dependent[0])
    above = r[:j, j]  # column j's weights on the earlier columns' directions
    if np.isfinite(above).all() and not (np.abs(above) > tol).any():  # (always so for j = 0)
        raise BadDataError(f"column {names[j]!r} is numerically zero; drop it")
    # Column j ≈ Σ c_k column_k over k < j, with c from the leading triangle of R.
    with np.errstate(all="ignore"):
        weights = np.linalg.lstsq(r[:j, :j], r[:j, j], rcond=None)[0]
    partners = [names[k] for k in np.flatnonzero(np.abs(weights) > 1e-8)]
    if not partners or not np.isfinite(weights).all():  # too small weights to tell (or none): name them all
        partners = names[:j]
    raise BadDataError(
        f"column {names[j]!r} is a linear combination of {', '.join(repr(p) for p in partners)} "
        "(the columns are collinear, so the least-squares answer is not unique); drop one of them"
    )


def warn_if_collinear(condition_number: float, names: list[str]) -> None:
    """Warn when the columns are so nearly collinear that coefficients are poorly determined."""
    if condition_number > limits.COLLINEARITY_WARNING_ABOVE:
        warnings.warn(CollinearityWarning(
            f"the condition number of the design (columns scaled to unit length) is {condition_number:.3g}: "
            f"the columns {', '.join(names)} are nearly collinear, so individual coefficients are poorly "
            "determined (large standard errors) and gradient descent converges slowly; the closed form stays "
            "accurate"), stacklevel=3,
        )
