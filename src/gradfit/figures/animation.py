"""Pictures that move: the path drawn update by update on the loss contours (``path.gif``), and
batch vs mini-batch vs stochastic gradient descent side by side (``modes.gif``).

Each animation is the static figure's drawing (:func:`gradfit.results.fit_figures.path_figure`,
:func:`gradfit.figures.modes.modes_figure`: the same surface, limits, colours and runs) with the
path growing frame by frame. The still part of every frame (contours, colour bar, labels,
legend, the start and the least-squares minimum) is drawn once; each frame restores that drawing
and draws only the path so far, the current point and its counter over it (blitting: about
11 ms a frame with the GIF's encoding, measured, where a full redraw with its layout took 110 ms).

**Frames** (:func:`frame_updates`): every update from 0 (the start) to ``EVERY_FIRST`` = 30, where
the steps are large, then log-spaced to the last update, rounded, repeats dropped: at most
``MAX_FRAMES`` = 90 frames, the last one the last update. The book data's default fit (1000
updates) gets 90 frames: updates 0, 1, …, 30, then 59 from 31 to 1000. The modes animation counts
rows seen (the stochastic run's updates: ``epochs × n``) on the same schedule, and each panel
shows the updates its batch size has made by then, so the three runs move on one clock of work.

**Files**: ``GIF_DPI`` = 80 (path 560 × 400 pixels, modes 1200 × 400), one 256-colour palette
for all frames, 80 ms a frame and the last held 1.5 s, looping. The GIF is built in memory and
written with :func:`gradfit.atomic.atomic_write_bytes` (a temporary file in the target folder,
renamed over the target), as every figure is; the same run gives the same bytes. Measured on the
book's default fit: path.gif 167 kB in 1.0 s, modes.gif 310 kB in 1.9 s (its three re-runs,
shared with modes.png, 0.2 s more).
"""

from __future__ import annotations

import io
import math
import os
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

import numpy as np

from ..atomic import atomic_write_bytes
from ..results.canvas import SIZE, WIDE, new_figure
from ..results.figure_inputs import batch_mode, column, require_surface
from ..results.fit_figures import require_path
from ..results.loss_surface import (END, MAX_PATH_POINTS, MINIMUM, START, LossSurface, add_colorbar, axis_box,
                                    draw_surface, path_style)
from .modes import ModeRuns, lr_note, mode_label

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.text import Text

    from ..results.types import FitResult

MAX_FRAMES = 90
EVERY_FIRST = 30  # every update up to this one gets its frame
GIF_DPI = 80  # 7 × 5 inches → 560 × 400 pixels; at the PNGs' 120 dpi the book's GIFs grow from 167 kB and
# 310 kB to 238 kB and 461 kB (measured), for text that is legible at 80 already
FRAME_MS, HOLD_LAST_MS = 80, 1500


def frame_updates(updates: int, max_frames: int = MAX_FRAMES, every_first: int = EVERY_FIRST) -> np.ndarray:
    """The updates an animation shows, one frame each: 0 … ``every_first``, then log-spaced to ``updates``.

    Every update when there are at most ``max_frames - 1``; otherwise ``0, 1, …, every_first`` and
    ``max_frames - every_first - 1`` more, log-spaced from ``every_first + 1`` to ``updates`` and
    rounded, repeats dropped (so at most ``max_frames``, increasing, first 0 and last ``updates``).

    >>> frame_updates(5).tolist()
    [0, 1, 2, 3, 4, 5]
    >>> shown = frame_updates(1000)
    >>> len(shown), shown[29:33].tolist(), int(shown[-1])
    (90, [29, 30, 31, 33], 1000)
    """
    if updates < max_frames:
        return np.arange(updates + 1)
    late = np.geomspace(every_first + 1, updates, max_frames - every_first - 1).round().astype(int)
    return np.unique(np.concatenate([np.arange(every_first + 1), late]))


@lru_cache(maxsize=None)
def gif_writer_class() -> type:
    """The movie writer class ``GifWriter``, defined on first use (so that importing
    :mod:`gradfit.figures` does not import matplotlib)."""
    from matplotlib.animation import AbstractMovieWriter
    from PIL import Image

    class GifWriter(AbstractMovieWriter):
        """A matplotlib movie writer of GIFs to a binary file object, every frame on one palette (Pillow).

        matplotlib's ``PillowWriter`` needs a file name, redraws the whole figure for every
        frame, keeps every frame in RGB (3 bytes a pixel: 130 MB for the modes animation) and
        lets Pillow choose a palette per frame. This one writes to any binary file (here a
        ``BytesIO``, then an atomic write); grabs the canvas as the caller last drew it (here by
        blitting: only what moves is redrawn); and maps each frame onto the first frame's 256
        colours as it is grabbed: 1 byte a pixel, 0.7 ms a 560 × 400 frame instead of 18 ms for
        a palette of its own (measured), and no colour flicker between frames. Frames are at
        the figure's own dpi.
        """

        def setup(self, fig, outfile, dpi=None):
            self.fig, self.outfile, self.dpi = fig, outfile, fig.dpi
            self.frames, self.palette = [], None

        def grab_frame(self, **savefig_kwargs):
            rgb = Image.fromarray(np.array(self.fig.canvas.buffer_rgba())[..., :3])  # (H, W, 3) uint8, copied
            if self.palette is None:
                self.palette = rgb.quantize(256, dither=Image.Dither.NONE)
            self.frames.append(rgb.quantize(palette=self.palette, dither=Image.Dither.NONE))

        def finish(self):
            if not self.frames:  # an error before the first frame: nothing to write
                return
            durations = [round(1000 / self.fps)] * (len(self.frames) - 1) + [HOLD_LAST_MS]
            self.frames[0].save(self.outfile, format="GIF", save_all=True, append_images=self.frames[1:],
                                duration=durations, loop=0)

    return GifWriter


def save_animation(data: bytes, path: str | os.PathLike) -> Path:
    """Write an animation's bytes to ``path`` atomically (see :func:`gradfit.atomic.atomic_write_bytes`)."""
    atomic_write_bytes(path, data, "animation")
    return Path(path)


def path_animation(result: "FitResult", x_train, y_train) -> bytes:
    """``path.gif``: the run's path growing update by update on the training MSE's contours over (b, w).

    One feature plus intercept, and ``result.path`` (fit with ``record_path=True``); the frames are
    :func:`frame_updates` of ``result.updates``, each titled with its update and training MSE.

    Returns
    -------
    bytes
        The GIF.
    """
    require_surface(result, "path")
    require_path(result)
    path = result.path  # (updates + 1, 2): (b, w) after every update
    minimum = (float(result.closed_form.intercept), float(result.closed_form.coef[0]))
    surface = LossSurface(column(x_train), column(y_train), minimum)
    still = new_figure(SIZE, dpi=GIF_DPI)
    ax = still.add_subplot()
    filled, levels = draw_surface([ax], surface, *axis_box(np.vstack([path, [minimum]])), result)
    style = path_style(ax, path)
    _mark_still(ax, path[0], minimum, style, coordinates=True)
    add_colorbar(still, filled, levels, ax)
    # The blank second line is where each frame writes its counter.
    ax.set_title(f"Path on the loss surface · {result.engine}, lr {result.lr:.4g}, {batch_mode(result.batch_size)}\n",
                 fontsize=10)
    still.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=2, fontsize=8)
    draw_to, moving = _path_drawer(ax, path, style)
    counter = _counter(ax)
    updates = len(path) - 1

    def draw(update: int) -> None:
        draw_to(update)
        loss = float(surface(path[update, 0], path[update, 1]))
        counter.set_text(f"update {update:,} of {updates:,} · training MSE {loss:.4g}")

    return _render(still, frame_updates(updates), draw, moving + [counter])


def modes_animation(result: "FitResult", modes: ModeRuns) -> bytes:
    """``modes.gif``: :func:`gradfit.figures.modes.mode_runs`' three paths growing side by side.

    The clock is rows seen (``epochs × n`` in all, the stochastic run's updates) on the
    :func:`frame_updates` schedule; at ``t`` rows each run shows the updates its batch size has
    made, so batch moves once an epoch while stochastic moves every row.

    Returns
    -------
    bytes
        The GIF.
    """
    minimum, n = modes.minimum, len(modes.y)
    surface = LossSurface(modes.x, modes.y, minimum)
    still = new_figure(WIDE, dpi=GIF_DPI)
    axes = still.subplots(1, 3, sharex=True, sharey=True)
    box = axis_box(np.vstack([run.path for _, run, _ in modes.runs] + [np.array([minimum])]))
    filled, levels = draw_surface(axes, surface, *box, result)
    panels, moving = [], []
    for ax, (batch_size, run, changed) in zip(axes, modes.runs):
        style = path_style(ax, run.path)
        _mark_still(ax, run.path[0], minimum, style, coordinates=False)
        ax.set_title(f"{mode_label(batch_size, n)}\n{run.updates:,} updates · {lr_note(run, changed, modes.lr)}\n",
                     fontsize=10)
        ax.label_outer()
        draw_to, artists = _path_drawer(ax, run.path, style)
        panels.append((draw_to, _counter(ax), len(run.path) - 1, batch_size or n))
        moving += artists + [panels[-1][1]]
    add_colorbar(still, filled, levels, list(axes))
    still.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncols=4, fontsize=9)
    still.suptitle(modes.title())

    def draw(rows_seen: int) -> None:
        for draw_to, counter, last, batch in panels:
            update = min(last, updates_after(rows_seen, n, batch))
            draw_to(update)
            counter.set_text(f"epoch {rows_seen / n:.3g} · update {update:,}")

    return _render(still, frame_updates(modes.epochs * n), draw, moving)


def updates_after(rows_seen: int, n: int, batch: int) -> int:
    """Updates a run with batches of ``batch`` of ``n`` rows has made after ``rows_seen`` rows
    (an epoch's last batch may be smaller: ``ceil(n / batch)`` updates an epoch).

    >>> updates_after(100, 80, 16), updates_after(100, 80, 80), updates_after(100, 80, 1)
    (6, 1, 100)
    """
    epochs, within = divmod(rows_seen, n)
    return epochs * math.ceil(n / batch) + within // batch


def _mark_still(ax: "Axes", start, minimum, style: dict, *, coordinates: bool) -> None:
    """The start and the minimum, and legend entries for the path and current point drawn over them."""
    def where(point) -> str:
        return f" ({point[0]:.4g}, {point[1]:.4g})" if coordinates else ""

    ax.plot([], [], label="gradient descent path", **style)
    ax.plot([], [], label="current point", **END)
    ax.plot(start[0], start[1], label="start" + where(start), **START)
    ax.plot(minimum[0], minimum[1], label="least squares" + where(minimum), **MINIMUM)


def _counter(ax: "Axes") -> "Text":
    """The frame's counter, on the last (blank) line of ``ax``'s title: the title's place and size."""
    from matplotlib import rcParams

    return ax.annotate("", xy=(0.5, 1.0), xycoords="axes fraction", xytext=(0, rcParams["axes.titlepad"]),
                       textcoords="offset points", ha="center", va="baseline", fontsize=10)


def _path_drawer(ax: "Axes", path: np.ndarray, style: dict) -> tuple[Callable[[int], None], list["Artist"]]:
    """A function setting ``ax``'s line to ``path[: k + 1]`` and its point to ``path[k]``, and those
    two artists. Long paths are thinned once, as the static figure thins them, so a frame's line
    is the next one's beginning."""
    keep = np.arange(len(path))
    if len(path) > MAX_PATH_POINTS:
        keep = np.unique(np.linspace(0, len(path) - 1, MAX_PATH_POINTS).round().astype(int))
    (line,) = ax.plot([], [], **style)
    (current,) = ax.plot([], [], **END)

    def draw_to(update: int) -> None:
        shown = path[np.append(keep[keep < update], update)]  # (m, 2)
        line.set_data(shown[:, 0], shown[:, 1])
        current.set_data(path[update:update + 1, 0], path[update:update + 1, 1])

    return draw_to, [line, current]


def _render(still: "Figure", steps: Iterable[int], draw: Callable[[int], None], moving: list["Artist"]) -> bytes:
    """The GIF of ``still`` after ``draw(step)`` for each of ``steps``, by blitting: everything but
    the ``moving`` artists is drawn once (layout included), and each frame restores that drawing
    and draws the moving artists over it."""
    for artist in moving:
        artist.set_animated(True)  # left out of the full draw
    canvas = still.canvas
    canvas.draw()
    background = canvas.copy_from_bbox(still.bbox)
    buffer = io.BytesIO()
    writer = gif_writer_class()(fps=1000 / FRAME_MS)
    with writer.saving(still, buffer, still.dpi):
        for step in steps:
            draw(int(step))
            canvas.restore_region(background)
            for artist in moving:
                still.draw_artist(artist)
            writer.grab_frame()
    return buffer.getvalue()
