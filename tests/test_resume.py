"""gradfit.fit(checkpoint=…, resume=…): a resumed run is the uninterrupted run, number for number."""

import numpy as np
import pytest

import gradfit
from gradfit import BadDataError, BadOptionError, DivergedError, Interrupted
from gradfit.training.callbacks import Callback
from gradfit.training.checkpoint import load_checkpoint


def assert_same_run(straight, resumed):
    """Parameters, per-epoch history, trace and path, bit for bit."""
    np.testing.assert_array_equal(resumed.params.theta, straight.params.theta)
    np.testing.assert_array_equal(resumed.initial.theta, straight.initial.theta)
    assert resumed.history.train_loss == straight.history.train_loss
    assert resumed.history.val_loss == straight.history.val_loss
    assert resumed.history.lr == straight.history.lr
    assert [t.update for t in resumed.trace] == [t.update for t in straight.trace]
    for a, b in zip(resumed.trace, straight.trace):
        np.testing.assert_array_equal(a.params.theta, b.params.theta)
    assert resumed.updates == straight.updates
    assert (resumed.train_loss, resumed.val_loss) == (straight.train_loss, straight.val_loss)
    if straight.path is not None:
        np.testing.assert_array_equal(resumed.path, straight.path)


# 600 epochs, then a resume to 1000, against 1000 straight (the scheduled run is shorter: same path).
@pytest.mark.parametrize("options, first, total", [
    (dict(engine="numpy", batch_size=16, lr=0.05, record_path=True), 600, 1000),
    (dict(engine="exact", lr=0.1, record_path=True), 600, 1000),
    (dict(engine="torch", batch_size=32, lr=0.05), 600, 1000),
    (dict(engine="torch", optimizer="adam", batch_size=32, lr=0.01), 600, 1000),
    (dict(engine="torch", model="linear", batch_size=32, lr=0.05, scheduler="step", record_path=True), 150, 250),
])
def test_resumed_run_equals_the_straight_run(tmp_path, options, first, total):
    path = str(tmp_path / "run.pt")
    straight = gradfit.fit(epochs=total, tol=1e3, **options)
    part = gradfit.fit(epochs=first, tol=1e3, checkpoint=path, checkpoint_every=100, **options)
    assert load_checkpoint(path)["epoch"] == first and len(part.history.train_loss) == first
    resumed = gradfit.fit(epochs=total, tol=1e3, resume=path, **options)
    assert (resumed.start_epoch, resumed.resumed_from, resumed.epochs) == (first, path, total)
    assert len(resumed.history.train_loss) == total
    assert_same_run(straight, resumed)


def test_a_resume_may_write_to_the_checkpoint_it_read(tmp_path):
    path = str(tmp_path / "run.pt")
    options = dict(engine="numpy", batch_size=16, lr=0.05, tol=1e3)
    gradfit.fit(epochs=20, checkpoint=path, **options)
    gradfit.fit(epochs=40, checkpoint=path, resume=path, **options)
    resumed = gradfit.fit(epochs=60, resume=path, **options)
    assert_same_run(gradfit.fit(epochs=60, **options), resumed)


class StopAt(Callback):
    """Asks the run to stop during epoch ``epoch``, as the CLI's Ctrl-C handler would.

    (A request is read once at each epoch's end, before the callbacks: one made by a callback at
    the end of epoch ``epoch - 1`` is pending while epoch ``epoch`` runs.)
    """

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, trainer, epoch, logs):
        if epoch == self.epoch - 1:
            gradfit.request_stop()


@pytest.mark.parametrize("engine, batch_size", [("numpy", 16), ("torch", 16), ("exact", None)])
def test_an_interrupted_run_saves_and_resumes_exactly(tmp_path, engine, batch_size):
    path = str(tmp_path / "run.pt")
    options = dict(engine=engine, batch_size=batch_size, lr=0.05, tol=1e3)
    with pytest.raises(Interrupted) as info:
        gradfit.fit(epochs=100, checkpoint=path, checkpoint_every=50, callbacks=[StopAt(37)], **options)
    assert (info.value.epoch, info.value.checkpoint, info.value.exit_code) == (37, path, 130)
    assert f"resume={path!r}" in str(info.value)  # the CLI says --resume (test_cli_training)
    assert not gradfit.training.checkpoint.stop_requested()  # the request was used up
    assert load_checkpoint(path)["epoch"] == 37
    assert_same_run(gradfit.fit(epochs=100, **options), gradfit.fit(epochs=100, resume=path, **options))


def test_an_interrupted_run_without_a_checkpoint_says_nothing_was_saved():
    with pytest.raises(Interrupted, match="nothing saved") as info:
        gradfit.fit(engine="numpy", epochs=50, tol=1e3, callbacks=[StopAt(5)])
    assert (info.value.epoch, info.value.checkpoint) == (5, None)


def test_a_crash_leaves_the_last_periodic_checkpoint(tmp_path):
    path = str(tmp_path / "run.pt")
    with pytest.raises(DivergedError) as info:
        gradfit.fit(engine="numpy", lr=1.1, checkpoint=path, checkpoint_every=3)
    assert load_checkpoint(path)["epoch"] == 3 * ((info.value.epoch - 1) // 3)


@pytest.fixture(scope="module")
def saved_run(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("resume") / "run.pt")
    gradfit.fit(engine="torch", batch_size=16, lr=0.05, epochs=20, tol=1e3, checkpoint=path)
    return path


@pytest.mark.parametrize("change, error, match", [
    (dict(epochs=19), BadOptionError, r"epochs=19: checkpoint .* already holds 20 epochs.* epochs=20 to report"),
    (dict(epochs=10), BadOptionError, r"already holds 20 epochs.*e\.g\. epochs=30"),
    (dict(engine="numpy"), BadOptionError, r"engine='numpy': checkpoint .* written by the torch engine"),
    (dict(batch_size=8), BadOptionError, r"batch_size=8: checkpoint .* written with batch_size 16"),
    (dict(model="linear"), BadOptionError, r"model='linear': checkpoint .* written with model 'manual'"),
    (dict(optimizer="adam"), BadOptionError, r"optimizer='adam': .* written with optimizer 'sgd'"),
    (dict(lr=0.1), BadOptionError, r"lr=0.1: .* written with lr 0.05"),
    (dict(dtype="float64"), BadOptionError, r"dtype='float64'"),
    (dict(record_path=True), BadOptionError, r"did not record its path"),
    (dict(x=np.random.default_rng(0).normal(size=(50, 2)), y=np.arange(50.0)), BadDataError,
     r"trained on 1 feature\(s\) \(x\); this data has 2 \(x1, x2\)"),
    (dict(x=np.linspace(0, 1, 100), y=np.linspace(1, 3, 100), val_split=0.2), BadDataError, r"other data"),
])
def test_a_resume_that_cannot_continue_the_run_is_refused(saved_run, change, error, match):
    options = dict(engine="torch", batch_size=16, lr=0.05, epochs=40, tol=1e3)
    options.update(change)
    with pytest.raises(error, match=match):
        gradfit.fit(resume=saved_run, **options)


def test_auto_resolves_to_the_engine_of_the_checkpoint(saved_run):
    res = gradfit.fit(resume=saved_run, batch_size=16, lr=0.05, epochs=25, tol=1e3)
    assert res.engine == "torch" and res.start_epoch == 20


def test_a_cosine_schedule_cannot_be_stretched(tmp_path):
    path = str(tmp_path / "run.pt")
    options = dict(engine="torch", scheduler="cosine", lr=0.1, tol=1e3)
    gradfit.fit(epochs=20, checkpoint=path, **options)
    with pytest.raises(BadOptionError, match="cosine schedule .* anneals over 20 epochs"):
        gradfit.fit(epochs=30, resume=path, **options)


def test_an_interrupted_cosine_run_resumes_to_its_plan(tmp_path):
    path = str(tmp_path / "run.pt")
    options = dict(engine="torch", scheduler="cosine", lr=0.1, tol=1e3, epochs=40)
    with pytest.raises(Interrupted):
        gradfit.fit(checkpoint=path, callbacks=[StopAt(15)], **options)
    assert_same_run(gradfit.fit(**options), gradfit.fit(resume=path, **options))


def test_a_checkpoint_of_a_trainer_is_not_a_fit(tmp_path):
    import torch
    from torch import nn

    trainer = gradfit.Trainer(nn.Linear(1, 1), nn.MSELoss(), "sgd", lr=0.1,
                              train_data=(torch.zeros(4, 1), torch.zeros(4, 1)))
    trainer.train(1)
    trainer.save_checkpoint(tmp_path / "trainer.pt")
    with pytest.raises(BadDataError, match="written by a Trainer"):
        gradfit.fit(engine="torch", epochs=5, resume=str(tmp_path / "trainer.pt"))


@pytest.mark.parametrize("kwargs, match", [
    ({"checkpoint_every": 0, "checkpoint": "run.pt"}, r"checkpoint_every=0: must be a positive integer"),
    ({"checkpoint_every": 5}, r"checkpoint_every=5: needs a checkpoint file; add checkpoint=PATH"),
    ({"checkpoint": ""}, r"checkpoint='': must be a file or folder path"),
    ({"patience": 0}, r"patience=0: must be a positive integer"),
    ({"scheduler": "cosine", "engine": "exact"}, r"schedulers run on the torch engine, not exact"),
])
def test_bad_checkpoint_and_training_options_are_refused_up_front(kwargs, match):
    with pytest.raises(BadOptionError, match=match):
        gradfit.fit(**kwargs)


def test_checkpoint_options_from_the_command_line_are_converted():
    cfg = gradfit.FitConfig(checkpoint="run.pt", checkpoint_every="10", patience="5", scheduler=" Step ").validate()
    assert (cfg.checkpoint_every, cfg.patience, cfg.scheduler) == (10, 5, "step")


def test_resume_if_exists_starts_then_continues_with_one_command_line(tmp_path):
    """The same call, twice: the first starts (no checkpoint yet), the second finds the checkpoint and
    continues; the result is the uninterrupted run's, and another run's checkpoint is still refused."""
    path = str(tmp_path / "run.pt")
    with pytest.warns(gradfit.ConvergenceWarning):
        first = gradfit.fit(engine="numpy", epochs=300, checkpoint=path, resume_if_exists=True)
    assert first.resumed_from is None and first.start_epoch == 0
    again = gradfit.fit(engine="numpy", epochs=1000, checkpoint=path, resume_if_exists=True)
    straight = gradfit.fit(engine="numpy", epochs=1000)
    assert again.resumed_from == path and again.start_epoch == 300
    np.testing.assert_array_equal(again.params.theta, straight.params.theta)
    with pytest.raises(gradfit.BadOptionError):
        gradfit.fit(engine="numpy", epochs=1000, lr=0.2, checkpoint=path, resume_if_exists=True)
    with pytest.raises(gradfit.BadOptionError, match="needs the checkpoint"):
        gradfit.fit(resume_if_exists=True)
