"""``gradfit fit``: the options and the data → ``gradfit.fit`` (or its streaming form, or a sweep) → report."""

from __future__ import annotations

import argparse
import os
import sys
import warnings

from ..errors import BadDataError, BadOptionError, require
from ..results.json_form import json_text
from .inputs import (needs_rows, refuse_streamed_formula, check_outputs, Data, api_options, feature_list, is_large_file, is_sweep, load_data, options_namespace,
                     positive_rows, process_group, warnings_to_stderr)
from .options import flag_text
from .signals import signals_stop_at_epoch_end


def run_fit(cli_args: argparse.Namespace) -> int:
    args = options_namespace(cli_args, "fit")
    with process_group(args) as group:
        return _run_fit(args, group)


def _run_fit(args: argparse.Namespace, group) -> int:
    from ..api import fit

    if args.plot:
        require("matplotlib")  # before the data is read and the model trained
        if args.formula:
            raise BadOptionError("plot", args.plot, "the plots draw the columns of --features, not a formula's terms",
                                 "leave --plot out, or fit the columns without --formula")
    args.chunk_rows = positive_rows("chunk_rows", args.chunk_rows)
    if args.chunk_rows is not None or (is_large_file(args.data) and (_streamable(args) or _must_stream(args))):
        return _run_fit_streaming(args, group)
    if args.shuffle_buffer is not None:
        raise BadOptionError("shuffle_buffer", args.shuffle_buffer, "applies to mini-batches streamed from a file",
                             "add --chunk-rows N, or leave --shuffle-buffer out (rows in memory are shuffled whole)")
    data = load_data(args)
    check_outputs(args)  # a file we may not write is refused before training, not after it
    standardize = data.is_file if args.standardize is None else args.standardize
    if is_sweep(args.lr):
        return _run_sweep(args, data, standardize)
    main = group is None or group.is_main  # only rank 0 prints and writes files
    callbacks = []
    if main and not (args.json or args.quiet):
        from ..training.callbacks import RichProgressCallback, progress_wanted

        if progress_wanted():
            callbacks.append(RichProgressCallback())
    stops = signals_stop_at_epoch_end(checkpoint=bool(args.checkpoint))
    with warnings_to_stderr(args, shown_in_report=not args.json), stops:
        result = fit(**data.arrays(), **api_options(args, "fit", standardize=standardize, record_path=bool(args.plot)),
                     callbacks=callbacks or None, distributed=group)
    if not main:
        return 0
    if data.is_file:
        result.dataset, result.target = data.source, data.target
    _report_fit(args, result)
    if args.plot:
        _write_plots(args, data, result, standardize)
    return 0


def _report_fit(args: argparse.Namespace, result) -> int:
    """``--save-model``, then the JSON or the terminal report."""
    if args.save_model:
        from ..results.model_file import save_model

        save_model(result.saved_model(target=result.target), args.save_model)
    if args.json:
        print(result.to_json())
    else:
        from ..results.report import print_report

        print_report(result, quiet=args.quiet, cli=flag_text)
    return 0


def _streamable(args: argparse.Namespace) -> bool:
    """Whether a fit can run from one streaming pass: the exact engine, nothing that needs the rows."""
    return (args.engine in ("auto", "exact") and args.batch_size is None and args.optimizer == "sgd"
            and args.model is None and args.scheduler is None and str(args.device) in ("auto", "cpu")
            and not args.val_split and not args.plot and not args.patience and not is_sweep(args.lr)
            and not needs_rows(args))


def _must_stream(args: argparse.Namespace) -> bool:
    """A mini-batch fit of a file whose rows would not fit in the memory free: streamed through the
    shuffle buffer rather than exhausting memory, with a one-line note saying so."""
    if args.batch_size is None or args.engine not in ("auto", "torch") or args.plot or is_sweep(args.lr) \
            or needs_rows(args) or str(args.device) not in ("auto", "cpu") or args.model == "tensors":
        return False
    from ..data.footprint import too_large_for_memory

    used = None if args.features is None else len(feature_list(args.features)) + 1 + bool(args.weights)
    too_large, need, free = too_large_for_memory(args.data, used)  # (default features: every column)
    if too_large:
        print(f"gradfit fit: note: {args.data} would take about {need / 2**30:.1f} GiB read whole "
              f"({free / 2**30:.1f} GiB free): streaming it through a shuffle buffer instead (batches "
              f"differ from the in-memory run's; --shuffle-buffer N sets the rows shuffled together)",
              file=sys.stderr)
    return too_large


def _run_fit_streaming(args: argparse.Namespace, group) -> int:
    """A file fitted from one streaming pass (``--chunk-rows``, or a large file)."""
    from ..api import fit_streaming

    if args.plot:
        raise BadOptionError("plot", args.plot, "the plots draw the rows, which a streamed fit does not hold",
                             "leave --chunk-rows out to read the file whole")
    if not os.path.exists(args.data):
        raise BadDataError(f"data file {args.data!r} not found; --chunk-rows streams a CSV or Parquet file, "
                           "so check the path")
    if args.target is None:
        raise BadOptionError("target", None, "is required for a data file", "name the column to predict: --target COL")
    refuse_streamed_formula(args)
    standardize = True if args.standardize is None else args.standardize
    stops = signals_stop_at_epoch_end(checkpoint=bool(args.checkpoint))
    with warnings_to_stderr(args, shown_in_report=not args.json), stops:
        result = fit_streaming(
            args.data, target=args.target, features=feature_list(args.features), chunk_rows=args.chunk_rows,
            dropna=args.dropna, distributed=group, weights=args.weights, cluster=args.cluster,
            **api_options(args, "fit_streaming", standardize=standardize))
    if group is not None and not group.is_main:
        return 0
    if result.n_dropped:
        print(f"gradfit fit: note: dropped {result.n_dropped} row(s) with missing values (--dropna)", file=sys.stderr)
    return _report_fit(args, result)


def _write_plots(args: argparse.Namespace, data: Data, result, standardize: bool) -> None:
    """``--plot DIR``: the figures and animations, from the same rows the fit used (on stderr with
    ``--json``: what was written, and what was skipped and why)."""
    from ..figures.plots import plot_files, skipped_plots, write_plots
    from ..pipeline.prepare import problem_from

    # The rows the fit used, chosen by the same code (the dataset's split, or the seeded one).
    problem, _ = problem_from(data.x, data.y, dataset=data.dataset, val=None, val_split=args.val_split,
                              seed=args.seed, intercept=True, names=data.names)
    rows = (problem.x_train, problem.y_train, problem.x_val, problem.y_val)
    written = write_plots(result, *rows, args.plot, fit_options=_refit_options(args, standardize))
    where = sys.stderr if args.json else sys.stdout
    print(f"plots: {', '.join(str(p) for p in written)}", file=where)
    for name, reason in skipped_plots(result).items():
        print(f"plots: {', '.join(plot_files(name))} skipped: {reason}", file=where)


def _refit_options(args: argparse.Namespace, standardize: bool) -> dict:
    """What the figures' extra fits (modes, rates) share with this one: the data and model options."""
    given = api_options(args, "fit", standardize=standardize)
    return {name: value for name, value in given.items() if name not in _OWN_RUN}


# What belongs to this run alone: the figures' extra fits choose their own rates and write nothing.
_OWN_RUN = ("lr", "checkpoint", "checkpoint_every", "resume", "tensorboard", "record_path")


def _run_sweep(args: argparse.Namespace, data: Data, standardize: bool) -> int:
    """``--lr 0.01,0.1,0.5``: one run per rate and a comparison table."""
    from ..api import sweep

    given = api_options(args, "sweep", standardize=standardize)
    for name in ("checkpoint", "resume", "tensorboard"):
        if given.get(name):
            raise BadOptionError(name, given[name], "belongs to one run, and a sweep makes one run per rate",
                                 "give one --lr, or leave it out")
    options = {name: value for name, value in given.items() if name not in ("lr", "checkpoint_every")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the table says converged or not for every rate
        runs = sweep(**data.arrays(), lr=args.lr, **options)
    rows = [run.row() for run in runs]
    if args.json:
        print(json_text({"sweep": rows}))
        return 0
    _print_sweep(runs)
    return 0


def _print_sweep(runs) -> None:
    from rich.console import Console

    from ..results.report import AtLeast, sweep_table

    console = Console(highlight=False, soft_wrap=True)  # (soft wrap: lines wider than the console are not cut)
    console.print(AtLeast(sweep_table(runs)))
    stable = next((run.result.lr_max_stable for run in runs if run.result is not None), None)
    if stable is not None:
        console.print(f"largest stable full-batch learning rate for this data: {stable:.4g}", markup=False)
