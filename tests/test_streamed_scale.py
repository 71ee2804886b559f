"""Streamed mini-batches at scale: one global batch order that depends on the file alone.

The order is a function of the rows' positions, the buffer, the batch size and the seed: not of
``chunk_rows``, nor of how many processes read the file. So a streamed run checkpoints and
resumes bit-exactly, holds out the same validation rows on every pass, and draws the same global
batches on 1, 2 or 3 processes (simulated here with threads; torchrun runs are in
tests/test_distributed.py).
"""

from __future__ import annotations

import threading
import warnings

import numpy as np
import pandas as pd
import pytest

import gradfit
from gradfit.data.batches import held_out, row_digest
from gradfit.data.chunks import iter_array_chunks
from gradfit.errors import BadDataError
from gradfit.scale.shuffle_buffer import ShuffledBatches


@pytest.fixture(scope="module")
def csv_path(tmp_path_factory):
    rng = np.random.default_rng(11)
    n = 2000
    x = rng.normal(size=(n, 3)) * [1.0, 3.0, 0.5] + [2.0, -1.0, 0.0]
    y = 1.5 + x @ [2.0, -0.7, 0.4] + 0.3 * rng.normal(size=n)
    path = tmp_path_factory.mktemp("scale") / "rows.csv"
    lines = ["a,b,c,y"] + [",".join(repr(float(v)) for v in row) for row in np.column_stack([x, y])]
    path.write_text("\n".join(lines) + "\n")
    return path


def streamed(path, **options):
    base = dict(target="y", chunk_rows=170, batch_size=32, shuffle_buffer=500, lr=0.05, dtype="float64",
                epochs=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a few mini-batch epochs do not converge: not what is tested
        return gradfit.fit_streaming(str(path), **{**base, **options})


# ---------------------------------------------------------------- the rule on positions

def test_held_out_rows_depend_on_the_position_alone():
    n, fraction = 200_000, 0.2
    whole = held_out(np.arange(n), fraction, seed=5)
    pieces = np.concatenate([held_out(np.arange(a, min(a + 7_919, n)), fraction, 5) for a in range(0, n, 7_919)])
    np.testing.assert_array_equal(pieces, whole)
    # a binomial share: within 5 standard deviations of n·f
    assert abs(whole.sum() - n * fraction) < 5 * np.sqrt(n * fraction * (1 - fraction))
    assert (held_out(np.arange(n), fraction, seed=6) != whole).mean() > 0.2  # the seed matters


def test_the_row_digest_of_any_split_adds_up_to_the_whole():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(1000, 4)), rng.normal(size=1000)
    whole = row_digest(np.arange(1000), x, y)
    parts = sum(row_digest(np.arange(a, b), x[a:b], y[a:b]) for a, b in [(0, 1), (1, 333), (333, 1000)])
    assert parts % 2**64 == whole
    y_changed = y.copy()
    y_changed[500] = np.nextafter(y_changed[500], np.inf)  # one ulp of one value
    assert row_digest(np.arange(1000), x, y_changed) != whole
    assert row_digest(np.arange(1, 1001), x, y) != whole  # the same values at other positions


# ---------------------------------------------------------------- one process

def test_a_resumed_streamed_run_is_the_uninterrupted_one_bit_for_bit(csv_path, tmp_path):
    straight = streamed(csv_path, epochs=5, val_split=0.2)
    first = streamed(csv_path, epochs=2, val_split=0.2, checkpoint=str(tmp_path / "run.pt"))
    resumed = streamed(csv_path, epochs=5, val_split=0.2, resume=str(tmp_path / "run.pt"),
                       chunk_rows=611)  # another chunking: the batches do not depend on it
    assert first.history.train_loss == straight.history.train_loss[:2]
    np.testing.assert_array_equal(resumed.params.theta, straight.params.theta)
    assert resumed.history.train_loss == straight.history.train_loss
    # the validation loss comes from the held-out rows' statistics, whose rounding follows the
    # chunking (TSQR of other blocks): equal to a few ulps
    np.testing.assert_allclose(resumed.history.val_loss, straight.history.val_loss, rtol=64 * np.finfo(float).eps)


def test_resuming_with_another_shuffle_buffer_is_refused(csv_path, tmp_path):
    streamed(csv_path, epochs=1, checkpoint=str(tmp_path / "run.pt"))
    with pytest.raises(gradfit.GradfitError, match="shuffle"):
        streamed(csv_path, epochs=2, resume=str(tmp_path / "run.pt"), shuffle_buffer=700)


def test_streamed_validation_rows_and_loss(csv_path):
    frame = pd.read_csv(csv_path)
    held = held_out(np.arange(len(frame)), 0.25, seed=3)
    result = streamed(csv_path, val_split=0.25, seed=3, epochs=3)
    assert (result.n_train, result.n_val) == (int((~held).sum()), int(held.sum()))
    # the validation loss of the final model, computed here from the held-out rows themselves
    x_val, y_val = frame[["a", "b", "c"]].to_numpy()[held], frame["y"].to_numpy()[held]
    mse = np.mean((y_val - result.params.intercept - x_val @ result.params.coef) ** 2)
    # the statistics' MSE and this one differ by rounding: a few ulps of y's scale squared, per row
    assert result.val_loss == pytest.approx(mse, rel=1e-10)
    assert result.history.val_loss[-1] == pytest.approx(mse, rel=1e-10)
    # the closed form is of the training rows only
    x_train, y_train = frame[["a", "b", "c"]].to_numpy()[~held], frame["y"].to_numpy()[~held]
    design = np.column_stack([np.ones(len(y_train)), x_train])
    expected = np.linalg.lstsq(design, y_train, rcond=None)[0]
    np.testing.assert_allclose(result.closed_form.theta, expected, rtol=1e-12)


def test_full_batch_streamed_validation_split(csv_path):
    frame = pd.read_csv(csv_path)
    held = held_out(np.arange(len(frame)), 0.2, seed=1)
    result = gradfit.fit_streaming(str(csv_path), target="y", chunk_rows=300, val_split=0.2, seed=1,
                                   lr="auto", epochs=400)
    x_val, y_val = frame[["a", "b", "c"]].to_numpy()[held], frame["y"].to_numpy()[held]
    mse = np.mean((y_val - result.params.intercept - x_val @ result.params.coef) ** 2)
    assert result.engine == "exact" and result.n_val == int(held.sum())
    assert result.val_loss == pytest.approx(mse, rel=1e-10)


def test_bare_chunks_cannot_be_split_by_position():
    chunks = [(np.arange(10.0)[:, None], np.arange(10.0))]
    with pytest.raises(BadDataError, match="position"):
        gradfit.fit_streaming(chunks, batch_size=2, val_split=0.2, epochs=1)


@pytest.fixture(scope="module")
def weighted_csv(tmp_path_factory):
    """1,500 rows with weights (every 37th zero) and errors of variance ∝ 1/w."""
    rng = np.random.default_rng(3)
    n = 1500
    x = rng.normal(size=(n, 3)) * [1.0, 2.0, 0.5] + [1.0, 0.0, -2.0]
    w = rng.uniform(0.2, 3.0, size=n)
    w[::37] = 0.0
    y = 1.0 + x @ [2.0, -1.0, 0.5] + rng.normal(size=n) / np.sqrt(np.maximum(w, 0.1))
    path = tmp_path_factory.mktemp("weighted") / "rows.csv"
    pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "w": w, "y": y}).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("run", [dict(lr="auto", epochs=300),
                                 dict(batch_size=64, lr=0.01, epochs=3, dtype="float64", shuffle_buffer=400)],
                         ids=["full-batch", "mini-batch"])
def test_streamed_weights_with_a_validation_split(weighted_csv, run):
    """The training rows' weighted fit and the held-out rows' weighted loss, against weighted least
    squares computed here on the same rows (the position rule's; in memory the split is another)."""
    frame = pd.read_csv(weighted_csv)
    held = held_out(np.arange(len(frame)), 0.2, seed=7)
    design, y, w = np.column_stack([np.ones(len(frame)), frame[["a", "b", "c"]]]), frame["y"].to_numpy(), \
        frame["w"].to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a few mini-batch epochs do not converge: not what is tested
        result = gradfit.fit_streaming(str(weighted_csv), target="y", weights="w", chunk_rows=170, val_split=0.2,
                                       seed=7, **run)
    assert result.engine == ("exact" if "batch_size" not in run else "torch")
    assert (result.n_train, result.n_val) == (int((~held).sum()), int(held.sum()))
    train, root = ~held, np.sqrt(w)
    expected = np.linalg.lstsq(design[train] * root[train, None], y[train] * root[train], rcond=None)[0]
    # well conditioned (κ ≈ 10): both are float64 QR answers, a few ulps of each coefficient apart
    np.testing.assert_allclose(result.closed_form.theta, expected, rtol=1e-12)

    def weighted_mse(rows):  # (1/n) Σ w r² at the fit's parameters: the weighted loss gradient descent reports
        return np.mean(w[rows] * (y[rows] - design[rows] @ result.params.theta) ** 2)

    # the statistics' losses and these differ by rounding: a few ulps of y's scale squared, per row
    assert result.val_loss == pytest.approx(weighted_mse(held), rel=1e-10)
    assert result.history.val_loss[-1] == pytest.approx(weighted_mse(held), rel=1e-10)
    assert result.train_loss == pytest.approx(weighted_mse(train), rel=1e-10)
    # statsmodels' WLS log-likelihood (zero weights left out of ½ Σ log w): of the training rows only
    n, positive = int(train.sum()), w[train][w[train] > 0]
    rss = n * weighted_mse(train)
    expected_llf = -n / 2 * (np.log(2 * np.pi * rss / n) + 1) + 0.5 * np.sum(np.log(positive))
    assert result.stats.log_likelihood == pytest.approx(expected_llf, rel=1e-10)


# ---------------------------------------------------------------- several processes, simulated

class _Part:
    """Rows [lo, hi) of arrays, in chunks that say where their rows are (a process's part)."""

    def __init__(self, x, y, lo, hi, rows, dropped=()):
        self.x, self.y, self.lo, self.hi, self.rows = x, y, lo, hi, rows
        self.dropped = set(dropped)
        self.feature_names = [f"x{j}" for j in range(x.shape[1])]

    def __iter__(self):
        for a in range(self.lo, self.hi, self.rows):
            keep = np.array([i for i in range(a, min(a + self.rows, self.hi)) if i not in self.dropped], dtype=int)
            self.chunk_positions = keep
            yield self.x[keep], self.y[keep]


class _Group:
    """all_gather between threads: what the processes of a torchrun launch exchange."""

    def __init__(self, rank, world_size, box, barrier):
        self.rank, self.world_size, self.box, self.barrier = rank, world_size, box, barrier

    def all_gather(self, value):
        self.box[self.rank] = value
        self.barrier.wait()
        out = list(self.box)
        self.barrier.wait()
        return out

    def all_max(self, value):
        return max(self.all_gather(value))


def _global_batches(world_size, x, y, epochs=2, dropped=(), **options):
    """Each global batch's rows (sorted values of y), their weights' sum and its size, per epoch."""
    n = len(y)
    if world_size == 1:
        batches = ShuffledBatches(_Part(x, y, 0, n, 70, dropped), **options)
        return [[(sorted(yb.numpy().ravel()), 1.0, len(yb)) for _, yb in batches] for _ in range(epochs)]
    box, barrier, out = [None] * world_size, threading.Barrier(world_size, timeout=60), [None] * world_size

    def one(rank):
        lo, hi = n * rank // world_size, n * (rank + 1) // world_size
        part = _Part(x, y, lo, hi, 50 + 13 * rank, dropped)  # each its own chunking
        batches = ShuffledBatches(part, group=_Group(rank, world_size, box, barrier), **options)
        out[rank] = [[(b.y.numpy().ravel(), b.weight, b.rows) for b in batches] for _ in range(epochs)]

    threads = [threading.Thread(target=one, args=(r,)) for r in range(world_size)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    merged = []
    for epoch in range(epochs):
        merged.append([(sorted(np.concatenate([out[r][epoch][k][0] for r in range(world_size)])),
                        sum(out[r][epoch][k][1] for r in range(world_size)) / world_size, out[0][epoch][k][2])
                       for k in range(len(out[0][epoch]))])
    return merged


@pytest.mark.parametrize("world_size", [2, 3])
def test_every_process_count_draws_the_same_global_batches(world_size):
    n = 1003
    x, y = np.arange(2.0 * n).reshape(n, 2), np.arange(float(n))
    dropped = range(400, 460)  # rows missing from the file (dropna): windows of unequal size
    options = dict(batch_size=32, buffer_rows=200, seed=9)
    one = _global_batches(1, x, y, dropped=dropped, **options)
    many = _global_batches(world_size, x, y, dropped=dropped, **options)
    assert len(one) == len(many) and all(len(a) == len(b) for a, b in zip(one, many))
    for epoch_one, epoch_many in zip(one, many):
        for (rows_one, _, size_one), (rows_many, weight, size_many) in zip(epoch_one, epoch_many):
            assert rows_one == rows_many and size_one == size_many == len(rows_one)
            assert weight == pytest.approx(1.0, rel=1e-15)  # the weights average to one: DDP's mean is the batch's
    seen = np.concatenate([rows for rows, _, _ in one[0]])
    assert sorted(seen.tolist()) == [float(i) for i in range(n) if i not in set(dropped)]
    assert one[0] != one[1]  # a new order each epoch


def test_a_buffer_holding_every_row_is_one_permutation_of_them():
    x, y = np.arange(300.0)[:, None], np.arange(300.0)
    batches = ShuffledBatches(iter_array_chunks(x, y, rows=40), batch_size=64, buffer_rows=300, seed=4)
    order = np.concatenate([yb.numpy().ravel() for _, yb in batches])
    np.testing.assert_array_equal(order, np.random.default_rng(4).permutation(300).astype(float))


# ---------------------------------------------------------------- a file too large for memory

def test_a_file_too_large_for_memory_streams_by_itself(csv_path, monkeypatch, capsys):
    import json

    from gradfit import limits
    from gradfit.cli import main
    from gradfit.data import footprint

    args = ["fit", str(csv_path), "--target", "y", "--batch-size", "32", "--epochs", "1", "--lr", "0.05", "--json"]
    monkeypatch.setattr(limits, "STREAM_FILES_ABOVE", 0)  # every file counts as large
    assert main(args) == 0  # memory to spare: read whole, as before
    whole = json.loads(capsys.readouterr().out)
    monkeypatch.setattr(footprint, "available_memory", lambda: 10_000)  # 2000 × 4 × 8 × 3 bytes would not fit
    assert main(args) == 0
    captured = capsys.readouterr()
    streamed_run = json.loads(captured.out)
    notes = [line for line in captured.err.splitlines() if "note:" in line]
    assert len(notes) == 1 and "streaming it through a shuffle buffer" in notes[0] and "GiB free" in notes[0]
    expected = streamed(csv_path, epochs=1, chunk_rows=None, shuffle_buffer=None, dtype="float32", standardize=True)
    np.testing.assert_array_equal([streamed_run["params"]["intercept"], *streamed_run["params"]["coef"]],
                                  expected.params.theta)
    # the default buffer holds all 2000 rows: one permutation of them, the in-memory run's batches
    # (float32 steps from scalings computed two ways, a few float32 ulps apart)
    np.testing.assert_allclose(streamed_run["params"]["coef"], whole["params"]["coef"], rtol=1e-5)


def test_the_float64_size_of_a_file_is_estimated_from_its_footer_or_first_lines(csv_path, tmp_path):
    from gradfit.data.footprint import float_bytes

    frame = pd.read_csv(csv_path)
    exact = 8 * frame.size
    frame.to_parquet(tmp_path / "rows.parquet", index=False)
    assert float_bytes(str(tmp_path / "rows.parquet")) == exact
    assert abs(float_bytes(str(csv_path)) / exact - 1) < 0.05  # lines of about the same length


def test_the_estimate_counts_only_the_columns_read(csv_path, tmp_path):
    from gradfit.data.footprint import float_bytes

    frame = pd.read_csv(csv_path)
    frame.to_parquet(tmp_path / "rows.parquet", index=False)
    assert float_bytes(str(tmp_path / "rows.parquet"), columns=2) == 8 * 2 * len(frame)  # --features a (and y)
    assert abs(float_bytes(str(csv_path), columns=2) / (8 * 2 * len(frame)) - 1) < 0.05
