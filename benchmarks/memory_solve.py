"""Peak memory and time of least squares on large data: one streaming pass vs the usual tools.

Run as a script (about 3–5 minutes, up to ~10 GB of memory for statsmodels, ~1.3 GB in /tmp)::

    python benchmarks/memory_solve.py            # the full sizes
    python benchmarks/memory_solve.py --quick    # sizes / 20, to check the script itself

Each measurement runs in a fresh Python process and reads ``resource.getrusage(RUSAGE_SELF)
.ru_maxrss`` (the process's peak resident set, a high-water mark) after the imports, after the
data exists, and after the solve; the ratio is the peak over the size of the data (``x`` and ``y``).
Data is generated in place, without temporaries, so that the peak after creating it is the data
itself. Cases:

- in memory, 10,000,000 × 10 float64: gradfit's streaming solve (``solve_streaming((x, y))``),
  the same after ``as_problem`` validation, today's ``gradfit.solve`` and statsmodels ``OLS().fit()``;
- a 20,000,000 × 8 Parquet file (7 features and the target, 1M-row row groups, ≈1.3 GB) written
  to /tmp, solved by streaming its row groups, coefficients checked against the generating truth,
  the file deleted afterwards;
- time of one pass over 1,000,000 × 20 (streaming statistics vs ``numpy.linalg.lstsq`` vs a plain
  ``X.T @ X``), and of 100 exact gradient-descent epochs on it (from the statistics vs
  today's ``gradfit.fit(engine="exact")``). Times are the best of five.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

TRUE_B = 0.5


def rss_mb() -> float:
    """Peak resident set of this process so far, MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def true_w(d: int) -> np.ndarray:
    return np.linspace(-2.0, 2.0, d)


def make_data(n: int, d: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``x`` ``(n, d)`` standard normal, ``y = b + x w + 0.5·noise``, with no full-size temporaries."""
    rng = np.random.default_rng(seed)
    x = np.empty((n, d))
    rng.standard_normal(out=x)
    y = np.empty(n)
    w = true_w(d)
    block = 1 << 16
    for start in range(0, n, block):
        stop = min(n, start + block)
        y[start:stop] = TRUE_B + x[start:stop] @ w + 0.5 * rng.standard_normal(stop - start)
    return x, y


# --- one case per process --------------------------------------------------------------------

def case_memory(solver: str, n: int, d: int) -> dict:
    import gradfit  # noqa: F401  (imports count as the baseline, not as the solve)
    import scipy.linalg  # noqa: F401
    if solver == "statsmodels":
        import statsmodels.api as sm
    before = rss_mb()
    x, y = make_data(n, d)
    after_data = rss_mb()
    start = time.perf_counter()
    if solver == "streaming":
        from gradfit.pipeline.streaming_solve import solve_streaming

        theta = solve_streaming((x, y)).closed_form.theta
    elif solver == "streaming+validate":
        from gradfit.data import as_problem
        from gradfit.pipeline.streaming_solve import solve_streaming

        problem = as_problem(x, y)
        theta = solve_streaming((problem.x_train, problem.y_train)).closed_form.theta
    elif solver == "gradfit.solve":
        import gradfit

        theta = gradfit.solve(x, y).closed_form.theta
    elif solver == "statsmodels":
        theta = np.asarray(sm.OLS(y, sm.add_constant(x)).fit().params)
    else:
        raise SystemExit(f"unknown solver {solver}")
    seconds = time.perf_counter() - start
    truth = np.concatenate([[TRUE_B], true_w(d)])
    return {"before": before, "after_data": after_data, "peak": rss_mb(), "seconds": seconds,
            "data_mb": (x.nbytes + y.nbytes) / 2**20, "max_err_vs_truth": float(np.max(np.abs(theta - truth)))}


def case_write_parquet(path: str, n: int, d: int) -> dict:
    import pyarrow as pa
    import pyarrow.parquet as pq

    names = [f"x{j + 1}" for j in range(d)] + ["y"]
    schema = pa.schema([(name, pa.float64()) for name in names])
    rows = 1_000_000
    start = time.perf_counter()
    with pq.ParquetWriter(path, schema, compression="snappy") as writer:
        for seed, first in enumerate(range(0, n, rows)):
            x, y = make_data(min(rows, n - first), d, seed=seed + 1)
            columns = [pa.array(x[:, j]) for j in range(d)] + [pa.array(y)]
            writer.write_table(pa.Table.from_arrays(columns, schema=schema), row_group_size=rows)
    return {"seconds": time.perf_counter() - start, "file_mb": os.path.getsize(path) / 2**20}


def case_stream_parquet(path: str, d: int) -> dict:
    import pyarrow.parquet  # noqa: F401
    from gradfit.pipeline.streaming_solve import solve_streaming

    before = rss_mb()
    start = time.perf_counter()
    result = solve_streaming(path, target="y")
    seconds = time.perf_counter() - start
    truth = np.concatenate([[TRUE_B], true_w(d)])
    return {"before": before, "peak": rss_mb(), "seconds": seconds, "n": result.stats.n_obs,
            "max_err_vs_truth": float(np.max(np.abs(result.closed_form.theta - truth))),
            "max_std_err": float(np.max(result.std_err))}


def case_timing(n: int, d: int) -> dict:
    import warnings

    import gradfit
    from gradfit.engines.eigen import Eigen, components
    from gradfit.least_squares.sufficient import accumulate
    from gradfit.data.chunks import iter_array_chunks

    x, y = make_data(n, d)
    design = np.column_stack([np.ones(n), x])

    def best(fn, repeat: int = 5) -> tuple[float, object]:
        times, out = [], None
        for _ in range(repeat):
            start = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - start)
        return min(times), out

    def gd_from_stats():
        stats = accumulate(iter_array_chunks(x, y))  # the one pass
        closed = stats.closed_form()
        quad = stats.quadratic(closed.theta)
        lo, hi = stats.hessian_extremes()[::-1]
        lr = 2.0 / (hi + max(lo, hi / 100))
        eigen = Eigen.of(quad.hessian, quad.c)
        theta0 = np.zeros(d + 1)
        z = components(eigen, eigen.vectors.T @ (theta0 - closed.theta), lr, np.arange(101))  # θ_0 … θ_100
        return closed.theta + z[-1] @ eigen.vectors.T

    def gd_today():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return gradfit.fit(x, y, engine="exact", epochs=100, lr="auto", init=np.zeros(d + 1)).params.theta

    t_stream, stats = best(lambda: accumulate(iter_array_chunks(x, y)))
    t_lstsq, _ = best(lambda: np.linalg.lstsq(design, y, rcond=None))
    t_gram, _ = best(lambda: x.T @ x)
    t_gd_stats, theta_stats = best(gd_from_stats)
    t_gd_today, theta_today = best(gd_today)
    return {"stream_pass": t_stream, "lstsq": t_lstsq, "xtx": t_gram, "gd100_stats": t_gd_stats,
            "gd100_today": t_gd_today, "gd_gap": float(np.max(np.abs(theta_stats - theta_today)))}


# --- the driver --------------------------------------------------------------------------------

def run_case(*args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--case", *args], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"case {args} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="sizes / 20, to check the script")
    parser.add_argument("--skip", default="", help="comma-separated solvers to skip, e.g. statsmodels")
    parser.add_argument("--case", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        kind, *rest = args.case
        if kind == "memory":
            out = case_memory(rest[0], int(rest[1]), int(rest[2]))
        elif kind == "write":
            out = case_write_parquet(rest[0], int(rest[1]), int(rest[2]))
        elif kind == "parquet":
            out = case_stream_parquet(rest[0], int(rest[1]))
        else:
            out = case_timing(int(rest[0]), int(rest[1]))
        print(json.dumps(out))
        return

    shrink = 20 if args.quick else 1
    skip = set(filter(None, args.skip.split(",")))
    n_mem, d_mem = 10_000_000 // shrink, 10
    n_pq, d_pq = 20_000_000 // shrink, 7
    n_time, d_time = 1_000_000 // shrink, 20

    print(f"In memory: {n_mem:,} × {d_mem} float64 (x and y: {(n_mem * (d_mem + 1)) * 8 / 2**20:,.0f} MB); "
          "peak RSS of a fresh process")
    print(f"{'solver':<22}{'data MB':>9}{'peak MB':>9}{'peak/data':>11}{'(peak-base)/data':>18}{'seconds':>9}"
          f"{'max|θ-truth|':>14}")
    for solver in ("streaming", "streaming+validate", "gradfit.solve", "statsmodels"):
        if solver in skip:
            continue
        r = run_case("memory", solver, str(n_mem), str(d_mem))
        print(f"{solver:<22}{r['data_mb']:>9.0f}{r['peak']:>9.0f}{r['peak'] / r['data_mb']:>11.2f}"
              f"{(r['peak'] - r['before']) / r['data_mb']:>18.2f}{r['seconds']:>9.2f}{r['max_err_vs_truth']:>14.2e}")

    folder = tempfile.mkdtemp(prefix="gradfit-bench-")
    path = os.path.join(folder, "big.parquet")
    try:
        w = run_case("write", path, str(n_pq), str(d_pq))
        r = run_case("parquet", path, str(d_pq))
        print(f"\nParquet: {n_pq:,} rows × {d_pq + 1} float64 columns, {w['file_mb']:,.0f} MB on disk "
              f"(written in {w['seconds']:.0f} s, 1M-row row groups)")
        print(f"streaming solve: peak RSS {r['peak']:.0f} MB (after imports {r['before']:.0f} MB), "
              f"{r['seconds']:.1f} s, {r['n']:,} rows; max |θ − truth| = {r['max_err_vs_truth']:.2e} "
              f"(largest std err {r['max_std_err']:.1e})")
    finally:
        if os.path.exists(path):
            os.remove(path)
        os.rmdir(folder)

    t = run_case("timing", str(n_time), str(d_time))
    print(f"\nTime on {n_time:,} × {d_time} (best of 5, seconds)")
    print(f"  one streaming pass (TSQR + moments)    {t['stream_pass']:.3f}")
    print(f"  numpy.linalg.lstsq                     {t['lstsq']:.3f}")
    print(f"  plain X.T @ X                          {t['xtx']:.3f}")
    print(f"  exact GD, 100 epochs, from the pass    {t['gd100_stats']:.3f}")
    print(f"  exact GD, 100 epochs, gradfit.fit today {t['gd100_today']:.3f}   (max |Δθ| {t['gd_gap']:.1e})")


if __name__ == "__main__":
    main()
