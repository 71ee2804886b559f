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
from ..data.batches import row_digest
from ..data.row_split import SplitChunks
from ..least_squares.gram_stream import StreamAccumulator
from ..least_squares.sufficient import SufficientStats, accumulate
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
    val_sufficient: object = None  # SufficientStats of the rows held out by val_split (every process's)
    digest: int | None = None  # gradfit.data.batches.row_digest of every row read, when asked for

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
                      weights: str | None = None, cluster: str | None = None, val_split: float | None = None,
                      seed: int = 0, digest: bool = False) -> Streamed:
    """One pass over ``source`` (see :func:`gradfit.solve_streaming`) to sufficient statistics,
    shared among the processes of a ``torchrun`` launch when ``distributed``; ``weights`` names a
    column of the file whose rows are whitened by it (:mod:`gradfit.data.weights`); ``cluster``
    names a column of cluster labels read beside each chunk (``chunks.chunk_labels``).
    ``val_split``: the rows a seeded rule on their position holds out
    (:mod:`gradfit.data.row_split`) go to :attr:`Streamed.val_sufficient` instead. ``digest``:
    also the rows' :func:`gradfit.data.batches.row_digest` (for a checkpoint's "same data" check)."""
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
    if val_split:  # (weighted rows are whitened first: the held-out ones give the weighted validation loss)
        chunks = SplitChunks(chunks, val_split, seed)
    param_names = None if not feature_names else (["intercept"] if intercept else []) + feature_names
    read = _Pass(chunks, intercept, param_names, digest)
    if group is None:
        sufficient = accumulate(read, intercept=intercept, names=param_names)
        n_dropped, val, row_sum = int(getattr(chunks, "n_dropped", 0)), read.val(), read.digest
    else:
        sufficient = gather_sufficient(group, lambda: accumulate(read, intercept=intercept, names=param_names,
                                                                 allow_empty=True), param_names)
        n_dropped = sum(group.all_gather(int(getattr(chunks, "n_dropped", 0))))
        val = _gathered_val(group, read, param_names) if val_split else None
        row_sum = sum(group.all_gather(read.digest)) % 2**64 if digest else None
    if val_split and val is None:
        raise BadOptionError("val_split", val_split, f"held out no row of the {sufficient.n} read",
                             "give a larger fraction, or validate on a file of its own")
    if param_names is None:
        feature_names = [f"x{j + 1}" for j in range(sufficient.d)] if sufficient.d > 1 else ["x"]
        param_names = (["intercept"] if intercept else []) + feature_names
    return Streamed(sufficient=sufficient, feature_names=feature_names, param_names=param_names,
                    target=target or getattr(chunks, "target_name", None), path=path, degree=degree,
                    n_dropped=n_dropped, group=group, chunks=chunks, weighting=_weighting(chunks, group),
                    val_sufficient=val, digest=row_sum)


class _Pass:
    """The chunks of one pass, as :func:`accumulate` reads them; on the way, the held-out rows
    (``chunks.chunk_val``, :class:`gradfit.data.row_split.SplitChunks`) are accumulated beside
    them as :func:`accumulate` folds the training rows, and every row (training and held out) is
    added to the digest when asked for."""

    def __init__(self, chunks, intercept: bool, names, digest: bool) -> None:
        self.chunks, self.intercept, self.names, self.with_digest = chunks, intercept, names, digest
        self.held, self.digest, self.rows_seen = None, 0 if digest else None, 0

    def __iter__(self):
        for x, y in self.chunks:
            held = getattr(self.chunks, "chunk_val", None)
            if held is not None and len(held[1]):
                if self.held is None:
                    self.held = StreamAccumulator(int(np.shape(held[0])[1]), self.intercept, self.names)
                self.held.add(*held)
            if self.with_digest:
                self._add_digest(x, y, held)
            yield x, y

    def _add_digest(self, x, y, held) -> None:
        positions = getattr(self.chunks, "chunk_positions", None)
        if positions is None:  # bare chunks: rows named by the order they come in
            positions = np.arange(self.rows_seen, self.rows_seen + len(y))
        self.rows_seen += len(y)
        self.digest = (self.digest + row_digest(positions, x, y)) % 2**64
        if held is not None and len(held[1]):
            self.digest = (self.digest + row_digest(self.chunks.chunk_val_positions, *held)) % 2**64

    def val(self):
        return None if self.held is None or self.held.n == 0 else SufficientStats.from_accumulator(self.held.state())


def _gathered_val(group: Distributed, read: _Pass, names):
    """The held-out rows' statistics of every process, merged in rank order (``None``: none anywhere)."""
    counts = group.all_gather(0 if read.held is None else int(read.held.n))
    if not any(counts):
        return None
    return gather_sufficient(group, read.val, names)


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


def streamed_batches(stream, cfg, engine: str, scaling, group=None) -> ShuffledBatches:
    """The torch engine's mini-batches of a streamed fit (in the space gradient descent runs in)."""
    if cfg.batch_size is None:
        raise BadOptionError("engine", engine, "streams mini-batches only", f"give {option('batch_size')}, "
                             "or use the exact engine for full batch")
    transform = None if scaling is None else (lambda x, y: (scaling.x(x), scaling.y(y)))
    width = len(getattr(stream, "feature_names", None) or [0]) + 1
    rows = cfg.shuffle_buffer or default_buffer_rows(width, cfg.batch_size)
    return ShuffledBatches(stream, cfg.batch_size, rows, cfg.seed, transform, group=group)
