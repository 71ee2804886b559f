"""``fit_streaming``: full-batch gradient descent on a file that is never held in memory.

One streaming pass (:func:`gradfit.streaming_solve.stream_statistics`: Parquet row groups, CSV
blocks, ``chunk_rows`` rows at a time) reduces the rows to sufficient statistics; the exact
engine then runs every epoch from them in O(p²), with the closed form, the statistics and the
convergence verdict of :func:`gradfit.fit`. Memory is about one chunk whatever the file's size.
Under ``torchrun`` each process streams its own part of the file.
"""

from __future__ import annotations

import numpy as np

from .config import FitConfig
from .data import Problem
from .errors import BadOptionError
from .result import FitResult


def fit_streaming(source, *, target: str | None = None, features: list[str] | None = None,
                  chunk_rows: int | None = None, dropna: bool = False, intercept: bool = True,
                  names: list[str] | None = None, poly: int | None = None, standardize: bool = False,
                  init=None, callbacks: list | None = None, distributed=None, **options) -> FitResult:
    """Fit ``source`` by full-batch gradient descent (exact engine) in one streaming pass.

    Parameters
    ----------
    source : str, path, or tuple (x, y)
        A CSV or Parquet file (``target`` required), or in-memory arrays (streamed as views).
    target, features, chunk_rows, dropna
        As :func:`gradfit.streaming_solve.solve_streaming`.
    intercept, names, poly, standardize, init, callbacks, distributed
        As :func:`gradfit.fit`.
    **options
        The other options of :func:`gradfit.fit` (``lr``, ``epochs``, ``tol``, ``alpha``,
        ``checkpoint``, ``resume`` …). Only what the exact engine does is accepted: full batch,
        plain SGD, no validation split (the rows are not held, so none can be set aside).

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
    from .api import fit_problem
    from .streaming_solve import stream_statistics

    cfg = FitConfig(**options).validate()
    if cfg.val_split:
        raise BadOptionError("val_split", cfg.val_split, "a streamed fit holds no rows to set aside for validation",
                             "split the file beforehand, or leave --chunk-rows out to read it whole")
    if cfg.batch_size is not None or cfg.engine not in ("auto", "exact") or cfg.optimizer != "sgd" \
            or cfg.model is not None or cfg.scheduler is not None:
        raise BadOptionError("chunk_rows", chunk_rows, "streams the rows for the exact engine only (full batch, "
                             "plain SGD, no --model or --scheduler)",
                             "leave --chunk-rows out to read the file whole for the torch or numpy engine")
    streamed = stream_statistics(source, target=target, features=features, intercept=intercept, names=names,
                                 poly=poly, chunk_rows=chunk_rows, dropna=dropna, distributed=distributed)
    stats = streamed.stats
    empty = np.empty((0, stats.d))
    problem = Problem(x_train=empty, y_train=np.empty(0), x_val=None, y_val=None, intercept=intercept,
                      names=list(streamed.feature_names))
    result = fit_problem(problem, cfg, init=init, standardize=bool(standardize), callbacks=callbacks,
                         streamed=stats)
    result.poly_degree = streamed.degree
    result.inputs = [streamed.feature_names[0]] if streamed.degree else list(streamed.feature_names)
    result.target, result.dataset, result.world_size = streamed.target, streamed.path, streamed.world_size
    result.n_dropped = streamed.n_dropped
    return result
