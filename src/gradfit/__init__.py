"""gradfit: regression by gradient descent, checked against an exact least-squares solution.

>>> import gradfit
>>> res = gradfit.fit()            # the tutorial's "book" data
>>> res.engine, res.converged
('exact', True)
"""

from .api import find_lr, fit, fit_streaming, regularization_path, solve, solve_streaming, sweep
from .config import FitConfig
from .data.design import polynomial_design
from .errors import (BadDataError, BadModelError, BadOptionError, CollinearityWarning, ConvergenceWarning,
                     DivergedError, GradfitError, Interrupted, NoGradientWarning, ProcessGroupError)
from .least_squares.dense import LeastSquares, lstsq
from .least_squares.statistics import OLSStats
from .results.path_result import PathCV, RegularizationPath
from .results.sweep_result import SweepResult, SweepRun
from .results.types import FitResult, History, Params, SolveResult
from .scale.distributed import GlobalRows
from .training.callbacks import (Callback, CheckpointCallback, EarlyStopping, RichProgressCallback,
                                 TensorBoardCallback, progress_wanted)
from .training.checkpoint import clear_stop_request, load_checkpoint, request_stop, save_checkpoint

__version__ = "0.1.0"

# torch- and scikit-learn-backed names load on first use, so `import gradfit` (and the exact and numpy
# engines) stay light and scikit-learn stays optional.
_LAZY = {"Trainer": ".training.trainer", "lr_find": ".training.lr_range", "LRFinderResult": ".training.lr_range",
         "GDRegressor": ".sklearn"}


def __getattr__(name: str):
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module 'gradfit' has no attribute {name!r}")


__all__ = [
    "fit", "solve", "sweep", "fit_streaming", "solve_streaming", "find_lr", "GlobalRows", "SweepRun", "SweepResult", "lstsq", "polynomial_design", "FitConfig", "FitResult", "SolveResult", "History", "Params",
    "LeastSquares", "OLSStats", "GradfitError", "BadDataError", "BadOptionError", "DivergedError",
    "ConvergenceWarning", "CollinearityWarning",
    "Trainer", "lr_find", "LRFinderResult", "Callback", "EarlyStopping", "CheckpointCallback", "TensorBoardCallback",
    "RichProgressCallback", "progress_wanted", "request_stop", "clear_stop_request", "save_checkpoint",
    "load_checkpoint", "BadModelError", "Interrupted", "NoGradientWarning", "ProcessGroupError", "GDRegressor",
    "regularization_path", "RegularizationPath", "PathCV",
]
