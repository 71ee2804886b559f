"""Learning-rate figures: losses at rates around the stability limit ``2/L``, and the range test's curve."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from ..errors import BadDataError, DivergedError
from .canvas import new_figure, save_figure
from .inputs import least_squares_mse, refit, refit_options

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..results.types import FitResult

LR_FACTORS = (0.1, 0.5, 0.95, 1.1)  # × the largest stable full-batch learning rate


def lr_figure(result: "FitResult", x_train, y_train, x_val=None, y_val=None, *,
              fit_options: Mapping[str, Any] | None = None, factors: Sequence[float] = LR_FACTORS,
              epochs: int | None = None) -> "Figure":
    """Training loss per epoch for learning rates at ``factors`` × ``result.lr_max_stable``.

    Full-batch plain gradient descent (the ``exact`` engine: the numpy engine's iterates at
    O(p²) an epoch) from ``result.initial`` for ``epochs`` (default ``result.epochs``). Rates above
    the stability limit ``2/L`` diverge: their curve stops where the run was stopped, marked.
    Log-scale on both axes, so the short diverging curve and the long converging ones both show.
    """
    from matplotlib.ticker import NullLocator

    options = refit_options(result, fit_options)
    val = None if x_val is None or not len(x_val) else (x_val, y_val)
    epochs = epochs or result.epochs
    limit = result.lr_max_stable
    figure = new_figure()
    ax = figure.add_subplot()
    colors = ["#1b9e77", "#7570b3", "#e6ab02", "#d95f02", "#e7298a", "#66a61e"]
    for i, factor in enumerate(factors):
        lr = factor * limit
        color = colors[i % len(colors)]
        label = f"lr {lr:.3g} ({factor:g} × 2/L)"
        try:
            run = refit(x_train, y_train, val, options, engine="exact", optimizer="sgd", batch_size=None,
                        epochs=epochs, lr=lr)
            losses, diverged = np.asarray(run.history.train_loss), None
        except DivergedError as error:
            losses, diverged = np.asarray(error.history, dtype=np.float64), error.epoch
            label += f", diverged at epoch {diverged}"
        epoch_numbers = np.arange(1, len(losses) + 1)
        ax.plot(epoch_numbers, losses, color=color, label=label, gid=f"lr-{factor:g}")
        if diverged is not None:
            ax.plot(epoch_numbers[-1], losses[-1], "X", color=color, markeredgecolor="black", markersize=10,
                    gid=f"diverged-{factor:g}")
            ax.annotate(f"diverged at epoch {diverged}", (epoch_numbers[-1], losses[-1]),
                        xytext=(8, -4), textcoords="offset points", fontsize=9, color=color, va="top")
    floor = least_squares_mse(result)
    if floor is not None and floor > 0:
        ax.axhline(floor, color="0.3", linestyle=":", linewidth=1, label=f"least-squares MSE {floor:.4g}", gid="floor")
    ax.set_xscale("log")
    ax.set_yscale("log")
    low, high = ax.get_ylim()
    if high > 1e5 * low:  # unlabelled minor ticks over many decades only crowd the axis (and are slow)
        ax.yaxis.set_minor_locator(NullLocator())
    ax.set_xlabel("epoch")
    ax.set_ylabel("training mean squared error")
    ax.set_title(f"Learning rates around the stability limit 2/L = {limit:.4g} (full batch)", fontsize=11)
    ax.grid(True, which="major", alpha=0.3)
    # Below the axes: inside, any corner can hide a curve or the divergence mark.
    figure.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=2, fontsize=9)
    return figure


def lr_find_figure(lrs: Sequence[float], losses: Sequence[float], suggestion: float | None, *,
                   limit: float | None = None, limit_label: str = "stability limit 2/L") -> "Figure":
    """Loss against learning rate (log x) from an LR range test, the suggested rate marked.

    ``limit``, when known (plain gradient descent on the MSE: ``2/L``, or ``2/L_B`` for
    mini-batches), is drawn as a vertical line labelled ``limit_label``: the range test's loss
    is often lowest past it, because the rate rises every step and the loss lags behind.
    Non-finite losses (the test ran into divergence) are left out.
    """
    lrs, losses = np.asarray(lrs, dtype=np.float64).ravel(), np.asarray(losses, dtype=np.float64).ravel()
    if len(lrs) != len(losses) or len(lrs) < 2:
        raise BadDataError(f"lr_find needs matching learning rates and losses, at least two of each; got "
                           f"{len(lrs)} learning rates and {len(losses)} losses")
    keep = np.isfinite(losses) & np.isfinite(lrs) & (lrs > 0)
    dropped = int(np.sum(~keep))
    lrs, losses = lrs[keep], losses[keep]
    figure = new_figure()
    ax = figure.add_subplot()
    ax.plot(lrs, losses, color="C0", label="loss", gid="loss")
    ax.set_xscale("log")
    if len(losses) and losses.min() > 0 and losses.max() / losses.min() > 100:
        ax.set_yscale("log")
    if limit is not None and np.isfinite(limit) and limit > 0:
        ax.axvline(limit, color="0.35", linestyle=":", linewidth=1.5, label=f"{limit_label} = {limit:.4g}",
                   gid="limit")
    if suggestion is not None and len(lrs):
        order = np.argsort(lrs)
        at = float(np.interp(np.log(suggestion), np.log(lrs[order]), losses[order]))
        ax.axvline(suggestion, color="crimson", linestyle="--", linewidth=1)
        ax.plot([suggestion], [at], "o", color="crimson", markersize=8, label=f"suggested lr = {suggestion:.3g}",
                gid="suggestion")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("training loss")
    ax.set_title("Learning-rate range test" + (f" ({dropped} non-finite losses left out)" if dropped else ""))
    ax.grid(True, which="major", alpha=0.3)
    ax.legend()
    return figure


def plot_lr_find(lrs: Sequence[float], losses: Sequence[float], suggestion: float | None,
                 path: str | os.PathLike, **marks) -> Path:
    """Write :func:`lr_find_figure` (``marks``: its ``limit`` and ``limit_label``) to ``path``
    (atomically); returns the path."""
    return save_figure(lr_find_figure(lrs, losses, suggestion, **marks), path)
