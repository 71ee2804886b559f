"""Writing files so that a crash or a full disk never leaves a half-written file behind, and so
that no write replaces what it must not.

Every file gradfit writes (models, predictions, checkpoints, plots, reports) goes through
:func:`atomic_write_bytes`, and so through one guard, :func:`output_path`:

- **Symlinks are followed on purpose**, as ``open(path, "w")`` and the shell's ``>`` follow them:
  a link stays a link and the file it points to is replaced (a dangling link gets its target
  created). Only that file's directory entry changes: other hard links to it keep the old content.
- **Only regular files are replaced.** An existing directory, device, FIFO or socket is refused
  (renaming over ``/dev/null`` would replace the device with a file).
- **Never an input of this run.** The data readers register each file they read
  (:func:`mark_input`); writing over one of them is refused, whatever the path that names it.
- **Temporary files carry the host and process id** (``.gradfit-HOST-PID-….tmp``), so a write
  to a folder first removes those left there by a process of this host that is gone (killed
  mid-write); once per folder and process.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import stat
import tempfile

from .errors import BadDataError

_inputs: dict[tuple[int, int], tuple[str, int, int]] = {}  # (dev, inode) -> (real path, size, mtime) of each input
_swept: set[str] = set()  # folders whose stale temporary files this process has removed
_TEMP = re.compile(r"\.gradfit-(?P<host>[A-Za-z0-9._]+)-(?P<pid>\d+)-[A-Za-z0-9_]+\.tmp")
_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"), (stat.S_ISREG, "a regular file"))


def atomic_write_text(path: str | os.PathLike, text: str, what: str = "file") -> None:
    """:func:`atomic_write_bytes` of ``text`` in UTF-8."""
    atomic_write_bytes(path, text.encode("utf-8"), what)


def atomic_write_bytes(path: str | os.PathLike, data: bytes, what: str = "file") -> None:
    """:func:`atomic_write_chunks` of one piece."""
    atomic_write_chunks(path, [data], what)


def atomic_write_chunks(path: str | os.PathLike, pieces, what: str = "file") -> None:
    """Write the byte strings ``pieces`` (any iterable: a table written as it is computed) to a
    temporary file beside ``path``'s target, then rename it over the target.

    The rename is atomic on POSIX and Windows, so readers see the old file or the new one,
    never a mix; on any error the temporary file is removed and ``path`` is untouched. The file
    gets the usual permissions (``0o666`` less the umask), not ``mkstemp``'s owner-only ``0o600``.
    ``what`` names the file in messages (``"checkpoint"``, ``"model"``). The target is
    :func:`output_path`'s (the module's docstring: symlinks, non-regular files, inputs).
    """
    path = os.fspath(path)
    target = output_path(path, what)
    directory = os.path.dirname(target)
    remove_stale_temps(directory)
    try:
        fd, tmp = tempfile.mkstemp(prefix=temp_prefix(), suffix=".tmp", dir=directory)
    except OSError as error:
        raise BadDataError(f"cannot write {what} {path!r}: {error.strerror}; choose a writable folder") from None
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as handle:
            for piece in pieces:
                handle.write(piece)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException as error:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(error, OSError):
            raise BadDataError(f"cannot write {what} {path!r}: {error.strerror or error}; the previous {what} "
                               "(if any) is unchanged") from None
        raise


def output_path(path: str | os.PathLike, what: str = "file") -> str:
    """The file a write to ``path`` replaces (symlinks resolved), or a one-line
    :class:`~gradfit.errors.BadDataError` when gradfit must not write it: an existing file that
    is not a regular file, a file this process read as input, a folder that does not exist.

    >>> import tempfile, os
    >>> folder = tempfile.mkdtemp()
    >>> output_path(os.path.join(folder, "model.json")) == os.path.join(os.path.realpath(folder), "model.json")
    True
    """
    path = os.fspath(path)
    target = os.path.realpath(path)
    shown = repr(path) if target == os.path.abspath(path) else f"{path!r} (a link to {target!r})"
    try:
        status = os.stat(target)
    except FileNotFoundError:
        status = None
    except OSError as error:  # a loop of links, a folder we may not search
        raise BadDataError(f"cannot write {what} {shown}: {error.strerror or error}; give another file name") from None
    if status is not None and stat.S_ISDIR(status.st_mode):
        raise BadDataError(f"{what} {path!r} is a directory; give a file name, e.g. {os.path.join(path, 'out')}")
    if status is not None and not stat.S_ISREG(status.st_mode):
        raise BadDataError(f"cannot write {what} {shown}: it is {file_kind(status.st_mode)}, not a regular file, "
                           "and gradfit replaces regular files only; give a file name")
    if status is not None and _is_input(target, status):
        raise BadDataError(f"cannot write {what} {shown}: it is a file this run read as input, which writing "
                           "would replace; give another file name")
    directory = os.path.dirname(target)
    if not os.path.isdir(directory):
        raise BadDataError(f"cannot write {what} {path!r}: the folder {directory!r} does not exist; create it first")
    return target


def mark_input(path: str | os.PathLike) -> None:
    """Register ``path`` as read by this process: :func:`output_path` refuses to write over it,
    by whatever name (a symlink, a hard link). A path that cannot be stat'ed is ignored."""
    try:
        status = os.stat(path)
    except (OSError, ValueError):
        return
    _inputs[status.st_dev, status.st_ino] = (os.path.realpath(path), status.st_size, status.st_mtime_ns)


def _is_input(target: str, status: os.stat_result) -> bool:
    """Whether the file ``target`` (``status``) is one :func:`mark_input` registered: the same
    inode under the same name, or under another name (a hard link) unchanged since. (An inode
    number alone could be a deleted input's, reused by a new file.)"""
    seen = _inputs.get((status.st_dev, status.st_ino))
    if seen is None:
        return False
    return seen[0] == target or seen[1:] == (status.st_size, status.st_mtime_ns)


def file_kind(mode: int) -> str:
    """What an ``st_mode`` is, for messages: ``'a directory'``, ``'a FIFO (named pipe)'`` …

    >>> file_kind(stat.S_IFCHR), file_kind(stat.S_IFREG)
    ('a character device', 'a regular file')
    """
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def temp_prefix() -> str:
    """The start of this process's temporary file names: ``.gradfit-HOST-PID-``."""
    host = re.sub(r"[^A-Za-z0-9.]", "_", socket.gethostname()) or "host"
    return f".gradfit-{host}-{os.getpid()}-"


def remove_stale_temps(directory: str) -> None:
    """Remove the temporary files in ``directory`` (once per process) that a process of this host
    left behind when it was killed: their names carry its id, and it is gone. Files of other
    hosts (a shared folder) and of running processes are left alone; so is everything on
    Windows, where probing a process id with ``os.kill`` would end it."""
    if directory in _swept or os.name == "nt":
        return
    _swept.add(directory)
    host = temp_prefix().split("-")[1]
    try:
        names = [entry.name for entry in os.scandir(directory) if entry.name.startswith(".gradfit-")]
    except OSError:
        return
    for name in names:
        found = _TEMP.fullmatch(name)
        if found and found["host"] == host and not _alive(int(found["pid"])):
            try:
                os.unlink(os.path.join(directory, name))
            except OSError:
                pass


def set_aside(path: str | os.PathLike) -> str | None:
    """Keep the file now at ``path`` (its target) under a temporary name beside it, so that a
    later write can be undone with :func:`put_back`; ``None`` when there is no such file.

    A hard link (no copy; the write's rename then leaves this name holding the old content),
    or a copy where the file system has no hard links. The name is a temporary file's, so a
    process killed before :func:`drop` or :func:`put_back` leaves nothing that lasts.
    """
    target = os.path.realpath(path)
    if not os.path.isfile(target):
        return None
    kept = os.path.join(os.path.dirname(target), f"{temp_prefix()}{secrets.token_hex(6)}.tmp")
    try:
        os.link(target, kept)
    except OSError:
        try:
            shutil.copy2(target, kept)
        except OSError as error:
            raise BadDataError(f"cannot keep a copy of {path!r} before replacing it: {error.strerror or error}; "
                               "free some space or choose another file name") from None
    return kept


def put_back(kept: str, path: str | os.PathLike) -> None:
    """Rename :func:`set_aside`'s ``kept`` over ``path``'s target: the file is as it was."""
    os.replace(kept, os.path.realpath(path))


def drop(kept: str) -> None:
    """Remove :func:`set_aside`'s ``kept`` (the write it guarded is to stay)."""
    try:
        os.unlink(kept)
    except FileNotFoundError:
        pass


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists (signal 0 checks without sending anything)."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):  # gone; or an id no process can have
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _umask() -> int:
    mask = os.umask(0)  # the only portable way to read it is to set it and put it back
    os.umask(mask)
    return mask
