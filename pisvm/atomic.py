"""Atomic file writes: a temporary file beside the target, renamed over it, removed on failure."""

import contextlib
import errno
import os


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path to write; on success it replaces ``path``, on failure it is removed.

    The temporary file sits in the target's folder (same file system, so the
    rename is atomic) and keeps the target's extension, so writers that pick
    a format by extension (``savefig``, ``np.save``) write the right one.
    Readers never see a torn file; a failed write (full disk, an ``--out``
    that is a directory, an exception in the writer) leaves neither a torn
    target nor a temporary file behind.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write.

    Yields
    ------
    str
        The temporary path.

    Raises
    ------
    IsADirectoryError
        ``path`` is a directory (nothing is written).
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, "is a directory, not a file", path)
    tmp = f"{path}.tmp{os.getpid()}{os.path.splitext(path)[1]}"
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise


def write_atomic(path, text):
    """Write ``text`` (UTF-8) to ``path`` atomically, flushed to disk before the rename.

    Parameters
    ----------
    path : str or os.PathLike
    text : str
    """
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as stream:
        stream.write(text)
        stream.flush()
        os.fsync(stream.fileno())
