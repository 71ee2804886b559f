"""How results look in a Python prompt and a notebook: short ``repr`` text and HTML tables.

A ``repr`` is what a prompt prints for a bare ``res``: a line or a few (what ran, on how many
rows, the parameters, the gap to the closed form, the verdict), never every loss of every epoch.
The HTML forms (``_repr_html_``, which Jupyter shows instead) are small tables built from the
same fields, escaped, with numbers right-aligned in tabular figures. Reads results, computes nothing.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Callable, Iterable

import numpy as np

from ..errors import render
from .diagnostics import not_converged_message
from .report import SWEEP_HEADERS, header_line, penalty_lines, sweep_cells

if TYPE_CHECKING:
    from .sweep_result import SweepRun
    from .types import FitResult, History, Params, SolveResult

SHOWN = 6  # values a repr lists before "…"
HTML_ROWS = 30  # table rows shown before "… and N more"


def short(value) -> str:
    """A number in six significant digits; ``None`` as is."""
    return "None" if value is None else f"{float(value):.6g}"


def numbers_text(values: Iterable, fmt: Callable = short, limit: int = SHOWN) -> str:
    """``[1.02354, 1.96896]``: at most ``limit`` items, then ``…, (p in all)``."""
    values = list(values)
    shown = ", ".join(fmt(v) for v in values[:limit])
    return f"[{shown}, … ({len(values)} in all)]" if len(values) > limit else f"[{shown}]"


def named_text(names: list[str], values: Iterable, limit: int = SHOWN) -> str:
    """``{'intercept': 1.02354, 'x': 1.96896}``, at most ``limit`` entries."""
    pairs = [f"{name!r}: {short(value)}" for name, value in zip(names, values)]
    more = f", … ({len(pairs)} in all)" if len(pairs) > limit else ""
    return "{" + ", ".join(pairs[:limit]) + more + "}"


def parameter_names(names: list[str], intercept: bool) -> list[str]:
    """``["intercept", *names]`` with an intercept, else ``names``."""
    return (["intercept"] if intercept else []) + list(names)


def params_repr(params: Params) -> str:
    """``Params(intercept=1.02354, coef=[1.96896])``."""
    return f"Params(intercept={short(params.intercept)}, coef={numbers_text(np.asarray(params.coef).ravel())})"


def history_repr(history: History) -> str:
    """``History(epochs=1000, train_loss=[2.74216, …, 0.00804466], val_loss=[])``."""
    def ends(values: list[float]) -> str:
        if len(values) <= 3:
            return numbers_text(values)
        return f"[{short(values[0])}, …, {short(values[-1])}]"

    text = f"History(epochs={len(history.train_loss)}, train_loss={ends(history.train_loss)}, " \
           f"val_loss={ends(history.val_loss)}"
    if len(set(history.lr)) > 1:
        text += f", lr={ends(history.lr)}"
    return text + ")"


def fit_repr(result: FitResult) -> str:
    """Two lines: what ran and the verdict; the parameters."""
    stopped = "" if result.stopped_epoch is None else f", stopped_epoch={result.stopped_epoch}"
    names = parameter_names(result.names, result.params.intercept is not None)
    return (f"FitResult(engine={result.engine!r}, n_train={result.n_train}, n_val={result.n_val}, "
            f"epochs={result.epochs}, lr={result.lr:.4g}{stopped}, converged={result.converged}, "
            f"max_abs_diff={result.max_abs_diff:.3g},\n"
            f"          params={named_text(names, result.params.theta)})")


def solve_repr(result: SolveResult) -> str:
    """Two lines: rows, fit, accuracy; the closed form."""
    stats = result.stats
    names = parameter_names(result.names, result.closed_form.intercept is not None)
    pad = " " * (len(type(result).__name__) + 1)
    if stats is None:  # a penalized answer
        penalty = result.penalty
        return (f"{type(result).__name__}(penalty={penalty['kind']!r}, l1={penalty['l1']:g}, l2={penalty['l2']:g}, "
                f"kkt={penalty['kkt_closed_form']:.3g},\n{pad}closed_form={named_text(names, result.closed_form.theta)})")
    return (f"{type(result).__name__}(n_obs={stats.n_obs}, r_squared={stats.r_squared:.6g}, "
            f"condition_number={result.condition_number:.3g}, refined={result.refined},\n"
            f"{pad}closed_form={named_text(names, result.closed_form.theta)})")


def sweep_run_repr(run: SweepRun) -> str:
    """``SweepRun(lr=0.1, converged=True, max_abs_diff=1.9e-07, train_loss=0.00804466)``."""
    if run.result is None:
        return f"SweepRun(lr={run.lr:g}, diverged_at_epoch={run.diverged.epoch})"
    res = run.result
    return (f"SweepRun(lr={run.lr:g}, converged={res.converged}, max_abs_diff={res.max_abs_diff:.3g}, "
            f"train_loss={res.train_loss:.6g})")


def sweep_repr(runs: list[SweepRun], limit: int = 10) -> str:
    """One line per run (``limit`` at most), inside ``SweepResult([…])``."""
    lines = [f"  {sweep_run_repr(run)}," for run in runs[:limit]]
    if len(runs) > limit:
        lines.append(f"  … ({len(runs)} runs in all)")
    return "SweepResult([\n" + "\n".join(lines) + "\n])" if lines else "SweepResult([])"


# ----- HTML -------------------------------------------------------------------------------

_STYLE = ("<style>.gradfit-result table{border-collapse:collapse;margin:0.3em 0}"
          ".gradfit-result th,.gradfit-result td{padding:0.15em 0.7em;border-bottom:1px solid #8884}"
          ".gradfit-result td.num,.gradfit-result th.num{text-align:right;font-variant-numeric:tabular-nums;"
          "white-space:nowrap}.gradfit-result td.name{text-align:left;overflow-wrap:anywhere}"
          ".gradfit-result p{margin:0.2em 0}</style>")


def html_table(headers: list[str], rows: list[list], title: str = "") -> str:
    """An escaped HTML table; the first column is a name, the others numbers or words."""
    def cell(tag: str, value, first: bool) -> str:
        kind = "name" if first else "num"
        return f'<{tag} class="{kind}">{html.escape(str(value))}</{tag}>'

    head = "".join(cell("th", h, j == 0) for j, h in enumerate(headers))
    shown = rows if len(rows) <= HTML_ROWS + 1 else rows[:HTML_ROWS]
    body = ["<tr>" + "".join(cell("td", v, j == 0) for j, v in enumerate(row)) + "</tr>" for row in shown]
    if len(shown) < len(rows):
        body.append(f'<tr><td class="name" colspan="{len(headers)}">… and {len(rows) - len(shown)} more</td></tr>')
    caption = f"<caption style=\"text-align:left\">{html.escape(title)}</caption>" if title else ""
    return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def html_block(title: str, lines: list[str], tables: list[str]) -> str:
    """A titled block: escaped lines of text, then tables (already HTML)."""
    text = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
    return f'<div class="gradfit-result">{_STYLE}<p><b>{html.escape(title)}</b></p>{text}{"".join(tables)}</div>'


def fit_html(result: FitResult) -> str:
    """What ran, the verdict, and gradient descent beside the closed form (with the statistics)."""
    names = parameter_names(result.names, result.params.intercept is not None)
    headers = ["parameter", "gradient descent", "closed form", "|gap|"]
    stats = result.stats
    if stats is not None:
        headers += ["std err", "P>|t|"]
    rows = []
    for j, (name, gd, exact) in enumerate(zip(names, result.params.theta, result.closed_form.theta)):
        row = [name, f"{gd:.9g}", f"{exact:.9g}", f"{abs(gd - exact):.2e}"]
        if stats is not None:
            row += [f"{stats.std_err[j]:.4g}", f"{stats.p[j]:.3g}"]
        rows.append(row)
    losses = f"train MSE {result.train_loss:.6g}" + (
        "" if result.val_loss is None else f" · validation MSE {result.val_loss:.6g}")
    verdict = (f"converged: {'yes' if result.converged else 'NO'} · max |GD − closed form| = "
               f"{result.max_abs_diff:.3g} · {losses}")
    lines = [header_line(result).removeprefix("gradfit fit · "), verdict]
    if not result.converged:
        lines.append(render(not_converged_message(result)))
    return html_block("FitResult", lines, [html_table(headers, rows)])


def solve_html(result: SolveResult) -> str:
    """Model statistics, then the coefficient table (as :meth:`OLSStats.summary`); a penalized
    answer's coefficients and what it minimised."""
    stats = result.stats
    names = parameter_names(result.names, result.closed_form.intercept is not None)
    if stats is None:
        rows = [[name, f"{value:.12g}"] for name, value in zip(names, result.closed_form.theta)]
        return html_block(type(result).__name__, penalty_lines(result.penalty, None, result.closed_form.coef),
                          [html_table(["parameter", "coef"], rows)])
    low, high = stats.interval_labels()
    rows = [[name, f"{stats.coef[j]:.9g}", f"{stats.std_err[j]:.4g}", f"{stats.t[j]:.4g}", f"{stats.p[j]:.3g}",
             f"{stats.ci_low[j]:.6g}", f"{stats.ci_high[j]:.6g}"] for j, name in enumerate(names)]
    lines = [f"exact least squares · {stats.n_obs} rows · R² {stats.r_squared:.6g} · adj. R² "
             f"{stats.adj_r_squared:.6g} · F {stats.f_statistic:.6g} (p {stats.f_pvalue:.3g}) · residual std "
             f"{stats.residual_std:.6g} · condition number {result.condition_number:.3g}"
             + (" · refined exactly" if result.refined else "")]
    table = html_table(["parameter", "coef", "std err", "t", "P>|t|", low, high], rows)
    return html_block(type(result).__name__, lines, [table])


def sweep_html(runs: list[SweepRun]) -> str:
    """One row per learning rate (the cells of :func:`gradfit.results.report.sweep_table`)."""
    rows, headers = sweep_cells(runs), list(SWEEP_HEADERS)
    stable = next((run.result.lr_max_stable for run in runs if run.result is not None), None)
    lines = [] if stable is None else [f"largest stable full-batch learning rate for this data: {stable:.4g}"]
    return html_block(f"SweepResult: {len(runs)} learning rate(s)", lines, [html_table(headers, rows)])
