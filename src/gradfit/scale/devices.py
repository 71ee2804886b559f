"""Which devices torch can use, and what ``--device`` means. Imports torch only when asked."""

from __future__ import annotations

import os
import platform
import re
from dataclasses import dataclass

from ..errors import BadOptionError, option

_DEVICE_PATTERN = re.compile(r"^(cpu|cuda|mps)(?::(\d+))?$")


@dataclass(frozen=True)
class DeviceInfo:
    """One device: ``name`` is what ``--device`` takes (``cpu``, ``cuda:0``)."""

    name: str
    description: str
    memory_bytes: int | None


def list_devices() -> list[DeviceInfo]:
    """The CPU and every GPU torch can see (index, name, memory)."""
    import torch

    devices = [DeviceInfo("cpu", f"{cpu_name()}, {os.cpu_count()} logical cores", _ram_bytes())]
    if torch.cuda.is_available():
        for index in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(index)
            devices.append(DeviceInfo(f"cuda:{index}", props.name, int(props.total_memory)))
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        devices.append(DeviceInfo("mps", "Apple Metal (float32 only)", None))
    return devices


def auto_device() -> str:
    """What ``--device auto`` picks for the torch engine: the first CUDA GPU, else the CPU."""
    import torch

    return "cuda:0" if torch.cuda.is_available() else "cpu"


def resolve_device(spec: str) -> str:
    """Turn ``--device`` into a concrete torch device name, or raise a clear error.

    Examples
    --------
    >>> resolve_device("cpu")
    'cpu'
    """
    text = spec.strip().lower()
    if text == "auto":
        return auto_device()
    match = _DEVICE_PATTERN.match(text)
    if not match:
        raise BadOptionError("device", spec, "not a device", "use auto, cpu, cuda or cuda:N (see gradfit devices)")
    kind, index = match.group(1), match.group(2)
    if kind == "cpu":
        return "cpu"
    import torch

    if kind == "mps":
        if not (getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()):
            raise BadOptionError("device", spec, "Apple Metal (mps) is not available here", f"use {option('device', 'cpu')}")
        return "mps"
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    index = int(index or 0)
    if count == 0:
        raise BadOptionError(
            "device", spec, "torch sees no CUDA GPU on this machine",
            f"use {option('device', 'cpu')} (or auto); gradfit devices lists what is available",
        )
    if index >= count:
        raise BadOptionError(
            "device", spec, f"no such GPU: torch sees {count} (cuda:0 to cuda:{count - 1})",
            "pick one listed by gradfit devices",
        )
    return f"cuda:{index}"


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "CPU"


def _ram_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None
