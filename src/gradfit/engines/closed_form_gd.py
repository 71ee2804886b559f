"""Full-batch gradient descent on a quadratic, all epochs at once from the eigenbasis.

For the MSE of a linear model, ``δ_k = θ_k − θ*`` obeys ``δ_{k+1} = (I − lr·H) δ_k + lr·c``
(``H = 2/n AᵀA``, ``c = 2/n Aᵀr*``, see :mod:`gradfit.engines.exact`). With ``H = V Λ Vᵀ`` every
eigen-component evolves on its own::

    z_k = μ^k z_0 + ĉ (1 − μ^k) / λ,      μ = 1 − lr·λ,   z = Vᵀδ,   ĉ = Vᵀc

so the iterates, losses and trace of ``K`` epochs cost a few ``(K, p)`` array operations instead of
``K`` rounds of Python and NumPy call overhead. The numbers are the loop's to rounding (1e-15
relative per step; tests hold them to the numpy engine's to 1e-12).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Epochs evaluated per block: bounds memory at BLOCK × p floats whatever the number of epochs.
BLOCK = 4096


@dataclass(frozen=True)
class Eigen:
    """``H = V diag(λ) Vᵀ`` with ``ĉ = Vᵀc``."""

    values: np.ndarray  # (p,)
    vectors: np.ndarray  # (p, p), columns are eigenvectors
    c_hat: np.ndarray  # (p,)

    @classmethod
    def of(cls, hessian: np.ndarray, c: np.ndarray) -> "Eigen":
        values, vectors = np.linalg.eigh(hessian)
        return cls(values, vectors, vectors.T @ c)


def components(eigen: Eigen, z0: np.ndarray, lr: float, ks: np.ndarray) -> np.ndarray:
    """``z_k`` for each ``k`` in ``ks``: shape ``(len(ks), p)``."""
    mu = 1.0 - lr * eigen.values  # (p,)
    with np.errstate(over="ignore", invalid="ignore"):
        power = mu[None, :] ** ks[:, None].astype(np.float64)  # (K, p); inf when diverging
        # ĉ (1 − μ^k) / λ, which tends to ĉ·k·lr as λ → 0 (λ = 0 cannot occur: H is full rank).
        drift = eigen.c_hat * (1.0 - power) / eigen.values
        return power * z0 + drift


def train_losses(eigen: Eigen, z: np.ndarray, min_part: float) -> np.ndarray:
    """``½ δᵀHδ − δᵀc + ‖r*‖²/n`` for each row of ``z``: ``(K,)``."""
    with np.errstate(over="ignore", invalid="ignore"):
        return 0.5 * (z * z) @ eigen.values - z @ eigen.c_hat + min_part


def quadratic_losses(delta: np.ndarray, hessian: np.ndarray, c: np.ndarray, min_part: float) -> np.ndarray:
    """The same quadratic for rows of ``δ`` in the original basis (validation rows): ``(K,)``."""
    with np.errstate(over="ignore", invalid="ignore"):
        return 0.5 * np.einsum("kp,pq,kq->k", delta, hessian, delta) - delta @ c + min_part
