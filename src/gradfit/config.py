"""The options of a fit: one dataclass that every entry point builds, validated up front."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from .errors import BadOptionError

ENGINES = ("auto", "numpy", "torch", "exact")
MODELS = ("linear", "manual")
OPTIMIZERS = ("sgd", "adam")
DTYPES = ("float32", "float64")
SCHEDULERS = ("step", "cosine", "plateau")

DEFAULT_LR = 0.1
DEFAULT_EPOCHS = 1000
DEFAULT_TOL = 1e-4


@dataclass
class FitConfig:
    """Options of one gradient-descent fit.

    Attributes
    ----------
    engine : {"auto", "numpy", "torch", "exact"}
        ``auto`` picks ``exact`` for full-batch plain gradient descent on the linear MSE model,
        otherwise ``torch``.
    model : {"linear", "manual"} or None
        Torch engine only: ``nn.Linear`` or the hand-made module with ``nn.Parameter`` b and w.
        ``None`` means ``manual`` (the tutorial's module) and lets ``auto`` choose ``exact``.
    optimizer : {"sgd", "adam"}
        ``torch.optim`` optimizer (numpy and exact engines: plain gradient descent only).
    lr : float or "auto"
        Learning rate; ``"auto"`` derives a safe one from the curvature of the loss.
    epochs : int
        Passes over the training rows.
    batch_size : int or None
        ``None`` = full batch, ``1`` = stochastic, otherwise mini-batches reshuffled each epoch.
    seed : int
        Seeds the initial parameters and the shuffling.
    device : str
        ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
    dtype : {"float32", "float64"} or None
        ``None``: float32 for the torch engine (as in the tutorial), float64 otherwise.
    tol : float
        Convergence tolerance: converged when the norm of the scale-free gradient at the end
        (the MSE gradient with features and target scaled to unit variance) is at most ``tol``.
    val_split : float or None
        Fraction of the rows held out for validation (``None``: the dataset's own split, or none).
    alpha : float
        Confidence intervals are at level ``1 - alpha``.
    record_path : bool
        Keep the parameters after every update (for plots of the path on the loss surface).
    scheduler : {"step", "cosine", "plateau"} or None
        Torch engine: change the learning rate once per epoch. ``step`` halves it every 100
        epochs; ``cosine`` anneals it to 0 over ``epochs``; ``plateau`` divides it by 10 after 10
        epochs without improvement of the validation loss (the training loss without validation
        data). ``None``: constant.
    patience : int or None
        Early stopping: stop after this many epochs without improvement of the validation loss
        and keep the best epoch's parameters (needs validation data).
    checkpoint : str or None
        Write a checkpoint (atomically) to this file every ``checkpoint_every`` epochs, at the end,
        when stopping early and when interrupted (:func:`gradfit.request_stop`).
    checkpoint_every : int or None
        Epochs between checkpoints (default: every epoch). The exact engine writes its checkpoint
        when it ends or stops.
    resume : str or None
        Continue the run saved in this checkpoint until ``epochs`` epochs in total. The data and
        the options that shape training must be those of the saved run.
    tensorboard : str or None
        Log each epoch (losses, learning rate, parameters of small models) to this folder.
    shuffle_buffer : int or None
        Mini-batches streamed from disk: rows shuffled together (default about 64 MiB of rows).
    """

    engine: str = "auto"
    model: str | None = None
    optimizer: str = "sgd"
    lr: float | str = DEFAULT_LR
    epochs: int = DEFAULT_EPOCHS
    batch_size: int | None = None
    seed: int = 42
    device: str = "auto"
    dtype: str | None = None
    tol: float = DEFAULT_TOL
    val_split: float | None = None
    alpha: float = 0.05
    record_path: bool = False
    scheduler: str | None = None
    patience: int | None = None
    checkpoint: str | None = None
    checkpoint_every: int | None = None
    resume: str | None = None
    tensorboard: str | None = None
    shuffle_buffer: int | None = None

    def validate(self) -> "FitConfig":
        """Check every option, converting strings from the command line; return ``self``."""
        self.engine = _choice("engine", self.engine, ENGINES)
        if self.model is not None:
            self.model = _choice("model", self.model, MODELS)
        self.optimizer = _choice("optimizer", self.optimizer, OPTIMIZERS)
        if self.dtype is not None:
            self.dtype = _choice("dtype", self.dtype, DTYPES)
        self.lr = parse_lr(self.lr)
        self.epochs = _positive_int("epochs", self.epochs, "e.g. --epochs 1000")
        if self.batch_size is not None:
            self.batch_size = _positive_int(
                "batch_size", self.batch_size, "use 1 for stochastic GD, or omit it for full batch"
            )
        self.seed = _int("seed", self.seed)
        if self.seed < 0:
            raise BadOptionError("seed", self.seed, "must be 0 or a positive integer")
        self.tol = _positive_float("tol", self.tol, "e.g. --tol 1e-4")
        if self.val_split is not None:
            self.val_split = _float("val_split", self.val_split)
            if not 0.0 <= self.val_split < 1.0:
                raise BadOptionError(
                    "val_split", self.val_split, "must be at least 0 and below 1",
                    "e.g. --val-split 0.2 holds out 20% of the rows",
                )
        self.alpha = check_alpha(self.alpha)
        if self.shuffle_buffer is not None:
            self.shuffle_buffer = _positive_int("shuffle_buffer", self.shuffle_buffer, "e.g. --shuffle-buffer 1000000")
        if not isinstance(self.device, str) or not self.device:
            raise BadOptionError("device", self.device, "must be auto, cpu, cuda or cuda:N")
        self._check_training_control()
        self._check_engine_combination()
        return self

    def _check_training_control(self) -> None:
        if self.scheduler is not None:
            self.scheduler = _choice("scheduler", self.scheduler, SCHEDULERS)
        if self.patience is not None:
            self.patience = _positive_int("patience", self.patience, "e.g. --patience 20 (needs validation data)")
        for option in ("checkpoint", "resume", "tensorboard"):
            value = getattr(self, option)
            if value is not None:
                if not isinstance(value, (str, os.PathLike)) or not os.fspath(value):
                    raise BadOptionError(option, value, "must be a file or folder path")
                setattr(self, option, os.fspath(value))
        if self.checkpoint_every is not None:
            self.checkpoint_every = _positive_int("checkpoint_every", self.checkpoint_every,
                                                  "e.g. --checkpoint-every 10")
            if self.checkpoint is None:
                raise BadOptionError("checkpoint_every", self.checkpoint_every, "needs a checkpoint file",
                                     "add --checkpoint PATH")

    def _check_engine_combination(self) -> None:
        if self.engine in ("numpy", "exact"):
            if self.optimizer != "sgd":
                raise BadOptionError(
                    "optimizer", self.optimizer,
                    f"the {self.engine} engine runs plain gradient descent only",
                    "use --engine torch for adam",
                )
            if self.model is not None:
                raise BadOptionError(
                    "model", self.model, f"--model chooses a torch module; the {self.engine} engine has none",
                    "use --engine torch, or leave --model out",
                )
            if self.device not in ("auto", "cpu"):
                raise BadOptionError(
                    "device", self.device, f"the {self.engine} engine runs on the CPU",
                    "use --engine torch for a GPU",
                )
        if self.scheduler is not None and self.engine in ("numpy", "exact"):
            raise BadOptionError(
                "scheduler", self.scheduler, f"learning-rate schedulers run on the torch engine, not {self.engine}",
                "use --engine torch (or auto)",
            )
        if self.engine == "exact" and self.batch_size is not None:
            raise BadOptionError(
                "batch_size", self.batch_size, "the exact engine runs full-batch gradient descent only",
                "leave --batch-size out, or use --engine numpy or torch for mini-batches",
            )
        if self.lr == "auto" and self.optimizer == "adam":
            raise BadOptionError(
                "lr", "auto", "the curvature rule behind 'auto' is for plain gradient descent, not adam",
                "give adam a number, e.g. --lr 0.01",
            )

    def resolved_dtype(self, engine: str) -> str:
        """The dtype a given engine runs in: float32 for torch unless asked, float64 otherwise."""
        if self.dtype is not None:
            return self.dtype
        return "float32" if engine == "torch" else "float64"


def check_alpha(value: object) -> float:
    """A significance level strictly between 0 and 1."""
    alpha = _float("alpha", value, "a number between 0 and 1")
    if not 0.0 < alpha < 1.0:
        raise BadOptionError("alpha", value, "must be strictly between 0 and 1", "e.g. --alpha 0.05 for 95% intervals")
    return alpha


def parse_lr(value: float | str) -> float | str:
    """A positive finite learning rate, or ``"auto"``."""
    if isinstance(value, str) and value.strip().lower() == "auto":
        return "auto"
    lr = _float("lr", value, "a positive number such as 0.1, or auto")
    if not (lr > 0 and math.isfinite(lr)):
        raise BadOptionError("lr", value, "must be a positive number", "e.g. --lr 0.1, or --lr auto")
    return lr


def _choice(option: str, value: object, choices: tuple[str, ...]) -> str:
    text = str(value).strip().lower() if isinstance(value, str) else value
    if text not in choices:
        raise BadOptionError(option, value, f"unknown {option}", "choose one of " + ", ".join(choices))
    return text


def _float(option: str, value: object, expected: str = "a number") -> float:
    if isinstance(value, bool):
        raise BadOptionError(option, value, f"must be {expected}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise BadOptionError(option, value, f"must be {expected}") from None


def _positive_float(option: str, value: object, fix: str) -> float:
    number = _float(option, value)
    if not (number > 0 and math.isfinite(number)):
        raise BadOptionError(option, value, "must be a positive number", fix)
    return number


def _int(option: str, value: object) -> int:
    if isinstance(value, bool):
        raise BadOptionError(option, value, "must be an integer")
    if isinstance(value, int):
        return value
    try:
        number = float(value) if not isinstance(value, str) else None
        if number is not None and number.is_integer():
            return int(number)
        return int(str(value).strip())
    except (TypeError, ValueError, OverflowError):
        raise BadOptionError(option, value, "must be an integer") from None


def _positive_int(option: str, value: object, fix: str) -> int:
    number = _int(option, value)
    if number < 1:
        raise BadOptionError(option, value, "must be a positive integer", fix)
    return number
