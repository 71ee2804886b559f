"""Mini-batches streamed from disk through a seeded shuffle buffer (the torch engine's streamed fit).

The order is a function of the file, ``buffer_rows``, ``batch_size`` and the seed alone — not of
``chunk_rows``, nor of how many processes share the file — so a checkpoint written by N
processes resumes on M, and a resumed run draws the batches the uninterrupted one would:

- the file's rows are cut into **windows** by their position: window ``w`` holds the rows at
  positions ``[w·buffer_rows, (w+1)·buffer_rows)`` (fewer when rows were dropped or held out
  for validation);
- for each window in turn, the rows carried over from the last one (fewer than a batch, in
  their shuffled order) and the window's rows (in file order) form a pool, which one draw of
  the generator (:func:`gradfit.data.batches.shuffler`, advancing from window to window and
  epoch to epoch) permutes; the pool is cut into batches of ``batch_size`` and the rest is
  carried; after the last window the rest is the last, partial, batch;
- under ``torchrun`` each process reads only its part of the file (its row groups or blocks),
  and the processes exchange only the positions of their rows of each window: every process
  then knows every global batch, and trains on the rows of it that it holds, its loss weighted
  by ``world_size · m / B`` so that DDP's gradient average is the mean over the global batch
  (:class:`ShardBatch`, as :class:`gradfit.scale.distributed.GlobalRows` does in memory).

Rows more than a window apart never meet in a batch, so a file sorted by some column wants a
buffer as large as memory allows. A buffer of at least the file's rows makes each epoch one
permutation of all rows: the batches of the in-memory run, exactly. Memory: a process holds its
rows of one window twice (as read, and in batch order) plus one chunk: about
``2 · buffer_rows · (columns + 1) · 8`` bytes in one process, ``1/N`` of that in each of N.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data.batches import shuffler

# Default buffer: about 64 MiB of float64 rows, at most 1,048,576 rows.
DEFAULT_BUFFER_BYTES = 64 * 2**20
MAX_DEFAULT_BUFFER_ROWS = 1 << 20


def default_buffer_rows(width: int, batch_size: int) -> int:
    """Rows in a buffer of about 64 MiB for ``width`` columns (at least one batch)."""
    return max(batch_size, min(MAX_DEFAULT_BUFFER_ROWS, DEFAULT_BUFFER_BYTES // (8 * max(width, 1))))


@dataclass
class ShardBatch:
    """This process's rows of one global batch: ``x`` ``(m, d)``, ``y`` ``(m, 1)`` tensors, the
    weight of their mean loss (``world_size · m / rows``) and the global batch's ``rows``."""

    x: object
    y: object
    weight: float
    rows: int


@dataclass
class _Window:
    index: int
    positions: np.ndarray  # (m,) file positions, increasing
    x: np.ndarray  # (m, d)
    y: np.ndarray  # (m,)
    next_index: int | None  # the window this process reads next (None: its part is read)


class ShuffledBatches:
    """A re-iterable of ``(x, y)`` float64 tensor batches (``(b, d)``, ``(b, 1)``) from a chunk
    source whose chunks say where their rows are (``chunks.chunk_positions``, as the file and
    array readers do); :class:`ShardBatch` items under a process group of several processes.

    Parameters
    ----------
    chunks : iterable of (x, y)
        Re-iterable: each iteration is a fresh pass (e.g. :func:`gradfit.data.chunks.iter_file_chunks`).
    batch_size : int
    buffer_rows : int
        Rows of the file per window (at least ``batch_size``).
    seed : int
        Seeds the shuffle; :attr:`rng` advances from window to window and epoch to epoch (a
        Trainer shares its own generator here, so that its checkpoints hold the shuffle's state).
    transform : callable, optional
        ``(x, y) -> (x, y)`` applied to each chunk (standardization).
    group : gradfit.scale.distributed.Distributed, optional
        The process group whose processes each read a part of the file.

    Examples
    --------
    >>> from gradfit.data.chunks import iter_array_chunks
    >>> chunks = iter_array_chunks(np.arange(10.0).reshape(5, 2), np.arange(5.0))
    >>> batches = ShuffledBatches(chunks, batch_size=2, buffer_rows=8, seed=0)
    >>> [len(y) for x, y in batches], sorted(float(v) for _, y in batches for v in y)
    ([2, 2, 1], [0.0, 1.0, 2.0, 3.0, 4.0])
    """

    def __init__(self, chunks, batch_size: int, buffer_rows: int, seed: int, transform=None, group=None) -> None:
        self.chunks, self.batch_size = chunks, int(batch_size)
        self.buffer_rows = max(int(buffer_rows), self.batch_size)
        self.rng = shuffler(seed)
        self.transform = transform
        self.group = group if group is not None and group.world_size > 1 else None

    @property
    def world_size(self) -> int:
        return 1 if self.group is None else self.group.world_size

    def __iter__(self):
        carry = np.empty(0, dtype=np.int64)  # positions carried over, in their shuffled order
        held = _Held.empty(self._width())  # this process's rows of them
        windows = self._local_windows()
        mine = next(windows, None)
        index = self._first_window(mine)
        while True:
            local = mine if mine is not None and mine.index == index else None
            if local is not None:
                mine = next(windows, None)
            reads_next = None if mine is None else mine.index
            window_positions, index, last = self._agree(local, reads_next)
            pool = np.concatenate([carry, window_positions])
            order = pool[self.rng.permutation(len(pool))]
            whole = len(order) if last else len(order) - len(order) % self.batch_size
            rows = held.plus(local)
            yield from self._batches(rows, order[:whole])
            carry = order[whole:]
            held = rows.keep(carry)
            if last:
                return

    def file_order(self):
        """The rows in file order as ``(x, y)`` tensor batches (this process's rows): for
        evaluating a loss, without drawing from the shuffle."""
        import torch

        for x, y in self.chunks:
            x, y = self._floats(x, y)
            yield torch.from_numpy(x), torch.from_numpy(y[:, None])

    def max_row_norm2(self) -> float:
        """``max_i ‖x_i‖²`` over every (transformed) row: one pass (for ``--lr auto``)."""
        best = 0.0
        for x, y in self.chunks:
            x, _ = self._floats(x, y)
            if len(x):
                best = max(best, float(np.max(np.einsum("ij,ij->i", x, x))))
        if self.group is not None:
            best = self.group.all_max(best)
        return best

    # ------------------------------------------------------------------------------- inside
    def _width(self) -> int:
        names = getattr(self.chunks, "feature_names", None)
        return len(names) if names else 1

    def _floats(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        if self.transform is not None:
            x, y = self.transform(x, y)
        y = np.asarray(y, dtype=np.float64).reshape(-1)
        x = np.asarray(x, dtype=np.float64)
        return x.reshape(len(y), x.shape[1] if x.ndim == 2 else -1), y

    def _local_windows(self):
        """This process's rows, window by window (:class:`_Window`), in file order."""
        size, current, parts = self.buffer_rows, None, []
        for x, y in self.chunks:
            positions = np.asarray(self.chunks.chunk_positions, dtype=np.int64)
            x, y = self._floats(x, y)
            index = positions // size
            cuts = np.flatnonzero(np.diff(index)) + 1
            for rows in np.split(np.arange(len(y)), cuts):
                if not len(rows):
                    continue
                w = int(index[rows[0]])
                if current is not None and w != current:
                    yield _joined(current, parts, w)
                    parts = []
                current = w
                parts.append((positions[rows], x[rows], y[rows]))
        if current is not None:
            yield _joined(current, parts, None)

    def _first_window(self, mine: _Window | None) -> int:
        """The first window any process holds rows of (every process starts there)."""
        first = None if mine is None else mine.index
        if self.group is not None:
            held = [index for index in self.group.all_gather(first) if index is not None]
            first = min(held) if held else None
        return -1 if first is None else first

    def _agree(self, local: _Window | None, reads_next: int | None) -> tuple[np.ndarray, int, bool]:
        """The positions of every process's rows of this window (sorted), the next window any
        process reads, and whether this window is the last."""
        positions = np.empty(0, dtype=np.int64) if local is None else local.positions
        if self.group is None:
            return positions, reads_next if reads_next is not None else -1, reads_next is None
        gathered = self.group.all_gather((positions, reads_next))
        following = [later for _, later in gathered if later is not None]
        window = np.sort(np.concatenate([part for part, _ in gathered]))
        return window, min(following) if following else -1, not following

    def _batches(self, rows: "_Rows", order: np.ndarray):
        import torch

        ours, x, y = rows.take(order)  # one gather a window; batches are views of it
        if self.group is None:
            for start in range(0, len(order), self.batch_size):
                yield (torch.from_numpy(x[start:start + self.batch_size]),
                       torch.from_numpy(y[start:start + self.batch_size, None]))
            return
        before = np.concatenate([[0], np.cumsum(ours)])
        for start in range(0, len(order), self.batch_size):
            stop = min(start + self.batch_size, len(order))
            first, last = int(before[start]), int(before[stop])
            yield ShardBatch(torch.from_numpy(x[first:last]), torch.from_numpy(y[first:last, None]),
                             self.world_size * (last - first) / (stop - start), stop - start)


def _joined(index: int, parts: list, next_index: int | None) -> _Window:
    return _Window(index, np.concatenate([p for p, _, _ in parts]), np.concatenate([x for _, x, _ in parts]),
                   np.concatenate([y for _, _, y in parts]), next_index)


@dataclass
class _Held:
    """The rows a process holds of those carried over, sorted by position."""

    positions: np.ndarray
    x: np.ndarray
    y: np.ndarray

    @classmethod
    def empty(cls, width: int) -> "_Held":
        return cls(np.empty(0, dtype=np.int64), np.empty((0, width)), np.empty(0))

    def plus(self, window: _Window | None) -> "_Rows":
        return _Rows(self, window)


@dataclass
class _Rows:
    """A process's rows of the pool: the carried ones (all earlier in the file) and its window's,
    never copied into one array."""

    carried: _Held
    window: _Window | None

    def take(self, order: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Which positions of ``order`` this process holds, and those rows, in that order."""
        parts = [self.carried] + ([self.window] if self.window is not None else [])
        positions = np.concatenate([part.positions for part in parts])  # sorted: carried rows come first
        n_carried, width = len(self.carried.positions), self.carried.x.shape[1] if self.window is None \
            else self.window.x.shape[1]
        if not len(positions):
            return np.zeros(len(order), dtype=bool), np.empty((0, width)), np.empty(0)
        at = np.minimum(np.searchsorted(positions, order), len(positions) - 1)
        ours = positions[at] == order
        at = at[ours]
        x, y = np.empty((len(at), width)), np.empty(len(at))
        early = at < n_carried
        x[early], y[early] = self.carried.x[at[early]], self.carried.y[at[early]]
        if self.window is not None:
            x[~early], y[~early] = self.window.x[at[~early] - n_carried], self.window.y[at[~early] - n_carried]
        return ours, x, y

    def keep(self, positions: np.ndarray) -> _Held:
        """This process's rows among ``positions`` (those carried to the next window), sorted."""
        ours, x, y = self.take(np.sort(positions))
        return _Held(np.sort(positions)[ours], x, y)
