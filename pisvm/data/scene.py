"""Hyperspectral scenes: the HDF5 layout of the reference 3D-CNN files and UPV/EHU ``.mat`` import.

A scene file is HDF5 with two datasets:

``data``
    the cube, shape (n_rows, n_cols, n_bands), any real dtype;
``labels``
    the ground truth, shape (n_rows, n_cols), integer, 0 = unlabelled.
"""

import os
import struct
import zlib

import h5py
import numpy as np
import scipy.io

from .atomic import atomic_path

UNLABELLED = 0


def _check_scene(data, labels, name):
    if data.ndim != 3:
        raise ValueError(f"{name}: data has shape {data.shape}, must be (n_rows, n_cols, n_bands)")
    if labels.shape != data.shape[:2]:
        raise ValueError(f"{name}: labels have shape {labels.shape}, data {data.shape[:2]}: must match")
    if not np.issubdtype(labels.dtype, np.integer):
        fractional = np.argwhere(labels != np.round(labels))
        if fractional.size:
            row, col = fractional[0]
            raise ValueError(f"{name}: label {labels[row, col]:g} at row {row}, column {col} is not an integer")
    if labels.size and labels.min() < 0:
        raise ValueError(f"{name}: label {labels.min()} < 0 (0 means unlabelled)")
    if np.issubdtype(data.dtype, np.floating) and not np.isfinite(data).all():
        row, col, band = np.argwhere(~np.isfinite(data))[0]
        raise ValueError(f"{name}: data[{row}, {col}, {band}] is not finite")


def read_scene(path):
    """Read a scene HDF5 file.

    Returns
    -------
    data : ndarray of shape (n_rows, n_cols, n_bands)
        In the file's dtype.
    labels : ndarray of shape (n_rows, n_cols), dtype int64
        0 marks unlabelled pixels.

    Raises
    ------
    ValueError
        The file is not HDF5, lacks ``data``/``labels``, the shapes disagree,
        or the cube holds NaN/Inf.
    """
    path = os.fspath(path)
    try:
        with h5py.File(path, "r") as h5:
            missing = [key for key in ("data", "labels") if key not in h5]
            if missing:
                raise ValueError(f"{path}: no dataset {missing[0]!r} (a scene file holds 'data' and 'labels')")
            data = h5["data"][()]
            labels = h5["labels"][()]
    except OSError as error:
        raise ValueError(f"{path}: not a readable HDF5 scene file ({error})") from None
    _check_scene(data, labels, path)
    return data, labels.astype(np.int64)


def write_scene(path, data, labels, **attrs):
    """Write ``data`` (n_rows, n_cols, n_bands) and ``labels`` (n_rows, n_cols) to HDF5.

    Extra keyword arguments are stored as file attributes (provenance).
    """
    data = np.asarray(data)
    labels = np.asarray(labels)
    _check_scene(data, labels, os.fspath(path))
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as h5:
        h5.create_dataset("data", data=data, chunks=True, compression="gzip", compression_opts=1)
        h5.create_dataset("labels", data=labels.astype(np.int32), compression="gzip")
        for key, value in attrs.items():
            h5.attrs[key] = value


# What scipy's .mat reader raises on a truncated or foreign file.
_MAT_READ_ERRORS = (ValueError, OSError, IndexError, KeyError, TypeError, EOFError, struct.error, zlib.error,
                    scipy.io.matlab.MatReadError)


def _mat_arrays(path):
    """Return the non-empty numeric arrays of a ``.mat`` file (v5 through scipy, v7.3 through h5py)."""
    if os.path.isdir(path):
        raise ValueError(f"{path}: is a directory, not a .mat file")
    if os.path.getsize(path) == 0:
        raise ValueError(f"{path}: empty file")
    try:
        try:
            content = scipy.io.loadmat(path)
        except NotImplementedError:
            content = {}
            with h5py.File(path, "r") as h5:
                for key, value in h5.items():
                    if isinstance(value, h5py.Dataset) and value.dtype.kind in "iuf":
                        # MATLAB v7.3 stores arrays column-major: reverse the axes.
                        content[key] = np.asarray(value[()]).T
    except _MAT_READ_ERRORS as error:
        raise ValueError(f"{path}: not a readable .mat file ({error or type(error).__name__})") from None
    return {key: value for key, value in content.items()
            if not key.startswith("__") and isinstance(value, np.ndarray) and value.dtype.kind in "iuf"
            and value.size}


def _only_array(path, ndim, key=None, option="--key"):
    """The ``ndim``-D array of a ``.mat`` file: the only one, or the one named ``key``."""
    arrays = {name: value for name, value in _mat_arrays(path).items() if value.ndim == ndim}
    listed = ", ".join(f"{name} {'x'.join(map(str, value.shape))}" for name, value in arrays.items())
    if key is not None:
        if key not in arrays:
            raise ValueError(f"{path}: no {ndim}-D array {key!r} (found: {listed or 'none'})")
        return key, arrays[key]
    if not arrays:
        raise ValueError(f"{path}: no {ndim}-D numeric array inside")
    if len(arrays) > 1:
        raise ValueError(f"{path}: {len(arrays)} {ndim}-D arrays ({listed}): name one with {option}")
    ((key, array),) = arrays.items()
    return key, array


def import_mat(cube_path, labels_path, cube_key=None, labels_key=None):
    """Read a UPV/EHU cube ``.mat`` and its ground-truth ``.mat``.

    The array inside each file is found by its dimensionality (3-D cube,
    2-D labels), whatever its variable name (``indian_pines_corrected``,
    ``salinasA``, ...); a file holding several such arrays needs the name.

    Parameters
    ----------
    cube_path, labels_path : str or os.PathLike
    cube_key, labels_key : str, optional
        Variable names, needed when a file holds several arrays of the
        dimensionality.

    Returns
    -------
    data : ndarray of shape (n_rows, n_cols, n_bands)
    labels : ndarray of shape (n_rows, n_cols), dtype int64
    names : tuple of str
        The variable names used from the two files.

    Raises
    ------
    ValueError
        One line naming the file: a directory, an empty or unreadable file,
        no (or several) arrays of the dimensionality, shapes that disagree,
        labels that are not integers, or no labelled pixel.
    """
    cube_key, data = _only_array(os.fspath(cube_path), 3, cube_key, "--cube-key")
    labels_key, labels = _only_array(os.fspath(labels_path), 2, labels_key, "--labels-key")
    _check_scene(data, labels, f"{cube_path} + {labels_path}")
    if not labels.any():
        raise ValueError(f"{labels_path}: no labelled pixel (every label of {labels_key!r} is 0)")
    return data, labels.astype(np.int64), (cube_key, labels_key)


def labelled_pixels(data, labels, mask=None):
    """Return the spectra and labels of the labelled pixels, in row-major order.

    Parameters
    ----------
    data : ndarray of shape (n_rows, n_cols, n_bands)
    labels : ndarray of shape (n_rows, n_cols)
    mask : ndarray of bool of shape (n_rows, n_cols), optional
        Restrict to these pixels as well.

    Returns
    -------
    X : ndarray of shape (n_pixels, n_bands), dtype float64
    y : ndarray of shape (n_pixels,), dtype int64
    index : ndarray of shape (n_pixels,), dtype int64
        Flat (row-major) pixel index of each sample.
    """
    selected = labels != UNLABELLED
    if mask is not None:
        selected &= mask
    index = np.flatnonzero(selected)
    X = data.reshape(-1, data.shape[2])[index].astype(np.float64)
    return X, labels.reshape(-1)[index].astype(np.int64), index
