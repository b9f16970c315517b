"""Outputs of every command: checked before any work, written atomically, all of a command's files or none.

The rules, for every path a command writes:

- a regular file (or a new name) is written to a temporary file beside it and
  renamed over it, so readers never see a torn file;
- a symbolic link is followed: its target is replaced, atomically, in the
  target's folder, and the link stays a link;
- ``-`` (standard output), a FIFO, a character or block device and any path
  under ``/dev/`` (but ``/dev/shm/``) or ``/proc/`` (``/dev/stdout``,
  ``/dev/null``) is a stream:
  the finished file is copied into it, and nothing is renamed over it;
- an output that is the same file as an input, or as another output of the
  same command, is refused (:func:`check_outputs`) before anything is
  computed; several character devices (``/dev/null``) may share one file.
"""

import contextlib
import errno
import os
import shutil
import stat
import sys
import tempfile

STDOUT = "-"
"""The output path that means standard output."""


def is_stream(path):
    """True when ``path`` is written to directly, not replaced: ``-``, a FIFO, a device, or under /dev/ or /proc/."""
    path = os.fspath(path)
    absolute = os.path.abspath(path)
    if path == STDOUT or (absolute.startswith(("/dev/", "/proc/")) and not absolute.startswith("/dev/shm/")):
        return True
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISSOCK(mode)


def _identity(path):
    """What makes two paths one file: (device, inode) of an existing file, else the resolved path."""
    try:
        info = os.fstat(sys.stdout.fileno()) if path == STDOUT else os.stat(path)
    except (OSError, ValueError, AttributeError):  # a new file, or a stdout without a descriptor (tests)
        return os.path.realpath(path), False
    return (info.st_dev, info.st_ino), stat.S_ISCHR(info.st_mode)


def check_folder(folder, name, create=False):
    """Raise ValueError ``name: cannot write (reason)`` unless a file can be created in ``folder``.

    The one writable-folder probe: an empty file is created there and removed
    (permission bits alone miss read-only mounts, quotas and ACLs).  With
    ``create`` the folder and its parents are made first.
    """
    probe = os.path.join(folder, f".pisvm-probe{os.getpid()}")
    try:
        if create:
            os.makedirs(folder, exist_ok=True)
        with open(probe, "w"):
            pass
        os.remove(probe)
    except OSError as error:
        raise ValueError(f"{name}: cannot write ({error.strerror or error})") from None


def _check_writable(path):
    """Raise ValueError unless a file can be created at ``path`` (a probe file in the real target's folder)."""
    if os.path.isdir(path):
        raise ValueError(f"{path}: is a folder, not a file name")
    if is_stream(path):
        return
    check_folder(os.path.dirname(os.path.realpath(path)), path)


def check_outputs(outputs, inputs=()):
    """Refuse, before any work, outputs that cannot be written or would overwrite an input or each other.

    Parameters
    ----------
    outputs : iterable of str, os.PathLike or None
        Every file the command will write (None entries are skipped).
    inputs : iterable of str, os.PathLike or None
        Every file the command reads (None entries are skipped).

    Raises
    ------
    ValueError
        One line naming the user's paths: an output that is a folder, whose
        folder cannot be written, or that is the same file (the same inode,
        through links or not) as an input or as another output.
    """
    seen = {}
    for path in inputs:
        if path is not None:
            seen.setdefault(_identity(os.fspath(path))[0], f"the input {os.fspath(path)}")
    for path in outputs:
        if path is None:
            continue
        path = os.fspath(path)
        _check_writable(path)
        key, device = _identity(path)
        if key in seen and not (device and seen[key].startswith("the output")):
            raise ValueError(f"output {path} is the same file as {seen[key]}: nothing written (give another name)")
        seen.setdefault(key, f"the output {path}")


def _temporary(path):
    """The temporary file for ``path``: beside its real target, or in the temporary folder for a stream."""
    suffix = os.path.splitext(path)[1]
    if is_stream(path):
        descriptor, tmp = tempfile.mkstemp(prefix="pisvm-", suffix=suffix)
        os.close(descriptor)
        return tmp
    return f"{os.path.realpath(path)}.tmp{os.getpid()}{suffix}"


def _commit(path, tmp):
    """Move the finished ``tmp`` to ``path``: rename over the real target, or copy into the stream."""
    if not is_stream(path):
        os.replace(tmp, os.path.realpath(path))
        return
    with open(tmp, "rb") as source:
        if path == STDOUT:
            sys.stdout.flush()
            shutil.copyfileobj(source, sys.stdout.buffer)
            sys.stdout.buffer.flush()
        else:
            with open(path, "wb") as stream:
                shutil.copyfileobj(source, stream)
    os.remove(tmp)


def _named(error, tmps, paths):
    """``error`` naming the user's path in place of a temporary file's (or added when it names no file)."""
    message = error.strerror or str(error)
    named = [(tmp, path) for tmp, path in zip(tmps, paths) if path is not None]
    hits = [(tmp, path) for tmp, path in named if error.filename == tmp or tmp in message]
    if hits:
        tmp, path = hits[0]
    elif error.filename is None and named:  # a bare write error: the file written last is the one
        written = [(os.stat(tmp).st_mtime_ns, k) for k, (tmp, _) in enumerate(named) if os.path.exists(tmp)]
        tmp, path = named[max(written)[1] if written else 0]
    else:
        return error
    message = message.replace(tmp, path)
    return OSError(error.errno, message, path) if error.errno else OSError(f"{path}: {message}")


@contextlib.contextmanager
def atomic_paths(*paths):
    """Yield temporary paths to write; when all are written, each replaces its path, else all are removed.

    The temporary files keep their target's extension, so writers that pick
    a format by extension (``savefig``, ``np.save``) write the right one.
    Nothing reaches any path until every file is written: a command with
    several outputs writes all of them or none.  A failed write (full disk,
    an exception, SIGINT or SIGTERM through :func:`pisvm.cli.common.run`)
    leaves no temporary file and no torn target.  See the module docstring
    for links and streams.

    Parameters
    ----------
    *paths : str, os.PathLike or None
        The files to write; a None entry yields None.

    Yields
    ------
    list of str or None
        The temporary paths, in the order of ``paths``.

    Raises
    ------
    IsADirectoryError
        A path is a directory (nothing is written).
    OSError
        A write failed; the message names the user's path.
    """
    paths = [None if path is None else os.fspath(path) for path in paths]
    for path in paths:
        if path is not None and os.path.isdir(path):
            raise IsADirectoryError(errno.EISDIR, "is a directory, not a file", path)
    tmps = []
    try:
        tmps.extend(None if path is None else _temporary(path) for path in paths)
        yield list(tmps)
        for path, tmp in zip(paths, tmps):
            if path is not None:
                _commit(path, tmp)
    except BaseException as error:
        named = _named(error, tmps, paths) if isinstance(error, OSError) else error
        for tmp in tmps:
            if tmp is not None:
                with contextlib.suppress(FileNotFoundError):
                    os.remove(tmp)
        if named is not error:
            raise named from None
        raise


@contextlib.contextmanager
def atomic_path(path):
    """Yield one temporary path to write; on success it replaces ``path`` (see :func:`atomic_paths`)."""
    with atomic_paths(path) as (tmp,):
        yield tmp


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
