"""``gradfit path``: the data options and the path's own → ``gradfit.regularization_path`` →
the table (or JSON), the coefficient table as CSV (``--out``) and the figure (``--plot``)."""

from __future__ import annotations

import argparse
import sys

from .. import config
from ..errors import BadOptionError, require
from .inputs import load_data, options_namespace, warnings_to_stderr
from .lr_find import plot_file
from .options import add_arguments, add_flag

PLOT_NAME = "path.png"  # what --plot DIR writes into DIR

DESCRIPTION = """\
The exact lasso (or elastic-net, or ridge) answer over a grid of penalties, largest first, each
warm-started from the last. --l1 auto runs from λ_max, the least l1 at which every coefficient is
zero, down to --eps times it (1e-3), in --n-lambdas log-spaced steps; --l1 0 --l2 auto is a ridge
path, from where every coefficient is within 1% of zero to where each is within 1% of least
squares. The penalty acts on the standardized coefficients (as gradfit solve does for a data file);
the coefficients are reported on the original scale. --cv K adds K-fold cross-validation (rows
shuffled by --seed; each fold standardized with its own training rows): the held-out MSE of each λ
± its standard error, the λ of the least mean (*), and the largest λ within one standard error of
it (1se)."""

EPILOG = """examples:
  gradfit path houses.csv --target price --cv 5
  gradfit path houses.csv --target price --l1 auto --l2 0.1 --cv 10 --plot figures
  gradfit path houses.csv --target price --l1 0 --l2 auto          a ridge path
  gradfit path houses.csv --target price --l1 1,0.1,0.01 --out path.csv --json

columns: the penalty's value; nonzero, how many coefficients are not exactly zero (the intercept is
not counted); cv_mse and ± se, the mean held-out MSE over the folds (original scale) and its
standard error std/√K; then the first coefficients to enter the path (all of them when there are
few), on the original scale. scikit-learn's terms: Lasso(alpha = l1/2) and ElasticNet(alpha =
l1/2 + l2, l1_ratio = (l1/2)/(l1/2 + l2)) on the standardized rows."""

# The fit options gradfit path takes, as gradfit solve declares them (config.FitConfig).
BORROWED = ("intercept", "poly", "formula", "standardize")
# gradfit path's own options, then the borrowed ones: copied from the parsed flags.
OWN = ("l1", "l2", "n_lambdas", "eps", "cv", "seed", "out") + BORROWED


def add_path_arguments(parser: argparse.ArgumentParser) -> None:
    """The data options (shared with fit and solve), the borrowed fit options, the path's own."""
    add_arguments(parser, "path")
    model = parser.add_argument_group("model")
    for name in BORROWED:
        spec = config.BY_NAME[name]
        text = ("penalize the standardized coefficients (default; --no-standardize: the original ones)"
                if name == "standardize" else spec.help)
        add_flag(model, spec, text)
    own = parser.add_argument_group("path")
    own.add_argument("--l1", default="auto", metavar="L1", help="auto (default: a log grid from λ_max down), or "
                     "the values, comma-separated (e.g. 1,0.1,0.01); 0 with --l2 auto for a ridge path")
    own.add_argument("--l2", default="0", metavar="L2", help="the ridge weight, fixed along the l1 path (an elastic "
                     "net; default 0: the lasso); with --l1 0: auto, or values, for a ridge path")
    own.add_argument("--n-lambdas", dest="n_lambdas", default="50", metavar="N",
                     help="values in the automatic grid (default 50)")
    own.add_argument("--eps", default=None, metavar="F", help="the grid's smallest value as a fraction of its "
                     "largest (default: 1e-3 for l1; for a ridge path, where every coefficient is within 1%% of "
                     "least squares)")
    own.add_argument("--cv", default=None, metavar="K", help="K-fold cross-validation of each value (K ≥ 2)")
    own.add_argument("--seed", default="42", metavar="N", help="seeds the shuffle of the rows into folds "
                     "(default 42)")
    own.add_argument("--out", default=None, metavar="FILE", help="write the coefficient table as CSV to FILE "
                     "(atomically): the penalty, nonzero, kkt, cv_mse, cv_se, then every coefficient")


def run_path(cli_args: argparse.Namespace) -> int:
    from ..api import regularization_path
    from ..atomic import output_path

    args = options_namespace(cli_args, "path")
    for name in OWN:
        setattr(args, name, getattr(cli_args, name))
    args.cluster = None  # (what load_data reads beside a formula: a path has no cluster covariance)
    plot = plot_file(args.plot, PLOT_NAME) if args.plot else None
    if plot:
        require("matplotlib")  # before the data is read and the path solved
    data = load_data(args)
    if args.out:
        output_path(args.out, "coefficient table")  # refused now, not after the work (the data was read)
    standardize = True if args.standardize is None else args.standardize
    with warnings_to_stderr(args):
        path = regularization_path(**data.arrays(), l1=args.l1, l2=args.l2, n_lambdas=args.n_lambdas, eps=args.eps,
                                   cv=args.cv, seed=args.seed, standardize=standardize,
                                   intercept=args.intercept is not False, poly=args.poly, formula=args.formula,
                                   target=data.target)
    if data.is_file:
        path.dataset = data.source
    written = write_outputs(args, path, plot)
    if args.json:
        print(path.to_json())
    else:
        print(path.summary())
        if path.cv is None:
            print("(add --cv 5 to choose a value by cross-validation)")
        else:
            print(f"use it: {_solve_command(args, data, standardize, path.best)}  (1-SE rule: "
                  f"{_penalty_flags(path.one_se)})")
    for line in written:
        print(line, file=sys.stderr if args.json else sys.stdout)  # stdout: JSON and nothing else
    return 0


def write_outputs(args: argparse.Namespace, path, plot) -> list[str]:
    """``--out`` (CSV) and ``--plot`` (PNG), each written atomically; what was written."""
    from ..atomic import atomic_write_text

    written = []
    if args.out:
        atomic_write_text(args.out, path.to_frame().to_csv(index=False, float_format="%.17g"),
                          what="coefficient table")
        written.append(f"coefficients: {args.out}")
    if plot:
        from ..figures.canvas import save_figure

        try:
            plot.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise BadOptionError("plot", str(plot), f"cannot write the plot ({error.strerror or error})",
                                 "choose a writable folder") from None
        save_figure(path.plot(), plot)
        written.append(f"plot: {plot}")
    return written


def _penalty_flags(penalties: dict) -> str:
    return " ".join(f"--{name} {value:.6g}" for name, value in penalties.items() if value)


def _solve_command(args: argparse.Namespace, data, standardize: bool, penalties: dict) -> str:
    """The ``gradfit solve`` of the chosen penalty on the same rows (solve standardizes data files
    only, by default)."""
    import shlex

    words = ["gradfit solve", shlex.quote(args.data)]
    if data.is_file and not args.formula:
        words.append(f"--target {shlex.quote(data.target)}")
    if args.features:
        words.append(f"--features {shlex.quote(args.features)}")
    if args.formula:
        words.append(f"--formula {shlex.quote(args.formula)}")
    words.append(_penalty_flags(penalties))
    if standardize != data.is_file:
        words.append("--standardize" if standardize else "--no-standardize")
    return " ".join(word for word in words if word)
