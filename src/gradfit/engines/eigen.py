"""Full-batch gradient descent on a quadratic, all epochs at once from the eigenbasis.

For the MSE of a linear model, ``δ_k = θ_k − θ*`` obeys ``δ_{k+1} = (I − lr·H) δ_k + lr·c``
(``H = 2/n AᵀA``, ``c = 2/n Aᵀr*``, see :mod:`gradfit.engines.exact`). With ``H = V Λ Vᵀ`` every
eigen-component evolves on its own::

    z_k = μ^k z_0 + ĉ (1 − μ^k) / λ,      μ = 1 − lr·λ,   z = Vᵀδ,   ĉ = Vᵀc

so the iterates, losses and trace of ``K`` epochs cost a few ``(K, p)`` array operations instead of
``K`` rounds of Python and NumPy call overhead (the exact engine takes ``limits.EXACT_EPOCH_BLOCK``
epochs at a time, so memory stays that many rows of ``p`` whatever the epochs). The numbers are
the loop's to rounding (1e-15 relative per step; tests hold them to the numpy engine's to 1e-12).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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
    if np.all(np.abs(mu) <= 1.0):  # stable: nothing can overflow (np.errstate costs ~0.1 ms a call)
        return _components(eigen, z0, mu, ks)
    with np.errstate(over="ignore", invalid="ignore"):  # diverging: inf/nan, caught by the monitor
        return _components(eigen, z0, mu, ks)


def _components(eigen: Eigen, z0: np.ndarray, mu: np.ndarray, ks: np.ndarray) -> np.ndarray:
    power = powers(mu, ks)  # (K, p)
    # ĉ (1 − μ^k) / λ, which tends to ĉ·k·lr as λ → 0 (λ = 0 cannot occur: H is full rank).
    drift = eigen.c_hat * (1.0 - power) / eigen.values
    return power * z0 + drift


# Powers of consecutive epochs from two small tables: μ^(k0 + m·a + b) = μ^(k0 + m·a) · μ^b.
_TABLE = 64


def powers(mu: np.ndarray, ks: np.ndarray) -> np.ndarray:
    """``μ^k`` for consecutive ``ks``: ``(K, p)``.

    A float power per element and epoch is the exact engine's whole cost at large ``p`` (85% of
    it at p = 101); two tables of ``2·m`` powers and one product per element give the same
    numbers to 2–3 units in the last place, about 8× faster (``m = 64``).

    >>> mu = np.array([0.5, -0.9]); ks = np.arange(3, 200)
    >>> bool(np.allclose(powers(mu, ks), mu[None, :] ** ks[:, None], rtol=1e-15, atol=0))
    True
    """
    m = _TABLE
    if len(ks) <= m or np.any(np.diff(ks) != 1):
        return mu[None, :] ** ks[:, None].astype(np.float64)
    rows = -(-len(ks) // m)  # ceil: blocks of m epochs
    low = mu[None, :] ** np.arange(m, dtype=np.float64)[:, None]  # (m, p): μ^b
    high = mu[None, :] ** (float(ks[0]) + m * np.arange(rows, dtype=np.float64))[:, None]  # (rows, p)
    return (high[:, None, :] * low[None, :, :]).reshape(rows * m, len(mu))[:len(ks)]


def train_losses(eigen: Eigen, z: np.ndarray, min_part: float) -> np.ndarray:
    """``½ δᵀHδ − δᵀc + ‖r*‖²/n`` for each row of ``z``: ``(K,)``."""
    if np.abs(z).max(initial=0.0) < 1e150:  # squares cannot overflow (NaN compares False: goes below)
        return 0.5 * (z * z) @ eigen.values - z @ eigen.c_hat + min_part
    with np.errstate(over="ignore", invalid="ignore"):
        return 0.5 * (z * z) @ eigen.values - z @ eigen.c_hat + min_part


def quadratic_losses(delta: np.ndarray, hessian: np.ndarray, c: np.ndarray, min_part: float) -> np.ndarray:
    """The same quadratic for rows of ``δ`` in the original basis (validation rows): ``(K,)``."""
    return 0.5 * np.einsum("kp,pq,kq->k", delta, hessian, delta) - delta @ c + min_part
