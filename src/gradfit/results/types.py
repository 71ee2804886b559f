"""The one result type every engine returns, and its JSON form (text and HTML: ``display.py``)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .display import fit_html, fit_repr, history_repr, params_repr, solve_html, solve_repr
from .json_form import json_text

if TYPE_CHECKING:
    from ..data.design import Scaling
    from ..least_squares.statistics import OLSStats


@dataclass(frozen=True)
class Params:
    """Parameters of a linear model: ``y ≈ intercept + x @ coef``.

    Attributes
    ----------
    intercept : float or None
        ``None`` for a model fitted without an intercept.
    coef : numpy.ndarray
        Shape ``(d,)``: one weight per feature.
    """

    intercept: float | None
    coef: np.ndarray

    @classmethod
    def from_theta(cls, theta: np.ndarray, intercept: bool) -> "Params":
        """Split a stacked vector ``[b, w1, …, wd]`` (or ``[w1, …, wd]``) into parameters."""
        theta = np.asarray(theta, dtype=np.float64)
        if intercept:
            return cls(float(theta[0]), theta[1:].copy())
        return cls(None, theta.copy())

    @property
    def theta(self) -> np.ndarray:
        """The stacked vector, intercept first: shape ``(d + 1,)`` or ``(d,)``."""
        coef = np.asarray(self.coef, dtype=np.float64)
        if self.intercept is None:
            return coef.copy()
        return np.concatenate([[self.intercept], coef])

    def to_dict(self) -> dict:
        return {"intercept": self.intercept, "coef": [float(c) for c in self.coef]}

    def __repr__(self) -> str:
        return params_repr(self)


@dataclass
class History:
    """Per-epoch losses and learning rates.

    ``train_loss[e]`` is the mean squared error over the training rows as seen during epoch
    ``e + 1`` (each mini-batch's loss before its update, weighted by batch size, as the tutorial
    computes it); ``val_loss[e]`` is the validation MSE after that epoch's updates (empty without
    a validation set); ``lr[e]`` is the learning rate at the start of epoch ``e + 1`` (it changes
    only under a scheduler).
    """

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)

    def to_dict(self, include_lr: bool | None = None) -> dict:
        """JSON form. ``lr`` is included when ``include_lr`` is true, or (``None``) when it
        changed during the run; a constant rate is the result's ``lr``."""
        out = {"train_loss": list(self.train_loss), "val_loss": list(self.val_loss)}
        if include_lr or (include_lr is None and len(set(self.lr)) > 1):
            out["lr"] = list(self.lr)
        return out

    def to_state(self) -> dict:
        """Every list, for checkpoints."""
        return {"train_loss": list(self.train_loss), "val_loss": list(self.val_loss), "lr": list(self.lr)}

    @classmethod
    def from_state(cls, state: dict) -> "History":
        """From :meth:`to_state`, or a checkpoint's float64 tensors of it."""
        def floats(values) -> list[float]:
            return values.tolist() if hasattr(values, "tolist") else [float(v) for v in values]

        return cls(floats(state["train_loss"]), floats(state["val_loss"]), floats(state.get("lr", [])))

    def __repr__(self) -> str:
        return history_repr(self)


@dataclass(frozen=True)
class TraceEntry:
    """The parameters after update number ``update`` (1-based; 0 is the initial point)."""

    update: int
    params: Params


@dataclass
class FitResult:
    """Everything a fit produced; engines fill it, reports and plots only read it.

    Attributes
    ----------
    engine, device, dtype : str
        What actually ran (``auto`` is resolved).
    params, initial, closed_form : Params
        Gradient-descent answer, starting point, exact least-squares answer on the training rows.
    max_abs_diff : float
        Largest ``|params - closed_form|`` over all parameters.
    train_loss, val_loss : float, float or None
        MSE of ``params`` on the training and validation rows (float64).
    history : History
        Per-epoch losses.
    converged : bool
        ``grad_norm <= tol``.
    grad_norm, initial_grad_norm : float
        Norm of the scale-free training-loss gradient (features and target at unit variance,
        training-split statistics) at ``params`` and at ``initial``.
    lr_max_stable : float
        ``2 / L``, L the largest eigenvalue of the loss Hessian ``2/n XᵀX``: full-batch plain
        gradient descent diverges above it.
    trace : list of TraceEntry
        Parameters at the updates the trace shows (see :func:`gradfit.engines.common.is_traced`).
    scheduler : str or None
        The learning-rate scheduler (``history.lr`` holds each epoch's rate).
    patience : int or None
        Early stopping's patience; then ``best_epoch`` is the epoch whose parameters ``params``
        holds, and ``stopped_epoch`` the epoch after which training stopped early (``None`` when
        it ran all ``epochs``).
    checkpoint, resumed_from : str or None
        The checkpoint written, and the one this run continued.
    start_epoch : int
        Epochs done before this run (the resumed checkpoint's); ``history`` holds all of them.
    world_size : int
        Processes that ran the fit together (``torchrun``); 1 for one process.
    n_dropped : int
        Rows a streamed fit dropped for missing values (``dropna``).
    """

    engine: str
    device: str
    dtype: str
    model: str | None
    optimizer: str
    epochs: int
    lr: float
    lr_requested: float | str
    batch_size: int | None
    seed: int
    names: list[str]
    n_train: int
    n_val: int
    updates: int
    initial: Params
    params: Params
    closed_form: Params
    max_abs_diff: float
    train_loss: float
    val_loss: float | None
    history: History
    converged: bool
    tol: float
    grad_norm: float
    initial_grad_norm: float
    lr_max_stable: float
    trace: list[TraceEntry] = field(default_factory=list)
    dataset: str | None = None
    scaling: "Scaling | None" = None
    poly_degree: int | None = None
    inputs: list[str] | None = None  # input columns before polynomial expansion (default: names)
    target: str | None = None
    formula: dict | None = None  # gradfit.data.formula.spec_to_json of a formula fit
    stats: "OLSStats | None" = None  # statistics at the gradient-descent solution
    path: np.ndarray | None = None  # (updates + 1, p): θ after every update, when recorded
    closed_form_std_err: np.ndarray | None = None
    scheduler: str | None = None
    patience: int | None = None
    stopped_epoch: int | None = None
    best_epoch: int | None = None
    checkpoint: str | None = None
    resumed_from: str | None = None
    start_epoch: int = 0
    world_size: int = 1
    n_dropped: int = 0
    # A penalized fit (l1, l2): the penalty, the objective and KKT residual at the gradient-descent
    # answer and at the exact one (gradfit.pipeline.penalized.PenalizedReference.report).
    penalty: dict | None = None
    # The gradient of the first update (first batch, at the start), where GD runs (standardized
    # parameters when standardizing); None for a resumed run, which did not take that update.
    first_gradient: Params | None = None
    # ``trace_steps``: the first updates' steps 1–4 (first predictions, batch loss, gradient,
    # parameters before and after), where GD runs.
    steps: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        """The JSON object ``gradfit fit --json`` prints (keys per PRODUCT.md)."""
        return {
            "engine": self.engine,
            "device": self.device,
            "dtype": self.dtype,
            "model": self.model,
            "optimizer": self.optimizer,
            "dataset": self.dataset,
            "target": self.target,
            "names": list(self.names),
            "n_train": self.n_train,
            "n_val": self.n_val,
            "epochs": self.epochs,
            "updates": self.updates,
            "lr": self.lr,
            "lr_requested": self.lr_requested,
            "lr_max_stable": self.lr_max_stable,
            "batch_size": self.batch_size,
            "seed": self.seed,
            "initial": self.initial.to_dict(),
            "params": self.params.to_dict(),
            "closed_form": _with_std_err(self.closed_form, self.closed_form_std_err),
            "max_abs_diff": self.max_abs_diff,
            "train_loss": self.train_loss,
            "val_loss": self.val_loss,
            "history": self.history.to_dict(include_lr=self.scheduler is not None),
            "scheduler": self.scheduler,
            "patience": self.patience,
            "stopped_epoch": self.stopped_epoch,
            "best_epoch": self.best_epoch,
            "start_epoch": self.start_epoch,
            "resumed_from": self.resumed_from,
            "checkpoint": self.checkpoint,
            "converged": self.converged,
            "tol": self.tol,
            "grad_norm": self.grad_norm,
            "initial_grad_norm": self.initial_grad_norm,
            "poly_degree": self.poly_degree,
            "formula": None if self.formula is None else self.formula["text"],
            "standardized": self.scaling is not None,
            "scaling": None if self.scaling is None else self.scaling.to_dict(),
            "stats": None if self.stats is None else {
                **self.stats.to_dict(), "at": "gradient_descent", "converged": self.converged},
            "penalty": self.penalty,
            "first_gradient": None if self.first_gradient is None else self.first_gradient.to_dict(),
            "steps": self.steps,
            "world_size": self.world_size,
        }

    def saved_model(self, target: str | None = None):
        """The fitted parameters as a :class:`gradfit.results.model_file.SavedModel` (see ``--save-model``)."""
        from .intervals import inference_of
        from .model_file import SavedModel

        info = {"engine": self.engine, "converged": self.converged, "max_abs_diff": self.max_abs_diff,
                "train_loss": self.train_loss, "val_loss": self.val_loss, "epochs": self.epochs, "lr": self.lr}
        return SavedModel(
            features=list(self.inputs or self.names), target=target or self.target, poly_degree=self.poly_degree,
            formula=self.formula,
            intercept=self.params.intercept, coef=np.asarray(self.params.coef, dtype=np.float64),
            scaling=None if self.scaling is None else self.scaling.to_dict(), fit_info=info,
            inference=None if self.stats is None else inference_of(self.stats),
        )

    def predict(self, x, interval: str | None = None, alpha: float = 0.05):
        """Predictions ``(n,)`` of the gradient-descent parameters, on the original scale; with
        ``interval='confidence'`` or ``'prediction'``, a DataFrame with the interval's bounds
        (at these parameters, with the covariance the fit reported; see ``max_abs_diff`` for
        their gap to least squares).

        A pandas DataFrame is read by column name (the fitted columns in any order, others
        ignored); an array by position, ``(n, d)`` or ``(n,)`` for one feature, its shape checked.
        Polynomial terms are built here; a standardized fit's parameters are already unscaled.
        See :meth:`gradfit.results.model_file.SavedModel.predict`.

        >>> import gradfit
        >>> gradfit.fit().predict([0.0, 1.0]).round(4).tolist()   # b, b + w
        [1.0235, 2.9925]
        """
        return self.saved_model().predict(x, interval, alpha)

    def to_json(self, indent: int | None = 2) -> str:
        """:meth:`to_dict` as strict JSON: an undefined or infinite number is ``null``."""
        return json_text(self.to_dict(), indent=indent)

    def influence(self):
        """Each training row's leverage, studentized residuals, Cook's distance and DFFITS at these
        coefficients, as a pandas DataFrame in row order (see :meth:`gradfit.OLSStats.influence`)."""
        return statistics_of(self).influence()

    def summary(self) -> str:
        """The parameter table and losses as plain text (what ``gradfit fit --quiet`` prints)."""
        from .report import summary_text

        return summary_text(self)

    def __repr__(self) -> str:
        return fit_repr(self)

    def _repr_html_(self) -> str:
        return fit_html(self)

    def plot_losses(self):
        """MSE per epoch (log y) as a matplotlib Figure, not shown or saved: a notebook shows it inline."""
        from .fit_figures import losses_figure

        return losses_figure(self)

    def plot_fit(self, x=None, y=None, x_val=None, y_val=None):
        """One feature: the rows and both lines, as a Figure. ``x``, ``y``: the rows fitted (none
        for an embedded dataset; see :func:`gradfit.results.figure_inputs.fitted_rows`)."""
        from .fit_figures import fit_figure_of

        return fit_figure_of(self, x, y, x_val, y_val)

    def plot_path(self, x=None, y=None):
        """The path on the loss contours over (b, w), as a Figure; needs ``record_path=True``
        (else :class:`gradfit.BadOptionError`). ``x``, ``y`` as for :meth:`plot_fit`."""
        from .fit_figures import path_figure_of

        return path_figure_of(self, x, y)


def statistics_of(result):
    """``result.stats``, or the reason a penalized result has none."""
    if result.stats is None and result.penalty is not None:
        from ..errors import BadOptionError, option

        raise BadOptionError("l1" if result.penalty["l1"] else "l2", result.penalty["l1"] or result.penalty["l2"],
                             "influence measures are those of unpenalized least squares, and a penalized fit has no "
                             "classical statistics", f"refit without {option('l1')} and {option('l2')}")
    return result.stats


def _with_std_err(params: Params, std_err: np.ndarray | None) -> dict:
    out = params.to_dict()
    out["std_err"] = None if std_err is None else [float(v) for v in std_err]
    return out


@dataclass
class SolveResult:
    """The exact least-squares fit and its statistics (``gradfit solve``; no gradient descent).

    Attributes
    ----------
    closed_form : Params
    std_err : numpy.ndarray
        ``(p,)``, intercept first.
    stats : OLSStats
        Every statistic, at the closed form.
    refined : bool
        Whether float64 QR was not accurate enough and the answer was refined exactly.
    world_size : int
        Processes that read the rows (``torchrun``); 1 for one process.
    """

    names: list[str]
    closed_form: Params
    std_err: np.ndarray
    stats: "OLSStats"
    refined: bool
    dataset: str | None = None
    target: str | None = None
    poly_degree: int | None = None
    world_size: int = 1
    formula: dict | None = None
    penalty: dict | None = None  # a penalized answer: the penalty, its objective and KKT residual

    @property
    def condition_number(self) -> float:
        return math.nan if self.stats is None else self.stats.condition_number

    def to_dict(self) -> dict:
        return {
            "dataset": self.dataset, "target": self.target, "names": list(self.names),
            "poly_degree": self.poly_degree, "formula": None if self.formula is None else self.formula["text"],
            "closed_form": _with_std_err(self.closed_form, self.std_err),
            "condition_number": self.condition_number, "refined": self.refined,
            "stats": None if self.stats is None else {**self.stats.to_dict(), "at": "closed_form"},
            "penalty": self.penalty,
            "world_size": self.world_size,
        }

    def to_json(self, indent: int | None = 2) -> str:
        """:meth:`to_dict` as strict JSON: an undefined or infinite number is ``null``."""
        return json_text(self.to_dict(), indent=indent)

    def influence(self):
        """Each training row's leverage, studentized residuals, Cook's distance and DFFITS at these
        coefficients, as a pandas DataFrame in row order (see :meth:`gradfit.OLSStats.influence`)."""
        return statistics_of(self).influence()

    def summary(self) -> str:
        """A statsmodels-style table: model statistics, then coefficients (a penalized answer: the
        coefficients, the penalty and the KKT residual)."""
        if self.penalty is not None:
            from .report import penalized_solve_text

            return penalized_solve_text(self)
        return self.stats.summary(title="gradfit solve: exact least squares", y_name=self.target or "y")

    def __repr__(self) -> str:
        return solve_repr(self)

    def _repr_html_(self) -> str:
        return solve_html(self)


@dataclass(repr=False)  # SolveResult's short repr, not the generated one
class StreamingSolveResult(SolveResult):
    """:class:`gradfit.results.types.SolveResult` from one streaming pass, with what only streaming knows.

    Attributes
    ----------
    needs_refinement : bool
        Float64 TSQR may not be accurate to ~13 digits here (``eps·κ²``-style estimate above
        1e-13); :func:`gradfit.solve` refines such problems exactly when the rows fit in memory.
    estimated_error : float
        That estimate.
    n_dropped : int
        Rows dropped for missing values (``dropna``).
    sufficient : SufficientStats or None
        The statistics themselves: loss, gradient, Hessian at any θ, merging.
    """

    needs_refinement: bool = False
    estimated_error: float = math.nan
    n_dropped: int = 0
    sufficient: object = None

    def to_dict(self) -> dict:
        out = super().to_dict()
        out.update(streamed=True, needs_refinement=self.needs_refinement,
                   estimated_error=self.estimated_error, n_dropped=self.n_dropped)
        return out
