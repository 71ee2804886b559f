"""The validated rows every stage of a fit passes along: :class:`Problem`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Problem:
    """Validated training (and validation) data for a linear least-squares model.

    Attributes
    ----------
    x_train : numpy.ndarray
        Shape ``(n, d)``, float64 features (no intercept column).
    y_train : numpy.ndarray
        Shape ``(n,)``, float64 targets. Always 1-D, so predictions ``(n,)`` and targets share
        one shape and the ``(n,)`` vs ``(n, 1)`` broadcasting trap cannot reach a loss.
    x_val, y_val : numpy.ndarray or None
        The same for validation rows.
    intercept : bool
        Whether the model has an intercept ``b``.
    names : list of str
        One name per feature.
    cluster : numpy.ndarray or None
        ``(n,)`` the training rows' cluster labels (for the cluster-robust covariance).
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray | None
    y_val: np.ndarray | None
    intercept: bool
    names: list[str]
    x_train_lo: np.ndarray | None = None  # (n, d) rounding errors of computed columns (x**k), or None
    # False: the training rows' values (finite, within the magnitudes float64 squares carry) are
    # yet to be checked, by the first pass that reads them (see as_problem's defer_checks).
    values_checked: bool = True
    y_subject: str = "y"  # how messages name the target
    cluster: np.ndarray | None = None
    n_groups: int = 0  # > 0: ``cluster`` holds the codes 0 … n_groups − 1 of all the rows' labels
    # Weighted least squares (gradfit.data.weights.whiten): the rows are whitened, the first
    # feature column is the intercept's, and ``weighting`` keeps what the statistics need.
    intercept_column: bool = False
    weighting: object = None
    weights: np.ndarray | None = None  # (n,) the training rows' weights, before whitening
    val_weights: np.ndarray | None = None

    @property
    def model_intercept(self) -> bool:
        """Whether the model has an intercept (a column of ones, or its whitened form)."""
        return self.intercept or self.intercept_column

    @property
    def feature_names(self) -> list[str]:
        """The features' names, without the whitened intercept's column."""
        return list(self.names[1:]) if self.intercept_column else list(self.names)

    @property
    def n_features(self) -> int:
        return self.x_train.shape[1]

    @property
    def n_params(self) -> int:
        return self.n_features + int(self.intercept)

    def design(self, x: np.ndarray) -> np.ndarray:
        """The design matrix: a column of ones first when there is an intercept. ``(n, p)``."""
        if not self.intercept:
            return x
        return np.column_stack([np.ones(len(x)), x])

    def design_lo(self) -> np.ndarray | None:
        """Rounding errors of the training design's entries (``None``: the entries are exact data).

        The exact design is ``design(x_train) + design_lo()``; the accurate solver uses it.
        """
        if self.x_train_lo is None:
            return None
        return np.column_stack([np.zeros(len(self.x_train_lo)), self.x_train_lo]) if self.intercept \
            else self.x_train_lo
