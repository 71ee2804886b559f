"""Figures of a fit: losses, the fitted line, the path on the loss surface, batch modes, step sizes.

Every ``*_figure`` function returns a :class:`matplotlib.figure.Figure` (so tests and notebooks can
read the plotted data back) and never touches ``pyplot``: figures are drawn on the Agg canvas
directly, so plotting works on a headless machine and leaves a notebook's backend alone.
:func:`save_figure` writes a figure atomically; :func:`write_plots` writes every figure that
applies to a result. matplotlib is imported only inside these functions, so ``import gradfit``
stays light.

Everything is on the original scale of the data: ``FitResult`` parameters and paths already are,
and the loss surface is the training MSE of the original-scale model even for standardized runs.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from ..atomic import atomic_write_bytes
from ..errors import BadDataError, BadOptionError, DivergedError, require

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ..results.types import FitResult

SIZE = (7.0, 5.0)  # inches; at DPI, 840 × 600 pixels
WIDE = (15.0, 5.0)  # three panels side by side
DPI = 120
MAX_PATH_POINTS = 5000  # longer paths are thinned for drawing (first and last points always kept)
MODES_MAX_SGD_UPDATES = 8000  # the modes figure's epochs: stochastic GD does ~55 µs an update
MODES_MAX_ROWS = 400  # larger training sets are subsampled, so every mode gets ≥ 20 epochs
MAX_SCATTER_POINTS = 5000  # per split in the fit figure; more are subsampled (seeded)
MODES_MINI_BATCH = 16
LR_FACTORS = (0.1, 0.5, 0.95, 1.1)  # × the largest stable full-batch learning rate
PLOT_NAMES = ("losses", "fit", "path", "modes", "lr")  # write_plots' files, in this order


def _matplotlib():
    require("matplotlib")
    from matplotlib.figure import Figure

    return Figure


def _new_figure(size: tuple[float, float] = SIZE) -> "Figure":
    figure_class = _matplotlib()  # a clear error, not an ImportError, when matplotlib is missing
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    figure = figure_class(figsize=size, dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)  # headless, independent of pyplot's current backend
    return figure


def save_figure(figure: "Figure", path: str | os.PathLike) -> Path:
    """Write ``figure`` to ``path`` atomically (see :func:`atomic_write_bytes`); returns the path.

    The format follows the suffix (``.png`` by default).
    """
    path = Path(path)
    buffer = io.BytesIO()
    figure.savefig(buffer, format=path.suffix[1:].lower() or "png", dpi=DPI)
    atomic_write_bytes(path, buffer.getvalue())
    return path


# --- small helpers ------------------------------------------------------------------------------

def batch_mode(batch_size: int | None) -> str:
    """``full batch``, ``mini-batch 16`` or ``stochastic (batch 1)``."""
    if batch_size is None:
        return "full batch"
    return "stochastic (batch 1)" if batch_size == 1 else f"mini-batch {batch_size}"


def _column(a) -> np.ndarray:
    """One feature or target as a float64 vector ``(n,)``."""
    return np.asarray(a, dtype=np.float64).reshape(len(a), -1)[:, 0]


def _thin(path: np.ndarray, max_points: int = MAX_PATH_POINTS) -> np.ndarray:
    """At most ``max_points`` rows of ``path``, evenly spread, the first and last always kept."""
    if len(path) <= max_points:
        return path
    keep = np.unique(np.linspace(0, len(path) - 1, max_points).round().astype(int))
    return path[keep]


def _log_y(ax: "Axes") -> None:
    """A log-scale y axis; over less than two decades every labelled tick reads as a plain number
    (matplotlib's default there is ``2×10⁰``-style minor labels)."""
    from matplotlib.ticker import FormatStrFormatter

    ax.set_yscale("log")
    low, high = ax.get_ylim()
    if high < 100 * low:
        ax.yaxis.set_major_formatter(FormatStrFormatter("%.3g"))
        ax.yaxis.set_minor_formatter(FormatStrFormatter("%.3g"))


def _feature_label(result: "FitResult") -> str:
    return result.names[0] if result.names else "x"


def _refit_options(result: "FitResult", fit_options: Mapping[str, Any] | None) -> dict[str, Any]:
    """The data options that reproduce ``result``'s problem, then the caller's ``fit_options``.

    Starting from ``result.initial`` makes every re-run start where the figured run started.
    """
    options: dict[str, Any] = {
        "intercept": result.params.intercept is not None, "standardize": result.scaling is not None,
        "poly": result.poly_degree, "names": list(result.inputs or result.names), "seed": result.seed,
        "tol": result.tol, "init": result.initial.theta,
    }
    # What each figure sets itself, and what would change the rows: ignored if given.
    figure_owned = {"x", "y", "val", "val_split", "dataset", "engine", "model", "optimizer", "lr", "epochs",
                    "batch_size", "device", "dtype", "record_path"}
    options.update({key: value for key, value in (fit_options or {}).items() if key not in figure_owned})
    return options


def _refit(x, y, val, options: dict[str, Any], **overrides) -> "FitResult":
    from ..api import fit

    with warnings.catch_warnings():
        # Short illustrative runs are not expected to converge, and warnings about them would
        # only be noise on the user's terminal.
        warnings.simplefilter("ignore")
        return fit(x, y, val=val, **{**options, **overrides})


# --- the loss surface ---------------------------------------------------------------------------

class LossSurface:
    """The training MSE of ``y ≈ b + w·x`` on the original scale, as a function of ``(b, w)``.

    Written around the least-squares solution ``(b*, w*)`` with residuals ``r* = y - b* - w*·x``,
    so values near the minimum do not suffer the cancellation of expanding ``(y - b - w·x)²``::

        MSE(b, w) = mean(r*²) - 2δb·mean(r*) - 2δw·mean(x·r*) + δb² + 2δb·δw·mean(x) + δw²·mean(x²)

    with ``δb = b - b*``, ``δw = w - w*``.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, minimum: tuple[float, float]) -> None:
        self.minimum = minimum
        residuals = y - minimum[0] - minimum[1] * x  # (n,)
        self.floor = float(np.mean(residuals ** 2))
        self.m_r, self.m_xr = float(np.mean(residuals)), float(np.mean(x * residuals))
        self.m_x, self.m_xx = float(np.mean(x)), float(np.mean(x * x))

    def __call__(self, b: np.ndarray, w: np.ndarray) -> np.ndarray:
        db, dw = b - self.minimum[0], w - self.minimum[1]
        return (self.floor - 2 * db * self.m_r - 2 * dw * self.m_xr
                + db * db + 2 * db * dw * self.m_x + dw * dw * self.m_xx)


def _box(points: np.ndarray, pad: float = 0.15) -> tuple[tuple[float, float], tuple[float, float]]:
    """Axis ranges that hold every ``(b, w)`` row of ``points`` with a margin."""
    low, high = points.min(axis=0), points.max(axis=0)
    span = np.maximum(high - low, 1e-3 * np.maximum(np.abs(high), 1.0))
    low, high = low - pad * span, high + pad * span
    return (float(low[0]), float(high[0])), (float(low[1]), float(high[1]))


def _draw_surface(axes: Sequence["Axes"], surface: LossSurface, b_range, w_range, result: "FitResult"):
    """Filled contours of the loss on every axis in ``axes``; returns the last contour set.

    Levels are log-spaced in the loss above its minimum (three decades up to the highest value on
    the grid), so the narrow valley and the steep rim both get contour lines.
    """
    from matplotlib.colors import BoundaryNorm

    # A quadratic's contours are smooth ellipses: 160 points a side draw them cleanly.
    b_grid, w_grid = np.meshgrid(np.linspace(*b_range, 160), np.linspace(*w_range, 160))
    loss = surface(b_grid, w_grid)  # (160, 160)
    top = float(loss.max()) - surface.floor
    levels = surface.floor + np.geomspace(top * 1e-3, top, 16)
    levels = np.concatenate([[min(surface.floor, float(loss.min()))], levels])
    norm = BoundaryNorm(levels, ncolors=256)
    filled = None
    for ax in axes:
        filled = ax.contourf(b_grid, w_grid, loss, levels=levels, cmap="viridis_r", norm=norm, alpha=0.55)
        ax.contour(b_grid, w_grid, loss, levels=levels[1:], colors="0.35", linewidths=0.5)
        ax.set_xlim(*b_range)
        ax.set_ylim(*w_range)
        ax.set_xlabel("b (intercept)")
        ax.set_ylabel(f"w ({_feature_label(result)})")
    return filled, levels


def _draw_path(ax: "Axes", path: np.ndarray, minimum: tuple[float, float], *, coordinates: bool = True) -> None:
    """The run's path, its start and end, and the least-squares minimum (labelled for a legend)."""
    shown = _thin(path)
    # Noisy (stochastic) paths wander to and fro into a dense cloud near the minimum: a thin line
    # there keeps the markers visible. Measured as the path's length in units of the axes' spans.
    (b_low, b_high), (w_low, w_high) = ax.get_xlim(), ax.get_ylim()
    steps = np.diff(shown, axis=0) / [b_high - b_low, w_high - w_low]
    width = 1.2 if np.hypot(steps[:, 0], steps[:, 1]).sum() < 6 else 0.5
    ax.plot(shown[:, 0], shown[:, 1], "-", color="crimson", linewidth=width,
            marker="o" if len(shown) <= 200 else None, markersize=2.5, label="gradient descent path",
            gid="path", zorder=3)

    def where(point) -> str:
        return f" ({point[0]:.4g}, {point[1]:.4g})" if coordinates else ""

    ax.plot(path[0, 0], path[0, 1], "s", color="white", markeredgecolor="black", markersize=8,
            label="start" + where(path[0]), gid="start", zorder=4)
    ax.plot(path[-1, 0], path[-1, 1], "o", color="crimson", markeredgecolor="black", markersize=6,
            label="end" + where(path[-1]), gid="end", zorder=5)
    ax.plot(minimum[0], minimum[1], "*", color="gold", markeredgecolor="black", markersize=15,
            label="least squares" + where(minimum), gid="minimum", zorder=6)


def _colorbar(figure: "Figure", filled, levels: np.ndarray, ax) -> None:
    bar = figure.colorbar(filled, ax=ax, format="%.3g", ticks=levels[::2])
    bar.set_label("training MSE (log-spaced levels)")


# --- the figures --------------------------------------------------------------------------------

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
    figure = _new_figure()
    ax = figure.add_subplot()
    train = np.asarray(result.history.train_loss, dtype=np.float64)
    ax.plot(np.arange(1, len(train) + 1), train, color="C0", label="training", gid="train")
    if result.history.val_loss:
        val = np.asarray(result.history.val_loss, dtype=np.float64)
        ax.plot(np.arange(1, len(val) + 1), val, color="C1", label="validation", gid="val")
    floor = _least_squares_mse(result)
    if floor is not None and floor > 0:
        ax.axhline(floor, color="0.3", linestyle=":", linewidth=1, label=f"least-squares training MSE {floor:.4g}",
                   gid="floor")
    _log_y(ax)
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
    _require_one_feature(result, "fit")
    figure = _new_figure()
    ax = figure.add_subplot()
    x_train, y_train = _column(x_train), _column(y_train)
    xs = [x_train]
    splits = [("training", x_train, y_train, dict(color="C0", marker="o"), "train")]
    if x_val is not None and len(x_val):
        x_val, y_val = _column(x_val), _column(y_val)
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
    ax.set_xlabel(_feature_label(result))
    ax.set_ylabel(result.target or "y")
    ax.set_title(f"Fitted line · max |GD − least squares| = {result.max_abs_diff:.2g}")
    ax.grid(True, alpha=0.3)
    ax.legend()
    return figure


def path_figure(result: "FitResult", x_train, y_train) -> "Figure":
    """One feature plus intercept: the run's path on the contours of the training MSE over (b, w).

    Needs ``result.path`` (fit with ``record_path=True``).
    """
    _require_surface(result, "path")
    if result.path is None:
        raise BadOptionError("record_path", False, "the path figure needs the parameters after every update",
                             "fit with record_path=True")
    minimum = (float(result.closed_form.intercept), float(result.closed_form.coef[0]))
    surface = LossSurface(_column(x_train), _column(y_train), minimum)
    b_range, w_range = _box(np.vstack([result.path, [minimum]]))
    figure = _new_figure()
    ax = figure.add_subplot()
    filled, levels = _draw_surface([ax], surface, b_range, w_range, result)
    _draw_path(ax, result.path, minimum)
    ax.legend(loc="best", fontsize=8, framealpha=0.9)
    _colorbar(figure, filled, levels, ax)
    ax.set_title(f"Path on the loss surface · {result.engine}, lr {result.lr:.4g}, "
                 f"{batch_mode(result.batch_size)}, {result.updates} updates", fontsize=10)
    return figure


def modes_figure(result: "FitResult", x_train, y_train, *, fit_options: Mapping[str, Any] | None = None,
                 epochs: int | None = None, mini_batch: int = MODES_MINI_BATCH) -> "Figure":
    """Batch, mini-batch and stochastic gradient descent on the same data, side by side.

    Each mode is re-run with the numpy engine from ``result.initial``, with ``result.lr`` (plain
    SGD runs; ``"auto"`` after Adam), for the same number of ``epochs`` (default: as many as keep
    stochastic GD to about ``MODES_MAX_SGD_UPDATES`` updates, at most ``result.epochs``). A mode
    that is unstable at that rate (it diverges, or its loss rises above the starting loss on the
    way) is re-run with ``lr="auto"`` (the stable step for its batch size), and its title says so. More than
    ``MODES_MAX_ROWS`` training rows are subsampled (seeded), as the title says.
    """
    _require_surface(result, "modes")
    x_train, y_train = _column(x_train), _column(y_train)
    n_all = len(y_train)
    note = ""
    if n_all > MODES_MAX_ROWS:
        rows = np.sort(np.random.default_rng(result.seed).choice(n_all, MODES_MAX_ROWS, replace=False))
        x_train, y_train = x_train[rows], y_train[rows]
        note = f" · on a random {MODES_MAX_ROWS:,} of {n_all:,} training rows"
    n = len(y_train)
    if epochs is None:
        epochs = max(1, min(result.epochs, MODES_MAX_SGD_UPDATES // n))
    options = _refit_options(result, fit_options)
    lr = result.lr if result.optimizer == "sgd" else "auto"

    full_minimum = (float(result.closed_form.intercept), float(result.closed_form.coef[0]))
    start_surface = LossSurface(x_train, y_train, full_minimum)  # any centre is exact; this one is close

    def stable(path: np.ndarray) -> bool:
        # The loss never rises above where it began. (The divergence rule compares whole epochs,
        # so a blow-up within one epoch, or wild swings that happen to come back, pass it.)
        if not np.isfinite(path).all():
            return False
        losses = start_surface(path[:, 0], path[:, 1])
        return bool(losses.max() <= losses[0] * (1 + 1e-9))

    def run_mode(batch_size: int | None) -> tuple["FitResult", bool]:
        common = dict(engine="numpy", optimizer="sgd", batch_size=batch_size, epochs=epochs, record_path=True)
        try:
            run = _refit(x_train, y_train, None, options, lr=lr, **common)
            if stable(run.path):
                return run, False
        except DivergedError:
            pass
        return _refit(x_train, y_train, None, options, lr="auto", **common), lr != "auto"

    runs = [(batch_size, *run_mode(batch_size)) for batch_size in (None, mini_batch, 1)]
    closed = runs[0][1].closed_form  # of the (possibly subsampled) rows drawn here
    minimum = (float(closed.intercept), float(closed.coef[0]))
    surface = LossSurface(x_train, y_train, minimum)
    b_range, w_range = _box(np.vstack([run.path for _, run, _ in runs] + [np.array([minimum])]))
    figure = _new_figure(WIDE)
    axes = figure.subplots(1, 3, sharex=True, sharey=True)
    filled, levels = _draw_surface(axes, surface, b_range, w_range, result)
    for ax, (batch_size, run, changed) in zip(axes, runs):
        _draw_path(ax, run.path, minimum, coordinates=False)
        mode = {None: f"batch ({n:,} rows)", 1: "stochastic (1 row)"}.get(batch_size, f"mini-batch ({batch_size} rows)")
        lr_note = f"lr auto = {run.lr:.3g} ({lr:.3g} was unstable)" if changed else f"lr {run.lr:.3g}"
        ax.set_title(f"{mode}\n{run.updates:,} updates · {lr_note}", fontsize=10)
        ax.label_outer()
    _colorbar(figure, filled, levels, list(axes))
    figure.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncols=4, fontsize=9)
    figure.suptitle(f"Batch, mini-batch and stochastic gradient descent · {epochs} epoch{'s' * (epochs != 1)} "
                    f"each{note}")
    return figure


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

    options = _refit_options(result, fit_options)
    val = None if x_val is None or not len(x_val) else (x_val, y_val)
    epochs = epochs or result.epochs
    limit = result.lr_max_stable
    figure = _new_figure()
    ax = figure.add_subplot()
    colors = ["#1b9e77", "#7570b3", "#e6ab02", "#d95f02", "#e7298a", "#66a61e"]
    for i, factor in enumerate(factors):
        lr = factor * limit
        color = colors[i % len(colors)]
        label = f"lr {lr:.3g} ({factor:g} × 2/L)"
        try:
            run = _refit(x_train, y_train, val, options, engine="exact", optimizer="sgd", batch_size=None,
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
    floor = _least_squares_mse(result)
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


def lr_find_figure(lrs: Sequence[float], losses: Sequence[float], suggestion: float | None) -> "Figure":
    """Loss against learning rate (log x) from an LR range test, the suggested rate marked.

    Non-finite losses (the test ran into divergence) are left out.
    """
    lrs, losses = np.asarray(lrs, dtype=np.float64).ravel(), np.asarray(losses, dtype=np.float64).ravel()
    if len(lrs) != len(losses) or len(lrs) < 2:
        raise BadDataError(f"lr_find needs matching learning rates and losses, at least two of each; got "
                           f"{len(lrs)} learning rates and {len(losses)} losses")
    keep = np.isfinite(losses) & np.isfinite(lrs) & (lrs > 0)
    dropped = int(np.sum(~keep))
    lrs, losses = lrs[keep], losses[keep]
    figure = _new_figure()
    ax = figure.add_subplot()
    ax.plot(lrs, losses, color="C0", label="loss", gid="loss")
    ax.set_xscale("log")
    if len(losses) and losses.min() > 0 and losses.max() / losses.min() > 100:
        ax.set_yscale("log")
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
                 path: str | os.PathLike) -> Path:
    """Write :func:`lr_find_figure` to ``path`` (atomically); returns the path."""
    return save_figure(lr_find_figure(lrs, losses, suggestion), path)


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


def _least_squares_mse(result: "FitResult") -> float | None:
    """Training MSE at the exact least-squares solution (the floor every loss curve approaches)."""
    stats = result.stats
    if stats is None:
        return None
    return float(stats.closed.rss) / stats.n_obs  # in memory or from streamed statistics alike


def _require_one_feature(result: "FitResult", figure: str) -> None:
    if len(result.names) != 1:
        raise BadDataError(f"the {figure} figure needs one feature; this model has {len(result.names)} "
                           f"({', '.join(result.names)})")


def _require_surface(result: "FitResult", figure: str) -> None:
    _require_one_feature(result, figure)
    if result.params.intercept is None:
        raise BadDataError(f"the {figure} figure draws the loss over (b, w) and needs a model with an intercept")
