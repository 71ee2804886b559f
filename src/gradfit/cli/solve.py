"""``gradfit solve``: the options and the data → ``gradfit.solve`` (or its streaming form) → report."""

from __future__ import annotations

import argparse
import os
import sys

from .. import limits
from ..errors import BadDataError
from ..results.types import statistics_of
from .inputs import (needs_rows, refuse_streamed_formula, api_options, check_outputs, feature_list, is_large_file, load_data, options_namespace, positive_rows,
                     process_group, warnings_to_stderr)


def run_solve(cli_args: argparse.Namespace) -> int:
    args = options_namespace(cli_args, "solve")
    with process_group(args) as group:
        return _run_solve(args, group)


def _run_solve(args: argparse.Namespace, group) -> int:
    from ..api import solve

    args.chunk_rows = positive_rows("chunk_rows", args.chunk_rows)
    # Per-row statistics need the rows whole: a large file is then read whole.
    if (is_large_file(args.data) and not needs_rows(args)) or args.chunk_rows is not None:
        return _run_solve_streaming(args, group)
    check_outputs(args)
    data = load_data(args)
    standardize = data.is_file if args.standardize is None else args.standardize  # as gradfit fit
    with warnings_to_stderr(args):
        result = solve(**data.arrays(), target=data.target, distributed=group,
                       **api_options(args, "solve", standardize=standardize))
    write_influence(args, result, group)
    if group is not None and not group.is_main:
        return 0
    if data.is_file:
        result.dataset = data.source
    print(result.to_json() if args.json else result.summary())
    return 0


def write_influence(args: argparse.Namespace, result, group) -> None:
    """``--influence FILE``: the table written block by block as it is computed (every process takes
    part under torchrun; the first writes)."""
    if not args.influence:
        return
    frames = statistics_of(result).influence_frames()  # (a penalized answer has none: refused)
    if group is not None and not group.is_main:
        for _ in frames:  # a collective: every process's rows reach the first
            pass
        return
    from ..atomic import atomic_write_chunks

    def pieces():
        for k, frame in enumerate(frames):
            yield frame.to_csv(index=False, header=k == 0, float_format="%.17g").encode("utf-8")

    atomic_write_chunks(args.influence, pieces(), what="influence table")


def _run_solve_streaming(args: argparse.Namespace, group=None) -> int:
    from ..api import solve_streaming

    if not os.path.exists(args.data):
        raise BadDataError(f"data file {args.data!r} not found; --chunk-rows streams a CSV or Parquet file, "
                           "so check the path")
    refuse_streamed_formula(args)
    check_outputs(args)
    with warnings_to_stderr(args):
        result = solve_streaming(args.data, target=args.target, features=feature_list(args.features),
                                 dropna=args.dropna, chunk_rows=args.chunk_rows, distributed=group, weights=args.weights,
                                 cluster=args.cluster, **api_options(
                                     args, "solve_streaming", standardize=True if args.standardize is None
                                     else args.standardize))
    write_influence(args, result, group)
    if group is not None and not group.is_main:
        return 0
    if result.n_dropped:
        print(f"gradfit solve: note: dropped {result.n_dropped} row(s) with missing values (--dropna)", file=sys.stderr)
    if result.needs_refinement and result.estimated_error > limits.WARN_UNREFINED_ABOVE:
        print(f"gradfit solve: warning: ill-conditioned data streamed in float64: coefficients accurate to about "
              f"{result.estimated_error:.1g} relative", file=sys.stderr)
    print(result.to_json() if args.json else result.summary())
    return 0
