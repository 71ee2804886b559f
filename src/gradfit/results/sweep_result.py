"""What :func:`gradfit.sweep` returns: one :class:`SweepRun` per learning rate, in a list."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import DivergedError
from .display import sweep_html, sweep_repr, sweep_run_repr
from .json_form import json_text

if TYPE_CHECKING:
    from .types import FitResult


@dataclass(repr=False)
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

    def __repr__(self) -> str:
        return sweep_run_repr(self)


class SweepResult(list):
    """The runs of a learning-rate sweep, in the order of the rates: a list of :class:`SweepRun`.

    Iterate, index and slice it like a list (a slice is a ``SweepResult`` too); it adds a short
    ``repr``, a notebook table (``_repr_html_``), :meth:`to_frame` and :meth:`to_json`.

    Examples
    --------
    >>> import gradfit
    >>> runs = gradfit.sweep(lr=[0.1, 1.1])
    >>> [run.lr for run in runs], runs[1].diverged is not None
    ([0.1, 1.1], True)
    >>> runs.to_frame()[["lr", "converged", "diverged"]].values.tolist()
    [[0.1, True, False], [1.1, False, True]]
    """

    def __getitem__(self, index):
        item = super().__getitem__(index)
        return SweepResult(item) if isinstance(index, slice) else item

    def rows(self) -> list[dict]:
        """:meth:`SweepRun.row` of every run."""
        return [run.row() for run in self]

    def to_dict(self) -> dict:
        """``{"sweep": rows}``: the object ``gradfit fit --lr 0.01,0.1 --json`` prints."""
        return {"sweep": self.rows()}

    def to_json(self, indent: int | None = 2) -> str:
        """:meth:`to_dict` as strict JSON (undefined numbers are ``null``)."""
        return json_text(self.to_dict(), indent=indent)

    def to_frame(self):
        """A pandas DataFrame, one row per rate: ``lr``, ``train_loss``, ``val_loss``,
        ``max_abs_diff``, ``converged``, ``diverged``, ``diverged_at_epoch`` (missing values NaN)."""
        import pandas as pd  # imported here: ``import gradfit`` stays light

        columns = ["lr", "train_loss", "val_loss", "max_abs_diff", "converged", "diverged", "diverged_at_epoch"]
        frame = pd.DataFrame(self.rows(), columns=columns)
        for column in ("train_loss", "val_loss", "max_abs_diff"):
            frame[column] = frame[column].astype(float)
        frame["diverged_at_epoch"] = frame["diverged_at_epoch"].astype("Int64")
        return frame

    def __repr__(self) -> str:
        return sweep_repr(self)

    def _repr_html_(self) -> str:
        return sweep_html(self)
