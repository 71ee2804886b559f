"""Where a fit's rows are, as kinds of data source: in this process's memory, shared among the
processes of a ``torchrun`` launch, or streamed from a file.

A source answers what the stages of :mod:`gradfit.pipeline.run` ask of the rows: how many there
are, the least-squares reference of the training rows (:mod:`gradfit.pipeline.references`), the
curvature of one row, what the engine trains on, and what identifies the data in a checkpoint.
A new kind of data source is a new class with these methods; no stage changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from .. import limits
from ..data.batches import batch_bounds, epoch_order, shuffler
from ..data.design import Scaling
from ..data.validate import Problem, check_values
from ..least_squares.curvature import max_row_norm2
from ..scale.distributed import gather_sufficient
from ..scale.streams import sufficient_of
from ..data.batches import row_digest
from ..training.checkpoint import data_digest
from ..data.chunks import iter_array_chunks
from ..least_squares.gram import gram_statistics
from ..least_squares.sufficient import accumulate
from ..least_squares.row_pass import row_blocks
from .references import DenseReference, RowsReference, SufficientReference


@dataclass
class Origin:
    """What a result says about its data: the dataset or file, the target, the input columns
    before polynomial terms, the degree, and rows dropped for missing values."""

    dataset: str | None = None
    target: str | None = None
    inputs: list[str] | None = None
    degree: int | None = None
    n_dropped: int = 0
    formula: dict | None = None  # gradfit.data.formula.spec_to_json: rebuilds the design on new rows


def param_names(problem: Problem) -> list[str]:
    """``intercept`` (when fitted), then the feature names."""
    return (["intercept"] if problem.intercept else []) + list(problem.names)


def model_of(problem: Problem) -> dict:
    """What the statistics of a reference of sufficient statistics need to know of the model
    beyond the design: its intercept and weights (whitened rows)."""
    return {"model_intercept": problem.model_intercept, "weighting": problem.weighting}


# Rows of an in-memory mini-batch epoch gathered, standardized and rounded at a time (RowBatches):
# 2 MiB of float64 cells (a few batches): small beside rows worth drawing this way; 8 MiB left the
# allocator holding 0.05× the rows more after training, and was no faster.
GATHER_CELLS = 2**18


def scaled_problem(problem: Problem, scaling: Scaling, dtype=np.float64, train: bool = True) -> Problem:
    """``problem`` with features and target centred and scaled (both splits), in ``dtype``;
    ``train=False``: without the training rows (``(0, d)``: the engine draws them as batches,
    :class:`RowBatches`).

    Scaled block by block into the result (float64 arithmetic, then rounded once to ``dtype``):
    a float32 copy for the torch engine is the values ``torch.as_tensor`` would round the float64
    ones to, without the float64 copy and its temporaries (for large rows: 0.5× their size
    instead of 1.8× at the peak).
    """
    has_val = problem.x_val is not None
    x_train = problem.x_train if train else problem.x_train[:0]
    return Problem(
        x_train=_scaled(x_train, scaling.x, dtype), y_train=_scaled(problem.y_train[:len(x_train)], scaling.y, dtype),
        x_val=_scaled(problem.x_val, scaling.x, dtype) if has_val else None,
        y_val=_scaled(problem.y_val, scaling.y, dtype) if has_val else None,
        intercept=problem.intercept, names=problem.names, intercept_column=problem.intercept_column,
    )


def _scaled(values: np.ndarray, scale, dtype, block: int = 1 << 16) -> np.ndarray:
    out = np.empty(values.shape, dtype=dtype)
    for start in range(0, len(values), block):
        out[start:start + block] = scale(values[start:start + block])
    return out


class RowBatches:
    """An in-memory fit's mini-batches for the torch engine, gathered from the float64 rows and
    standardized and rounded to ``dtype`` a few dozen batches at a time: a re-iterable of
    ``(x, y)`` tensors ``(b, d)``, ``(b, 1)``, each iteration one epoch.

    The epoch's order is the Trainer's (:func:`gradfit.data.batches.epoch_order` from :attr:`rng`,
    which the torch engine sets to the Trainer's own generator, so checkpoints hold it) and each
    value is the one the standardized copy of the rows holds (float64 ``(x − mean) / scale``, then
    rounded once): the batches, and so the updates, are those of training on that copy bit for
    bit, without the copy (0.5× the rows' float64 size in float32) nor an epoch's gather of it
    (another 0.5×). ``x`` ``(n, d)`` and ``y`` ``(n,)`` are read, never written.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, scaling: Scaling | None, dtype, batch_size: int,
                 seed: int) -> None:
        self.x, self.y, self.scaling, self.dtype = x, y, scaling, np.dtype(dtype)
        self.batch_size = int(batch_size)
        self.rng = shuffler(seed)

    def __iter__(self):
        import torch

        n = len(self.y)
        order = epoch_order(n, self.batch_size, self.rng)
        bounds = batch_bounds(n, self.batch_size)
        per_gather = max(1, GATHER_CELLS // ((self.x.shape[1] + 1) * self.batch_size))
        gathered = torch.empty((min(n, per_gather * self.batch_size), self.x.shape[1]), dtype=torch.float64)
        for first in range(0, len(bounds), per_gather):
            group = bounds[first:first + per_gather]
            lo, hi = group[0][0], group[-1][1]
            x, y = self.rows(slice(lo, hi) if order is None else order[lo:hi], gathered)
            for start, stop in group:
                yield x[start - lo:stop - lo], y[start - lo:stop - lo]

    def rows(self, rows, gathered=None) -> tuple:
        """Rows ``rows`` (a slice or positions) standardized, as tensors ``(m, d)``, ``(m, 1)`` of
        ``dtype``; ``gathered``: a float64 tensor of at least ``m`` rows, overwritten. (Torch's
        gather and arithmetic, IEEE's as NumPy's, on the process's threads: 3× NumPy's here.)"""
        import torch

        x, y = torch.from_numpy(self.x), torch.from_numpy(self.y)  # views of the rows, never written
        at = None if isinstance(rows, slice) else torch.from_numpy(rows)
        y = y[rows].clone() if at is None else y.index_select(0, at)  # (m,) our own
        room = torch.empty((len(y), x.shape[1]), dtype=torch.float64) if gathered is None else gathered[:len(y)]
        if at is None:
            room.copy_(x[rows])
        else:
            torch.index_select(x, 0, at, out=room)
        if self.scaling is not None:  # the operations of Scaling.x and .y, then rounded once to dtype
            room.sub_(torch.from_numpy(self.scaling.x_mean)).div_(torch.from_numpy(self.scaling.x_scale))
            y.sub_(self.scaling.y_mean).div_(self.scaling.y_scale)
        dtype = getattr(torch, self.dtype.name)  # (a copy in float64 too: ``gathered`` is written again)
        return room.to(dtype, copy=True), y.to(dtype).view(-1, 1)

    def loss_sum(self, model) -> tuple:
        """The MSE of ``model`` over every row, in order, a gather's rows at a time (summed in
        float64); ``(loss, 1)``, as the Trainer's evaluation takes it."""
        import torch

        step, n, total = max(1, GATHER_CELLS // (self.x.shape[1] + 1)), len(self.y), 0.0
        for start in range(0, n, step):
            x, y = self.rows(slice(start, min(n, start + step)))
            error = (model(x) - y).view(-1).to(torch.float64)  # (m,)
            total += float(error @ error)
        return torch.tensor(total / max(n, 1), dtype=torch.float64), 1

    def standardized(self, problem: Problem) -> Problem:
        """``problem`` (the run's, without its training rows) with them, whole and standardized:
        for engines that slice the rows themselves (a sweep's stacked runs)."""
        if self.scaling is None:
            return replace(problem, x_train=self.x.astype(self.dtype), y_train=self.y.astype(self.dtype))
        return replace(problem, x_train=_scaled(self.x, self.scaling.x, self.dtype),
                       y_train=_scaled(self.y, self.scaling.y, self.dtype))


def is_small(problem: Problem) -> bool:
    """Whether ``problem``'s training rows are solved in memory (dense QR) rather than reduced to
    sufficient statistics (see :data:`gradfit.limits.SMALL_CELLS`)."""
    return problem.x_train.size + len(problem.y_train) <= limits.SMALL_CELLS


@dataclass
class InMemory:
    """The rows are arrays in this process: dense when small, sufficient statistics when large."""

    problem: Problem
    origin: Origin = field(default_factory=Origin)
    group = None  # no process group
    world_size = 1
    is_main = True

    @property
    def n_train(self) -> int:
        return len(self.problem.y_train)

    @property
    def n_val(self) -> int:
        return 0 if self.problem.y_val is None else len(self.problem.y_val)

    @property
    def holds_rows(self) -> bool:
        return True

    def reference(self, warn_unrefined: bool = True):
        """The least-squares reference of the training rows (see :mod:`gradfit.pipeline.references`).

        One path for every size: the Gram fast path (one read of the rows) wherever its error
        estimate promises full accuracy; otherwise dense QR with extra-precise and exact
        refinement for rows up to :data:`gradfit.limits.SMALL_CELLS`, and TSQR beyond.
        """
        names = param_names(self.problem)
        x, y, intercept = self.problem.x_train, self.problem.y_train, self.problem.intercept
        check = None if self.problem.values_checked else (lambda: check_values(self.problem))
        fast = gram_statistics(x, y, intercept=intercept, names=names, check=check)  # None: ill-conditioned
        model = model_of(self.problem)
        if fast is not None and not fast.closed_form().needs_refinement:
            return RowsReference(fast, names, warn_unrefined, problem=self.problem, **model)
        if check is not None:
            check()  # the other paths read checked rows
        if is_small(self.problem):
            return DenseReference(self.problem, names)
        return SufficientReference(accumulate(iter_array_chunks(x, y), intercept=intercept, names=names), names,
                                   warn_unrefined, **model,
                                   rows=lambda theta: row_blocks(iter_array_chunks(x, y), theta, intercept),
                                   where=f"more than the {limits.SMALL_CELLS:,} cells refined in memory")

    def val_sufficient(self):
        """Sufficient statistics of the validation rows (the exact engine on large data), or None."""
        if self.problem.y_val is None:
            return None
        return sufficient_of(self.problem.x_val, self.problem.y_val, self.problem.intercept,
                             param_names(self.problem), correctly_rounded=False)  # only their loss is wanted

    def row_curvature(self, run_problem: Problem, scaling: Scaling | None, batches=None) -> float:
        """``max_i ‖a_i‖²`` over the design rows where gradient descent runs (mini-batch ``lr='auto'``),
        chunk by chunk (no copy of the design)."""
        return max_row_norm2(self.problem, scaling)

    def engine_inputs(self, engine: str, cfg, scaling: Scaling | None) -> dict:
        """What the engine needs beyond the rows: the torch engine's device, and for mini-batches
        of large rows on the CPU the batches themselves (:class:`RowBatches`: no standardized
        copy of the training rows is made)."""
        if engine != "torch":
            return {"device": "cpu"}
        from ..scale.devices import resolve_device

        device = resolve_device(cfg.device)
        if device != "cpu" or cfg.batch_size is None or cfg.batch_size >= self.n_train or cfg.walkthrough_stage \
                or is_small(self.problem):  # (on a GPU the rows are held there; small rows copy cheaply)
            return {"device": device}
        batches = RowBatches(self.problem.x_train, self.problem.y_train, scaling, cfg.resolved_dtype("torch"),
                             cfg.batch_size, cfg.seed)
        return {"device": device, "batches": batches}

    def agree(self, flag: bool) -> bool:
        """``flag`` as every process of the run sees it (one process: itself)."""
        return flag

    def data_identity(self) -> dict:
        """The rows, summarised for a checkpoint's fingerprint: the same for every number of
        processes sharing them (:func:`gradfit.data.batches.row_digest`). The rows as given, not
        as standardized: the scaling comes from statistics merged in rank order, which round
        differently on different numbers of processes."""
        return {"n_train": self.n_train, "n_val": self.n_val, "data": f"{self._digest(self.problem):016x}"}

    def _digest(self, problem: Problem, train_start: int = 0, val_start: int = 0) -> int:
        """This process's rows' digest, each row named by its position among all processes' rows."""
        rows = np.arange(len(problem.y_train)) + train_start
        digest = row_digest(rows, problem.x_train, problem.y_train)
        if problem.y_val is not None:
            rows = self.n_train + val_start + np.arange(len(problem.y_val))
            digest += row_digest(rows, problem.x_val, problem.y_val)
        return digest % 2**64


@dataclass
class Shared(InMemory):
    """Each process of a ``torchrun`` launch holds a share of the rows (``shares``, a
    :class:`gradfit.scale.distributed.Shares`); statistics are gathered from every process."""

    shares: object = None

    @property
    def group(self):
        return self.shares.group

    @property
    def world_size(self) -> int:
        return self.shares.group.world_size

    @property
    def is_main(self) -> bool:
        return self.shares.group.is_main

    @property
    def n_train(self) -> int:
        return self.shares.train.total

    @property
    def n_val(self) -> int:
        return 0 if self.problem.y_val is None else self.shares.val.total

    def reference(self, warn_unrefined: bool = True):
        names = param_names(self.problem)
        x, y, intercept = self.problem.x_train, self.problem.y_train, self.problem.intercept
        return SufficientReference(self._gathered(x, y), names, warn_unrefined, **model_of(self.problem),
                                   rows=lambda theta: row_blocks(iter_array_chunks(x, y) if len(y) else (), theta,
                                                                 intercept),
                                   group=self.group)

    def val_sufficient(self):
        if self.problem.y_val is None:
            return None
        return self._gathered(self.problem.x_val, self.problem.y_val)

    def _gathered(self, x: np.ndarray, y: np.ndarray):
        names = param_names(self.problem)
        return gather_sufficient(self.group, lambda: sufficient_of(x, y, self.problem.intercept, names) if len(y) else None,
                            names)

    def row_curvature(self, run_problem: Problem, scaling: Scaling | None, batches=None) -> float:
        return self.group.all_max(max_row_norm2(self.problem, scaling))

    def engine_inputs(self, engine: str, cfg, scaling: Scaling | None) -> dict:
        if engine != "torch":
            return {"device": "cpu"}
        return {"device": self.group.device, "shard": self.shares.train}  # cuda:LOCAL_RANK (NCCL) or the CPU

    def agree(self, flag: bool) -> bool:
        return bool(self.group.all_max(flag))

    def data_identity(self) -> dict:
        # A collective: every process's digest summed (the digest of all rows, on any number of them).
        val_start = 0 if self.shares.val is None else self.shares.val.start
        local = self._digest(self.problem, self.shares.train.start, val_start)  # (scaled rows differ by ulps)
        return {"n_train": self.n_train, "n_val": self.n_val,
                "data": f"{sum(self.group.all_gather(local)) % 2**64:016x}"}


@dataclass
class Streamed:
    """The rows were streamed from disk into sufficient statistics (``streamed``, a
    :class:`gradfit.scale.streams.Streamed`); mini-batches are read again every epoch."""

    streamed: object
    intercept: bool = True
    origin: Origin = field(default_factory=Origin)

    def __post_init__(self) -> None:
        sufficient = self.streamed.sufficient
        weighting = self.streamed.weighting
        self.problem = Problem(x_train=np.empty((0, sufficient.d)), y_train=np.empty(0), x_val=None, y_val=None,
                               intercept=self.intercept and weighting is None, names=list(self.streamed.feature_names),
                               intercept_column=self.intercept and weighting is not None, weighting=weighting)

    group = property(lambda self: self.streamed.group)
    world_size = property(lambda self: self.streamed.world_size)
    is_main = property(lambda self: self.streamed.group is None or self.streamed.group.is_main)
    n_train = property(lambda self: int(self.streamed.sufficient.n))
    n_val = property(lambda self: 0 if self.streamed.val_sufficient is None else int(self.streamed.val_sufficient.n))
    holds_rows = False

    def reference(self, warn_unrefined: bool = True):
        chunks, intercept, group = self.streamed.chunks, self.problem.intercept, self.streamed.group
        return SufficientReference(self.streamed.sufficient, param_names(self.problem), warn_unrefined,
                                   **model_of(self.problem), rows=lambda theta: row_blocks(chunks, theta, intercept),
                                   group=group, ordered=self.rows_in_order, tests=False)

    @property
    def rows_in_order(self) -> bool:
        """Whether the processes' rows follow one another in rank order (always, in one process;
        Parquet row groups under torchrun; not a CSV file's interleaved blocks)."""
        return self.streamed.group is None or bool(getattr(self.streamed.chunks, "contiguous_parts", False))

    def val_sufficient(self):
        return self.streamed.val_sufficient  # the rows val_split held out, by their position

    def row_curvature(self, run_problem: Problem, scaling: Scaling | None, batches=None) -> float:
        return batches.max_row_norm2() + float(self.problem.intercept)

    def engine_inputs(self, engine: str, cfg, scaling: Scaling | None) -> dict:
        if engine == "exact":
            return {"device": "cpu"}
        from ..scale.streams import streamed_batches

        val = self.streamed.val_sufficient
        return {"device": "cpu", "batches": streamed_batches(self.streamed.chunks, cfg, engine, scaling, self.group),
                "shard": self.group if self.world_size > 1 else None,
                "val_sufficient": None if val is None else val if scaling is None else val.standardized(scaling)}

    def agree(self, flag: bool) -> bool:
        return flag if self.group is None else bool(self.group.all_max(flag))

    def data_identity(self) -> dict:
        digest = self.streamed.digest  # of every row read, by its position in the file (any process count)
        return {"n_train": self.n_train, "n_val": self.n_val,
                "data": data_digest(self.streamed.sufficient.to_vector()) if digest is None else f"{digest:016x}"}
