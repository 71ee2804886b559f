"""The autograd graph of one training step, as Graphviz DOT (and PNG/SVG when ``dot`` is installed).

The model is built exactly as the torch engine builds it (:func:`gradfit.engines.torch_engine.build_model`,
seed 42, float32), one forward pass and ``nn.MSELoss`` run on the book data, and
``torchviz.make_dot`` draws the graph ``loss.backward()`` would walk: the parameters (``b``, ``w``
for the manual model, ``weight``, ``bias`` for ``nn.Linear``) at the leaves, ``MseLossBackward0``
at the root. torch and torchviz are imported only when a graph is drawn.
"""

from __future__ import annotations

import os
import re
import shutil
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

from ..atomic import atomic_write_bytes
from ..errors import BadDataError, BadOptionError, MissingDependencyError

if TYPE_CHECKING:
    import graphviz

MODELS = ("manual", "linear")
FORMATS = ("dot", "png", "svg", "pdf")
INSTALL_DOT = ("rendering PNG/SVG needs the Graphviz 'dot' program, which is not on PATH: install it with "
               "'apt-get install graphviz' (Debian/Ubuntu), 'brew install graphviz' (macOS) or "
               "'conda install graphviz', then run gradfit graph again or render the DOT file yourself "
               "with 'dot -Tpng FILE.dot -o FILE.png'")


def autograd_graph(model: str = "manual", n_features: int = 1) -> "graphviz.Digraph":
    """The autograd graph of ``nn.MSELoss()(model(x), y)`` on the book training rows.

    Parameters
    ----------
    model : {"manual", "linear"}
        The torch engine's module: ``manual`` (``nn.Parameter`` b and w) or ``nn.Linear``.
    n_features : int
        Features of the model. The book data has one; further columns are seeded uniform noise
        (the graph's shape does not depend on the values).

    Returns
    -------
    graphviz.Digraph
        Its ``.source`` is the DOT text.

    Examples
    --------
    >>> from gradfit.figures.graph import autograd_graph
    >>> source = autograd_graph("manual").source
    >>> all(name in source for name in ('"b', '"w', "MseLossBackward0", "AddBackward0"))
    True
    """
    _check(model, n_features)
    try:
        from torchviz import make_dot
    except ImportError:
        raise MissingDependencyError(
            "drawing the autograd graph needs torchviz, which is not installed: pip install torchviz") from None
    import torch
    from torch import nn

    from ..data import load_dataset
    from ..engines.torch_engine import build_model

    book = load_dataset("book")
    extra = np.random.RandomState(42).rand(len(book.y_train), n_features - 1)
    x = torch.as_tensor(np.column_stack([book.x_train, extra]), dtype=torch.float32)  # (80, d)
    y = torch.as_tensor(book.y_train, dtype=torch.float32).view(-1, 1)  # (80, 1), as the engine shapes it
    module = build_model(model, n_features, intercept=True, seed=42, device="cpu", dtype=torch.float32,
                         theta0=None)
    loss = nn.MSELoss()(module(x), y)  # one training step's forward pass and loss
    with warnings.catch_warnings():
        # torchviz 0.0.3 compares torch versions with distutils' LooseVersion
        warnings.simplefilter("ignore", DeprecationWarning)
        graph = make_dot(loss, params=dict(module.named_parameters()))
    # torchviz labels the output node with its shape only; name it.
    graph.body = [re.sub(r'label="\n', 'label="loss\n', line) if "darkolivegreen1" in line else line
                  for line in graph.body]
    title = "nn.Linear" if model == "linear" else "manual module (nn.Parameter b, w)"
    graph.attr(label=f"autograd graph of nn.MSELoss()(model(x), y) · {title} · {n_features} feature"
                     f"{'s' if n_features != 1 else ''}", labelloc="t", fontname="sans-serif")
    return graph


def write_graph(directory_or_path: str | os.PathLike, *, model: str = "manual", n_features: int = 1,
                formats: Sequence[str] = ("dot", "png", "svg")) -> tuple[list[Path], str | None]:
    """Write the autograd graph of one training step (see :func:`autograd_graph`).

    Parameters
    ----------
    directory_or_path : path
        A folder (created if missing; files are named ``autograd-<model>.<format>``) or a file
        name whose suffix is replaced by each format's.
    model, n_features
        As for :func:`autograd_graph`.
    formats : sequence of {"dot", "png", "svg", "pdf"}
        ``dot`` is always possible; the others need Graphviz's ``dot`` program.

    Returns
    -------
    paths : list of Path
        The files written (atomically).
    note : str or None
        Why some formats were not written (e.g. how to install Graphviz), else ``None``.

    Raises
    ------
    MissingDependencyError
        torchviz is not installed.
    BadOptionError
        An unknown model or format, or ``n_features`` below 1.

    Examples
    --------
    >>> import tempfile
    >>> from gradfit.figures.graph import write_graph
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     paths, note = write_graph(folder, formats=("dot",))
    ...     [p.name for p in paths], note
    (['autograd-manual.dot'], None)
    """
    formats = _check_formats(formats)
    _check(model, n_features)
    stem = _stem(Path(directory_or_path), model)
    graph = autograd_graph(model, n_features)
    written: list[Path] = []
    if "dot" in formats:
        atomic_write_bytes(_with_format(stem, "dot"), graph.source.encode("utf-8"))
        written.append(_with_format(stem, "dot"))
    rendered = [fmt for fmt in formats if fmt != "dot"]
    if not rendered:
        return written, None
    if shutil.which("dot") is None:
        return written, INSTALL_DOT
    for fmt in rendered:
        try:
            data = graph.pipe(format=fmt)
        except Exception as error:  # graphviz.ExecutableNotFound, CalledProcessError, OSError
            first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
            return written, f"Graphviz 'dot' could not render {fmt.upper()} ({first_line}); the DOT file is written"
        path = _with_format(stem, fmt)
        atomic_write_bytes(path, data)
        written.append(path)
    return written, None


def _check(model: str, n_features: int) -> None:
    if model not in MODELS:
        raise BadOptionError("model", model, f"must be one of {', '.join(MODELS)}")
    if isinstance(n_features, bool) or not isinstance(n_features, (int, np.integer)) or n_features < 1:
        raise BadOptionError("n_features", n_features, "must be a positive integer")


def _check_formats(formats: Sequence[str]) -> list[str]:
    formats = [formats] if isinstance(formats, str) else list(formats)
    unknown = [fmt for fmt in formats if fmt not in FORMATS]
    if unknown or not formats:
        raise BadOptionError("formats", formats, f"must be one or more of {', '.join(FORMATS)}")
    return formats


def _stem(target: Path, model: str) -> Path:
    """The output path without its suffix; a folder gets ``autograd-<model>`` inside it."""
    if target.is_dir() or not target.suffix:
        try:
            target.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise BadDataError(f"cannot create the folder {str(target)!r}: {error.strerror}; "
                               "choose a writable folder") from None
        return target / f"autograd-{model}"
    return target.with_suffix("")


def _with_format(stem: Path, fmt: str) -> Path:
    return stem.with_name(f"{stem.name}.{fmt}")  # not with_suffix: "run.v2" must stay "run.v2.dot"
