"""The thread policy (scale/threads.py), read back from threadpoolctl in fresh processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from gradfit.scale.threads import USER_SETTINGS, process_cores, user_setting

_CHILD = """
import json, pyarrow
from threadpoolctl import threadpool_info
from gradfit.scale.threads import apply_thread_policy
first = apply_thread_policy()
again = apply_thread_policy()  # once per process: the same record, nothing redone
blas = [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]
print(json.dumps({"threads": first.threads, "reason": first.reason, "same": again is first, "blas": blas,
                  "arrow": pyarrow.cpu_count()}))
"""


def policy_in_a_child(**env) -> dict:
    clean = {k: v for k, v in os.environ.items() if k not in USER_SETTINGS and k != "LOCAL_WORLD_SIZE"}
    out = subprocess.run([sys.executable, "-c", _CHILD], env={**clean, **env}, capture_output=True, text=True,
                         check=True, timeout=120)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_cores_are_the_affinity_masks_shared_among_the_local_processes():
    cores = len(os.sched_getaffinity(0))
    assert process_cores({}) == cores
    assert process_cores({"LOCAL_WORLD_SIZE": "2"}) == max(1, cores // 2)
    assert process_cores({"LOCAL_WORLD_SIZE": str(4 * cores)}) == 1  # never 0
    assert process_cores({"LOCAL_WORLD_SIZE": "x"}) == cores


def test_a_users_setting_is_found():
    assert user_setting({}) is None and user_setting({"OMP_NUM_THREADS": " "}) is None
    assert user_setting({"OPENBLAS_NUM_THREADS": "3"}) == "OPENBLAS_NUM_THREADS=3"


def test_every_blas_pool_and_arrows_are_sized_to_the_process_cores():
    result = policy_in_a_child()
    cores = len(os.sched_getaffinity(0))
    assert result["threads"] == cores and result["same"]
    assert result["blas"] and all(n == cores for n in result["blas"])  # NumPy's and SciPy's OpenBLAS
    assert result["arrow"] == cores


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="one core: every share is one thread")
def test_under_torchrun_each_local_process_gets_its_share():
    result = policy_in_a_child(LOCAL_WORLD_SIZE="2")
    share = len(os.sched_getaffinity(0)) // 2
    assert result["threads"] == share and all(n == share for n in result["blas"]) and result["arrow"] == share


def test_an_explicit_setting_wins():
    result = policy_in_a_child(OMP_NUM_THREADS="1", LOCAL_WORLD_SIZE="2")
    assert result["threads"] is None and "OMP_NUM_THREADS=1" in result["reason"]
    assert all(n == 1 for n in result["blas"])  # OpenBLAS's own reading of the variable, left alone


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="one core: every pool is one thread already")
def test_passes_over_narrow_rows_run_on_one_blas_thread_and_give_the_pool_back(monkeypatch):
    """From limits.ONE_THREAD_PASS_CELLS the Gram pass and the residual tests take their
    products on one BLAS thread (a second one waits on any core another library's threads spin
    on); below it, and after the pass, the pools are as they were."""
    import numpy as np
    import scipy.linalg  # noqa: F401  (its OpenBLAS loaded, so that the pools compared are the same)
    from threadpoolctl import threadpool_info

    import gradfit
    from gradfit import limits
    from gradfit.least_squares import residual_tests, sufficient_ols

    seen = []
    real = residual_tests.residual_tests

    def spy(residuals):
        seen.append(max(info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"))
        return real(residuals)

    monkeypatch.setattr(sufficient_ols, "residual_tests", spy)
    before = [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]
    rng = np.random.default_rng(0)
    d = 10
    for n in (limits.ONE_THREAD_PASS_CELLS // d, limits.ONE_THREAD_PASS_CELLS // d - 1):
        x = rng.normal(size=(n, d))
        gradfit.solve(x, x @ np.ones(d) + rng.normal(size=n)).stats.to_dict()
    after = [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]
    assert seen == [1, max(before)] and after == before
