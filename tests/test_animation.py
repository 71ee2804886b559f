"""Animations (path.gif, modes.gif) and the result's own figures (FitResult.plot_*).

Frame counts are checked against the schedule as documented (every update to 30, then 59
log-spaced to the last, repeats dropped) written out here with numpy; lines against the book data
from the tutorial's own generator (``book_arrays``) and ``numpy.linalg.lstsq``; files with Pillow.
"""

from __future__ import annotations

import os
import subprocess
import sys

import matplotlib
import numpy as np
import pytest

import gradfit
from gradfit.errors import BadDataError, BadOptionError
from gradfit.figures import animation, plots

from published import NUMPY_START

matplotlib.use("Agg")
Image = pytest.importorskip("PIL.Image")


def documented_schedule(updates: int) -> np.ndarray:
    """The frames the animation module's docstring promises: 0…30, then 59 log-spaced to the end."""
    if updates < 90:
        return np.arange(updates + 1)
    return np.unique(np.r_[np.arange(31), np.round(np.geomspace(31, updates, 59)).astype(int)])


@pytest.fixture(scope="module")
def book(book_arrays):
    return tuple(a[:, 0] for a in book_arrays)  # x_train, y_train, x_val, y_val: (n,) each


@pytest.fixture(scope="module")
def result():
    return gradfit.fit(record_path=True)  # the book data, the default fit: lr 0.1, 1000 full-batch updates


@pytest.fixture(scope="module")
def gifs(result, book, tmp_path_factory):
    """path.gif and modes.gif of the default fit, written as write_plots writes them."""
    folder = tmp_path_factory.mktemp("gifs")
    runs = plots.mode_runs(result, book[0], book[1])
    path = animation.save_animation(animation.path_animation(result, book[0], book[1]), folder / "path.gif")
    modes = animation.save_animation(animation.modes_animation(result, runs), folder / "modes.gif")
    return {"path": path, "modes": modes, "runs": runs, "folder": folder}


def frames(path) -> list[np.ndarray]:
    with Image.open(path) as image:
        out = []
        for index in range(image.n_frames):
            image.seek(index)
            out.append(np.asarray(image.convert("RGB")))
        return out


@pytest.mark.parametrize("updates", [0, 1, 5, 89, 90, 100, 1000, 8000, 10**6])
def test_frame_schedule_is_the_documented_one(updates):
    shown = animation.frame_updates(updates)
    np.testing.assert_array_equal(shown, documented_schedule(updates))
    assert len(shown) <= 90 and shown[0] == 0 and shown[-1] == updates and np.all(np.diff(shown) > 0)


def test_path_gif_frames_follow_the_schedule(result, gifs):
    assert result.updates == 1000 and len(result.path) == 1001
    with Image.open(gifs["path"]) as image:
        assert image.format == "GIF" and image.size == (560, 400)  # 7 × 5 inches at 80 dpi
        assert image.n_frames == len(documented_schedule(1000)) == 90
        assert image.info["loop"] == 0
        durations = []
        for index in range(image.n_frames):
            image.seek(index)
            durations.append(image.info["duration"])
    assert durations == [80] * 89 + [1500]  # the last frame held
    first, *_, last = frames(gifs["path"])
    assert np.abs(first.astype(int) - last).sum(axis=2).astype(bool).mean() > 0.002  # the path was drawn


def test_modes_gif_counts_rows_seen_on_the_same_schedule(gifs, book):
    runs = gifs["runs"]
    n = len(book[1])
    assert runs.epochs == 100 and [run.updates for _, run, _ in runs.runs] == [100, 500, 8000]
    with Image.open(gifs["modes"]) as image:
        assert image.format == "GIF" and image.size == (1200, 400)  # 15 × 5 inches at 80 dpi
        assert image.n_frames == len(documented_schedule(runs.epochs * n)) == 90
    first, *_, last = frames(gifs["modes"])
    assert not np.array_equal(first, last)


def test_gifs_are_gifs_written_atomically(gifs):
    assert sorted(os.listdir(gifs["folder"])) == ["modes.gif", "path.gif"]  # no temporary file left
    for name in ("path", "modes"):
        data = gifs[name].read_bytes()
        assert data[:6] == b"GIF89a" and data[-1:] == b";"
        assert len(data) < 1_000_000  # measured: about 170 kB and 310 kB


def test_the_same_run_gives_the_same_bytes(result, book, gifs):
    again = animation.path_animation(result, book[0], book[1])
    assert again == gifs["path"].read_bytes()


@pytest.mark.parametrize("rows_seen, batch, updates", [(0, 16, 0), (15, 16, 0), (16, 16, 1), (79, 16, 4),
                                                      (80, 16, 5), (100, 16, 6), (79, 80, 0), (80, 80, 1),
                                                      (8000, 80, 100), (8000, 1, 8000), (100, 30, 3)])
def test_each_panel_shows_the_updates_its_batches_have_made(rows_seen, batch, updates):
    # 80 rows in batches of ``batch``, the last batch of an epoch smaller: count by walking the rows.
    made = sum(1 for seen in range(1, rows_seen + 1) if (seen % 80) % batch == 0 or seen % 80 == 0)
    assert made == updates == animation.updates_after(rows_seen, 80, batch)


def test_no_gif_where_no_static_figure_is_drawn(book, tmp_path, monkeypatch):
    monkeypatch.setattr(plots, "save_figure", lambda figure, path: path)  # only which files are made
    res = gradfit.fit(book[0], book[1], intercept=False, epochs=20, tol=1e3, record_path=True)
    paths = plots.write_plots(res, book[0], book[1], None, None, tmp_path, fit_options={})
    assert [p.name for p in paths] == ["losses.png", "fit.png", "lr.png"] and not list(tmp_path.glob("*.gif"))
    assert plots.plot_files("path") == ["path.png", "path.gif"] and plots.plot_files("lr") == ["lr.png"]
    with pytest.raises(BadDataError, match="needs a model with an intercept"):
        animation.path_animation(res, book[0], book[1])
    no_path = gradfit.fit(epochs=20, tol=1e3)
    with pytest.raises(BadOptionError, match="record_path=True"):
        animation.path_animation(no_path, book[0], book[1])


# --- FitResult.plot_losses, plot_fit, plot_path ---------------------------------------------------

def lines(figure) -> dict:
    return {line.get_gid(): (np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float))
            for line in figure.axes[0].get_lines()}


def test_plot_losses_draws_one_line_per_recorded_series(result, book):
    from matplotlib.figure import Figure

    figure = result.plot_losses()
    assert isinstance(figure, Figure) and figure.canvas.manager is None  # not a pyplot window
    assert figure._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n"  # what a notebook shows, with or without pyplot
    drawn = lines(figure)
    assert sorted(drawn) == ["floor", "train", "val"]
    for gid, losses in [("train", result.history.train_loss), ("val", result.history.val_loss)]:
        epochs, values = drawn[gid]
        assert len(values) == len(losses) == 1000
        np.testing.assert_array_equal(epochs, np.arange(1, 1001))
        np.testing.assert_array_equal(values, losses)
    x, y = book[0], book[1]
    no_val = gradfit.fit(x, y, epochs=30, tol=1e3)
    assert sorted(lines(no_val.plot_losses())) == ["floor", "train"]


def test_plot_fit_draws_the_rows_and_passes_through_the_fitted_line(result, book):
    figure = result.plot_fit()  # the book's rows, found from result.dataset
    ax = figure.axes[0]
    train, val = (c for c in ax.collections if c.get_gid() in ("train", "val"))
    np.testing.assert_array_equal(train.get_offsets(), np.column_stack(book[:2]))
    np.testing.assert_array_equal(val.get_offsets(), np.column_stack(book[2:]))
    drawn = lines(figure)
    xs, ys = drawn["gd"]
    np.testing.assert_allclose(ys, result.params.intercept + result.params.coef[0] * xs, rtol=1e-15, atol=1e-15)
    design = np.column_stack([np.ones(80), book[0]])
    b, w = np.linalg.lstsq(design, book[1], rcond=None)[0]
    xs, ys = drawn["closed_form"]
    np.testing.assert_allclose(ys, b + w * xs, atol=1e-12)


def test_plot_fit_of_arrays_splits_the_rows_again_as_val_split_did():
    rng = np.random.default_rng(3)
    x = rng.random(50)
    y = 2 - x + 0.1 * rng.standard_normal(50)
    res = gradfit.fit(x, y, val_split=0.3, epochs=50, lr="auto", seed=7, tol=1e3)
    train = next(c for c in res.plot_fit(x, y).axes[0].collections if c.get_gid() == "train")
    rows = np.asarray(train.get_offsets())
    assert len(rows) == res.n_train == 35
    # The rows drawn are the rows fitted: their least squares is the result's closed form.
    exact = np.linalg.lstsq(np.column_stack([np.ones(len(rows)), rows[:, 0]]), rows[:, 1], rcond=None)[0]
    np.testing.assert_allclose(exact, res.closed_form.theta, rtol=1e-10)
    with pytest.raises(BadDataError, match="pass the x and y"):
        res.plot_fit()
    with pytest.raises(BadDataError, match="49 rows given.*35 training rows"):
        res.plot_fit(x[:-1], y[:-1])


def test_plot_path_draws_the_recorded_path(result):
    drawn = lines(result.plot_path())
    xs, ys = drawn["path"]
    assert len(xs) == 1001  # the start and the 1000 updates
    np.testing.assert_allclose((xs[0], ys[0]), NUMPY_START, atol=5e-9)
    assert (xs[-1], ys[-1]) == (result.params.intercept, result.params.coef[0])


def test_plot_path_without_the_path_names_record_path():
    res = gradfit.fit(epochs=20, tol=1e3)
    with pytest.raises(BadOptionError, match="record_path=True") as caught:
        res.plot_path()
    assert caught.value.option == "record_path"


def test_the_methods_do_not_import_pyplot():
    code = ("import sys, gradfit; r = gradfit.fit(epochs=5, tol=1e3, record_path=True); "
            "r.plot_losses(); r.plot_fit(); r.plot_path(); print('matplotlib.pyplot' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
