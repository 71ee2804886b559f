"""Influence of each observation, as statsmodels' ``OLSInfluence``, in O(n·p²) without refits.

With the leverage ``h_i = a_iᵀ(AᵀA)⁻¹a_i``, the residual ``e_i`` at the statistics' θ,
``σ̂² = RSS/(n − p)`` and the leave-one-out variance ``σ̂²_(i) = (RSS − e_i²/(1 − h_i)) / (n − p − 1)``:

=========================  ==========================================  ===========================
column                     definition                                  statsmodels' name
=========================  ==========================================  ===========================
``leverage``               ``h_i``                                     ``hat_matrix_diag``
``resid``                  ``e_i``                                     ``resid``
``student_resid_internal`` ``e_i / (σ̂ √(1 − h_i))``                   ``resid_studentized_internal``
``student_resid_external`` ``e_i / (σ̂_(i) √(1 − h_i))``               ``resid_studentized_external``
``cooks_d``                ``r_i² h_i / (p (1 − h_i))``, ``r_i`` internal  ``cooks_distance[0]``
``dffits``                 ``t_i √(h_i / (1 − h_i))``, ``t_i`` external    ``dffits[0]``
=========================  ==========================================  ===========================

The leave-one-out identities are exact at the least-squares θ; at another θ (a gradient-descent
answer) the columns are these formulas at its residuals.
"""

from __future__ import annotations

import numpy as np

INFLUENCE_COLUMNS = ("leverage", "resid", "student_resid_internal", "student_resid_external", "cooks_d", "dffits")


def influence_columns(blocks, bread: np.ndarray, rss: float, n: int) -> dict[str, np.ndarray]:
    """Every column of :data:`INFLUENCE_COLUMNS` for the rows of ``blocks`` (``(design, residuals)``
    pairs in row order), from ``bread = (AᵀA)⁻¹`` and the residual sum of squares ``rss``."""
    p = len(bread)
    leverage, resid = [], []
    for design, residuals in blocks:
        leverage.append(np.einsum("ij,ij->i", design @ bread, design))
        resid.append(residuals)
    h, e = np.concatenate(leverage), np.concatenate(resid)
    with np.errstate(divide="ignore", invalid="ignore"):
        sigma = np.sqrt(rss / (n - p))
        internal = e / (sigma * np.sqrt(1.0 - h))
        sigma_i = np.sqrt(np.maximum(rss - e * e / (1.0 - h), 0.0) / (n - p - 1))
        external = e / (sigma_i * np.sqrt(1.0 - h))
        ratio = h / (1.0 - h)
        return {"leverage": h, "resid": e, "student_resid_internal": internal, "student_resid_external": external,
                "cooks_d": internal ** 2 * ratio / p, "dffits": external * np.sqrt(ratio)}
