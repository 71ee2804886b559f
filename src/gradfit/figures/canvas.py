"""The canvas every figure is drawn on: :mod:`gradfit.results.canvas`, re-exported here.

It lives with the results because :meth:`gradfit.FitResult.plot_losses` and its siblings return
figures drawn on it, and ``results/`` may not import the layer above it.
"""

from ..results.canvas import DPI, SIZE, WIDE, log_y, new_figure, save_figure

__all__ = ["DPI", "SIZE", "WIDE", "log_y", "new_figure", "save_figure"]
