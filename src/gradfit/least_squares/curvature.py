"""Learning rates from the curvature of the MSE loss (``lr='auto'``, on the command line ``--lr auto``)."""

from __future__ import annotations

import numpy as np

from .. import limits
from ..data import Problem
from ..data.design import Scaling


def hessian_extremes(design: np.ndarray) -> tuple[float, float]:
    """Largest and smallest eigenvalues of the MSE Hessian ``2/n AᵀA``, from A's singular values.

    Parameters
    ----------
    design : numpy.ndarray
        ``(n, p)`` design matrix ``A``, ``n >= p``.

    Returns
    -------
    (float, float)
        ``(L, μ) = (2σ_max²/n, 2σ_min²/n)``: ``AᵀA`` is never formed, so ``μ`` keeps its digits
        however ill-conditioned ``A`` is.

    Examples
    --------
    >>> largest, smallest = hessian_extremes(np.array([[1.0, 0.0], [0.0, 2.0]]))
    >>> float(largest), float(smallest)
    (4.0, 1.0)
    """
    singular = np.linalg.svd(design, compute_uv=False)
    return 2.0 * singular[0] ** 2 / len(design), 2.0 * singular[-1] ** 2 / len(design)


def auto_lr(design: np.ndarray | None, batch_size: int | None, hessian_max: float, hessian_min: float = 0.0, *,
            n: int | None = None, row_curvature: float | None = None) -> float:
    """A safe learning rate from the curvature of the MSE loss.

    Full batch: ``2 / (L + μ')``, where ``L`` and ``μ`` are the largest and smallest eigenvalues
    of the loss Hessian ``2/n AᵀA`` (:func:`hessian_extremes`) and ``μ' = max(μ, L / 100)``
    (100: ``limits.AUTO_LR_CONDITION_CAP``). For ``L/μ ≤ 100`` that is the optimal fixed step
    for a quadratic (every direction contracts by ``(L−μ)/(L+μ)`` an epoch);
    for worse-conditioned data the cap keeps the stiffest direction contracting by at least
    ``99/101`` an epoch instead of oscillating undamped at the ``2/L`` stability limit.
    Mini-batches of size ``B`` use ``1/L_B`` with the expected-smoothness constant of sampling
    without replacement (Gower et al., 2019), ``L_B = n(B-1)/(B(n-1)) L + (n-B)/(B(n-1)) L_max``
    and ``L_max = max_i 2‖a_i‖²``, the curvature of one row: ``B = 1`` gives ``1/L_max``.
    """
    n = len(design) if design is not None else n
    if batch_size is None or batch_size >= n or n == 1:
        return 2.0 / (hessian_max + max(hessian_min, hessian_max / limits.AUTO_LR_CONDITION_CAP))
    b = batch_size
    if row_curvature is None:  # max_i ‖a_i‖², given by the caller when the design is not in memory
        row_curvature = float(np.max(np.einsum("ij,ij->i", design, design)))
    l_max = 2.0 * row_curvature
    l_b = n * (b - 1) / (b * (n - 1)) * hessian_max + (n - b) / (b * (n - 1)) * l_max
    return 1.0 / l_b


def max_row_norm2(problem: Problem, scaling: Scaling | None, chunk_rows: int = 65_536) -> float:
    """``max_i ‖a_i‖²`` over the rows of the (scaled) design, chunk by chunk (for mini-batch lr)."""
    best = 0.0
    if len(problem.x_train) == 0:  # a process of a distributed run may hold no rows
        return 0.0
    for start in range(0, len(problem.x_train), chunk_rows):
        block = problem.x_train[start:start + chunk_rows]
        if scaling is not None:
            block = scaling.x(block)
        best = max(best, float(np.max(np.einsum("ij,ij->i", block, block))))
    return best + (1.0 if problem.intercept else 0.0)
