"""The regularization path as a text table (what ``gradfit path`` prints)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .path_result import RegularizationPath

ALL_COEFFICIENTS_UP_TO = 8  # this many features or fewer: every coefficient is shown


def entry_order(path: "RegularizationPath") -> list[int]:
    """The features' columns in the order they enter the path (first nonzero at the largest λ),
    ties by the size of their last (least penalized) standardized coefficient."""
    offset = int(path.model_intercept)
    run = path.run_coefficients[:, offset:]  # (L, d)
    nonzero = run != 0
    first = np.where(nonzero.any(axis=0), nonzero.argmax(axis=0), len(path.lambdas))
    size = np.abs(run[-1])
    return sorted(range(run.shape[1]), key=lambda j: (first[j], -size[j]))


def path_table(path: "RegularizationPath", max_coefficients: int = 6) -> str:
    """A header, one line per λ (its value, the nonzero count, CV MSE ± se with ``*`` at the best
    and ``1se`` at the 1-SE choice, the leading coefficients on the original scale) and the choice."""
    order = entry_order(path)
    shown = order if len(order) <= max(max_coefficients, ALL_COEFFICIENTS_UP_TO) else order[:max_coefficients]
    offset = int(path.model_intercept)
    names = [path.names[offset + j] for j in shown]
    width = max([11] + [min(len(name), 16) + 1 for name in names])
    head = f"{path.varying:>11} {'nonzero':>7}"
    if path.cv is not None:
        head += f" {'cv_mse':>11} {'± se':>9} {'':4}"
    head += "".join(f"{name[:16]:>{width}}" for name in names)
    lines = [_title(path, len(shown), len(order)), head]
    for i, value in enumerate(path.lambdas):
        line = f"{value:>11.4g} {path.n_nonzero[i]:>7d}"
        if path.cv is not None:
            mark = ("*" if i == path.cv.best else "") + ("1se" if i == path.cv.one_se else "")
            line += f" {path.cv.mean[i]:>11.5g} {path.cv.se[i]:>9.3g} {mark:4}"
        line += "".join(f"{path.coefficients[i, offset + j]:>{width}.4g}" for j in shown)
        lines.append(line)
    lines.extend(_choice(path))
    return "\n".join(lines)


def _title(path: "RegularizationPath", shown: int, features: int) -> str:
    fixed = f", l2 = {path.fixed:g}" if path.varying == "l1" and path.fixed else ""
    space = "standardized" if path.standardized else "original-scale"
    columns = "every coefficient" if shown == features else f"the first {shown} of {features} coefficients to enter"
    return (f"{path.kind} path: {len(path.lambdas)} values of {path.varying}{fixed}, penalizing the {space} "
            f"coefficients, n = {path.n}; largest KKT residual {np.max(path.kkt):.1e}; {columns} "
            "(original scale)")


def _choice(path: "RegularizationPath") -> list[str]:
    if path.cv is None:
        return ["no cross-validation: no value chosen"]
    cv, name = path.cv, path.varying
    best, one = cv.best, cv.one_se
    return [f"chosen: {name} = {path.lambdas[best]:.6g} (least mean {cv.folds}-fold CV MSE {cv.mean[best]:.6g} "
            f"± {cv.se[best]:.3g}, {path.n_nonzero[best]} nonzero)",
            f"1-SE rule: {name} = {path.lambdas[one]:.6g} (the largest within one standard error of the least: "
            f"CV MSE {cv.mean[one]:.6g}, {path.n_nonzero[one]} nonzero)"]
