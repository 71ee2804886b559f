"""The learner's walk-through, stage by stage, on the book data: each stage a real fit.

The classic path from a NumPy loop to ``nn.Sequential``; every stage starts from the tutorial's
seeded values and sees the same rows, so each lands on the same numbers (the book's: torch start
b 0.3367, w 0.1288, first gradients −3.1125, −1.8156, end 1.0235, 1.9690 in float32).
:func:`walkthrough` runs them and says whether they agree.

>>> steps = walkthrough(epochs=50)
>>> [row.stage for row in steps.rows][:3]
['numpy', 'tensors', 'optimizer']
>>> steps.same_start_spread < 4 * 2.0 ** -23   # one loop written four ways: equal, or an ulp or two apart
True
>>> steps.agree, steps.converged   # 50 epochs: the stages that start elsewhere are not there yet
(False, False)
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from .api import fit
from .errors import ConvergenceWarning
from .results.json_form import json_text

# (name, what the stage adds, the options of gradfit.fit that run it)
STAGES = (
    ("numpy", "a NumPy loop with hand-written gradients", dict(engine="numpy")),
    ("tensors", "leaf tensors with requires_grad, loss.backward(), the update inside torch.no_grad() and "
                "grad.zero_()", dict(engine="torch", model="tensors", update="manual", loss="manual")),
    ("optimizer", "torch.optim.SGD does the update and zero_grad()",
     dict(engine="torch", model="tensors", update="optimizer", loss="manual")),
    ("mse-loss", "nn.MSELoss instead of the mean of squared errors written out",
     dict(engine="torch", model="tensors", update="optimizer", loss="mse")),
    ("module", "an nn.Module holding b and w as nn.Parameter", dict(engine="torch", model="manual")),
    ("linear", "nn.Linear (its own initial values: w 0.7645, b 0.8300)", dict(engine="torch", model="linear")),
    ("sequential", "nn.Sequential(nn.Linear(1, 1))", dict(engine="torch", model="sequential")),
)
# How close the stages' final b and w must be: the float32 torch stages stop about 4e-6 from the
# float64 NumPy loop after 1000 updates (float32's unit roundoff 6e-8, amplified along the path of
# this problem, condition number ≈ 9: measured spread 4.1e-6); they are the same loop otherwise.
AGREEMENT = 1e-5


@dataclass
class StageRow:
    """One stage's run: its start, first gradient, end, final MSE and gap to the closed form."""

    stage: str
    adds: str
    options: dict
    dtype: str
    initial: list[float]
    first_gradient: list[float]
    final: list[float]
    train_mse: float
    max_abs_diff: float
    converged: bool

    def to_dict(self) -> dict:
        return {"stage": self.stage, "adds": self.adds, "options": self.options, "dtype": self.dtype,
                "initial": self.initial, "first_gradient": self.first_gradient, "final": self.final,
                "train_mse": self.train_mse, "max_abs_diff": self.max_abs_diff, "converged": self.converged}


@dataclass
class Walkthrough:
    """The stages in order, the closed form, and whether every stage ended on the same b and w."""

    rows: list[StageRow]
    closed_form: list[float]
    epochs: int
    lr: float
    spread: float = field(init=False)

    same_start_spread: float = field(init=False)

    def __post_init__(self) -> None:
        self.spread = _spread([row.final for row in self.rows])
        book_start = [row for row in self.rows if row.options.get("model") in ("tensors", "manual")]
        self.same_start_spread = _spread([row.final for row in book_start])

    @property
    def converged(self) -> bool:
        return all(row.converged for row in self.rows)

    @property
    def agree(self) -> bool:
        """The torch stages that share the tutorial's start end on the same b and w (any number of
        epochs), and every stage ends where the others do (at convergence)."""
        return self.same_start_spread <= AGREEMENT and self.spread <= AGREEMENT

    def to_dict(self) -> dict:
        return {"epochs": self.epochs, "lr": self.lr, "closed_form": self.closed_form,
                "stages": [row.to_dict() for row in self.rows], "spread": self.spread,
                "same_start_spread": self.same_start_spread, "converged": self.converged, "agree": self.agree,
                "agreement": AGREEMENT}

    def to_json(self, indent: int | None = 2) -> str:
        return json_text(self.to_dict(), indent=indent)

    def summary(self) -> str:
        """The table: stage, what it adds, first gradients, final b and w, MSE, gap; the verdict."""
        header = f"{'stage':<11} {'start b, w':>17} {'first gradient':>19} {'final b, w':>17} {'train MSE':>12} " \
                 f"{'|gap|':>9}  adds"
        lines = [f"gradfit walkthrough · book data · lr {self.lr:g} · {self.epochs} full-batch epochs", "", header]
        for row in self.rows:
            lines.append(f"{row.stage:<11} {_pair(row.initial):>17} {_pair(row.first_gradient):>19} "
                         f"{_pair(row.final):>17} {row.train_mse:>12.9f} {row.max_abs_diff:>9.2e}  {row.adds}")
        lines += ["", f"closed form (least squares): b = {self.closed_form[0]:.8f}, w = {self.closed_form[1]:.8f}",
                  f"the stages {'agree' if self.agree else 'DISAGREE'}: the four torch stages from the tutorial's start "
                  f"end within {self.same_start_spread:.2g} of each other, all seven within {self.spread:.2g} "
                  f"(≤ {AGREEMENT:g} expected: float32 torch beside the float64 NumPy loop)"]
        if not self.converged:
            lines.append(f"not every stage converged in {self.epochs} epochs: stages that start elsewhere (NumPy's "
                         "draw, nn.Linear's) end elsewhere; raise --epochs")
        return "\n".join(lines) + "\n"


def _spread(finals: list[list[float]]) -> float:
    values = np.array(finals)
    return float(np.max(values.max(axis=0) - values.min(axis=0)))


def _pair(values: list[float]) -> str:
    return f"{values[0]:.4f}, {values[1]:.4f}"


def walkthrough(epochs: int = 1000, lr: float = 0.1, device: str = "cpu") -> Walkthrough:
    """Run every stage of :data:`STAGES` on the book data (``device`` for the torch stages)."""
    rows, closed = [], None
    for stage, adds, options in STAGES:
        extra = {"device": device} if options["engine"] == "torch" else {}
        with warnings.catch_warnings():  # the table says how far each stage ended from the answer
            warnings.simplefilter("ignore", ConvergenceWarning)
            result = fit(epochs=epochs, lr=lr, **options, **extra)
        closed = result.closed_form.theta.tolist()
        rows.append(StageRow(stage=stage, adds=adds, options=options, dtype=result.dtype,
                             initial=result.initial.theta.tolist(), first_gradient=result.first_gradient.theta.tolist(),
                             final=result.params.theta.tolist(), train_mse=result.train_loss,
                             max_abs_diff=result.max_abs_diff, converged=result.converged))
    return Walkthrough(rows, closed, epochs, lr)
