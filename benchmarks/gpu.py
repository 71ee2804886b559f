"""GPU benchmarks, ready to run on a CUDA machine (``benchmarks/gpu.sh``); skips cleanly without one.

Rows (each timing alternated with its baseline, medians; see gradfit.bench.measure):
- the book workload on ``cuda`` vs the tutorial's PyTorch loop on ``cuda``;
- 10,000,000 × 50 float32, full batch, 20 epochs: the torch engine on ``cuda`` vs the same on the CPU;
- the same rows, mini-batch 1024, 1 epoch: torch engine on ``cuda`` vs a lean loop on ``cuda``;
- the closed form in float64: ``torch.linalg.lstsq`` on the GPU vs ``gradfit.solve`` on the CPU,
  with the largest coefficient difference;
- 1-process torchrun (NCCL) against one plain process: the same parameters.

Writes a Markdown table to the path given (default benchmarks/RESULTS-cuda.md) and prints it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np


DEVICE = "cuda"
SCALE = 1  # --rehearse: every size divided by 10,000, on the CPU, to check the script itself


def main(out: str) -> int:
    import torch

    if DEVICE == "cuda" and not torch.cuda.is_available():
        print("benchmarks/gpu.py: no CUDA device is visible to torch; nothing to measure (skipped)")
        return 0
    import gradfit
    from gradfit.bench import baselines
    from gradfit.bench.measure import alternate
    from gradfit.bench.suite import Row, machine, quietly, table

    rows = [_book(gradfit, baselines, alternate, Row, quietly)]
    rows += _large(gradfit, baselines, alternate, Row, quietly)
    rows.append(_solve(gradfit, alternate, Row))
    card = torch.cuda.get_device_name(0) if DEVICE == "cuda" else "a rehearsal on the CPU"
    text = (f"# gradfit on a GPU\n\nMeasured on {machine()} ({card}).\n\n{table(rows)}\n\n"
            f"{_torchrun_parity()}\n")
    Path(out).write_text(text)
    print(text)
    return 0


def _book(gradfit, baselines, alternate, Row, quietly):
    from gradfit.data import load_dataset

    data = load_dataset("book")
    x, y = data.x_train[:, 0], data.y_train
    fit = quietly(lambda: gradfit.fit(engine="torch", device=DEVICE))
    comparison, res, theta = alternate(fit, lambda: baselines.tutorial_torch_loop(x, y, device=DEVICE), 3)
    gap = float(np.max(np.abs(res.params.theta - theta)))
    return Row.of("book on cuda: gradfit.fit(engine='torch', device='cuda')", comparison,
                  "the tutorial's PyTorch loop on cuda", None, f"parameters differ by {gap:.1e}", gap < 1e-4)


def _large(gradfit, baselines, alternate, Row, quietly, d: int = 50):
    n = 10_000_000 // SCALE
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, d), dtype=np.float32)
    y = (x @ rng.standard_normal(d).astype(np.float32) + 1.0).astype(np.float32)
    full = dict(engine="torch", epochs=20, lr=0.1, standardize=False)
    on_gpu = quietly(lambda: gradfit.fit(x, y, device=DEVICE, **full))
    on_cpu = quietly(lambda: gradfit.fit(x, y, device="cpu", **full))
    full_batch, gpu_res, cpu_res = alternate(on_gpu, on_cpu, 1, warmup=False)
    gap = float(np.max(np.abs(gpu_res.params.theta - cpu_res.params.theta)))
    mini = dict(engine="torch", model="linear", batch_size=1024, epochs=1, lr=0.01, device=DEVICE)
    minibatch, _, _ = alternate(quietly(lambda: gradfit.fit(x, y, **mini)), lambda: baselines.lean_torch_minibatch(
        x, y, batch_size=1024, epochs=1, lr=0.01, device=DEVICE), 3)
    return [Row.of(f"full batch {n:,} × {d} float32, 20 epochs: torch engine on cuda", full_batch,
                   "the same on the CPU", None, f"parameters differ by {gap:.1e}"),
            Row.of(f"mini-batch 1024, {n:,} × {d}, 1 epoch: torch engine on cuda", minibatch,
                   "lean loop on cuda", 1.0)]


def _solve(gradfit, alternate, Row, d: int = 50):
    n = 2_000_000 // SCALE
    import torch

    rng = np.random.default_rng(1)
    x = rng.standard_normal((n, d))
    y = 2.0 + x @ rng.standard_normal(d) + rng.standard_normal(n)
    a = torch.as_tensor(np.column_stack([np.ones(n), x]), device=DEVICE)
    b = torch.as_tensor(y, device=DEVICE)[:, None]

    def gpu():
        theta = torch.linalg.lstsq(a, b).solution
        if DEVICE == "cuda":
            torch.cuda.synchronize()
        return theta.cpu().numpy().ravel()

    comparison, gpu_theta, res = alternate(gpu, lambda: gradfit.solve(x, y), 3)
    gap = float(np.max(np.abs(gpu_theta - res.closed_form.theta)))
    return Row.of(f"closed form {n:,} × {d} float64: torch.linalg.lstsq on cuda", comparison,
                  "gradfit.solve on the CPU (with statistics)", None, f"coefficients differ by {gap:.1e}")


def _torchrun_parity() -> str:
    """One torchrun process on NCCL against one plain process: the same parameters (a line of text)."""
    with tempfile.TemporaryDirectory() as folder:
        rng = np.random.default_rng(2)
        x = rng.standard_normal((20_000, 4))
        y = 1.0 + x @ [0.5, -1.0, 2.0, 0.0] + 0.1 * rng.standard_normal(20_000)
        path = os.path.join(folder, "data.csv")
        np.savetxt(path, np.column_stack([x, y]), delimiter=",", header="a,b,c,d,y", comments="")
        args = ["fit", path, "--target", "y", "--engine", "torch", "--batch-size", "256", "--epochs", "3",
                "--device", DEVICE, "--json"]
        plain = json.loads(subprocess.run([sys.executable, "-m", "gradfit", *args], check=True, capture_output=True,
                                          text=True).stdout)
        launched = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=1",
                                   "-m", "gradfit", *args], capture_output=True, text=True)
    if launched.returncode != 0:
        return f"torchrun, 1 process, NCCL: FAILED ({launched.stderr.strip().splitlines()[-1:]})"
    nccl = json.loads(launched.stdout)
    gap = float(np.max(np.abs(np.r_[nccl["params"]["intercept"], nccl["params"]["coef"]]
                              - np.r_[plain["params"]["intercept"], plain["params"]["coef"]])))
    verdict = "yes" if gap <= 1e-5 else "NO"
    return (f"torchrun, 1 process, NCCL ({nccl['device']}) vs one plain process: largest parameter difference "
            f"{gap:.1e} (≤ 1e-5: {verdict})")


if __name__ == "__main__":
    warnings.simplefilter("ignore")
    args = sys.argv[1:]
    if "--rehearse" in args:
        args.remove("--rehearse")
        DEVICE, SCALE = "cpu", 10_000
    sys.exit(main(args[0] if args else str(Path(__file__).with_name("RESULTS-cuda.md"))))
