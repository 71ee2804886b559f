"""Callbacks: early stopping, checkpoints on schedule, TensorBoard (read back with its own reader), progress."""

import io

import numpy as np
import pytest

import gradfit
from gradfit import BadOptionError
from gradfit.training.callbacks import (Callback, CheckpointCallback, EarlyStopping, RichProgressCallback, TensorBoardCallback,
                               progress_wanted)


class FakeRun:
    """The run interface callbacks see, holding one number as 'weights'."""

    def __init__(self, target_epoch=10):
        self.weights, self.epoch, self.target_epoch = 0.0, 0, target_epoch
        self.stop_training = self.interrupting = False
        self.saved_at = []

    def snapshot(self):
        return self.weights

    def restore(self, snapshot):
        self.weights = snapshot

    def save_checkpoint(self, path, extra=None):
        self.saved_at.append(self.epoch)


def feed(callback, run, val_losses):
    callback.on_train_begin(run)
    for epoch, value in enumerate(val_losses, start=1):
        run.epoch, run.weights = epoch, float(epoch)  # weights after epoch e are "e"
        callback.on_epoch_end(run, epoch, {"train_loss": 1.0, "val_loss": value, "lr": 0.1})
        if run.stop_training:
            break
    callback.on_train_end(run)


def test_early_stopping_stops_after_patience_and_keeps_the_best_weights():
    stopper, run = EarlyStopping(patience=3), FakeRun()
    feed(stopper, run, [3.0, 2.0, 2.5, 2.0, 2.7, 1.0])  # epoch 4 ties the best: not an improvement
    assert (stopper.best_epoch, stopper.stopped_epoch, run.epoch) == (2, 5, 5)
    assert run.weights == 2.0  # restored


def test_min_delta_demands_a_real_improvement():
    stopper, run = EarlyStopping(patience=2, min_delta=0.5), FakeRun()
    feed(stopper, run, [3.0, 2.8, 2.9])
    assert (stopper.best_epoch, stopper.stopped_epoch) == (1, 3)


def test_training_again_continues_from_the_last_weights_not_the_best():
    stopper, run = EarlyStopping(patience=5), FakeRun()
    feed(stopper, run, [1.0, 2.0, 3.0])
    assert run.weights == 1.0  # best restored at the end of the call
    stopper.on_train_begin(run)
    assert run.weights == 3.0  # the next call picks up where training was


def test_early_stopping_needs_validation_data_and_a_positive_patience():
    with pytest.raises(BadOptionError, match="no validation data"):
        EarlyStopping(2).on_epoch_end(FakeRun(), 1, {"train_loss": 1.0, "val_loss": None, "lr": 0.1})
    with pytest.raises(BadOptionError, match="patience=0"):
        EarlyStopping(0)
    with pytest.raises(BadOptionError, match="no validation data"):
        gradfit.fit(np.arange(10.0), np.arange(10.0), patience=3)


def test_checkpoints_every_n_epochs_at_the_end_and_on_a_stop():
    run, saver = FakeRun(target_epoch=10), CheckpointCallback("unused.pt", every=3)
    for epoch in range(1, 11):
        run.epoch = epoch
        saver.on_epoch_end(run, epoch, {})
    assert run.saved_at == [3, 6, 9, 10]
    run.saved_at, run.stop_training, run.epoch = [], True, 4
    saver.on_epoch_end(run, 4, {})
    assert run.saved_at == [4]


def test_checkpoint_comes_after_early_stopping():
    assert EarlyStopping.order < Callback.order < CheckpointCallback.order


@pytest.mark.parametrize("options", [dict(engine="numpy", batch_size=16), dict(engine="torch", batch_size=16),
                                     dict(engine="exact")])
def test_fit_with_patience_stops_at_the_validation_minimum(options):
    res = gradfit.fit(lr=0.1, epochs=1000, patience=10, tol=1e3, **options)
    val = np.array(res.history.val_loss)
    best = int(np.argmin(val)) + 1  # first epoch with the lowest validation loss
    assert (res.best_epoch, res.stopped_epoch) == (best, best + 10)
    assert len(val) == len(res.history.train_loss) == res.stopped_epoch
    # The kept parameters are those after the best epoch: a plain run of that many epochs.
    plain = gradfit.fit(lr=0.1, epochs=best, tol=1e3, **options)
    np.testing.assert_array_equal(res.params.theta, plain.params.theta)
    assert res.val_loss == pytest.approx(val[best - 1], rel=1e-6)
    data = res.to_dict()
    assert (data["best_epoch"], data["stopped_epoch"], data["patience"]) == (best, best + 10, 10)


def test_a_run_that_never_stalls_reports_no_stop():
    res = gradfit.fit(engine="numpy", lr=0.1, epochs=50, patience=10, tol=1e3)
    assert res.stopped_epoch is None and res.best_epoch == 50


@pytest.mark.parametrize("engine", ["numpy", "torch", "exact"])
def test_early_stopping_resumes_exactly_and_a_stopped_run_cannot_resume(tmp_path, engine):
    path = str(tmp_path / "run.pt")
    options = dict(engine=engine, batch_size=None if engine == "exact" else 16, lr=0.1, patience=10, tol=1e3)
    straight = gradfit.fit(epochs=1000, **options)
    gradfit.fit(epochs=straight.best_epoch - 3, checkpoint=path, **options)  # not stopped yet
    resumed = gradfit.fit(epochs=1000, resume=path, checkpoint=path, **options)
    assert (resumed.best_epoch, resumed.stopped_epoch) == (straight.best_epoch, straight.stopped_epoch)
    np.testing.assert_array_equal(resumed.params.theta, straight.params.theta)
    assert resumed.history.val_loss == straight.history.val_loss
    with pytest.raises(BadOptionError, match=f"stopped early at epoch {straight.stopped_epoch}"):
        gradfit.fit(epochs=2000, resume=path, **options)


# ---------------------------------------------------------------- TensorBoard
def scalars(log_dir, tag):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(log_dir))
    accumulator.Reload()
    return accumulator, [(event.step, event.value) for event in accumulator.Scalars(tag)]


def test_tensorboard_logs_every_epoch(tmp_path):
    res = gradfit.fit(engine="torch", epochs=6, tol=1e3, tensorboard=str(tmp_path))
    accumulator, train = scalars(tmp_path, "loss/train")
    assert [step for step, _ in train] == [1, 2, 3, 4, 5, 6]
    np.testing.assert_allclose([v for _, v in train], res.history.train_loss, rtol=1e-6)  # stored as float32
    _, val = scalars(tmp_path, "loss/val")
    np.testing.assert_allclose([v for _, v in val], res.history.val_loss, rtol=1e-6)
    _, lr = scalars(tmp_path, "lr")
    assert [v for _, v in lr] == pytest.approx([0.1] * 6)
    _, b = scalars(tmp_path, "params/b")
    assert b[-1][1] == pytest.approx(res.params.intercept, rel=1e-6)
    assert accumulator.Tags()["graph"]  # the model graph, written once


def test_tensorboard_steps_continue_across_a_resume(tmp_path):
    path, logs = str(tmp_path / "run.pt"), tmp_path / "logs"
    options = dict(engine="torch", batch_size=16, tol=1e3, tensorboard=str(logs))
    gradfit.fit(epochs=4, checkpoint=path, **options)
    res = gradfit.fit(epochs=7, resume=path, **options)
    _, train = scalars(logs, "loss/train")
    assert [step for step, _ in train] == list(range(1, 8))
    np.testing.assert_allclose([v for _, v in train], res.history.train_loss, rtol=1e-6)


class Crash(Callback):
    def on_epoch_end(self, trainer, epoch, logs):
        if epoch == 5:
            raise RuntimeError("power cut")


def test_a_resume_hides_what_a_crashed_run_logged_after_its_checkpoint(tmp_path):
    path, logs = str(tmp_path / "run.pt"), tmp_path / "logs"
    options = dict(engine="numpy", batch_size=16, tol=1e3)
    tensorboard = TensorBoardCallback(str(logs))  # after Crash: epoch 5 is never logged
    with pytest.raises(RuntimeError):
        gradfit.fit(epochs=8, checkpoint=path, checkpoint_every=3, callbacks=[Crash(), tensorboard], **options)
    res = gradfit.fit(epochs=8, resume=path, tensorboard=str(logs), **options)  # from epoch 3; 4 was logged twice
    _, train = scalars(logs, "loss/train")
    assert [step for step, _ in train] == list(range(1, 9))
    np.testing.assert_allclose([v for _, v in train], res.history.train_loss, rtol=1e-6)


# ---------------------------------------------------------------- progress
def test_progress_appears_only_for_long_runs():
    from rich.console import Console

    shown = io.StringIO()
    gradfit.fit(engine="numpy", epochs=30, tol=1e3,
                callbacks=[RichProgressCallback(delay=0.0, console=Console(file=shown, force_terminal=True))])
    assert "epoch" in shown.getvalue() and "train loss" in shown.getvalue()
    hidden = io.StringIO()
    gradfit.fit(engine="numpy", epochs=30, tol=1e3,
                callbacks=[RichProgressCallback(delay=60.0, console=Console(file=hidden, force_terminal=True))])
    assert hidden.getvalue() == ""


def test_progress_is_wanted_on_terminals_only():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    assert progress_wanted(Terminal()) and not progress_wanted(io.StringIO())


@pytest.mark.parametrize("engine", ["numpy", "torch", "exact"])
def test_callbacks_of_a_standardized_fit_see_the_target_units(engine):
    """Standardized runs train in scaled units; callbacks see what the result says."""

    class Record(Callback):
        def __init__(self):
            self.train, self.params = [], None

        def on_epoch_end(self, trainer, epoch, logs):
            self.train.append(logs["train_loss"])
            self.params = trainer.parameter_values()

    rng = np.random.default_rng(4)
    x = rng.uniform(100, 200, size=(60, 2))
    y = 50 + x @ np.array([3.0, -2.0]) + rng.normal(0, 5, 60)
    record = Record()
    res = gradfit.fit(x, y, engine=engine, standardize=True, lr="auto", epochs=40, tol=1e3, val_split=0.2,
                      dtype="float64", callbacks=[record])
    np.testing.assert_allclose(record.train, res.history.train_loss, rtol=1e-12)
    np.testing.assert_allclose(list(record.params.values()), res.params.theta, rtol=1e-10)
    assert list(record.params) == ["intercept", "x1", "x2"]
