"""gradfit: regression by gradient descent, checked against an exact least-squares solution.

>>> import gradfit
>>> res = gradfit.fit()            # the tutorial's "book" data
>>> res.engine, res.converged
('exact', True)
"""

from .api import fit
from .config import FitConfig
from .errors import BadDataError, BadOptionError, ConvergenceWarning, DivergedError, GradfitError
from .result import FitResult, History, Params
from .solve import LeastSquares, lstsq

__version__ = "0.1.0"

__all__ = [
    "fit", "lstsq", "FitConfig", "FitResult", "History", "Params", "LeastSquares",
    "GradfitError", "BadDataError", "BadOptionError", "DivergedError", "ConvergenceWarning",
]
