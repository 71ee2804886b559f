"""Data-parallel training in a ``torch.distributed`` process group: the model's wrapper and the
sums over every process that keep each process's updates and losses those of one global run.

``shard`` is a :class:`gradfit.scale.distributed.GlobalRows` (``world_size`` processes) or
``None`` for a run in one process; with one process every function here is the identity, so
nothing touches ``torch.distributed``. It is imported only when a process group is used.
"""

from __future__ import annotations

import torch
from torch import nn


def wrap_model(model: nn.Module, shard, device: torch.device) -> nn.Module:
    """``model`` in ``DistributedDataParallel`` (what ``forward()`` runs), or ``model`` itself in one process."""
    if shard.world_size == 1:
        return model
    from torch.nn.parallel import DistributedDataParallel

    device_ids = [device] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=device_ids)


def sum_over_processes(value: torch.Tensor, shard) -> torch.Tensor:
    """``value`` summed over every process (a new tensor), or ``value`` itself in one process."""
    if shard is None or shard.world_size == 1:
        return value
    import torch.distributed as dist

    value = value.clone()
    dist.all_reduce(value)
    return value


def any_process(flag: bool, shard, device: torch.device) -> bool:
    """``flag`` on any process (a Ctrl-C reaching one process stops them all at the same epoch)."""
    if shard is None or shard.world_size == 1:
        return flag
    return bool(sum_over_processes(torch.tensor(float(flag), device=device), shard).item())
