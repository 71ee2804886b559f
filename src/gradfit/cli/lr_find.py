"""``gradfit lr-find``: the learning-rate range test on DATA, read against the curvature of the
loss, its suggestion checked the way ``gradfit fit`` would run it, and its plot."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from ..errors import BadOptionError, DivergedError, require
from .inputs import Data, load_data, options_namespace

PLOT_NAME = "lr_find.png"  # what --plot DIR writes into DIR


def run_lr_find(cli_args: argparse.Namespace) -> int:
    """The LR range test for the torch engine's linear model, its suggestion, the check, the plot."""
    from ..api import find_lr
    from ..config import config_from

    args = options_namespace(cli_args, "lr-find")
    checked = config_from("fit", {"epochs": args.epochs, "tol": args.tol, "batch_size": args.batch_size})
    args.epochs, args.tol, args.batch_size = checked.epochs, checked.tol, checked.batch_size  # (flags: text)
    plot = plot_file(args.plot) if args.plot else None
    if plot:
        require("matplotlib")  # before the test runs
    data = load_data(args)
    standardize = data.is_file if args.standardize is None else args.standardize
    found = find_lr(**data.arrays(), model=args.model, optimizer=args.optimizer, batch_size=args.batch_size,
                    seed=args.seed, device=args.device, dtype=args.dtype, val_split=args.val_split,
                    intercept=args.intercept, poly=args.poly, standardize=standardize)
    check = None
    if found.suggested_by != "steepest" and args.batch_size is None:
        check = check_suggestion(data, args, standardize, found.suggested_lr)
    if plot:
        write_plot(found, plot, args.batch_size)
    if args.json:
        from ..results.json_form import json_text

        print(json_text({**found.to_dict(), "batch_size": args.batch_size, "check": check}))
    else:
        for line in report_lines(found, args, check):
            print(line)
    if plot:
        print(f"plot: {plot}", file=sys.stderr if args.json else sys.stdout)  # stdout: JSON and nothing else
    return 0


def write_plot(found, plot: Path, batch_size: int | None) -> None:
    """The range test's curve with the suggestion and the curvature's bound, into ``plot``."""
    from ..figures.plots import plot_lr_find

    try:
        plot.parent.mkdir(parents=True, exist_ok=True)
        plot_lr_find(found.lrs, found.losses, found.suggested_lr, plot, limit=found.lr_bound,
                     limit_label="stability limit 2/L" if batch_size is None else "mini-batch bound 2/L_B")
    except OSError as error:
        raise BadOptionError("plot", str(plot), f"cannot write the plot ({error.strerror or error})",
                             "choose a writable folder") from None


def plot_file(plot: str, name: str = PLOT_NAME) -> Path:
    """``--plot DIR``: ``DIR/name`` (``lr_find.png``), as ``gradfit fit --plot DIR`` writes into
    DIR; a path ending in ``.png`` is that file."""
    path = Path(plot)
    if path.suffix.lower() == ".png":
        if path.is_dir():
            raise BadOptionError("plot", plot, "is a folder whose name ends in .png",
                                 f"give another folder, or a file such as {path / name}")
        return path
    if path.exists() and not path.is_dir():
        raise BadOptionError("plot", plot, "is a file, not a folder",
                             f"give a folder to write {name} into, or a file name ending in .png")
    return path / name


def check_suggestion(data: Data, args: argparse.Namespace, standardize: bool, lr: float) -> dict:
    """Full-batch gradient descent at ``lr`` for ``--epochs`` (the exact engine: the same iterates
    at O(p²) an epoch), judged by ``--tol`` as ``gradfit fit`` judges convergence."""
    from ..api import fit

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the verdict is reported below, with its numbers
        try:
            result = fit(**data.arrays(), engine="exact", lr=lr, epochs=args.epochs, tol=args.tol,
                         val_split=args.val_split, intercept=args.intercept, poly=args.poly,
                         standardize=standardize, seed=args.seed)
        except DivergedError as error:
            return {"lr": lr, "epochs": args.epochs, "tol": args.tol, "converged": False, "grad_norm": None,
                    "diverged_at_epoch": error.epoch, "standardized": standardize}
    return {"lr": lr, "epochs": args.epochs, "tol": args.tol, "converged": bool(result.converged),
            "grad_norm": result.grad_norm, "diverged_at_epoch": None, "standardized": standardize}


def report_lines(found, args: argparse.Namespace, check: dict | None) -> list[str]:
    """What ``gradfit lr-find`` prints: the suggestion beside the curvature's limit, the check,
    and what the range test saw (and why it differs from the limit)."""
    limit = f"the stability limit 2/L = {found.lr_max_stable:.4g}"
    batches = args.batch_size is not None
    bound = f"the mini-batch bound 2/L_B = {found.lr_bound:.4g} for batches of {args.batch_size}" if batches else limit
    if found.suggested_by == "curvature":
        why = f"half {bound}" + (f" (full batch: {limit})" if batches else "")
    elif found.suggested_by == "range test":
        why = (f"half the lr {found.min_loss_lr:.4g} where the range test's loss was lowest, below {bound}"
               + (f" (full batch: {limit})" if batches else ""))
    else:
        why = (f"where the range test's smoothed loss fell fastest; {limit} is plain gradient descent's: "
               f"{args.optimizer} divides each step by its running gradient scale, so no curvature bound applies")
    lines = [f"suggested learning rate: {found.suggested_lr:.4g}, {why}"]
    if check is not None:
        lines.append(_check_line(check))
    elif batches and found.suggested_by != "steepest":
        lines.append("note: not checked: at a constant rate mini-batch steps hover around the minimum, so gradfit "
                     "fit may end converged: NO at any rate (the range test's losses are noisy for the same reason);"
                     " add --scheduler cosine, raise --batch-size, or leave it out for full batch")
    lines.append(_range_test_line(found, "bound" if batches else "limit"))
    return lines


def _check_line(check: dict) -> str:
    head = f"check: gradfit fit --lr {check['lr']:g}"
    if check["converged"]:
        return (f"{head} converges in {check['epochs']} epochs (gradient norm {check['grad_norm']:.2g} ≤ --tol "
                f"{check['tol']:g}, full-batch gradient descent)")
    if check["grad_norm"] is None:
        return f"{head} diverged at epoch {check['diverged_at_epoch']}; try --lr auto"
    scale = "" if check["standardized"] else "--standardize (features on different scales slow it), "
    return (f"{head} does not converge in {check['epochs']} epochs (gradient norm {check['grad_norm']:.2g} > --tol "
            f"{check['tol']:g}): raise --epochs, try --lr auto (the optimal fixed step, near the limit), {scale}or "
            "use gradfit solve for the exact answer")


def _range_test_line(found, bound: str) -> str:
    seen = (f"range test: the smoothed loss fell fastest at lr {found.steepest_lr:.4g} and was lowest at lr "
            f"{found.min_loss_lr:.4g}")
    if not found.diverged:
        return seen + f"; it never blew up, up to lr {found.lrs[-1]:.4g}"
    if found.suggested_by != "steepest" and found.min_loss_lr > found.lr_bound:
        return (seen + f", past the {bound}: the rate rises every step and just above the {bound} the loss takes "
                f"many steps to grow, so a range test's lowest loss overshoots it (and its steepest fall sits "
                "decades below it)")
    return seen + ", then blew up"

