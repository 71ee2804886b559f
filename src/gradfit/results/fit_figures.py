"""The figures of one fit: its losses, its fitted line, its path on the loss surface.

Each ``*_figure`` function returns a :class:`matplotlib.figure.Figure` drawn on the Agg canvas
(:mod:`gradfit.results.canvas`), never shown and never saved, so tests and notebooks can read the
plotted data back. They live with the result, below ``figures/``, because
:meth:`gradfit.FitResult.plot_losses`, :meth:`~gradfit.FitResult.plot_fit` and
:meth:`~gradfit.FitResult.plot_path` return them (``*_of``: the rows found for them), and
``results/`` may not import the layer above it; :mod:`gradfit.figures.plots` re-exports them
and writes them to files.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import BadOptionError
from .canvas import log_y, new_figure
from .figure_inputs import (batch_mode, column, feature_label, fitted_rows, least_squares_mse, require_one_feature,
                            require_surface)
from .loss_surface import LossSurface, add_colorbar, axis_box, draw_path, draw_surface

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .types import FitResult

MAX_SCATTER_POINTS = 5000  # per split in the fit figure; more are subsampled (seeded)


def require_path(result: "FitResult") -> None:
    """Refuse to draw a path that the run did not record (``record_path=True`` records it)."""
    if result.path is None:
        raise BadOptionError("record_path", False, "the path figure needs the parameters after every update",
                             "fit with record_path=True")


def fit_figure_of(result: "FitResult", x=None, y=None, x_val=None, y_val=None) -> "Figure":
    """:func:`fit_figure` of the rows :func:`~gradfit.results.figure_inputs.fitted_rows` finds."""
    require_one_feature(result, "fit")
    return fit_figure(result, *fitted_rows(result, x, y, x_val, y_val))


def path_figure_of(result: "FitResult", x=None, y=None) -> "Figure":
    """:func:`path_figure` on the surface of the training rows :func:`~gradfit.results.figure_inputs.fitted_rows` finds."""
    require_surface(result, "path")
    require_path(result)
    x_train, y_train, _, _ = fitted_rows(result, x, y)
    return path_figure(result, x_train, y_train)


def losses_figure(result: "FitResult") -> "Figure":
    """Training and validation MSE per epoch (``result.history``), log-scale y.

    Examples
    --------
    >>> import gradfit
    >>> from gradfit.figures.plots import losses_figure
    >>> figure = losses_figure(gradfit.fit(epochs=20, tol=1e3))
    >>> [line.get_gid() for line in figure.axes[0].get_lines()]
    ['train', 'val', 'floor']
    """
    figure = new_figure()
    ax = figure.add_subplot()
    train = np.asarray(result.history.train_loss, dtype=np.float64)
    ax.plot(np.arange(1, len(train) + 1), train, color="C0", label="training", gid="train")
    if result.history.val_loss:
        val = np.asarray(result.history.val_loss, dtype=np.float64)
        ax.plot(np.arange(1, len(val) + 1), val, color="C1", label="validation", gid="val")
    floor = least_squares_mse(result)
    if floor is not None and floor > 0:
        ax.axhline(floor, color="0.3", linestyle=":", linewidth=1, label=f"least-squares training MSE {floor:.4g}",
                   gid="floor")
    log_y(ax)
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean squared error")
    optimizer = "" if result.optimizer == "sgd" else f"{result.optimizer} "
    ax.set_title(f"Loss per epoch · {result.engine} engine · {optimizer}lr {result.lr:.4g} · "
                 f"{batch_mode(result.batch_size)}")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend()
    return figure


def fit_figure(result: "FitResult", x_train, y_train, x_val=None, y_val=None) -> "Figure":
    """One feature: the training and validation points, the fitted line and the least-squares line."""
    require_one_feature(result, "fit")
    figure = new_figure()
    ax = figure.add_subplot()
    x_train, y_train = column(x_train), column(y_train)
    xs = [x_train]
    splits = [("training", x_train, y_train, dict(color="C0", marker="o"), "train")]
    if x_val is not None and len(x_val):
        x_val, y_val = column(x_val), column(y_val)
        splits.append(("validation", x_val, y_val, dict(color="C1", marker="D"), "val"))
        xs.append(x_val)
    for name, xs_split, ys_split, style, gid in splits:
        label, shown = f"{name} rows ({len(xs_split):,})", np.arange(len(xs_split))
        if len(xs_split) > MAX_SCATTER_POINTS:  # a readable cloud, not a solid blot
            shown = np.sort(np.random.default_rng(0).choice(len(xs_split), MAX_SCATTER_POINTS, replace=False))
            label = f"{name} rows ({MAX_SCATTER_POINTS:,} of {len(xs_split):,} shown)"
        small = len(shown) <= 500
        ax.scatter(xs_split[shown], ys_split[shown], s=20 if small else 4, alpha=0.8 if small else 0.3,
                   label=label, gid=gid, **style)
    every = np.concatenate(xs)
    grid = np.linspace(every.min(), every.max(), 2)

    def line(params) -> tuple[float, float]:
        return (params.intercept or 0.0), float(params.coef[0])

    for params, style, name, gid in [(result.params, dict(color="crimson", linewidth=3, alpha=0.6),
                                      "gradient descent", "gd"),
                                     (result.closed_form, dict(color="black", linewidth=1.3, linestyle="--"),
                                      "least squares", "closed_form")]:
        b, w = line(params)
        sign = "−" if w < 0 else "+"
        ax.plot(grid, b + w * grid, label=f"{name}: y = {b:.4g} {sign} {abs(w):.4g}·x", gid=gid, **style)
    ax.set_xlabel(feature_label(result))
    ax.set_ylabel(result.target or "y")
    ax.set_title(f"Fitted line · max |GD − least squares| = {result.max_abs_diff:.2g}")
    ax.grid(True, alpha=0.3)
    ax.legend()
    return figure


def path_figure(result: "FitResult", x_train, y_train) -> "Figure":
    """One feature plus intercept: the run's path on the contours of the training MSE over (b, w).

    Needs ``result.path`` (fit with ``record_path=True``).
    """
    require_surface(result, "path")
    require_path(result)
    minimum = (float(result.closed_form.intercept), float(result.closed_form.coef[0]))
    surface = LossSurface(column(x_train), column(y_train), minimum)
    b_range, w_range = axis_box(np.vstack([result.path, [minimum]]))
    figure = new_figure()
    ax = figure.add_subplot()
    filled, levels = draw_surface([ax], surface, b_range, w_range, result)
    draw_path(ax, result.path, minimum)
    ax.legend(loc="best", fontsize=8, framealpha=0.9)
    add_colorbar(figure, filled, levels, ax)
    ax.set_title(f"Path on the loss surface · {result.engine}, lr {result.lr:.4g}, "
                 f"{batch_mode(result.batch_size)}, {result.updates} updates", fontsize=10)
    return figure
