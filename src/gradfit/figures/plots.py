"""Figures of a fit: losses, the fitted line, the path on the loss surface, batch modes, step sizes.

Every ``*_figure`` function returns a :class:`matplotlib.figure.Figure` (so tests and notebooks can
read the plotted data back) and never touches ``pyplot``: figures are drawn on the Agg canvas
directly (:mod:`gradfit.results.canvas`), so plotting works on a headless machine and leaves a
notebook's backend alone. :func:`save_figure` writes a figure atomically; :func:`write_plots`
writes every figure (and animation) that applies to a result. matplotlib is imported only
inside these functions, so ``import gradfit`` stays light.

This module holds :func:`write_plots`. The losses, fit and path figures are
:mod:`gradfit.results.fit_figures` (the result's ``plot_*`` methods return them) and the loss
surface :mod:`gradfit.results.loss_surface`; the batch-modes figure is
:mod:`gradfit.figures.modes`, the animations :mod:`gradfit.figures.animation` and the
learning-rate figures :mod:`gradfit.figures.lr_figures` (all importable from here too).

Everything is on the original scale of the data: ``FitResult`` parameters and paths already are,
and the loss surface is the training MSE of the original-scale model even for standardized runs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from ..errors import BadOptionError
from ..results.canvas import DPI, SIZE, WIDE, save_figure
from ..results.figure_inputs import batch_mode
from ..results.fit_figures import MAX_SCATTER_POINTS, fit_figure, losses_figure, path_figure
from ..results.loss_surface import MAX_PATH_POINTS, LossSurface
from .animation import MAX_FRAMES, frame_updates, modes_animation, path_animation, save_animation
from .lr_figures import LR_FACTORS, lr_figure, lr_find_figure, plot_lr_find
from .modes import MODES_MAX_ROWS, MODES_MAX_SGD_UPDATES, MODES_MINI_BATCH, mode_runs, modes_figure

if TYPE_CHECKING:
    from ..results.types import FitResult

__all__ = ["ANIMATED", "DPI", "LR_FACTORS", "MAX_FRAMES", "MAX_PATH_POINTS", "MAX_SCATTER_POINTS", "MODES_MAX_ROWS",
           "MODES_MAX_SGD_UPDATES", "MODES_MINI_BATCH", "PLOT_NAMES", "SIZE", "WIDE", "LossSurface", "batch_mode",
           "fit_figure", "frame_updates", "losses_figure", "lr_figure", "lr_find_figure", "modes_animation",
           "modes_figure", "path_animation", "path_figure", "plot_files", "plot_folder", "plot_lr_find", "save_animation",
           "save_figure", "skipped_plots", "write_plots"]

PLOT_NAMES = ("losses", "fit", "path", "modes", "lr")  # write_plots' figures, in this order
ANIMATED = ("path", "modes")  # also written as GIFs, each after its PNG


def plot_files(name: str) -> list[str]:
    """The files :func:`write_plots` writes for figure ``name``: ``['path.png', 'path.gif']``."""
    return [f"{name}.png"] + ([f"{name}.gif"] if name in ANIMATED else [])


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
                fit_options: Mapping[str, Any] | None = None, animate: bool = True) -> list[Path]:
    """Write every figure that applies to ``result`` into ``directory``; returns the paths written.

    ``losses.png`` and ``lr.png`` always; ``fit.png``, ``path.png`` and ``modes.png`` for one
    feature (path and modes with an intercept, path only when ``result.path`` was recorded), and
    with ``animate`` their animations ``path.gif`` and ``modes.gif`` (:mod:`gradfit.figures.animation`)
    beside them: :func:`skipped_plots` says which were left out and why (:func:`plot_files`: the
    files of each).

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
    animate : bool
        Write the GIFs too (a few seconds each).

    Examples
    --------
    Rendering five figures and two animations takes several seconds, so the doctest skips the last two lines:

    >>> import gradfit
    >>> from gradfit.data import load_dataset
    >>> data = load_dataset("book")
    >>> res = gradfit.fit(record_path=True)
    >>> paths = write_plots(res, data.x_train, data.y_train, data.x_val, data.y_val, "plots")  # doctest: +SKIP
    >>> [p.name for p in paths]  # doctest: +SKIP
    ['losses.png', 'fit.png', 'path.png', 'path.gif', 'modes.png', 'modes.gif', 'lr.png']
    """
    directory = plot_folder(directory)
    skipped = skipped_plots(result)
    # The modes figure and its animation draw the same three re-runs: run them once.
    runs = None if "modes" in skipped else mode_runs(result, x_train, y_train, fit_options=fit_options)
    makers = {
        "losses": lambda: losses_figure(result),
        "fit": lambda: fit_figure(result, x_train, y_train, x_val, y_val),
        "path": lambda: path_figure(result, x_train, y_train),
        "modes": lambda: modes_figure(result, x_train, y_train, runs=runs),
        "lr": lambda: lr_figure(result, x_train, y_train, x_val, y_val, fit_options=fit_options),
    }
    movies = {"path": lambda: path_animation(result, x_train, y_train), "modes": lambda: modes_animation(result, runs)}
    written = []
    for name in (name for name in PLOT_NAMES if name not in skipped):
        written.append(save_figure(makers[name](), directory / f"{name}.png"))
        if animate and name in movies:
            written.append(save_animation(movies[name](), directory / f"{name}.gif"))
    return written


def plot_folder(directory: str | os.PathLike) -> Path:
    """``directory``, created if missing (``plot`` named in the error when it cannot be)."""
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise BadOptionError("plot", str(directory), "is a file, not a folder", "give a folder to write the figures to")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise BadOptionError("plot", str(directory), f"cannot create the folder ({error.strerror})",
                             "choose a writable folder") from None
    return directory
