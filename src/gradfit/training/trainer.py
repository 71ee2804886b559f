"""A training loop for any ``nn.Module``: steps, epochs, history, callbacks, checkpoints.

Layered as ``train`` → epoch → batch → step, each short. Data held in memory is shuffled with a
seeded permutation and sliced (no DataLoader), and the epoch's loss is summed on the device
(:mod:`gradfit.training.epoch_loss`), so an epoch costs one host sync; data-parallel runs add the
sums over processes of :mod:`gradfit.training.data_parallel`. The tutorial's traps (an output of
shape ``(n, 1)`` against targets of shape ``(n,)``, parameters that are not leaves, parameters
that get no gradient, data on another device) are errors or warnings that name the culprit and
the fix (:mod:`gradfit.training.checks`).
"""

from __future__ import annotations

import os
from typing import Callable, Iterable

import numpy as np
import torch
from torch import nn

from . import checkpoint as ckpt
from .callbacks import Callback, keyed_callbacks
from ..data.batches import batch_bounds, epoch_order, shuffler
from ..errors import BadDataError, BadOptionError, Interrupted
from ..results.types import History
from ..scale.shuffle_buffer import ShardBatch, ShuffledBatches
from .checks import (check_gradients, check_tensor_attributes, forward, make_optimizer, model_device_dtype,
                     output_shape_error, shape_check_applies, to_model_tensor)
from .data_parallel import any_process, sum_over_processes, wrap_model
from .epoch_loss import EpochLossSum
from .inputs import hold_data, loader_batch, to_model_device


class Trainer:
    """Train ``model`` on ``loss_fn`` with ``optimizer``; keeps counting across ``train`` calls.

    Parameters
    ----------
    model : nn.Module
    loss_fn : callable
        ``loss_fn(output, target)``, mean over the batch (e.g. ``nn.MSELoss()``).
    optimizer : torch.optim.Optimizer, callable or {"sgd", "adam"}
        An optimizer, a factory ``params -> Optimizer`` (``functools.partial(torch.optim.SGD,
        lr=0.1)``), or a name (then give ``lr``).
    train_data : (x, y) or DataLoader
        Arrays or tensors held in memory (``x`` ``(n, …)``, ``y`` ``(n, …)``), or any re-iterable
        of ``(x, y)`` batches. NumPy float arrays become tensors of the model's dtype on its
        device; tensors must already be on the model's device.
    val_data : (x, y) or DataLoader, optional
        Evaluated after every epoch.
    batch_size : int, optional
        In-memory data: rows per update (``None`` = full batch).
    shuffle : bool
        In-memory data: reshuffle the rows every epoch.
    seed : int
        Seeds the shuffling generator (:func:`gradfit.data.batches.shuffler`).
    lr : float, optional
        Learning rate when ``optimizer`` is a name.
    scheduler : LRScheduler, ReduceLROnPlateau or callable, optional
        A scheduler, or a factory ``optimizer -> scheduler``; stepped every epoch (after the
        validation loss, which ``ReduceLROnPlateau`` watches; the training loss without
        validation data), or every update with ``scheduler_interval="step"``.
    callbacks : iterable of Callback
    parameters : iterable of Tensor, optional
        What the optimizer trains when the Trainer builds it (default ``model.parameters()``).
    check_shapes : bool, optional
        Refuse an output whose shape differs from the target's. Default: for element-wise
        losses (MSE, L1, Huber, BCE …), where such shapes broadcast silently to a wrong loss.
    shard : gradfit.scale.distributed.GlobalRows, optional
        Data-parallel training in a ``torch.distributed`` process group: ``train_data`` and
        ``val_data`` (in memory) are this process's rows ``[start, start + len)`` of ``total``.
        The model is wrapped in ``DistributedDataParallel``; every update is the one a single
        process would make on the same global batch of ``batch_size`` rows (same seeded order,
        last partial batch included, no padding), and losses are averaged over all processes'
        rows. ``loss_fn`` must be a mean over the batch.

    Attributes
    ----------
    epoch : int
        Epochs completed (also ``total_epochs``); ``global_step``: updates completed.
    history : History
        ``train_loss``, ``val_loss`` and ``lr``, one entry per epoch.
    train_data : (x, y) or DataLoader
        The training data as held: tensors on the model's device, or the DataLoader (read-only).

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> x = torch.linspace(0, 1, 40).view(-1, 1); y = 1 + 2 * x
    >>> _ = torch.manual_seed(0)
    >>> trainer = Trainer(nn.Linear(1, 1), nn.MSELoss(), "sgd", lr=0.5, train_data=(x, y), batch_size=8)
    >>> history = trainer.train(200)
    >>> trainer.total_epochs, len(history.train_loss), round(history.train_loss[-1], 6)
    (200, 200, 0.0)
    """

    def __init__(self, model: nn.Module, loss_fn: Callable, optimizer="sgd", *, train_data, val_data=None,
                 batch_size: int | None = None, shuffle: bool = True, seed: int = 0, lr: float | None = None,
                 scheduler=None, scheduler_interval: str = "epoch", callbacks: Iterable[Callback] = (),
                 parameters=None, check_shapes: bool | None = None, shard=None) -> None:
        if not isinstance(model, nn.Module):
            raise BadOptionError("model", type(model).__name__, "must be a torch.nn.Module")
        check_tensor_attributes(model)
        self.model, self.loss_fn = model, loss_fn
        self.device, self.dtype = model_device_dtype(model)
        self.optimizer = make_optimizer(optimizer, model, parameters, lr)
        self.scheduler = scheduler(self.optimizer) if callable(scheduler) else scheduler
        if scheduler_interval not in ("epoch", "step"):
            raise BadOptionError("scheduler_interval", scheduler_interval, "must be 'epoch' or 'step'")
        self.scheduler_interval = scheduler_interval
        self.callbacks = sorted(callbacks, key=lambda cb: cb.order)  # stable: equal orders keep theirs
        if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int)
                                       or batch_size < 1):
            raise BadOptionError("batch_size", batch_size, "must be a positive integer, or None for full batch")
        self.batch_size, self.shuffle = batch_size, shuffle
        self.shuffle_rng = shuffler(seed)
        self.shard = shard
        self._train = hold_data(train_data, "train", self.device, self.dtype, sharded=shard is not None)
        self._val = None if val_data is None else hold_data(val_data, "val", self.device, self.dtype,
                                                             sharded=shard is not None)
        if shard is not None and not isinstance(self._train, tuple) and not isinstance(self._train, ShuffledBatches):
            raise BadOptionError("shard", shard, "needs in-memory train_data (x, y), not a DataLoader",
                                 "pass this process's rows as arrays or tensors")
        self.net = wrap_model(model, shard, self.device) if shard is not None else model  # what forward() runs
        self.check_shapes = shape_check_applies(loss_fn) if check_shapes is None else bool(check_shapes)

        self.history = History()
        self.epoch = self.global_step = self.start_epoch = self.target_epoch = 0
        self.stop_training = self.interrupting = False
        self.last_checkpoint: str | None = None
        self._checkpoint_epoch = -1
        self.example_input = None
        self._gradients_checked = False

    # ---------------------------------------------------------------- train → epoch → batch → step
    @property
    def total_epochs(self) -> int:
        """Epochs completed over every ``train`` call (and the checkpoint this run resumed)."""
        return self.epoch

    @property
    def train_data(self):
        """The training data as held: tensors ``(x, y)`` on the model's device, or the DataLoader."""
        return self._train

    def train(self, n_epochs: int) -> History:
        """Train ``n_epochs`` more epochs; returns :attr:`history` (all epochs so far).

        Raises
        ------
        Interrupted
            :func:`gradfit.request_stop` was called: the epoch finished, callbacks (the
            checkpoint among them) ran, and training stopped.
        """
        if isinstance(n_epochs, bool) or not isinstance(n_epochs, int) or n_epochs < 1:
            raise BadOptionError("n_epochs", n_epochs, "must be a positive integer")
        self.start_epoch, self.target_epoch = self.epoch, self.epoch + n_epochs
        self.stop_training = self.interrupting = False
        self.example_input = None
        batch_callbacks = [cb for cb in self.callbacks if type(cb).on_batch_end is not Callback.on_batch_end]
        for callback in self.callbacks:
            callback.on_train_begin(self)
        try:
            while self.epoch < self.target_epoch and not self.stop_training:
                logs = self._epoch(batch_callbacks)
                # Read once, so that the checkpoint and the stop agree.
                self.interrupting = any_process(ckpt.stop_requested(), self.shard, self.device)
                for callback in self.callbacks:
                    callback.on_epoch_end(self, self.epoch, logs)
                if self.interrupting:
                    ckpt.clear_stop_request()
                    saved = self.last_checkpoint if self._checkpoint_epoch == self.epoch else None
                    raise Interrupted(self.epoch, saved)
        finally:
            for callback in self.callbacks:
                callback.on_train_end(self)
        return self.history

    def _epoch(self, batch_callbacks: list) -> dict:
        lr = float(self.optimizer.param_groups[0]["lr"])  # the rate this epoch starts with
        self.model.train()
        if self.shard is not None and isinstance(self._train, tuple):
            train_sum, count = self._sharded_epoch(batch_callbacks)
        elif isinstance(self._train, tuple):
            train_sum, count = self._tensor_epoch(batch_callbacks)
        else:
            train_sum, count = self._loader_epoch(batch_callbacks)
        values = [train_sum]
        if self._val is not None:
            val_value, val_count = self._evaluate(self._val)
            values.append(val_value.to(train_sum.dtype))
        synced = torch.stack(values).tolist()  # the epoch's one host sync
        train_loss = synced[0] / count
        val_loss = synced[1] / val_count if self._val is not None else None
        self.epoch += 1
        self.history.train_loss.append(train_loss)
        self.history.lr.append(lr)
        if val_loss is not None:
            self.history.val_loss.append(val_loss)
        if self.scheduler is not None and self.scheduler_interval == "epoch":
            if isinstance(self.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                self.scheduler.step(train_loss if val_loss is None else val_loss)
            else:
                self.scheduler.step()
        return {"train_loss": train_loss, "val_loss": val_loss, "lr": lr}

    def _tensor_epoch(self, batch_callbacks: list) -> tuple[torch.Tensor, int]:
        x, y = self._train  # (n, …), (n, …) on the model's device
        n = len(x)
        order = epoch_order(n, self.batch_size, self.shuffle_rng) if self.shuffle else None
        if order is not None:  # one gather an epoch, then every batch is a view of it
            order = torch.as_tensor(order, device=self.device)
            x, y = x[order], y[order]
        total = EpochLossSum(self.dtype, self.device)
        for start, stop in batch_bounds(n, self.batch_size):
            total.add(self._step(x[start:stop], y[start:stop], batch_callbacks), stop - start)
        return total.value(), n

    def _sharded_epoch(self, batch_callbacks: list) -> tuple[torch.Tensor, int]:
        """One epoch over the global order, on the rows this process holds (see ``shard``)."""
        x, y = self._train  # this process's rows
        shard, n = self.shard, self.shard.total
        order = epoch_order(n, self.batch_size, self.shuffle_rng) if self.shuffle else None
        positions, before = shard.positions(order, len(x))
        if positions is not None:  # one gather an epoch, then every batch is a view of it
            positions = torch.as_tensor(positions, device=self.device)
            x, y = x[positions], y[positions]
        total = EpochLossSum(self.dtype, self.device)
        for start, stop in batch_bounds(n, self.batch_size):
            first, last = int(before[start]), int(before[stop])  # this process's rows of the batch
            weight = shard.world_size * (last - first) / (stop - start)
            total.add(self._step(x[first:last], y[first:last], batch_callbacks, weight=weight), last - first)
        return sum_over_processes(total.value(), self.shard), n

    def _loader_epoch(self, batch_callbacks: list) -> tuple[torch.Tensor, int]:
        """One epoch over a DataLoader's batches, or over this process's rows of global batches
        streamed from disk (:class:`gradfit.scale.shuffle_buffer.ShardBatch`)."""
        total, count = EpochLossSum(self.dtype, self.device), 0  # (summed as in-memory epochs are)
        for batch in self._train:
            weight, rows = (batch.weight, batch.rows) if isinstance(batch, ShardBatch) else (None, None)
            xb, yb = loader_batch((batch.x, batch.y) if rows is not None else batch, self.device, self.dtype)
            total.add(self._step(xb, yb, batch_callbacks, weight=weight), len(yb))
            count += len(yb) if rows is None else rows
        if count == 0:
            raise BadDataError("the training DataLoader yielded no batches; check its dataset and drop_last")
        return sum_over_processes(total.value(), self.shard), count

    def _step(self, xb: torch.Tensor, yb: torch.Tensor, batch_callbacks: list, weight: float | None = None
              ) -> torch.Tensor:
        """One update; returns the batch loss (detached, on the device). ``weight`` scales what is
        differentiated (data-parallel runs; a process without rows in the batch contributes 0)."""
        if self.example_input is None and len(xb):
            self.example_input = xb
        yhat = forward(self.net, xb, "a training batch of x")
        if self.check_shapes and yhat.shape != yb.shape:
            raise output_shape_error(yhat, yb, self.loss_fn)
        loss = self.loss_fn(yhat, yb) if len(yb) else yhat.sum() * 0.0  # still joins DDP's all-reduce
        self._zero_grad()
        (loss if weight is None else loss * weight).backward()
        if not self._gradients_checked:  # once: which parameters did backward() reach?
            check_gradients(self.optimizer, self.model)
            self._gradients_checked = True
        self.optimizer.step()
        if self.scheduler is not None and self.scheduler_interval == "step":
            self.scheduler.step()
        self.global_step += 1
        loss = loss.detach()
        for callback in batch_callbacks:
            callback.on_batch_end(self, self.global_step, {"loss": loss, "output": yhat})
        return loss

    def _zero_grad(self) -> None:
        """``optimizer.zero_grad(set_to_none=True)``. For torch's own optimizers the same is done
        directly (every gradient set to None), skipping the profiler and hook bookkeeping that
        cost more than the update itself on a small model; an optimizer that overrides
        ``zero_grad`` is called as is."""
        if type(self.optimizer).zero_grad is not torch.optim.Optimizer.zero_grad:
            self.optimizer.zero_grad(set_to_none=True)
            return
        for group in self.optimizer.param_groups:
            for parameter in group["params"]:
                parameter.grad = None

    # ---------------------------------------------------------------- evaluation and prediction
    def _evaluate(self, data) -> tuple[torch.Tensor, int]:
        """``(loss, divisor)``: the mean loss over ``data`` is ``loss / divisor``."""
        self.model.eval()
        with torch.no_grad():
            if isinstance(data, tuple):
                x, y = data
                yhat = forward(self.model, x)
                if self.check_shapes and yhat.shape != y.shape:
                    raise output_shape_error(yhat, y, self.loss_fn)
                if self.shard is None:
                    return self.loss_fn(yhat, y), 1
                # This process's rows: sum over every process's rows, divide by all of them.
                local = self.loss_fn(yhat, y) * len(y) if len(y) else yhat.sum() * 0.0
                both = sum_over_processes(torch.stack([local, local.new_tensor(float(len(y)))]), self.shard)
                return both[0], float(both[1].item())
            if hasattr(data, "loss_sum"):  # a loss known without rows (streamed: from sufficient statistics)
                return data.loss_sum(self.model)
            total, count = torch.zeros((), dtype=self.dtype, device=self.device), 0
            for batch in data.file_order() if isinstance(data, ShuffledBatches) else data:
                xb, yb = loader_batch(batch, self.device, self.dtype)
                yhat = forward(self.model, xb, "a batch of x")
                if self.check_shapes and yhat.shape != yb.shape:
                    raise output_shape_error(yhat, yb, self.loss_fn)
                if len(yb):
                    total += self.loss_fn(yhat, yb) * len(yb)
                count += len(yb)
            if self.shard is not None:  # this process's rows: sum over every process's rows
                both = sum_over_processes(torch.stack([total, total.new_tensor(float(count))]), self.shard)
                return both[0], max(float(both[1].item()), 1.0)
            return total, max(count, 1)

    def evaluate(self, data=None) -> float:
        """Mean loss (weighted by batch size) on ``data`` (default: the validation data)."""
        data = self._val if data is None else hold_data(data, "data", self.device, self.dtype,
                                                          sharded=self.shard is not None)
        if data is None:
            raise BadDataError("no validation data: pass val_data to the Trainer or data to evaluate()")
        loss, divisor = self._evaluate(data)
        return loss.item() / float(divisor)

    def predict(self, x):
        """The model's output for ``x`` (array, tensor or DataLoader of ``(x, …)`` batches).

        NumPy in, NumPy out; tensors in, a detached tensor on the model's device out.
        """
        self.model.eval()
        with torch.no_grad():
            if isinstance(x, (np.ndarray, torch.Tensor)) or np.isscalar(x) or isinstance(x, (list, tuple)):
                out = forward(self.model, to_model_tensor(x, "x", self.device, self.dtype))
                return out.cpu().numpy() if not isinstance(x, torch.Tensor) else out
            outputs = []
            for batch in x:
                xb = batch[0] if isinstance(batch, (tuple, list)) else batch
                outputs.append(forward(self.model, to_model_device(xb, self.device, self.dtype), "a batch of x"))
            return torch.cat(outputs)

    def lr_find(self, **kwargs):
        """The learning-rate range test on a copy of the model (see :func:`gradfit.training.lr_range.lr_find`)."""
        from .lr_range import lr_find

        return lr_find(self, **kwargs)

    # ---------------------------------------------------------------- state, checkpoints, callbacks' view
    def state_dict(self) -> dict:
        """Everything a resumed run needs: model, optimizer, scheduler, counters, history, every RNG."""
        state = ckpt.new_state("trainer", self.epoch, self.global_step, self.history)
        state.update(
            model=self.model.state_dict(), optimizer=self.optimizer.state_dict(),
            scheduler=None if self.scheduler is None else self.scheduler.state_dict(),
            rng=ckpt.rng_state(self.shuffle_rng, self._generators()),
            callbacks={key: cb.state_dict() for key, cb in keyed_callbacks(self.callbacks)},
        )
        return state

    def load_state_dict(self, state: dict, restore_global_rng: bool = True) -> None:
        """Continue from :meth:`state_dict`. ``restore_global_rng=False`` leaves torch's, NumPy's
        and Python's global random states alone (the run's own generators are restored)."""
        try:
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
            if self.scheduler is not None:
                if state.get("scheduler") is None:
                    raise ValueError("the checkpoint has no scheduler state, this Trainer has a scheduler")
                self.scheduler.load_state_dict(state["scheduler"])
        except (RuntimeError, ValueError, KeyError) as error:
            reason = str(error).strip().splitlines()[0]
            raise BadDataError(f"the checkpoint does not fit this model/optimizer ({reason}); resume with the "
                               "model, optimizer and scheduler that wrote it") from None
        self.epoch, self.global_step = int(state["epoch"]), int(state["global_step"])
        self.history = History.from_state(state["history"])
        ckpt.restore_rng_state(state["rng"], self.shuffle_rng, self._generators(), global_rng=restore_global_rng)
        saved = state.get("callbacks", {})
        for key, callback in keyed_callbacks(self.callbacks):
            if key in saved:
                callback.load_state_dict(saved[key])

    def save_checkpoint(self, path: str | os.PathLike, extra: dict | None = None) -> None:
        """Write :meth:`state_dict` (plus ``extra``) to ``path`` atomically."""
        state = self.state_dict()
        if extra is not None:
            state["extra"] = extra
        ckpt.save_checkpoint(path, state)
        self.last_checkpoint, self._checkpoint_epoch = os.fspath(path), self.epoch

    def load_checkpoint(self, path: str | os.PathLike, restore_global_rng: bool = True) -> dict:
        """Continue from a checkpoint written by :meth:`save_checkpoint`; returns its ``extra``."""
        state = ckpt.load_checkpoint(path, kind="trainer")
        self.load_state_dict(state, restore_global_rng=restore_global_rng)
        return state.get("extra") or {}

    def snapshot(self) -> dict:
        """A copy of the model's state (parameters and buffers)."""
        return {k: v.detach().clone() for k, v in self.model.state_dict().items()}

    def restore(self, snapshot: dict) -> None:
        self.model.load_state_dict(snapshot)

    def parameter_values(self, limit: int | None = None) -> dict[str, float] | None:
        """``{name: value}`` for every scalar parameter (``w.0``, ``w.1`` … for tensors); ``None``
        when the model has more than ``limit`` of them."""
        named = [(name, p) for name, p in self.model.named_parameters()]
        if limit is not None and sum(p.numel() for _, p in named) > limit:
            return None
        if not named:
            return {}
        values = torch.cat([p.detach().reshape(-1).to(torch.float64) for _, p in named]).tolist()  # one sync
        out, i = {}, 0
        for name, p in named:
            for j in range(p.numel()):
                out[name if p.numel() == 1 and p.dim() <= 1 else f"{name}.{j}"] = values[i]
                i += 1
        return out

    def _generators(self) -> list:
        """Private torch generators of DataLoaders (their shuffles must resume too)."""
        found = []
        for data in (self._train, self._val):
            for owner in (data, getattr(data, "sampler", None), getattr(data, "batch_sampler", None)):
                generator = getattr(owner, "generator", None)
                if isinstance(generator, torch.Generator) and all(generator is not g for g in found):
                    found.append(generator)
        return found
