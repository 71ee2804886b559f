"""Data in: embedded datasets, shape validation, the training/validation split."""

from .embedded import DATASETS, Dataset, load_dataset
from .validate import Problem, as_problem

__all__ = ["DATASETS", "Dataset", "load_dataset", "Problem", "as_problem"]
