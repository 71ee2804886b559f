"""Sufficient statistics from a shifted Gram matrix and one refinement pass: the fast path.

TSQR (:mod:`gradfit.tsqr`) is the accurate way to reduce rows to ``R_aug``; for well-conditioned
data the Cholesky factor of the Gram matrix ``[A | y]ᵀ[A | y]`` is the same triangle (QR's R is
unique up to signs) at a fraction of the cost: a matrix product per chunk (BLAS gemm) instead of a
Householder QR. Its two weaknesses are handled:

- cancellation in the Gram sums when columns sit far from zero: the columns are shifted by the
  first chunk's means before the products (shifted-data sums), and the shift is undone exactly on
  the triangle (``R_orig = R_shift · T⁻¹``, ``T`` the unit-triangular shift);
- the ``κ²`` in the normal equations: a second pass computes the residuals ``r = y − Aθ`` of the
  Cholesky solution directly, corrects ``θ`` once by ``(RᵀR)⁻¹Aᵀr`` and takes the residual norm
  from the rows, not from a difference of sums.

When the columns (scaled to unit length) have a condition number above ``MAX_CONDITION`` the
normal equations cannot be repaired this way, and :func:`gram_statistics` returns ``None``: the
caller uses TSQR.
"""

from __future__ import annotations

import numpy as np

# Above this condition number of the unit-length columns, κ²·eps (2e-10 at 1e3) in the triangle,
# which the standard errors inherit, is no longer negligible: use TSQR instead.
MAX_CONDITION = 1e3
CHUNK_ROWS = 65_536


def gram_statistics(x: np.ndarray, y: np.ndarray, *, intercept: bool, names: list[str] | None = None):
    """:class:`gradfit.streaming.SufficientStats` of in-memory rows, or ``None`` if ill-conditioned.

    Parameters
    ----------
    x : numpy.ndarray
        ``(n, d)`` finite float64 features (validated by the caller).
    y : numpy.ndarray
        ``(n,)`` targets.
    """
    from .streaming import SufficientStats

    n, d = x.shape
    i0 = int(intercept)
    p = d + i0
    head_x, head_y = x[:4096], y[:4096]  # enough rows to see where the columns sit
    centre = np.concatenate([head_x.mean(axis=0), [head_y.mean()]])  # (d + 1,)
    spread = np.concatenate([head_x.std(axis=0), [head_y.std()]])
    if not intercept:
        shift = np.zeros(d + 1)  # without an intercept a shift would change the model
    elif np.all(np.abs(centre) <= spread):
        shift = np.zeros(d + 1)  # columns already straddle zero: nothing to cancel, no copy needed
    else:
        shift = centre
    if np.any(shift):
        gram, sums = _shifted_sums(x, y, shift, intercept)
    else:
        gram, sums = _plain_sums(x, y, intercept)
    try:
        r_shift = np.linalg.cholesky(gram).T  # (p + 1, p + 1) upper
    except np.linalg.LinAlgError:
        return None
    r = r_shift[:p, :p]
    unit = r / np.linalg.norm(r, axis=0)  # R of unit-length columns
    singular = np.linalg.svd(unit, compute_uv=False)
    if not singular[-1] > 0 or singular[0] / singular[-1] > MAX_CONDITION:
        return None
    # Undo the shift on the triangle: [1, x − c, y − c_y] = [1, x, y] · T, T unit upper triangular.
    t_inverse = np.eye(p + 1)
    if intercept:
        t_inverse[0, 1:] = shift
    r_aug = r_shift @ t_inverse  # R of [A | y] itself (still upper triangular)
    r = r_aug[:p, :p]
    theta = np.linalg.solve(r, r_aug[:p, p])
    theta, rss = _refine(x, y, theta, r, intercept)
    r_aug[:p, p] = r @ theta
    r_aug[p, p] = np.sqrt(rss)
    mean = shift + sums / n
    m2 = np.diag(gram)[i0:] - sums ** 2 / n  # shifted sums: little left to cancel
    # A bound, not a pass: every |value − mean| is at most sqrt(m2). (Only scales are chosen from
    # it, to stay clear of overflow when statistics are merged.)
    max_abs = np.abs(mean) + np.sqrt(np.maximum(m2, 0.0))
    return SufficientStats(n=n, intercept=intercept, scale=np.ones(p + 1), r_aug=np.triu(r_aug), mean=mean,
                           m2=np.maximum(m2, 0.0), max_abs=max_abs, names=tuple(names) if names else None)


def _refine(x: np.ndarray, y: np.ndarray, theta: np.ndarray, r: np.ndarray, intercept: bool):
    """One pass of residuals: θ + (RᵀR)⁻¹Aᵀr, and the residual sum of squares at the new θ.

    ``RSS(θ + δ) = RSS(θ) − 2δᵀAᵀr + δᵀRᵀRδ`` (exact algebra), so no third pass is needed.
    """
    i0 = int(intercept)
    a_t_r = np.zeros(len(theta))
    rss = 0.0
    for start in range(0, len(y), CHUNK_ROWS):
        xs = x[start:start + CHUNK_ROWS]
        residual = y[start:start + CHUNK_ROWS] - xs @ theta[i0:]  # (m,)
        if intercept:
            residual -= theta[0]
            a_t_r[0] += residual.sum()
        a_t_r[i0:] += residual @ xs
        rss += float(residual @ residual)
    delta = np.linalg.solve(r, np.linalg.solve(r.T, a_t_r))
    rd = r @ delta
    return theta + delta, max(rss - 2.0 * float(delta @ a_t_r) + float(rd @ rd), 0.0)


def _shifted_sums(x: np.ndarray, y: np.ndarray, shift: np.ndarray, intercept: bool):
    """Gram matrix and column sums of ``[1, x − c, y − c_y]`` (a copy of each chunk)."""
    n, d = x.shape
    i0, p = int(intercept), d + int(intercept)
    gram, sums = np.zeros((p + 1, p + 1)), np.zeros(p + 1)
    buffer = np.empty((min(CHUNK_ROWS, n), p + 1))
    ones = np.ones(len(buffer))
    for start in range(0, n, CHUNK_ROWS):
        m = min(CHUNK_ROWS, n - start)
        block = buffer[:m]  # (m, p + 1)
        if intercept:
            block[:, 0] = 1.0
        np.subtract(x[start:start + m], shift[:d], out=block[:, i0:p])
        np.subtract(y[start:start + m], shift[d], out=block[:, p])
        gram += block.T @ block  # BLAS: the one product a chunk costs
        sums += ones[:m] @ block  # column sums (a reduction along axis 0 of C-ordered rows is slow)
    return gram, sums[i0:]


def _plain_sums(x: np.ndarray, y: np.ndarray, intercept: bool):
    """The same without a shift, straight from the caller's arrays: BLAS products on the whole
    array, no copy of it."""
    n, d = x.shape
    i0, p = int(intercept), d + int(intercept)
    gram = np.zeros((p + 1, p + 1))
    x_t_y = y @ x  # (d,)
    column_sums = np.ones(n) @ x  # (d,): a gemv (the n-vector of ones costs 1/d of the data)
    gram[i0:p, i0:p] = x.T @ x
    gram[i0:p, p] = gram[p, i0:p] = x_t_y
    gram[p, p] = float(y @ y)
    if intercept:
        gram[0, 0] = n
        gram[0, 1:p] = gram[1:p, 0] = column_sums
        gram[0, p] = gram[p, 0] = y.sum()
    return gram, np.concatenate([column_sums, [y.sum()]])
