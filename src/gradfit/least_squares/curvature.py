"""Learning rates from the curvature of the MSE loss (``lr='auto'``, on the command line ``--lr auto``)."""

from __future__ import annotations

import numpy as np

from .. import limits
from ..data import Problem
from ..data.design import Scaling


def hessian_extremes(design: np.ndarray) -> tuple[float, float]:
    """Largest and smallest eigenvalues of the MSE Hessian ``2/n AᵀA``, from the ``p × p`` matrix.

    Parameters
    ----------
    design : numpy.ndarray
        ``(n, p)`` design matrix ``A``, ``n >= p``.

    Returns
    -------
    (float, float)
        ``(L, μ)``. ``L`` to float64 accuracy; ``μ`` to an absolute ``eps·L`` (negative rounding
        is clipped to 0): enough for ``lr='auto'``, which uses ``μ`` only where ``μ > L/100``, and
        one product instead of a singular value decomposition of the ``n × p`` design.

    Examples
    --------
    >>> largest, smallest = hessian_extremes(np.array([[1.0, 0.0], [0.0, 2.0]]))
    >>> float(largest), float(smallest)
    (4.0, 1.0)
    """
    values = np.linalg.eigvalsh(design.T @ design)  # ascending
    n = len(design)
    return 2.0 * float(values[-1]) / n, 2.0 * max(float(values[0]), 0.0) / n


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
