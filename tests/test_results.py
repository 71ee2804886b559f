"""Results as a user meets them: short reprs, notebook tables, pandas statistics, strict JSON,
tables whose numbers never run together, and advice that fits how the run ended."""

from __future__ import annotations

import io
import json
import math
import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

import gradfit
from gradfit.errors import ConvergenceWarning, default_cli_text, render
from gradfit.least_squares.statistics import OLSStats
from gradfit.results.diagnostics import not_converged_message
from gradfit.results.json_form import json_ready, json_text
from gradfit.results.report import print_report
from gradfit.results.types import History, Params

sm = pytest.importorskip("statsmodels.api", reason="statsmodels is the reference for the statistics frame")


@pytest.fixture(scope="module")
def book():
    return gradfit.fit()


@pytest.fixture(scope="module")
def runs():
    return gradfit.sweep(lr=[0.1, 1.1])


# ----- repr ------------------------------------------------------------------------------

def assert_short(text: str, *needles: str) -> None:
    assert len(text) <= 400 and len(text.splitlines()) <= 4, text
    assert " at 0x" not in text, text
    for needle in needles:
        assert needle in text, (needle, text)


def test_reprs_are_a_few_lines_with_what_matters(book, runs):
    assert_short(repr(book), "FitResult(", "engine='exact'", "n_train=80", "n_val=20", "converged=True",
                 f"max_abs_diff={book.max_abs_diff:.3g}", "'intercept': 1.02354", "'x': 1.96896")
    solved = gradfit.solve()
    assert_short(repr(solved), "SolveResult(", "n_obs=80", "'intercept': 1.02354", "refined=False")
    assert_short(repr(book.params), "Params(intercept=1.02354, coef=[1.96896])")
    assert_short(repr(book.history), "History(epochs=1000", "train_loss=[2.74216, …, 0.00804466]")
    assert_short(repr(book.stats), "OLSStats(n_obs=80", "from least squares")
    assert_short(repr(solved.stats), "at='least squares'")
    assert_short(repr(book.saved_model()), "SavedModel(target='y', features=['x']", "coef=[1.96896]")
    assert_short(repr(runs), "SweepResult([", "SweepRun(lr=0.1, converged=True", "SweepRun(lr=1.1, diverged_at_epoch=")


def test_reprs_stay_short_with_many_parameters_and_runs():
    assert_short(repr(Params(0.5, np.arange(500.0))), "… (500 in all)")
    assert_short(repr(History(list(np.linspace(1, 0, 10_000)), [], [0.1] * 10_000)), "epochs=10000")
    x = np.random.default_rng(0).normal(size=(60, 30))
    res = gradfit.solve(x, x @ np.arange(30.0) + 1)
    assert_short(repr(res), "… (31 in all)")
    assert_short(repr(res.stats), "… (31 in all)")
    many = gradfit.sweep(lr=[0.01 * k for k in range(1, 15)], epochs=20, tol=1e3)
    assert len(repr(many).splitlines()) == 13 and "(14 runs in all)" in repr(many)


def test_streamed_solve_keeps_the_short_repr():
    x = np.arange(10.0)
    res = gradfit.solve_streaming((x, 1 + 2 * x + np.sin(x)), chunk_rows=4)
    assert_short(repr(res), "StreamingSolveResult(n_obs=10")
    assert_short(repr(res.stats), "SufficientOLSStats(n_obs=10")


# ----- HTML ------------------------------------------------------------------------------

class Tags(HTMLParser):
    """Checks that every opened tag is closed in order; collects the text."""

    VOID = {"br", "hr", "meta", "img"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, (tag, self.stack)
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def html_text(markup: str) -> str:
    parser = Tags()
    parser.feed(markup)
    parser.close()
    assert not parser.stack, parser.stack
    return " ".join(parser.text)


def test_html_tables_are_well_formed_and_hold_the_numbers(book, runs):
    text = html_text(book._repr_html_())
    for gd, exact in zip(book.params.theta, book.closed_form.theta):
        assert f"{gd:.9g}" in text and f"{exact:.9g}" in text
    assert "converged: yes" in text and "P>|t|" in text
    solved = gradfit.solve()
    text = html_text(solved._repr_html_())
    assert "[0.025" in text and "0.975]" in text and f"{solved.stats.std_err[1]:.4g}" in text
    text = html_text(runs._repr_html_())
    assert f"at epoch {runs[1].diverged.epoch}" in text and "0.1" in text


def test_html_escapes_names():
    x = pd.DataFrame({"<b>&size</b>": np.linspace(0, 1, 20)})
    res = gradfit.fit(x, 1 + 2 * x.iloc[:, 0] + np.sin(np.arange(20)) / 10, lr="auto", epochs=2000)
    markup = res._repr_html_()
    assert "&lt;b&gt;&amp;size&lt;/b&gt;" in markup and "<b>&size" not in markup
    html_text(markup)


# ----- statistics as pandas ---------------------------------------------------------------

@pytest.mark.parametrize("alpha, low, high", [(0.05, "[0.025", "0.975]"), (0.01, "[0.005", "0.995]")])
def test_statistics_frame_matches_statsmodels(alpha, low, high):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(40, 2))
    y = 0.5 + x @ [1.0, -2.0] + rng.normal(size=40)
    frame = gradfit.solve(pd.DataFrame(x, columns=["size", "rooms"]), y, alpha=alpha).stats.to_frame()
    reference = sm.OLS(y, sm.add_constant(x)).fit().summary2(alpha=alpha).tables[1]
    assert list(frame.columns) == ["coef", "std err", "t", "P>|t|", low, high]
    assert list(reference.columns)[-2:] == [low, high]  # statsmodels' names for the bounds
    assert list(frame.index) == ["intercept", "size", "rooms"]
    np.testing.assert_allclose(frame.to_numpy(), reference.to_numpy(dtype=float), rtol=1e-8)


def test_sweep_result_is_a_list_with_a_frame(runs):
    assert isinstance(runs, list) and len(runs) == 2 and [run.lr for run in runs] == [0.1, 1.1]
    assert [run.lr for run in runs[:1]] == [0.1] and type(runs[:1]).__name__ == "SweepResult"
    frame = runs.to_frame()
    assert list(frame["lr"]) == [0.1, 1.1] and list(frame["diverged"]) == [False, True]
    assert frame.loc[0, "max_abs_diff"] == runs[0].result.max_abs_diff and math.isnan(frame.loc[1, "train_loss"])
    assert frame.loc[1, "diverged_at_epoch"] == runs[1].diverged.epoch
    assert runs.to_json() == json.dumps({"sweep": [run.row() for run in runs]}, indent=2, allow_nan=False)


# ----- JSON ------------------------------------------------------------------------------

def test_json_text_writes_non_finite_numbers_as_null():
    value = {"a": [1.5, math.inf, -math.inf, math.nan], "b": np.float32("nan"), "c": (np.float64(2.0), np.int64(3)),
             "d": np.array([[np.nan, 1.0]]), "e": {"f": [np.inf]}, "g": True, "h": None, "i": "nan"}
    text = json_text(value)
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {"a": [1.5, None, None, None], "b": None, "c": [2.0, 3], "d": [[None, 1.0]],
                                "e": {"f": [None]}, "g": True, "h": None, "i": "nan"}
    finite = {"x": [0.1, 1e-300, 12345678.9], "y": 0.035172036649168056}
    assert json_text(finite) == json.dumps(finite, indent=2) and json_text(finite, indent=None) == json.dumps(finite)
    assert json_ready(np.bool_(True)) is True


def test_results_to_json_never_fails_on_non_finite_values(book):
    assert book.to_json() == json.dumps(book.to_dict(), indent=2, allow_nan=False)  # finite: as before
    broken = gradfit.fit()
    broken.train_loss, broken.history.train_loss[0] = math.inf, math.nan
    data = json.loads(broken.to_json())
    assert data["train_loss"] is None and data["history"]["train_loss"][0] is None
    solved = gradfit.solve()
    solved.std_err = np.array([math.inf, math.nan])
    assert json.loads(solved.to_json(indent=None))["closed_form"]["std_err"] == [None, None]


# ----- the statistics table ---------------------------------------------------------------

LONG = "neighborhood_south_of_the_river_between_the_old_mill_and_the_railway_station"


def coefficient_rows(text: str) -> tuple[str, list[str]]:
    lines = text.splitlines()
    head = next(i for i, line in enumerate(lines) if "std err" in line)
    end = next(i for i in range(head + 2, len(lines)) if lines[i].startswith("="))
    return lines[head], lines[head + 2:end]


def table_case(kind: str):
    rng = np.random.default_rng(11)
    n = 30
    x = rng.normal(size=(n, 3)) * [1.0, 50.0, 1e-3]
    if kind == "huge coefficients":  # 1e6-sized coefficients, std errors near 1e6
        y = -3.4823e6 + 1.2e6 * x[:, 0] - 1.05e4 * x[:, 1] + 2e6 * x[:, 2] + 9e5 * rng.normal(size=n)
    else:  # "t above 10,000": almost no noise
        y = 5.0 + 3.0 * x[:, 0] - 10538.7128 * x[:, 1] + 7.0 * x[:, 2] + 1e-4 * rng.normal(size=n)
    design = np.column_stack([np.ones(n), x])
    names = ["intercept", "neighborhood_south", LONG, "x"]
    return OLSStats(design, y, np.linalg.lstsq(design, y, rcond=None)[0], names=names, alpha=0.01)


@pytest.mark.parametrize("kind", ["huge coefficients", "t above 10,000"])
def test_no_two_numbers_of_the_statistics_table_touch(kind):
    stats = table_case(kind)
    text = stats.summary(y_name="sale_price_in_euros_at_the_closing_of_the_deal")
    header, rows = coefficient_rows(text)
    assert header.split() == ["coef", "std", "err", "t", "P>|t|", "[0.005", "0.995]"]
    assert len(rows) == 4
    for name, row in zip(stats.names, rows):
        assert row.startswith(name + " ")  # the name whole, then a space
        cells = row[len(name):].split()
        assert len(cells) == 6, row
        values = [float(cell) for cell in cells]  # "-3.4823e+06890420.3836" would not parse
        np.testing.assert_allclose(values[0], stats.coef[stats.names.index(name)], rtol=1e-3)
    if kind == "t above 10,000":
        assert max(abs(stats.t)) >= 1e4
    else:
        assert max(abs(stats.coef)) >= 1e6
    widths = {len(line) for line in text.splitlines() if line and set(line) <= {"=", "-"}}
    assert len(widths) == 1 and max(len(line) for line in [header, *rows]) <= widths.pop()


def test_model_statistics_lines_keep_keys_and_values_apart():
    text = table_case("huge coefficients").summary(y_name="sale_price_in_euros_at_the_closing_of_the_deal")
    lines = text.splitlines()
    block = lines[2:lines.index(next(line for line in lines[2:] if line.startswith("=")))]
    pair = r"([A-Z][^:]*:)\s+(\S+)"
    for line in block:
        assert re.fullmatch(pair + r"\s{3,}" + pair, line), line


def test_rich_table_never_cuts_a_number_or_a_name(monkeypatch):
    rng = np.random.default_rng(2)
    x = pd.DataFrame({LONG: rng.uniform(0, 1e3, 50), LONG + "_2": rng.uniform(0, 1, 50)})
    y = -3.5e12 + 8e11 * x.iloc[:, 0] + 1234.5 * x.iloc[:, 1] + rng.normal(size=50)
    res = gradfit.fit(x, y, lr="auto", standardize=True, epochs=500)
    for width in ("40", "80", "200"):
        monkeypatch.setenv("COLUMNS", width)
        buffer = io.StringIO()
        print_report(res, quiet=True, file=buffer)
        table = buffer.getvalue().split("train MSE")[0]
        assert "…" not in table
        for gd, exact in zip(res.params.theta, res.closed_form.theta):
            assert f"{gd:.9g}" in table and f"{exact:.9g}" in table
        folded = "".join(line.split("│")[1].strip() for line in table.splitlines() if line.startswith("│"))
        assert f"w({LONG})" in folded.replace(" ", "")


# ----- advice after early stopping --------------------------------------------------------

def test_a_run_stopped_early_is_told_so_not_to_raise_epochs():
    with pytest.warns(ConvergenceWarning, match=r"stopped early at epoch \d+ of 1000 \(patience 5") as caught:
        res = gradfit.fit(val_split=0.2, patience=5, lr=0.5, epochs=1000, batch_size=8, engine="numpy")
    message = str(caught[0].message)
    assert res.stopped_epoch is not None and f"epoch {res.stopped_epoch} of 1000" in message
    assert "did not converge in 1000 epochs" not in message
    assert "raising epochs would not help" in message and "patience=20" in message
    cli = render(not_converged_message(res), default_cli_text)
    assert "--patience 20" in cli and "leave --patience out" in cli
