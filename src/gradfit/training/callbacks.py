"""Callbacks: what runs at the edges of training (early stopping, checkpoints, TensorBoard, progress).

A callback subclasses :class:`Callback` and overrides the hooks it needs. The same callbacks
serve :class:`gradfit.Trainer` and the numpy and exact engines of :func:`gradfit.fit`; each
hook receives the *run* (``trainer``), which offers:

``epoch``
    Epochs completed, in total (a resumed run keeps counting).
``start_epoch``, ``target_epoch``
    ``epoch`` when this ``train`` call began, and where it will end.
``global_step``
    Optimizer updates so far.
``history``
    :class:`gradfit.results.types.History`.
``stop_training``
    Set it to ``True`` to stop after this epoch.
``interrupting``
    ``True`` in the epoch at which :func:`gradfit.request_stop` is acted on.
``model``
    The ``nn.Module`` (``None`` for the numpy and exact engines).
``example_input``
    A batch of inputs the model has seen in this call (``None`` without a model).
``snapshot()``, ``restore(snapshot)``
    A copy of the trainable state, and putting it back.
``parameter_values()``
    ``{name: value}`` of every scalar parameter (one entry per element).
``save_checkpoint(path, extra=None)``
    Write everything needed to resume.

Hooks run in the order of the callbacks' ``order`` (lower first): early stopping before user
callbacks, the checkpoint last so it records what the others decided.

torch, tensorboard and rich are imported only by the callbacks that use them, when they run.
"""

from __future__ import annotations

import math
import sys
import time
import warnings

from ..errors import BadOptionError, option
from .checkpoint import RunCheckpoint


class Callback:
    """Hooks called by a run; override the ones you need.

    ``logs`` holds ``train_loss`` (the epoch's size-weighted mean of mini-batch losses),
    ``val_loss`` (after the epoch; ``None`` without validation data) and ``lr`` (the learning
    rate the epoch used). ``on_batch_end`` is called by :class:`gradfit.Trainer` only, and only
    for callbacks that override it.
    """

    order = 0

    def on_train_begin(self, trainer) -> None:
        """Before the first epoch of a ``train`` call."""

    def on_batch_end(self, trainer, step: int, logs: dict) -> None:
        """After update number ``step`` (1-based, counted across calls); ``logs["loss"]`` is
        the batch loss as a tensor on the device (reading it forces a host sync)."""

    def on_epoch_end(self, trainer, epoch: int, logs: dict) -> None:
        """After epoch number ``epoch`` (1-based, counted across calls and resumes)."""

    def on_train_end(self, trainer) -> None:
        """After the last epoch, also when training stops with an exception."""

    def state_dict(self) -> dict:
        """What a checkpoint must keep for a resumed run to continue exactly (tensors and plain values)."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Put back :meth:`state_dict`."""


class EarlyStopping(Callback):
    """Stop when the validation loss has not improved for ``patience`` epochs; keep the best weights.

    Parameters
    ----------
    patience : int
        Epochs without improvement tolerated before stopping.
    min_delta : float
        An epoch improves when its loss is below ``best - min_delta``.
    restore_best : bool
        At the end of each ``train`` call, put back the weights of the best epoch. A later
        ``train`` call continues from the last epoch's weights, so training in pieces gives the
        run training in one piece gives.

    Attributes
    ----------
    best, best_epoch : float, int or None
        The lowest validation loss and the epoch that reached it.
    stopped_epoch : int or None
        The epoch after which training stopped early (``None``: it did not).

    Examples
    --------
    >>> stopper = EarlyStopping(patience=20)
    >>> stopper.best_epoch is None and stopper.stopped_epoch is None
    True
    """

    order = -10  # before checkpoints and user callbacks, so they see this epoch's verdict

    def __init__(self, patience: int, min_delta: float = 0.0, restore_best: bool = True) -> None:
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise BadOptionError("patience", patience, "must be a positive integer", f"e.g. {option('patience', 20)}")
        self.patience, self.min_delta, self.restore_best = patience, float(min_delta), restore_best
        self.best, self.best_epoch, self.wait, self.stopped_epoch = math.inf, None, 0, None
        self.best_state = None
        self._last_state = None  # the last epoch's weights while the best ones are restored

    def on_train_begin(self, trainer) -> None:
        if self._last_state is not None:  # continue from where training was, not from the best epoch
            trainer.restore(self._last_state)
            self._last_state = None
        if self.stopped_epoch is not None:  # a new train() call after a stop: another `patience` epochs
            self.stopped_epoch, self.wait = None, 0

    def on_epoch_end(self, trainer, epoch: int, logs: dict) -> None:
        value = logs.get("val_loss")
        if value is None:
            raise BadOptionError("patience", self.patience, "early stopping watches the validation loss, and "
                                 "this run has no validation data",
                                 f"give validation data, e.g. {option('val_split', 0.2)}")
        if value < self.best - self.min_delta:
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best:
                self.best_state = trainer.snapshot()
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            trainer.stop_training = True

    def on_train_end(self, trainer) -> None:
        if self.restore_best and self.best_state is not None and self.best_epoch != trainer.epoch:
            self._last_state = trainer.snapshot()
            trainer.restore(self.best_state)

    def state_dict(self) -> dict:
        # last_state: set when a checkpoint is written after train() restored the best weights.
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait,
                "stopped_epoch": self.stopped_epoch, "best_state": self.best_state, "last_state": self._last_state}

    def load_state_dict(self, state: dict) -> None:
        self.best, self.best_epoch, self.wait = state["best"], state["best_epoch"], state["wait"]
        self.stopped_epoch, self.best_state = state["stopped_epoch"], state["best_state"]
        self._last_state = state.get("last_state")


class CheckpointCallback(Callback):
    """Write a checkpoint every ``every`` epochs, at the end, when stopping early and when interrupted.

    A run that diverges puts back the file it found at ``path`` (see
    :class:`gradfit.training.checkpoint.RunCheckpoint`).

    Parameters
    ----------
    path : str
        The checkpoint file (rewritten atomically each time).
    every : int
        Epochs between checkpoints; ``0`` for only at the end (and on a stop).
    extra : dict, optional
        Saved with each checkpoint under ``"extra"`` (tensors and plain values).
    """

    order = 100  # last: the checkpoint holds what every other callback decided this epoch

    def __init__(self, path: str, every: int = 1, extra: dict | None = None) -> None:
        if isinstance(every, bool) or not isinstance(every, int) or every < 0:
            raise BadOptionError("checkpoint_every", every, "must be a positive integer",
                                 f"e.g. {option('checkpoint_every', 10)}")
        self.path, self.every, self.extra = path, every, extra
        self.file = None  # the run's RunCheckpoint: what was at path before it, put back if it diverges

    def on_train_begin(self, trainer) -> None:
        self.file = RunCheckpoint(self.path)

    def on_epoch_end(self, trainer, epoch: int, logs: dict) -> None:
        due = bool(self.every) and epoch % self.every == 0
        if due or epoch >= trainer.target_epoch or trainer.stop_training or trainer.interrupting:
            if self.file is None:  # hooks called without on_train_begin
                self.on_train_begin(trainer)
            self.file.before_write()
            trainer.save_checkpoint(self.path, extra=self.extra)

    def on_train_end(self, trainer) -> None:
        """A run that diverged leaves the checkpoint file as it found it (:class:`RunCheckpoint`)."""
        if self.file is not None:
            self.file.end()
            self.file = None


class TensorBoardCallback(Callback):
    """Log each epoch to TensorBoard: losses, learning rate, small models' parameters, the graph.

    Scalars ``loss/train``, ``loss/val``, ``lr`` and (for models with at most ``max_params``
    scalar parameters) ``params/<name>``, at global step = epoch, counted across resumes. A
    resumed run hides events a crashed run wrote after its last checkpoint (``purge_step``).
    The model graph is written once, in the run's first epoch.

    Parameters
    ----------
    log_dir : str
        Folder for the event files (``tensorboard --logdir`` it).
    max_params : int
        Log parameter values only for models this small.
    graph : bool
        Write the model graph (traced with ``torch.jit.trace`` on one batch).
    """

    def __init__(self, log_dir: str, max_params: int = 20, graph: bool = True) -> None:
        self.log_dir, self.max_params, self.graph = str(log_dir), max_params, graph
        self.writer = None

    def on_train_begin(self, trainer) -> None:
        from ..errors import require

        require("tensorboard")
        from torch.utils.tensorboard import SummaryWriter

        # Events at or past the first epoch this call writes come from a run that went on after
        # its last checkpoint; purge_step makes TensorBoard drop them instead of showing both.
        self.writer = SummaryWriter(self.log_dir, purge_step=trainer.epoch + 1 if trainer.epoch else None)

    def on_epoch_end(self, trainer, epoch: int, logs: dict) -> None:
        writer = self.writer
        writer.add_scalar("loss/train", logs["train_loss"], epoch)
        if logs.get("val_loss") is not None:
            writer.add_scalar("loss/val", logs["val_loss"], epoch)
        writer.add_scalar("lr", logs["lr"], epoch)
        values = trainer.parameter_values(limit=self.max_params)
        for name, value in (values or {}).items():
            writer.add_scalar(f"params/{name}", value, epoch)
        if self.graph and epoch == 1 and getattr(trainer, "model", None) is not None:
            self._add_graph(trainer.model, trainer.example_input)

    def on_train_end(self, trainer) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def _add_graph(self, model, example) -> None:
        import torch

        if example is None:
            return
        training = model.training
        try:
            # eval(): tracing must not update batch-norm statistics; fork_rng: nor draw from the RNG
            # (a traced dropout would shift every later random number of the run).
            model.eval()
            with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.writer.add_graph(model, example[:1])
        except Exception as error:  # tracing fails for some models; the scalars matter more
            warnings.warn(f"TensorBoard: could not trace the model graph ({type(error).__name__}: {error}); "
                          "scalars are still logged", stacklevel=2)
        finally:
            model.train(training)


class RichProgressCallback(Callback):
    """A progress bar (epoch, loss, time left) that appears only once training has run ``delay`` s.

    Short runs print nothing at all; the bar is removed when training ends (``transient``), so
    the report that follows stands alone. Enable it only when the output is a terminal
    (:func:`progress_wanted`).

    Parameters
    ----------
    delay : float
        Seconds of training before the bar is shown.
    console : rich.console.Console, optional
        Where to draw (default: a console on stdout).
    transient : bool
        Remove the bar at the end.
    """

    order = 50

    def __init__(self, delay: float = 1.0, console=None, transient: bool = True) -> None:
        self.delay, self.console, self.transient = delay, console, transient
        self._progress = self._task = None
        self._started = 0.0

    def on_train_begin(self, trainer) -> None:
        self._started = time.perf_counter()

    def on_epoch_end(self, trainer, epoch: int, logs: dict) -> None:
        if self._progress is None:
            if time.perf_counter() - self._started < self.delay:
                return
            self._start(trainer)
        fields = {"loss": logs["train_loss"]}
        self._progress.update(self._task, completed=epoch, **fields)

    def on_train_end(self, trainer) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = self._task = None

    def _start(self, trainer) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        self._progress = Progress(
            TextColumn("epoch {task.completed}/{task.total}"), BarColumn(),
            TextColumn("train loss {task.fields[loss]:.6g}"), TimeRemainingColumn(),
            console=self.console, transient=self.transient,
        )
        self._progress.start()
        self._task = self._progress.add_task("train", total=trainer.target_epoch, completed=trainer.epoch,
                                             loss=math.nan)


def keyed_callbacks(callbacks) -> list[tuple[str, Callback]]:
    """``(key, callback)`` pairs naming each callback's state in a checkpoint: the class name,
    with ``#2``, ``#3`` … for repeats."""
    seen: dict[str, int] = {}
    out = []
    for callback in callbacks:
        name = type(getattr(callback, "inner", callback)).__name__  # a wrapped callback keeps its name
        seen[name] = seen.get(name, 0) + 1
        out.append((name if seen[name] == 1 else f"{name}#{seen[name]}", callback))
    return out


def progress_wanted(stream=None) -> bool:
    """Whether a progress bar belongs on ``stream`` (default stdout): only on a terminal."""
    stream = sys.stdout if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
