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


# --- rows named by their position: a held-out share and a digest that do not depend on who reads ---

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _mix(z: np.ndarray) -> np.ndarray:
    """SplitMix64's finalizer: a bijection of uint64 whose every output bit depends on every input bit."""
    z = z ^ (z >> np.uint64(30))
    z = z * np.uint64(0xBF58476D1CE4E5B9)
    z = z ^ (z >> np.uint64(27))
    z = z * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _keyed(positions, seed: int) -> np.ndarray:
    key = _mix(np.asarray([seed & 0xFFFFFFFFFFFFFFFF], dtype=np.uint64) + _GOLDEN)[0]
    with np.errstate(over="ignore"):
        return _mix(np.asarray(positions, dtype=np.uint64) * _GOLDEN ^ key)


def held_out(positions, fraction: float, seed: int) -> np.ndarray:
    """Which rows, named by their position in the file (counting from 0), a validation split of
    ``fraction`` holds out: row ``i`` is held out when a seeded hash of ``i`` falls below
    ``fraction``. A rule on the position alone, so the same rows are held out on every pass, in
    any chunking and on any number of processes; the share held out is ``fraction`` on average
    (binomial: ``n·f ± 2·√(n·f(1-f))`` rows).

    >>> mask = held_out(np.arange(100_000), 0.2, seed=0)
    >>> round(float(mask.mean()), 2), bool((held_out(np.arange(50_000, 100_000), 0.2, 0) == mask[50_000:]).all())
    (0.2, True)
    """
    with np.errstate(over="ignore"):
        uniform = (_keyed(positions, seed) >> np.uint64(11)).astype(np.float64) * 2.0 ** -53
    return uniform < fraction


def row_digest(positions, *columns) -> int:
    """A 64-bit digest of rows (their float64 bits and their positions), as a sum modulo 2⁶⁴
    of one hash per row: the digests of any split of the rows add up to the digest of all of
    them, so every process count gives the same one (a checkpoint's "same data" check)."""
    positions = np.asarray(positions)
    if len(positions) == 0:
        return 0
    with np.errstate(over="ignore"):
        h = _keyed(positions, 0x5EED)
        for column in columns:
            bits = np.ascontiguousarray(np.asarray(column, dtype=np.float64).reshape(len(positions), -1))
            for j in range(bits.shape[1]):
                h = _mix(h ^ bits[:, j].view(np.uint64))
        return int(np.sum(h, dtype=np.uint64))
