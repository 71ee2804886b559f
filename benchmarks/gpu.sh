#!/usr/bin/env bash
# GPU benchmarks in one go (about 5 minutes on a current GPU): the book workload, 1e7 x 50 full batch
# and mini-batch 1024 on cuda, the float64 closed form on the GPU against gradfit.solve on the CPU,
# and 1-process NCCL torchrun parity. Writes benchmarks/RESULTS-cuda.md. Without CUDA it says so and
# exits 0. Run from the repository root, with gradfit installed (python -m pip install -e .).
set -euo pipefail
cd "$(dirname "$0")/.."
exec timeout 900 python benchmarks/gpu.py "${1:-benchmarks/RESULTS-cuda.md}"
