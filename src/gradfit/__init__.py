"""gradfit: regression by gradient descent, checked against an exact least-squares solution.

>>> import gradfit
>>> res = gradfit.fit()            # the tutorial's "book" data
>>> res.engine, res.converged
('exact', True)
"""

from .api import fit, solve
from .config import FitConfig
from .errors import (BadDataError, BadOptionError, CollinearityWarning, ConvergenceWarning, DivergedError,
                     GradfitError)
from .result import FitResult, History, Params, SolveResult
from .solve import LeastSquares, lstsq, polynomial_design
from .stats import OLSStats
from .sweep import SweepRun, sweep

__version__ = "0.1.0"

__all__ = [
    "fit", "solve", "sweep", "SweepRun", "lstsq", "polynomial_design", "FitConfig", "FitResult", "SolveResult", "History", "Params",
    "LeastSquares", "OLSStats", "GradfitError", "BadDataError", "BadOptionError", "DivergedError",
    "ConvergenceWarning", "CollinearityWarning",
]
