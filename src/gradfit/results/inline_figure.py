"""A matplotlib Figure that a notebook (Jupyter, IPython) displays inline without ``pyplot``.

IPython draws a bare :class:`matplotlib.figure.Figure` only once an inline backend is active
(``%matplotlib inline``, or ``pyplot`` imported); before that it prints ``<Figure size 840x600
with 1 Axes>``. ``_repr_png_`` makes the figures gradfit returns display in either case (with an
inline backend active, IPython's own Figure printer draws them, once). Imported only when a figure
is made, since it imports matplotlib.
"""

from __future__ import annotations

import io

from matplotlib.figure import Figure


class InlineFigure(Figure):
    """:class:`~matplotlib.figure.Figure` with a PNG form for notebooks (``_repr_png_``)."""

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png")
        return buffer.getvalue()
