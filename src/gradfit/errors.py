"""Errors and warnings that gradfit raises for its users.

Every error a user can cause is a :class:`GradfitError` with a message that says what is wrong,
where, and how to fix it. The command line prints that message as one line on stderr and exits
with the error's ``exit_code``; the Python API raises it as is.

A message names options through :func:`option` (``option("lr", 0.4)``), so that each caller is
told in its own language: Python reads ``lr=0.4``, the command line ``--lr 0.4``
(:meth:`GradfitError.render` with the command line's renderer). ``str(error)`` is the Python form.
"""

from __future__ import annotations

import ast
import inspect
import os
import re
import warnings
from typing import Callable

# An option reference inside a message: ⟦name⟧, ⟦name=repr(value)⟧, either with |python text.
_REFERENCE = re.compile(r"⟦([A-Za-z_][A-Za-z0-9_]*)(?:=(.*?))?(?:\|(.*?))?(?:\|(.*?))?⟧")
_NO_VALUE = object()

# How the command line spells a reference: (name, value or None, whether a value was given) -> text.
CliRenderer = Callable[[str, object, bool], str]


def option(name: str, value: object = _NO_VALUE, *, python: str | None = None, cli: str | None = None) -> str:
    """A reference to option ``name`` (with an example ``value``) for a user-facing message.

    Rendered ``name=value`` for Python (``lr=0.4``, ``engine='torch'``; a bare ``name`` without a
    value) and ``--name value`` by the command line (switches as their flags: ``--dropna``,
    ``--no-intercept``). A number given as text keeps its spelling (``option("tol", "1e-4")``).
    ``python`` replaces the Python form where the API has no such option (the command line's
    ``--features`` is the columns of ``x`` for :func:`gradfit.fit`); ``cli`` replaces the command
    line's (a whole invocation, say).

    >>> render(f"try {option('lr', 0.4)} or {option('lr', 'auto')}")
    "try lr=0.4 or lr='auto'"
    """
    if value is _NO_VALUE:
        text = name
    elif isinstance(value, str) and _is_number(value):
        text = f"{name}={value}"  # a number as the caller spelled it
    else:
        text = f"{name}={value!r}"
    return f"⟦{text}" + ("" if python is None and cli is None else f"|{python or ''}") + \
        ("" if cli is None else f"|{cli}") + "⟧"


def render(template: str, cli: CliRenderer | None = None) -> str:
    """``template`` with its :func:`option` references in Python's words, or the command line's (``cli``)."""
    def one(match: re.Match) -> str:
        name, raw, python, cli_text = match.groups()
        if cli is not None:
            return cli_text if cli_text else cli(name, None if raw is None else _value(raw), raw is not None)
        if python:
            return python
        if raw is None:
            return name
        value = _value(raw)
        return f"{name}={value}" if _placeholder(value) else f"{name}={raw}"

    return _REFERENCE.sub(one, template)


def default_cli_text(name: str, value: object, has_value: bool) -> str:
    """``--name-with-dashes value``: how the command line spells an option it has no special form for."""
    flag = "--" + name.replace("_", "-")
    return f"{flag} {value}" if has_value else flag


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return text.strip().lower() not in ("nan", "inf", "-inf", "infinity")


def _value(raw: str) -> object:
    """What a reference's raw text stands for: numbers keep their spelling (as text)."""
    if _is_number(raw):
        return raw
    try:
        return ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        return raw


def _placeholder(value: object) -> bool:
    """``PATH``, ``COL``, ``N``: a value standing for the user's own, shown without quotes."""
    return isinstance(value, str) and value.isupper() and value.isalpha()


class Rendered:
    """Text with option references, shown in Python's words by ``str()`` and in the command
    line's by ``render(cli)``: the base of gradfit's errors and warnings."""

    def __init__(self, message: str = "", *args: object) -> None:
        self.template = message
        super().__init__(self.render(), *args)

    def render(self, cli: CliRenderer | None = None) -> str:
        """The message for Python (``cli=None``) or as the command line says it."""
        return render(self.template, cli)


def warn(warning: Warning) -> None:
    """Issue ``warning`` as from the caller's own line: the first frame outside gradfit (so a
    notebook or script shows its line, not gradfit's)."""
    package = os.path.dirname(os.path.abspath(__file__)) + os.sep
    frame, level = inspect.currentframe().f_back, 2
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        frame, level = frame.f_back, level + 1
    warnings.warn(warning, stacklevel=level)


class GradfitError(Rendered, Exception):
    """Base class of every error gradfit reports to a user."""

    exit_code = 2


class BadOptionError(GradfitError, ValueError):
    """An option has a value gradfit cannot use.

    Parameters
    ----------
    option : str
        The option's Python name (``"batch_size"``); the command line shows it as
        ``--batch-size``.
    value : object
        What was received.
    problem : str
        What is wrong with it, e.g. ``"must be a positive integer"``.
    fix : str, optional
        How to put it right (may name options with :func:`option`).
    """

    def __init__(self, option: str, value: object, problem: str, fix: str = "") -> None:
        self.option, self.value, self.problem, self.fix = option, value, problem, fix
        super().__init__(problem + (f"; {fix}" if fix else ""))

    def render(self, cli: CliRenderer | None = None) -> str:
        """The message as the command line (``--lr abc: …``) or the API (``lr='abc': …``) says it."""
        if cli is not None:
            head = cli(self.option, self.value, self.value is not None)
        else:
            head = f"{self.option}={self.value!r}"
        return f"{head}: " + render(self.template, cli)


class BadDataError(GradfitError, ValueError):
    """The data cannot be fitted as given (shapes, values, files)."""


class DivergedError(GradfitError, RuntimeError):
    """Gradient descent diverged: the loss became inf/nan or grew without bound.

    Attributes
    ----------
    epoch : int
        The epoch (1-based) at which divergence was detected.
    loss : float
        The training loss at that epoch.
    lr : float
        The learning rate that was used.
    lr_max_stable : float or None
        The largest stable full-batch learning rate for this data, ``2 / L``.
    history : list of float
        The training loss of every epoch up to and including the diverging one.
    """

    exit_code = 1

    def __init__(self, epoch: int, loss: float, lr: float, lr_max_stable: float | None,
                 history: list[float] | None = None) -> None:
        self.epoch, self.loss, self.lr, self.lr_max_stable = epoch, loss, lr, lr_max_stable
        self.history = list(history or [])
        message = f"training diverged at epoch {epoch} (train loss {_number(loss, '.4g')}) with learning rate " \
            f"{_number(lr, 'g')}"
        if _usable_rate(lr_max_stable) and _usable_rate(lr_max_stable / 2):  # 0, inf, nan: no advice
            message += (
                f"; the largest stable full-batch learning rate for this data is {lr_max_stable:.4g}"
                f" (2 / largest eigenvalue of the loss Hessian): try {option('lr', _round_down(lr_max_stable / 2))}"
                f" or {option('lr', 'auto')}"
            )
        super().__init__(message)


class BadModelError(GradfitError, ValueError):
    """A model or optimizer handed to :class:`gradfit.Trainer` cannot be trained as given
    (e.g. a tensor that is not a leaf, so its ``.grad`` stays ``None``)."""


class Interrupted(GradfitError):
    """A run stopped at an epoch boundary because :func:`gradfit.request_stop` asked it to.

    Attributes
    ----------
    epoch : int
        Epochs completed (in total, resumes included) when the run stopped.
    checkpoint : str or None
        The checkpoint written at that epoch (resume from it), or ``None`` if the run had none.
    """

    exit_code = 130  # the shell's code for a run ended by Ctrl-C (128 + SIGINT)

    def __init__(self, epoch: int, checkpoint: str | None = None) -> None:
        self.epoch, self.checkpoint = epoch, checkpoint
        if checkpoint is not None:
            message = (f"interrupted after epoch {epoch}; checkpoint saved to {checkpoint!r}: "
                       f"continue with {option('resume', checkpoint)}")
        else:
            message = (f"interrupted after epoch {epoch}; nothing saved (give {option('checkpoint', 'PATH')} to be "
                       "able to resume)")
        super().__init__(message)


class ProcessGroupError(GradfitError, RuntimeError):
    """Another process of a torchrun launch was lost (killed, crashed) or stopped answering within
    the timeout, so this one cannot go on; the message names the rank when it is known, and how the
    run continues (torchrun's restart, or the command that resumes it from its checkpoint).

    Attributes
    ----------
    fault : gradfit.scale.launch.Fault or None
        What this process saw of the failure (its kind, the ranks lost, whether this process is
        the one that reports it); ``None`` where the group never formed. torch's own exception is
        the ``__cause__``.
    """

    exit_code = 1  # the run failed for a reason outside its inputs (as a diverged one: 1, not 2)

    def __init__(self, message: str, fault=None) -> None:
        self.fault = fault
        super().__init__(message)


class CollinearityWarning(Rendered, UserWarning):
    """The columns are nearly collinear (high condition number on unit-length columns)."""


class MissingDependencyError(GradfitError):
    """An optional package that a feature needs (matplotlib, tensorboard, torchviz) is not installed."""


OPTIONAL = {  # module: (what needs it, the extra that installs it)
    "matplotlib": ("plotting", "plots"),
    "tensorboard": (option("tensorboard", python="logging to TensorBoard"), "tensorboard"),
    "torchviz": ("drawing the autograd graph", "graph"),
    "formulaic": ("a formula", "formula"),
}


def require(module: str, purpose: str | None = None) -> None:
    """Raise :class:`MissingDependencyError` (one line, with the install command) when ``module``
    cannot be imported; checked before any work starts, so nothing runs in vain. ``purpose``
    says what needs it, when more than the usual (:data:`OPTIONAL`)."""
    from importlib.util import find_spec

    if find_spec(module) is None:
        # A dependency of gradfit itself (torch) has no extra to name.
        usual, extra = OPTIONAL.get(module, (module, None))
        purpose = purpose or usual
        also = f" (or pip install \"gradfit[{extra}]\")" if extra else ""
        raise MissingDependencyError(f"{purpose} needs {module}, which is not installed: pip install {module}{also}")


class ConvergenceWarning(Rendered, UserWarning):
    """Gradient descent stopped at ``epochs`` before meeting the convergence tolerance."""


class NoGradientWarning(Rendered, UserWarning):
    """Parameters handed to the optimizer got no gradient from ``backward()``: they never change."""


def _round_down(value: float) -> str:
    """A short learning rate at or below ``value`` (two significant digits, rounded down); never
    raises: a value that is not a positive finite number is shown as it is.

    >>> _round_down(0.987), _round_down(0.0), _round_down(float("inf")), _round_down(float("nan"))
    ('0.98', '0', 'inf', 'nan')
    """
    from math import floor, log10

    if not _usable_rate(value):
        return _number(value, ".2g")
    try:
        scale = 10.0 ** (floor(log10(value)) - 1)
        rounded = floor(value / scale) * scale
    except (ValueError, OverflowError, ZeroDivisionError):  # scale 0.0 or inf at float64's ends
        return _number(value, ".2g")
    return f"{rounded:.2g}" if 0 < rounded <= value else _number(value, ".2g")


def _usable_rate(value: object) -> bool:
    """Whether ``value`` is a learning rate to suggest: a positive finite number."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return False
    return number > 0 and number != float("inf")


def _number(value: object, spec: str) -> str:
    """``format(value, spec)``, or ``repr(value)`` when it is not a number (a message must not fail)."""
    try:
        return format(float(value), spec)
    except (TypeError, ValueError, OverflowError):
        return repr(value)
