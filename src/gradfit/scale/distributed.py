"""Running one fit across processes with ``torch.distributed`` (``torchrun``).

Under ``torchrun`` (or any launcher that sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``,
``MASTER_ADDR`` and ``MASTER_PORT``) the command line starts the process group itself: gloo when
the run's torch device is the CPU, NCCL on CUDA with one GPU per local rank (``cuda:LOCAL_RANK``).

What each process does:

- every process reads and validates the whole file (so a bad file gives the same one-line error
  everywhere, and the validation split is the same seeded one as in a single process), then keeps
  its own contiguous share of the training and validation rows (:func:`share`);
- the exact engine and ``solve`` reduce each share to sufficient statistics
  (:class:`gradfit.least_squares.sufficient.SufficientStats`) and all-gather them: every process merges the same
  statistics in rank order, so every process holds the same closed form, curvature and iterates;
- the torch engine wraps the model in ``DistributedDataParallel``; each global mini-batch is the
  one a single process would draw (one seeded permutation of all rows, replayed by every process),
  and each process trains on the rows of it that it holds, weighting its loss so that DDP's
  gradient average is the mean over the global batch (:class:`GlobalRows`);
- only rank 0 prints, plots and writes files.

Every wait on another process ends after ``timeout`` seconds, and each round of a launch builds
its group in a namespace of its own (:func:`gradfit.scale.launch.join`); a lost or stalled peer is
told apart from other errors by :func:`gradfit.scale.launch.group_fault`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from .. import limits
from ..data.batches import share
from ..errors import BadOptionError, option
from .launch import all_returned, env_rank, join, launched  # noqa: F401  (env_rank, launched: the CLI reads them here)


@dataclass(frozen=True)
class Distributed:
    """The process group a run belongs to.

    Attributes
    ----------
    rank, world_size, local_rank : int
    backend : str
        ``gloo`` or ``nccl``.
    device : str
        The torch device of this process (``cpu`` or ``cuda:LOCAL_RANK``).
    """

    rank: int
    world_size: int
    local_rank: int
    backend: str
    device: str

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that prints, plots and writes files."""
        return self.rank == 0

    def share(self, n: int) -> slice:
        """This process's contiguous share of ``n`` rows (sizes differ by at most one)."""
        return share(n, self.rank, self.world_size)

    def all_gather(self, value) -> list:
        """``value`` of every process, in rank order (any picklable object)."""
        import torch.distributed as dist

        gathered = [None] * self.world_size
        dist.all_gather_object(gathered, value)
        return gathered

    def all_max(self, value: float) -> float:
        return max(self.all_gather(float(value)))

    def close(self, finished: bool = False) -> None:
        """Leave the process group. ``finished``: every process got here without an error, so they
        first wait for one another: a process that tears its connections down while another is
        still receiving its last message aborts (gloo: "terminate called without an active
        exception", measured in 2 of 6 runs of a 2-process fit on a busy machine). A barrier, and
        then the store's count that every process has returned from it (:func:`all_returned`):
        after the barrier alone one of 3 processes still aborted once in a full test run."""
        import torch.distributed as dist

        if dist.is_initialized():
            if finished:
                dist.barrier()
                all_returned("closed")
            dist.destroy_process_group()


def start(device: str = "auto", timeout: float | None = None) -> Distributed:
    """Join the process group the launcher describes (:func:`join`).

    ``device`` is the ``--device`` option: ``auto`` or ``cuda`` become ``cuda:LOCAL_RANK`` when
    CUDA is available (NCCL), the CPU otherwise (gloo). ``timeout`` (seconds; default
    ``limits.PROCESS_TIMEOUT``) bounds every wait on another process.
    """
    import torch
    import torch.distributed as dist

    rank, world_size, local_rank = (_env_int(name) for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"))
    text = (device or "auto").strip().lower()
    if text in ("auto", "cuda") and torch.cuda.is_available():
        if local_rank >= torch.cuda.device_count():
            raise BadOptionError("device", device, f"local rank {local_rank} has no GPU of its own (this machine has "
                                 f"{torch.cuda.device_count()})", "start at most one process per GPU "
                                 "(torchrun --nproc_per_node)")
        run_device = f"cuda:{local_rank}"
    elif text in ("auto", "cpu"):
        run_device = "cpu"
    elif text == "cuda":
        raise BadOptionError("device", device, "torch sees no CUDA GPU on this machine",
                             f"use {option('device', 'cpu')} (gloo)")
    else:
        raise BadOptionError("device", device, "under torchrun each process takes the GPU of its local rank",
                             f"use {option('device', 'auto')}, cuda or cpu")
    backend = "nccl" if run_device.startswith("cuda") else "gloo"
    if run_device.startswith("cuda"):
        torch.cuda.set_device(local_rank)
    if not dist.is_initialized():
        for name in ("MASTER_ADDR", "MASTER_PORT"):
            if name not in os.environ:
                raise BadOptionError(name, None, "is not set, so the processes cannot find each other",
                                     "start gradfit with torchrun (it sets RANK, WORLD_SIZE, MASTER_ADDR, "
                                     "MASTER_PORT)")
        join(backend, rank, world_size, limits.PROCESS_TIMEOUT if timeout is None else float(timeout))
    return Distributed(rank=rank, world_size=world_size, local_rank=local_rank, backend=backend, device=run_device)


def _env_int(name: str) -> int:
    text = os.environ.get(name)
    try:
        return int(text)
    except (TypeError, ValueError):
        raise BadOptionError(name, text, "must be a whole number (torchrun sets it)",
                             "start gradfit with torchrun, which sets RANK, WORLD_SIZE and LOCAL_RANK") from None



@dataclass(frozen=True)
class GlobalRows:
    """Which of a data set's rows this process holds: rows ``[start, start + count)`` of ``total``.

    A :class:`gradfit.Trainer` given ``shard=GlobalRows(...)`` draws each epoch's order over all
    ``total`` rows (the order one process would draw), takes the rows of every global batch that
    it holds, and scales its loss by ``world_size · m / B`` (``m`` its rows in the batch, ``B`` the
    batch): DDP averages gradients over processes, so each update is the mean-loss gradient of
    the whole global batch, however its rows fall. Losses are summed over processes.
    """

    start: int
    total: int
    world_size: int

    def positions(self, order: np.ndarray | None, count: int) -> tuple[np.ndarray | None, np.ndarray]:
        """This process's rows in the global ``order`` and, for each global position, how many of
        them come before it (``cum[k]``: its rows among the first ``k`` of the order)."""
        if order is None:  # rows in file order: this process holds one contiguous run of them
            return None, np.clip(np.arange(self.total + 1) - self.start, 0, count)
        local = order - self.start
        mine = (local >= 0) & (local < count)
        return local[mine], np.concatenate([[0], np.cumsum(mine)])


@dataclass(frozen=True)
class Shares:
    """A run's process group and the rows this process holds of the training and validation sets."""

    group: Distributed
    train: GlobalRows
    val: GlobalRows | None


def share_problem(problem, group: Distributed):
    """This process's contiguous share of ``problem``'s training and validation rows (copies, so
    the whole arrays can be freed), and the :class:`Shares` describing them."""
    from ..data import Problem

    def take(array, rows: slice):
        return None if array is None else np.ascontiguousarray(array[rows])

    n_train = len(problem.y_train)
    train_rows = group.share(n_train)
    val_rows = None if problem.y_val is None else group.share(len(problem.y_val))
    local = Problem(x_train=take(problem.x_train, train_rows), y_train=take(problem.y_train, train_rows),
                    x_val=None if val_rows is None else take(problem.x_val, val_rows),
                    y_val=None if val_rows is None else take(problem.y_val, val_rows),
                    intercept=problem.intercept, names=problem.names,
                    # weighted rows are whitened: the weights travel in them; Σ log w is of all rows
                    intercept_column=problem.intercept_column, weighting=problem.weighting,
                    cluster=None if problem.cluster is None else take(problem.cluster, train_rows),
                    n_groups=problem.n_groups)
    val = None if val_rows is None else GlobalRows(val_rows.start, len(problem.y_val), group.world_size)
    return local, Shares(group, GlobalRows(train_rows.start, n_train, group.world_size), val)


def gather_sufficient(group: Distributed, compute, names: list[str] | None):
    """Every process's :class:`gradfit.least_squares.sufficient.SufficientStats`, merged in rank order.

    ``compute()`` returns this process's statistics (``None`` when it holds no rows). A
    :class:`gradfit.errors.GradfitError` raised on any process is raised on every process (the
    lowest rank's message), so none of them waits for the others forever.
    """
    from ..errors import BadDataError, option
    from ..least_squares.sufficient import SufficientStats

    def vector():
        local = compute()
        return None if local is None else local.to_vector()

    gathered = agreed(group, vector, gather=True)
    parts = [SufficientStats.from_vector(part, names) for part in gathered if part is not None]
    if not parts:
        raise BadDataError(f"no rows to fit: no process read a row (with {option('dropna', True)}: every row has a "
                           "missing value); check the file or the arrays")
    merged = parts[0]
    for part in parts[1:]:
        merged = merged.merge(part)
    return merged


def agreed(group, compute, gather: bool = False):
    """``compute()`` on every process, its :class:`~gradfit.errors.GradfitError` raised on every
    process (the lowest rank's message: the first in file order) so that none waits for the others
    forever; its value, or with ``gather`` every process's value in rank order."""
    from ..errors import BadDataError, BadOptionError, GradfitError, option

    # The message with its option references, so each process renders it for its caller.
    value, message = None, None
    try:
        value = compute()
    except GradfitError as error:
        head = f"{option(error.option, error.value)}: " if isinstance(error, BadOptionError) else ""
        message = head + error.template
    gathered = group.all_gather((message, value if gather else None))
    for other, _ in gathered:
        if other is not None:
            raise BadDataError(other)
    return [part for _, part in gathered] if gather else value
