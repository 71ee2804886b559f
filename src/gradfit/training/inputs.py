"""What a :class:`gradfit.Trainer` trains on: ``(x, y)`` pairs held on the model's device, or
DataLoaders (any re-iterable of ``(x, y)`` batches) whose batches are moved there one by one."""

from __future__ import annotations

import numpy as np
import torch

from ..errors import BadDataError
from .checks import to_model_tensor


def hold_data(data, label: str, device: torch.device, dtype: torch.dtype, *, sharded: bool = False):
    """``data`` as the Trainer keeps it: a pair of tensors ``(x, y)`` on ``device``, or the DataLoader.

    Parameters
    ----------
    data : (x, y) or DataLoader
        Arrays or tensors, ``x`` ``(n, …)`` and ``y`` ``(n, …)``, or a re-iterable of batches.
    label : str
        How messages name it (``"train"``, ``"val"``, ``"data"``).
    device, dtype
        The model's device and floating dtype (NumPy floats are converted to it).
    sharded : bool
        A process of a data-parallel run, which may hold no rows.

    Raises
    ------
    BadDataError
        ``x`` and ``y`` differ in rows, there are no rows, or ``data`` is neither a pair nor re-iterable.
    """
    if isinstance(data, (tuple, list)) and len(data) == 2:
        x = to_model_tensor(data[0], f"{label} x", device, dtype)
        y = to_model_tensor(data[1], f"{label} y", device, dtype)
        if len(x) != len(y):
            raise BadDataError(f"{label} x has {len(x)} rows (shape {tuple(x.shape)}) but {label} y has {len(y)} "
                               f"(shape {tuple(y.shape)}); give one target per row")
        if len(x) == 0 and not sharded:  # a process of a data-parallel run may hold none
            raise BadDataError(f"{label} data has no rows")
        return x, y
    if hasattr(data, "loss_sum"):
        return data  # a loss known without rows: ``loss_sum(model) -> (sum, divisor)``
    if hasattr(data, "__iter__") and not isinstance(data, (str, bytes, dict, np.ndarray, torch.Tensor)):
        return data  # a DataLoader or another re-iterable of (x, y) batches
    raise BadDataError(f"{label}_data must be a pair (x, y) of arrays or tensors, or a DataLoader of (x, y) "
                       f"batches; got {type(data).__name__}")


def loader_batch(batch, device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """A DataLoader's batch ``(xb, yb)`` on the model's device (see :func:`to_model_device`)."""
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        raise BadDataError(f"a DataLoader batch must be a pair (x, y); got {type(batch).__name__}"
                           + (f" of {len(batch)}" if isinstance(batch, (tuple, list)) else ""))
    return to_model_device(batch[0], device, dtype), to_model_device(batch[1], device, dtype)


def to_model_device(t: torch.Tensor, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """Batches from a DataLoader come from the CPU: move them (floats in the model's dtype)."""
    dtype = dtype if t.is_floating_point() else None
    if t.device == device and dtype in (None, t.dtype):
        return t  # what .to() returns then, without its 20 µs of argument handling a batch
    return t.to(device=device, dtype=dtype, non_blocking=True)
