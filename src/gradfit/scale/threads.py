"""One thread pool per process, sized to the cores the process may use.

NumPy's and SciPy's OpenBLAS each start a thread per logical core of the machine, whatever the
process was given: under ``torchrun --nproc_per_node=N`` N processes each run that many threads,
and a pool larger than the cores it gets waits at every product for a thread the scheduler has
parked (measured: a streamed fit 5–7× slower where another job held a core). So where a fit or a
solve starts, :func:`apply_thread_policy` sizes the BLAS pools (through threadpoolctl, which
reaches libraries already loaded) and, once loaded, PyArrow's CPU pool to :func:`process_cores`: the cores in
the process's affinity mask (``os.sched_getaffinity``: what ``taskset``, cgroups' cpusets and
Slurm give it), divided by ``LOCAL_WORLD_SIZE`` under ``torchrun``. A setting of the user's wins:
``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS`` or ``BLIS_NUM_THREADS`` in the
environment (``torchrun`` itself sets ``OMP_NUM_THREADS=1`` for more than one process) leaves
every pool as it is. The policy is applied once per process; a later call changes nothing.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

# Environment variables that size the BLAS and OpenMP pools: the user's own choice, kept.
USER_SETTINGS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")


@dataclass(frozen=True)
class ThreadPolicy:
    """What :func:`apply_thread_policy` did: ``threads`` per pool (``None``: left as they were),
    and why (``reason``)."""

    threads: int | None
    reason: str


_applied: ThreadPolicy | None = None


def process_cores(environ=None) -> int:
    """The cores this process may use: its affinity mask's, shared among the ``LOCAL_WORLD_SIZE``
    processes ``torchrun`` started on this node (at least 1).

    >>> process_cores({"LOCAL_WORLD_SIZE": "1"}) == len(os.sched_getaffinity(0))
    True
    """
    environ = os.environ if environ is None else environ
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        local = int(environ.get("LOCAL_WORLD_SIZE", "1"))
    except ValueError:
        local = 1
    return max(1, cores // max(local, 1))


def user_setting(environ=None) -> str | None:
    """The first of :data:`USER_SETTINGS` set in the environment, as ``NAME=value`` (else ``None``)."""
    environ = os.environ if environ is None else environ
    for name in USER_SETTINGS:
        if environ.get(name, "").strip():
            return f"{name}={environ[name].strip()}"
    return None


def apply_thread_policy() -> ThreadPolicy:
    """Size this process's BLAS and PyArrow pools to :func:`process_cores` once (see the module);
    returns what was done. Without threadpoolctl installed, the BLAS pools are left as they are."""
    global _applied
    if _applied is not None:
        return _applied
    setting = user_setting()
    if setting is not None:
        _applied = ThreadPolicy(None, f"{setting} is set: the user's choice")
        return _applied
    threads = process_cores()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        _applied = ThreadPolicy(None, "threadpoolctl is not installed")
        return _applied
    import numpy  # noqa: F401  (both OpenBLAS libraries loaded, so that the limit reaches them)
    import scipy.linalg  # noqa: F401

    threadpool_limits(limits=threads, user_api="blas")  # applied now, for the process's life
    arrow = sys.modules.get("pyarrow")  # sized when loaded: importing it only for this costs ~30 MB
    if arrow is not None:
        arrow.set_cpu_count(threads)
    _applied = ThreadPolicy(threads, f"{threads} core(s) for this process")
    return _applied
