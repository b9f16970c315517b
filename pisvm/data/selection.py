"""Train/test selection masks over a scene (the reference tutorial's HDF5 layout).

A selection file is HDF5 with:

``selection``
    int8 array of shape (n_rows, n_cols): 0 removed/unlabelled, 1 test, 2 train;
``mean``, ``stddev``
    float64 arrays of shape (1, 1, n_bands), as the reference code
    (Markus-Goetz/cluster-sampling) writes them: statistics of the training
    pixels' spectra (normalisation without leakage);

and datasets describing how it was made: ``mode``, ``seed`` or
``epsilon``/``min_points``, ``training_fraction``, ``removed_labels`` (every
label left out, the unlabelled 0 included, as the reference lists them).
Files of earlier versions (``mean``/``stddev`` of shape (n_bands,)) and
parameters stored as HDF5 attributes are read too; :func:`read_selection`
always returns the statistics with shape (n_bands,).
"""

import os

import h5py
import numpy as np

from .atomic import atomic_path

REMOVED, TEST, TRAIN = 0, 1, 2


def write_selection(path, selection, mean, stddev, **attrs):
    """Write a selection mask, the training statistics and the split parameters.

    Parameters
    ----------
    path : str or os.PathLike
    selection : ndarray of shape (n_rows, n_cols)
        Values in {0 removed, 1 test, 2 train}.
    mean, stddev : array_like of n_bands values
        Written with shape (1, 1, n_bands), the reference layout.
    **attrs
        Split parameters, stored as scalar (or array) datasets like the reference files.
    """
    selection = np.asarray(selection)
    if selection.ndim != 2 or not np.isin(selection, (REMOVED, TEST, TRAIN)).all():
        raise ValueError(f"{path}: selection must be 2-D with values in {{0, 1, 2}}")
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as h5:
        h5.create_dataset("selection", data=selection.astype(np.int8), compression="gzip")
        for key, value in (("mean", mean), ("stddev", stddev)):
            h5.create_dataset(key, data=np.asarray(value, dtype=np.float64).reshape(1, 1, -1))
        for key, value in attrs.items():
            h5.create_dataset(key, data=value if isinstance(value, str) else np.asarray(value))


def read_selection(path, shape=None):
    """Read a selection file.

    Parameters
    ----------
    path : str or os.PathLike
    shape : tuple of int, optional
        The scene's (n_rows, n_cols); a different selection shape is an error.

    Returns
    -------
    selection : ndarray of shape (n_rows, n_cols), dtype int8
    info : dict
        ``mean`` and ``stddev`` of shape (n_bands,) (either layout on disk) and every other dataset or
        attribute of the file.
    """
    path = os.fspath(path)
    try:
        with h5py.File(path, "r") as h5:
            if "selection" not in h5:
                raise ValueError(f"{path}: no dataset 'selection' (not a selection file)")
            selection = h5["selection"][()].astype(np.int8)
            info = {key: h5[key][()].reshape(-1).astype(np.float64) for key in ("mean", "stddev") if key in h5}
            parameters = {key: h5[key][()] for key in h5 if key not in ("selection", "mean", "stddev")}
            parameters.update(h5.attrs.items())
            for key, value in parameters.items():
                if isinstance(value, bytes):
                    value = value.decode()
                info[key] = value.tolist() if isinstance(value, (np.ndarray, np.generic)) else value
    except OSError as error:
        raise ValueError(f"{path}: not a readable HDF5 selection file ({error})") from None
    if shape is not None and selection.shape != tuple(shape):
        raise ValueError(f"{path}: selection shape {selection.shape} does not match the scene's {tuple(shape)}")
    if not np.isin(selection, (REMOVED, TEST, TRAIN)).all():
        raise ValueError(f"{path}: selection values must be 0 (removed), 1 (test) or 2 (train)")
    return selection, info
