"""The loss surface of ``y ≈ b + w·x`` over ``(b, w)``, and gradient descent's path drawn on it.

The surface is the training MSE of the original-scale model, even for standardized runs (their
paths are on the original scale too). Used by the path figure (:meth:`gradfit.FitResult.plot_path`,
hence here, below ``figures/``), the batch-modes figure and the animations
(:mod:`gradfit.figures.surface` re-exports it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np

from .figure_inputs import feature_label

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ..results.types import FitResult

MAX_PATH_POINTS = 5000  # longer paths are thinned for drawing (first and last points always kept)


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


def thin_path(path: np.ndarray, max_points: int = MAX_PATH_POINTS) -> np.ndarray:
    """At most ``max_points`` rows of ``path``, evenly spread, the first and last always kept."""
    if len(path) <= max_points:
        return path
    keep = np.unique(np.linspace(0, len(path) - 1, max_points).round().astype(int))
    return path[keep]


def axis_box(points: np.ndarray, pad: float = 0.15) -> tuple[tuple[float, float], tuple[float, float]]:
    """Axis ranges that hold every ``(b, w)`` row of ``points`` with a margin."""
    low, high = points.min(axis=0), points.max(axis=0)
    span = np.maximum(high - low, 1e-3 * np.maximum(np.abs(high), 1.0))
    low, high = low - pad * span, high + pad * span
    return (float(low[0]), float(high[0])), (float(low[1]), float(high[1]))


def draw_surface(axes: Sequence["Axes"], surface: LossSurface, b_range, w_range, result: "FitResult"):
    """Filled contours of the loss on every axis in ``axes``; returns the last contour set and the levels.

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
        ax.set_ylabel(f"w ({feature_label(result)})")
    return filled, levels


# How draw_path marks a path's points (the animations mark theirs the same way).
START = dict(marker="s", linestyle="none", color="white", markeredgecolor="black", markersize=8, zorder=4)
END = dict(marker="o", linestyle="none", color="crimson", markeredgecolor="black", markersize=6, zorder=5)
MINIMUM = dict(marker="*", linestyle="none", color="gold", markeredgecolor="black", markersize=15, zorder=6)


def path_style(ax: "Axes", path: np.ndarray) -> dict:
    """How :func:`draw_path` draws the line of ``path`` ``(k, 2)`` on ``ax`` (limits already set)."""
    shown = thin_path(path)
    # Noisy (stochastic) paths wander to and fro into a dense cloud near the minimum: a thin line
    # there keeps the markers visible. Measured as the path's length in units of the axes' spans.
    (b_low, b_high), (w_low, w_high) = ax.get_xlim(), ax.get_ylim()
    steps = np.diff(shown, axis=0) / [b_high - b_low, w_high - w_low]
    width = 1.2 if np.hypot(steps[:, 0], steps[:, 1]).sum() < 6 else 0.5
    return dict(linestyle="-", color="crimson", linewidth=width, marker="o" if len(shown) <= 200 else None,
                markersize=2.5, zorder=3)


def draw_path(ax: "Axes", path: np.ndarray, minimum: tuple[float, float], *, coordinates: bool = True) -> None:
    """The run's path ``(k, 2)``, its start and end, and the least-squares minimum (labelled for a legend)."""
    shown = thin_path(path)
    ax.plot(shown[:, 0], shown[:, 1], label="gradient descent path", gid="path", **path_style(ax, path))

    def where(point) -> str:
        return f" ({point[0]:.4g}, {point[1]:.4g})" if coordinates else ""

    ax.plot(path[0, 0], path[0, 1], label="start" + where(path[0]), gid="start", **START)
    ax.plot(path[-1, 0], path[-1, 1], label="end" + where(path[-1]), gid="end", **END)
    ax.plot(minimum[0], minimum[1], label="least squares" + where(minimum), gid="minimum", **MINIMUM)


def add_colorbar(figure: "Figure", filled, levels: np.ndarray, ax) -> None:
    """The colour scale of :func:`draw_surface`'s contours beside ``ax`` (one axis or a list)."""
    bar = figure.colorbar(filled, ax=ax, format="%.3g", ticks=levels[::2])
    bar.set_label("training MSE (log-spaced levels)")
