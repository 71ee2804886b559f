"""What a fit tells its user when something deserves attention: collinearity, no convergence."""

from __future__ import annotations

import warnings

import numpy as np

from ..errors import CollinearityWarning
from .types import FitResult

# Belsley's rule of thumb flags condition indices of unit-length columns above 30; 1000 is well
# past "strong" collinearity (Longley: 4.3e4, Wampler: 2.2e3, Filip: 5.2e9).
COLLINEARITY_WARNING_ABOVE = 1e3


def warn_if_collinear(condition_number: float, names: list[str]) -> None:
    """Warn when the columns are so nearly collinear that coefficients are poorly determined."""
    if condition_number > COLLINEARITY_WARNING_ABOVE:
        warnings.warn(
            f"the condition number of the design (columns scaled to unit length) is {condition_number:.3g}: "
            f"the columns {', '.join(names)} are nearly collinear, so individual coefficients are poorly "
            "determined (large standard errors) and gradient descent converges slowly; the closed form stays "
            "accurate",
            CollinearityWarning, stacklevel=3,
        )


def not_converged_message(result: FitResult) -> str:
    """Why a run counts as not converged, and what to do about it."""
    head = (
        f"gradient descent did not converge in {result.epochs} epochs: the gradient norm is "
        f"{result.grad_norm:.3g} (scale-free; {result.initial_grad_norm:.3g} at the start), above tol {result.tol:g}, "
        f"and the parameters are up to {result.max_abs_diff:.3g} from the exact solution "
        f"({_relative_gap(result):.2g} of the largest coefficient); "
    )
    if result.batch_size is None:
        step = "" if result.lr_requested == "auto" else f"try --lr auto (the stable limit is {result.lr_max_stable:.4g}), "
        return head + f"raise --epochs, {step}or use gradfit solve for the exact answer"
    return head + (
        "raise --epochs; mini-batch steps with a constant learning rate also hover around the minimum, so "
        "lower --lr, raise --batch-size, or leave --batch-size out for full batch"
    )


def _relative_gap(result: FitResult) -> float:
    """Largest |GD − closed form| over the largest |closed form| (per-parameter ratios explode
    for coefficients that are truly near zero)."""
    exact = result.closed_form.theta
    return float(np.max(np.abs(result.params.theta - exact)) / max(np.max(np.abs(exact)), np.finfo(np.float64).tiny))
