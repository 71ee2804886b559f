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
permutation of all rows: the batches of the in-memory run, exactly.

Memory: one window at a time, read into one buffer (each batch is one gather from it), beside
five int64 arrays of its positions (the pool, its permutation, the order, where each row is) and
the chunks being read: about ``buffer_rows · (8·(columns + 1) + 40)`` bytes plus a few chunks in
one process (measured: 183 MB above the interpreter's for a 64 MiB buffer of 11 columns, 2M rows);
under ``torchrun`` each process's buffer holds only its rows of the window (pages it never writes
are never resident), while the int64 arrays are of the whole window.
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


class _Window:
    """A process's rows of one window, read into one buffer with room in front for the rows
    carried over from earlier windows (fewer than a batch), so the pool is one array: each
    batch is then one gather from it."""

    def __init__(self, index: int, room: int, capacity: int, width: int) -> None:
        self.index, self.room, self.count, self.next_index = index, room, 0, None
        # np.empty: pages never written (a process's part of a window) are never resident
        self._positions = np.empty(room + capacity, dtype=np.int64)
        self._x, self._y = np.empty((room + capacity, width)), np.empty(room + capacity)

    def add(self, positions: np.ndarray, x: np.ndarray, y: np.ndarray) -> None:
        at = slice(self.room + self.count, self.room + self.count + len(y))
        self._positions[at], self._x[at], self._y[at] = positions, x, y
        self.count += len(y)

    @property
    def positions(self) -> np.ndarray:
        return self._positions[self.room:self.room + self.count]

    def with_carried(self, carried: "_Held") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The pool's rows this process holds, sorted by position: the carried ones (all earlier
        in the file) written into the room in front, then the window's."""
        k = len(carried.positions)
        start, stop = self.room - k, self.room + self.count
        self._positions[start:self.room], self._x[start:self.room], self._y[start:self.room] = \
            carried.positions, carried.x, carried.y
        return self._positions[start:stop], self._x[start:stop], self._y[start:stop]


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
        carried = _Held.empty(self._width())  # this process's rows carried over (fewer than a batch in all)
        windows = self._local_windows()
        mine = next(windows, None)  # the next window this process holds rows of
        index = self._first_window(mine)
        while True:
            local = None
            if mine is not None and mine.index == index:
                local, mine = mine, None
            reads_next = local.next_index if local is not None else None if mine is None else mine.index
            window_positions, index, last = self._agree(local, reads_next)
            pool = np.concatenate([carried.order, window_positions])
            order = pool[self.rng.permutation(len(pool))]
            whole = len(order) if last else len(order) - len(order) % self.batch_size
            rows = (carried.positions, carried.x, carried.y) if local is None else local.with_carried(carried)
            at, ours = _locate(rows[0], order)
            yield from self._batches(at[:whole], ours[:whole], rows[1], rows[2])
            kept = np.sort(at[whole:][ours[whole:]])  # the rest, carried: sorted by position
            carried = _Held(order[whole:], rows[0][kept], rows[1][kept], rows[2][kept])
            local = rows = None  # the window is freed before the next is read: one at a time
            if last:
                return
            if mine is None:
                mine = next(windows, None)

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
        size, current = self.buffer_rows, None
        for x, y in self.chunks:
            positions = np.asarray(self.chunks.chunk_positions, dtype=np.int64)
            x, y = self._floats(x, y)
            index = positions // size
            bounds = [0, *(np.flatnonzero(np.diff(index)) + 1).tolist(), len(y)]
            for a, b in zip(bounds[:-1], bounds[1:]):
                if a == b:
                    continue
                w = int(index[a])
                if current is not None and current.index != w:
                    current.next_index = w
                    yield current
                    current = None  # (the consumer owns it now)
                if current is None:
                    current = _Window(w, self.batch_size, size, x.shape[1])
                current.add(positions[a:b], x[a:b], y[a:b])
        if current is not None:
            yield current

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

    def _batches(self, at: np.ndarray, ours: np.ndarray, x: np.ndarray, y: np.ndarray):
        """The batches of the shuffled pool's positions whose rows are ``x[at]`` (``ours``:
        which of them this process holds), one gather each."""
        import torch

        n = len(at)
        for start in range(0, n, self.batch_size):
            stop = min(start + self.batch_size, n)
            rows = at[start:stop] if self.group is None else at[start:stop][ours[start:stop]]
            xb, yb = torch.from_numpy(x[rows]), torch.from_numpy(y[rows, None])
            if self.group is None:
                yield xb, yb
            else:
                yield ShardBatch(xb, yb, self.world_size * len(rows) / (stop - start), stop - start)


def _locate(positions: np.ndarray, order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each position of ``order``: its index in the sorted ``positions`` and whether it is there."""
    if not len(positions):
        return np.zeros(len(order), dtype=np.int64), np.zeros(len(order), dtype=bool)
    at = np.minimum(np.searchsorted(positions, order), len(positions) - 1)
    return at, positions[at] == order


@dataclass
class _Held:
    """The rows carried over to the next window: every process's positions in their shuffled
    order (``order``), and this process's rows of them sorted by position."""

    order: np.ndarray
    positions: np.ndarray
    x: np.ndarray
    y: np.ndarray

    @classmethod
    def empty(cls, width: int) -> "_Held":
        none = np.empty(0, dtype=np.int64)
        return cls(none, none, np.empty((0, width)), np.empty(0))
