"""Figures of a fit: losses, the fitted line, the path on the loss surface, batch modes, step sizes.

Every ``*_figure`` function returns a :class:`matplotlib.figure.Figure` (so tests and notebooks can
read the plotted data back) and never touches ``pyplot``: figures are drawn on the Agg canvas
directly (:mod:`gradfit.figures.canvas`), so plotting works on a headless machine and leaves a
notebook's backend alone. :func:`save_figure` writes a figure atomically; :func:`write_plots`
writes every figure that applies to a result. matplotlib is imported only inside these
functions, so ``import gradfit`` stays light.

This module holds the losses, fit and path figures and :func:`write_plots`; the loss surface is
:mod:`gradfit.figures.surface`, the batch-modes figure :mod:`gradfit.figures.modes`, and the
learning-rate figures :mod:`gradfit.figures.lr_figures` (all importable from here too).

Everything is on the original scale of the data: ``FitResult`` parameters and paths already are,
and the loss surface is the training MSE of the original-scale model even for standardized runs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from ..errors import BadOptionError
from .canvas import DPI, SIZE, WIDE, log_y, new_figure, save_figure
from .inputs import (batch_mode, column, feature_label, least_squares_mse, require_one_feature,
                     require_surface)
from .lr_figures import LR_FACTORS, lr_figure, lr_find_figure, plot_lr_find
from .modes import MODES_MAX_ROWS, MODES_MAX_SGD_UPDATES, MODES_MINI_BATCH, modes_figure
from .surface import MAX_PATH_POINTS, LossSurface, add_colorbar, axis_box, draw_path, draw_surface

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..results.types import FitResult

__all__ = ["DPI", "LR_FACTORS", "MAX_PATH_POINTS", "MAX_SCATTER_POINTS", "MODES_MAX_ROWS", "MODES_MAX_SGD_UPDATES",
           "MODES_MINI_BATCH", "PLOT_NAMES", "SIZE", "WIDE", "LossSurface", "batch_mode", "fit_figure",
           "losses_figure", "lr_figure", "lr_find_figure", "modes_figure", "path_figure", "plot_lr_find",
           "save_figure", "skipped_plots", "write_plots"]

MAX_SCATTER_POINTS = 5000  # per split in the fit figure; more are subsampled (seeded)
PLOT_NAMES = ("losses", "fit", "path", "modes", "lr")  # write_plots' files, in this order


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
    if result.path is None:
        raise BadOptionError("record_path", False, "the path figure needs the parameters after every update",
                             "fit with record_path=True")
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


# --- which figures apply, and all of them at once -----------------------------------------------

def skipped_plots(result: "FitResult") -> dict[str, str]:
    """The figures :func:`write_plots` leaves out for ``result``, each with the reason.

    Examples
    --------
    >>> import numpy as np, gradfit
    >>> from gradfit.figures.plots import skipped_plots
    >>> x = np.random.default_rng(0).random((30, 2))
    >>> res = gradfit.fit(x, x @ [1.0, 2.0] + 0.5, lr="auto", epochs=20, tol=1e3)
    >>> sorted(skipped_plots(res))
    ['fit', 'modes', 'path']
    """
    skipped = {}
    if len(result.names) != 1:
        why = f"the model has {len(result.names)} features ({', '.join(result.names)}); it needs exactly one"
        skipped["fit"] = skipped["path"] = skipped["modes"] = why
    elif result.params.intercept is None:
        why = "the model has no intercept; the loss surface is drawn over (b, w)"
        skipped["path"] = skipped["modes"] = why
    elif result.path is None:
        skipped["path"] = "the run did not record its path (fit with record_path=True)"
    return skipped


def write_plots(result: "FitResult", x_train, y_train, x_val, y_val, directory: str | os.PathLike, *,
                fit_options: Mapping[str, Any] | None = None) -> list[Path]:
    """Write every figure that applies to ``result`` into ``directory``; returns the paths written.

    ``losses.png`` and ``lr.png`` always; ``fit.png``, ``path.png`` and ``modes.png`` for one
    feature (path and modes with an intercept, path only when ``result.path`` was recorded):
    :func:`skipped_plots` says which were left out and why.

    Parameters
    ----------
    result : FitResult
    x_train, y_train, x_val, y_val : array_like
        The rows ``result`` was fitted on, on the original scale, before polynomial expansion
        (``x_val``, ``y_val`` may be ``None``).
    directory : path
        Created if missing.
    fit_options : mapping, optional
        Keyword arguments of :func:`gradfit.fit` that reproduce ``result``'s problem, for the
        figures that re-run gradient descent (modes, lr). ``intercept``, ``standardize``, ``poly``,
        ``names``, ``seed``, ``tol`` and the start (``init``) are taken from ``result`` unless
        given here. The rows are the ones passed here (``val``, ``val_split`` and ``dataset`` are
        ignored), and each figure sets engine, model, optimizer, learning rate, batch size,
        epochs, device and dtype itself (those keys are ignored too), so the CLI can pass its
        whole option set.

    Examples
    --------
    Rendering five figures takes a few seconds, so the doctest skips the last two lines:

    >>> import gradfit
    >>> from gradfit.data import load_dataset
    >>> data = load_dataset("book")
    >>> res = gradfit.fit(record_path=True)
    >>> paths = write_plots(res, data.x_train, data.y_train, data.x_val, data.y_val, "plots")  # doctest: +SKIP
    >>> [p.name for p in paths]  # doctest: +SKIP
    ['losses.png', 'fit.png', 'path.png', 'modes.png', 'lr.png']
    """
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise BadOptionError("plot", str(directory), "is a file, not a folder", "give a folder to write the figures to")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise BadOptionError("plot", str(directory), f"cannot create the folder ({error.strerror})",
                             "choose a writable folder") from None
    skipped = skipped_plots(result)
    makers = {
        "losses": lambda: losses_figure(result),
        "fit": lambda: fit_figure(result, x_train, y_train, x_val, y_val),
        "path": lambda: path_figure(result, x_train, y_train),
        "modes": lambda: modes_figure(result, x_train, y_train, fit_options=fit_options),
        "lr": lambda: lr_figure(result, x_train, y_train, x_val, y_val, fit_options=fit_options),
    }
    return [save_figure(makers[name](), directory / f"{name}.png") for name in PLOT_NAMES if name not in skipped]
