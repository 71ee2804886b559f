"""Run every benchmark and keep the table in benchmarks/RESULTS.md (same as `gradfit bench --out`)."""

import sys
from pathlib import Path

from gradfit.cli import main

if __name__ == "__main__":
    out = Path(__file__).with_name("RESULTS.md")
    sys.exit(main(["bench", "--out", str(out), *sys.argv[1:]]))
