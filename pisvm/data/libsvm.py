"""Read and write LibSVM text files (``label index:value ...``, 1-based indices)."""

import contextlib
import os

import numpy as np
from sklearn.datasets import dump_svmlight_file, load_svmlight_file

from .atomic import atomic_path


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


DENSE_LIMIT_BYTES = 1 << 30
"""Dense matrices above this size are refused when they would be mostly zeros (see :func:`read_libsvm`)."""
MIN_DENSITY = 0.01
"""Share of non-zero values below which a dense matrix above :data:`DENSE_LIMIT_BYTES` is refused."""


def _line_of_sample(path, row):
    """1-based line number of sample ``row`` (0-based) of ``path``: comment and blank lines do not count."""
    with open(path, "rb") as stream:
        samples = -1
        for line_number, raw in enumerate(stream, start=1):
            if raw.split(b"#", 1)[0].strip():
                samples += 1
                if samples == row:
                    return line_number
    raise ValueError(f"{path}: fewer than {row + 1} samples")


MAX_LABEL = 2.0 ** 53
"""Labels must be below this in magnitude: every integer up to it is exact in float64, 2**53 + 1 is not."""


def _first_token(path, line_number):
    """The first token (the label) of line ``line_number`` (1-based) of ``path``."""
    with open(path, "rb") as stream:
        for number, raw in enumerate(stream, start=1):
            if number == line_number:
                return raw.split()[0].decode(errors="replace")
    return "?"


def _check_dense_size(path, X):
    """Refuse a sparse ``X`` whose dense float64 copy would be large and almost all zeros.

    A feature index far above the others (a typo, or text-like data) makes
    the dense matrix huge: 60 lines with index 10**9 would need 447 GiB.
    """
    n_samples, n_features = X.shape
    dense_bytes = 8 * n_samples * n_features
    if dense_bytes <= DENSE_LIMIT_BYTES or X.nnz >= MIN_DENSITY * n_samples * n_features:
        return
    position = int(np.argmax(X.indices))
    row = int(np.searchsorted(X.indptr, position, side="right")) - 1
    raise ValueError(f"{path}:{_line_of_sample(path, row)}: feature index {n_features} makes the dense matrix "
                     f"{n_samples} x {n_features} float64 = {dense_bytes / 2**30:.1f} GiB for {X.nnz} non-zero "
                     "values; pisvm needs dense features: number them 1, 2, ... without gaps")


def warn_test_mismatch(train_name, X, y, test_name, X_test, y_test):
    """Warn when test data hold classes or features the training data never had.

    Parameters
    ----------
    train_name, test_name : str
        File names used in the messages.
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    X_test : ndarray of shape (n_test, n_test_features)
    y_test : ndarray of shape (n_test,)
    """
    import warnings

    if X_test.shape[1] > X.shape[1]:
        warnings.warn(f"{test_name}: {X_test.shape[1]} features, {train_name} only {X.shape[1]}: features "
                      f"{X.shape[1] + 1}..{X_test.shape[1]} are 0 in every training sample, the model ignores them",
                      stacklevel=2)
    unseen = np.setdiff1d(y_test, y)
    if unseen.size:
        count = int(np.isin(y_test, unseen).sum())
        warnings.warn(f"{test_name}: classes {', '.join(f'{label:g}' for label in unseen)} ({count} samples) never "
                      f"occur in {train_name}: every such sample counts as an error", stacklevel=2)


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
        a 0-based or decreasing index, NaN/Inf, a label that is not an
        integer, or an empty file; or naming the line with the largest index
        when the dense matrix would exceed :data:`DENSE_LIMIT_BYTES` with
        fewer than :data:`MIN_DENSITY` non-zero values (checked before
        anything dense is allocated).
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise ValueError(f"{path}: is a folder, not a file")
    try:
        X, y = load_svmlight_file(path, n_features=n_features, zero_based=False, dtype=np.float64)
    except ValueError as error:
        bad = _first_bad_line(path)
        if bad is not None:
            raise ValueError(f"{path}:{bad[0]}: {bad[1]}") from None
        raise ValueError(f"{path}: {error}") from None
    if X.shape[0] == 0:
        raise ValueError(f"{path}: no samples (empty file)")
    huge = np.flatnonzero(np.abs(y) >= MAX_LABEL)
    if huge.size:
        line = _line_of_sample(path, huge[0])
        raise ValueError(f"{path}:{line}: label {_first_token(path, line)} is too large: class labels must be "
                         "integers of magnitude below 2**53 (above it, float64 merges neighbouring labels)")
    _check_dense_size(path, X)
    fractional = np.flatnonzero(y != np.round(y))
    if fractional.size:
        raise ValueError(f"{path}:{_line_of_sample(path, fractional[0])}: label {y[fractional[0]]:g} is not an "
                         "integer (pisvm classifies: class labels must be integers)")
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
    with atomic_path(path) as tmp:
        dump_svmlight_file(X, y, tmp, zero_based=False, comment=comment)


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
