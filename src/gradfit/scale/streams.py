"""Rows that are never held whole: one streaming pass to sufficient statistics, and mini-batches
read from disk every epoch through a seeded shuffle buffer.

:func:`stream_statistics` reads any source (in-memory arrays as views, a CSV or Parquet file chunk
by chunk, any iterable of chunks), optionally shared among the processes of a ``torchrun``
launch (each reads its part; the statistics are all-gathered and merged), and returns a
:class:`Streamed`: the statistics and what they describe. :func:`sufficient_of` reduces arrays
already in memory, by the fast Gram path when well conditioned and by TSQR otherwise.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from ..data.chunks import iter_array_chunks, iter_file_chunks, with_poly
from ..data.weights import Weighting, weighted_file_chunks
from ..errors import BadDataError, BadOptionError, option
from ..least_squares.gram import gram_statistics
from ..least_squares.sufficient import accumulate
from .distributed import Distributed, gather_sufficient, start
from .shuffle_buffer import ShuffledBatches, default_buffer_rows


@dataclass
class Streamed:
    """What one streaming pass found: the statistics and the columns they describe."""

    sufficient: object  # SufficientStats of every row (every process's, under torchrun)
    feature_names: list[str]
    param_names: list[str]
    target: str | None
    path: str | None
    degree: int | None
    n_dropped: int
    group: Distributed | None = None
    chunks: object = None  # the chunk source (re-iterable: each iteration a fresh pass)
    weighting: object = None  # weighted rows (gradfit.data.weights.Weighting of every process's rows)

    @property
    def world_size(self) -> int:
        return 1 if self.group is None else self.group.world_size


def sufficient_of(x: np.ndarray, y: np.ndarray, intercept: bool, names: list[str], correctly_rounded: bool = True):
    """Sufficient statistics of in-memory rows: the shifted Gram matrix with one refinement pass
    when well conditioned (fast), else TSQR (accurate). ``correctly_rounded`` as
    :func:`gradfit.least_squares.gram.gram_statistics` (off for rows only a loss is wanted of)."""
    fast = gram_statistics(x, y, intercept=intercept, names=names, correctly_rounded=correctly_rounded)
    if fast is not None:
        return fast
    return accumulate(iter_array_chunks(x, y), intercept=intercept, names=names)


def stream_statistics(source, *, target: str | None = None, features: list[str] | None = None,
                      intercept: bool = True, names: list[str] | None = None, poly: int | None = None,
                      chunk_rows: int | None = None, dropna: bool = False, distributed=None,
                      weights: str | None = None, cluster: str | None = None) -> Streamed:
    """One pass over ``source`` (see :func:`gradfit.solve_streaming`) to sufficient statistics,
    shared among the processes of a ``torchrun`` launch when ``distributed``; ``weights`` names a
    column of the file whose rows are whitened by it (:mod:`gradfit.data.weights`); ``cluster``
    names a column of cluster labels read beside each chunk (``chunks.chunk_labels``)."""
    if cluster is not None and not isinstance(source, (str, os.PathLike)):
        raise BadDataError("streamed cluster labels come from a column of a CSV or Parquet file (cluster='g')")
    group = None
    if distributed:
        group = distributed if isinstance(distributed, Distributed) else start()
    if weights is not None:
        if not isinstance(source, (str, os.PathLike)) or poly is not None:
            raise BadDataError("streamed weights come from a column of a CSV or Parquet file (weights='w'), "
                               "without polynomial terms")
        part = None if group is None else (group.rank, group.world_size)
        chunks, path = weighted_file_chunks(os.fspath(source), target, features, weights, chunk_rows, dropna=dropna,
                                            part=part, intercept=intercept, labels=cluster), os.fspath(source)
        intercept = False  # the whitened rows carry it as their first column
    else:
        chunks, path = _chunks(source, group, target, features, chunk_rows, dropna, names, cluster)
    degree = None
    if poly is not None:
        chunks = with_poly(chunks, poly)
        degree = chunks.degree
    feature_names = _feature_names(chunks, source, names, degree)
    param_names = None if not feature_names else (["intercept"] if intercept else []) + feature_names
    if group is None:
        sufficient = accumulate(chunks, intercept=intercept, names=param_names)
        n_dropped = int(getattr(chunks, "n_dropped", 0))
    else:
        sufficient = gather_sufficient(group, lambda: accumulate(chunks, intercept=intercept, names=param_names,
                                                       allow_empty=True), param_names)
        n_dropped = sum(group.all_gather(int(getattr(chunks, "n_dropped", 0))))
    if param_names is None:
        feature_names = [f"x{j + 1}" for j in range(sufficient.d)] if sufficient.d > 1 else ["x"]
        param_names = (["intercept"] if intercept else []) + feature_names
    return Streamed(sufficient=sufficient, feature_names=feature_names, param_names=param_names,
                    target=target or getattr(chunks, "target_name", None), path=path, degree=degree,
                    n_dropped=n_dropped, group=group, chunks=chunks, weighting=_weighting(chunks, group))


def _weighting(chunks, group: Distributed | None):
    """The weighting of every process's rows (``Σ log w`` summed in rank order), or None."""
    local = getattr(chunks, "weighting", None)
    if local is None or group is None:
        return local
    return Weighting(math.fsum(group.all_gather(local.log_sum)))


def _chunks(source, group: Distributed | None, target, features, chunk_rows, dropna, names, labels=None):
    """The chunk source for ``source`` (this process's part of it under torchrun), and its path."""
    part = None if group is None else (group.rank, group.world_size)
    if isinstance(source, tuple) and len(source) == 2:
        chunks = iter_array_chunks(*source, rows=chunk_rows, names=names)
        if group is not None:
            rows = group.share(len(chunks.y))
            chunks = iter_array_chunks(chunks.x[rows], chunks.y[rows], rows=chunk_rows, names=chunks.feature_names)
        return chunks, None
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        return iter_file_chunks(path, target, features, chunk_rows, dropna=dropna, part=part, labels=labels), path
    if group is not None:
        raise BadDataError("a distributed pass needs a path or arrays (x, y), so each process can take its part")
    if hasattr(source, "__iter__"):
        return source, None
    raise BadDataError(f"cannot stream rows from a {type(source).__name__}: pass (x, y), a CSV or Parquet "
                       "path, or an iterable of (x, y) chunks")


def _feature_names(chunks, source, names: list[str] | None, degree: int | None) -> list[str]:
    feature_names = list(getattr(chunks, "feature_names", None) or [])
    if names is not None and not isinstance(source, tuple):
        if degree is not None or (feature_names and len(names) != len(feature_names)):
            raise BadDataError("names= renames the features of arrays; for files choose columns with features=")
        feature_names = list(names)
    return feature_names


def streamed_batches(stream, cfg, engine: str, scaling) -> ShuffledBatches:
    """The torch engine's mini-batches of a streamed fit (in the space gradient descent runs in)."""
    if cfg.batch_size is None:
        raise BadOptionError("engine", engine, "streams mini-batches only", f"give {option('batch_size')}, "
                             "or use the exact engine for full batch")
    transform = None if scaling is None else (lambda x, y: (scaling.x(x), scaling.y(y)))
    width = len(getattr(stream, "feature_names", None) or [0]) + 1
    rows = cfg.shuffle_buffer or default_buffer_rows(width, cfg.batch_size)
    return ShuffledBatches(stream, cfg.batch_size, rows, cfg.seed, transform)
