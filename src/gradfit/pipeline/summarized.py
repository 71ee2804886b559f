"""Rows folded into sufficient statistics chunk by chunk, and the data source a fit runs from them.

A :class:`Summary` holds what a full-batch fit of every row seen so far needs, in O(p²) numbers,
and no rows: the statistics of the rows as given (while no chunk came with weights) and those of
the rows whitened by ``√w`` (``w = 1`` for chunks without weights). A fit from :meth:`Summary.source`
is the fit of all those rows at once, weighted by all their weights, normalised to mean 1 (as
``gradfit.GDRegressor.fit`` normalises them) over every row seen rather than chunk by chunk: the
whitened statistics are rescaled when the source is built, so no chunk is ever revisited.

Only what needs no second pass over the rows is available from it: the exact engine (full batch),
the closed form and the classical (non-robust) statistics.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from ..data.per_row import check_weights
from ..data.weights import Weighting, whitened
from ..scale.streams import Streamed as StreamedPass
from ..scale.streams import sufficient_of
from .sources import Origin, Streamed


@dataclass(frozen=True)
class Summary:
    """Sufficient statistics of the rows seen so far; :meth:`add` returns a new summary.

    Attributes
    ----------
    intercept : bool
        Whether the model has an intercept (the whitened rows carry it as their first column).
    names : tuple of str
        One name per feature.
    plain : SufficientStats or None
        The rows as given; ``None`` once a chunk came with weights (not needed any more).
    whitened : SufficientStats or None
        The rows scaled by ``√w``, the intercept's column first; ``None`` before the first chunk.
    weight_sum, log_weight_sum : float
        ``Σ w`` and ``Σ log w`` (over the positive weights) of every row seen.
    n_positive : int
        Rows with a positive weight.
    """

    intercept: bool
    names: tuple[str, ...]
    plain: object = None
    whitened: object = None
    weight_sum: float = 0.0
    log_weight_sum: float = 0.0
    n_positive: int = 0

    @property
    def n(self) -> int:
        """Rows seen."""
        return 0 if self.whitened is None else int(self.whitened.n)

    @property
    def weighted(self) -> bool:
        """Whether any chunk came with weights."""
        return self.whitened is not None and self.plain is None

    def add(self, x: np.ndarray, y: np.ndarray, weights=None) -> "Summary":
        """This summary with the rows ``x`` ``(m, d)``, ``y`` ``(m,)`` (weights ``(m,)``) folded in.

        ``self`` is unchanged, so a chunk that is refused (bad weights, other columns) leaves the
        summary as it was.
        """
        given = weights is not None
        weights = check_weights(weights, len(y), "sample_weight") if given else np.ones(len(y))
        names = (["intercept"] if self.intercept else []) + list(self.names)
        x_white, y_white = whitened(x, y, np.sqrt(weights), self.intercept)
        chunk_white = sufficient_of(x_white, y_white, False, names)
        plain = None
        if not given and not self.weighted:
            plain = _merged(self.plain, sufficient_of(x, y, self.intercept, names))
        positive = weights[weights > 0]
        return replace(self, plain=plain, whitened=_merged(self.whitened, chunk_white),
                       weight_sum=self.weight_sum + math.fsum(weights),
                       log_weight_sum=self.log_weight_sum + math.fsum(np.log(positive)),
                       n_positive=self.n_positive + len(positive))

    def source(self) -> Streamed:
        """The data source of a fit of every row seen (:func:`gradfit.pipeline.run.fit_source`)."""
        names = list(self.names)
        param_names = (["intercept"] if self.intercept else []) + names
        if not self.weighted:
            stats, weighting, feature_names = self.plain, None, names
        else:
            # Weights normalised to mean 1 over every row: rows × √c scale R, the means and the
            # largest values by √c and the sums of squared deviations by c (the solution is unchanged).
            c = self.n / self.weight_sum
            root = math.sqrt(c)
            stats = replace(self.whitened, r_aug=self.whitened.r_aug * root, mean=self.whitened.mean * root,
                            m2=self.whitened.m2 * c, max_abs=self.whitened.max_abs * root)
            weighting = Weighting(self.log_weight_sum + self.n_positive * math.log(c))
            feature_names = param_names  # the whitened intercept's column is a feature
        rows = StreamedPass(sufficient=stats, feature_names=feature_names, param_names=param_names, target=None,
                            path=None, degree=None, n_dropped=0, weighting=weighting)
        return Streamed(rows, self.intercept, Origin(inputs=names))


def _merged(before, chunk):
    """The statistics of the rows of ``before`` (or none) and then ``chunk``."""
    return chunk if before is None else before.merge(chunk)
