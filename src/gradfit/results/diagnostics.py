"""What a fit tells its user when it has not converged, and what to do about it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import option

if TYPE_CHECKING:
    from .types import FitResult


def not_converged_message(result: "FitResult") -> str:
    """Why a run counts as not converged, and what to do about it (options named with
    :func:`gradfit.errors.option`: render it for Python or the command line).

    A run that early stopping ended is told so: more epochs would not have run, the patience
    decides how long it trains.
    """
    where = (f"the parameters are up to {result.max_abs_diff:.3g} from the exact solution "
             f"({_relative_gap(result):.2g} of the largest coefficient)")
    measure = "gradient norm" if result.penalty is None else "KKT residual of the penalized objective"
    gradient = (f"the {measure} is {result.grad_norm:.3g} (scale-free; {result.initial_grad_norm:.3g} at the "
                f"start), above tol {result.tol:g}")
    if result.stopped_epoch is not None:
        return _stopped_early_message(result, f"{gradient}, and {where}")
    head = f"gradient descent did not converge in {result.epochs} epochs: {gradient}, and {where}; "
    if result.batch_size is None:
        step = "" if result.lr_requested == "auto" else \
            f"try {option('lr', 'auto')} (the stable limit is {result.lr_max_stable:.4g}), "
        return head + f"raise {option('epochs')}, {step}or use gradfit solve for the exact answer"
    return head + (
        f"raise {option('epochs')}; mini-batch steps with a constant learning rate also hover around the minimum, "
        f"so lower {option('lr')}, raise {option('batch_size')}, or leave {option('batch_size')} out for full batch"
    )


def _stopped_early_message(result: "FitResult", state: str) -> str:
    """Early stopping ended the run before gradient descent converged."""
    patience = result.patience
    kept = "" if result.best_epoch is None else f", keeping the weights of epoch {result.best_epoch}"
    head = (f"gradient descent stopped early at epoch {result.stopped_epoch} of {result.epochs} (patience {patience}: "
            f"no better validation loss for {patience} epochs{kept}) before it converged: {state}; ")
    if result.batch_size is not None:
        noise = (f"mini-batch steps make the validation loss noisy, so also lower {option('lr')} or raise "
                 f"{option('batch_size')}; ")
    else:
        noise = ""
    longer = option("patience", max(10, 4 * patience))
    return head + (f"raising {option('epochs')} would not help: raise {option('patience')} (say {longer}) or leave "
                   f"{option('patience')} out to run every epoch; {noise}or use gradfit solve for the exact answer")


def _relative_gap(result: "FitResult") -> float:
    """Largest |GD − closed form| over the largest |closed form| (per-parameter ratios explode
    for coefficients that are truly near zero)."""
    exact = result.closed_form.theta
    return float(np.max(np.abs(result.params.theta - exact)) / max(np.max(np.abs(exact)), np.finfo(np.float64).tiny))
