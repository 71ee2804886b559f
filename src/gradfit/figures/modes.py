"""Batch, mini-batch and stochastic gradient descent on the same data: three paths side by side.

Each mode is re-run with the numpy engine from where the figured fit started, and drawn on the
loss surface of :mod:`gradfit.results.loss_surface`; :mod:`gradfit.figures.animation` animates the same runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from ..errors import DivergedError
from ..results.canvas import WIDE, new_figure
from ..results.figure_inputs import column, require_surface
from ..results.loss_surface import LossSurface, add_colorbar, axis_box, draw_path, draw_surface
from .inputs import refit, refit_options

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..results.types import FitResult

MODES_MAX_SGD_UPDATES = 8000  # the modes figure's epochs: stochastic GD does ~55 µs an update
MODES_MAX_ROWS = 400  # larger training sets are subsampled, so every mode gets ≥ 20 epochs
MODES_MINI_BATCH = 16

# One mode's run: (batch size, its result, whether lr="auto" replaced an unstable rate).
ModeRun = tuple["int | None", "FitResult", bool]


@dataclass(frozen=True)
class ModeRuns:
    """The three re-runs the modes figure and animation draw, and what they were run on.

    Attributes
    ----------
    runs : list of ModeRun
        Batch, mini-batch, stochastic: ``(batch size, result, whether lr="auto" replaced lr)``.
    x, y : numpy.ndarray
        ``(n,)``: the training rows they ran on (a seeded sample of at most ``MODES_MAX_ROWS``).
    lr : float or str
        The rate asked for; epochs: each run's.
    note : str
        The title's note on subsampled rows ("" when all rows ran).
    """

    runs: list
    x: np.ndarray
    y: np.ndarray
    lr: "float | str"
    epochs: int
    note: str

    @property
    def minimum(self) -> tuple[float, float]:
        """The least-squares ``(b, w)`` of the rows drawn (possibly subsampled)."""
        closed = self.runs[0][1].closed_form
        return float(closed.intercept), float(closed.coef[0])

    def title(self) -> str:
        return (f"Batch, mini-batch and stochastic gradient descent · {self.epochs} epoch{'s' * (self.epochs != 1)} "
                f"each{self.note}")


def modes_figure(result: "FitResult", x_train, y_train, *, fit_options: Mapping[str, Any] | None = None,
                 epochs: int | None = None, mini_batch: int = MODES_MINI_BATCH,
                 runs: ModeRuns | None = None) -> "Figure":
    """Batch, mini-batch and stochastic gradient descent on the same data, side by side.

    The runs are :func:`mode_runs`'s (``runs``: already made, e.g. for the animation too).
    """
    runs = runs or mode_runs(result, x_train, y_train, fit_options=fit_options, epochs=epochs, mini_batch=mini_batch)
    figure = _draw_modes(result, runs)
    figure.suptitle(runs.title())
    return figure


def mode_runs(result: "FitResult", x_train, y_train, *, fit_options: Mapping[str, Any] | None = None,
              epochs: int | None = None, mini_batch: int = MODES_MINI_BATCH) -> ModeRuns:
    """Batch, mini-batch and stochastic gradient descent re-run on the same data.

    Each mode is re-run with the numpy engine from ``result.initial``, with ``result.lr`` (plain
    SGD runs; ``"auto"`` after Adam), for the same number of ``epochs`` (default: as many as keep
    stochastic GD to about ``MODES_MAX_SGD_UPDATES`` updates, at most ``result.epochs``). A mode
    that is unstable at that rate (it diverges, or its loss rises above the starting loss on the
    way) is re-run with ``lr="auto"`` (the stable step for its batch size), and its title says so. More than
    ``MODES_MAX_ROWS`` training rows are subsampled (seeded), as the title says.
    """
    require_surface(result, "modes")
    x_train, y_train, note = _training_rows(result, column(x_train), column(y_train))
    if epochs is None:
        epochs = max(1, min(result.epochs, MODES_MAX_SGD_UPDATES // len(y_train)))
    options = refit_options(result, fit_options)
    lr = result.lr if result.optimizer == "sgd" else "auto"
    full_minimum = (float(result.closed_form.intercept), float(result.closed_form.coef[0]))
    start_surface = LossSurface(x_train, y_train, full_minimum)  # any centre is exact; this one is close
    runs = [(batch_size, *_run_mode(x_train, y_train, options, lr, batch_size, epochs, start_surface))
            for batch_size in (None, mini_batch, 1)]
    return ModeRuns(runs, x_train, y_train, lr, epochs, note)


def mode_label(batch_size: int | None, n: int) -> str:
    """``batch (80 rows)``, ``mini-batch (16 rows)`` or ``stochastic (1 row)``."""
    return {None: f"batch ({n:,} rows)", 1: "stochastic (1 row)"}.get(batch_size, f"mini-batch ({batch_size} rows)")


def lr_note(run: "FitResult", changed: bool, lr) -> str:
    """``lr 0.1``, or ``lr auto = 0.05 (0.1 was unstable)``."""
    return f"lr auto = {run.lr:.3g} ({lr:.3g} was unstable)" if changed else f"lr {run.lr:.3g}"


def _training_rows(result: "FitResult", x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, str]:
    """``x``, ``y`` ``(n,)``, or a seeded sample of ``MODES_MAX_ROWS`` of them; and the title's note."""
    n_all = len(y)
    if n_all <= MODES_MAX_ROWS:
        return x, y, ""
    rows = np.sort(np.random.default_rng(result.seed).choice(n_all, MODES_MAX_ROWS, replace=False))
    return x[rows], y[rows], f" · on a random {MODES_MAX_ROWS:,} of {n_all:,} training rows"


def _never_rises(surface: LossSurface, path: np.ndarray) -> bool:
    """The loss along ``path`` ``(k, 2)`` never rises above where it began. (The divergence rule
    compares whole epochs, so a blow-up within one epoch, or wild swings that happen to come
    back, pass it.)"""
    if not np.isfinite(path).all():
        return False
    losses = surface(path[:, 0], path[:, 1])
    return bool(losses.max() <= losses[0] * (1 + 1e-9))


def _run_mode(x, y, options: dict[str, Any], lr, batch_size: int | None, epochs: int,
              start_surface: LossSurface) -> tuple["FitResult", bool]:
    """One mode's run at ``lr``, or at ``lr="auto"`` where ``lr`` is unstable; and whether it was."""
    common = dict(engine="numpy", optimizer="sgd", batch_size=batch_size, epochs=epochs, record_path=True)
    try:
        run = refit(x, y, None, options, lr=lr, **common)
        if _never_rises(start_surface, run.path):
            return run, False
    except DivergedError:
        pass
    return refit(x, y, None, options, lr="auto", **common), lr != "auto"


def _draw_modes(result: "FitResult", modes: ModeRuns) -> "Figure":
    """The three runs' paths on the surface of the rows drawn here, a panel each, one legend."""
    minimum = modes.minimum
    surface = LossSurface(modes.x, modes.y, minimum)
    b_range, w_range = axis_box(np.vstack([run.path for _, run, _ in modes.runs] + [np.array([minimum])]))
    figure = new_figure(WIDE)
    axes = figure.subplots(1, 3, sharex=True, sharey=True)
    filled, levels = draw_surface(axes, surface, b_range, w_range, result)
    for ax, (batch_size, run, changed) in zip(axes, modes.runs):
        draw_path(ax, run.path, minimum, coordinates=False)
        ax.set_title(f"{mode_label(batch_size, len(modes.y))}\n{run.updates:,} updates · {lr_note(run, changed, modes.lr)}",
                     fontsize=10)
        ax.label_outer()
    add_colorbar(figure, filled, levels, list(axes))
    figure.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncols=4, fontsize=9)
    return figure
