"""Data in: files, chunks, validation, the design matrix, embedded datasets.

Files: :mod:`~gradfit.data.files` (``read_table``) over :mod:`~gradfit.data.file_checks` (the path
and format), :mod:`~gradfit.data.csv_source`, :mod:`~gradfit.data.parquet_source` (the readers) and
:mod:`~gradfit.data.columns` (which columns); :mod:`~gradfit.data.chunks` streams the same files
(and arrays) chunk by chunk. Arrays: :mod:`~gradfit.data.validate` (shapes, values, the split),
:mod:`~gradfit.data.design` (polynomial terms, standardization), :mod:`~gradfit.data.batches`
(row order, mini-batches, each process's share), :mod:`~gradfit.data.embedded` (datasets that ship).
"""

from .embedded import DATASETS, Dataset, load_dataset
from .validate import Problem, as_problem

__all__ = ["DATASETS", "Dataset", "load_dataset", "Problem", "as_problem"]
