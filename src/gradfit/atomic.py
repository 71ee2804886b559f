"""Writing files so that a crash or a full disk never leaves a half-written file behind."""

from __future__ import annotations

import os
import tempfile

from .errors import BadDataError


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """:func:`atomic_write_bytes` of ``text`` in UTF-8."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: str | os.PathLike, data: bytes, what: str = "file") -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it over ``path``.

    The rename is atomic on POSIX and Windows, so readers see the old file or the new one,
    never a mix; on any error the temporary file is removed and ``path`` is untouched. The file
    gets the usual permissions (``0o666`` less the umask), not ``mkstemp``'s owner-only ``0o600``.
    ``what`` names the file in messages (``"checkpoint"``, ``"model"``).
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise BadDataError(f"{what} {path!r} is a directory; give a file name, e.g. {os.path.join(path, 'out')}")
    if not os.path.isdir(directory):
        raise BadDataError(f"cannot write {what} {path!r}: the folder {directory!r} does not exist; create it first")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".gradfit-", suffix=".tmp", dir=directory)
    except OSError as error:
        raise BadDataError(f"cannot write {what} {path!r}: {error.strerror}; choose a writable folder") from None
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as error:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(error, OSError):
            raise BadDataError(f"cannot write {what} {path!r}: {error.strerror or error}; the previous {what} "
                               "(if any) is unchanged") from None
        raise


def _umask() -> int:
    mask = os.umask(0)  # the only portable way to read it is to set it and put it back
    os.umask(mask)
    return mask
