"""Weighted least squares by whitening: rows scaled by ``√w`` (statsmodels' ``WLS``, weights
proportional to the inverse variance of each row's error).

Minimising ``Σ w_i (y_i − b − x_i·w)²`` is ordinary least squares, without an intercept, on the
whitened rows ``[√w_i, √w_i·x_i]`` and ``√w_i·y_i``: the whitened design's first column carries
the intercept. Every stage after this one (the closed form with its refinement, the Gram path,
the engines, the curvature behind ``lr='auto'``, checkpoints, the share of each process) then
works on the whitened rows unchanged, and gradient descent minimises the weighted MSE
``(1/n) Σ w_i r_i²``. The statistics are statsmodels' WLS ones: ``σ̂² = Σ w_i e_i² / (n − p)``,
R² about the weighted mean, the log-likelihood with ``½ Σ log w_i``, diagnostics and robust
covariances from the whitened residuals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from ..errors import BadDataError
from .chunks import Wrapped
from .problem import Problem


def whiten(problem: Problem) -> Problem:
    """``problem`` (with ``weights``) with every row scaled by ``√w`` and the intercept as the
    first column; the problem itself when it has no weights."""
    if problem.weights is None:
        return problem
    weights, intercept = problem.weights, problem.intercept
    root = np.sqrt(weights)  # (n,)
    x_train, y_train = whitened(problem.x_train, problem.y_train, root, intercept)
    x_val = y_val = None
    if problem.x_val is not None:
        x_val, y_val = whitened(problem.x_val, problem.y_val, np.sqrt(problem.val_weights), intercept)
    lo = problem.x_train_lo
    if lo is not None:
        lo = np.hstack(([np.zeros((len(lo), 1))] if problem.intercept else []) + [lo * root[:, None]])
    names = (["intercept"] if problem.intercept else []) + list(problem.names)
    return replace(problem, x_train=x_train, y_train=y_train, x_val=x_val, y_val=y_val, intercept=False,
                   names=names, x_train_lo=lo, intercept_column=problem.intercept,
                   weighting=Weighting(log_weight_sum(weights)))


def whitened(x: np.ndarray, y: np.ndarray, root: np.ndarray, intercept: bool) -> tuple[np.ndarray, np.ndarray]:
    """Rows ``x`` ``(n, d)`` and ``y`` scaled by ``root = √w``: ``[√w, √w·x]`` (the intercept's
    column first, when there is one) and ``√w·y``."""
    columns = ([root[:, None]] if intercept else []) + [x * root[:, None]]
    return np.hstack(columns), y * root


@dataclass(frozen=True)
class Weighting:
    """What the statistics need of the training rows' weights beyond the whitened rows: ``Σ log w``
    over the positive ones (the log-likelihood's term)."""

    log_sum: float


def weighted_file_chunks(path, target: str, features: list[str] | None, weights: str, rows, *, dropna: bool,
                         part, intercept: bool, labels: str | None = None) -> "WeightedChunks":
    """The chunks of a file's ``features`` and ``target``, whitened by its ``weights`` column."""
    from .chunks import iter_file_chunks
    from .columns import choose_columns, require_column
    from .file_checks import check_path, file_format
    from .files import open_source

    check_path(path)
    source = open_source(path, *file_format(path))
    try:
        require_column(source, weights, "weights")
        features, _ = choose_columns(source, target, features, True,
                                     exclude=(weights,) if labels is None else (weights, labels))
    finally:
        source.close()
    chunks = iter_file_chunks(path, target, list(features) + [weights], rows, dropna=dropna, part=part, labels=labels)
    return WeightedChunks(chunks, intercept, weights)


class WeightedChunks(Wrapped):
    """Chunks whose last feature column is the rows' weights, handed on whitened: ``[√w, √w·x]``
    (the intercept's column first, when there is one) and ``√w·y``, as :func:`whiten` makes them.

    Iterating is one pass; each pass recomputes :attr:`weighting` (``Σ log w``) for the statistics.
    :attr:`chunk_weights` are the last chunk's weights ``(m,)``, for a consumer that keeps only
    some of its rows (:class:`gradfit.data.row_split.SplitChunks`: the training rows' ``Σ log w``).
    """

    def __init__(self, source, intercept: bool, name: str) -> None:
        self.source, self.intercept, self.name = source, intercept, name
        names = list(getattr(source, "feature_names", None) or [])
        self.feature_names = (["intercept"] if intercept else []) + names[:-1]
        self.target_name = getattr(source, "target_name", None)
        self.n_rows = getattr(source, "n_rows", None)
        self.weighting = Weighting(0.0)
        self.chunk_weights = None

    def __iter__(self):
        log_sum, positive, seen = 0.0, 0, 0
        for x, y in self.source:
            x = np.asarray(x, dtype=np.float64)
            w = x[:, -1]
            if np.any(w < 0):
                row = int(np.argmax(w < 0))
                raise BadDataError(f"{self._where(seen, row)}, column {self.name!r} (the weights) is {w[row]:g}; "
                                   "weights must be zero or more (a weight is the inverse of the row's error variance)")
            kept = w[w > 0]
            log_sum += math.fsum(np.log(kept))
            positive += len(kept)
            seen += len(w)
            self.chunk_weights = w
            yield whitened(x[:, :-1], np.asarray(y, dtype=np.float64), np.sqrt(w), self.intercept)
        if seen and not positive:
            path = getattr(self.source, "path", None)
            raise BadDataError(f"{path + ': ' if path else ''}every weight in column {self.name!r} is zero; "
                               "give some rows a positive weight")
        self.weighting = Weighting(log_sum)

    def _where(self, seen: int, row: int) -> str:
        """``file: line N`` of row ``row`` of the last chunk (``seen`` rows before it), as the file
        readers place it; ``data row N`` of the rows read where the source cannot say."""
        positions, locate = self.source.chunk_positions, getattr(self.source, "locate", None)
        path = getattr(self.source, "path", None)
        if positions is None or locate is None or path is None:
            return f"data row {seen + row + 1} (after rows dropped for missing values)"
        return f"{path}: {locate(int(positions[row]))}"


def log_weight_sum(weights: np.ndarray) -> float:
    """``Σ log w`` over the positive weights (the log-likelihood's term of weighted rows)."""
    return math.fsum(np.log(weights[weights > 0]))
