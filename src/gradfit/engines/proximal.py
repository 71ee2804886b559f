"""Proximal gradient descent on a quadratic: ISTA and FISTA at O(p²) an epoch (the exact engine).

With an ``l1`` penalty the objective ``F = f + l1·Σ mⱼ|θⱼ|`` (``f`` the MSE plus any ridge part,
a quadratic) is not smooth; each epoch takes the gradient step on ``f`` and then the proximal
step of the absolute values (soft thresholding)::

    ISTA:   θ_k = prox(θ_{k−1} − lr·∇f(θ_{k−1}))
    FISTA:  v = θ_{k−1} + (t_{k−1} − 1)/t_k · (θ_{k−1} − θ_{k−2}),  t_k = (1 + √(1 + 4t²_{k−1}))/2,
            θ_k = prox(v − lr·∇f(v))

(Beck & Teboulle 2009). Without a penalty FISTA is Nesterov's accelerated gradient descent.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .eigen import quadratic_losses


@dataclass(frozen=True)
class PenalizedQuadratic:
    """``f(θ) = MSE(θ) + l2·θᵀMθ`` as a quadratic around ``theta_ref`` (same fields as
    :class:`gradfit.engines.exact.Quadratic`)."""

    theta_ref: np.ndarray
    hessian: np.ndarray
    c: np.ndarray
    min_part: float

    def gradient(self, theta: np.ndarray) -> np.ndarray:
        return self.hessian @ (theta - self.theta_ref) - self.c


def penalized_quadratic(train, penalty) -> PenalizedQuadratic:
    """``train`` (the MSE's quadratic) plus the penalty's squares, around the same point::

        H_F = H + 2·l2·M,   c_F = c − 2·l2·M·θ_ref,   min_F = min + l2·θ_refᵀMθ_ref
    """
    ridge = 2.0 * penalty.l2 * penalty.mask  # (p,)
    penalized_ref = penalty.mask * train.theta_ref
    return PenalizedQuadratic(theta_ref=train.theta_ref, hessian=train.hessian + np.diag(ridge),
                              c=train.c - ridge * train.theta_ref,
                              min_part=train.min_part + penalty.l2 * float(penalized_ref @ penalized_ref))


class ProximalIterates:
    """``ks -> (losses, thetas())`` for consecutive iterate numbers from 0: the proximal iterates
    and their MSE (``train``: the unpenalized quadratic), computed as the blocks ask for them."""

    def __init__(self, smooth, train, penalty, lr: float, theta0: np.ndarray, accelerated: bool) -> None:
        self.smooth, self.train, self.penalty, self.lr = smooth, train, penalty, lr
        self.accelerated = accelerated
        self.theta = theta0.copy()  # θ_{k−1}
        self.previous = theta0.copy()  # θ_{k−2}
        self.t = 1.0
        self.next_k = 0

    def __call__(self, ks: np.ndarray):
        rows = np.empty((len(ks), len(self.theta)))
        with np.errstate(over="ignore", invalid="ignore"):  # diverging: inf/nan, caught by the monitor
            for i, k in enumerate(ks):
                if k != self.next_k:
                    raise ValueError(f"iterates must be asked for in order: expected {self.next_k}, got {k}")
                if k > 0:
                    self._step()
                rows[i] = self.theta
                self.next_k += 1
            losses = quadratic_losses(rows - self.train.theta_ref, self.train.hessian, self.train.c,
                                      self.train.min_part)
        return losses, lambda: rows

    def _step(self) -> None:
        point = self.theta
        if self.accelerated:
            t_next = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * self.t * self.t))
            point = self.theta + ((self.t - 1.0) / t_next) * (self.theta - self.previous)
            self.t = t_next
        stepped = point - self.lr * self.smooth.gradient(point)
        self.previous = self.theta
        self.theta = stepped if self.penalty is None else self.penalty.prox(stepped, self.lr)
