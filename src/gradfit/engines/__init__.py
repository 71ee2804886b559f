"""Gradient-descent engines. Each takes a validated problem and returns an :class:`EngineRun`.

- ``numpy``: hand-written gradients, full batch / mini-batch / stochastic.
- ``exact``: full-batch GD through ``XᵀX`` and ``Xᵀy`` (same iterates, O(p²) an epoch).
- ``torch``: autograd, ``nn.MSELoss``, ``torch.optim``; imported only when used.

:mod:`gradfit.engines.stacked` trains several learning rates at once (``gradfit.sweep``).
"""

from __future__ import annotations

from importlib import import_module
from typing import Callable

from ..config import FitConfig

_MODULES = {"numpy": "numpy_engine", "exact": "exact", "torch": "torch_engine"}


def choose_engine(cfg: FitConfig, n_train: int) -> str:
    """Resolve ``auto``: ``exact`` for full-batch plain GD on the linear MSE model, else ``torch``.

    Anything only the torch engine does (adam, mini-batches, an explicit ``model``, a GPU, a
    learning-rate scheduler) sends ``auto`` to torch.
    """
    if cfg.engine != "auto":
        return cfg.engine
    full_batch = cfg.batch_size is None or cfg.batch_size >= n_train
    on_cpu = cfg.device in ("auto", "cpu")
    torch_only = (cfg.model is not None or cfg.update is not None or cfg.loss is not None or cfg.scheduler is not None
                  or cfg.dtype == "float32")  # the exact engine computes in float64 only
    if full_batch and cfg.optimizer in ("sgd", "fista") and on_cpu and not torch_only:
        return "exact"
    return "torch"


def get_engine(name: str) -> Callable:
    """The ``run`` function of engine ``name``."""
    return import_module(f".{_MODULES[name]}", __name__).run
