"""Terminal output: the update trace and the result table. Reads a FitResult, computes nothing."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import numpy as np

from ..errors import CliRenderer, render
from .diagnostics import not_converged_message

if TYPE_CHECKING:
    from .types import FitResult, Params


def ordinal(k: int) -> str:
    """``1st``, ``2nd``, ``3rd``, ``4th`` … ``11th``, ``12th``, ``13th`` … ``21st`` … ``101st``."""
    if 10 <= k % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"


def number(value: float) -> str:
    """Four decimals for ordinary magnitudes (``0.4967``), scientific notation otherwise."""
    if value == 0 or 1e-3 <= abs(value) < 1e5:
        return f"{value:.4f}"
    return f"{value:.4e}"


def params_text(params: Params) -> str:
    """``b = 0.4967, w = -0.1383``; a weight vector in brackets when there are several."""
    coef = np.asarray(params.coef)
    w = number(float(coef[0])) if coef.size == 1 else "[" + ", ".join(number(float(c)) for c in coef) + "]"
    if params.intercept is None:
        return f"w = {w}"
    return f"b = {number(params.intercept)}, w = {w}"


def trace_lines(result: FitResult) -> list[str]:
    """``Initial: …``, one line per traced update before the last, then ``Final: …``."""
    lines = [f"Initial: {params_text(result.initial)}"]
    lines += [f"{ordinal(e.update)} update: {params_text(e.params)}" for e in result.trace
              if e.update < result.updates]
    lines.append(f"Final: {params_text(result.params)}")
    return lines


def step_lines(result: FitResult) -> list[str]:
    """``trace_steps``: the tutorial's four steps of each recorded update (where GD runs)."""
    names = (["b"] if result.params.intercept is not None else []) + \
        (["w"] if len(result.names) == 1 else [f"w[{name}]" for name in result.names])
    lines = []
    for step in result.steps:
        head = ", ".join(f"{v:.4f}" for v in step["predictions"])
        lines += [f"update {step['update']}:",
                  f"  step 1, forward pass: ŷ = {head}{', …' if head else '(no rows at hand)'}",
                  f"  step 2, loss: MSE = {step['loss']:.6g}",
                  "  step 3, gradients: " + ", ".join(f"{n} {g:.4f}" for n, g in zip(names, step["gradient"])),
                  "  step 4, update: " + ", ".join(f"{n} {a:.4f} → {z:.4f}" for n, a, z in
                                                   zip(names, step["before"], step["after"]))]
    return lines


def header_line(result: FitResult) -> str:
    """What ran: data, engine, device, dtype, optimizer, schedule."""
    from ..data import DATASETS

    data = result.dataset or "data"
    if data in DATASETS:
        data += " data"  # an embedded dataset; otherwise the file's path
    rows = f"{result.n_train} train" + (f" / {result.n_val} validation" if result.n_val else "") + " rows"
    batch = "full batch" if result.batch_size is None else (
        "stochastic (batch size 1)" if result.batch_size == 1 else f"mini-batch {result.batch_size}")
    lr = f"lr {result.lr:.4g}" + (" (auto)" if result.lr_requested == "auto" else "")
    if result.scheduler:
        lr += f", {result.scheduler} schedule"
    engine = f"engine {result.engine}" + (f" ({result.model} model)" if result.model else "")
    where = result.device if result.world_size == 1 else f"{result.world_size} processes ({result.device} on rank 0)"
    return (f"gradfit fit · {data} ({rows}) · {engine} on {where}, {result.dtype} · "
            f"{result.optimizer} {lr} · {result.epochs} epochs, {batch}")


def results_table(result: FitResult):
    """A Rich table: parameter, gradient-descent value, closed form, gap.

    Rich fits the table to the console's width. Number columns are never narrower than their
    widest cell, so a number is never cut or broken; a long parameter name wraps (whole, never
    cut short with "…": two cut names could look the same).
    """
    from rich.table import Table

    names = (["b (intercept)"] if result.params.intercept is not None else [])
    names += [f"w ({n})" for n in result.names]
    rows = [[f"{gd:.9g}", f"{exact:.9g}", f"{abs(gd - exact):.2e}"]
            for gd, exact in zip(result.params.theta, result.closed_form.theta)]
    title = "Gradient descent vs exact least squares" if result.penalty is None else \
        f"Gradient descent vs the exact {result.penalty['kind']} answer"
    table = Table(title=title, title_justify="left")
    table.add_column("parameter", overflow="fold", min_width=min(max(len(n) for n in names), 20))
    for j, header in enumerate(["gradient descent", "closed form", "|gap|"]):
        widest = max([len(header)] + [len(row[j]) for row in rows])
        table.add_column(header, justify="right", no_wrap=True, min_width=widest)
    for name, row in zip(names, rows):
        table.add_row(name, *row)
    return table


SWEEP_HEADERS = ("lr", "train MSE", "validation MSE", "max |GD − closed form|", "converged", "diverged")


def sweep_cells(runs) -> list[list[str]]:
    """The cells of a sweep's table (:data:`SWEEP_HEADERS`), one row per learning rate."""
    def number(value) -> str:
        return "–" if value is None else f"{value:.6g}"

    return [[f"{row['lr']:g}", number(row["train_loss"]), number(row["val_loss"]), number(row["max_abs_diff"]),
             "yes" if row["converged"] else "no", f"at epoch {row['diverged_at_epoch']}" if row["diverged"] else "no"]
            for row in (run.row() for run in runs)]


def sweep_table(runs):
    """A Rich table of a learning-rate sweep, one row per rate (number columns never cut, as
    :func:`results_table`; print it inside :class:`AtLeast`)."""
    from rich.table import Table

    rows = sweep_cells(runs)
    table = Table(title="Learning-rate sweep (one full run per rate)", title_justify="left")
    for j, header in enumerate(SWEEP_HEADERS):
        table.add_column(header, justify="right", no_wrap=True, min_width=max([len(header)] + [len(r[j]) for r in rows]))
    for row in rows:
        table.add_row(*row)
    return table


class AtLeast:
    """``table`` laid out at the console's width, or at its columns' minimum widths when the
    console is narrower (the terminal then wraps the long lines; Rich would cut the numbers)."""

    def __init__(self, table) -> None:
        self.table = table
        # Each column adds one space of padding on either side and one border line.
        self.width = sum(column.min_width or 1 for column in table.columns) + 3 * len(table.columns) + 1

    def __rich_console__(self, console, options):
        yield from console.render(self.table, options.update_width(max(options.max_width, self.width)))


def footer_lines(result: FitResult, cli: CliRenderer | None = None) -> list[str]:
    """Losses, convergence, and the largest gap (advice naming options as ``cli`` spells them,
    Python's ``lr=0.1`` by default)."""
    mse = "weighted MSE" if result.stats is not None and result.stats.weighting is not None else "MSE"
    losses = f"train {mse} {result.train_loss:.9g}"
    if result.val_loss is not None:
        losses += f" · validation {mse} {result.val_loss:.9g}"
    verdict = "yes" if result.converged else "NO"
    relation = "≤" if result.converged else ">"
    lines = [losses]
    if result.resumed_from:
        lines.append(f"resumed from {result.resumed_from} at epoch {result.start_epoch}")
    if result.stopped_epoch is not None:
        lines.append(f"early stopping: no better validation loss for {result.patience} epochs; stopped after epoch "
                     f"{result.stopped_epoch}, kept the weights of epoch {result.best_epoch}")
    if result.checkpoint:
        lines.append(f"checkpoint: {result.checkpoint}")
    lines += penalty_lines(result.penalty, result.params.coef, result.closed_form.coef)
    measure = "gradient norm" if result.penalty is None else "KKT residual"
    lines += [
        f"max |GD − closed form| = {result.max_abs_diff:.3g}",
        f"converged: {verdict} (scale-free {measure} {result.grad_norm:.3g} {relation} tol {result.tol:g}; "
        f"{result.initial_grad_norm:.3g} at the start; {result.stopped_epoch or result.epochs} epochs, "
        f"{result.updates} updates)",
    ]
    if not result.converged:
        lines.append("  " + render(not_converged_message(result), cli))
    return lines


NO_STANDARD_ERRORS = ("standard errors: none — classical standard errors, tests and intervals assume unpenalized "
                      "least squares, not a penalized fit")


def penalty_lines(penalty: dict | None, coef: np.ndarray | None = None, exact_coef: np.ndarray | None = None
                  ) -> list[str]:
    """What a penalized fit minimised, how close both answers are to its optimum, and why no
    standard errors are given (nothing for an unpenalized fit)."""
    if penalty is None:
        return []
    lines = [f"penalty: {penalty['kind']} (l1 {penalty['l1']:g}, l2 {penalty['l2']:g}) on the {penalty['on']}, "
             "never the intercept"]
    if "objective" in penalty:
        lines.append(f"objective MSE + penalty (where GD runs): GD {penalty['objective']:.12g} · exact "
                     f"{penalty['objective_closed_form']:.12g}")
        lines.append(f"KKT residual (scale-free): GD {penalty['kkt']:.3g} · exact {penalty['kkt_closed_form']:.3g}")
    else:
        lines.append(f"objective MSE + penalty: {penalty['objective_closed_form']:.12g} · KKT residual (scale-free) "
                     f"{penalty['kkt_closed_form']:.3g}")
    if penalty["l1"] and exact_coef is not None:
        zeros = f"{int(np.sum(np.asarray(exact_coef) == 0))} of {np.size(exact_coef)} coefficients exactly zero (exact)"
        if coef is not None:
            zeros += f", {int(np.sum(np.asarray(coef) == 0))} (GD)"
        lines.append(zeros)
    return lines + [NO_STANDARD_ERRORS]


def penalized_solve_text(result) -> str:
    """``gradfit solve`` with a penalty: the coefficients and :func:`penalty_lines`."""
    names = (["intercept"] if result.closed_form.intercept is not None else []) + list(result.names)
    width = max(len(name) for name in names)
    lines = [f"gradfit solve: exact {result.penalty['kind']}", ""]
    lines += [f"{name:<{width}}  {value: .12g}" for name, value in zip(names, result.closed_form.theta)]
    return "\n".join(lines + [""] + penalty_lines(result.penalty, None, result.closed_form.coef)) + "\n"


def stats_text(result: FitResult) -> str:
    """The statsmodels-style table, computed at the gradient-descent solution."""
    title = "Statistics at the gradient-descent solution"
    if not result.converged:
        title += " (NOT converged: approximate)"
    return result.stats.summary(title=title, y_name=result.target or "y")


def print_report(result: FitResult, *, quiet: bool = False, file=None, cli: CliRenderer | None = None) -> None:
    """The whole terminal report: header, trace (unless ``quiet``), table, footer (``cli``: how
    the command line names options, see :func:`gradfit.errors.render`)."""
    from rich.console import Console

    console = Console(file=file, highlight=False, soft_wrap=True)
    console.print(header_line(result), markup=False)
    for line in step_lines(result):
        console.print(line, markup=False)
    if not quiet:
        for line in trace_lines(result):
            console.print(line, markup=False)
        if result.first_gradient is not None:
            console.print(f"first gradient: {params_text(result.first_gradient)}", markup=False)
    console.print(AtLeast(results_table(result)))
    for line in footer_lines(result, cli):
        console.print(line, markup=False)
    if result.stats is not None:
        console.print()
        console.print(stats_text(result), markup=False)


def summary_text(result: FitResult) -> str:
    """:func:`print_report` without the trace, as plain text."""
    buffer = io.StringIO()
    print_report(result, quiet=True, file=buffer)
    return buffer.getvalue()
