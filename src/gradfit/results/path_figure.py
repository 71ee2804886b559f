"""The regularization path's figure: coefficients against λ, and the CV curve beside them.

Drawn on the Agg canvas directly, never through ``pyplot`` (:func:`gradfit.results.canvas.new_figure`:
headless, a notebook's backend left alone, shown inline). It lives with the result, not in ``figures/``,
because :meth:`RegularizationPath.plot` returns it and ``results/`` may not import the layer
above it; ``gradfit path --plot`` saves it with :func:`gradfit.figures.canvas.save_figure`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .canvas import new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .path_result import RegularizationPath

DPI = 120  # as figures.canvas
ONE_PANEL, TWO_PANELS = (8.0, 5.0), (14.0, 5.0)  # inches (room for the legend beside the coefficients)
LABELLED_UP_TO = 12  # a legend entry per coefficient up to this many


def path_figure(path: "RegularizationPath") -> "Figure":
    """Left: each coefficient against λ (log axis, largest λ on the left as the path runs);
    right, with CV: the mean held-out MSE with ± one standard error. Dashed: the best λ; dotted:
    the 1-SE λ."""
    figure = new_figure(ONE_PANEL if path.cv is None else TWO_PANELS, DPI)  # (a notebook shows it inline)
    axes = figure.subplots(1, 1 if path.cv is None else 2, squeeze=False)[0]
    _coefficients_panel(axes[0], path)
    if path.cv is not None:
        _cv_panel(axes[1], path)
    for ax in axes:
        _mark_choice(ax, path)
    if axes[0].get_legend_handles_labels()[0]:  # one entry per coefficient (and the choice), beside the panel
        axes[0].legend(fontsize="small", loc="center left", bbox_to_anchor=(1.0, 0.5))
    if path.cv is not None:
        axes[1].legend(fontsize="small", loc="upper right")
    return figure


def _coefficients_panel(ax, path: "RegularizationPath") -> None:
    offset = int(path.model_intercept)
    lambdas, coefficients = _positive(path), path.run_coefficients[:, offset:]  # (L,), (L, d)
    for j, name in enumerate(path.feature_names):
        ax.plot(lambdas, coefficients[:, j], label=name if len(path.feature_names) <= LABELLED_UP_TO else None)
    ax.axhline(0.0, color="0.6", linewidth=0.8)
    _log_lambda_axis(ax, path)
    ax.set_ylabel("standardized coefficient" if path.standardized else "coefficient")
    ax.set_title(f"{path.kind} path")


def _cv_panel(ax, path: "RegularizationPath") -> None:
    cv, lambdas = path.cv, _positive(path)
    ax.errorbar(lambdas, cv.mean, yerr=cv.se, fmt="o-", markersize=3, capsize=2, color="C3")
    _log_lambda_axis(ax, path)
    ax.set_ylabel(f"held-out MSE ({cv.folds}-fold CV, ± 1 s.e.)")
    ax.set_title("cross-validation")


def _mark_choice(ax, path: "RegularizationPath") -> None:
    if path.cv is None:
        return
    lambdas = _positive(path)
    ax.axvline(lambdas[path.cv.best], color="k", linestyle="--", linewidth=1,
               label=f"best {path.varying} = {path.lambdas[path.cv.best]:.3g}")
    ax.axvline(lambdas[path.cv.one_se], color="k", linestyle=":", linewidth=1,
               label=f"1-SE {path.varying} = {path.lambdas[path.cv.one_se]:.3g}")


def _positive(path: "RegularizationPath") -> np.ndarray:
    """λ for a log axis: a given 0 (no penalty) drawn a decade below the least positive value."""
    lambdas = np.asarray(path.lambdas, dtype=float)
    positive = lambdas[lambdas > 0]
    floor = positive.min() / 10 if positive.size else 1.0
    return np.where(lambdas > 0, lambdas, floor)


def _log_lambda_axis(ax, path: "RegularizationPath") -> None:
    ax.set_xscale("log")
    lambdas = _positive(path)
    if lambdas[0] > lambdas[-1]:
        ax.set_xlim(lambdas[0] * 1.1, lambdas[-1] / 1.1)  # largest first: the path runs left to right
    ax.set_xlabel(f"{path.varying} (log scale)")
