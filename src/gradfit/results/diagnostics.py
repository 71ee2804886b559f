"""What a fit tells its user when it has not converged, and what to do about it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import option

if TYPE_CHECKING:
    from .types import FitResult


def not_converged_message(result: "FitResult") -> str:
    """Why a run counts as not converged, and what to do about it (options named with
    :func:`gradfit.errors.option`: render it for Python or the command line)."""
    head = (
        f"gradient descent did not converge in {result.epochs} epochs: the gradient norm is "
        f"{result.grad_norm:.3g} (scale-free; {result.initial_grad_norm:.3g} at the start), above tol {result.tol:g}, "
        f"and the parameters are up to {result.max_abs_diff:.3g} from the exact solution "
        f"({_relative_gap(result):.2g} of the largest coefficient); "
    )
    if result.batch_size is None:
        step = "" if result.lr_requested == "auto" else \
            f"try {option('lr', 'auto')} (the stable limit is {result.lr_max_stable:.4g}), "
        return head + f"raise {option('epochs')}, {step}or use gradfit solve for the exact answer"
    return head + (
        f"raise {option('epochs')}; mini-batch steps with a constant learning rate also hover around the minimum, "
        f"so lower {option('lr')}, raise {option('batch_size')}, or leave {option('batch_size')} out for full batch"
    )


def _relative_gap(result: "FitResult") -> float:
    """Largest |GD − closed form| over the largest |closed form| (per-parameter ratios explode
    for coefficients that are truly near zero)."""
    exact = result.closed_form.theta
    return float(np.max(np.abs(result.params.theta - exact)) / max(np.max(np.abs(exact)), np.finfo(np.float64).tiny))
