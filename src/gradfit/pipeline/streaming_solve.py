"""``solve_streaming``: least squares, its statistics and the solve result from one streaming pass.

:func:`solve_streaming` streams any source (arrays, a CSV or Parquet file, chunks) into
:class:`gradfit.least_squares.sufficient.SufficientStats` and returns a :class:`StreamingSolveResult`, a
:class:`gradfit.results.types.SolveResult` like :func:`gradfit.solve`'s.

:class:`SufficientOLSStats` is an :class:`gradfit.least_squares.statistics.OLSStats` whose data-dependent pieces come
from :class:`gradfit.least_squares.sufficient.SufficientStats`: ``RSS(θ) = ‖Rθ − z‖² + ρ²`` at any ``θ``, ``TSS``
from ``y``'s M2 (with an intercept) or ``Σy² = M2 + n·ȳ²`` (without), ``(AᵀA)⁻¹ = R⁻¹R⁻ᵀ`` and the
condition number from ``R``. Everything else (t, p, intervals, R², F, log-likelihood, AIC, BIC,
``to_dict``, ``summary``) is OLSStats' own code, so the two cannot drift apart. Per-row residuals
are not available.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..errors import BadDataError, BadOptionError
from ..results.types import Params, SolveResult
from ..least_squares.statistics import SufficientOLSStats
from ..least_squares.sufficient import accumulate


@dataclass
class StreamingSolveResult(SolveResult):
    """:class:`gradfit.results.types.SolveResult` from one streaming pass, with what only streaming knows.

    Attributes
    ----------
    needs_refinement : bool
        Float64 TSQR may not be accurate to ~13 digits here (``eps·κ²``-style estimate above
        1e-13); :func:`gradfit.solve` refines such problems exactly when the rows fit in memory.
    estimated_error : float
        That estimate.
    n_dropped : int
        Rows dropped for missing values (``dropna``).
    sufficient : SufficientStats or None
        The statistics themselves: loss, gradient, Hessian at any θ, merging.
    """

    needs_refinement: bool = False
    estimated_error: float = math.nan
    n_dropped: int = 0
    sufficient: object = None

    def to_dict(self) -> dict:
        out = super().to_dict()
        out.update(streamed=True, needs_refinement=self.needs_refinement,
                   estimated_error=self.estimated_error, n_dropped=self.n_dropped)
        return out


def solve_streaming(source, *, target: str | None = None, features: list[str] | None = None,
                    intercept: bool = True, names: list[str] | None = None, poly: int | None = None,
                    alpha: float = 0.05, chunk_rows: int | None = None, dropna: bool = False, distributed=None):
    """Least squares and its statistics in one pass over the rows, memory O(chunk · p).

    Parameters
    ----------
    source : tuple (x, y), path, or iterable of (x, y) chunks
        In-memory arrays (streamed as views, :func:`gradfit.data.chunks.iter_array_chunks`), a CSV
        or Parquet file (then ``target`` is required; ``features`` as ``read_table``), or any chunk
        source such as :func:`gradfit.data.chunks.iter_parquet_chunks`.
    intercept, names, poly, alpha
        As :func:`gradfit.solve`; ``names`` name the features (before polynomial terms).
    chunk_rows : int, optional
        Rows per chunk (default: about a million cells, at most 65,536 rows).
    dropna : bool
        Files: drop rows with missing values instead of raising.
    distributed : bool or gradfit.scale.distributed.Distributed, optional
        Share the pass among the processes of a ``torchrun`` launch: each reads its part (Parquet
        row groups, CSV blocks, array rows), and the statistics are all-gathered and merged, so
        every process returns the same result.

    Returns
    -------
    StreamingSolveResult
        A :class:`gradfit.results.types.SolveResult` (``closed_form``, ``std_err``, ``stats``,
        ``summary()``, ``to_dict()``) with ``needs_refinement``, ``estimated_error`` and the
        :class:`SufficientStats` (``sufficient``).

    Examples
    --------
    >>> import gradfit
    >>> x = np.arange(6.0); y = 1.0 + 2.0 * x + np.array([0.1, -0.1, 0.0, 0.1, -0.1, 0.0])
    >>> res = solve_streaming((x, y), chunk_rows=4)
    >>> round(res.closed_form.intercept, 6), res.closed_form.coef.round(6).tolist(), res.needs_refinement
    (1.028571, [1.988571], False)
    >>> np.allclose(res.stats.std_err, gradfit.solve(x, y).stats.std_err, rtol=1e-12)
    True
    """
    from ..least_squares.checks import warn_if_collinear
    from ..config import FitConfig

    FitConfig(alpha=alpha).validate()  # before the pass, not after it
    streamed = stream_statistics(source, target=target, features=features, intercept=intercept, names=names,
                                 poly=poly, chunk_rows=chunk_rows, dropna=dropna, distributed=distributed)
    stats, param_names = streamed.stats, streamed.param_names
    closed = stats.closed_form()
    warn_if_collinear(closed.condition_number, param_names)
    return StreamingSolveResult(
        names=streamed.feature_names, closed_form=Params.from_theta(closed.theta, intercept), std_err=closed.std_err,
        stats=SufficientOLSStats(stats, closed.theta, param_names, alpha), refined=False, dataset=streamed.path,
        target=streamed.target, poly_degree=streamed.degree, needs_refinement=closed.needs_refinement,
        estimated_error=closed.estimated_error, n_dropped=streamed.n_dropped, sufficient=stats,
        world_size=streamed.world_size,
    )


@dataclass
class Streamed:
    """What one streaming pass found: the statistics and the columns they describe."""

    stats: object  # SufficientStats of every row (every process's, under torchrun)
    feature_names: list[str]
    param_names: list[str]
    target: str | None
    path: str | None
    degree: int | None
    n_dropped: int
    world_size: int
    chunks: object = None  # the chunk source (re-iterable: each iteration a fresh pass)


def stream_statistics(source, *, target: str | None = None, features: list[str] | None = None,
                      intercept: bool = True, names: list[str] | None = None, poly: int | None = None,
                      chunk_rows: int | None = None, dropna: bool = False, distributed=None) -> Streamed:
    """One pass over ``source`` (the sources of :func:`solve_streaming`) to sufficient statistics,
    shared among the processes of a ``torchrun`` launch when ``distributed``."""
    from ..data.chunks import iter_array_chunks, iter_file_chunks, with_poly

    group = None
    if distributed:
        from ..scale.distributed import Distributed, start

        group = distributed if isinstance(distributed, Distributed) else start()
    part = None if group is None else (group.rank, group.world_size)
    path = None
    if isinstance(source, tuple) and len(source) == 2:
        chunks = iter_array_chunks(*source, rows=chunk_rows, names=names)
        if group is not None:
            rows = group.share(len(chunks.y))
            chunks = iter_array_chunks(chunks.x[rows], chunks.y[rows], rows=chunk_rows, names=chunks.feature_names)
    elif isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        chunks = iter_file_chunks(path, target, features, chunk_rows, dropna=dropna, part=part)
    elif group is not None:
        raise BadDataError("a distributed pass needs a path or arrays (x, y), so each process can take its part")
    elif hasattr(source, "__iter__"):
        chunks = source
    else:
        raise BadDataError(f"cannot stream rows from a {type(source).__name__}: pass (x, y), a CSV or Parquet "
                           "path, or an iterable of (x, y) chunks")
    degree = None
    if poly is not None:
        chunks = with_poly(chunks, poly)
        degree = chunks.degree
    feature_names = list(getattr(chunks, "feature_names", None) or [])
    if names is not None and not isinstance(source, tuple):
        if degree is not None or (feature_names and len(names) != len(feature_names)):
            raise BadDataError("names= renames the features of arrays; for files choose columns with features=")
        feature_names = list(names)
    param_names = None
    if feature_names:
        param_names = (["intercept"] if intercept else []) + feature_names
    if group is None:
        stats = accumulate(chunks, intercept=intercept, names=param_names)
        n_dropped = int(getattr(chunks, "n_dropped", 0))
    else:
        from ..scale.distributed import gather_stats

        stats = gather_stats(group, lambda: accumulate(chunks, intercept=intercept, names=param_names,
                                                       allow_empty=True), param_names)
        n_dropped = sum(group.all_gather(int(getattr(chunks, "n_dropped", 0))))
    if param_names is None:
        feature_names = [f"x{j + 1}" for j in range(stats.d)] if stats.d > 1 else ["x"]
        param_names = (["intercept"] if intercept else []) + feature_names
    return Streamed(stats=stats, feature_names=feature_names, param_names=param_names,
                    target=target or getattr(chunks, "target_name", None), path=path, degree=degree,
                    n_dropped=n_dropped, world_size=1 if group is None else group.world_size, chunks=chunks)
