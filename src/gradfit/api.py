"""``gradfit.fit``: read & validate → design matrix → closed form → engine → result."""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np

from .training.checkpoint import clear_stop_request, request_stop  # noqa: F401  (the interrupt API, for the CLI)
from .config import FitConfig
from .data import Problem, as_problem, load_dataset
from .data.design import Scaling, check_degree, expand_poly
from .data.validate import series_name
from .engines import choose_engine, get_engine
from .engines.common import numpy_init
from .training.divergence import DivergenceMonitor
from .errors import BadDataError, BadOptionError, CollinearityWarning, ConvergenceWarning, require
from .least_squares.checks import warn_if_collinear
from .results.diagnostics import not_converged_message
from .least_squares.curvature import auto_lr, max_row_norm2
from .results.types import FitResult, History, Params, SolveResult, TraceEntry
from .least_squares.dense import lstsq
from .least_squares.statistics import OLSStats


def fit(
    x=None,
    y=None,
    *,
    engine: str = "auto",
    model: str | None = None,
    optimizer: str = "sgd",
    lr: float | str = 0.1,
    epochs: int = 1000,
    batch_size: int | None = None,
    seed: int = 42,
    device: str = "auto",
    dtype: str | None = None,
    tol: float = 1e-4,
    val=None,
    val_split: float | None = None,
    intercept: bool = True,
    init=None,
    names: list[str] | None = None,
    dataset: str | None = None,
    poly: int | None = None,
    standardize: bool = False,
    alpha: float = 0.05,
    record_path: bool = False,
    scheduler: str | None = None,
    patience: int | None = None,
    checkpoint: str | None = None,
    checkpoint_every: int | None = None,
    resume: str | None = None,
    tensorboard: str | None = None,
    callbacks: list | None = None,
    distributed=None,
    _shared: dict | None = None,
) -> FitResult:
    """Fit ``y ≈ intercept + x @ coef`` by gradient descent and check it against least squares.

    Parameters
    ----------
    x, y : array_like, optional
        ``x`` is ``(n,)`` (one feature) or ``(n, d)``; ``y`` is ``(n,)`` or ``(n, 1)``.
        Leave both out to fit an embedded dataset (``dataset``, default ``"book"``).
    engine : {"auto", "numpy", "torch", "exact"}
    model : {"linear", "manual"}, optional
        Torch module (default ``manual``, the tutorial's ``nn.Parameter`` b and w).
    optimizer : {"sgd", "adam"}
    lr : float or "auto"
        ``"auto"`` derives the step from the curvature of the loss (see :func:`auto_lr`): about
        the optimal fixed step ``2/(L+μ)`` for full batch (``L``, ``μ`` the extreme eigenvalues of
        the loss Hessian ``2/n XᵀX``; ``2/L`` is the stability limit), and a bound for sampled
        mini-batches otherwise.
    epochs : int
    batch_size : int, optional
        ``None`` for full batch, ``1`` for stochastic gradient descent.
    seed : int
        Seeds the initial values and the mini-batch shuffle.
    device : str
        ``auto``, ``cpu``, ``cuda`` or ``cuda:N`` (torch engine).
    dtype : {"float32", "float64"}, optional
        Default float32 for torch, float64 for numpy and exact.
    tol : float
        Converged when the norm of the scale-free gradient at the end (the MSE gradient with
        features and target scaled to unit variance, so independent of units) is at most ``tol``.
    val : tuple (x_val, y_val), optional
        Validation rows.
    val_split : float, optional
        Fraction of rows to hold out for validation (seeded shuffle).
    intercept : bool
        Fit an intercept ``b``.
    init : Params, dict or array_like, optional
        Starting values ``[b, w1, …]`` instead of the seeded draw.
    names : list of str, optional
        Feature names (taken from a DataFrame's columns otherwise).
    dataset : str, optional
        An embedded dataset (see ``gradfit datasets``) when ``x`` and ``y`` are left out.
    poly : int, optional
        Fit the polynomial ``x, x², …, x^poly`` of a single feature.
    standardize : bool
        Run gradient descent on centred and scaled data (training-split statistics) and report
        everything on the original scale. Off by default, so the tutorial's numbers hold; the
        command line turns it on for data files.
    alpha : float
        The statistics (``res.stats``, at the gradient-descent solution) give ``1 - alpha``
        confidence intervals.
    record_path : bool
        Keep the parameters after every update in ``res.path`` (``(updates + 1, p)``), e.g. to
        draw the path on the loss surface.
    scheduler : {"step", "cosine", "plateau"}, optional
        Torch engine: ``step`` halves the rate every 100 epochs, ``cosine`` anneals it to 0 over
        ``epochs``, ``plateau`` divides it by 10 after 10 epochs without improvement of the
        validation loss. ``res.history.lr`` holds each epoch's rate.
    patience : int, optional
        Early stopping: stop after ``patience`` epochs without improvement of the validation
        loss and keep the best epoch's parameters (``res.stopped_epoch``, ``res.best_epoch``).
    checkpoint : str, optional
        Write a checkpoint to this file (atomically) every ``checkpoint_every`` epochs (default 1;
        the exact engine: when it ends), at the end, when stopping early, and when
        :func:`gradfit.request_stop` interrupts the run.
    resume : str, optional
        Continue the run in this checkpoint until ``epochs`` epochs in total (600 done and
        ``epochs=1000``: 400 more). The numbers are those of the uninterrupted run. Data and the
        options that shape training must match the saved run (else ``BadDataError`` /
        ``BadOptionError``). Give ``checkpoint`` too to keep saving (it may be the same file).
    tensorboard : str, optional
        Log every epoch (losses, learning rate, parameters) to this folder for TensorBoard.
    callbacks : list of gradfit.training.callbacks.Callback, optional
        Called at every epoch by every engine (e.g. ``RichProgressCallback()``).
    distributed : bool or gradfit.scale.distributed.Distributed, optional
        Fit together with the other processes of a ``torchrun`` launch (``True``: join the
        process group the launcher describes). ``x`` and ``y`` are all the rows, the same on every
        process; each process keeps its share of them. The exact engine all-gathers sufficient
        statistics; the torch engine trains with ``DistributedDataParallel`` on the same global
        batches as one process. Every process returns the same result; only the caller decides
        who writes it. The numpy engine runs in one process only.

    Returns
    -------
    FitResult

    Raises
    ------
    BadOptionError, BadDataError
        Bad options or data (``ValueError`` subclasses).
    DivergedError
        The loss became inf/nan or grew without bound.
    Interrupted
        :func:`gradfit.request_stop` was called: the run stopped after an epoch and wrote its
        checkpoint (``error.checkpoint``).

    Warns
    -----
    ConvergenceWarning
        When ``epochs`` ran out before the convergence tolerance was met.

    Examples
    --------
    >>> import gradfit
    >>> res = gradfit.fit()                       # the book data, exact engine
    >>> round(res.params.intercept, 6), round(float(res.params.coef[0]), 6)
    (1.023541, 1.968964)
    """
    if tensorboard:
        require("tensorboard")  # before any training, not after it
    cfg = FitConfig(engine=engine, model=model, optimizer=optimizer, lr=lr, epochs=epochs,
                    batch_size=batch_size, seed=seed, device=device, dtype=dtype, tol=tol,
                    val_split=val_split, alpha=alpha, record_path=record_path, scheduler=scheduler,
                    patience=patience, checkpoint=checkpoint, checkpoint_every=checkpoint_every, resume=resume,
                    tensorboard=tensorboard).validate()
    problem, dataset_name = _problem(x, y, dataset, cfg, val=val, intercept=intercept, names=names)
    dataset_target = load_dataset(dataset_name).target_name if dataset_name else None
    inputs = list(problem.names)
    problem, degree, shares = _expand_and_share(problem, poly, cfg, distributed)
    shared = _shared or {}  # gradfit.sweep: runs trained together, and what every rate shares
    result = fit_problem(problem, cfg, init=init, dataset=dataset_name, standardize=bool(standardize),
                         callbacks=callbacks, engine_override=shared.get("engine_override"),
                         cache=shared.get("cache"), shares=shares)
    result.poly_degree, result.inputs = degree, inputs
    if result.target is None:
        result.target = dataset_target or series_name(y)
    return result


def _expand_and_share(problem: Problem, poly: int | None, cfg: FitConfig, distributed):
    """Polynomial terms (``poly``), then, when ``distributed``, this process's share of the rows:
    ``(problem, degree, shares)``, each of the last two ``None`` when not asked for."""
    degree = None if poly is None else check_degree(poly)
    if degree is not None:
        problem = expand_poly(problem, degree)
    if not distributed:
        return problem, degree, None
    from .scale.distributed import Distributed, share_problem, start

    if cfg.engine == "numpy":
        raise BadOptionError("engine", "numpy", "runs in one process only",
                             "use the exact engine (full batch) or torch (DistributedDataParallel) under torchrun")
    group = distributed if isinstance(distributed, Distributed) else start(cfg.device)
    local, shares = share_problem(problem, group)
    return local, degree, shares


def fit_problem(problem: Problem, cfg: FitConfig, *, init=None, dataset: str | None = None,
                standardize: bool = False, callbacks: list | None = None, engine_override=None,
                cache: dict | None = None, shares=None, streamed=None, stream=None) -> FitResult:
    """Run a validated configuration on a validated problem (what the CLI and ``fit`` share).

    With ``standardize``, gradient descent runs on centred and scaled data (training-split
    statistics); learning rate, curvature and convergence are judged there, and every
    parameter, trace entry and loss is mapped back to the original scale.
    ``engine_override`` replaces the engine's ``run`` (same arguments; :func:`gradfit.sweep`
    uses it to hand in runs trained together), and ``cache`` (a dict) keeps what does not depend
    on the learning rate — closed form, statistics pass, scaling — for the next rate of a sweep.
    ``shares`` (:class:`gradfit.scale.distributed.Shares`): ``problem`` holds this process's rows of a
    distributed run; statistics are gathered from every process. ``streamed``
    (:class:`gradfit.least_squares.sufficient.SufficientStats`): the training rows were streamed from disk and
    ``problem`` holds none of them; the exact engine runs from them, the torch engine reads
    mini-batches from ``stream`` (the chunk source) through a shuffle buffer.
    """
    param_names = (["intercept"] if problem.intercept else []) + list(problem.names)
    if streamed is not None:
        n = streamed.n
    else:
        n = len(problem.y_train) if shares is None else shares.train.total
    # Small data: the design in memory and the exact solver (full accuracy on every NIST set).
    # Large data: one streaming pass to sufficient statistics (memory about one chunk), from
    # which the closed form, curvature, gradients and statistics all follow in O(p²).
    # Several processes: each one's statistics, gathered and merged.
    small = is_small(problem) and shares is None and streamed is None
    if cache and "closed" in cache:
        design, train_stats, closed, stats_scaling = (cache[k] for k in ("design", "train_stats", "closed", "scaling"))
    else:
        design = problem.design(problem.x_train) if small else None  # (n, p), original scale
        if streamed is not None:
            train_stats = streamed
        else:
            train_stats = None if small else _sufficient(problem.x_train, problem.y_train, problem, param_names, shares)
        closed = _closed_form(design, train_stats, problem, param_names)
        warn_if_collinear(closed.condition_number, param_names)
        # Training-split statistics: they define the scale-free convergence test for every run,
        # and the space gradient descent runs in when standardizing.
        stats_scaling = Scaling.fit(problem.x_train, problem.y_train, problem.intercept) if small \
            else train_stats.scaling()
        if cache is not None:
            cache.update(design=design, train_stats=train_stats, closed=closed, scaling=stats_scaling)
    scaling = stats_scaling if standardize else None
    engine_name = choose_engine(cfg, n)
    needs_rows = engine_name != "exact" or small
    run_problem = problem if scaling is None or not needs_rows else _scaled_problem(problem, scaling)

    def to_original(theta: np.ndarray) -> np.ndarray:
        return theta if scaling is None else scaling.to_original(theta, problem.intercept)

    def scale_free_gradient_norm(theta: np.ndarray) -> float:
        gradient = _gradient(design, problem.y_train, theta) if small else train_stats.gradient(theta)
        return float(np.linalg.norm(stats_scaling.gradient_to_scaled(gradient, problem.intercept)))

    engine_stats = {}
    if small:
        run_design = run_problem.design(run_problem.x_train)  # (n, p), where GD runs
        hessian_max, hessian_min = _hessian_extremes(run_design)
        row_curvature = None
    else:
        run_stats = train_stats if scaling is None else train_stats.standardized(scaling)
        hessian_max, hessian_min = run_stats.hessian_extremes()
        if streamed is not None and engine_name != "exact":
            from .pipeline.streaming_fit import streamed_batches

            engine_stats["batches"] = streamed_batches(stream, cfg, engine_name, scaling)
        row_curvature = None  # max_i ‖a_i‖²: a pass over the rows, only when --lr auto needs it
        if cfg.lr == "auto" and cfg.batch_size is not None:
            row_curvature = engine_stats["batches"].max_row_norm2() + float(problem.intercept) \
                if "batches" in engine_stats else max_row_norm2(problem, scaling)
        if shares is not None and row_curvature is not None:
            row_curvature = shares.group.all_max(row_curvature)
        if engine_name == "exact":
            engine_stats["train_stats"] = run_stats
            if problem.x_val is not None:
                val_stats = _sufficient(problem.x_val, problem.y_val, problem, param_names, shares)
                engine_stats["val_stats"] = val_stats if scaling is None else val_stats.standardized(scaling)
    lr_max_stable = 2.0 / hessian_max
    if cfg.lr != "auto":
        lr = float(cfg.lr)
    elif small:
        lr = auto_lr(run_design, cfg.batch_size, hessian_max, hessian_min)
    else:
        lr = auto_lr(None, cfg.batch_size, hessian_max, hessian_min, n=n, row_curvature=row_curvature)

    dtype = cfg.resolved_dtype(engine_name)
    device = "cpu"
    if engine_name == "torch" and shares is not None:
        device = shares.group.device  # cuda:LOCAL_RANK (NCCL) or the CPU (gloo)
        engine_stats["shard"] = shares.train
    elif engine_name == "torch":
        from .scale.devices import resolve_device

        device = resolve_device(cfg.device)
    theta0 = _initial_theta(init, problem)
    if theta0 is not None and scaling is not None:
        theta0 = scaling.to_scaled(theta0, problem.intercept)
    if theta0 is None and engine_name != "torch":
        theta0 = numpy_init(cfg.seed, problem.n_features, problem.intercept)
    closed_run = closed.theta if scaling is None else scaling.to_scaled(closed.theta, problem.intercept)

    wants_control = bool(cfg.checkpoint or cfg.resume or cfg.patience or cfg.tensorboard or callbacks)
    if shares is not None:  # every process builds the control (its fingerprint is a collective) …
        wants_control = bool(shares.group.all_max(wants_control))
        if not shares.group.is_main:  # … and rank 0 alone writes files and reports progress
            cfg, callbacks = replace(cfg, checkpoint=None, tensorboard=None), None
    control = None
    if wants_control:
        from .training.checkpoint import fit_fingerprint
        from .training.control import Rescale, fit_control

        fingerprint = fit_fingerprint(
            engine=engine_name, model=(cfg.model or "manual") if engine_name == "torch" else None,
            optimizer=cfg.optimizer, lr=lr, batch_size=cfg.batch_size, dtype=dtype, seed=cfg.seed,
            scheduler=cfg.scheduler, patience=cfg.patience, epochs=cfg.epochs, standardize=scaling is not None,
            problem=run_problem, record_path=cfg.record_path, shares=shares, streamed=streamed)
        # Callbacks (TensorBoard, progress, the user's) see what the result will say: the target's units.
        rescale = None if scaling is None else Rescale(scaling.y_scale ** 2, to_original, param_names)
        control, theta0 = fit_control(cfg, callbacks=callbacks, fingerprint=fingerprint, theta0=theta0,
                                      init_given=init is not None, has_val=problem.y_val is not None,
                                      rescale=rescale)

    loss_factor = 1.0 if scaling is None else scaling.y_scale ** 2  # MSE back in the target's units
    run = (engine_override or get_engine(engine_name))(
        run_problem, cfg, lr=lr, theta0=theta0, monitor=DivergenceMonitor(lr, lr_max_stable, loss_factor),
        dtype=dtype, device=device, closed_theta=closed_run, control=control, engine=engine_name, **engine_stats,
    )

    theta = to_original(run.theta)
    # Judged on the scale-free loss (features and target at unit variance), so the verdict does
    # not depend on the data's units or on how far away the run started.
    grad_norm = scale_free_gradient_norm(theta)
    initial_grad_norm = scale_free_gradient_norm(to_original(run.initial))
    converged = grad_norm <= cfg.tol
    result = FitResult(
        engine=engine_name, device=run.device, dtype=dtype,
        model=(cfg.model or "manual") if engine_name == "torch" else None,
        optimizer=cfg.optimizer, epochs=cfg.epochs, lr=lr, lr_requested=cfg.lr,
        batch_size=cfg.batch_size, seed=cfg.seed, names=list(problem.names),
        n_train=n, n_val=_n_val(problem, shares), updates=run.updates,
        initial=Params.from_theta(to_original(run.initial), problem.intercept),
        params=Params.from_theta(theta, problem.intercept),
        closed_form=Params.from_theta(closed.theta, problem.intercept),
        max_abs_diff=float(np.max(np.abs(theta - closed.theta))),
        train_loss=run.final_train_loss * loss_factor,
        val_loss=None if run.final_val_loss is None else run.final_val_loss * loss_factor,
        history=History([v * loss_factor for v in run.train_loss], [v * loss_factor for v in run.val_loss],
                        run.lr or [lr] * len(run.train_loss)),
        converged=converged, tol=cfg.tol, grad_norm=grad_norm, initial_grad_norm=initial_grad_norm,
        lr_max_stable=lr_max_stable,
        trace=[TraceEntry(k, Params.from_theta(to_original(t), problem.intercept)) for k, t in run.trace],
        dataset=dataset, scaling=scaling, closed_form_std_err=closed.std_err,
        path=None if run.path is None else np.array([to_original(t) for t in run.path]),
        stats=_statistics(design, train_stats, problem, theta, param_names, cfg.alpha, closed),
        scheduler=cfg.scheduler, patience=cfg.patience, checkpoint=cfg.checkpoint, resumed_from=cfg.resume,
        start_epoch=0 if control is None else control.start_epoch,
        world_size=1 if shares is None else shares.group.world_size,
    )
    stopper = None if control is None else control.early_stopping
    if stopper is not None:
        result.stopped_epoch, result.best_epoch = stopper.stopped_epoch, stopper.best_epoch
    if not converged:
        warnings.warn(not_converged_message(result), ConvergenceWarning, stacklevel=3)
    return result


def _scaled_problem(problem: Problem, scaling: Scaling) -> Problem:
    has_val = problem.x_val is not None
    return Problem(
        x_train=scaling.x(problem.x_train), y_train=scaling.y(problem.y_train),
        x_val=scaling.x(problem.x_val) if has_val else None, y_val=scaling.y(problem.y_val) if has_val else None,
        intercept=problem.intercept, names=problem.names,
    )


def solve(
    x=None,
    y=None,
    *,
    intercept: bool = True,
    names: list[str] | None = None,
    poly: int | None = None,
    alpha: float = 0.05,
    dataset: str | None = None,
    target: str | None = None,
    distributed=None,
) -> SolveResult:
    """The exact least-squares fit and its statistics, without gradient descent.

    Accurate to (nearly) full float64 precision: at least 13 correct digits on every NIST StRD
    linear dataset, Filip and Wampler5 included.

    Parameters
    ----------
    x, y : array_like, optional
        As for :func:`fit`; leave both out for an embedded dataset (its training rows, the rows
        :func:`fit` checks gradient descent against).
    intercept, names, poly, dataset
        As for :func:`fit`.
    alpha : float
        Confidence intervals at ``1 - alpha``.
    target : str, optional
        Name of the target, for the summary (a pandas Series' name by default).
    distributed : bool or gradfit.scale.distributed.Distributed, optional
        As for :func:`fit`: each process of a ``torchrun`` launch reduces its share of the rows
        to sufficient statistics and all of them are merged (TSQR), so every process gets the
        answer. Accurate to float64 QR (no exact refinement of ill-conditioned problems).

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
    cfg = FitConfig(alpha=alpha).validate()
    if x is None and y is None:
        data = load_dataset(dataset or "book")
        # The training rows: the answer gradient descent is checked against in gradfit fit.
        x, y, names, target = data.x_train, data.y_train, names or data.feature_names, target or data.target_name
        dataset = data.name
    elif dataset is not None:
        raise BadDataError("give either arrays x, y or dataset=, not both")
    target = target or series_name(y)
    problem = as_problem(x, y, intercept=intercept, names=names)
    problem, degree, shares = _expand_and_share(problem, poly, cfg, distributed)
    param_names = (["intercept"] if problem.intercept else []) + list(problem.names)
    small = is_small(problem) and shares is None
    design = problem.design(problem.x_train) if small else None
    train_stats = None if small else _sufficient(problem.x_train, problem.y_train, problem, param_names, shares)
    closed = _closed_form(design, train_stats, problem, param_names)
    warn_if_collinear(closed.condition_number, param_names)
    stats = _statistics(design, train_stats, problem, closed.theta, param_names, cfg.alpha, closed)
    return SolveResult(names=list(problem.names), closed_form=Params.from_theta(closed.theta, problem.intercept),
                       std_err=closed.std_err, stats=stats, refined=closed.refined, dataset=dataset,
                       target=target, poly_degree=degree, world_size=1 if shares is None else shares.group.world_size)


# Up to this many cells (rows × columns) the design is built in memory and solved exactly
# (exact refinement costs about 1 s a million cells when a problem needs it); above it, data is
# streamed through sufficient statistics (memory about one chunk beyond the data itself).
SMALL_CELLS = 2_000_000


def is_small(problem: Problem) -> bool:
    """Whether ``problem`` is solved in memory (exactly) rather than streamed."""
    return problem.x_train.size + len(problem.y_train) <= SMALL_CELLS


def _n_val(problem: Problem, shares) -> int:
    if problem.y_val is None:
        return 0
    return len(problem.y_val) if shares is None else shares.val.total


def _sufficient(x: np.ndarray, y: np.ndarray, problem: Problem, param_names: list[str], shares=None):
    """Sufficient statistics of in-memory rows: the shifted Gram matrix with one refinement pass
    when well conditioned (fast), else TSQR (accurate). With ``shares``, those of every process's
    rows, gathered and merged (the same on every process)."""
    if shares is not None:
        from .scale.distributed import gather_stats

        return gather_stats(shares.group, lambda: _sufficient(x, y, problem, param_names) if len(y) else None,
                            param_names)
    from .data.chunks import iter_array_chunks
    from .least_squares.gram import gram_statistics
    from .least_squares.sufficient import accumulate

    fast = gram_statistics(x, y, intercept=problem.intercept, names=param_names)  # None: ill-conditioned
    if fast is not None:
        return fast
    return accumulate(iter_array_chunks(x, y), intercept=problem.intercept, names=param_names)


def _closed_form(design, train_stats, problem: Problem, param_names: list[str]):
    """The exact solver on an in-memory design, or the streaming closed form (flagged, with its
    estimated error, when float64 QR cannot reach full accuracy on data this large)."""
    if design is not None:
        return lstsq(design, problem.y_train, param_names, design_lo=problem.design_lo())
    closed = train_stats.closed_form()
    if closed.needs_refinement:
        warnings.warn(
            f"the closed form of this ill-conditioned problem (condition number {closed.condition_number:.3g}) is "
            f"accurate to about {closed.estimated_error:.1g} relative: float64 QR on {train_stats.n:,} rows, "
            "streamed or shared among processes, without exact refinement", CollinearityWarning, stacklevel=4)
    return closed


def _statistics(design, train_stats, problem: Problem, theta, param_names, alpha: float, closed):
    """OLS statistics at ``theta``, from the rows or from the sufficient statistics."""
    if design is not None:
        return OLSStats(design, problem.y_train, theta, param_names, problem.intercept, alpha, closed=closed,
                        design_lo=problem.design_lo())
    from .least_squares.statistics import SufficientOLSStats

    return SufficientOLSStats(train_stats, theta, param_names, alpha)


def _hessian_extremes(design: np.ndarray) -> tuple[float, float]:
    """Largest and smallest eigenvalues of the MSE Hessian ``2/n AᵀA`` (from A's singular values)."""
    singular = np.linalg.svd(design, compute_uv=False)
    return 2.0 * singular[0] ** 2 / len(design), 2.0 * singular[-1] ** 2 / len(design)


def _gradient(design: np.ndarray, y: np.ndarray, theta: np.ndarray) -> np.ndarray:
    return (2.0 / len(y)) * (design.T @ (design @ theta - y))


def _problem(x, y, dataset, cfg: FitConfig, *, val, intercept: bool, names) -> tuple[Problem, str | None]:
    if x is None and y is None:
        data = load_dataset(dataset or "book")
        if cfg.val_split is None and val is None:
            return as_problem(data.x_train, data.y_train, val=(data.x_val, data.y_val), intercept=intercept,
                              names=names or data.feature_names), data.name
        if val is not None:
            return as_problem(data.x, data.y, val=val, intercept=intercept,
                              names=names or data.feature_names), data.name
        return as_problem(data.x, data.y, val_split=cfg.val_split, seed=cfg.seed, intercept=intercept,
                          names=names or data.feature_names), data.name
    if x is None or y is None:
        raise BadDataError("give both x and y, or neither (for an embedded dataset)")
    if dataset is not None:
        raise BadDataError("give either arrays x, y or dataset=, not both")
    return as_problem(x, y, val=val, val_split=cfg.val_split, seed=cfg.seed, intercept=intercept,
                      names=names), None


def _initial_theta(init, problem: Problem) -> np.ndarray | None:
    if init is None:
        return None
    if isinstance(init, Params):
        theta = init.theta
    elif isinstance(init, dict):
        theta = Params(init.get("intercept"), np.asarray(init.get("coef", []), dtype=np.float64)).theta
    else:
        theta = np.asarray(init, dtype=np.float64).reshape(-1)
    if theta.shape != (problem.n_params,) or not np.all(np.isfinite(theta)):
        raise BadOptionError(
            "init", init, f"must hold {problem.n_params} finite values "
            f"({'intercept, then ' if problem.intercept else ''}{problem.n_features} weight(s))",
        )
    return theta
