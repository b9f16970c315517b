"""LIBSVM's ``svm-scale`` range files: the per-feature scaling of the training data, kept for test data.

A range file (``svm-scale -s FILE``) reads::

    x
    LOWER UPPER
    INDEX MIN MAX
    ...

feature ``INDEX`` (1-based) maps ``MIN`` to ``LOWER`` and ``MAX`` to ``UPPER``;
a feature with ``MIN == MAX`` (constant in training) is left out and maps to 0.
"""

import os

import numpy as np


def write_range(path, feature_min, feature_max, lower=0.0, upper=1.0):
    """Write a range file, atomically.

    Parameters
    ----------
    path : str or os.PathLike
    feature_min, feature_max : array-like of shape (n_features,)
        Training minimum and maximum of each feature.
    lower, upper : float, default 0, 1
    """
    path = os.fspath(path)
    lines = ["x", f"{lower:.17g} {upper:.17g}"]
    lines += [f"{k + 1} {low:.17g} {high:.17g}" for k, (low, high) in enumerate(zip(feature_min, feature_max))
              if low != high]
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="ascii") as stream:
        stream.write("\n".join(lines) + "\n")
    os.replace(tmp, path)


def read_range(path):
    """Read a range file.

    Returns
    -------
    dict
        ``lower``, ``upper`` (floats), ``index`` (0-based feature indices,
        ndarray of int64), ``min``, ``max`` (ndarrays, one entry per index).

    Raises
    ------
    ValueError
        One line naming the file and line of the first malformed entry.
    """
    path = os.fspath(path)
    with open(path, encoding="ascii", errors="replace") as stream:
        lines = stream.read().splitlines()
    if "x" not in [line.strip() for line in lines]:
        raise ValueError(f"{path}: no 'x' line (not an svm-scale range file)")
    start = [line.strip() for line in lines].index("x")
    rows = []
    for number, line in enumerate(lines[start + 1:], start=start + 2):
        if not line.strip():
            continue
        try:
            rows.append([float(token) for token in line.split()])
        except ValueError:
            raise ValueError(f"{path}:{number}: {line.strip()!r} is not numbers") from None
        if len(rows[-1]) != (2 if len(rows) == 1 else 3) or not np.all(np.isfinite(rows[-1])):
            raise ValueError(f"{path}:{number}: {line.strip()!r}: expected "
                             + ("'LOWER UPPER'" if len(rows) == 1 else "'INDEX MIN MAX'"))
    if not rows:
        raise ValueError(f"{path}: no 'LOWER UPPER' line after 'x'")
    table = np.array(rows[1:]).reshape(-1, 3)
    return {"lower": rows[0][0], "upper": rows[0][1], "index": table[:, 0].astype(np.int64) - 1,
            "min": table[:, 1], "max": table[:, 2]}


def apply_range(X, scaling):
    """Scale samples with a range (from :func:`read_range`), as ``svm-scale -r`` does.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    scaling : dict

    Returns
    -------
    ndarray of shape (n_samples, n_features), float64
        Listed features scaled (not clipped), unlisted ones 0.
    """
    X = np.asarray(X, dtype=np.float64)
    out = np.zeros_like(X)
    index = scaling["index"]
    if len(index) and index.max() >= X.shape[1]:
        raise ValueError(f"range file scales feature {index.max() + 1}, the data has {X.shape[1]} features")
    low, high = scaling["min"], scaling["max"]
    out[:, index] = scaling["lower"] + (scaling["upper"] - scaling["lower"]) * (X[:, index] - low) / (high - low)
    return out
