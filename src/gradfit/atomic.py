"""Writing files so that a crash or a full disk never leaves a half-written file behind."""

from __future__ import annotations

import os
import tempfile

from .errors import BadDataError


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename it over ``path``.

    The rename is atomic on POSIX and Windows, so readers see the old file or the new one,
    never a mix; on any error the temporary file is removed and ``path`` is untouched.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise BadDataError(f"{path!r} is a directory; give a file name to write")
    if not os.path.isdir(directory):
        raise BadDataError(f"cannot write {path!r}: the folder {directory!r} does not exist; create it first")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".gradfit-", suffix=".tmp", dir=directory)
    except OSError as error:
        raise BadDataError(f"cannot write {path!r}: {error.strerror}; choose a writable folder") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as error:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(error, OSError):
            raise BadDataError(f"cannot write {path!r}: {error.strerror}") from None
        raise
