"""``gradfit bench``: speed and memory against hand-written baselines and the field's libraries.

Every timing row alternates gradfit and its baseline round by round (:mod:`gradfit.bench.measure`)
and reports the median ratio with its range, with the baseline named and what was checked beside
the timing (answers equal). Start-up and memory are measured in fresh subprocesses.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import warnings
from dataclasses import asdict, dataclass

import numpy as np

from .. import api as gradfit  # the public functions, by the names users call them
from ..results.json_form import json_text
from . import baselines
from .measure import Comparison, alternate


@dataclass
class Row:
    """One comparison: ``ratio`` = gradfit's time over the baseline's (lower is better), the
    median of the rounds' ratios; ``ratio_low``–``ratio_high`` their range."""

    name: str
    seconds: float
    baseline: str
    baseline_seconds: float
    target: float | None  # the largest acceptable ratio, if there is one
    check: str  # what was verified beside the timing (answers equal, …)
    ok: bool = True
    ratio: float = float("nan")
    ratio_low: float = float("nan")
    ratio_high: float = float("nan")
    rounds: int = 1

    @classmethod
    def of(cls, name: str, comparison: Comparison, baseline: str, target: float | None, check: str = "",
           ok: bool = True) -> "Row":
        low, high = comparison.ratio_range
        return cls(name, float(np.median(comparison.seconds)), baseline, float(np.median(comparison.baseline_seconds)),
                   target, check, ok, comparison.ratio, low, high, len(comparison.seconds))

    @property
    def meets_target(self) -> bool | None:
        return None if self.target is None else (self.ok and self.ratio <= self.target)


def quietly(fn):
    """``fn`` with gradfit's warnings silenced (a short run warns it has not converged)."""
    def call():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn()
    return call


def repeated(fn, times: int):
    """``fn`` called ``times`` times, timed as one call: per-call seconds are the total / times."""
    def call():
        for _ in range(times):
            result = fn()
        return result
    return call


def per_call(comparison: Comparison, times: int, baseline_times: int = 1) -> Comparison:
    return Comparison([s / times for s in comparison.seconds], [s / baseline_times for s in comparison.baseline_seconds])


def bench_book(device: str, rounds: int = 5) -> list[Row]:
    """The tutorial's workload: 80 points, 1000 full-batch epochs, statistics included."""
    from ..data import load_dataset

    data = load_dataset("book")
    x, y = data.x_train[:, 0], data.y_train

    def fit_with_statistics():
        res = gradfit.fit()
        res.stats.to_dict()  # the statistics are computed on first access: time them too
        return res

    res = fit_with_statistics()
    tutorial, _, torch_theta = alternate(repeated(fit_with_statistics, 20),
                                         lambda: baselines.tutorial_torch_loop(x, y, device=device), rounds)
    loop, _, _ = alternate(repeated(fit_with_statistics, 20), lambda: baselines.numpy_loop(
        x[:, None], y, res.initial.theta, epochs=1000, lr=0.1), rounds)
    gap = float(np.max(np.abs(res.params.theta - torch_theta)))
    check = f"largest parameter difference from the tutorial's run {gap:.1e} (≤ 1e-4)"
    return [Row.of("book: gradfit.fit() defaults (closed form + statistics included)", per_call(tutorial, 20),
                   "the tutorial's PyTorch loop", 0.01, check, gap <= 1e-4),
            Row.of("book: gradfit.fit() defaults", per_call(loop, 20), "a NumPy loop, analytic gradients", None,
                   "same 1000 iterates")]


def bench_full_batch(n: int, d: int, epochs: int = 100, rounds: int = 3) -> list[Row]:
    """n × d, full batch, lr 0.1: the exact engine vs a NumPy loop, and vs the limits of the
    machine: ``X.T @ X`` alone and one read of X."""
    from ..engines.common import numpy_init

    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, d))
    y = 1.0 + x @ rng.normal(size=d) + 0.1 * rng.normal(size=n)
    theta0 = numpy_init(42, d, True)
    fit = quietly(lambda: gradfit.fit(x, y, engine="exact", lr=0.1, epochs=epochs, init=theta0))
    loop, res, loop_theta = alternate(fit, lambda: baselines.numpy_loop(x, y, theta0, epochs=epochs, lr=0.1), rounds,
                                      warmup=False)
    gram, _, _ = alternate(fit, lambda: x.T @ x, 2 * rounds + 1)
    gram_one, _, _ = alternate(fit, lambda: one_blas_thread(lambda: x.T @ x), 2 * rounds + 1)
    read, _, _ = alternate(fit, lambda: x.sum(), 2 * rounds + 1)
    gap = float(np.max(np.abs(res.params.theta - loop_theta)))
    name = f"full batch {n:,} × {d}, {epochs} epochs: gradfit.fit(engine='exact')"
    return [Row.of(name, loop, "a NumPy loop, analytic gradients, same start", 0.05,
                   f"final iterates differ by {gap:.1e} (≤ 1e-6)", gap <= 1e-6),
            Row.of(name, gram, "X.T @ X alone (the Gram matrix: the least any exact path computes)", 1.6),
            Row.of(name, gram_one, "X.T @ X on one BLAS thread (as gradfit's pass runs)", None,
                   "the pass's own floor: where the line above reads more, BLAS's second thread is the difference"),
            Row.of(name, read, "one read of X (x.sum())", None, "the memory-bandwidth floor")]


def one_blas_thread(fn):
    """``fn()`` with BLAS on one thread (the controller is made once, so the limit costs ~26 µs)."""
    from ..least_squares.gram_sums import blas_threads_for

    with blas_threads_for(1):
        return fn()


def bench_in_memory(n: int, d: int, rounds: int = 15) -> list[Row]:
    """The sizes most practitioners have: 100 epochs with statistics vs the field's closed forms.

    Fifteen rounds: each side takes milliseconds, so a second core taken for a few of them by
    another job (measured: single rounds of the 100,000 × 10 row read 0.26–2.51) moves a
    median of five."""
    rng = np.random.default_rng(5)
    x = rng.normal(2.0, 1.5, size=(n, d))
    y = 3.0 + x @ rng.normal(size=d) + rng.normal(size=n)

    def fit():
        res = gradfit.fit(x, y, epochs=100, lr="auto", standardize=True)
        res.stats.to_dict()
        return res

    fit = quietly(fit)
    rows, name = [], f"in memory {n:,} × {d}: gradfit.fit(epochs=100, lr='auto', standardize=True) + statistics"
    try:
        from sklearn.linear_model import LinearRegression

        sk, res, model = alternate(fit, lambda: LinearRegression().fit(x, y), rounds)
        gap = float(np.max(np.abs(res.closed_form.theta - np.r_[model.intercept_, model.coef_])))
        rows.append(Row.of(name, sk, "scikit-learn LinearRegression().fit (coefficients only)",
                           1.0 if n >= 100_000 else None, f"closed forms differ by {gap:.1e}"))
    except ImportError:
        pass
    try:
        import statsmodels.api as sm

        sm_fit, _, _ = alternate(fit, lambda: sm.OLS(y, sm.add_constant(x)).fit().bse, rounds)
        rows.append(Row.of(name, sm_fit, "statsmodels OLS().fit() with standard errors", None))
    except ImportError:
        pass
    return rows


def bench_solve(n: int, d: int, rounds: int = 3) -> list[Row]:
    """The closed form with statistics vs statsmodels and scikit-learn, where installed."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(n, d))
    y = 2.0 + x @ rng.normal(size=d) + rng.normal(size=n)
    solve = lambda: gradfit.solve(x, y)  # noqa: E731
    rows, name = [], f"solve {n:,} × {d} (coefficients + statistics)"
    try:
        import statsmodels.api as sm

        sm_time, res, sm_res = alternate(solve, lambda: sm.OLS(y, sm.add_constant(x)).fit(), rounds, warmup=False)
        gap = float(np.max(np.abs(res.closed_form.theta - sm_res.params)))
        rows.append(Row.of(name, sm_time, "statsmodels OLS().fit()", None, f"largest coefficient difference {gap:.1e}"))
    except ImportError:
        pass
    try:
        from sklearn.linear_model import LinearRegression

        sk_time, _, _ = alternate(solve, lambda: LinearRegression().fit(x, y), rounds)
        rows.append(Row.of(name, sk_time, "scikit-learn LinearRegression (coefficients only)", None))
    except ImportError:
        pass
    return rows


def bench_parquet_solve(n: int, d: int, rows: int = 65_536, rounds: int = 9) -> list[Row]:
    """``solve_streaming`` on a Parquet file (written to a temporary folder) vs one pyarrow pass
    over the same columns: what streaming at the reader's speed means."""
    import tempfile

    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(6)
    x = rng.normal(size=(n, d))
    y = 0.5 + x @ np.linspace(-2.0, 2.0, d) + 0.5 * rng.normal(size=n)
    columns = [f"x{j + 1}" for j in range(d)] + ["y"]
    expected = np.linalg.lstsq(np.column_stack([np.ones(n), x]), y, rcond=None)[0]
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "rows.parquet")
        pq.write_table(pa.table(dict(zip(columns, [*x.T, y]))), path, row_group_size=1 << 20)
        del x
        solve = lambda: gradfit.solve_streaming(path, target="y", chunk_rows=rows)  # noqa: E731
        comparison, res, read = alternate(solve, lambda: baselines.pyarrow_pass(path, columns, rows), rounds)
    gap = float(np.max(np.abs(res.closed_form.theta - expected)) / np.max(np.abs(expected)))
    return [Row.of(f"solve on Parquet, {n:,} × {d + 1} columns, chunks of {rows:,} rows: gradfit.solve_streaming",
                   comparison, "one pyarrow pass (iter_batches → float64 NumPy)", 1.25,
                   f"coefficients within {gap:.1e} of numpy.linalg.lstsq (≤ 1e-12); {read:,} rows read",
                   gap <= 1e-12 and read == n)]


def bench_path_cv(n: int, d: int, rounds: int = 5) -> list[Row]:
    """A lasso path of 100 λ with 5-fold cross-validation vs scikit-learn's LassoCV (where
    installed). gradfit solves each λ exactly (KKT conditions checked on every coordinate);
    LassoCV's coordinate descent stops at its default tolerance."""
    try:
        from sklearn.linear_model import LassoCV
    except ImportError:
        return []
    rng = np.random.default_rng(7)
    x = rng.normal(size=(n, d))
    y = 1.0 + x @ np.where(np.arange(d) < d // 3, rng.normal(size=d), 0.0) + rng.normal(size=n)
    comparison, path, _ = alternate(lambda: gradfit.regularization_path(x, y, n_lambdas=100, cv=5),
                                    lambda: LassoCV(cv=5, alphas=100).fit(x, y), rounds)
    worst = float(np.max(path.kkt))
    return [Row.of(f"lasso path, 100 λ, 5-fold CV, {n:,} × {d}: gradfit.regularization_path", comparison,
                   "scikit-learn LassoCV (coordinate descent to its default tol)", None,
                   f"largest scale-free KKT residual {worst:.1e} (exact answers)")]


def bench_minibatch(n: int, d: int, device: str, rounds: int = 3) -> list[Row]:
    """torch engine, mini-batch 32, 3 epochs vs a lean hand-written loop."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(n, d)).astype(np.float32)
    y = (x @ rng.normal(size=d) + 0.5).astype(np.float32)
    kwargs = dict(engine="torch", model="linear", batch_size=32, epochs=3, lr=0.01, device=device)
    comparison, _, _ = alternate(quietly(lambda: gradfit.fit(x, y, **kwargs)), lambda: baselines.lean_torch_minibatch(
        x, y, batch_size=32, epochs=3, lr=0.01, device=device), rounds)
    return [Row.of(f"mini-batch 32, {n:,} × {d}, 3 epochs: torch engine", comparison,
                   "lean loop: randperm + slicing + nn.Linear + optim.SGD", 1.0)]


def bench_sweep(n: int, d: int, device: str, rounds: int = 3) -> list[Row]:
    """16 learning rates trained together vs one run."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(n, d)).astype(np.float32)
    y = (x @ rng.normal(size=d)).astype(np.float32)
    lrs = list(np.geomspace(1e-3, 5e-2, 16))
    kwargs = dict(engine="torch", batch_size=64, epochs=3, device=device)
    comparison, _, _ = alternate(quietly(lambda: gradfit.sweep(x, y, lr=lrs, **kwargs)),
                                 quietly(lambda: gradfit.fit(x, y, lr=lrs[0], **kwargs)), rounds)
    return [Row.of(f"sweep of 16 learning rates, mini-batch 64, {n:,} × {d}, 3 epochs", comparison, "one run", 1.0)]


def bench_startup(rounds: int = 3) -> list[Row]:
    """``gradfit fit --quiet`` as a whole process vs ``python -c 'import torch'``."""
    def process(args: list[str]):
        return lambda: subprocess.run(args, check=True, capture_output=True)

    comparison, _, _ = alternate(process([sys.executable, "-m", "gradfit", "fit", "--quiet"]),
                                 process([sys.executable, "-c", "import torch"]), rounds, warmup=False)
    return [Row.of("start-up: gradfit fit --quiet (whole process)", comparison, "python -c 'import torch'", 0.6)]


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
    ratio = (peak - base) / data
    return [Row(f"memory: gradfit.solve on {n:,} × {d} in memory (peak RSS above the interpreter)",
                peak - base, "the data itself (bytes)", data, 1.5,
                f"peak {(peak - base) / 2**20:.0f} MiB for {data / 2**20:.0f} MiB of data", True, ratio, ratio, ratio)]


def run(quick: bool = False, device: str = "cpu") -> list[Row]:
    """Every benchmark; ``quick`` shrinks the large problems about tenfold."""
    scale = 10 if quick else 1
    # NumPy-only rows first: after torch has run, its OpenMP workers keep spinning for a while
    # and take a core from the next NumPy/BLAS timing on a small machine.
    rows = bench_full_batch(1_000_000 // scale, 20)
    rows += bench_in_memory(10_000, 5) + bench_in_memory(100_000, 10)
    rows += bench_solve(1_000_000 // scale, 20)
    rows += bench_path_cv(100_000 // scale, 10) + bench_path_cv(10_000 // scale, 50)
    rows += bench_parquet_solve(2_000_000 // scale, 10)
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
    """The rows as a Markdown table: medians of the alternated rounds, the ratio's range."""
    lines = ["| benchmark | gradfit | baseline | baseline time | ratio (median) | range | rounds | target | met | check |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        memory = row.name.startswith("memory")
        value = (lambda v: f"{v / 2**20:.0f} MiB") if memory else (lambda v: _seconds(v))
        met = {None: "–", True: "yes", False: "NO"}[row.meets_target]
        target = "–" if row.target is None else f"≤ {row.target:g}"
        spread = "–" if row.rounds == 1 else f"{row.ratio_low:.3g}–{row.ratio_high:.3g}"
        lines.append(f"| {row.name} | {value(row.seconds)} | {row.baseline} | {value(row.baseline_seconds)} | "
                     f"{row.ratio:.3g} | {spread} | {row.rounds} | {target} | {met} | {row.check} |")
    return "\n".join(lines)


def to_json(rows: list[Row]) -> str:
    """The rows as JSON (a ratio that could not be measured is null)."""
    return json_text({"machine": machine(), "rows": [{**asdict(r), "met": r.meets_target} for r in rows]})


def _seconds(value: float) -> str:
    return f"{value * 1e3:.3g} ms" if value < 1 else f"{value:.3g} s"
