"""One fit, as its stages: reference → scaling → engine → learning rate → start → control →
training → result.

Every entry point (:func:`gradfit.fit`, :func:`gradfit.fit_streaming`, :func:`gradfit.sweep`, the
command line) builds a data source (:mod:`gradfit.pipeline.sources`) and a validated
:class:`gradfit.config.FitConfig`, then calls :func:`fit_source`. Each stage is a short function
over one :class:`Run`; a new kind of data (streamed, shared, weighted …) is a new source or
reference, not a flag threaded through the stages.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np

from .. import limits
from ..config import RUN_SHAPING, FitConfig
from ..data.design import Scaling
from ..data.validate import Problem
from ..engines import choose_engine, get_engine
from ..engines.common import numpy_init
from ..errors import BadOptionError, ConvergenceWarning, warn
from ..least_squares.curvature import auto_lr
from ..results.diagnostics import not_converged_message
from ..results.engine_run import EngineRun
from ..results.types import FitResult, History, Params, TraceEntry
from ..scale.launch import restart_count
from ..training.control import Rescale, RunControl, fit_control
from ..training.divergence import DivergenceMonitor
from .penalized import PenalizedReference, reference_of
from .references import DenseReference, covariance_for
from .sources import is_small, scaled_problem


@dataclass
class Run:
    """What the stages of one fit know, filled in stage by stage.

    ``problem`` is on the original scale; ``run_problem`` is what gradient descent trains on
    (standardized when ``scaling``); ``engine_inputs`` are the engine's other arguments.
    """

    cfg: FitConfig
    source: object
    reference: object
    scaling: Scaling | None = None
    engine: str = ""
    run_problem: Problem | None = None
    engine_inputs: dict = field(default_factory=dict)
    lr: float = 0.0
    lr_max_stable: float = 0.0
    theta0: np.ndarray | None = None
    control: RunControl | None = None
    covariance: object = None  # the statistics' CovarianceSpec

    @property
    def problem(self) -> Problem:
        return self.source.problem

    @property
    def intercept(self) -> bool:
        return self.problem.intercept

    @property
    def param_names(self) -> list[str]:
        return (["intercept"] if self.intercept else []) + list(self.problem.names)

    def to_original(self, theta: np.ndarray) -> np.ndarray:
        """Parameters where gradient descent runs, on the original scale."""
        return theta if self.scaling is None else self.scaling.to_original(theta, self.intercept)

    @property
    def reference_is_dense(self) -> bool:
        """The training rows are in memory as a design matrix (else: sufficient statistics)."""
        return isinstance(getattr(self.reference, "base", self.reference), DenseReference)

    @property
    def penalty(self):
        """The :class:`gradfit.least_squares.penalty.Penalty` on the parameters where gradient
        descent runs, or None (ordinary least squares)."""
        return self.reference.penalty if isinstance(self.reference, PenalizedReference) else None

    @property
    def loss_factor(self) -> float:
        """MSE where gradient descent runs → MSE in the target's units."""
        return 1.0 if self.scaling is None else self.scaling.y_scale ** 2


def fit_source(source, cfg: FitConfig, *, reference=None, init=None, callbacks: list | None = None,
               engine_run: Callable | None = None) -> FitResult:
    """Fit the rows of ``source`` by gradient descent and check the answer against least squares.

    ``reference`` (from ``source.reference()``) may be handed in when several fits share the
    same rows (a learning-rate sweep); ``engine_run`` replaces the engine's ``run`` function
    (same arguments: the sweep's runs trained together).
    """
    covariance = covariance_for(source, cfg.cov_type, cfg.maxlags, cfg.val_split)  # refused before any work
    reference = reference_of(source, cfg, reference)
    run = Run(cfg, source, reference, covariance=covariance)
    choose_space(run)
    choose_learning_rate(run)
    run.theta0 = starting_point(run, init)
    build_control(run, callbacks, init_given=init is not None)
    record = train(run, engine_run or get_engine(run.engine))
    result = fit_result(run, record)
    # Every process has its result before any reports it: a process lost after the last checkpoint
    # fails the round here, so torchrun's restart (which reports from that checkpoint) reports it once.
    run.source.agree(True)
    return result


def choose_space(run: Run) -> None:
    """Where gradient descent runs (standardized or not), which engine, and on what rows."""
    run.scaling = run.reference.scaling if run.cfg.standardize else None
    run.engine = choose_engine(run.cfg, run.source.n_train)
    run.engine_inputs = run.source.engine_inputs(run.engine, run.cfg, run.scaling)
    needs_rows = run.source.holds_rows and (run.engine != "exact" or run.reference_is_dense)
    # Large rows for a float32 torch run are scaled straight into float32 (what the tensors hold);
    # rows the source hands the engine as batches (scaled as they are drawn) are not copied at all
    float32 = run.engine == "torch" and run.cfg.resolved_dtype("torch") == "float32" and not is_small(run.problem)
    run.run_problem = run.problem if run.scaling is None or not needs_rows else scaled_problem(
        run.problem, run.scaling, np.float32 if float32 else np.float64, train="batches" not in run.engine_inputs)
    if run.engine == "exact":
        run.engine_inputs.update(run.reference.exact_engine_inputs(run.scaling, run.source))
    if run.penalty is not None:
        run.engine_inputs["penalty"] = run.penalty


def choose_learning_rate(run: Run) -> None:
    """The rate asked for, or ``lr='auto'`` from the curvature; the stability limit ``2/L``."""
    cfg = run.cfg
    hessian_max, hessian_min = run.reference.hessian_extremes(run.run_problem, run.scaling)
    run.lr_max_stable = 2.0 / hessian_max
    if hessian_min <= limits.EPS * hessian_max:  # singular (a penalized fit of fewer rows than parameters):
        hessian_min = hessian_max  # 2/(L + 0) = 2/L would not converge; 1/L does
    if cfg.lr != "auto":
        run.lr = float(cfg.lr)
        return
    if cfg.optimizer == "fista":  # FISTA's rate: 1/L (its convergence proof needs no more)
        run.lr = 1.0 / hessian_max
        return
    row_curvature = None  # max_i ‖a_i‖²: a pass over the rows, only for mini-batches
    if cfg.batch_size is not None:
        row_curvature = run.source.row_curvature(run.run_problem, run.scaling, run.engine_inputs.get("batches"))
    run.lr = auto_lr(None, cfg.batch_size, hessian_max, hessian_min, n=run.source.n_train,
                     row_curvature=row_curvature)


def starting_point(run: Run, init) -> np.ndarray | None:
    """θ₀ where gradient descent runs: ``init``, or the tutorial's seeded draw (torch draws its own)."""
    theta0 = initial_theta(init, run.problem)
    if theta0 is not None and run.scaling is not None:
        theta0 = run.scaling.to_scaled(theta0, run.intercept)
    if theta0 is None and run.engine != "torch":
        theta0 = numpy_init(run.cfg.seed, run.problem.n_features, run.intercept)
    return theta0


def build_control(run: Run, callbacks: list | None, init_given: bool) -> None:
    """Callbacks, checkpoints, early stopping and resuming, when the run asks for any."""
    if restart_count() > 0 and run.cfg.checkpoint and os.path.isfile(run.cfg.checkpoint):
        # torchrun restarted the group (--max-restarts): go on from the run's latest checkpoint (its
        # last epoch's, when a process was lost after it: the round then reports its result)
        run.cfg = replace(run.cfg, resume=run.cfg.checkpoint)
    elif run.cfg.resume_if_exists:  # resume when the checkpoint is there, else start
        found = run.cfg.resume or run.cfg.checkpoint
        run.cfg = replace(run.cfg, resume=found if os.path.isfile(found) else None)
    cfg = run.cfg
    wants = run.source.agree(bool(cfg.checkpoint or cfg.resume or cfg.patience or cfg.tensorboard or callbacks))
    if not wants:  # (every process decides together: the fingerprint is a collective)
        return
    if not run.source.is_main:  # rank 0 alone writes files and reports progress
        cfg, callbacks = replace(cfg, checkpoint=None, tensorboard=None), None
    # Callbacks (TensorBoard, progress, the user's) see what the result will say: the target's units.
    rescale = None if run.scaling is None else Rescale(run.loss_factor, run.to_original, run.param_names)
    run.control, run.theta0 = fit_control(cfg, callbacks=callbacks, fingerprint=fingerprint(run),
                                          theta0=run.theta0, init_given=init_given,
                                          has_val=run.source.n_val > 0, rescale=rescale)


def fingerprint(run: Run) -> dict:
    """What this run is, saved with its checkpoints and checked when resuming: the engine, the
    options that shape the iterates (:data:`gradfit.config.RUN_SHAPING`, as resolved) and the data."""
    resolved = {"model": (run.cfg.model or "manual") if run.engine == "torch" else None, "lr": float(run.lr),
                "dtype": run.cfg.resolved_dtype(run.engine), "standardize": run.scaling is not None}
    shaping = {name: resolved.get(name, getattr(run.cfg, name)) for name in RUN_SHAPING}
    return {"engine": run.engine, **shaping, "seed": int(run.cfg.seed), "epochs": int(run.cfg.epochs),
            "intercept": bool(run.intercept), "names": list(run.run_problem.names),
            **run.source.data_identity(), "record_path": bool(run.cfg.record_path)}


def train(run: Run, engine: Callable) -> EngineRun:
    """The engine's epochs, from θ₀, in the space gradient descent runs in."""
    closed = run.reference.closed
    closed_run = getattr(closed, "theta_run", None)  # a penalized answer is solved where GD runs
    if closed_run is None:
        closed_run = closed.theta if run.scaling is None else run.scaling.to_scaled(closed.theta, run.intercept)
    monitor = DivergenceMonitor(run.lr, run.lr_max_stable, run.loss_factor)
    return engine(run.run_problem, run.cfg, lr=run.lr, theta0=run.theta0, monitor=monitor,
                  dtype=run.cfg.resolved_dtype(run.engine), closed_theta=closed_run, control=run.control,
                  engine=run.engine, **run.engine_inputs)


def scale_free_gradient_norm(run: Run, theta: np.ndarray) -> float:
    """The norm of the MSE gradient with features and target at unit variance (training split):
    the convergence verdict, independent of the data's units and of where the run started."""
    gradient = run.reference.gradient(theta)
    return float(np.linalg.norm(run.reference.scaling.gradient_to_scaled(gradient, run.intercept)))


def fit_result(run: Run, record: EngineRun) -> FitResult:
    """The engine's record on the original scale, with the closed form, the convergence verdict
    and the statistics at the gradient-descent solution."""
    # The model's intercept: with weights the whitened rows carry it as their first column, so the
    # parameters [b, w…] read the same way.
    cfg, intercept, factor, closed = run.cfg, run.problem.model_intercept, run.loss_factor, run.reference.closed
    theta = run.to_original(record.theta)
    grad_norm = scale_free_gradient_norm(run, theta)
    origin = run.source.origin
    result = FitResult(
        engine=run.engine, device=record.device, dtype=cfg.resolved_dtype(run.engine),
        model=(cfg.model or "manual") if run.engine == "torch" else None, optimizer=cfg.optimizer,
        epochs=cfg.epochs, lr=run.lr, lr_requested=cfg.lr, batch_size=cfg.batch_size, seed=cfg.seed,
        names=run.problem.feature_names, n_train=run.source.n_train, n_val=run.source.n_val, updates=record.updates,
        initial=Params.from_theta(run.to_original(record.initial), intercept),
        params=Params.from_theta(theta, intercept), closed_form=Params.from_theta(closed.theta, intercept),
        max_abs_diff=float(np.max(np.abs(theta - closed.theta))), train_loss=record.final_train_loss * factor,
        val_loss=None if record.final_val_loss is None else record.final_val_loss * factor,
        history=History([v * factor for v in record.train_loss], [v * factor for v in record.val_loss],
                        record.lr or [run.lr] * len(record.train_loss)),
        converged=grad_norm <= cfg.tol, tol=cfg.tol, grad_norm=grad_norm,
        initial_grad_norm=scale_free_gradient_norm(run, run.to_original(record.initial)),
        lr_max_stable=run.lr_max_stable, dataset=origin.dataset, scaling=run.scaling,
        trace=[TraceEntry(k, Params.from_theta(run.to_original(t), intercept)) for k, t in record.trace],
        closed_form_std_err=closed.std_err, stats=run.reference.statistics(theta, cfg.alpha, run.covariance),
        path=None if record.path is None else np.array([run.to_original(t) for t in record.path]),
        scheduler=cfg.scheduler, patience=cfg.patience, checkpoint=cfg.checkpoint, resumed_from=cfg.resume,
        start_epoch=0 if run.control is None else run.control.start_epoch, world_size=run.source.world_size,
        poly_degree=origin.degree, inputs=origin.inputs, target=origin.target, n_dropped=origin.n_dropped,
        formula=origin.formula, penalty=None if run.penalty is None else run.reference.report(theta),
        first_gradient=None if record.first_gradient is None or (run.control and run.control.start_epoch) else
        Params.from_theta(record.first_gradient, intercept), steps=record.steps)
    stopper = None if run.control is None else run.control.early_stopping
    if stopper is not None:
        result.stopped_epoch, result.best_epoch = stopper.stopped_epoch, stopper.best_epoch
    if not result.converged:
        warn(ConvergenceWarning(not_converged_message(result)))
    return result


def initial_theta(init, problem: Problem) -> np.ndarray | None:
    """``init`` (Params, a dict or values ``[b, w1, …]``) as a checked vector, or None."""
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
