"""A streamed validation split: the rows a seeded rule on their position holds out
(:func:`gradfit.data.batches.held_out`), set aside chunk by chunk as a file is read.

The rule names rows by their position in the file, never by the order they are read in, so a
streamed fit holds out the same rows on every pass (each epoch's mini-batches, the statistics'
second pass), whatever ``chunk_rows`` is and however many processes share the file.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import BadDataError, option
from .batches import held_out
from .chunks import Wrapped
from .weights import Weighting, log_weight_sum


class SplitChunks(Wrapped):
    """The training rows of ``source``'s chunks; the held-out rows of the last chunk are left in
    :attr:`chunk_val` (``(x, y)``, their positions in :attr:`chunk_val_positions`) for a consumer
    that wants them (the validation statistics).

    Whitened rows (:class:`gradfit.data.weights.WeightedChunks`) are split as they come: the held-out
    ones then give the weighted validation loss, and :attr:`weighting` is the training rows' ``Σ log w``
    (of the last pass), as :func:`gradfit.data.weights.whiten` has it for an in-memory split.

    Examples
    --------
    >>> from gradfit.data.chunks import iter_array_chunks
    >>> x = np.arange(20.0).reshape(10, 2)
    >>> split = SplitChunks(iter_array_chunks(x, np.arange(10.0), rows=4), fraction=0.3, seed=0)
    >>> train = np.concatenate([y for _, y in split])
    >>> held = np.flatnonzero(held_out(np.arange(10), 0.3, 0))
    >>> sorted(set(train.tolist()) | set(held.astype(float).tolist())) == list(np.arange(10.0))
    True
    """

    def __init__(self, source, fraction: float, seed: int) -> None:
        self.source, self.fraction, self.seed = source, float(fraction), int(seed)
        self.feature_names = list(getattr(source, "feature_names", None) or [])
        self.target_name = getattr(source, "target_name", None)
        self.n_rows = getattr(source, "n_rows", None)
        self.chunk_val = self.chunk_val_positions = None
        self._positions = self._labels = None
        self._log_sums: list[float] | None = None  # Σ log w of each chunk's training rows (weighted rows)

    @property
    def weighting(self) -> Weighting | None:
        return None if self._log_sums is None else Weighting(math.fsum(self._log_sums))

    @property
    def chunk_positions(self):
        return self._positions

    @property
    def chunk_labels(self):
        return self._labels

    def __iter__(self):
        log_sums = []
        for x, y in self.source:
            positions = getattr(self.source, "chunk_positions", None)
            if positions is None:
                raise BadDataError(f"{option('val_split', self.fraction)} on streamed rows needs each row's "
                                   "position: stream a CSV or Parquet file or arrays (x, y), not bare chunks")
            held = held_out(positions, self.fraction, self.seed)
            keep = ~held
            labels = getattr(self.source, "chunk_labels", None)
            self._positions = positions[keep]
            self._labels = None if labels is None else labels[keep]
            self.chunk_val, self.chunk_val_positions = (x[held], y[held]), positions[held]
            weights = getattr(self.source, "chunk_weights", None)
            if weights is not None:
                log_sums.append(log_weight_sum(weights[keep]))
            yield x[keep], y[keep]
        if hasattr(self.source, "chunk_weights"):
            self._log_sums = log_sums
