"""``fit_streaming``: gradient descent on a file that is never held in memory.

One streaming pass (:func:`gradfit.pipeline.streaming_solve.stream_statistics`: Parquet row groups, CSV
blocks, ``chunk_rows`` rows at a time) reduces the rows to sufficient statistics: the closed
form, the statistics, the curvature and the convergence verdict of :func:`gradfit.fit` come from
them. Full batch, the exact engine then runs every epoch from them in O(p²); memory is about one
chunk whatever the file's size, and under ``torchrun`` each process streams its own part of the
file. Mini-batches (torch engine) are read from the file again every epoch through a seeded
shuffle buffer (:class:`gradfit.scale.shuffle_buffer.ShuffledBatches`); memory is the buffer.
"""

from __future__ import annotations

import numpy as np

from ..config import FitConfig
from ..data import Problem
from ..errors import BadOptionError
from ..results.types import FitResult


def fit_streaming(source, *, target: str | None = None, features: list[str] | None = None,
                  chunk_rows: int | None = None, dropna: bool = False, intercept: bool = True,
                  names: list[str] | None = None, poly: int | None = None, standardize: bool = False,
                  init=None, callbacks: list | None = None, distributed=None, **options) -> FitResult:
    """Fit ``source`` by gradient descent without holding its rows.

    Parameters
    ----------
    source : str, path, or tuple (x, y)
        A CSV or Parquet file (``target`` required), or in-memory arrays (streamed as views).
    target, features, chunk_rows, dropna
        As :func:`gradfit.pipeline.streaming_solve.solve_streaming`.
    intercept, names, poly, standardize, init, callbacks, distributed
        As :func:`gradfit.fit`.
    **options
        The other options of :func:`gradfit.fit` (``lr``, ``epochs``, ``batch_size``,
        ``optimizer``, ``tol``, ``alpha``, ``checkpoint`` …) and ``shuffle_buffer``: for
        mini-batches, the rows shuffled together (default about 64 MiB of rows; at least the
        number of rows gives exactly the batches of the in-memory run). Not available: a validation split
        (the rows are not held, so none can be set aside); for mini-batches, checkpoints and
        resuming (the shuffle buffer's state is not saved) and ``torchrun``.

    Returns
    -------
    FitResult
        As :func:`gradfit.fit`; ``stats`` come from the sufficient statistics.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.linspace(0, 1, 50); y = 1 + 2 * x
    >>> res = fit_streaming((x, y), chunk_rows=8, lr=0.5, epochs=2000)
    >>> round(res.params.intercept, 6), round(float(res.params.coef[0]), 6), res.n_train
    (1.0, 2.0, 50)
    """
    from ..api import fit_problem
    from .streaming_solve import stream_statistics

    cfg = FitConfig(**options).validate()
    if cfg.val_split:
        raise BadOptionError("val_split", cfg.val_split, "a streamed fit holds no rows to set aside for validation",
                             "split the file beforehand, or leave --chunk-rows out to read it whole")
    if cfg.engine == "numpy" or (cfg.batch_size is None and cfg.engine == "torch"):
        raise BadOptionError("engine", cfg.engine, "a streamed fit runs full batch on the exact engine and "
                             "mini-batches on the torch engine", "leave --engine out, or read the file whole "
                             "(without --chunk-rows)")
    if cfg.batch_size is not None and (distributed or cfg.checkpoint or cfg.resume):
        option = "checkpoint" if cfg.checkpoint else "resume" if cfg.resume else "chunk_rows"
        raise BadOptionError(option, getattr(cfg, option, chunk_rows), "mini-batches streamed from disk cannot be "
                             "checkpointed, resumed or shared among processes (the shuffle buffer is not saved)",
                             "read the file whole (without --chunk-rows), or fit full batch")
    streamed = stream_statistics(source, target=target, features=features, intercept=intercept, names=names,
                                 poly=poly, chunk_rows=chunk_rows, dropna=dropna, distributed=distributed)
    stats = streamed.stats
    empty = np.empty((0, stats.d))
    problem = Problem(x_train=empty, y_train=np.empty(0), x_val=None, y_val=None, intercept=intercept,
                      names=list(streamed.feature_names))
    result = fit_problem(problem, cfg, init=init, standardize=bool(standardize), callbacks=callbacks,
                         streamed=stats, stream=streamed.chunks)
    result.poly_degree = streamed.degree
    result.inputs = [streamed.feature_names[0]] if streamed.degree else list(streamed.feature_names)
    result.target, result.dataset, result.world_size = streamed.target, streamed.path, streamed.world_size
    result.n_dropped = streamed.n_dropped
    return result


def streamed_batches(stream, cfg: FitConfig, engine: str, scaling):
    """The torch engine's mini-batches of a streamed fit (in the space GD runs in)."""
    from ..scale.shuffle_buffer import ShuffledBatches, default_buffer_rows

    if cfg.batch_size is None:
        raise BadOptionError("engine", engine, "streams mini-batches only", "give --batch-size, or use the exact "
                             "engine for full batch")
    transform = None if scaling is None else (lambda x, y: (scaling.x(x), scaling.y(y)))
    width = len(getattr(stream, "feature_names", None) or [0]) + 1
    rows = cfg.shuffle_buffer or default_buffer_rows(width, cfg.batch_size)
    return ShuffledBatches(stream, cfg.batch_size, rows, cfg.seed, transform)
