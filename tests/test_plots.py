"""Figures: every file is a real PNG, and the plotted data is checked against values computed here.

The book data comes from the tutorial's own generator (``book_arrays`` in conftest), the minimum
from ``numpy.linalg.lstsq``, the stability limit from ``numpy.linalg.eigvalsh``, the losses from a
hand-written gradient-descent loop: none of them from gradfit.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import gradfit
from gradfit.figures import inputs, plots
from gradfit.figures.surface import thin_path
from gradfit.errors import BadDataError, BadOptionError

from published import NUMPY_FIRST_MSE, NUMPY_START

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def book(book_arrays):
    x_train, y_train, x_val, y_val = (a[:, 0] for a in book_arrays)
    return x_train, y_train, x_val, y_val


@pytest.fixture(scope="module")
def result():
    return gradfit.fit(record_path=True)  # the book data, lr 0.1, 1000 full-batch epochs


@pytest.fixture(scope="module")
def lstsq_minimum(book):
    x_train, y_train, _, _ = book
    design = np.column_stack([np.ones_like(x_train), x_train])
    return np.linalg.lstsq(design, y_train, rcond=None)[0]  # (b, w)


def line(figure, gid, axis=0):
    """The Line2D with this gid on the figure's ``axis``-th axes, as (x, y) arrays."""
    matches = [ln for ln in figure.axes[axis].get_lines() if ln.get_gid() == gid]
    assert len(matches) == 1, f"expected one line {gid!r}, found {len(matches)}"
    return np.asarray(matches[0].get_xdata(), float), np.asarray(matches[0].get_ydata(), float)


def assert_png(path, width, height):
    from matplotlib.image import imread

    with open(path, "rb") as handle:
        assert handle.read(8) == PNG_SIGNATURE
    pixels = imread(path)
    assert pixels.shape[:2] == (height, width)
    assert pixels[..., :3].std() > 0.05  # something was drawn


def test_write_plots_writes_every_figure_atomically(result, book, tmp_path):
    folder = tmp_path / "plots" / "book"  # created, parents too
    paths = plots.write_plots(result, *book, folder)
    assert [p.name for p in paths] == ["losses.png", "fit.png", "path.png", "path.gif", "modes.png", "modes.gif",
                                       "lr.png"]
    for path in paths:
        if path.suffix == ".png":
            width = 1800 if path.name == "modes.png" else 840  # 15 or 7 inches at 120 dpi
            assert_png(path, width, 600)
        else:  # the animations: tests/test_animation.py
            assert path.read_bytes()[:6] == b"GIF89a"
        assert os.stat(path).st_mode & 0o777 == 0o666 & ~_umask()  # not mkstemp's 0o600
    assert sorted(os.listdir(folder)) == sorted(p.name for p in paths)  # no temporary files left


def _umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def test_loss_curves_are_the_history(result):
    figure = plots.losses_figure(result)
    epochs, train = line(figure, "train")
    np.testing.assert_array_equal(epochs, np.arange(1, 1001))
    assert train[0] == pytest.approx(NUMPY_FIRST_MSE, rel=1e-13)
    np.testing.assert_array_equal(train, result.history.train_loss)
    np.testing.assert_array_equal(line(figure, "val")[1], result.history.val_loss)
    ax = figure.axes[0]
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "epoch" and ax.get_ylabel()
    assert "exact" in ax.get_title() and "lr 0.1" in ax.get_title() and "full batch" in ax.get_title()


def test_loss_floor_of_data_fitted_from_streamed_statistics(monkeypatch):
    """Large data keeps no rows in its statistics: the floor comes from the closed form's RSS."""
    import gradfit.limits

    monkeypatch.setattr(gradfit.limits, "SMALL_CELLS", 0)
    rng = np.random.default_rng(4)
    x = rng.normal(size=(500, 2))
    y = 1.0 + x @ [2.0, -1.0] + rng.normal(size=500)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = gradfit.fit(x, y, epochs=5)
    design = np.column_stack([np.ones(500), x])
    floor = np.mean((y - design @ np.linalg.lstsq(design, y, rcond=None)[0]) ** 2)
    assert inputs.least_squares_mse(res) == pytest.approx(floor, rel=1e-12)
    plots.losses_figure(res)


def test_fit_figure_shows_the_points_and_both_lines(result, book, lstsq_minimum):
    x_train, y_train, x_val, y_val = book
    figure = plots.fit_figure(result, *book)
    ax = figure.axes[0]
    train, val = (c for c in ax.collections if c.get_gid() in ("train", "val"))
    np.testing.assert_array_equal(train.get_offsets(), np.column_stack([x_train, y_train]))
    np.testing.assert_array_equal(val.get_offsets(), np.column_stack([x_val, y_val]))
    for gid, (b, w), atol in [("gd", result.params.theta, 0), ("closed_form", lstsq_minimum, 1e-12)]:
        xs, ys = line(figure, gid)
        np.testing.assert_allclose(ys, b + w * xs, atol=atol)
    assert line(figure, "closed_form") and ax.get_legend() is not None


def test_path_starts_at_the_initial_values_and_ends_at_the_answer(result, book, lstsq_minimum):
    figure = plots.path_figure(result, book[0], book[1])
    xs, ys = line(figure, "path")
    np.testing.assert_allclose((xs[0], ys[0]), NUMPY_START, atol=5e-9)  # the published start
    assert (xs[-1], ys[-1]) == (result.params.intercept, result.params.coef[0])
    assert len(xs) == 1001  # the start and 1000 updates, not thinned
    np.testing.assert_allclose(np.concatenate(line(figure, "minimum")), lstsq_minimum, atol=1e-12)
    np.testing.assert_allclose(np.concatenate(line(figure, "start")), NUMPY_START, atol=5e-9)
    ax = figure.axes[0]
    assert ax.get_xlabel().startswith("b") and ax.get_ylabel().startswith("w")
    (b_low, b_high), (w_low, w_high) = ax.get_xlim(), ax.get_ylim()
    assert b_low < min(xs) and max(xs) < b_high and w_low < min(ys) and max(ys) < w_high


def test_the_contoured_surface_is_the_training_mse(book, lstsq_minimum):
    x_train, y_train, _, _ = book
    surface = plots.LossSurface(x_train, y_train, tuple(lstsq_minimum))
    rng = np.random.default_rng(0)
    for b, w in rng.normal(size=(5, 2)) * 3:
        assert surface(np.array(b), np.array(w)) == pytest.approx(np.mean((y_train - b - w * x_train) ** 2), rel=1e-12)
    assert surface.floor == pytest.approx(np.mean((y_train - lstsq_minimum[0] - lstsq_minimum[1] * x_train) ** 2))


def test_long_paths_are_thinned_keeping_both_ends():
    path = np.arange(40_002.0).reshape(-1, 2)
    thin = thin_path(path, 500)
    assert len(thin) == 500 and (thin[0] == path[0]).all() and (thin[-1] == path[-1]).all()
    assert thin_path(path[:10], 500) is not None and len(thin_path(path[:10], 500)) == 10


def test_modes_figure_runs_batch_minibatch_and_stochastic_from_the_same_start(result, book, lstsq_minimum):
    figure = plots.modes_figure(result, book[0], book[1], epochs=20)
    n = len(book[0])
    panels = figure.axes[:3]
    for axis, (mode, updates) in enumerate([("batch (80 rows)", 20), ("mini-batch (16 rows)", 20 * math.ceil(n / 16)),
                                            ("stochastic (1 row)", 20 * n)]):
        assert mode in panels[axis].get_title() and f"{updates:,} updates" in panels[axis].get_title()
        xs, ys = line(figure, "path", axis)
        assert len(xs) == updates + 1
        np.testing.assert_allclose((xs[0], ys[0]), NUMPY_START, atol=5e-9)
        np.testing.assert_allclose(np.concatenate(line(figure, "minimum", axis)), lstsq_minimum, atol=1e-12)
    # Stochastic GD ends near the minimum, well within the loss surface's valley.
    assert np.hypot(xs[-1] - lstsq_minimum[0], ys[-1] - lstsq_minimum[1]) < 0.2


def test_lr_figure_brackets_the_stability_limit_and_the_fast_rate_diverges(result, book):
    x_train, y_train, _, _ = book
    design = np.column_stack([np.ones_like(x_train), x_train])
    limit = 2 / np.linalg.eigvalsh(2 / len(x_train) * design.T @ design).max()  # 2/L, independently
    figure = plots.lr_figure(result, *book, epochs=200)
    labels = [ln.get_label() for ln in figure.axes[0].get_lines() if (ln.get_gid() or "").startswith("lr-")]
    assert [float(label.split()[1]) for label in labels] == pytest.approx(
        [0.1 * limit, 0.5 * limit, 0.95 * limit, 1.1 * limit], rel=1e-3)

    # The slowest rate's curve is plain full-batch gradient descent from the published start.
    theta, losses = np.array(NUMPY_START), []
    for _ in range(200):
        error = design @ theta - y_train
        losses.append(np.mean(error ** 2))
        theta = theta - 0.1 * limit * 2 * design.T @ error / len(y_train)
    np.testing.assert_allclose(line(figure, "lr-0.1")[1], losses, rtol=1e-6)
    for factor in (0.5, 0.95):
        curve = line(figure, f"lr-{factor:g}")[1]
        assert np.all(np.diff(curve) <= 1e-15 * curve[0])  # below the limit the loss only falls (to rounding)

    epochs, diverging = line(figure, "lr-1.1")
    assert len(diverging) < 200 and np.all(np.diff(diverging) > 0)  # above the limit: it only rises …
    assert diverging[-1] > 1e4 * diverging[0]  # … until the divergence rule stops it
    assert "diverged at epoch" in labels[-1]
    np.testing.assert_array_equal(np.concatenate(line(figure, "diverged-1.1")), (epochs[-1], diverging[-1]))
    assert figure.axes[0].get_yscale() == "log"


def test_standardized_runs_are_drawn_on_the_original_scale():
    rng = np.random.default_rng(7)
    x = rng.normal(50, 10, 120)
    y = 3 - 0.5 * x + rng.normal(0, 2, 120)
    res = gradfit.fit(x, y, standardize=True, lr="auto", epochs=200, record_path=True)
    figure = plots.path_figure(res, x, y)
    xs, ys = line(figure, "path")
    np.testing.assert_allclose((xs[0], ys[0]), res.initial.theta, rtol=1e-12)
    np.testing.assert_allclose((xs[-1], ys[-1]), res.params.theta, rtol=1e-12)
    exact = np.linalg.lstsq(np.column_stack([np.ones_like(x), x]), y, rcond=None)[0]
    np.testing.assert_allclose(np.concatenate(line(figure, "minimum")), exact, rtol=1e-10)
    np.testing.assert_allclose((xs[-1], ys[-1]), exact, rtol=1e-6)  # the run ended at the marked minimum


def test_several_features_skip_the_line_and_surface_figures(tmp_path, monkeypatch):
    x = np.random.default_rng(0).random((60, 2))
    res = gradfit.fit(x, x @ [1.0, 2.0] + 0.5, lr="auto", epochs=30, tol=1e3, record_path=True)
    skipped = plots.skipped_plots(res)
    assert sorted(skipped) == ["fit", "modes", "path"] and "2 features" in skipped["fit"]
    saved = []  # rendering is tested above; here only which figures are made
    monkeypatch.setattr(plots, "save_figure", lambda figure, path: saved.append(figure) or path)
    paths = plots.write_plots(res, x, x @ [1.0, 2.0] + 0.5, None, None, tmp_path, fit_options={})
    assert [p.name for p in paths] == ["losses.png", "lr.png"] and len(saved) == 2
    with pytest.raises(BadDataError, match="needs one feature"):
        plots.fit_figure(res, x, x @ [1.0, 2.0])


def test_no_intercept_and_no_path_skip_what_they_cannot_draw(book):
    res = gradfit.fit(book[0], book[1], intercept=False, epochs=50, tol=1e3)
    assert sorted(plots.skipped_plots(res)) == ["modes", "path"]
    res = gradfit.fit(epochs=50, tol=1e3)
    assert "record_path=True" in plots.skipped_plots(res)["path"]
    with pytest.raises(BadOptionError, match="record_path=True"):
        plots.path_figure(res, book[0], book[1])


def test_plot_lr_find_marks_the_suggestion(tmp_path):
    lrs = np.geomspace(1e-4, 10, 40)
    losses = 1 / (1 + 10 * lrs) + np.where(lrs > 2, np.inf, 0)  # the last rates "diverge"
    path = plots.plot_lr_find(lrs, losses, 0.05, tmp_path / "lr_find.png")
    assert_png(path, 840, 600)
    figure = plots.lr_find_figure(lrs, losses, 0.05)
    xs, ys = line(figure, "loss")
    assert len(xs) == int(np.sum(lrs <= 2)) and np.isfinite(ys).all()
    mark_x, mark_y = line(figure, "suggestion")
    assert mark_x[0] == 0.05 and mark_y[0] == pytest.approx(1 / (1 + 10 * 0.05), rel=0.01)
    assert figure.axes[0].get_xscale() == "log"
    with pytest.raises(BadDataError, match="3 learning rates and 2 losses"):
        plots.lr_find_figure([1, 2, 3], [1, 2], None)


def test_write_plots_refuses_a_file_as_its_folder(result, book, tmp_path):
    target = tmp_path / "taken"
    target.write_text("")
    with pytest.raises(BadOptionError, match="is a file"):
        plots.write_plots(result, *book, target)


def test_importing_gradfit_does_not_import_matplotlib():
    code = "import sys, gradfit, gradfit.figures.plots, gradfit.figures.graph; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_refits_do_not_warn_and_keep_the_options_they_set(result, book):
    # The CLI may pass its whole option set: the rows and each figure's own settings win.
    options = dict(val_split=0.5, engine="torch", model="linear", lr=50.0, batch_size=4, epochs=9)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        figure = plots.modes_figure(result, book[0], book[1], epochs=2, fit_options=options)  # far from converged
    assert "160 updates" in figure.axes[2].get_title() and "lr 0.1" in figure.axes[2].get_title()
