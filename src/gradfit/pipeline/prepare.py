"""The first stage: from what the caller passed to a data source.

Arrays (or an embedded dataset) are validated into a :class:`gradfit.data.validate.Problem`
(shapes, values, the validation split), polynomial terms are added, and under ``torchrun`` each
process keeps its share of the rows; a file streamed in one pass becomes a
:class:`gradfit.pipeline.sources.Streamed` source.
"""

from __future__ import annotations

from dataclasses import replace

from ..config import FitConfig
from ..data.design import expand_poly
from ..data.embedded import load_dataset
from ..data.formula import formula_design
from ..least_squares.covariance import cluster_codes
from ..data.validate import Problem, as_problem, series_name
from ..data.weights import whiten
from ..errors import BadDataError, BadOptionError, option
from ..scale.distributed import Distributed, share_problem, start
from ..scale.shares import FileShare
from ..scale.streams import stream_statistics
from ..scale.threads import apply_thread_policy
from .sources import InMemory, Origin, Shared, Streamed


def problem_from(x, y, *, dataset: str | None, val, val_split: float | None, seed: int, intercept: bool,
                 names: list[str] | None, defer_checks: bool = False, cluster=None,
                 weights=None, fewer_rows_ok: bool = False) -> tuple[Problem, str | None]:
    """The validated rows of arrays ``x``, ``y`` or of an embedded dataset (with its own split
    unless ``val``/``val_split`` says otherwise), and the dataset's name."""
    if x is None and y is None:
        if cluster is not None or weights is not None:
            raise BadDataError("cluster labels and weights need rows of your own: pass x and y with them, not an "
                               "embedded dataset")
        data = load_dataset(dataset or "book")
        names = names or data.feature_names
        if val_split is None and val is None:
            return as_problem(data.x_train, data.y_train, val=(data.x_val, data.y_val), intercept=intercept,
                              names=names), data.name
        if val is not None:
            return as_problem(data.x, data.y, val=val, intercept=intercept, names=names), data.name
        return as_problem(data.x, data.y, val_split=val_split, seed=seed, intercept=intercept, names=names), data.name
    if x is None or y is None:
        raise BadDataError("give both x and y, or neither (for an embedded dataset)")
    if dataset is not None:
        raise BadDataError("give either arrays x, y or dataset=, not both")
    return as_problem(x, y, val=val, val_split=val_split, seed=seed, intercept=intercept, names=names,
                      defer_checks=defer_checks, cluster=cluster, weights=weights, fewer_rows_ok=fewer_rows_ok), None


def in_memory(x, y, cfg: FitConfig, *, val=None, names=None, dataset=None, distributed=None,
              target: str | None = None, cluster=None, weights=None, penalized: bool | None = None):
    """The source of an in-memory fit: :class:`InMemory`, or :class:`Shared` under ``torchrun``.
    ``penalized`` (default: whether ``cfg`` has ``l1`` or ``l2``): fewer rows than parameters are
    allowed, since a penalized problem has an answer then. ``x`` may be this process's share of a
    file (:class:`gradfit.scale.shares.FileShare`, read by that process alone under ``torchrun``)."""
    if isinstance(x, FileShare):
        return file_share(x, cfg, penalized)
    apply_thread_policy()  # one BLAS pool per process, sized to its cores (scale/threads.py)
    # Large arrays are checked by the reference's first pass over them (one read fewer), unless
    # polynomial terms or a share among processes read them first.
    design = None if cfg.formula is None else formula_rows(x, y, cfg, dataset, names)
    if design is not None:
        x, y, names, target = design.x, design.y, design.names, target or design.target
    defer = cfg.poly is None and not distributed and weights is None
    problem, dataset_name = problem_from(x, y, dataset=dataset, val=val, val_split=cfg.val_split, seed=cfg.seed,
                                         intercept=cfg.intercept if design is None else design.intercept, names=names,
                                         defer_checks=defer, cluster=cluster, weights=weights,
                                         fewer_rows_ok=bool((cfg.l1 or cfg.l2 if penalized is None else penalized)
                                                            and not distributed))
    if target is None:
        target = load_dataset(dataset_name).target_name if dataset_name else series_name(y)
    origin = Origin(dataset=dataset_name, target=target, inputs=list(problem.names) if design is None else design.inputs,
                    degree=cfg.poly, formula=None if design is None else design.spec)
    if cfg.poly is not None:
        problem = expand_poly(problem, cfg.poly)
    problem = whiten(problem)  # weighted least squares: rows scaled by √w (gradfit.data.weights)
    if not distributed:
        return InMemory(problem, origin)
    if cfg.engine == "numpy":
        raise BadOptionError("engine", "numpy", "runs in one process only",
                             f"use {option('engine', 'exact')} (full batch) or {option('engine', 'torch')} "
                             "(DistributedDataParallel) under torchrun")
    group = distributed if isinstance(distributed, Distributed) else start(cfg.device, cfg.timeout)
    if problem.cluster is not None:  # codes of all the rows' labels, so that every share means the same
        codes, n_groups = cluster_codes(problem.cluster, len(problem.y_train))
        problem = replace(problem, cluster=codes, n_groups=n_groups)
    local, shares = share_problem(problem, group)
    return Shared(local, origin, shares=shares)


def file_share(share: FileShare, cfg: FitConfig, penalized: bool | None = None) -> Shared:
    """The :class:`Shared` source of the share of a file this process read (values already checked
    on every process together: :func:`gradfit.scale.shares.read_share`)."""
    if cfg.engine == "numpy":
        raise BadOptionError("engine", "numpy", "runs in one process only",
                             f"use {option('engine', 'exact')} (full batch) or {option('engine', 'torch')} "
                             "(DistributedDataParallel) under torchrun")
    n_params = share.x.shape[1] + int(cfg.intercept)
    if share.n_total < n_params and not (cfg.l1 or cfg.l2 if penalized is None else penalized):
        raise BadDataError(f"{share.n_total} training rows for {n_params} parameters: least squares needs at least "
                           "as many rows as parameters; add rows, drop features, or lower "
                           f"{option('val_split')}")
    problem = Problem(share.x, share.y, None, None, cfg.intercept, list(share.names))
    origin = Origin(dataset=None, target=share.target, inputs=list(share.names))
    return Shared(problem, origin, shares=share.shares)


def formula_rows(x, y, cfg: FitConfig, dataset, names):
    """The design of ``cfg.formula`` on the DataFrame ``x`` (:mod:`gradfit.data.formula`)."""
    if y is not None or dataset is not None or names is not None:
        given = "y" if y is not None else "dataset" if dataset is not None else "names"
        raise BadDataError(f"a formula names the target and the columns itself: pass the DataFrame as x, "
                           f"without {given}=")
    if cfg.poly is not None:
        raise BadOptionError("poly", cfg.poly, "does not go with a formula",
                             "write the powers in the formula: y ~ x + I(x**2) + I(x**3)")
    design = formula_design(x, cfg.formula, where=getattr(x, "attrs", {}).get("source", "x"))
    if design.y is None:
        raise BadOptionError("formula", cfg.formula, "has no target", "write it before the ~: y ~ x1 + x2")
    if not cfg.intercept and design.intercept:
        raise BadOptionError("intercept", False, "a formula says itself whether it has an intercept",
                             f"write '0 + …' in it (e.g. {option('formula', 'y ~ 0 + x1')}) and leave "
                             f"{option('intercept', False)} out")
    return design


def streamed(source, cfg: FitConfig, *, target=None, features=None, chunk_rows=None, dropna=False, names=None,
             distributed=None, weights: str | None = None, cluster: str | None = None) -> Streamed:
    """The source of a fit from one streaming pass over ``source`` (a file, arrays, chunks)."""
    apply_thread_policy()
    pass_ = stream_statistics(source, target=target, features=features, intercept=cfg.intercept, names=names,
                              poly=cfg.poly, chunk_rows=chunk_rows, dropna=dropna, distributed=distributed,
                              weights=weights, cluster=cluster, val_split=cfg.val_split, seed=cfg.seed,
                              digest=bool(cfg.checkpoint or cfg.resume))
    inputs = [pass_.feature_names[0]] if pass_.degree else list(pass_.feature_names)
    if pass_.weighting is not None and cfg.intercept:
        inputs = inputs[1:]  # (the whitened intercept's column is no input)
    origin = Origin(dataset=pass_.path, target=pass_.target, inputs=inputs, degree=pass_.degree,
                    n_dropped=pass_.n_dropped)
    return Streamed(pass_, cfg.intercept, origin)


def check_streamable(cfg: FitConfig, distributed, chunk_rows: int | None) -> None:
    """What a fit from one streaming pass cannot do, refused before the pass."""
    if cfg.engine == "numpy" or (cfg.batch_size is None and cfg.engine == "torch"):
        raise BadOptionError("engine", cfg.engine, "a streamed fit runs full batch on the exact engine and "
                             "mini-batches on the torch engine", f"leave {option('engine')} out, or read the file "
                             f"whole (without {option('chunk_rows', python='fit_streaming')})")
