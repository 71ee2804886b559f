"""Checkpoints: safe to load, atomic to write, and the request that stops a run cleanly.

A checkpoint is a ``torch.save`` archive of one dict holding only tensors and plain Python
values (numbers, strings, lists, tuples, dicts), so it loads with ``torch.load(weights_only=True)``:
a file that would need to import or call anything (a pickle payload with ``__reduce__``) is
refused, and its code never runs. Writes go to a temporary file in the same folder, are
fsync'ed, and then renamed over the target, so a crash or a full disk leaves the previous
checkpoint intact, never a torn one.

Every checkpoint dict has ``format`` (``"gradfit-checkpoint"``), ``version``, ``kind``
(``"trainer"`` for :class:`gradfit.Trainer` and the torch engine, ``"numpy"`` or ``"exact"``),
``epoch`` (epochs completed), ``global_step`` (updates), ``history`` and ``rng`` (see
:func:`rng_state`); the rest depends on the kind.

torch is imported only when a checkpoint is written or read, so this module stays light.
"""

from __future__ import annotations

import hashlib
import os
import sys

import numpy as np

from ..atomic import atomic_write_bytes, drop, put_back, set_aside
from ..config import RUN_SHAPING
from ..data.file_checks import check_regular
from ..errors import BadDataError, BadOptionError, DivergedError, option

FORMAT = "gradfit-checkpoint"
VERSION = 1

# Set by request_stop() (e.g. from a SIGINT handler), read at every epoch boundary. A plain
# flag, not a threading.Event: Event.set() takes a non-reentrant lock, which a signal handler
# could try to take while the interrupted main thread holds it in clear().
_stop = False


def request_stop() -> None:
    """Ask the running fit or :meth:`Trainer.train` to stop at the next epoch boundary.

    The run finishes the epoch in progress, writes its checkpoint (when it has one) and raises
    :class:`gradfit.errors.Interrupted`, which carries the checkpoint's path. Safe to call from a
    signal handler or another thread. The request is used up by the run that acts on it.

    Examples
    --------
    >>> import signal, gradfit
    >>> previous = signal.signal(signal.SIGINT, lambda signum, frame: gradfit.request_stop())
    >>> _ = signal.signal(signal.SIGINT, previous)
    """
    global _stop
    _stop = True


def clear_stop_request() -> None:
    """Withdraw a pending :func:`request_stop`."""
    global _stop
    _stop = False


def stop_requested() -> bool:
    """Whether :func:`request_stop` was called and no run has acted on it yet."""
    return _stop


def save_checkpoint(path: str | os.PathLike, state: dict) -> None:
    """Write ``state`` to ``path`` atomically (temporary file beside it, fsync, rename).

    Parameters
    ----------
    path : str or os.PathLike
        The checkpoint file; its folder must exist.
    state : dict
        Tensors and plain Python values only (what ``torch.load(weights_only=True)`` reads back).

    Raises
    ------
    BadDataError
        The file cannot be written (missing folder, no permission, disk full); ``path`` is
        left as it was.
    """
    import io

    import torch

    buffer = io.BytesIO()
    torch.save(state, buffer)
    atomic_write_bytes(path, buffer.getvalue(), what="checkpoint")


class RunCheckpoint:
    """The checkpoint file of one run, as the run found it: a run that diverges leaves it so.

    A run writes its checkpoint every few epochs, and divergence shows only when the loss has
    grown (epoch N), after the epochs before it were written. So the file that was at ``path``
    before the run's first write is kept aside (:func:`gradfit.atomic.set_aside`: a hard link,
    no copy) and :meth:`end` puts it back when the run ends with a
    :class:`~gradfit.errors.DivergedError`; any other end (normal, early stop, interrupted, an
    error) keeps the run's last checkpoint, which resumes it. Where there was no file, a diverged
    run leaves its last checkpoint (the state before the epoch that showed divergence) to inspect. Resuming from ``path`` itself and writing there works: the resumed-from file is
    what comes back if the continuation diverges.

    :meth:`end` runs in the run's ``finally`` and tells divergence from ``sys.exc_info()``; an
    exception already being handled when the run began (a retry inside ``except DivergedError``)
    is not this run's.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = os.fspath(path)
        self.kept: str | None = None  # where the file found at path waits
        self.written = False
        self.outer = sys.exc_info()[1]  # an exception handled around the whole run, not raised by it

    def before_write(self) -> None:
        """Call before each write: the first keeps the file found at ``path`` aside."""
        if not self.written:
            self.kept = set_aside(self.path)
            self.written = True

    def end(self) -> None:
        """Call when the run ends (in its ``finally``): put the file back if the run diverged, else drop the copy."""
        error = sys.exc_info()[1]
        diverged = isinstance(error, DivergedError) and error is not self.outer
        kept, self.kept, self.written = self.kept, None, False
        try:
            if diverged and kept is not None:
                put_back(kept, self.path)
            elif kept is not None:
                drop(kept)
        except OSError:  # never mask the run's own outcome; a copy left behind is removed by a later write
            pass


def load_checkpoint(path: str | os.PathLike, kind: str | tuple[str, ...] | None = None) -> dict:
    """Read a checkpoint written by gradfit, without ever running code from the file.

    Parameters
    ----------
    path : str or os.PathLike
    kind : str or tuple of str, optional
        The kinds accepted (``"trainer"``, ``"numpy"``, ``"exact"``); any if omitted.

    Returns
    -------
    dict
        The state, tensors on the CPU.

    Raises
    ------
    BadDataError
        Missing, damaged, of another kind, not a gradfit checkpoint, or carrying code (a pickle
        that would import or call something): one line saying what and how to fix it.
    """
    path = os.fspath(path)
    _check_archive(path)
    state = _load_archive(path)
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise BadDataError(f"checkpoint {path!r} is a torch.save file but not a gradfit checkpoint (no "
                           f"'format': '{FORMAT}'); use the file written with {option('checkpoint', 'PATH')}")
    if state.get("version") != VERSION:
        raise BadDataError(f"checkpoint {path!r} has version {state.get('version')!r}; this gradfit reads version "
                           f"{VERSION}: start a new run")
    kinds = (kind,) if isinstance(kind, str) else kind
    if kinds is not None and state.get("kind") not in kinds:
        raise BadDataError(f"checkpoint {path!r} was written by a {state.get('kind')!r} run, not "
                           f"{' or '.join(repr(k) for k in kinds)}; resume it with the engine that wrote it")
    return state


def _check_archive(path: str) -> None:
    """Refuse, from its first bytes, a file that is not a ``torch.save`` archive (nothing is unpickled)."""
    if os.path.isdir(path):
        raise BadDataError(f"checkpoint {path!r} is a directory; give the file written with {option('checkpoint', 'PATH')}")
    if os.path.exists(path):  # before opening: a FIFO would wait for a writer forever
        check_regular(path, "a checkpoint", f"give the file written with {option('checkpoint', 'PATH')}")
    try:
        with open(path, "rb") as handle:
            magic = handle.read(4)
    except FileNotFoundError:
        raise BadDataError(f"checkpoint {path!r} not found; check the path (a run writes one with "
                           f"{option('checkpoint', 'PATH')})") from None
    except OSError as error:
        raise BadDataError(f"cannot read checkpoint {path!r}: {error.strerror}") from None
    if magic[:1] == b"\x80":
        # A bare pickle (not torch.save's zip archive): never unpickled, since pickles can run code.
        raise BadDataError(f"checkpoint {path!r} is a bare pickle, which can run code when loaded, so gradfit "
                           f"refuses it; use a checkpoint written by gradfit ({option('checkpoint', 'PATH')})")
    if magic != b"PK\x03\x04":
        raise BadDataError(f"checkpoint {path!r} is not a gradfit checkpoint (not a torch.save archive); use the "
                           f"file written with {option('checkpoint', 'PATH')}")


def _load_archive(path: str):
    """``torch.load`` with ``weights_only=True``: tensors and plain values, never code."""
    import pickle
    import re

    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        found = re.search(r"GLOBAL (\S+)", str(error))
        what = f" ({found.group(1)})" if found else ""
        raise BadDataError(f"checkpoint {path!r} carries code{what}, which gradfit refuses to run; it was not "
                           f"written by gradfit: use a checkpoint written with {option('checkpoint', 'PATH')}"
                           ) from None
    except Exception as error:  # a truncated or corrupted archive
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise BadDataError(f"checkpoint {path!r} is damaged ({reason}); resume from an earlier checkpoint or "
                           "start a new run") from None


def new_state(kind: str, epoch: int, global_step: int, history) -> dict:
    """The fields every checkpoint starts with (``history``: a :class:`gradfit.results.types.History`).

    The history is stored as float64 tensors (exact): pickling long lists of floats would make a
    checkpoint every epoch cost time that grows with the epoch count.
    """
    import torch

    lists = history.to_state()
    return {"format": FORMAT, "version": VERSION, "kind": kind, "epoch": int(epoch), "global_step": int(global_step),
            "history": {k: torch.from_numpy(np.array(v, dtype=np.float64)) for k, v in lists.items()}}


def rng_state(shuffle: np.random.Generator | None = None, generators=()) -> dict:
    """Every random state a run can depend on, as plain values and tensors.

    Parameters
    ----------
    shuffle : numpy.random.Generator, optional
        The generator that orders mini-batches.
    generators : sequence of torch.Generator
        Private torch generators (e.g. a DataLoader's).

    Returns
    -------
    dict
        ``torch`` (CPU), ``cuda`` (one per device, when CUDA is initialised), ``numpy`` (the
        global legacy state), ``python`` (:mod:`random`), ``shuffle`` and ``generators``.
    """
    import random

    import torch

    kind, keys, pos, has_gauss, cached = np.random.get_state()
    version, internal, gauss = random.getstate()
    # The Mersenne Twister words go in int64 tensors: pickling ~1,250 ints one by one would make
    # the checkpoint noticeably slower to write.
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() and torch.cuda.is_initialized() else [],
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
        "python": {"version": version, "internal": torch.tensor(internal, dtype=torch.int64), "gauss": gauss},
        "shuffle": None if shuffle is None else shuffle.bit_generator.state,
        "generators": [g.get_state() for g in generators],
    }


def restore_rng_state(state: dict, shuffle: np.random.Generator | None = None, generators=(),
                      global_rng: bool = True) -> None:
    """Put back what :func:`rng_state` captured.

    ``global_rng=False`` restores only the run's own generators (``shuffle``, ``generators``)
    and leaves torch's, NumPy's and Python's global states alone (what :func:`gradfit.fit` does:
    its engines draw nothing from them).
    """
    import random

    import torch

    if shuffle is not None and state.get("shuffle") is not None:
        shuffle.bit_generator.state = state["shuffle"]
    for generator, saved in zip(generators, state.get("generators", [])):
        generator.set_state(saved)
    if not global_rng:
        return
    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"][: torch.cuda.device_count()])
    saved = state["numpy"]
    np.random.set_state((saved["kind"], saved["keys"].numpy().astype(np.uint32), saved["pos"],
                         saved["has_gauss"], saved["cached_gaussian"]))
    saved = state["python"]
    random.setstate((saved["version"], tuple(saved["internal"].tolist()), saved["gauss"]))


# ---------------------------------------------------------------- resuming gradfit.fit

def data_digest(*arrays) -> str:
    """SHA-256 of arrays (shape and float64 bytes); ``None`` entries are skipped."""
    sha = hashlib.sha256()
    for array in arrays:
        if array is not None:
            array = np.ascontiguousarray(array, dtype=np.float64)
            sha.update(repr(array.shape).encode())
            sha.update(array.tobytes())
    return sha.hexdigest()


def check_resume(state: dict, current: dict, epochs: int, path: str) -> None:
    """Refuse a resume that could not continue the saved run exactly (one clear error).

    ``state`` is the loaded checkpoint, ``current`` the fingerprint of the run asked for
    (:func:`gradfit.pipeline.run.fingerprint`), ``epochs`` the total epochs asked for. A checkpoint
    that holds all ``epochs`` is a finished run: resuming it trains no more and gives its result
    (what a round torchrun restarts after the last checkpoint does, and Keras' ``initial_epoch``,
    Lightning's ``max_epochs`` reached); one that holds more is refused.
    """
    saved = (state.get("extra") or {}).get("fit")
    if saved is None:
        raise BadDataError(f"checkpoint {path!r} was written by a Trainer, not by gradfit fit; continue it with "
                           "Trainer.load_checkpoint")
    _check_same_run(saved, current, path)
    done = int(state["epoch"])
    stopped = ((state.get("callbacks") or {}).get("EarlyStopping") or {}).get("stopped_epoch")
    if stopped is not None:
        raise BadOptionError("resume", path, f"the run in it stopped early at epoch {stopped} (no validation "
                             f"improvement for {saved['patience']} epochs), so there is nothing to continue",
                             f"start a new run, with a larger {option('patience')} if needed")
    if done > epochs:
        raise BadOptionError("epochs", epochs, f"checkpoint {path} already holds {done} epochs and "
                             f"{option('epochs')} counts the total", f"resume with {option('epochs', done)} to "
                             f"report that run, or more to extend it, e.g. {option('epochs', done + epochs)}")
    if saved["scheduler"] == "cosine" and saved["epochs"] != epochs:
        raise BadOptionError("epochs", epochs, f"the cosine schedule in checkpoint {path} anneals over "
                             f"{saved['epochs']} epochs and cannot be stretched", f"resume with "
                             f"{option('epochs', saved['epochs'])}, or use {option('scheduler', 'step')} or plateau "
                             "for runs you extend")


def _check_same_run(saved: dict, current: dict, path: str) -> None:
    """The same engine, features, rows and options that shape the iterates as the saved run."""
    new_run = f"start a new run without {option('resume')}"
    if saved["engine"] != current["engine"]:
        raise BadOptionError("engine", current["engine"], f"checkpoint {path} was written by the {saved['engine']} "
                             "engine", f"resume with {option('engine', saved['engine'])}")
    if saved["names"] != current["names"]:
        raise BadDataError(
            f"checkpoint {path!r} was trained on {len(saved['names'])} feature(s) ({', '.join(saved['names'])}); this "
            f"data has {len(current['names'])} ({', '.join(current['names'])}): resume with the data it was "
            f"trained on, or {new_run}")
    if (saved["n_train"], saved["n_val"], saved["data"]) != (current["n_train"], current["n_val"], current["data"]):
        raise BadDataError(
            f"checkpoint {path!r} was trained on other data ({saved['n_train']} training / {saved['n_val']} "
            f"validation rows; this run has {current['n_train']} / {current['n_val']}, or the values differ): "
            f"resume with the same data, {option('val_split')} and {option('seed')}, or {new_run}")
    if current.get("record_path") and not saved.get("record_path"):
        raise BadOptionError("record_path", True, f"checkpoint {path} was written by a run that did not record its "
                             "path, so the path before the resume is missing", "leave record_path out when resuming")
    for name in RUN_SHAPING:
        if saved[name] != current[name]:
            raise BadOptionError(name, current[name], f"checkpoint {path} was written with {name} "
                                 f"{saved[name]!r}", f"resume with the same {name}, or {new_run}")
