"""Read and write LibSVM text files (``label index:value ...``, 1-based indices)."""

import os

import numpy as np
from sklearn.datasets import dump_svmlight_file, load_svmlight_file

from .atomic import atomic_path


def _first_bad_line(path):
    """Return ``(line_number, message)`` of the first malformed line of ``path``."""
    with open(path, "rb") as stream:
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
    with atomic_path(path) as tmp:
        dump_svmlight_file(X, y, tmp, zero_based=False, comment=comment)
