"""Mini-batches streamed from disk through a seeded shuffle buffer (the torch engine's streamed fit).

Each pass (epoch) reads the chunk source from the start. Rows collect in a buffer of
``buffer_rows``; when it is full it is shuffled and cut into batches of ``batch_size``, the rows
left over (fewer than a batch) staying for the next fill; at the end of the file the rest is
shuffled and the last batch may be partial, as in memory. Rows more than a buffer apart in the
file never swap places, so a file sorted by some column should get a buffer as large as memory
allows. With ``buffer_rows`` at least the number of rows, every epoch is one permutation of all
rows drawn by :func:`gradfit.data.batches.shuffler`: the batches of the in-memory run, exactly.
"""

from __future__ import annotations

import numpy as np

from ..data.batches import shuffler

# Default buffer: about 64 MiB of float64 rows, at most 1,048,576 rows.
DEFAULT_BUFFER_BYTES = 64 * 2**20
MAX_DEFAULT_BUFFER_ROWS = 1 << 20


def default_buffer_rows(width: int, batch_size: int) -> int:
    """Rows in a buffer of about 64 MiB for ``width`` columns (at least one batch)."""
    return max(batch_size, min(MAX_DEFAULT_BUFFER_ROWS, DEFAULT_BUFFER_BYTES // (8 * max(width, 1))))


class ShuffledBatches:
    """A re-iterable of ``(x, y)`` float64 tensor batches (``(b, d)``, ``(b, 1)``) from a chunk source.

    Parameters
    ----------
    chunks : iterable of (x, y)
        Re-iterable: each iteration is a fresh pass (e.g. :func:`gradfit.data.chunks.iter_file_chunks`).
    batch_size : int
    buffer_rows : int
        Rows shuffled together (at least ``batch_size``).
    seed : int
        Seeds the shuffle; the generator advances from epoch to epoch.
    transform : callable, optional
        ``(x, y) -> (x, y)`` applied to each chunk (standardization).

    Examples
    --------
    >>> chunks = [(np.arange(10.0).reshape(5, 2), np.arange(5.0))]
    >>> batches = ShuffledBatches(chunks, batch_size=2, buffer_rows=8, seed=0)
    >>> [len(y) for x, y in batches], sorted(float(v) for _, y in batches for v in y)
    ([2, 2, 1], [0.0, 1.0, 2.0, 3.0, 4.0])
    """

    def __init__(self, chunks, batch_size: int, buffer_rows: int, seed: int, transform=None) -> None:
        self.chunks, self.batch_size = chunks, int(batch_size)
        self.buffer_rows = max(int(buffer_rows), self.batch_size)
        self.rng = shuffler(seed)
        self.transform = transform

    def __iter__(self):
        held_x, held_y, held = [], [], 0
        for x, y in self.chunks:
            if self.transform is not None:
                x, y = self.transform(x, y)
            held_x.append(np.asarray(x, dtype=np.float64).reshape(len(y), -1))
            held_y.append(np.asarray(y, dtype=np.float64).reshape(-1))
            held += len(held_y[-1])
            if held > self.buffer_rows:  # (a buffer holding every row waits for the end: one permutation)
                x_all, y_all = np.concatenate(held_x), np.concatenate(held_y)
                order = self.rng.permutation(len(y_all))
                whole = len(order) - len(order) % self.batch_size
                yield from self._batches(x_all, y_all, order[:whole])
                rest = order[whole:]  # fewer than a batch: shuffled again with the next fill
                held_x, held_y, held = [x_all[rest]], [y_all[rest]], len(rest)
        if held:
            x_all, y_all = np.concatenate(held_x), np.concatenate(held_y)
            yield from self._batches(x_all, y_all, self.rng.permutation(len(y_all)))

    def _batches(self, x: np.ndarray, y: np.ndarray, order: np.ndarray):
        import torch

        for start in range(0, len(order), self.batch_size):
            idx = order[start:start + self.batch_size]
            yield torch.from_numpy(x[idx]), torch.from_numpy(y[idx, None])

    def max_row_norm2(self) -> float:
        """``max_i ‖x_i‖²`` over every (transformed) row: one pass (for ``--lr auto``)."""
        best = 0.0
        for x, y in self.chunks:
            if self.transform is not None:
                x, y = self.transform(x, y)
            x = np.asarray(x, dtype=np.float64).reshape(len(y), -1)
            if len(x):
                best = max(best, float(np.max(np.einsum("ij,ij->i", x, x))))
        return best
