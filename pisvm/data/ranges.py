"""Feature scaling with LIBSVM svm-scale's habits and range files, on scikit-learn's MinMaxScaler.

A range file (``svm-scale -s``) is text::

    x
    lower upper
    index min max
    ...

with one ``index min max`` line (1-based, ``min <= max``) for every feature
that varies.  A ``y`` section (``svm-scale -y``, label scaling) is refused:
class labels are never scaled.  Features that do not vary, or are missing
from the file, scale to 0, as svm-scale does.
"""

import os
import warnings

import numpy as np
from sklearn.preprocessing import MinMaxScaler


def fit_ranges(X):
    """Per-feature minimum and maximum (zeros of sparse rows count, as in svm-scale).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)

    Returns
    -------
    mins, maxs : ndarray of shape (n_features,)
    """
    return X.min(axis=0), X.max(axis=0)


def fit_unit_scaling(X, train):
    """The [0, 1] scaling by the training rows: a MinMaxScaler fitted on ``X[train]`` only (no test leakage).

    Its ``transform`` maps the other rows with the same ranges and does not
    clip them (as ``svm-scale -r`` does); a feature constant on the training
    rows keeps span 1.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    train : index array or boolean mask of the training rows
    """
    return MinMaxScaler().fit(np.asarray(np.asarray(X)[train], dtype=np.float64))


def write_ranges(path, lower, upper, mins, maxs):
    """Write a range file in svm-scale's format (``%.17g``, varying features only)."""
    from .atomic import write_atomic

    lines = ["x", f"{lower:.17g} {upper:.17g}"]
    lines += [f"{j + 1} {low:.17g} {high:.17g}" for j, (low, high) in enumerate(zip(mins, maxs)) if low != high]
    write_atomic(path, "\n".join(lines) + "\n")


def read_ranges(path):
    """Read a range file written by ``svm-scale -s`` or :func:`write_ranges`.

    Returns
    -------
    lower, upper : float
    ranges : dict
        ``{0-based feature index: (min, max)}``.
    """
    path = os.fspath(path)
    with open(path, encoding="utf-8") as stream:
        lines = [(number, line.split()) for number, line in enumerate(stream, start=1) if line.strip()]
    if lines and lines[0][1] == ["y"]:
        raise ValueError(f"{path}:{lines[0][0]}: a 'y' section (svm-scale -y scales the labels): pisvm classifies "
                         "and never scales class labels; write the range file without -y")
    if not lines or lines[0][1] != ["x"]:
        raise ValueError(f"{path}: not an svm-scale range file (no 'x' line)")
    if len(lines) < 2:
        raise ValueError(f"{path}: no 'lower upper' line after 'x'")

    def numbers(number, fields, count, what):
        try:
            values = [float(field) for field in fields]
        except ValueError:
            values = []
        if len(values) != count:
            raise ValueError(f"{path}:{number}: {' '.join(fields)!r} is not '{what}'")
        return values

    lower, upper = numbers(*lines[1], 2, "lower upper")
    if not lower < upper:
        raise ValueError(f"{path}:{lines[1][0]}: lower {lower:g} must be below upper {upper:g}")
    ranges = {}
    for number, fields in lines[2:]:
        index, low, high = numbers(number, fields, 3, "index min max")
        if index != int(index) or index < 1:
            raise ValueError(f"{path}:{number}: feature index {fields[0]} is not an integer >= 1")
        if low > high:
            raise ValueError(f"{path}:{number}: feature {int(index)}: min {low:g} exceeds max {high:g}")
        ranges[int(index) - 1] = (low, high)
    return lower, upper, ranges


def scale_features(X, lower, upper, ranges, name="data"):
    """Map each feature's ``[min, max]`` onto ``[lower, upper]``; values outside are not clipped.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    lower, upper : float
    ranges : dict
        ``{0-based feature index: (min, max)}``; features not in it, or with
        ``min == max``, become 0 (a warning names the ones that vary in ``X``).
    name : str
        Used in the warning.

    Returns
    -------
    ndarray of shape (n_samples, max(n_features, largest index in ranges + 1)), dtype float64
    """
    n_features = max([X.shape[1]] + [j + 1 for j in ranges])
    X = np.pad(np.asarray(X, dtype=np.float64), ((0, 0), (0, n_features - X.shape[1])))
    kept = np.array(sorted(j for j, (low, high) in ranges.items() if low != high), dtype=np.int64)
    unknown = [j for j in range(n_features) if j not in ranges and len(X) and np.ptp(X[:, j]) > 0]
    if unknown:
        warnings.warn(f"features {', '.join(str(j + 1) for j in unknown)} vary in {name} but are not in the range "
                      "file: scaled to 0 (as svm-scale does)", stacklevel=2)
    out = np.zeros_like(X)
    if kept.size and len(X):  # a rank may hold no rows of a small scene
        scaler = MinMaxScaler(feature_range=(lower, upper))
        scaler.fit(np.array([[ranges[j][0] for j in kept], [ranges[j][1] for j in kept]]))
        out[:, kept] = scaler.transform(X[:, kept])
    return out
