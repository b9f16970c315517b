"""Read and write LibSVM text files (``label index:value ...``, 1-based indices)."""

import contextlib
import os

import numpy as np
from sklearn.datasets import dump_svmlight_file, load_svmlight_file


def _first_bad_line(path, lines=None):
    """Return ``(line_number, message)`` of the first malformed line of ``path`` (or of its bytes ``lines``)."""
    with open(path, "rb") if lines is None else contextlib.nullcontext(lines) as stream:
        for line_number, raw in enumerate(stream, start=1):
            line = raw.split(b"#", 1)[0].strip()
            if not line:
                continue
            tokens = line.split()
            try:
                label = float(tokens[0])
            except ValueError:
                return line_number, f"label {tokens[0].decode(errors='replace')!r} is not a number"
            if not np.isfinite(label):
                return line_number, f"label {tokens[0].decode()} is not finite"
            previous = 0
            for token in tokens[1:]:
                text = token.decode(errors="replace")
                if text.startswith("qid:"):
                    continue
                index_text, sep, value_text = text.partition(":")
                try:
                    index = int(index_text)
                    value = float(value_text)
                except ValueError:
                    return line_number, f"token {text!r} is not index:value"
                if not sep:
                    return line_number, f"token {text!r} is not index:value"
                if index < 1:
                    return line_number, f"feature index {index} < 1 (LibSVM indices are 1-based)"
                if index <= previous:
                    return line_number, f"feature index {index} not above the previous {previous}"
                if not np.isfinite(value):
                    return line_number, f"value {value_text!r} of feature {index} is not finite"
                previous = index
    return None


def read_libsvm(path, n_features=None):
    """Read a LibSVM/SVMlight text file into a dense matrix.

    Parameters
    ----------
    path : str or os.PathLike
        Text file with one sample per line, ``label idx:val ...``; indices are
        1-based and increasing, missing features are 0, ``#`` starts a comment.
    n_features : int, optional
        Number of columns to return; by default the largest index in the file.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), dtype float64
    y : ndarray of shape (n_samples,), dtype float64

    Raises
    ------
    ValueError
        One line naming the file and the first malformed line: a bad token,
        a 0-based or decreasing index, NaN/Inf, or an empty file.
    """
    path = os.fspath(path)
    try:
        X, y = load_svmlight_file(path, n_features=n_features, zero_based=False, dtype=np.float64)
    except ValueError as error:
        bad = _first_bad_line(path)
        if bad is not None:
            raise ValueError(f"{path}:{bad[0]}: {bad[1]}") from None
        raise ValueError(f"{path}: {error}") from None
    if X.shape[0] == 0:
        raise ValueError(f"{path}: no samples (empty file)")
    X = X.toarray()
    if not (np.isfinite(X).all() and np.isfinite(y).all()):
        bad = _first_bad_line(path)
        where = f"{path}:{bad[0]}: {bad[1]}" if bad else f"{path}: NaN or Inf value"
        raise ValueError(where)
    return X, y


def write_libsvm(path, X, y, comment=None):
    """Write samples as LibSVM text with 1-based indices; zeros are omitted.

    Parameters
    ----------
    path : str or os.PathLike
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
        Integer class labels are written without a decimal point.
    comment : str, optional
        Written as ``#`` lines at the top of the file.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if np.issubdtype(y.dtype, np.floating) and np.all(y == np.round(y)):
        y = y.astype(np.int64)
    dump_svmlight_file(X, y, os.fspath(path), zero_based=False, comment=comment)


def byte_share(path, part, n_parts):
    """The byte range of the lines of ``path`` that start in the ``part``-th of ``n_parts`` equal byte ranges.

    Every line belongs to exactly one part (the one whose range holds its
    first byte), so the parts of all ranks cover the file once, in order.

    Returns
    -------
    start, stop : int
        Byte offsets: the part is ``[start, stop)``, whole lines.
    """
    size = os.path.getsize(path)
    with open(path, "rb") as stream:
        def line_start(offset):
            if offset <= 0 or offset >= size:
                return min(max(offset, 0), size)
            stream.seek(offset - 1)
            stream.readline()  # to the end of the line holding byte offset - 1
            return stream.tell()

        return line_start(size * part // n_parts), line_start(size * (part + 1) // n_parts)


def count_lines(data):
    """Number of lines in ``data`` (bytes), a last line without newline included."""
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


def parse_libsvm(data, name, first_line=1):
    """Parse LibSVM text held in memory (a part of a file, see :func:`byte_share`).

    Parameters
    ----------
    data : bytes
        Whole lines of LibSVM text.
    name : str
        File name for messages.
    first_line : int, default 1
        Line number of the first line of ``data`` in the file (for messages).

    Returns
    -------
    X : scipy.sparse.csr_matrix of shape (n_samples, max index in ``data``), float64
    y : ndarray of shape (n_samples,), float64

    Raises
    ------
    ValueError
        ``name:line: message`` for the first malformed line.
    """
    import io

    from scipy import sparse

    if not any(line.split(b"#", 1)[0].strip() for line in data.splitlines()):
        return sparse.csr_matrix((0, 0)), np.zeros(0)
    try:
        X, y = load_svmlight_file(io.BytesIO(data), zero_based=False, dtype=np.float64)
    except ValueError as error:
        bad = _first_bad_line(None, data.splitlines(keepends=True))
        if bad is not None:
            raise ValueError(f"{name}:{first_line - 1 + bad[0]}: {bad[1]}") from None
        raise ValueError(f"{name}: {error}") from None
    if not (np.isfinite(X.data).all() and np.isfinite(y).all()):
        bad = _first_bad_line(None, data.splitlines(keepends=True))
        raise ValueError(f"{name}:{first_line - 1 + bad[0]}: {bad[1]}" if bad else f"{name}: NaN or Inf value")
    return X.tocsr(), y


def sample_lines(data, first_line=1):
    """Line numbers of the samples in ``data`` (bytes of whole lines), skipping blank and comment lines."""
    return [first_line + k for k, line in enumerate(data.splitlines()) if line.split(b"#", 1)[0].strip()]
