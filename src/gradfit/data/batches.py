"""Which rows, in which order: the seeded shuffle, mini-batch bounds, and each process's share.

The numpy and torch engines, the Trainer, the range test and the shuffle buffer all draw their
order from :func:`shuffler`, so they see the same mini-batches in the same order.
"""

from __future__ import annotations

import numpy as np


def shuffler(seed: int) -> np.random.Generator:
    """The generator that reshuffles mini-batches each epoch (shared by the numpy and torch
    engines, so both see the same batches in the same order)."""
    return np.random.default_rng(seed)


def epoch_order(n: int, batch_size: int | None, rng: np.random.Generator) -> np.ndarray | None:
    """This epoch's row order for mini-batches, freshly shuffled; ``None`` for full batch."""
    if batch_size is None or batch_size >= n:
        return None
    return rng.permutation(n)


def batch_bounds(n: int, batch_size: int | None) -> list[tuple[int, int]]:
    """``(start, stop)`` of each mini-batch in an epoch's order; one pair for full batch.

    The last batch holds the remainder when ``batch_size`` does not divide ``n`` (as a
    DataLoader without ``drop_last`` does).
    """
    step = n if batch_size is None else min(batch_size, n)
    return [(start, min(start + step, n)) for start in range(0, n, step)]


def share(n: int, rank: int, world_size: int) -> slice:
    """Rows ``[n·rank/W, n·(rank+1)/W)``: contiguous, in order, every row once.

    >>> [share(10, r, 3) for r in range(3)]
    [slice(0, 3, None), slice(3, 6, None), slice(6, 10, None)]
    """
    return slice(n * rank // world_size, n * (rank + 1) // world_size)
