"""``gradfit bench``: speed and memory against hand-written baselines, measured in one run.

Every row is a ratio of two timings taken in the same process (or, for start-up and memory, in
fresh subprocesses started by this run), with the baseline named, so the figures hold on a
loaded machine where absolute times would not.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
import warnings
from dataclasses import asdict, dataclass

import numpy as np

from .. import api as gradfit  # the public functions, by the names users call them
from . import baselines


@dataclass
class Row:
    """One comparison: ``ratio = seconds / baseline_seconds`` (lower is better)."""

    name: str
    seconds: float
    baseline: str
    baseline_seconds: float
    target: float | None  # the largest acceptable ratio, if there is one
    check: str  # what was verified beside the timing (answers equal, …)
    ok: bool = True

    @property
    def ratio(self) -> float:
        return self.seconds / self.baseline_seconds

    @property
    def meets_target(self) -> bool | None:
        return None if self.target is None else (self.ok and self.ratio <= self.target)


def best_time(fn, repeats: int = 3) -> tuple[float, object]:
    """The fastest of ``repeats`` runs, and the last result."""
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def _quiet_fit(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return gradfit.fit(*args, **kwargs)


def bench_book(device: str) -> list[Row]:
    """The tutorial's workload: 80 points, 1000 full-batch epochs."""
    from ..data import load_dataset

    data = load_dataset("book")
    x, y = data.x_train[:, 0], data.y_train
    def fit_with_statistics():
        res = _quiet_fit()
        res.stats.to_dict()  # the statistics are computed on first access: time them too
        return res

    fit_s, res = best_time(fit_with_statistics, repeats=20)
    torch_s, torch_theta = best_time(lambda: baselines.tutorial_torch_loop(x, y, device=device))
    numpy_s, _ = best_time(lambda: baselines.numpy_loop(x[:, None], y, res.initial.theta, epochs=1000, lr=0.1))
    gap = float(np.max(np.abs(res.params.theta - torch_theta)))
    check = f"largest parameter difference from the tutorial's run {gap:.1e} (≤ 1e-4)"
    return [
        Row("book: gradfit.fit() defaults (closed form + statistics included)", fit_s,
            "the tutorial's PyTorch loop", torch_s, 0.01, check, gap <= 1e-4),
        Row("book: gradfit.fit() defaults", fit_s, "a NumPy loop, analytic gradients", numpy_s, None,
            "same 1000 iterates"),
    ]


def bench_full_batch(n: int, d: int, epochs: int = 100) -> list[Row]:
    """n × d, full batch, lr 0.1, no standardization: exact engine vs a NumPy loop."""
    from ..engines.common import numpy_init

    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, d))
    y = 1.0 + x @ rng.normal(size=d) + 0.1 * rng.normal(size=n)
    theta0 = numpy_init(42, d, True)
    fit_s, res = best_time(lambda: _quiet_fit(x, y, engine="exact", lr=0.1, epochs=epochs, standardize=False,
                                              init=theta0), repeats=2)
    loop_s, loop_theta = best_time(lambda: baselines.numpy_loop(x, y, theta0, epochs=epochs, lr=0.1), repeats=1)
    gap = float(np.max(np.abs(res.params.theta - loop_theta)))
    bandwidth = baselines.memory_bandwidth()
    floor = x.nbytes / bandwidth  # one read of X
    check = (f"final iterates differ by {gap:.1e} (≤ 1e-6); one read of X at the measured {bandwidth / 1e9:.1f} GB/s "
             f"takes {floor * 1e3:.0f} ms: the loop reads X 2×{epochs} times ({loop_s / floor:.0f} reads' "
             f"time), gradfit {fit_s / floor:.1f} reads' time in all")
    return [Row(f"full batch {n:,} × {d}, {epochs} epochs: gradfit.fit(engine='exact')", fit_s,
                "a NumPy loop, analytic gradients, same start", loop_s, 0.05, check, gap <= 1e-6)]


def bench_solve(n: int, d: int) -> list[Row]:
    """The closed form with statistics vs statsmodels and scikit-learn, where installed."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(n, d))
    y = 2.0 + x @ rng.normal(size=d) + rng.normal(size=n)
    solve_s, res = best_time(lambda: gradfit.solve(x, y), repeats=2)
    rows = []
    try:
        import statsmodels.api as sm

        sm_s, sm_res = best_time(lambda: sm.OLS(y, sm.add_constant(x)).fit(), repeats=2)
        gap = float(np.max(np.abs(res.closed_form.theta - sm_res.params)))
        rows.append(Row(f"solve {n:,} × {d} (coefficients + statistics)", solve_s, "statsmodels OLS().fit()",
                        sm_s, None, f"largest coefficient difference {gap:.1e}"))
    except ImportError:
        pass
    try:
        from sklearn.linear_model import LinearRegression

        sk_s, _ = best_time(lambda: LinearRegression().fit(x, y), repeats=2)
        rows.append(Row(f"solve {n:,} × {d} (coefficients + statistics)", solve_s,
                        "scikit-learn LinearRegression (coefficients only)", sk_s, None, ""))
    except ImportError:
        pass
    return rows


def bench_minibatch(n: int, d: int, device: str) -> list[Row]:
    """torch engine, mini-batch 32, 3 epochs vs a lean hand-written loop."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(n, d)).astype(np.float32)
    y = (x @ rng.normal(size=d) + 0.5).astype(np.float32)
    kwargs = dict(engine="torch", model="linear", batch_size=32, epochs=3, lr=0.01, standardize=False,
                  device=device)
    fit_s, _ = best_time(lambda: _quiet_fit(x, y, **kwargs), repeats=2)
    lean_s, _ = best_time(lambda: baselines.lean_torch_minibatch(x, y, batch_size=32, epochs=3, lr=0.01,
                                                                 device=device), repeats=2)
    return [Row(f"mini-batch 32, {n:,} × {d}, 3 epochs: torch engine", fit_s,
                "lean loop: randperm + slicing + nn.Linear + optim.SGD", lean_s, 1.1, "")]


def bench_sweep(n: int, d: int, device: str) -> list[Row]:
    """16 learning rates trained together vs one run."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(n, d)).astype(np.float32)
    y = (x @ rng.normal(size=d)).astype(np.float32)
    lrs = list(np.geomspace(1e-3, 5e-2, 16))
    kwargs = dict(engine="torch", batch_size=64, epochs=3, standardize=False, device=device)
    one_s, _ = best_time(lambda: _quiet_fit(x, y, lr=lrs[0], **kwargs), repeats=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sweep_s, _ = best_time(lambda: gradfit.sweep(x, y, lr=lrs, **kwargs), repeats=1)
    return [Row(f"sweep of 16 learning rates, mini-batch 64, {n:,} × {d}, 3 epochs", sweep_s, "one run", one_s,
                2.0, "")]


def bench_startup() -> list[Row]:
    """``gradfit fit --quiet`` as a whole process vs ``python -c 'import torch'``."""
    def process(args: list[str]) -> float:
        start = time.perf_counter()
        subprocess.run(args, check=True, capture_output=True)
        return time.perf_counter() - start

    fit_cmd = [sys.executable, "-m", "gradfit", "fit", "--quiet"]
    torch_cmd = [sys.executable, "-c", "import torch"]
    fit_s = min(process(fit_cmd) for _ in range(3))
    torch_s = min(process(torch_cmd) for _ in range(3))
    return [Row("start-up: gradfit fit --quiet (whole process)", fit_s, "python -c 'import torch'", torch_s, 0.6,
                "")]


_MEMORY_SCRIPT = """
import resource, sys, numpy as np
n, d = int(sys.argv[1]), int(sys.argv[2])
import gradfit, gradfit.least_squares.statistics, gradfit.least_squares.sufficient, scipy.linalg
def rss():  # this process's high-water mark: VmHWM, not ru_maxrss, which Linux carries over exec
    with open("/proc/self/status") as f:  # from the parent (a bench that holds 1.6 GB shows 1.6 GB here)
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:"))
def current():  # resident now (the high-water mark may still hold the imports' peak)
    with open("/proc/self/statm") as f: return int(f.read().split()[1]) * resource.getpagesize()
base = current()
rng = np.random.default_rng(4)
x = rng.standard_normal((n, d)); y = x @ np.arange(1.0, d + 1) + rng.standard_normal(n)
data = x.nbytes + y.nbytes
with_data = rss()
gradfit.solve(x, y)
print(base, with_data, rss(), data)
"""  # (Linux: /proc/self/statm)


def bench_memory(n: int, d: int) -> list[Row]:
    """Peak memory of ``gradfit.solve`` on in-memory data, relative to the data's size."""
    out = subprocess.run([sys.executable, "-c", _MEMORY_SCRIPT, str(n), str(d)], check=True, capture_output=True,
                         text=True).stdout.split()
    base, with_data, peak, data = (int(v) for v in out)
    return [Row(f"memory: gradfit.solve on {n:,} × {d} in memory (peak RSS above the interpreter)",
                peak - base, "the data itself (bytes)", data, 1.5,
                f"peak {(peak - base) / 2**20:.0f} MiB for {data / 2**20:.0f} MiB of data")]


def run(quick: bool = False, device: str = "cpu") -> list[Row]:
    """Every benchmark; ``quick`` shrinks the large problems about tenfold."""
    scale = 10 if quick else 1
    # NumPy-only rows first: after torch has run, its OpenMP workers keep spinning for a while
    # and take a core from the next NumPy/BLAS timing on a small machine.
    rows = bench_full_batch(1_000_000 // scale, 20)
    rows += bench_solve(1_000_000 // scale, 20)
    rows += bench_memory(10_000_000 // scale, 10)
    rows += bench_startup()
    rows += bench_book(device)
    rows += bench_minibatch(200_000 // scale, 10, device)
    rows += bench_sweep(200_000 // scale, 10, device)
    return rows


def machine() -> str:
    """What the figures were measured on."""
    import torch

    from ..scale.devices import cpu_name

    gpu = f", GPU {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ""
    return (f"{cpu_name()}, {os.cpu_count()} logical cores{gpu}; Python {platform.python_version()}, "
            f"NumPy {np.__version__}, torch {torch.__version__}")


def table(rows: list[Row]) -> str:
    """The rows as a Markdown table."""
    lines = ["| benchmark | gradfit | baseline | baseline time | ratio | target | met | check |",
             "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        memory = row.name.startswith("memory")
        value = (lambda v: f"{v / 2**20:.0f} MiB") if memory else (lambda v: _seconds(v))
        met = {None: "–", True: "yes", False: "NO"}[row.meets_target]
        target = "–" if row.target is None else f"≤ {row.target:g}"
        lines.append(f"| {row.name} | {value(row.seconds)} | {row.baseline} | {value(row.baseline_seconds)} | "
                     f"{row.ratio:.3g} | {target} | {met} | {row.check} |")
    return "\n".join(lines)


def to_json(rows: list[Row]) -> str:
    return json.dumps({"machine": machine(), "rows": [{**asdict(r), "ratio": r.ratio, "met": r.meets_target}
                                                      for r in rows]}, indent=2)


def _seconds(value: float) -> str:
    return f"{value * 1e3:.3g} ms" if value < 1 else f"{value:.3g} s"
