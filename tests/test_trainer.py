"""gradfit.Trainer: any nn.Module, checked against independent answers; the tutorial's traps as clear errors."""

import functools

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import gradfit
from gradfit import BadDataError, BadModelError, GradfitError, Interrupted, NoGradientWarning, Trainer
from gradfit.training.callbacks import Callback, CheckpointCallback


@pytest.fixture
def book(book_arrays):
    """The tutorial's data as float64 tensors: x (80, 1), y (80, 1), x_val (20, 1), y_val (20, 1)."""
    return [torch.as_tensor(a, dtype=torch.float64) for a in book_arrays]


def linear(seed=0, dtype=torch.float64):
    torch.manual_seed(seed)
    return nn.Linear(1, 1).to(dtype)


def test_trains_any_module_to_the_least_squares_answer(book):
    x, y, x_val, y_val = book
    trainer = Trainer(linear(), nn.MSELoss(), "sgd", lr=0.5, train_data=(x, y), val_data=(x_val, y_val))
    history = trainer.train(2000)
    design = np.column_stack([np.ones(80), x.numpy()[:, 0]])
    expected = np.linalg.lstsq(design, y.numpy()[:, 0], rcond=None)[0]  # (b, w)
    model = trainer.model
    np.testing.assert_allclose([model.bias.item(), model.weight.item()], expected, atol=1e-10)
    rss = np.sum((design @ expected - y.numpy()[:, 0]) ** 2)
    assert history.train_loss[-1] == pytest.approx(rss / 80, rel=1e-9)
    assert history.val_loss[-1] == pytest.approx(np.mean((x_val.numpy() * expected[1] + expected[0] - y_val.numpy()) ** 2),
                                                 rel=1e-9)
    assert history.lr == [0.5] * 2000 and trainer.total_epochs == 2000


def test_training_in_pieces_is_training_in_one_go(book):
    x, y, x_val, y_val = book
    make = functools.partial(Trainer, loss_fn=nn.MSELoss(), optimizer="adam", lr=0.05, train_data=(x, y),
                             val_data=(x_val, y_val), batch_size=16, seed=3)
    pieces, whole = make(linear()), make(linear())
    pieces.train(3)
    pieces.train(4)
    whole.train(7)
    assert pieces.total_epochs == 7 and pieces.global_step == 7 * 5
    assert pieces.history == whole.history
    assert torch.equal(pieces.model.weight, whole.model.weight)


@pytest.mark.parametrize("loader", [False, True])
def test_epoch_loss_is_the_batch_losses_weighted_by_batch_size(book, loader):
    """With lr = 0 nothing moves, so the epoch's weighted mean of batch MSEs (batches 30, 30, 20)
    must be the MSE over all 80 rows."""
    x, y, x_val, y_val = book
    model = linear()
    data = DataLoader(TensorDataset(x, y), batch_size=30, shuffle=True) if loader else (x, y)
    val = DataLoader(TensorDataset(x_val, y_val), batch_size=7) if loader else (x_val, y_val)
    trainer = Trainer(model, nn.MSELoss(), "sgd", lr=0.0, train_data=data, val_data=val, batch_size=30)
    history = trainer.train(2)
    b, w = model.bias.item(), model.weight.item()
    assert history.train_loss[0] == pytest.approx(np.mean((b + w * x.numpy() - y.numpy()) ** 2), rel=1e-12)
    assert history.val_loss[0] == pytest.approx(np.mean((b + w * x_val.numpy() - y_val.numpy()) ** 2), rel=1e-12)
    assert trainer.global_step == 6


def test_predict_and_evaluate(book):
    x, y, x_val, y_val = book
    trainer = Trainer(linear(), nn.MSELoss(), "sgd", lr=0.1, train_data=(x, y), val_data=(x_val, y_val))
    trainer.train(5)
    b, w = trainer.model.bias.item(), trainer.model.weight.item()
    predicted = trainer.predict(x_val.numpy())
    assert isinstance(predicted, np.ndarray)
    np.testing.assert_allclose(predicted, b + w * x_val.numpy(), rtol=1e-12)
    assert torch.is_tensor(trainer.predict(x_val))
    assert trainer.evaluate() == pytest.approx(np.mean((b + w * x_val.numpy() - y_val.numpy()) ** 2), rel=1e-12)


class Noisy(nn.Module):
    """Dropout draws from torch's global generator: resuming must restore it too."""

    def __init__(self):
        super().__init__()
        self.hidden, self.drop, self.out = nn.Linear(1, 8), nn.Dropout(0.3), nn.Linear(8, 1)

    def forward(self, x):
        return self.out(self.drop(torch.tanh(self.hidden(x))))


@pytest.mark.parametrize("data", ["tensors", "loader", "loader with generator"])
def test_a_checkpoint_resumes_bit_for_bit(book, tmp_path, data):
    x, y, x_val, y_val = book

    def make():
        torch.manual_seed(1)
        model = Noisy().double()
        if data == "tensors":
            train = (x, y)
        else:
            generator = torch.Generator().manual_seed(5) if data == "loader with generator" else None
            train = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True, generator=generator)
        return Trainer(model, nn.MSELoss(), "adam", lr=0.01, train_data=train, val_data=(x_val, y_val),
                       batch_size=16, seed=7, scheduler=lambda opt: torch.optim.lr_scheduler.StepLR(opt, 3, 0.5))

    torch.manual_seed(123)
    straight = make()
    straight.train(10)
    torch.manual_seed(123)
    first = make()
    first.train(6)
    first.save_checkpoint(tmp_path / "run.pt")
    torch.manual_seed(999)  # a fresh process would have another global state: the checkpoint restores it
    resumed = make()
    resumed.load_checkpoint(tmp_path / "run.pt")
    resumed.train(4)
    assert resumed.total_epochs == 10
    assert resumed.history == straight.history
    for a, b in zip(resumed.model.parameters(), straight.model.parameters()):
        assert torch.equal(a, b)


def test_a_stop_request_ends_the_epoch_and_saves(book, tmp_path):
    x, y, _, _ = book

    class AskToStop(Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            if epoch == 2:
                gradfit.request_stop()

    path = str(tmp_path / "run.pt")
    trainer = Trainer(linear(), nn.MSELoss(), "sgd", lr=0.1, train_data=(x, y),
                      callbacks=[CheckpointCallback(path, every=100), AskToStop()])
    with pytest.raises(Interrupted) as info:
        trainer.train(10)
    assert (info.value.epoch, info.value.checkpoint, trainer.total_epochs) == (3, path, 3)


def test_step_cosine_and_plateau_schedules_in_fit():
    step = gradfit.fit(engine="torch", scheduler="step", epochs=250, tol=1e3)
    assert step.history.lr == pytest.approx([0.1 * 0.5 ** (e // 100) for e in range(250)], rel=1e-12)
    cosine = gradfit.fit(engine="torch", scheduler="cosine", lr=0.2, epochs=50, tol=1e3)
    expected = [0.1 * (1 + np.cos(np.pi * e / 50)) for e in range(50)]  # 0.2 annealed to 0 over 50 epochs
    np.testing.assert_allclose(cosine.history.lr, expected, rtol=1e-9, atol=1e-15)
    plateau = gradfit.fit(scheduler="plateau", batch_size=8, lr=0.1, epochs=200, tol=1e3)
    assert plateau.engine == "torch"  # auto: schedulers run on the torch engine
    ratios = np.array(plateau.history.lr[1:]) / np.array(plateau.history.lr[:-1])
    assert set(np.round(ratios, 12)) <= {1.0, 0.1} and plateau.history.lr[-1] < 0.1
    data = plateau.to_dict()
    assert data["scheduler"] == "plateau" and data["history"]["lr"] == plateau.history.lr
    with pytest.raises(gradfit.BadOptionError, match="schedulers run on the torch engine"):
        gradfit.fit(engine="numpy", scheduler="step")
    with pytest.raises(gradfit.BadOptionError, match="scheduler='linear': unknown scheduler"):
        gradfit.fit(scheduler="linear")


# ---------------------------------------------------------------- the tutorial's traps
def test_output_and_target_shapes_that_would_broadcast_are_refused(book):
    x, y, _, _ = book
    trainer = Trainer(linear(), nn.MSELoss(), "sgd", lr=0.1, train_data=(x, y.view(-1)))  # (80, 1) vs (80,)
    with pytest.raises(BadDataError, match=r"output has shape \(80, 1\) but the targets have shape \(80,\).*"
                                           r"broadcast them to \(80, 80\).*y\.reshape\(-1, 1\)"):
        trainer.train(1)


def test_classification_losses_compare_other_shapes():
    x, labels = torch.randn(12, 3), torch.arange(12) % 4
    trainer = Trainer(nn.Linear(3, 4), nn.CrossEntropyLoss(), "sgd", lr=0.1, train_data=(x, labels))
    assert len(trainer.train(2).train_loss) == 2  # (12, 4) logits against (12,) labels is right here


class TutorialModule(nn.Module):
    """The tutorial's trap: requires_grad set, then the tensor is moved, which makes a new, non-leaf
    tensor. On a GPU ``.to("cuda")`` does it; a dtype change does the same on any machine."""

    def __init__(self):
        super().__init__()
        self.b = torch.randn(1, requires_grad=True).to(torch.float64)
        self.w = nn.Parameter(torch.randn(1, dtype=torch.float64))

    def forward(self, x):
        return self.b + self.w * x


def test_a_moved_requires_grad_tensor_is_refused_with_the_fix():
    with pytest.raises(BadModelError, match=r"'b' is not a leaf tensor.*create it on its device.*nn\.Parameter"):
        Trainer(TutorialModule(), nn.MSELoss(), "sgd", lr=0.1, train_data=(np.zeros((4, 1)), np.zeros((4, 1))))


def test_a_non_leaf_tensor_handed_to_the_optimizer_is_refused():
    model = nn.Linear(1, 1)
    moved = torch.randn(1, requires_grad=True).to(torch.float64)
    with pytest.raises(BadModelError, match=r"handed to the optimizer is not a leaf.*nn\.Parameter"):
        Trainer(model, nn.MSELoss(), "sgd", lr=0.1, parameters=[model.weight, moved],
                train_data=(np.zeros((4, 1)), np.zeros((4, 1))))


def test_an_unregistered_trainable_tensor_is_refused():
    class Unregistered(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.randn(1))
            self.b = torch.zeros(1, requires_grad=True)  # a leaf, but no Parameter: no state_dict, no .to()

        def forward(self, x):
            return self.b + self.w * x

    with pytest.raises(BadModelError, match=r"'b' is a tensor with requires_grad=True but not an nn\.Parameter"):
        Trainer(Unregistered(), nn.MSELoss(), "sgd", lr=0.1, train_data=(np.zeros((4, 1)), np.zeros((4, 1))))


def test_parameters_without_gradient_are_named_in_a_warning(book):
    class Forgetful(nn.Module):
        def __init__(self):
            super().__init__()
            self.line = nn.Linear(1, 1)
            self.unused = nn.Parameter(torch.zeros(1))

        def forward(self, x):
            return self.line(x)

    x, y, _, _ = book
    trainer = Trainer(Forgetful().double(), nn.MSELoss(), "sgd", lr=0.1, train_data=(x, y))
    with pytest.warns(NoGradientWarning, match=r"parameter\(s\) unused got no gradient"):
        trainer.train(1)


def test_model_and_data_on_different_devices_name_both():
    model = nn.Linear(1, 1, device="meta")  # any device other than the data's will do
    with pytest.raises(BadDataError, match=r"train x is on device cpu but the model is on meta"):
        Trainer(model, nn.MSELoss(), "sgd", lr=0.1, train_data=(torch.zeros(4, 1), torch.zeros(4, 1)))


def test_user_errors_are_gradfit_errors_and_value_errors():
    for error in (BadDataError, BadModelError, gradfit.BadOptionError):
        assert issubclass(error, GradfitError) and issubclass(error, ValueError)
    with pytest.raises(gradfit.BadOptionError, match="a learning rate is needed"):
        Trainer(nn.Linear(1, 1), nn.MSELoss(), "sgd", train_data=(np.zeros((4, 1)), np.zeros((4, 1))))
    with pytest.raises(BadDataError, match="4 rows .* 3"):
        Trainer(nn.Linear(1, 1), nn.MSELoss(), "sgd", lr=0.1, train_data=(np.zeros((4, 1)), np.zeros((3, 1))))


def test_importing_gradfit_and_a_default_fit_leave_torch_unloaded():
    import subprocess
    import sys

    code = "import sys, gradfit; gradfit.fit(); assert 'torch' not in sys.modules, 'torch was imported'"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_early_stopping_in_a_trainer_checkpointed_after_train_resumes_from_the_last_epoch(book, tmp_path):
    x, y, x_val, y_val = book

    def make():
        return Trainer(linear(), nn.MSELoss(), "sgd", lr=0.5, train_data=(x, y), val_data=(x_val, y_val),
                       batch_size=16, seed=2, callbacks=[gradfit.EarlyStopping(patience=1000)])

    straight = make()
    straight.train(30)
    first = make()
    first.train(20)  # ends with the best weights in the model …
    best = int(np.argmin(first.history.val_loss)) + 1
    assert best < 20 and first.callbacks[0].best_epoch == best  # so the model now holds epoch `best`
    first.save_checkpoint(tmp_path / "run.pt")  # … and the last epoch's kept in the checkpoint
    resumed = make()
    resumed.load_checkpoint(tmp_path / "run.pt")
    resumed.train(10)
    assert resumed.history == straight.history
    assert torch.equal(resumed.model.weight, straight.model.weight)
