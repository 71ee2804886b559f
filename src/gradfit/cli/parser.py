"""The argument parser: one subcommand each, with its help, examples and options."""

from __future__ import annotations

import argparse

from .. import __version__
from ..errors import GradfitError
from . import commands
from .fit import run_fit
from .lr_find import run_lr_find
from .predict import run_predict
from .options import add_arguments
from .path import DESCRIPTION as PATH_DESCRIPTION, EPILOG as PATH_EPILOG, add_path_arguments, run_path
from .solve import run_solve
from .traps import DESCRIPTION as TRAPS_DESCRIPTION, EPILOG as TRAPS_EPILOG, TRAP_NAMES, run_traps_command

EPILOG_FIT = """examples:
  gradfit fit                                   the tutorial's data, exact engine, update trace
  gradfit fit --engine numpy --json             hand-written NumPy gradients, JSON on stdout
  gradfit fit --engine torch --model manual     autograd, nn.MSELoss, torch.optim.SGD
  gradfit fit --engine torch --optimizer adam --lr 0.05 --batch-size 16
  gradfit fit --lr auto                         step size from the curvature of the loss
  gradfit fit houses.csv --target price         a data file: standardized GD and statistics
  gradfit fit --config run.toml --epochs 50     options from a file; flags win
  gradfit fit big.parquet --target y --chunk-rows 100000      stream the file, never held whole
  torchrun --standalone --nproc_per_node=2 -m gradfit fit data.csv --target y
                                                the same fit across 2 processes (see README)

exit codes: 0 success, 1 training diverged, 2 bad input or options, 130 interrupted (Ctrl-C),
143 stopped by SIGTERM (the first Ctrl-C or SIGTERM finishes the epoch and writes the checkpoint)
"""


LR_FIND_DESCRIPTION = """\
Train the torch engine's linear model on a copy, on DATA's training rows, with a learning rate
growing exponentially from 1e-7 to 10 over 200 steps, and suggest a rate to give gradfit fit.

For plain gradient descent (--optimizer sgd, the default) the largest stable full-batch rate is
known: 2/L, L the largest eigenvalue of the MSE Hessian (batches of B rows: 2/L_B). A range test
sees its lowest loss past that limit (the rate rises every step and the loss lags behind it) and
its steepest fall decades below it, so the suggestion is half the smaller of the two: the range
test's lowest-loss rate and the curvature's bound. Full batch, it is checked: gradient descent at
that rate for --epochs, judged by --tol as gradfit fit judges convergence. With adam no curvature
bound applies, and the suggestion is the range test's own: the steepest fall of the loss."""

LR_FIND_EPILOG = """examples:
  gradfit lr-find                               the book data: 0.4, half the limit 2/L = 0.8055
  gradfit lr-find --plot figures                writes figures/lr_find.png
  gradfit lr-find houses.csv --target price --batch-size 32 --json
  gradfit fit houses.csv --target price --lr 0.4   then train at the suggested rate
"""


class UsageError(GradfitError):
    """A command line argparse cannot parse."""


class OneLineParser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, no usage dump
        raise UsageError(f"{self.prog}: error: {message} (see {self.prog} --help)")


def command_names(parser: argparse.ArgumentParser) -> list[str]:
    """The commands of a parser :func:`build_parser` made, in the order of its help."""
    return list(parser.command_parsers)


def build_parser() -> argparse.ArgumentParser:
    """The ``gradfit`` parser: the fitting commands, then the tools."""
    parser = OneLineParser(prog="gradfit", description="Regression by gradient descent, checked against exact "
                           "least squares.")
    parser.add_argument("--version", action="version", version=f"gradfit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)

    def command(name: str, handler, help: str, description: str, epilog: str | None = None):
        p = sub.add_parser(name, help=help, description=description, epilog=epilog,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        p.set_defaults(handler=handler)
        return p

    _fitting_commands(command)
    _tool_commands(command)
    parser.command_parsers = sub.choices  # {name: parser}
    return parser


def _fitting_commands(command) -> None:
    """fit, config, solve, path, predict: the commands that take the fit's options or its model."""
    fit = command("fit", run_fit, "train a linear regression by gradient descent",
                  "Train y ≈ b + x·w by gradient descent and compare it with the exact least-squares answer.",
                  EPILOG_FIT)
    add_arguments(fit, "fit")

    config = command("config", commands.run_config, "print the effective fit configuration as TOML",
                     "Print every fit option as TOML: the defaults, overridden by --config FILE and by the flags "
                     "given. Save it, edit it, and run gradfit fit --config FILE.",
                     "examples:\n  gradfit config > run.toml\n  gradfit config --engine torch --lr 0.05 > run.toml\n"
                     "  gradfit fit --config run.toml")
    add_arguments(config, "fit")

    solve = command("solve", run_solve, "the exact least-squares fit and its statistics (no gradient "
                    "descent)", "Solve least squares exactly (QR, refined in exact arithmetic when ill-conditioned) "
                    "and print statsmodels-style statistics: coefficients, standard errors, t, p, confidence "
                    "intervals (classical or robust: --cov), R², F, log-likelihood, AIC, BIC, condition number, "
                    "residual tests (omnibus, Jarque-Bera, Durbin-Watson); --influence writes each row's leverage "
                    "and Cook's distance.",
                    "examples:\n  gradfit solve houses.csv --target price\n"
                    "  gradfit solve filip.csv --target y --poly 10 --json\n"
                    "  gradfit solve longley.csv --target y --alpha 0.01\n"
                    "  gradfit solve panel.csv --target y --cov cluster --cluster firm\n"
                    "  gradfit solve houses.csv --target price --cov HC3 --influence influence.csv")
    add_arguments(solve, "solve")

    path = command("path", run_path, "the lasso/elastic-net/ridge path over λ, and its choice by cross-validation",
                   PATH_DESCRIPTION, PATH_EPILOG)
    add_path_arguments(path)

    predict = command("predict", run_predict, "predictions from a model saved by gradfit fit --save-model",
                      "Predict with a saved model. DATA must have the model's feature columns (any order).\n"
                      "The output is CSV on stdout or in --out: DATA's columns, exactly as the file writes\n"
                      "them, then a <target>_predicted column, so each prediction stays beside its row's id\n"
                      "(--keep chooses the columns).",
                      "examples:\n  gradfit fit houses.csv --target price --save-model model.json\n"
                      "  gradfit predict model.json new_houses.csv --out predictions.csv\n"
                      "  gradfit predict model.json new_houses.csv --keep id,date     the id, the date, the "
                      "prediction\n"
                      "  gradfit predict model.json new_houses.csv --interval prediction --alpha 0.1\n"
                      "  gradfit predict model.json new_houses.csv --json")
    predict.add_argument("model", metavar="MODEL", help="a model file written by --save-model")
    predict.add_argument("data", metavar="DATA", help="a CSV or Parquet file with the model's feature columns")
    predict.add_argument("--keep", metavar="COL,…", help="the input columns written before the prediction, in "
                         "this order, any type (default: every column of DATA, so nothing is lost and the rows "
                         "join back to any id; --keep '' for the prediction alone)")
    predict.add_argument("--interval", metavar="KIND", help="add <target>_lower and <target>_upper: the interval "
                         "for the mean (confidence) or for a new observation (prediction), with the covariance the "
                         "fit reported (as statsmodels' get_prediction)")
    predict.add_argument("--alpha", metavar="A", default="0.05", help="intervals at level 1 - A (default 0.05: 95%%)")
    predict.add_argument("--out", metavar="FILE", help="write the predictions as CSV to FILE (atomically)")
    predict.add_argument("--json", action="store_true", help='print {"predictions": [...]} on stdout (with --interval, "lower" and "upper" too)')
    predict.add_argument("--dropna", action="store_true", help="drop rows with missing values in the model's "
                         "features (and say how many)")


def _tool_commands(command) -> None:
    """datasets, devices, lr-find, graph, bench, traps."""
    walk = command("walkthrough", commands.run_walkthrough, "the tutorial's stages, NumPy loop to nn.Sequential, "
                   "each run on the book data: they agree",
                   "Run the walk-through's stages in the book's order on the book data — a NumPy loop with "
                   "hand-written gradients, leaf tensors with autograd and a manual update in torch.no_grad(), "
                   "torch.optim.SGD, nn.MSELoss, an nn.Module with nn.Parameter, nn.Linear, nn.Sequential — and "
                   "print each stage's start, first gradients, final b and w, final MSE and gap to the closed "
                   "form, and whether they agree.",
                   "examples:\n  gradfit walkthrough\n  gradfit walkthrough --json\n"
                   "  gradfit fit --model tensors --update manual --loss manual --trace-steps 2   (one stage)")
    walk.add_argument("--epochs", type=int, default=1000, help="epochs per stage (default 1000, the book's)")
    walk.add_argument("--lr", type=float, default=0.1, help="learning rate (default 0.1, the book's)")
    walk.add_argument("--device", default="cpu", help="device of the torch stages (default cpu)")
    walk.add_argument("--json", action="store_true", help="print JSON")

    datasets = command("datasets", commands.run_datasets, "list the embedded datasets",
                       "List the datasets that ship with gradfit.")
    datasets.add_argument("--json", action="store_true", help="print JSON")

    devices = command("devices", commands.run_devices, "CPUs and GPUs torch can use, and what auto picks",
                      "List the devices torch can see and which one --device auto picks.")
    devices.add_argument("--json", action="store_true", help="print JSON")
    lr_find = command("lr-find", run_lr_find, "LR range test: a suggested learning rate, beside the stability "
                      "limit, checked", LR_FIND_DESCRIPTION, LR_FIND_EPILOG)
    add_arguments(lr_find, "lr-find")

    graph = command("graph", commands.run_graph, "the autograd graph of one training step (Graphviz)",
                    "Write the computational graph that autograd builds for one training step (forward pass and "
                    "nn.MSELoss on the book data) as Graphviz DOT via torchviz, and render PNG and SVG when "
                    "Graphviz's dot program is installed.",
                    "examples:\n  gradfit graph                       writes graph/autograd-manual.{dot,png,svg}\n"
                    "  gradfit graph --model linear --out pictures/")
    graph.add_argument("--model", help="manual (nn.Parameter b and w; default) or linear (nn.Linear)")
    graph.add_argument("--features", default="1", help="number of features (default 1)")
    graph.add_argument("--out", default="graph", metavar="PATH", help="a folder (default: graph) or a file name")

    bench = command("bench", commands.run_bench, "speed and memory against hand-written baselines",
                    "Time gradfit against the tutorial's PyTorch loop, a NumPy loop, a lean mini-batch loop, "
                    "statsmodels and scikit-learn (where installed), in one run; print a table of ratios (lower is "
                    "better) with each baseline named, and whether each target is met.",
                    "examples:\n  gradfit bench --quick\n  gradfit bench --out benchmarks/RESULTS.md\n"
                    "  gradfit bench --device cuda")
    bench.add_argument("--quick", action="store_true", help="problems about 10x smaller (about a minute)")
    bench.add_argument("--device", default="cpu", help="cpu (default) or cuda for the torch rows")
    bench.add_argument("--json", action="store_true", help="print JSON")
    bench.add_argument("--out", metavar="FILE", help="also write the table, with the machine, to FILE (Markdown)")

    traps = command("traps", run_traps_command, "the walk-through's PyTorch traps, each run live: what PyTorch "
                    "says, why, the fix", TRAPS_DESCRIPTION, TRAPS_EPILOG)
    traps.add_argument("--json", action="store_true", help="print one JSON object: the traps and the torch version")
    traps.add_argument("--only", metavar="NAME", help=f"run one trap alone: {', '.join(TRAP_NAMES)}")
