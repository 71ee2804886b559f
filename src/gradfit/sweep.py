"""``gradfit.sweep``: one fit per learning rate, each identical to its own single run."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

from .errors import BadOptionError, DivergedError


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
    from .config import parse_lr

    items = value.split(",") if isinstance(value, str) else list(value)
    if not items or any(str(item).strip() == "" for item in items):
        raise BadOptionError("lr", value, "has an empty learning rate", "separate rates with commas: --lr 0.01,0.1")
    return [parse_lr(item.strip() if isinstance(item, str) else item) for item in items]


def sweep(x=None, y=None, *, lr, **fit_options) -> list[SweepRun]:
    """Fit once per learning rate in ``lr``; every other option as for :func:`gradfit.fit`.

    Each run is exactly the run ``gradfit.fit(x, y, lr=that_lr, **fit_options)`` would make (full
    batch rides on the exact engine, milliseconds a run). A run that diverges does not stop the
    others: its :class:`SweepRun` holds the :class:`DivergedError` instead of a result.

    Examples
    --------
    >>> import gradfit
    >>> runs = gradfit.sweep(lr=[0.1, 0.5, 1.1])
    >>> [(run.lr, run.diverged is not None) for run in runs]
    [(0.1, False), (0.5, False), (1.1, True)]
    """
    from .api import fit

    runs = []
    for rate in parse_lrs(lr):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                run = SweepRun(lr=rate, result=fit(x, y, lr=rate, **fit_options))
            except DivergedError as error:
                run = SweepRun(lr=rate, diverged=error)
        for warning in caught:  # replay what each run warned (ConvergenceWarning, …)
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
        if run.result is not None and rate == "auto":
            run.lr = run.result.lr
        runs.append(run)
    return runs
