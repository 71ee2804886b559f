"""The options of a fit, each declared once: name, default, TOML table, help, documentation, check.

:class:`FitConfig`'s fields are the declaration. Everything else derives from them:

- the keyword arguments of :func:`gradfit.fit`, :func:`gradfit.solve` and the other entry points
  (:func:`signature_options`, :func:`document_options`: their signatures and docstrings);
- the command line's flags and the TOML config file's keys (:mod:`gradfit.cli.options` adds the
  options only the command line has: the data file, ``--json``, ``--plot`` …);
- the checkpoint fingerprint (:data:`RUN_SHAPING`: the options a resumed run must share).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Callable

from .errors import BadOptionError, option
from .option_checks import (boolean, choice, cov_type, device_text, formula_text, fraction, learning_rate,
                            non_negative_float, non_negative_int, path_text, poly_degree, positive_float, positive_int,
                            seconds, significance)

ENGINES = ("auto", "numpy", "torch", "exact")
MODELS = ("linear", "manual", "tensors", "sequential")
UPDATES = ("manual", "optimizer")
LOSSES = ("manual", "mse")
OPTIMIZERS = ("sgd", "adam", "fista")
DTYPES = ("float32", "float64")
SCHEDULERS = ("step", "cosine", "plateau")

# The Python entry points an option belongs to (their signatures derive from this).
FIT = ("fit", "sweep", "fit_streaming")
FIT_AND_SOLVE = FIT + ("solve", "solve_streaming")
_SAME = object()


@dataclass(frozen=True)
class Option:
    """The declaration of one option.

    Attributes
    ----------
    name : str
        The Python keyword and TOML key; the command line's flag is ``--name-with-dashes``
        unless ``flag`` says otherwise.
    section : str
        The TOML table: ``data``, ``model``, ``training`` or ``output``.
    help : str
        One line for ``--help``.
    doc : str
        The numpydoc entry for Python docstrings (``type`` line first, then the text).
    parse : callable or None
        ``value -> value``: checks and converts (strings from the command line included).
    kind : str
        ``value``, ``switch`` (a flag storing True), ``negated`` (``--no-X`` storing False) or
        ``boolean`` (``--X/--no-X``).
    python : tuple of str
        The Python functions that take it as a keyword.
    commands : tuple of str
        The commands that take it as a flag (empty: Python only).
    shapes_run : bool
        A resumed run must use the saved value (it is part of the checkpoint fingerprint).
    path : bool
        A file or folder: relative paths in a config file are relative to that file.
    cli_default : object
        The command line's default when it differs from Python's.
    """

    name: str
    default: object
    section: str
    help: str
    doc: str
    parse: Callable | None = None
    kind: str = "value"
    flag: str | None = None
    metavar: str | None = None
    python: tuple[str, ...] = FIT
    commands: tuple[str, ...] = ("fit",)
    shapes_run: bool = False
    path: bool = False
    cli_default: object = _SAME

    @property
    def cli_flag(self) -> str:
        return self.flag or "--" + self.name.replace("_", "-")

    @property
    def command_default(self) -> object:
        return self.default if self.cli_default is _SAME else self.cli_default


def declare(default, section: str, help: str, doc: str, **spec) -> object:
    """A :class:`FitConfig` field declaring one option (the name is the field's)."""
    return field(default=default, metadata={"option": dict(default=default, section=section, help=help, doc=doc,
                                                           **spec)})


# ----- the declaration ------------------------------------------------------------------------

@dataclass
class FitConfig:
    """Every option of a fit, validated up front (:meth:`validate`); one field per option.

    Each field's declaration (default, TOML table, ``--help`` line, documentation, check) is
    the one place an option is defined; see :func:`options`.
    """

    # [data]: what is fitted
    intercept: bool = declare(
        True, "data", "fit y ≈ x·w without b", "bool\n    Fit an intercept ``b``.", parse=boolean,
        kind="negated", flag="--no-intercept", python=FIT_AND_SOLVE, commands=("fit", "solve", "lr-find"),
        shapes_run=True)
    poly: int | None = declare(
        None, "data", "polynomial terms x, x², …, x^DEG of the one feature",
        "int, optional\n    Fit the polynomial ``x, x², …, x^poly`` of a single feature (1 to 20).",
        parse=poly_degree, metavar="DEG", python=FIT_AND_SOLVE, commands=("fit", "solve", "lr-find"))
    alpha: float = declare(
        0.05, "data", "confidence intervals at 1 − alpha (default 0.05: 95%%)",
        "float\n    The statistics (``res.stats``) give ``1 - alpha`` confidence intervals.",
        parse=significance, python=FIT_AND_SOLVE, commands=("fit", "solve"))
    formula: str | None = declare(
        None, "data", "a formula, e.g. \"y ~ x1 + C(g) + x1:x2 + np.log(x3)\" (formulaic; instead of --target "
        "and --features)",
        "str, optional\n    A formula on the DataFrame ``x`` (``y`` left out), e.g. ``'y ~ x1 + C(g) + x1:x2'``: "
        "terms named as\n    statsmodels names them (``C(g)[T.b]``), categorical levels treatment-coded against the "
        "first sorted\n    level; the saved model encodes new rows the same way. Needs formulaic.",
        parse=formula_text, metavar="FORMULA", python=("fit", "sweep", "solve"), commands=("fit", "solve"))
    cov_type: str = declare(
        "nonrobust", "data", "covariance of the coefficients: nonrobust (default), HC0, HC1, HC2, HC3, cluster "
        "(with --cluster) or HAC (with --maxlags)",
        "{'nonrobust', 'HC0', 'HC1', 'HC2', 'HC3', 'cluster', 'HAC'}\n    The covariance behind the standard errors, "
        "tests and intervals, as statsmodels' ``fit(cov_type=…)``:\n    classical (Student t), or robust to "
        "heteroscedasticity (HC0–HC3), to correlation within clusters\n    (``cluster`` with ``cluster=``) or to "
        "autocorrelation (``HAC`` with ``maxlags``); robust kinds use the\n    normal distribution.",
        parse=cov_type, flag="--cov", metavar="TYPE", python=FIT_AND_SOLVE, commands=("fit", "solve"))
    maxlags: int | None = declare(
        None, "data", "lags of the HAC covariance (Newey-West, Bartlett kernel)",
        "int, optional\n    The lag length ``L`` of ``cov_type='HAC'`` (Bartlett weights ``1 - l/(L+1)``).",
        parse=non_negative_int, metavar="L", python=FIT_AND_SOLVE, commands=("fit", "solve"))
    val_split: float | None = declare(
        None, "data", "hold out this fraction for validation (default: the embedded dataset's own split, none "
        "for files; 0 for none)",
        "float, optional\n    Fraction of rows held out for validation (in memory: a seeded shuffle; streamed: "
        "a seeded\n    hash of each row's position in the file); default: an embedded dataset's own split, else "
        "none.", parse=fraction, metavar="F", commands=("fit", "lr-find"))
    standardize: bool = declare(
        False, "data", "run GD on centred and scaled data, report on the original scale (default: on for data "
        "files, off for embedded datasets)",
        "bool\n    Run gradient descent on features and target centred and scaled with training-split statistics, "
        "and report\n    everything on the original scale. Off by default, so the tutorial's numbers hold; the "
        "command line\n    turns it on for data files. A penalty (``l1``, ``l2``) then acts on the standardized "
        "coefficients\n    (for ``solve`` that is all it changes: least squares does not depend on the scaling).", parse=boolean, kind="boolean", shapes_run=True,
        cli_default=None, python=FIT_AND_SOLVE, commands=("fit", "solve", "lr-find"))
    # [model]: what is trained, where
    l2: float = declare(
        0.0, "model", "ridge penalty: add L2·Σ w² to the MSE (intercept never penalized; on the standardized "
        "coefficients when standardizing)",
        "float\n    Ridge: minimise ``MSE + l2·Σⱼ wⱼ²`` (never the intercept; on the standardized coefficients "
        "when\n    ``standardize``). scikit-learn's ``Ridge(alpha=n·l2)``; with ``l1``, an elastic net.",
        parse=non_negative_float(0.1), metavar="L2", python=FIT_AND_SOLVE, commands=("fit", "solve"),
        shapes_run=True)
    l1: float = declare(
        0.0, "model", "lasso penalty: add L1·Σ |w| to the MSE (proximal gradient; intercept never penalized)",
        "float\n    Lasso: minimise ``MSE + l1·Σⱼ |wⱼ|`` by proximal gradient descent (ISTA; FISTA with\n    "
        "``optimizer='fista'``); scikit-learn's ``Lasso(alpha=l1/2)``. The exact answer comes from\n    "
        "coordinate descent polished to rounding, with its KKT residual.",
        parse=non_negative_float(0.01), metavar="L1", python=FIT_AND_SOLVE, commands=("fit", "solve"),
        shapes_run=True)
    engine: str = declare(
        "auto", "model", "auto (default), numpy, torch or exact",
        "{'auto', 'numpy', 'torch', 'exact'}\n    ``numpy``: hand-written gradients; ``torch``: autograd and "
        "``torch.optim``; ``exact``: full-batch GD\n    through XᵀX at O(p²) an epoch; ``auto``: ``exact`` for "
        "full-batch plain SGD on the CPU, else ``torch``.", parse=choice(*ENGINES))
    model: str | None = declare(
        None, "model", "torch model: manual (a module with nn.Parameter b and w; default), tensors (bare leaf "
        "tensors b, w with requires_grad), linear (nn.Linear) or sequential (nn.Sequential(nn.Linear))",
        "{'manual', 'tensors', 'linear', 'sequential'}, optional\n    Torch engine: the tutorial's module with "
        "``nn.Parameter`` b and w (default), two bare leaf\n    tensors made with ``requires_grad=True`` "
        "(``tensors``), ``nn.Linear``, or ``nn.Sequential(nn.Linear)``.", parse=choice(*MODELS),
        shapes_run=True, commands=("fit", "lr-find"))
    update: str | None = declare(
        None, "model", "torch engine: manual (inside torch.no_grad(), then grad.zero_()) or optimizer "
        "(torch.optim; default)",
        "{'manual', 'optimizer'}, optional\n    Torch engine: update the parameters by hand inside "
        "``torch.no_grad()`` and zero each ``.grad``\n    (``manual``), or with ``torch.optim`` (default).",
        parse=choice(*UPDATES), shapes_run=True)
    loss: str | None = declare(
        None, "model", "torch engine: manual (((yhat - y) ** 2).mean()) or mse (nn.MSELoss; default)",
        "{'manual', 'mse'}, optional\n    Torch engine: the mean squared error written out (``manual``) or "
        "``nn.MSELoss`` (default).", parse=choice(*LOSSES), shapes_run=True)
    device: str = declare(
        "auto", "model", "auto (default), cpu, cuda or cuda:N (torch engine)",
        "str\n    ``auto``, ``cpu``, ``cuda`` or ``cuda:N`` (torch engine).", parse=device_text,
        commands=("fit", "lr-find"))
    dtype: str | None = declare(
        None, "model", "float32 or float64 (default: float32 for torch, float64 otherwise)",
        "{'float32', 'float64'}, optional\n    Default float32 for torch (as in the tutorial), float64 for numpy "
        "and exact.", parse=choice(*DTYPES), shapes_run=True, commands=("fit", "lr-find"))
    # [training]: how
    optimizer: str = declare(
        "sgd", "training", "sgd (default), adam (torch engine) or fista (accelerated proximal gradient: numpy and "
        "exact engines, full batch)",
        "{'sgd', 'adam', 'fista'}\n    ``sgd``: plain gradient descent (proximal gradient, ISTA, with ``l1``); "
        "``adam``: ``torch.optim.Adam``\n    (torch engine); ``fista``: accelerated proximal gradient (Beck & "
        "Teboulle), full batch on\n    the numpy and exact engines.",
        parse=choice(*OPTIMIZERS), shapes_run=True, commands=("fit", "lr-find"))
    lr: float | str = declare(
        0.1, "training", "learning rate, or auto (from the loss curvature); default 0.1",
        "float or 'auto'\n    ``'auto'`` derives the step from the curvature of the loss: about the optimal "
        "fixed step\n    ``2/(L+μ)`` for full batch (``L``, ``μ`` the extreme eigenvalues of the loss Hessian; "
        "``2/L`` is the\n    stability limit), and a bound for sampled mini-batches otherwise.",
        parse=learning_rate, shapes_run=True)
    epochs: int = declare(
        1000, "training", "passes over the training rows (default 1000)", "int\n    Passes over the training rows.",
        parse=positive_int(1000), metavar="N", commands=("fit", "lr-find"))
    batch_size: int | None = declare(
        None, "training", "rows per update: omit for full batch, 1 for stochastic",
        "int, optional\n    ``None`` for full batch, ``1`` for stochastic gradient descent.",
        parse=positive_int(fix="use 1 for stochastic GD, or omit it for full batch"), metavar="N", shapes_run=True,
        commands=("fit", "lr-find"))
    shuffle_buffer: int | None = declare(
        None, "training", "with --chunk-rows and --batch-size: rows shuffled together as they stream from the file "
        "(default about 64 MiB of rows)",
        "int, optional\n    Mini-batches streamed from disk: rows shuffled together (default about 64 MiB of "
        "rows;\n    at least the number of rows gives exactly the batches of the in-memory run).",
        parse=positive_int(1_000_000), metavar="N", python=("fit_streaming",), shapes_run=True)
    seed: int = declare(
        42, "training", "seeds initial values and shuffling (default 42)",
        "int\n    Seeds the initial values and the mini-batch shuffle.", parse=non_negative_int, metavar="N",
        shapes_run=True, commands=("fit", "lr-find"))
    tol: float = declare(
        1e-4, "training", "converged when the final scale-free gradient norm (features and target at unit "
        "variance) is at most tol (default 1e-4)",
        "float\n    Converged when the norm of the scale-free gradient at the end (the MSE gradient with features "
        "and\n    target scaled to unit variance, so independent of units) is at most ``tol``.",
        parse=positive_float("1e-4"), commands=("fit", "lr-find"))
    patience: int | None = declare(
        None, "training", "early stopping: stop after N epochs without a better validation loss and keep the best "
        "epoch's weights",
        "int, optional\n    Early stopping: stop after ``patience`` epochs without a better validation loss and "
        "keep the best\n    epoch's parameters (``res.stopped_epoch``, ``res.best_epoch``).",
        parse=positive_int(20, fix=f"e.g. {option('patience', 20)} (needs validation data)"), metavar="N",
        shapes_run=True)
    scheduler: str | None = declare(
        None, "training", "learning-rate schedule (torch engine): step (halve every 100 epochs), cosine (to 0 over "
        "--epochs) or plateau (x0.1 after 10 epochs without improvement)",
        "{'step', 'cosine', 'plateau'}, optional\n    Torch engine: ``step`` halves the rate every 100 epochs, "
        "``cosine`` anneals it to 0 over ``epochs``,\n    ``plateau`` divides it by 10 after 10 epochs without "
        "improvement. ``res.history.lr`` holds each epoch's rate.", parse=choice(*SCHEDULERS), shapes_run=True)
    resume: str | None = declare(
        None, "training", "continue the run saved in this checkpoint up to --epochs in total",
        "str, optional\n    Continue the run in this checkpoint until ``epochs`` epochs in total (600 done and "
        "``epochs=1000``:\n    400 more), with the numbers of the uninterrupted run. Data and the options that "
        "shape training\n    must match the saved run.", parse=path_text, metavar="PATH", path=True)
    resume_if_exists: bool = declare(
        False, "training", "resume from --resume (or --checkpoint) if that file exists, else start: one command "
        "line that starts a run and continues it after a pre-emption or a restart",
        "bool\n    Resume from ``resume`` (or, without it, ``checkpoint``) when that file exists, and start a new "
        "run\n    when it does not: the same call starts a run and continues it after a pre-emption.",
        parse=boolean, kind="switch")
    timeout: float | None = declare(None, "training", "under torchrun: seconds to wait for another process (default 300)",
                                    "float, optional\n    Under torchrun: seconds to wait for another process (300).",
                                    parse=seconds, metavar="SECONDS", python=FIT_AND_SOLVE, commands=("fit", "solve"))
    # [output]
    checkpoint: str | None = declare(
        None, "output", "save a checkpoint here every epoch (or --checkpoint-every N), at the end and on Ctrl-C or SIGTERM",
        "str, optional\n    Write a checkpoint to this file (atomically) every ``checkpoint_every`` epochs, at "
        "the end, when\n    stopping early and when :func:`gradfit.request_stop` interrupts the run.",
        parse=path_text, metavar="PATH", path=True)
    checkpoint_every: int | None = declare(
        None, "output", "epochs between checkpoints (default 1)",
        "int, optional\n    Epochs between checkpoints (default 1; the exact engine writes when it ends).",
        parse=positive_int(10), metavar="N")
    tensorboard: str | None = declare(
        None, "output", "write TensorBoard logs (losses, lr, parameters, graph) into DIR",
        "str, optional\n    Log every epoch (losses, learning rate, parameters) to this folder for TensorBoard.",
        parse=path_text, metavar="DIR", path=True)
    trace_steps: int = declare(
        0, "output", "print the first N updates' steps: predictions, loss, gradients, update (every engine)",
        "int\n    Keep the first ``trace_steps`` updates' steps 1–4 in ``res.steps`` (first predictions, the "
        "batch loss,\n    the gradient, the parameters before and after), printed by the command line.",
        parse=non_negative_int, metavar="N")
    record_path: bool = declare(
        False, "output", "", "bool\n    Keep the parameters after every update in ``res.path`` (``(updates + 1, p)``)"
        ", e.g. to draw\n    the path on the loss surface.", parse=boolean, python=("fit",), commands=())

    def validate(self) -> "FitConfig":
        """Check every option, converting strings from the command line; return ``self``."""
        for spec in options():
            value = getattr(self, spec.name)
            if value is not None and spec.parse is not None:
                setattr(self, spec.name, spec.parse(spec.name, value))
        self._check_training_control()
        self._check_engine_combination()
        self._check_fista()
        self._check_penalty()
        self._check_stages()
        return self

    @property
    def walkthrough_stage(self) -> bool:
        """The run is one of the walk-through's bare loops (:mod:`gradfit.engines.stages`): bare
        tensors, an update by hand or the loss written out."""
        return self.model == "tensors" or self.update == "manual" or self.loss == "manual"

    def _check_stages(self) -> None:
        if not self.walkthrough_stage:
            return
        chosen = "model" if self.model == "tensors" else "update" if self.update == "manual" else "loss"
        value = getattr(self, chosen)
        if self.update == "manual" and self.optimizer != "sgd":
            raise BadOptionError("update", "manual", f"an update by hand is plain gradient descent, not "
                                 f"{self.optimizer}", f"leave {option('update')} out for {option('optimizer', self.optimizer)}")
        for name, fix in (("scheduler", "a torch.optim scheduler"), ("l1", "a penalty"), ("l2", "a penalty")):
            if getattr(self, name):
                raise BadOptionError(chosen, value, f"the walk-through's bare loop trains the plain MSE with a "
                                     f"constant rate, without {fix}", f"use {option('model', 'manual')} and leave "
                                     f"{option('update')} and {option('loss')} out")

    def _check_penalty(self) -> None:
        if (self.l1 or self.l2) and self.cov_type != "nonrobust":
            raise BadOptionError("cov_type", self.cov_type, "robust covariances are those of unpenalized least "
                                 "squares; a penalized fit reports no standard errors",
                                 f"leave {option('cov_type')} out, or drop {option('l1')} and {option('l2')}")

    def _check_training_control(self) -> None:
        if self.resume_if_exists and not (self.resume or self.checkpoint):
            raise BadOptionError("resume_if_exists", True, "needs the checkpoint to look for",
                                 f"add {option('checkpoint', 'PATH')} (written as the run goes, resumed if it exists)")
        if self.checkpoint_every is not None and self.checkpoint is None:
            raise BadOptionError("checkpoint_every", self.checkpoint_every, "needs a checkpoint file",
                                 f"add {option('checkpoint', 'PATH')}")

    def _check_engine_combination(self) -> None:
        if self.engine in ("numpy", "exact"):
            self._check_plain_engine()
        if self.engine == "exact" and self.dtype == "float32":
            raise BadOptionError("dtype", "float32", "the exact engine computes in float64 (its epochs come from "
                                 "XᵀX in closed form; float32 would only lose digits)",
                                 f"use {option('engine', 'numpy')} or {option('engine', 'torch')} for float32, or "
                                 f"leave {option('dtype')} out")
        if self.engine == "exact" and self.batch_size is not None:
            raise BadOptionError(
                "batch_size", self.batch_size, "the exact engine runs full-batch gradient descent only",
                f"leave {option('batch_size')} out, or use {option('engine', 'numpy')} or "
                f"{option('engine', 'torch')} for mini-batches")
        if self.lr == "auto" and self.optimizer == "adam":
            raise BadOptionError("lr", "auto", "the curvature rule behind 'auto' is for plain gradient descent, not "
                                 "adam", f"give adam a number, e.g. {option('lr', 0.01)}")

    def _check_fista(self) -> None:
        if self.optimizer != "fista":
            return
        if self.engine == "torch":
            raise BadOptionError("optimizer", "fista", "FISTA runs on the numpy and exact engines",
                                 f"use {option('engine', 'exact')} (or auto), or {option('optimizer', 'sgd')} on torch")
        if self.batch_size is not None:
            raise BadOptionError("optimizer", "fista", "FISTA's acceleration is for full-batch gradients",
                                 f"leave {option('batch_size')} out, or use {option('optimizer', 'sgd')}")
        if self.engine == "numpy" and self.resume is not None:
            raise BadOptionError("resume", self.resume, "the numpy engine does not save FISTA's momentum in its "
                                 "checkpoints", f"resume with {option('engine', 'exact')}, which replays it exactly")

    def _check_plain_engine(self) -> None:
        """The numpy and exact engines: plain gradient descent on the CPU, no torch module."""
        torch_engine = option("engine", "torch")
        if self.optimizer == "adam":
            raise BadOptionError("optimizer", self.optimizer, f"the {self.engine} engine runs sgd or fista only",
                                 f"use {torch_engine} for adam")
        for name in ("model", "update", "loss"):
            if getattr(self, name) is not None:
                raise BadOptionError(name, getattr(self, name), f"{option(name)} chooses how torch trains; the "
                                     f"{self.engine} engine has none", f"use {torch_engine}, or leave {option(name)} out")
        if self.device not in ("auto", "cpu"):
            raise BadOptionError("device", self.device, f"the {self.engine} engine runs on the CPU",
                                 f"use {torch_engine} for a GPU")
        if self.scheduler is not None:
            raise BadOptionError("scheduler", self.scheduler, f"learning-rate schedulers run on the torch engine, "
                                 f"not {self.engine}", f"use {torch_engine} (or auto)")

    def resolved_dtype(self, engine: str) -> str:
        """The dtype a given engine runs in: float32 for torch unless asked, float64 otherwise."""
        return self.dtype if self.dtype is not None else "float32" if engine == "torch" else "float64"


# ----- what derives from the declaration -------------------------------------------------------

def options() -> list[Option]:
    """Every option :class:`FitConfig` declares, in declaration order."""
    return list(_OPTIONS)


def _declared() -> tuple[Option, ...]:
    return tuple(Option(name=f.name, **f.metadata["option"]) for f in fields(FitConfig))


_OPTIONS = _declared()
BY_NAME = {spec.name: spec for spec in _OPTIONS}
# The options a resumed run must share with the saved one (part of the checkpoint fingerprint).
RUN_SHAPING = tuple(spec.name for spec in _OPTIONS if spec.shapes_run)


def options_of(function: str) -> list[Option]:
    """The options Python function ``function`` (``"fit"``, ``"solve"`` …) takes as keywords."""
    return [spec for spec in _OPTIONS if function in spec.python]


def config_from(function: str, given: dict) -> FitConfig:
    """``FitConfig`` from the keywords a caller gave ``function``: unknown ones are a ``TypeError``
    naming the closest option, as Python says of any function."""
    accepted = {spec.name for spec in options_of(function)}
    unknown = sorted(set(given) - accepted)
    if unknown:
        import difflib

        close = difflib.get_close_matches(unknown[0], sorted(accepted), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise TypeError(f"{function}() got an unexpected keyword argument {unknown[0]!r}{hint}")
    return FitConfig(**given).validate()


def signature_options(function: str) -> list:
    """``inspect.Parameter`` objects (keyword-only, with defaults) for ``function``'s options."""
    import inspect

    return [inspect.Parameter(spec.name, inspect.Parameter.KEYWORD_ONLY, default=spec.default)
            for spec in options_of(function)]


def document_options(function: str) -> str:
    """The numpydoc entries of ``function``'s options, for its docstring."""
    return "\n".join(f"{spec.name} : {spec.doc}" for spec in options_of(function))


def takes_options(function: str):
    """Decorate an entry point whose options arrive as ``**options``: its signature lists them
    (for ``help()``, IDEs and notebooks) and ``{options}`` in its docstring becomes their docs."""
    import inspect
    import textwrap

    def decorate(func):
        signature = inspect.signature(func)
        own = [p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
        func.__signature__ = signature.replace(parameters=own + signature_options(function))
        if func.__doc__ and "{options}" in func.__doc__:
            docs = textwrap.indent(document_options(function), "    ")
            func.__doc__ = func.__doc__.replace("    {options}", docs)
        return func

    return decorate
