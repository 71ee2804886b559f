"""The loss surface of ``y ≈ b + w·x`` and paths drawn on it: :mod:`gradfit.results.loss_surface`,
re-exported here (it lives with the results because :meth:`gradfit.FitResult.plot_path` draws it)."""

from ..results.loss_surface import (END, MAX_PATH_POINTS, MINIMUM, START, LossSurface, add_colorbar, axis_box,
                                    draw_path, draw_surface, path_style, thin_path)

__all__ = ["END", "MAX_PATH_POINTS", "MINIMUM", "START", "LossSurface", "add_colorbar", "axis_box", "draw_path",
           "draw_surface", "path_style", "thin_path"]
