"""Under ``torchrun``, each process reads only its share of a data file for an in-memory fit.

The share is the one :func:`gradfit.scale.distributed.share_problem` would cut from the whole
file — rows ``[n·rank/W, n·(rank+1)/W)`` of its ``n`` data rows — so every stage downstream (the
gathered statistics, the Trainer's global batches over :class:`~gradfit.scale.distributed.GlobalRows`)
runs exactly as when every process read the whole file and kept its share, and memory per process
is about the file / ``W``:

- Parquet: ``n`` from the metadata; only the row groups the share overlaps are read, a group
  that straddles two shares sliced by rows (a file of fewer groups than processes still splits).
- CSV: every process parses the file twice — once to count its rows, once to convert only the
  rows of its share (the text is parsed by all, the values converted and held by one); byte
  ranges would be cheaper but split quoted values that span lines and compressed files.

A bad value is found by the process that reads it: every process gathers the others' verdicts
(:func:`agreed`) and raises the lowest rank's message, the first bad value in file order. A
column's magnitude (its largest ``|value|``) is judged over every process's rows together.

What needs every row of the file in every process falls back to whole-file reading
(:func:`reads_shares` says when): a validation split (a seeded permutation of all the rows, whose
training rows are then not one contiguous range of the file), dropped rows, weights (``Σ log w``
of all rows), cluster labels (codes of all the rows' labels), polynomial terms and formulas.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .distributed import GlobalRows, Shares, agreed


@dataclass(eq=False)
class FileShare:
    """This process's rows of a data file and where they sit among all the file's rows.

    Attributes
    ----------
    x : numpy.ndarray
        ``(m, d)`` float64 features of the share.
    y : numpy.ndarray
        ``(m,)`` the target.
    names : list of str
    target : str
    path : str
    shares : gradfit.scale.distributed.Shares
        The group, and the training rows ``[start, start + m)`` of ``total``; no validation rows.
    """

    x: np.ndarray
    y: np.ndarray
    names: list[str]
    target: str
    path: str
    shares: Shares

    @property
    def n_total(self) -> int:
        return self.shares.train.total


def reads_shares(group, *, val_split=None, dropna: bool = False, weights=None, cluster=None, poly=None,
                 formula=None) -> bool:
    """Whether each process can read only its share (the module's docstring says what cannot)."""
    return (group is not None and group.world_size > 1 and not val_split and not dropna and weights is None
            and cluster is None and poly is None and not formula)


def read_share(path: str, group, *, target: str, features: list[str] | None = None) -> FileShare:
    """This process's share of the file's rows (the columns as :func:`gradfit.data.files.read_table`
    chooses them): every process returns its own, or every process raises the same error."""
    from ..data.file_checks import check_path, file_format
    from ..data.files import open_source, read_columns
    from ..data.read_rows import count_rows

    check_path(path)  # the header and the columns: the same file, the same verdict on every process
    source = open_source(path, *file_format(path))
    try:
        n = count_rows(source)
        rows = group.share(n)
        magnitudes: list = []
        table = agreed(group, lambda: read_columns(source, path, target, features, True, False, None, None,
                                                   rows.start, rows.stop, magnitudes))
    finally:
        source.close()
    judged = magnitudes[0]
    largest = agreed(group, lambda: judged.largest, gather=True)  # (k,) of each process
    judged.largest = np.max(np.stack(largest), axis=0)
    agreed(group, judged.finish)
    shares = Shares(group, GlobalRows(rows.start, n, group.world_size), None)
    return FileShare(table.x, table.y, table.feature_names, table.target_name, path, shares)
