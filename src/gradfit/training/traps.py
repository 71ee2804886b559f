"""The walk-through's PyTorch traps, each run live: the few lines a learner writes, what PyTorch
itself says about them, why, and the fix (``gradfit traps``).

Each trap is code run with :func:`exec` on the book data (``x_train`` ``(80, 1)`` and ``y_train``
``(80,)``, NumPy float64, with ``torch`` and ``nn`` in scope), and that same text is what its
:class:`TrapResult` shows. No PyTorch message is written here: the exception raised and the
warnings issued are captured as they come (``str(exc)``, ``warnings.catch_warnings``). The fix
runs the same way, and each of the trap's numbers is one expression evaluated after both runs:
the wrong value beside the right one. torch is imported only when the traps run; the global
random state is left as it was (the traps seed their own draws, as the tutorial does).

>>> trap = run_traps(only="in-place-leaf")[0]
>>> trap.raised[0].type, trap.fix_raised
('RuntimeError', None)
"""

from __future__ import annotations

import inspect
import traceback
import warnings
from dataclasses import asdict, dataclass
from typing import Callable

from ..data.embedded import Dataset, load_dataset
from ..errors import BadOptionError, require

# The file name the traps' code runs under: tracebacks and warnings that point there give its line.
TRAP_FILE = "<gradfit trap>"


@dataclass(frozen=True)
class Said:
    """One exception or warning, as PyTorch (or Python) put it."""

    kind: str  # "error" or "warning"
    type: str  # the class: "RuntimeError", "UserWarning"
    text: str  # str(exception) or str(warning.message), verbatim
    by: str  # "PyTorch", or "Python" for an operator given None
    line: int | None  # the line of the code (1-based) it came from, where known


@dataclass(frozen=True)
class Number:
    """``expression`` evaluated after the trap's code (``wrong``) and after the fix (``right``);
    ``None`` where the code raised before it was defined."""

    expression: str
    meaning: str
    wrong: object
    right: object


@dataclass(frozen=True)
class TrapResult:
    """One trap, run: its code and what it raised, why, the fix (also run) and the numbers."""

    name: str
    title: str
    code: str
    raised: tuple[Said, ...] | None  # in order: warnings, then the exception that stopped the code
    why: str
    fix: str
    fix_raised: tuple[Said, ...] | None  # None: the fix ran clean
    numbers: tuple[Number, ...] = ()
    note: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def lines(*rows: str) -> str:
    return "\n".join(rows) + "\n"


TENSORS = lines("x = torch.as_tensor(x_train, dtype=torch.float)              # (80, 1)",
                "y = torch.as_tensor(y_train, dtype=torch.float).view(-1, 1)  # (80, 1)")
PARAMETERS = lines("torch.manual_seed(42)",
                   "b = torch.randn(1, requires_grad=True, dtype=torch.float)",
                   "w = torch.randn(1, requires_grad=True, dtype=torch.float)",
                   "lr = 0.1")
MODEL = lines("torch.manual_seed(42)", "model = nn.Sequential(nn.Linear(1, 1))")
FORWARD = ("    loss = ((b + w * x - y) ** 2).mean()", "    loss.backward()")
UPDATE = ("    with torch.no_grad():  # in place, unrecorded: b stays the leaf", "        b -= lr * b.grad",
          "        w -= lr * w.grad")
ZERO = ("    b.grad.zero_()", "    w.grad.zero_()")


# ---------------------------------------------------------------- running code and capturing what it says
def trap_line() -> int | None:
    """The line of the trap's code running now (the innermost frame of it on the stack), if any."""
    frame = inspect.currentframe()
    while frame is not None and frame.f_code.co_filename != TRAP_FILE:
        frame = frame.f_back
    return frame.f_lineno if frame is not None else None


def said_of_error(error: Exception) -> Said:
    frames = [frame for frame in traceback.extract_tb(error.__traceback__)]
    line = next((frame.lineno for frame in reversed(frames) if frame.filename == TRAP_FILE), None)
    # A TypeError raised on the trap's own line is Python's operator meeting None (lr * None);
    # PyTorch's own complaints in these traps are RuntimeErrors and warnings.
    own_line = bool(frames) and frames[-1].filename == TRAP_FILE
    by = "Python" if isinstance(error, TypeError) and own_line else "PyTorch"
    return Said("error", type(error).__name__, str(error), by, line)


def execute(code: str, book: Dataset) -> tuple[dict, tuple[Said, ...] | None]:
    """Run ``code`` on the book data: its names afterwards, and what it warned and raised."""
    import torch
    from torch import nn

    namespace = {"torch": torch, "nn": nn, "x_train": book.x_train.copy(), "y_train": book.y_train.copy()}
    said, error = [], None

    def record(message, category, filename, lineno, file=None, line=None) -> None:
        # Called while the warning is issued, so the stack still holds the trap's line (a warning
        # from inside torch, nn.MSELoss's, points to torch's file).
        said.append(Said("warning", category.__name__, str(message), "PyTorch", trap_line()))

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = record  # restored by catch_warnings
        try:
            exec(compile(code, TRAP_FILE, "exec"), namespace)
        except Exception as exc:  # the point of a trap: whatever it raises, kept as it was said
            error = exc
    said += [said_of_error(error)] if error is not None else []
    return namespace, tuple(said) or None


def measure(expression: str, namespace: dict) -> object:
    """``expression``'s value in ``namespace``; None where it cannot be computed (the code stopped early)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # reading b.grad of a non-leaf warns again: said already
        try:
            return eval(expression, namespace)
        except Exception:
            return None


def play(book: Dataset, name: str, title: str, *, code: str, fix: str, why: str,
         numbers: tuple[tuple[str, str], ...] = (), note: str | None = None) -> TrapResult:
    """Run a trap's code and its fix; the numbers are ``(expression, meaning)`` pairs."""
    wrong, raised = execute(code, book)
    right, fix_raised = execute(fix, book)
    measured = tuple(Number(expression, meaning, measure(expression, wrong), measure(expression, right))
                     for expression, meaning in numbers)
    return TrapResult(name, title, code, raised, why, fix, fix_raised, measured, note)


# ---------------------------------------------------------------- the traps, in the walk-through's order
def not_a_leaf(book: Dataset) -> TrapResult:
    """``b = b - lr * b.grad``: the name ``b`` now holds a tensor computed from the leaf."""
    head = TENSORS + PARAMETERS + lines("for epoch in range(2):", *FORWARD)
    return play(book, "not-a-leaf", "b = b - lr * b.grad makes b a computed tensor: its next .grad is None",
                code=head + lines("    b = b - lr * b.grad  # a new tensor, computed from b",
                                  "    w = w - lr * w.grad"),
                fix=head + lines(*UPDATE, *ZERO),
                why="b - lr * b.grad is a new tensor that autograd computed from b, so b is no longer a leaf: "
                    "backward() fills .grad of leaves only, the next b.grad is None (PyTorch warns as it is read) "
                    "and lr * None fails. Update the leaf itself, in place, under torch.no_grad().",
                numbers=(("b.is_leaf", "after the updates: is b still the leaf that backward() fills?"),))


def in_place_leaf(book: Dataset) -> TrapResult:
    """``b -= lr * b.grad`` while autograd records."""
    head = TENSORS + PARAMETERS + lines(*(row[4:] for row in FORWARD))
    return play(book, "in-place-leaf", "b -= lr * b.grad outside torch.no_grad(): an in-place change of a leaf",
                code=head + lines("b -= lr * b.grad  # in place, while autograd records", "w -= lr * w.grad"),
                fix=head + lines(*(row[4:] for row in UPDATE)),
                why="Autograd records every operation on a tensor that requires grad; changing such a leaf in "
                    "place would alter the start of the graph it belongs to, so PyTorch refuses. The update is no "
                    "part of the model: make it under torch.no_grad().",
                numbers=(("b.item()", "b after the update"),))


def grad_accumulates(book: Dataset) -> TrapResult:
    """Running the same forward and backward twice: the gradients add up."""
    first = lines(*(row[4:] for row in FORWARD), "first = b.grad.clone()")
    again = lines("loss = ((b + w * x - y) ** 2).mean()  # the same cell again: same b, w and loss",
                  "loss.backward()                       # adds to b.grad, w.grad")
    return play(book, "grad-accumulates", "backward() twice without zeroing: the gradient doubles",
                code=TENSORS + PARAMETERS + first + again,
                fix=TENSORS + PARAMETERS + first + lines(*(row[4:] for row in ZERO)) + again,
                why="backward() adds to .grad instead of replacing it (so that gradients of several losses can be "
                    "summed): the same forward and backward run twice leave twice the gradient. Zero the gradients "
                    "(b.grad.zero_(), or optimizer.zero_grad()) before the next backward().",
                numbers=(("first.item()", "b.grad after the first backward()"),
                         ("b.grad.item()", "b.grad after the second backward(), at the same b and w"),
                         ("w.grad.item()", "w.grad after the second backward()")))


def no_zero_grad(book: Dataset) -> TrapResult:
    """The training loop without ``zero_()``: every step carries all the earlier gradients."""
    head = TENSORS + PARAMETERS + lines("grads = []", "for epoch in range(2):", *FORWARD,
                                        "    grads.append((b.grad.item(), w.grad.item()))", *UPDATE)
    return play(book, "no-zero-grad", "the loop without b.grad.zero_(): epoch 2 steps with both epochs' gradients",
                code=head, fix=head + lines(*ZERO),
                why="Without zeroing, epoch 2's .grad is epoch 1's gradient plus epoch 2's, so the second step "
                    "still pushes along the first gradient, and every later step carries all the earlier ones. "
                    "Zero the gradients after each step (b.grad.zero_(); with an optimizer, optimizer.zero_grad()).",
                numbers=(("grads[0][0]", "b.grad in epoch 1"), ("grads[1][0]", "b.grad in epoch 2: what the step uses"),
                         ("grads[1][1]", "w.grad in epoch 2"), ("b.item()", "b after two steps")))


def matmul_shapes(book: Dataset) -> TrapResult:
    """nn.Linear(1, 1) fed the one feature as a flat (80,) vector."""
    head = lines("x = torch.as_tensor(x_train[:, 0], dtype=torch.float)  # (80,): the feature as a flat vector") + MODEL
    return play(book, "matmul-shapes", "nn.Linear(1, 1) fed a 1-D x of shape (80,)",
                code=head + lines("yhat = model(x)"),
                fix=head + lines("yhat = model(x.reshape(-1, 1))  # (80, 1): 80 rows of one feature"),
                why="nn.Linear(1, 1) multiplies rows of one feature by its 1x1 weight; a 1-D x of 80 numbers is "
                    "taken as one row of 80 features (1x80), which a 1x1 weight cannot multiply. Give it 80 rows of "
                    "one feature: x.reshape(-1, 1), shape (80, 1).",
                numbers=(("tuple(yhat.shape)", "the model's output"),))


def broadcast_mse(book: Dataset) -> TrapResult:
    """nn.MSELoss of an (80, 1) output against (80,) targets."""
    head = lines("x = torch.as_tensor(x_train, dtype=torch.float)  # (80, 1)") + MODEL + lines(
        "loss_fn = nn.MSELoss()", "yhat = model(x)                                  # (80, 1)")
    return play(book, "broadcast-mse", "nn.MSELoss of an (80, 1) output against (80,) targets: a wrong loss",
                code=head + lines("y = torch.as_tensor(y_train, dtype=torch.float)  # (80,): as the file reads it",
                                  "loss = loss_fn(yhat, y)"),
                fix=head + lines("y = torch.as_tensor(y_train, dtype=torch.float).view(-1, 1)  # (80, 1)",
                                 "loss = loss_fn(yhat, y)"),
                why="The model outputs (80, 1); targets of shape (80,) broadcast against it to (80, 80), every "
                    "prediction compared with all 80 targets, so the loss and its gradients are wrong, with only a "
                    "warning. Make the targets (80, 1): y.view(-1, 1).",
                numbers=(("tuple((yhat - y).shape)", "the differences the loss averages"),
                         ("loss.item()", "the MSE of the seeded nn.Linear(1, 1) on the 80 rows")))


def device_mismatch(book: Dataset) -> TrapResult:
    """The model on one device, the data on another: CUDA where there is one, else PyTorch's meta device."""
    import torch

    device = "cuda" if torch.cuda.is_available() else "meta"
    head = lines("x = torch.as_tensor(x_train, dtype=torch.float)  # (80, 1), on the CPU",
                 "torch.manual_seed(42)", f"model = nn.Sequential(nn.Linear(1, 1)).to({device!r})")
    note = None if device == "cuda" else (
        "no CUDA device here, so the second device is PyTorch's meta device (tensors with a shape and no data, "
        "on every machine) and the message is PyTorch's for it; with a GPU this trap runs on 'cuda', where "
        "PyTorch words the mismatch its own way")
    return play(book, "device", f"the model on {device!r}, the data on the CPU",
                code=head + lines("yhat = model(x)"),
                fix=head + lines(f"yhat = model(x.to({device!r}))  # the data where the model is"),
                why="A model's parameters and its inputs must be on the same device; PyTorch does not move data "
                    "for you. Move the data to the model's device (x.to(device)), or create both there.",
                numbers=(("str(yhat.device)", "where the output is"),), note=note)


def numpy_needs_detach(book: Dataset) -> TrapResult:
    """``loss.numpy()`` on a tensor that is part of the graph."""
    head = TENSORS + MODEL + lines("loss = nn.MSELoss()(model(x), y)")
    return play(book, "numpy-needs-detach", "loss.numpy() on a tensor autograd still tracks",
                code=head + lines("value = loss.numpy()"),
                fix=head + lines("value = loss.item()                  # a Python float",
                                 "array = loss.detach().cpu().numpy()  # a NumPy array, from any device"),
                why="loss requires grad (it is part of the graph), and NumPy cannot track gradients, so PyTorch "
                    "refuses to hand it over. loss.item() gives one number as a Python float; "
                    "loss.detach().cpu().numpy() gives an array of any size, from any device.",
                numbers=(("type(value).__name__", "what value is"), ("float(value)", "the loss"),
                         ("repr(array)", "the array")))


def summed_loss(book: Dataset) -> TrapResult:
    """``nn.MSELoss(reduction="sum")``: the loss (and every gradient) grows with the batch."""
    example = lines("yhat = torch.tensor([0.5, 1.0])  # one example's two predictions",
                    "y = torch.tensor([2.0, 1.3])")
    return play(book, "summed-loss", "nn.MSELoss on one example, [0.5, 1.0] against [2.0, 1.3]: a mean, not a sum",
                code=example + lines('loss = nn.MSELoss(reduction="sum")(yhat, y)'),
                fix=example + lines("loss = nn.MSELoss()(yhat, y)  # reduction='mean': ((0.5 - 2)² + (1 - 1.3)²) / 2"),
                why="nn.MSELoss averages the squared errors over every element: (1.5² + 0.3²) / 2 = 1.17. A sum "
                    "(reduction='sum') is n times larger, and so are its gradients: the learning rate that works "
                    "for a batch of 16 then diverges for a batch of 80. Keep the mean.",
                numbers=(("loss.item()", "the loss of the two predictions"),))


def state_dict_is_live(book: Dataset) -> TrapResult:
    """``state_dict()`` before a step holds the live parameters, not a copy."""
    step = lines("loss = nn.MSELoss()(model(x), y)", "loss.backward()",
                 "torch.optim.SGD(model.parameters(), lr=0.1).step()")
    return play(book, "state-dict-is-live", "state_dict() taken before a step is not a snapshot: it changes with it",
                code=TENSORS + MODEL + lines("before = model.state_dict()") + step,
                fix=TENSORS + MODEL + lines("before = {k: v.clone() for k, v in model.state_dict().items()}") + step,
                why="state_dict() hands back the parameter tensors themselves (detached, sharing their memory), so "
                    "an optimizer step changes 'before' too. Clone the tensors (or copy.deepcopy the dict) to keep "
                    "the values of a moment; torch.save of the dict writes the values of when it is called.",
                numbers=(('before["0.weight"].item()', "w in 'before', read after the step (the start: 0.7645)"),
                         ('model.state_dict()["0.weight"].item()', "w after the step")))


TRAPS: dict[str, Callable[[Dataset], TrapResult]] = {
    "not-a-leaf": not_a_leaf, "in-place-leaf": in_place_leaf, "grad-accumulates": grad_accumulates,
    "no-zero-grad": no_zero_grad, "matmul-shapes": matmul_shapes, "broadcast-mse": broadcast_mse,
    "device": device_mismatch, "numpy-needs-detach": numpy_needs_detach, "summed-loss": summed_loss,
    "state-dict-is-live": state_dict_is_live,
}


def run_traps(only: str | None = None) -> list[TrapResult]:
    """Run every trap (or the one named ``only``) on the installed PyTorch.

    Raises
    ------
    BadOptionError
        ``only`` names no trap.
    MissingDependencyError
        torch is not installed.
    """
    if only is not None and only not in TRAPS:
        raise BadOptionError("only", only, "no trap of that name", f"choose one of: {', '.join(TRAPS)}")
    require("torch", "running the traps")
    import torch

    book = load_dataset("book")
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):  # the traps seed torch; the caller's state comes back
        return [trap(book) for name, trap in TRAPS.items() if only in (None, name)]


def traps_report(traps: list[TrapResult]) -> dict:
    """The traps as one JSON-ready object, with the PyTorch they ran on."""
    import torch

    return {"torch_version": torch.__version__, "data": data_text(), "traps": [trap.to_dict() for trap in traps]}


def data_text() -> str:
    """What the traps' code finds in scope besides ``torch`` and ``nn``."""
    book = load_dataset("book")
    return (f"x_train {book.x_train.shape} and y_train {book.y_train.shape}: the book's {len(book.y_train)} "
            f"training rows, NumPy {book.x_train.dtype}")
