"""The Python API: ``fit``, ``solve``, ``sweep``, their streaming forms and ``find_lr``.

Each is a few named stages: options → :class:`gradfit.config.FitConfig` (validated up front),
the caller's data → a data source (:mod:`gradfit.pipeline.prepare`), then the pipeline
(:func:`gradfit.pipeline.run.fit_source`: reference → scaling → engine → learning rate → start →
control → training → result). Every option is declared once, in :class:`gradfit.config.FitConfig`;
the signatures and the option docs below derive from those declarations.
"""

from __future__ import annotations

from .config import config_from, takes_options
from .errors import BadDataError, BadOptionError, option, require
from .pipeline.solving import solve_source
from .pipeline.prepare import check_streamable, in_memory, streamed
from .pipeline.reg_path import path_of, path_spec
from .pipeline.sources import scaled_problem
from .pipeline.run import fit_source
from .pipeline.sweep import SweepResult, parse_lrs, sweep_source
from .results.path_result import RegularizationPath
from .results.types import FitResult, SolveResult
from .scale.launch import peer_faults


@takes_options("fit")
def fit(x=None, y=None, *, val=None, names: list[str] | None = None, dataset: str | None = None, init=None,
        callbacks: list | None = None, distributed=None, cluster=None, weights=None, **options) -> FitResult:
    """Fit ``y ≈ intercept + x @ coef`` by gradient descent and check it against least squares.

    Parameters
    ----------
    x, y : array_like, optional
        ``x`` is ``(n,)`` (one feature) or ``(n, d)``; ``y`` is ``(n,)`` or ``(n, 1)``. NumPy
        arrays, pandas DataFrames/Series (their names name the parameters) or CPU tensors. Leave
        both out to fit an embedded dataset (``dataset``, default ``"book"``).
    val : tuple (x_val, y_val), optional
        Validation rows (instead of ``val_split``).
    names : list of str, optional
        Feature names (a DataFrame's columns otherwise).
    dataset : str, optional
        An embedded dataset (see ``gradfit datasets``) when ``x`` and ``y`` are left out.
    init : Params, dict or array_like, optional
        Starting values ``[b, w1, …]`` instead of the seeded draw.
    callbacks : list of gradfit.Callback, optional
        Called at every epoch by every engine (e.g. ``RichProgressCallback()``).
    distributed : bool or gradfit.scale.distributed.Distributed, optional
        Fit with the other processes of a ``torchrun`` launch (``True``: join its process group);
        every process passes all the rows, keeps its share, and returns the same result.
    cluster : array_like, optional
        ``(n,)`` a cluster label per row of ``x`` (numbers or text) for ``cov_type='cluster'``.
    weights : array_like, optional
        ``(n,)`` weighted least squares, as statsmodels' ``WLS`` (a weight ∝ 1 / the row's error
        variance): gradient descent minimises ``(1/n) Σ w_i r_i²``, checked against the weighted
        closed form. Finite, zero or more, not all zero; they follow their rows into ``val_split``.
    {options}

    Returns
    -------
    FitResult
        Raises ``BadOptionError``/``BadDataError`` (``ValueError``) for bad input,
        ``DivergedError`` when the loss blows up, ``Interrupted`` after :func:`gradfit.request_stop`,
        ``ProcessGroupError`` (``RuntimeError``; torch's error as its ``__cause__``) when another
        process of a torchrun launch is lost or stalls; warns ``ConvergenceWarning`` when
        ``epochs`` run out first.

    Examples
    --------
    >>> import gradfit
    >>> res = gradfit.fit()                       # the book data, exact engine
    >>> round(res.params.intercept, 6), round(float(res.params.coef[0]), 6)
    (1.023541, 1.968964)
    """
    cfg = config_from("fit", options)
    if cfg.tensorboard:
        require("tensorboard")  # before any training, not after it
    with peer_faults(cfg.checkpoint):  # a lost or stalled torchrun peer: gradfit's ProcessGroupError
        source = in_memory(x, y, cfg, val=val, names=names, dataset=dataset, distributed=distributed,
                           cluster=cluster, weights=weights)
        return fit_source(source, cfg, init=init, callbacks=callbacks)


@takes_options("solve")
def solve(x=None, y=None, *, names: list[str] | None = None, dataset: str | None = None, target: str | None = None,
          distributed=None, cluster=None, weights=None, **options) -> SolveResult:
    """The exact least-squares fit and its statistics, without gradient descent.

    Accurate to (nearly) full float64 precision: at least 13 correct digits on every NIST StRD
    linear dataset, Filip and Wampler5 included.

    Parameters
    ----------
    x, y : array_like, optional
        As for :func:`fit`; leave both out for an embedded dataset's training rows (the rows
        :func:`fit` checks gradient descent against).
    names, dataset
        As for :func:`fit`.
    target : str, optional
        Name of the target, for the summary (a pandas Series' name by default).
    distributed : bool or gradfit.scale.distributed.Distributed, optional
        Under ``torchrun``: each process reduces its share to sufficient statistics, all merged
        (TSQR): float64 QR accuracy, no exact refinement.
    cluster : array_like, optional
        ``(n,)`` a cluster label per row of ``x`` (numbers or text) for ``cov_type='cluster'``.
    weights : array_like, optional
        ``(n,)`` weighted least squares, as statsmodels' ``WLS`` (see :func:`fit`).
    {options}

    Returns
    -------
    SolveResult
        ``closed_form``, ``std_err``, ``stats`` (statsmodels' OLS statistics), ``summary()``.

    Examples
    --------
    >>> import numpy as np, gradfit
    >>> res = gradfit.solve(np.array([0.0, 1.0, 2.0, 3.0]), np.array([1.0, 3.1, 4.9, 7.0]))
    >>> res.closed_form.intercept, res.closed_form.coef.round(6).tolist(), res.stats.df_resid
    (1.03, [1.98], 2)
    """
    cfg = config_from("solve", options)
    if x is None and y is None:  # the training rows: what gradient descent is checked against
        x, y, names, target, dataset = _training_rows(dataset, names, target)
    elif dataset is not None:
        raise BadDataError("give either arrays x, y or dataset=, not both")
    with peer_faults(resumable=False):
        source = in_memory(x, y, cfg, names=names, distributed=distributed, target=target, cluster=cluster,
                           weights=weights)
        source.origin.dataset = dataset
        return solve_source(source, cfg)


def _training_rows(dataset: str | None, names, target):
    from .data.embedded import load_dataset

    data = load_dataset(dataset or "book")
    return data.x_train, data.y_train, names or data.feature_names, target or data.target_name, data.name


def sweep(x=None, y=None, *, lr, val=None, names=None, dataset=None, init=None, callbacks=None, cluster=None,
          weights=None, **options) -> SweepResult:
    """Fit once per learning rate in ``lr`` (a list, or ``"0.01,0.1"``); every other option and
    input as for :func:`fit`.

    Each run is the run ``gradfit.fit(x, y, lr=that_lr, …)`` would make; a run that diverges does
    not stop the others (its :class:`SweepRun` holds the :class:`DivergedError`). The result is a
    list of :class:`SweepRun`, one per rate in order, with a short ``repr``, a notebook table and
    ``to_frame()`` (a pandas DataFrame, one row per rate).

    Examples
    --------
    >>> import gradfit
    >>> runs = gradfit.sweep(lr=[0.1, 0.5, 1.1])
    >>> [(run.lr, run.diverged is not None) for run in runs]
    [(0.1, False), (0.5, False), (1.1, True)]
    """
    rates = parse_lrs(lr)
    cfg = config_from("sweep", {**options, "lr": rates[0]})
    source = in_memory(x, y, cfg, val=val, names=names, dataset=dataset, cluster=cluster, weights=weights)
    return sweep_source(source, cfg, rates, init=init, callbacks=callbacks)


@takes_options("fit_streaming")
def fit_streaming(source, *, target: str | None = None, features: list[str] | None = None,
                  chunk_rows: int | None = None, dropna: bool = False, names: list[str] | None = None, init=None,
                  callbacks: list | None = None, distributed=None, weights: str | None = None,
                  cluster: str | None = None, **options) -> FitResult:
    """Fit ``source`` by gradient descent without holding its rows.

    One streaming pass reduces the rows to sufficient statistics: the closed form, statistics,
    curvature and the convergence verdict come from them. Full batch, the exact engine then runs
    every epoch in O(p²); mini-batches (torch engine) are read from the file again every epoch
    through a seeded shuffle buffer whose order depends on the rows' positions alone (not on
    ``chunk_rows`` or the number of processes): checkpoints resume bit for bit, on any number of
    ``torchrun`` processes. ``val_split`` holds out rows by a seeded hash of their position
    (:func:`gradfit.data.batches.held_out`), the same rows on every pass.

    Parameters
    ----------
    source : str, path, or tuple (x, y)
        A CSV or Parquet file (``target`` required), or in-memory arrays (streamed as views).
    target, features, chunk_rows, dropna, weights, cluster
        As :func:`solve_streaming`.
    names, init, callbacks, distributed
        As :func:`fit`.
    {options}

    Examples
    --------
    >>> import numpy as np
    >>> x = np.linspace(0, 1, 50); y = 1 + 2 * x
    >>> res = fit_streaming((x, y), chunk_rows=8, lr=0.5, epochs=2000)
    >>> round(res.params.intercept, 6), round(float(res.params.coef[0]), 6), res.n_train
    (1.0, 2.0, 50)
    """
    cfg = config_from("fit_streaming", options)
    check_streamable(cfg, distributed, chunk_rows)
    with peer_faults(cfg.checkpoint):
        rows = streamed(source, cfg, target=target, features=features, chunk_rows=chunk_rows, dropna=dropna,
                        names=names, distributed=distributed, weights=weights, cluster=cluster)
        return fit_source(rows, cfg, init=init, callbacks=callbacks)


@takes_options("solve_streaming")
def solve_streaming(source, *, target: str | None = None, features: list[str] | None = None,
                    names: list[str] | None = None, chunk_rows: int | None = None, dropna: bool = False,
                    distributed=None, weights: str | None = None, cluster: str | None = None, **options):
    """Least squares and its statistics in one pass over the rows, memory O(chunk · p).

    Parameters
    ----------
    source : tuple (x, y), path, or iterable of (x, y) chunks
        In-memory arrays (streamed as views), a CSV or Parquet file (``target`` required;
        ``features`` as :func:`gradfit.data.files.read_table`), or any chunk source.
    names : list of str, optional
        Names of the features of arrays (before polynomial terms).
    chunk_rows : int, optional
        Rows per chunk (default: about a million cells, at most 65,536 rows).
    dropna : bool
        Files: drop rows with missing values instead of raising.
    distributed : bool or gradfit.scale.distributed.Distributed, optional
        Share the pass among the processes of a ``torchrun`` launch (each reads its part).
    weights : str, optional
        A file's column of row weights: weighted least squares (as :func:`fit`'s ``weights``).
    cluster : str, optional
        A file's column of cluster labels, for ``cov_type='cluster'`` (read beside each chunk in
        the second pass; the clusters are counted there).
    {options}

    Returns
    -------
    gradfit.results.types.StreamingSolveResult
        A :class:`SolveResult` with ``needs_refinement``, ``estimated_error`` and the statistics.

    Examples
    --------
    >>> import numpy as np, gradfit
    >>> x = np.arange(6.0); y = 1.0 + 2.0 * x + np.array([0.1, -0.1, 0.0, 0.1, -0.1, 0.0])
    >>> res = solve_streaming((x, y), chunk_rows=4)
    >>> round(res.closed_form.intercept, 6), res.closed_form.coef.round(6).tolist(), res.needs_refinement
    (1.028571, [1.988571], False)
    """
    cfg = config_from("solve_streaming", options)  # before the pass, not after it
    with peer_faults(resumable=False):
        rows = streamed(source, cfg, target=target, features=features, chunk_rows=chunk_rows, dropna=dropna,
                        names=names, distributed=distributed, weights=weights, cluster=cluster)
        return solve_source(rows, cfg)


def regularization_path(x=None, y=None, *, l1="auto", l2=0.0, n_lambdas: int = 50, eps: float | None = None, cv=None,
                        seed: int = 42, standardize: bool = True, names=None, dataset=None, weights=None,
                        intercept: bool = True, poly: int | None = None, formula: str | None = None,
                        target: str | None = None) -> RegularizationPath:
    """The exact lasso, elastic-net or ridge answer over a grid of λ, and with ``cv=K`` the λ that
    K-fold cross-validation chooses (:mod:`gradfit.pipeline.reg_path`).

    Parameters
    ----------
    x, y, names, dataset, weights, intercept, poly, formula, target
        As for :func:`solve` (the embedded dataset's training rows when ``x``, ``y`` are left out).
    l1 : 'auto', float or list of float
        ``'auto'``: ``n_lambdas`` values log-spaced from ``λ_max`` (the least l1 at which every
        coefficient is zero) down to ``eps·λ_max``; or the values themselves (solved largest first).
    l2 : float, 'auto' or list of float
        The ridge weight, fixed along an l1 path (an elastic net). ``'auto'`` or a list with
        ``l1=0``: a ridge path, from 100 × the largest eigenvalue ``s_max`` of the penalized
        coefficients' Gram ``RᵀR/n`` (every coefficient within 1% of zero there) down to
        ``s_min / 100`` (each within 1% of least squares; at most 10 decades down).
    n_lambdas : int
        Values of the automatic grid (default 50).
    eps : float, optional
        The grid's smallest value as a fraction of its largest (default: 1e-3 for l1, the ridge
        range's own end for l2).
    cv : int, optional
        K-fold cross-validation: the held-out MSE of each λ, ``best`` and ``one_se``. Each fold's
        training rows are standardized with their own statistics.
    seed : int
        Seeds the shuffle of the rows into folds.
    standardize : bool
        Penalize the coefficients of the standardized rows (default), as ``solve(…, standardize=True)``.

    Returns
    -------
    RegularizationPath
        ``lambdas``, ``coefficients`` ``(L, p)`` (original scale, intercept first), ``n_nonzero``,
        ``kkt``; with ``cv``, ``cv_mse``, ``cv_se``, ``best_l1``, ``l1_1se``; ``to_frame()``,
        ``to_json()``, ``summary()``, ``plot()``.

    Examples
    --------
    >>> import numpy as np, gradfit
    >>> rng = np.random.default_rng(0); x = rng.normal(size=(60, 3)); y = x @ [2.0, 0.0, -1.0] + rng.normal(size=60)
    >>> path = gradfit.regularization_path(x, y, n_lambdas=5, cv=3)
    >>> path.n_nonzero.tolist(), path.coefficients.shape       # [b, w1, w2, w3] at each of 5 values of l1
    ([0, 2, 3, 3, 3], (5, 4))
    >>> path.coefficients[path.cv.one_se].round(3).tolist()   # the 1-SE rule's choice drops x2
    [-0.424, 1.501, 0.0, -0.151]
    """
    spec = path_spec(l1, l2, n_lambdas, eps, cv, seed)
    cfg = config_from("solve", dict(intercept=intercept, poly=poly, formula=formula, standardize=standardize))
    source = in_memory(x, y, cfg, names=names, dataset=dataset, weights=weights, target=target, penalized=True)
    path = path_of(source.problem, spec, cfg.standardize)
    path.target, path.dataset = source.origin.target, source.origin.dataset
    return path


def find_lr(x=None, y=None, *, dataset: str | None = None, model: str | None = None, optimizer: str = "sgd",
            batch_size: int | None = None, seed: int = 42, device: str = "auto", dtype: str | None = None,
            val_split: float | None = None, intercept: bool = True, names: list[str] | None = None,
            poly: int | None = None, standardize: bool = False, **range_options):
    """The learning-rate range test for the linear model :func:`fit` would train with the torch
    engine: :func:`gradfit.lr_find` on a :class:`gradfit.Trainer` of that model and those rows.

    Takes :func:`fit`'s data and model options (the rate found applies to ``fit`` with the same
    ones, ``standardize`` included) and :func:`gradfit.lr_find`'s ``range_options``. The test is
    read against the curvature of these rows (:func:`gradfit.training.lr_range.with_curvature`):
    ``lr_max_stable`` is ``2/L`` and, for ``optimizer='sgd'``, ``suggested_lr`` is half the
    smaller of the test's lowest-loss rate and the bound ``2/L`` (``2/L_B`` for mini-batches).

    Examples
    --------
    >>> found = find_lr()                       # the book data, full batch, the tutorial's module
    >>> found.diverged, round(found.lr_max_stable, 4), found.suggested_lr   # half the limit 2/L
    (True, 0.8055, 0.4)
    """
    import torch
    from torch import nn

    from .data.design import Scaling
    from .engines.torch_engine import build_model, make_optimizer
    from .scale.devices import resolve_device
    from .training.lr_range import lr_find, with_curvature
    from .training.trainer import Trainer

    if model == "tensors":
        raise BadOptionError("model", "tensors", "the range test trains a module on the Trainer, and bare tensors "
                             "are not one", f"use {option('model', 'manual')}: the same b and w, as nn.Parameter")
    cfg = config_from("fit", dict(engine="torch", model=model, optimizer=optimizer, batch_size=batch_size,
                                  seed=seed, device=device, dtype=dtype, val_split=val_split, intercept=intercept,
                                  poly=poly, standardize=standardize))
    problem = in_memory(x, y, cfg, names=names, dataset=dataset).problem
    if standardize:
        problem = scaled_problem(problem, Scaling.fit(problem.x_train, problem.y_train, problem.intercept))
    dtype, where = getattr(torch, cfg.resolved_dtype("torch")), resolve_device(cfg.device)
    net = build_model(cfg.model or "manual", problem.n_features, problem.intercept, cfg.seed, where, dtype, None)
    x_train = torch.as_tensor(problem.x_train, dtype=dtype, device=where)  # (n, d)
    y_train = torch.as_tensor(problem.y_train, dtype=dtype, device=where).view(-1, 1)  # (n, 1)
    trainer = Trainer(net, nn.MSELoss(), lambda params: make_optimizer(cfg.optimizer, params, 1e-3),
                      train_data=(x_train, y_train), batch_size=cfg.batch_size, seed=cfg.seed)
    found = lr_find(trainer, seed=cfg.seed, **range_options)
    return with_curvature(found, problem.design(problem.x_train), cfg.batch_size, cfg.optimizer == "sgd")
