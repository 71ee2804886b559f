"""``gradfit.sweep``: one fit per learning rate, each identical to its own single run."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import BadOptionError, DivergedError

if TYPE_CHECKING:
    from ..results.types import FitResult


@dataclass
class SweepRun:
    """One learning rate's outcome: a result, or the divergence that stopped it."""

    lr: float
    result: "FitResult | None" = None
    diverged: DivergedError | None = None

    def row(self) -> dict:
        """A JSON-ready summary: final losses, gap to the closed form, converged, diverged."""
        if self.result is None:
            return {"lr": self.lr, "diverged": True, "diverged_at_epoch": self.diverged.epoch,
                    "train_loss": None, "val_loss": None, "max_abs_diff": None, "converged": False}
        res = self.result
        return {"lr": self.lr, "diverged": False, "diverged_at_epoch": None, "train_loss": res.train_loss,
                "val_loss": res.val_loss, "max_abs_diff": res.max_abs_diff, "converged": res.converged}


def parse_lrs(value) -> list[float | str]:
    """``"0.01,0.1,0.5"`` or a list → learning rates (each checked like ``--lr``)."""
    from ..config import parse_lr

    items = value.split(",") if isinstance(value, str) else list(value)
    if not items or any(str(item).strip() == "" for item in items):
        raise BadOptionError("lr", value, "has an empty learning rate", "separate rates with commas: --lr 0.01,0.1")
    return [parse_lr(item.strip() if isinstance(item, str) else item) for item in items]


def sweep(x=None, y=None, *, lr, **fit_options) -> list[SweepRun]:
    """Fit once per learning rate in ``lr``; every other option as for :func:`gradfit.fit`.

    Each run is the run ``gradfit.fit(x, y, lr=that_lr, **fit_options)`` would make. Full batch
    rides on the exact engine (milliseconds a run); torch mini-batch SGD trains the models
    together (:mod:`gradfit.engines.stacked`: one matrix product per batch for all rates, each
    equal to its own run up to summation order). A run that diverges does not stop the others:
    its :class:`SweepRun` holds the :class:`DivergedError` instead of a result.

    Examples
    --------
    >>> import gradfit
    >>> runs = gradfit.sweep(lr=[0.1, 0.5, 1.1])
    >>> [(run.lr, run.diverged is not None) for run in runs]
    [(0.1, False), (0.5, False), (1.1, True)]
    """
    from ..api import fit

    rates = parse_lrs(lr)
    # What all rates share: the closed form and statistics pass (the same rows every time), and,
    # for torch mini-batch SGD, one training of all the models together.
    shared = {"cache": {}}
    if _stackable(rates, fit_options):
        shared["engine_override"] = _stacked_override(rates)
    runs = []
    for rate in rates:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                run = SweepRun(lr=rate, result=fit(x, y, lr=rate, _shared=shared, **fit_options))
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
_PER_RUN = ("scheduler", "patience", "checkpoint", "resume", "tensorboard", "callbacks", "record_path", "init")


def _stackable(rates: list, options: dict) -> bool:
    return (len(set(rates)) > 1 and all(rate != "auto" for rate in rates)
            and options.get("engine", "auto") in ("auto", "torch") and options.get("optimizer", "sgd") == "sgd"
            and not any(options.get(key) for key in _PER_RUN))


def _stacked_override(rates: list[float]):
    """An engine replacement that trains every rate at the first call, then hands out the runs."""
    from ..engines import get_engine
    from ..training.divergence import DivergenceMonitor
    from ..engines.stacked import run_many

    trained: dict = {}

    def override(problem, cfg, *, lr, monitor, dtype, device, engine, **kwargs):
        if engine != "torch" or kwargs.get("theta0") is not None:  # auto chose another engine
            return get_engine(engine)(problem, cfg, lr=lr, monitor=monitor, dtype=dtype, device=device, **kwargs)
        if not trained:
            monitors = [DivergenceMonitor(rate, monitor.lr_max_stable, monitor.loss_factor) for rate in rates]
            trained.update(zip(rates, run_many(problem, cfg, lrs=rates, monitors=monitors, dtype=dtype,
                                               device=device)))
        outcome = trained[lr]
        if isinstance(outcome, DivergedError):
            raise outcome
        return outcome

    return override
