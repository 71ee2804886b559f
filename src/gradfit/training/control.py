"""What a fit asks of an engine beyond its epochs: callbacks, checkpoints, resume, early stopping.

The torch engine runs on :class:`gradfit.Trainer`, which calls the callbacks itself. The numpy and
exact engines hand each finished epoch to a :class:`ThetaLoop`: the run object the same callbacks
see (the parameters held as one float64 vector θ, intercept first), which also writes and reads
their checkpoints (kinds ``"numpy"`` and ``"exact"``, format in :mod:`gradfit.training.checkpoint`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from . import checkpoint as ckpt
from .callbacks import Callback, CheckpointCallback, EarlyStopping, TensorBoardCallback, keyed_callbacks
from ..errors import BadOptionError, Interrupted, option
from ..results.types import History
from ..results.engine_run import EngineRun
from .divergence import DivergenceMonitor


@dataclass
class RunControl:
    """Options of a fit that act at epoch boundaries.

    Attributes
    ----------
    callbacks : list of Callback
        The user's callbacks (and TensorBoard, progress).
    checkpoint : str or None
        Where to write checkpoints; ``checkpoint_every`` epochs apart (and at the end).
    patience : int or None
        Early stopping on the validation loss.
    resume : dict or None
        A loaded checkpoint to continue from.
    extra : dict
        Saved with every checkpoint (what the fit was: options, data fingerprint, start).
    rescale : Rescale or None
        For a standardized run: how the user's callbacks see it in the target's units.
    """

    callbacks: list = field(default_factory=list)
    checkpoint: str | None = None
    checkpoint_every: int = 1
    patience: int | None = None
    resume: dict | None = None
    extra: dict = field(default_factory=dict)
    early_stopping: EarlyStopping | None = None
    rescale: "Rescale | None" = None

    def __post_init__(self) -> None:
        if self.patience and self.early_stopping is None:
            self.early_stopping = EarlyStopping(self.patience)

    @property
    def start_epoch(self) -> int:
        """Epochs the resumed checkpoint already holds (0 for a new run)."""
        return 0 if self.resume is None else int(self.resume["epoch"])

    def run_callbacks(self, checkpoint_every: int | None = None, theta_of=None) -> list:
        """The callbacks an engine's run gets: the user's, early stopping, the checkpoint.

        ``theta_of(run)``: the run's parameters as one vector (default ``run.theta``), which a
        standardized run shows the user's callbacks on the original scale.
        """
        callbacks = list(self.callbacks)
        if self.rescale is not None:
            callbacks = [_Rescaled(cb, self.rescale, theta_of) for cb in callbacks]
        if self.early_stopping is not None:
            callbacks.append(self.early_stopping)
        if self.checkpoint:
            every = self.checkpoint_every if checkpoint_every is None else checkpoint_every
            callbacks.append(CheckpointCallback(self.checkpoint, every, extra=self.extra))
        return callbacks

    def resume_monitor(self, monitor: DivergenceMonitor) -> None:
        """Give the divergence monitor the epochs before the resume, so it judges as a straight run."""
        if self.resume is None:
            return
        losses = History.from_state(self.resume["history"]).train_loss
        monitor.losses = list(losses)
        monitor.first_loss = next((v for v in losses if math.isfinite(v)), None)


@dataclass(frozen=True)
class Rescale:
    """From a standardized run's units to the target's: ``loss × loss_factor``, ``to_original(θ)``."""

    loss_factor: float
    to_original: object  # callable: θ (p,) in the run's space -> θ on the original scale
    names: list[str]  # parameter names, intercept first


class _Rescaled(Callback):
    """Shows a callback a standardized run as the result will: losses in the target's units and
    parameters on the original scale (training itself runs, and checkpoints, in scaled units)."""

    def __init__(self, inner: Callback, rescale: Rescale, theta_of=None) -> None:
        self.inner, self.rescale, self.order = inner, rescale, inner.order
        self.theta_of = theta_of or (lambda run: run.theta)

    def on_train_begin(self, trainer) -> None:
        self.inner.on_train_begin(_OriginalScale(trainer, self))

    def on_epoch_end(self, trainer, epoch: int, logs: dict) -> None:
        factor, val = self.rescale.loss_factor, logs.get("val_loss")
        logs = dict(logs, train_loss=logs["train_loss"] * factor, val_loss=None if val is None else val * factor)
        self.inner.on_epoch_end(_OriginalScale(trainer, self), epoch, logs)

    def on_train_end(self, trainer) -> None:
        self.inner.on_train_end(_OriginalScale(trainer, self))

    def state_dict(self) -> dict:
        return self.inner.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.inner.load_state_dict(state)


class _OriginalScale:
    """The run, as :class:`_Rescaled` shows it: everything passes through but the parameters."""

    def __init__(self, run, rescaled: _Rescaled) -> None:
        object.__setattr__(self, "_run", run)
        object.__setattr__(self, "_rescaled", rescaled)

    def __getattr__(self, name: str):
        return getattr(self._run, name)

    def __setattr__(self, name: str, value) -> None:  # e.g. stop_training
        setattr(self._run, name, value)

    def parameter_values(self, limit: int | None = None) -> dict[str, float] | None:
        rescale = self._rescaled.rescale
        if limit is not None and len(rescale.names) > limit:
            return None
        theta = rescale.to_original(np.asarray(self._rescaled.theta_of(self._run), dtype=np.float64))
        return dict(zip(rescale.names, theta.tolist()))


class ThetaLoop:
    """The run that callbacks see for the numpy and exact engines.

    Engines append each epoch's losses to ``out`` and call :meth:`end_epoch`; this object
    answers the callbacks (θ, history, snapshots) and writes the checkpoints.

    ``replay=True`` is for an engine that resumes by re-evaluating from the start (the exact
    engine: its iterates are a closed-form function of the start and the epoch number, so this
    reproduces the straight run by construction): only the callbacks' states are restored, and
    callbacks are silent up to the checkpoint's epoch.
    """

    model = None
    example_input = None

    def __init__(self, kind: str, control: RunControl | None, epochs: int, names: list[str], lr: float,
                 out: EngineRun, shuffle: np.random.Generator | None = None, checkpoint_every: int | None = None,
                 replay: bool = False) -> None:
        self.kind, self.names, self.lr, self.out, self.shuffle = kind, names, lr, out, shuffle
        control = control or RunControl()
        self.callbacks = sorted(control.run_callbacks(checkpoint_every), key=lambda cb: cb.order)
        self.active = bool(self.callbacks)
        self.epoch = self.start_epoch = control.start_epoch
        self.target_epoch = epochs
        self.mute_until = control.start_epoch if replay else 0
        self.stop_training = self.interrupting = self.restored = False
        self.last_checkpoint: str | None = None
        self._checkpoint_epoch = -1
        self.theta = np.array(out.initial, dtype=np.float64)
        control.extra["initial"] = self.theta.tolist()  # a resumed run reports the run's start
        if control.resume is not None:
            self._load_callbacks(control.resume)
            if not replay:
                self._load(control.resume)

    @property
    def global_step(self) -> int:
        return self.out.updates

    @property
    def history(self) -> History:
        return History(self.out.train_loss, self.out.val_loss, [self.lr] * len(self.out.train_loss))

    def begin(self) -> None:
        for callback in self.callbacks:
            callback.on_train_begin(self)

    def end(self) -> None:
        for callback in self.callbacks:
            callback.on_train_end(self)

    def end_epoch(self, epoch: int, theta) -> bool:
        """Epoch ``epoch`` is done (its losses are in ``out``); ``theta``: θ after it, or a
        function returning it. Returns whether to stop (early stopping)."""
        self.epoch = epoch
        if not self.active:
            if ckpt.stop_requested():
                ckpt.clear_stop_request()
                raise Interrupted(epoch, None)
            return False
        self.theta = theta() if callable(theta) else theta
        if epoch <= self.mute_until:
            return False
        val = self.out.val_loss[epoch - 1] if self.out.val_loss else None
        logs = {"train_loss": self.out.train_loss[epoch - 1], "val_loss": val, "lr": self.lr}
        self.interrupting = ckpt.stop_requested()
        for callback in self.callbacks:
            callback.on_epoch_end(self, epoch, logs)
        if self.interrupting:
            ckpt.clear_stop_request()
            raise Interrupted(epoch, self.last_checkpoint if self._checkpoint_epoch == epoch else None)
        return self.stop_training

    def end_block(self, ks: np.ndarray, thetas: np.ndarray) -> bool:
        """The exact engine computed iterates ``θ_k = thetas[i]`` for ``k`` in ``ks``: hand each
        epoch to :meth:`end_epoch` (only the stop request is checked when no callback listens).
        Returns whether to stop; ``out`` is then cut back to the stopping epoch."""
        epochs = ks[ks >= 1].tolist()
        if not epochs:
            return False
        if not self.active:
            return self.end_epoch(epochs[-1], None)
        for k in epochs:
            self.out.updates = k  # one update an epoch
            if self.end_epoch(k, thetas[k - ks[0]]):
                self.truncate(k)
                self.out.theta = thetas[k - ks[0]].copy()
                return True
        return False

    def truncate(self, epoch: int) -> None:
        """Drop what an engine computed past ``epoch`` (the exact engine works in blocks)."""
        out = self.out
        del out.train_loss[epoch:], out.val_loss[epoch:]
        out.trace[:] = [(k, t) for k, t in out.trace if k <= epoch]
        if out.path is not None:
            del out.path[epoch + 1:]
        out.updates = epoch

    # The view callbacks use.
    def snapshot(self) -> list[float]:
        return self.theta.tolist()

    def restore(self, snapshot) -> None:
        self.theta = np.array(snapshot, dtype=np.float64)
        self.restored = True

    def parameter_values(self, limit: int | None = None) -> dict[str, float] | None:
        if limit is not None and len(self.names) > limit:
            return None
        return dict(zip(self.names, self.theta.tolist()))

    def save_checkpoint(self, path: str, extra: dict | None = None) -> None:
        import torch

        out, epoch, updates = self.out, self.epoch, self.out.updates
        # The exact engine computes epochs in blocks: keep only what is done at this epoch.
        history = History(out.train_loss[:epoch], out.val_loss[:epoch], [self.lr] * epoch)
        state = ckpt.new_state(self.kind, epoch, updates, history)
        state.update(
            theta=self.theta.tolist(),
            trace=[(int(k), np.asarray(t, dtype=np.float64).tolist()) for k, t in out.trace if k <= updates],
            path=None if out.path is None else torch.from_numpy(np.array(out.path[:updates + 1], dtype=np.float64)),
            rng=ckpt.rng_state(self.shuffle), callbacks={k: cb.state_dict() for k, cb in keyed_callbacks(self.callbacks)},
        )
        if extra is not None:
            state["extra"] = extra
        ckpt.save_checkpoint(path, state)
        self.last_checkpoint, self._checkpoint_epoch = str(path), self.epoch

    def _load(self, state: dict) -> None:
        out = self.out
        history = History.from_state(state["history"])
        out.train_loss[:], out.val_loss[:] = history.train_loss, history.val_loss
        out.updates = int(state["global_step"])
        out.trace[:] = [(int(k), np.array(t, dtype=np.float64)) for k, t in state["trace"]]
        if out.path is not None:
            saved = state.get("path")
            out.path[:] = [] if saved is None else list(saved.numpy())
        self.theta = np.array(state["theta"], dtype=np.float64)
        ckpt.restore_rng_state(state["rng"], self.shuffle, global_rng=False)  # fit leaves global RNGs alone

    def _load_callbacks(self, state: dict) -> None:
        saved_callbacks = state.get("callbacks", {})
        for key, callback in keyed_callbacks(self.callbacks):
            if key in saved_callbacks:
                callback.load_state_dict(saved_callbacks[key])


def fit_control(cfg, *, callbacks, fingerprint: dict, theta0: np.ndarray | None, init_given: bool,
                has_val: bool, rescale: Rescale | None = None) -> tuple[RunControl, np.ndarray | None]:
    """The :class:`RunControl` of a :func:`gradfit.fit` run, and its start (the checkpoint's when resuming).

    Loads and checks the checkpoint to resume (:func:`gradfit.training.checkpoint.check_resume`).
    """
    if cfg.patience and not has_val:
        raise BadOptionError("patience", cfg.patience, "early stopping watches the validation loss, and this "
                             "run has no validation data", f"give validation data, e.g. {option('val_split', 0.2)}")
    resume = None
    if cfg.resume:
        resume = ckpt.load_checkpoint(cfg.resume, kind=("trainer", "numpy", "exact"))
        ckpt.check_resume(resume, fingerprint, cfg.epochs, cfg.resume)
        start = np.array(resume["extra"]["initial"], dtype=np.float64)
        if init_given and not np.array_equal(np.asarray(theta0, dtype=np.float64), start):
            raise BadOptionError("init", list(theta0), "a resumed run continues from its checkpoint, which "
                                 "started elsewhere", "leave init out when resuming")
        theta0 = start
    callbacks = list(callbacks or [])
    if cfg.tensorboard:
        callbacks.append(TensorBoardCallback(cfg.tensorboard))
    control = RunControl(callbacks=callbacks, checkpoint=cfg.checkpoint, checkpoint_every=cfg.checkpoint_every or 1,
                         patience=cfg.patience, resume=resume, extra={"fit": fingerprint}, rescale=rescale)
    return control, theta0
