"""Learning-rate sweeps (:func:`gradfit.sweep`): one fit per rate, each identical to its own single run.

Full batch rides on the exact engine (milliseconds a run); torch mini-batch SGD trains the models
together (:mod:`gradfit.engines.stacked`: one matrix product per batch for all rates, each equal
to its own run up to summation order). A run that diverges does not stop the others.
"""

from __future__ import annotations

import warnings
from dataclasses import replace

from ..config import FitConfig
from ..option_checks import parse_lr
from ..engines import get_engine
from ..errors import BadOptionError, DivergedError, option
from ..results.sweep_result import SweepResult, SweepRun
from ..training.divergence import DivergenceMonitor
from .penalized import reference_of
from .run import fit_source

__all__ = ["SweepResult", "SweepRun", "parse_lrs", "sweep_source"]


def parse_lrs(value) -> list[float | str]:
    """``"0.01,0.1,0.5"`` or a list → learning rates (each checked like one ``lr``)."""
    items = value.split(",") if isinstance(value, str) else list(value)
    if not items or any(str(item).strip() == "" for item in items):
        raise BadOptionError("lr", value, "has an empty learning rate",
                             f"separate rates with commas: {option('lr', '0.01,0.1', python='lr=[0.01, 0.1]')}")
    return [parse_lr(item.strip() if isinstance(item, str) else item) for item in items]


def sweep_source(source, cfg: FitConfig, rates: list, *, init=None, callbacks=None) -> SweepResult:
    """One fit of ``source`` per learning rate in ``rates``, each the run its own fit would make.

    What all rates share is computed once: the reference (closed form, statistics pass, scaling)
    and, for torch mini-batch SGD, one training of all the models together.
    """
    reference = reference_of(source, cfg)  # solved once for every rate
    engine_run = _stacked_engine(rates) if _stackable(rates, cfg, init, callbacks) else None
    runs = SweepResult()
    for rate in rates:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result = fit_source(source, replace(cfg, lr=rate).validate(), reference=reference, init=init,
                                    callbacks=callbacks, engine_run=engine_run)
                run = SweepRun(lr=rate, result=result)
            except DivergedError as error:
                run = SweepRun(lr=rate, diverged=error)
        for warning in caught:  # replay what each run warned (ConvergenceWarning, …)
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
        if run.result is not None and rate == "auto":
            run.lr = run.result.lr
        runs.append(run)
    return runs


# Options under which the torch engine's runs can be trained together (plain SGD, nothing that
# needs per-run state beyond the parameters).
_PER_RUN = ("scheduler", "patience", "checkpoint", "resume", "tensorboard", "record_path")


def _stackable(rates: list, cfg: FitConfig, init, callbacks) -> bool:
    return (len(set(rates)) > 1 and all(rate != "auto" for rate in rates)
            and cfg.engine in ("auto", "torch") and cfg.optimizer == "sgd" and not (cfg.l1 or cfg.l2)
            and not cfg.walkthrough_stage
            and not any(getattr(cfg, key) for key in _PER_RUN) and not callbacks and init is None)


def _stacked_engine(rates: list[float]):
    """An engine that trains every rate at its first call, then hands out the runs."""
    from ..engines.stacked import run_many  # torch: imported only when a sweep trains with it

    trained: dict = {}

    def override(problem, cfg, *, lr, monitor, dtype, device, engine, **kwargs):
        if engine != "torch" or kwargs.get("theta0") is not None:  # auto chose another engine
            return get_engine(engine)(problem, cfg, lr=lr, monitor=monitor, dtype=dtype, device=device, **kwargs)
        if not trained:
            if kwargs.get("batches") is not None:  # rows in memory drawn as batches: the stacked runs slice them
                problem = kwargs["batches"].standardized(problem)
            monitors = [DivergenceMonitor(rate, monitor.lr_max_stable, monitor.loss_factor) for rate in rates]
            trained.update(zip(rates, run_many(problem, cfg, lrs=rates, monitors=monitors, dtype=dtype,
                                               device=device)))
        outcome = trained[lr]
        if isinstance(outcome, DivergedError):
            raise outcome
        return outcome

    return override
