"""Sufficient statistics from a shifted Gram matrix, in one pass over the rows: the fast path.

TSQR (:mod:`gradfit.least_squares.tsqr`) is the accurate way to reduce rows to ``R_aug``; for well-conditioned
data the Cholesky factor of the Gram matrix ``[A | y]ᵀ[A | y]`` is the same triangle (QR's R is
unique up to signs) at a fraction of the cost: a matrix product per chunk (BLAS syrk) instead of a
Householder QR. Its weaknesses are handled:

- cancellation in the Gram sums when columns sit far from zero: the columns are shifted by the
  first rows' means before the products (shifted-data sums), and the shift is undone exactly on
  the triangle (``R_orig = R_shift · T⁻¹``, ``T`` the unit-triangular shift);
- cancellation in the residual sum of squares, a difference of sums (``eps·TSS/RSS`` of it),
  where the columns nearly determine the target: on large data the target is shifted too, by the
  first rows' least-squares answer ``θ₀`` (``y − Aθ₀``, nearly the residual), in the same pass;
- the ``κ²`` in the normal equations: they solve for ``δ = θ − θ₀`` only, with an error of about
  ``eps·κ²·‖δ‖`` on unit-length columns. Where that (or the sums' residual) could still move the
  answer by more than ``limits.GRAM_REFINE_ABOVE``, a second pass computes the residuals
  ``r = y − Aθ`` directly, corrects ``θ`` once by ``(RᵀR)⁻¹Aᵀr`` and takes the residual norm from
  the rows. Small data is always refined, in double-double (the answer correctly rounded).

When the columns (scaled to unit length) have a condition number above
``limits.GRAM_MAX_CONDITION`` the normal equations cannot be repaired this way, and
:func:`gram_statistics` returns ``None``: the caller uses TSQR.
"""

from __future__ import annotations

import math

import numpy as np

from .. import limits
from . import extra_precise
from .gram_sums import Shift, blas_threads_for, chunk_rows, gram_sums, unit_condition
from .sufficient import SufficientStats


def gram_statistics(x: np.ndarray, y: np.ndarray, *, intercept: bool, names: list[str] | None = None,
                    check=None, correctly_rounded: bool = True):
    """:class:`gradfit.least_squares.sufficient.SufficientStats` of in-memory rows, or ``None`` if ill-conditioned.

    Parameters
    ----------
    x : numpy.ndarray
        ``(n, d)`` float64 features; ``y`` ``(n,)`` targets.
    intercept : bool
        Prepend the column of ones to ``A``.
    names : list of str, optional
        Parameter names, intercept first (for messages).
    check : callable, optional
        The value checks the caller left to this pass (``Problem.values_checked`` false): called
        only when the pass's own sums are in doubt (non-finite, or magnitudes the sums of squares
        cannot place in range), to raise the precise error. ``None``: the values are checked.
    correctly_rounded : bool
        Refine small problems with double-double residuals (the answer correctly rounded); off
        where only the loss is wanted (validation rows): one float64 pass then, as for large ones.

    Returns
    -------
    SufficientStats or None
        ``None`` when the unit-length columns have a condition number above
        ``limits.GRAM_MAX_CONDITION`` (or the Gram matrix is not positive definite).
    """
    with blas_threads_for(x.shape[1] + 2, x.size):  # products of a few columns: one BLAS thread
        return _statistics(x, y, intercept, names, check, correctly_rounded)


def _statistics(x: np.ndarray, y: np.ndarray, intercept: bool, names, check, correctly_rounded: bool):
    """:func:`gram_statistics`, on the BLAS threads it chose."""
    n, d = x.shape
    i0, p = int(intercept), d + int(intercept)
    shift = _shift(x, y, intercept)
    with np.errstate(over="ignore", invalid="ignore"):  # (unchecked values: judged just below)
        gram, sums = gram_sums(x, y, shift, intercept)
        moments, column_sums = shift.of_target(gram, sums, intercept)  # of [1, x − c, y − t₀]
    centre = np.append(shift.x, shift.t0)  # (d + 1,) what was taken from [x | y]
    if check is not None and _in_doubt(moments, column_sums, centre, n, intercept):
        check()
    r_shift, kappa_shifted = _factor(gram, p)
    if r_shift is None:
        return None
    r_aug = r_shift @ shift.undo(p)  # R of [A | y] itself (still upper triangular)
    r = r_aug[:p, :p]
    refine = _refinement_changes_the_answer(gram, r_shift, kappa_shifted, shift.theta0(intercept))
    theta, rss = _solve(x, y, r, r_aug[:p, p], intercept, refine, float(r_shift[-1, -1]) ** 2, correctly_rounded)
    r_aug[:p, p] = r @ theta
    r_aug[p, p] = np.sqrt(rss)
    mean = centre + column_sums / n
    m2 = np.diag(moments)[i0:] - column_sums ** 2 / n  # shifted sums: little left to cancel
    # A bound, not a pass: every |value − mean| is at most sqrt(m2). (Only scales are chosen from
    # it, to stay clear of overflow when statistics are merged.)
    max_abs = np.abs(mean) + np.sqrt(np.maximum(m2, 0.0))
    return SufficientStats(n=n, intercept=intercept, scale=np.ones(p + 1), r_aug=np.triu(r_aug), mean=mean,
                           m2=np.maximum(m2, 0.0), max_abs=max_abs, names=tuple(names) if names else None,
                           solution=theta)


def _shift(x: np.ndarray, y: np.ndarray, intercept: bool) -> Shift:
    """What to subtract from ``[x | y]`` before the products (:class:`Shift`): the first rows'
    means when the columns sit far from zero (with an intercept), and on large data whose target
    the columns nearly determine, the first rows' answer."""
    d = x.shape[1]
    head_x, head_y = x[:limits.GRAM_HEAD_ROWS], y[:limits.GRAM_HEAD_ROWS]  # enough rows to see where the columns sit
    head = np.column_stack([head_x, head_y])  # (m, d + 1): one small copy, its moments in two reductions
    with np.errstate(all="ignore"):  # (unchecked values: the sums below find NaN and inf)
        head_mean = head.mean(axis=0)  # (d + 1,)
        centre = head_mean
        if not intercept or not np.all(np.isfinite(centre)):
            centre = np.zeros(d + 1)  # without an intercept a shift would change the model
        elif x.size > limits.EXTRA_PRECISE_CELLS:
            deviation = head - head_mean
            if np.all(centre * centre * len(head) <= np.einsum("ij,ij->j", deviation, deviation)):  # |c| ≤ std
                centre = np.zeros(d + 1)  # nothing to cancel: no copy of the chunks (small data: always)
    if x.size < limits.GRAM_TARGET_SHIFT_CELLS:  # a second pass costs less than the first rows' answer
        return Shift(centre[:d], float(centre[d]), None)
    return Shift(centre[:d], *_head_answer(head_x, head_y, head_mean if intercept else None, centre))


def _head_answer(head_x: np.ndarray, head_y: np.ndarray, head_mean: np.ndarray | None, centre: np.ndarray):
    """``(t₀, w₀)`` from the first rows' least squares (about their means ``head_mean``, or through
    the origin when ``None``), in the basis shifted by ``centre`` (:class:`Shift`), where the
    residual sum of squares taken from the sums would lose enough digits to cancellation to call for
    the refinement pass (``eps·TSS/RSS`` above half ``limits.GRAM_REFINE_ABOVE``: the first rows'
    ratio, with room for its sampling); ``(centre[-1], None)`` where it would not, or cannot be told.

    Any ``θ₀`` is an exact change of basis, so the first rows' normal equations (one small product)
    are good enough for it; the residuals that judge it are taken from the rows.
    """
    m, d = head_x.shape
    y_centre = float(centre[d])
    if m < 4 * (d + 1) or not (np.isfinite(head_x).all() and np.isfinite(head_y).all()):
        return y_centre, None  # too few rows to judge, or values the pass's checks will name
    x_mean, y_mean = (np.zeros(d), 0.0) if head_mean is None else (head_mean[:d], float(head_mean[d]))
    centred, y_centred = head_x - x_mean, head_y - y_mean  # (the intercept's column, eliminated)
    try:
        w0 = np.linalg.solve(centred.T @ centred, centred.T @ y_centred)  # (d,)
    except np.linalg.LinAlgError:
        return y_centre, None
    residual = y_centred - centred @ w0
    around = head_y - y_centre
    if not limits.EPS * float(around @ around) > 0.5 * limits.GRAM_REFINE_ABOVE * float(residual @ residual):
        return y_centre, None  # the sums lose nothing worth a product per chunk
    return y_mean - float((x_mean - centre[:d]) @ w0), w0


def _in_doubt(gram: np.ndarray, sums: np.ndarray, shift: np.ndarray, n: int, intercept: bool) -> bool:
    """Whether the pass's sums leave the values' checks in doubt: a NaN or inf, or a column whose
    sum of squares cannot place its largest ``|value|`` in the range (``√(Σx²/n) ≤ max ≤ √Σx²``)."""
    if not (np.isfinite(gram).all() and np.isfinite(sums).all()):
        return True
    i0 = int(intercept)
    with np.errstate(over="ignore", under="ignore"):
        squares = np.diag(gram)[i0:] + 2.0 * shift * sums + n * shift * shift  # Σ value² per column of [x | y]
        low, high = np.sqrt(squares / n), np.sqrt(squares)
    return bool(np.any(~np.isfinite(squares) | (high > limits.MAX_COLUMN_MAGNITUDE)
                       | (low < limits.MIN_COLUMN_MAGNITUDE)))


def _factor(gram: np.ndarray, p: int) -> tuple[np.ndarray | None, float]:
    """The Cholesky triangle of the (shifted) augmented Gram matrix and the condition number of
    its columns (unit length); ``(None, κ)`` when they are too ill-conditioned for the normal
    equations (``limits.GRAM_MAX_CONDITION``)."""
    try:
        r_shift = np.linalg.cholesky(gram).T  # (p + 1, p + 1) upper
    except np.linalg.LinAlgError:
        return None, np.inf
    kappa = unit_condition(r_shift[:p, :p])
    return (r_shift if kappa <= limits.GRAM_MAX_CONDITION else None), kappa


def _refinement_changes_the_answer(gram: np.ndarray, r_shift: np.ndarray, kappa: float,
                                   theta0: np.ndarray | None) -> bool:
    """Whether the refinement pass can change the answer by more than ``limits.GRAM_REFINE_ABOVE``
    relative: the Cholesky solution errs by about ``eps·κ²`` (κ of the shifted columns) times
    ``‖δ‖/‖θ‖`` on unit-length columns, ``δ = θ − θ₀`` being all the sums solve for (``θ₀`` zero
    without a target shift: the plain ``eps·κ²``); the residual sum of squares by ``eps`` times the
    target column's sum of squares over it (a difference of sums)."""
    rss = float(r_shift[-1, -1]) ** 2
    if rss == 0.0:
        return True
    solution_error = limits.EPS * kappa * kappa
    if theta0 is not None:
        p = len(theta0)
        r = r_shift[:p, :p]
        norms = np.linalg.norm(r, axis=0)  # (p,) lengths of the shifted columns
        delta = np.linalg.solve(r, r_shift[:p, p]) * norms
        theta = float(np.linalg.norm(theta0 * norms + delta))
        solution_error *= float(np.linalg.norm(delta)) / theta if theta > 0 else 1.0
    return max(solution_error, limits.EPS * float(gram[-1, -1]) / rss) > limits.GRAM_REFINE_ABOVE


def _solve(x: np.ndarray, y: np.ndarray, r: np.ndarray, z: np.ndarray, intercept: bool,
           refine: bool, rss: float, correctly_rounded: bool) -> tuple[np.ndarray, float]:
    """θ from the triangle, refined from the rows (when that can change it), and the residual sum
    of squares."""
    theta = np.linalg.solve(r, z)
    if x.size > limits.EXTRA_PRECISE_CELLS or not correctly_rounded:
        return _refine(x, y, theta, r, intercept) if refine else (theta, rss)
    # Small: residuals in double-double, the answer correctly rounded (as dense QR gives it).
    design = np.column_stack([np.ones(len(y)), x]) if intercept else x
    theta, residuals, _ = extra_precise.refine(design, None, y, theta,
                                               lambda g: np.linalg.solve(r, np.linalg.solve(r.T, g)),
                                               unit_condition(r))
    return theta, math.fsum((residuals * residuals).tolist())


def _refine(x: np.ndarray, y: np.ndarray, theta: np.ndarray, r: np.ndarray, intercept: bool):
    """One pass of residuals: θ + (RᵀR)⁻¹Aᵀr, and the residual sum of squares at the new θ.

    ``RSS(θ + δ) = RSS(θ) − 2δᵀAᵀr + δᵀRᵀRδ`` (exact algebra), so no third pass is needed.
    Each chunk is read from memory once: its residuals are a product with ``x`` and ``Aᵀr`` a
    second product with the same chunk, still in cache.
    """
    n, d = x.shape
    i0 = int(intercept)
    rows = min(chunk_rows(d, limits.GRAM_REFINE_CHUNK_CELLS), n)
    b, w = (float(theta[0]) if intercept else 0.0), theta[i0:]  # (), (d,)
    residual_buffer, x_t_r_chunk = np.empty(rows), np.empty(d)
    x_t_r = np.zeros(d)
    residual_sum = rss = 0.0
    for start in range(0, n, rows):
        block = x[start:start + rows]  # (m, d), a view
        m = len(block)
        residual = np.matmul(block, w, out=residual_buffer[:m])  # (m,)
        np.subtract(y[start:start + m], residual, out=residual)
        if intercept:
            residual -= b
            residual_sum += float(residual.sum())
        x_t_r += np.matmul(residual, block, out=x_t_r_chunk)
        rss += float(residual @ residual)
    a_t_r = np.concatenate([[residual_sum], x_t_r]) if intercept else x_t_r  # (p,)
    delta = np.linalg.solve(r, np.linalg.solve(r.T, a_t_r))
    rd = r @ delta
    return theta + delta, max(rss - 2.0 * float(delta @ a_t_r) + float(rd @ rd), 0.0)


