"""The canvas every figure is drawn on: its size and resolution, making and saving figures, log axes.

Figures are drawn on the Agg canvas directly and never through ``pyplot``, so plotting works on
a headless machine and leaves a notebook's backend alone. matplotlib is imported only inside
these functions, so ``import gradfit`` stays light. It lives with the results, below
``figures/``, because :meth:`gradfit.FitResult.plot_losses` and its siblings return figures
drawn on it (``gradfit.figures`` re-exports it as :mod:`gradfit.figures.canvas`).
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..atomic import atomic_write_bytes
from ..errors import require

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

SIZE = (7.0, 5.0)  # inches; at DPI, 840 × 600 pixels
WIDE = (15.0, 5.0)  # three panels side by side
DPI = 120


def new_figure(size: tuple[float, float] = SIZE, dpi: float = DPI) -> "Figure":
    """An empty figure of ``size`` inches at ``dpi``, on its own Agg canvas (constrained layout),
    that a notebook displays inline (:class:`gradfit.results.inline_figure.InlineFigure`).

    Raises
    ------
    MissingDependencyError
        matplotlib is not installed (a clear error, not an ImportError).
    """
    require("matplotlib")
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from .inline_figure import InlineFigure

    figure = InlineFigure(figsize=size, dpi=dpi, layout="constrained")  # a notebook shows it inline
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


def log_y(ax: "Axes") -> None:
    """A log-scale y axis; over less than two decades every labelled tick reads as a plain number
    (matplotlib's default there is ``2×10⁰``-style minor labels)."""
    from matplotlib.ticker import FormatStrFormatter

    ax.set_yscale("log")
    low, high = ax.get_ylim()
    if high < 100 * low:
        ax.yaxis.set_major_formatter(FormatStrFormatter("%.3g"))
        ax.yaxis.set_minor_formatter(FormatStrFormatter("%.3g"))
