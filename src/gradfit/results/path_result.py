"""What :func:`gradfit.regularization_path` returns: the exact penalized answer at each λ of a
grid, and (with ``cv=K``) the held-out error of each λ across K folds and the λ it chooses."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .json_form import json_text


@dataclass(repr=False)
class PathCV:
    """K-fold cross-validation of a path's λ.

    Attributes
    ----------
    folds : int
        ``K``.
    seed : int
        The shuffle's seed: row ``i`` is in fold ``fold_of_row[i]``, from
        ``np.array_split(np.random.default_rng(seed).permutation(n), K)``.
    fold_of_row : numpy.ndarray
        ``(n,)`` the fold (0 … K−1) that holds out each row.
    mse : numpy.ndarray
        ``(K, L)`` each fold's held-out MSE at each λ (original scale; weighted rows: ``Σ wᵢrᵢ² / m``).
    mean, se : numpy.ndarray
        ``(L,)`` the mean of the folds' MSEs and its standard error, ``std(ddof=1) / √K``.
    best, one_se : int
        Indices into the path: the least mean MSE (the larger λ on a tie), and the largest λ whose
        mean is within one standard error of it (``mean ≤ mean[best] + se[best]``).
    """

    folds: int
    seed: int
    fold_of_row: np.ndarray
    mse: np.ndarray
    mean: np.ndarray
    se: np.ndarray
    best: int
    one_se: int

    def to_dict(self) -> dict:
        return {"folds": self.folds, "seed": self.seed, "mse": self.mean.tolist(), "se": self.se.tolist(),
                "fold_mse": self.mse.tolist(), "best_index": self.best, "one_se_index": self.one_se}


@dataclass(repr=False)
class RegularizationPath:
    """The coefficients of ``MSE + l2·Σw² + l1·Σ|w|`` over a grid of one penalty, the other fixed.

    Attributes
    ----------
    varying : str
        The penalty the grid runs over: ``"l1"`` (lasso, or elastic net with ``fixed`` l2) or
        ``"l2"`` (ridge; ``fixed`` is then l1 = 0).
    lambdas : numpy.ndarray
        ``(L,)`` its values, largest first (each answer warm-starts the next).
    fixed : float
        The other penalty's value.
    lambda_max : float
        The top of the automatic grid: for ``l1``, the least value at which every coefficient is
        zero; for ``l2``, ``limits.PATH_RIDGE_SHRINK`` × the largest eigenvalue of the Gram of
        the penalized coefficients. (Computed for given values too.)
    names : list of str
        ``(p,)`` the parameters: ``intercept`` first (when fitted), then the features.
    coefficients : numpy.ndarray
        ``(L, p)`` the answers on the original scale (as :func:`gradfit.solve` reports them).
    run_coefficients : numpy.ndarray
        ``(L, p)`` the same where the penalty acts: the standardized coefficients when
        ``standardized`` (what the figure draws), else ``coefficients``.
    n_nonzero : numpy.ndarray
        ``(L,)`` penalized coefficients not exactly zero (the intercept is not counted).
    kkt : numpy.ndarray
        ``(L,)`` the norm of each answer's stationarity residual with features and target at unit
        variance (zero at the optimum; rounding, ~1e-16, in practice).
    standardized : bool
        The penalty acts on the coefficients of the standardized rows.
    n : int
        Training rows.
    model_intercept : bool
        ``names[0]`` is the intercept.
    cv : PathCV or None
        With ``cv=K``: the held-out MSE per λ and the λ it chooses.
    """

    varying: str
    lambdas: np.ndarray
    fixed: float
    lambda_max: float
    names: list[str]
    coefficients: np.ndarray
    run_coefficients: np.ndarray
    n_nonzero: np.ndarray
    kkt: np.ndarray
    standardized: bool
    n: int
    model_intercept: bool
    cv: PathCV | None = None
    target: str | None = None
    dataset: str | None = None

    @property
    def kind(self) -> str:
        """``lasso``, ``elastic net`` or ``ridge``."""
        if self.varying == "l2":
            return "ridge"
        return "elastic net" if self.fixed else "lasso"

    @property
    def feature_names(self) -> list[str]:
        return self.names[1:] if self.model_intercept else list(self.names)

    def penalties(self, index: int) -> dict:
        """``{"l1": …, "l2": …}`` at ``lambdas[index]``: keywords for :func:`gradfit.solve` and
        :func:`gradfit.fit` (with ``standardize`` as here)."""
        value = float(self.lambdas[index])
        return {"l1": value, "l2": self.fixed} if self.varying == "l1" else {"l1": self.fixed, "l2": value}

    @property
    def best(self) -> dict | None:
        """The penalties of the least mean CV MSE (``None`` without ``cv``)."""
        return None if self.cv is None else self.penalties(self.cv.best)

    @property
    def one_se(self) -> dict | None:
        """The penalties of the largest λ within one standard error of the least CV MSE."""
        return None if self.cv is None else self.penalties(self.cv.one_se)

    @property
    def best_lambda(self) -> float | None:
        return None if self.cv is None else float(self.lambdas[self.cv.best])

    @property
    def lambda_1se(self) -> float | None:
        return None if self.cv is None else float(self.lambdas[self.cv.one_se])

    @property
    def best_l1(self) -> float | None:
        return None if self.cv is None else self.best["l1"]

    @property
    def l1_1se(self) -> float | None:
        return None if self.cv is None else self.one_se["l1"]

    @property
    def best_l2(self) -> float | None:
        return None if self.cv is None else self.best["l2"]

    @property
    def l2_1se(self) -> float | None:
        return None if self.cv is None else self.one_se["l2"]

    @property
    def cv_mse(self) -> np.ndarray | None:
        return None if self.cv is None else self.cv.mean

    @property
    def cv_se(self) -> np.ndarray | None:
        return None if self.cv is None else self.cv.se

    def to_frame(self):
        """A pandas DataFrame, one row per λ: the varying penalty's value (named ``l1`` or
        ``l2``), ``n_nonzero``, ``kkt``, with CV ``cv_mse`` and ``cv_se``, then one column per
        parameter (original scale)."""
        import pandas as pd  # imported here: ``import gradfit`` stays light

        columns = {self.varying: self.lambdas, "n_nonzero": self.n_nonzero, "kkt": self.kkt}
        if self.cv is not None:
            columns.update(cv_mse=self.cv.mean, cv_se=self.cv.se)
        frame = pd.DataFrame(columns)
        coefficients = pd.DataFrame(self.coefficients, columns=self.names)
        return pd.concat([frame, coefficients], axis=1)

    def to_dict(self) -> dict:
        """Everything, JSON-ready (what ``gradfit path --json`` prints)."""
        return {"kind": self.kind, "varying": self.varying, "lambdas": self.lambdas.tolist(),
                "fixed": {"l2" if self.varying == "l1" else "l1": self.fixed}, "lambda_max": self.lambda_max,
                "standardized": self.standardized, "n": self.n, "target": self.target, "dataset": self.dataset,
                "names": list(self.names), "coefficients": self.coefficients.tolist(),
                "n_nonzero": self.n_nonzero.tolist(), "kkt": self.kkt.tolist(),
                "cv": None if self.cv is None else self.cv.to_dict(), "best": self.best, "one_se": self.one_se}

    def to_json(self, indent: int | None = 2) -> str:
        """:meth:`to_dict` as strict JSON (undefined numbers are ``null``)."""
        return json_text(self.to_dict(), indent=indent)

    def summary(self, max_coefficients: int = 6) -> str:
        """The table ``gradfit path`` prints: λ, nonzero count, CV MSE ± se, leading coefficients."""
        from .path_text import path_table

        return path_table(self, max_coefficients)

    def plot(self):
        """A matplotlib Figure: the coefficients against λ (log axis; standardized ones when the
        penalty acts on those), and with CV a second panel of the CV MSE ± se; vertical lines at
        the best λ and the 1-SE λ."""
        from .path_figure import path_figure

        return path_figure(self)

    def __repr__(self) -> str:
        top, bottom = self.lambdas[0], self.lambdas[-1]
        fixed = f", l2={self.fixed:g}" if self.varying == "l1" and self.fixed else ""
        head = (f"RegularizationPath({self.kind}: {len(self.lambdas)} values of {self.varying} from {top:.4g} "
                f"to {bottom:.4g}{fixed}; {len(self.feature_names)} coefficients"
                f"{', standardized' if self.standardized else ''}; n={self.n}")
        if self.cv is None:
            return head + ")"
        best, one = self.cv.best, self.cv.one_se
        return (head + f"; {self.cv.folds}-fold CV: best {self.varying}={self.lambdas[best]:.4g} "
                f"(MSE {self.cv.mean[best]:.5g} ± {self.cv.se[best]:.2g}, {self.n_nonzero[best]} nonzero), "
                f"1-SE {self.varying}={self.lambdas[one]:.4g} ({self.n_nonzero[one]} nonzero))")


def one_standard_error(mean: np.ndarray, se: np.ndarray) -> tuple[int, int]:
    """``(best, one_se)`` indices of a curve over λ listed largest first: the least mean (the
    first, so the larger λ, on a tie) and the first λ whose mean is within ``se[best]`` of it."""
    best = int(np.argmin(mean))
    within = mean <= mean[best] + (se[best] if math.isfinite(se[best]) else 0.0)
    return best, int(np.flatnonzero(within)[0])
