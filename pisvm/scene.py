"""Hyperspectral scenes: the HDF5 layout of the reference 3D-CNN files and UPV/EHU ``.mat`` import.

A scene file is HDF5 with two datasets:

``data``
    the cube, shape (n_rows, n_cols, n_bands), any real dtype;
``labels``
    the ground truth, shape (n_rows, n_cols), integer, 0 = unlabelled.
"""

import os

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
        if not np.all(labels == np.round(labels)):
            raise ValueError(f"{name}: labels are not integers")
    if labels.min() < 0:
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


def _mat_arrays(path):
    """Return the numeric arrays of a ``.mat`` file (v5 through scipy, v7.3 through h5py)."""
    try:
        content = scipy.io.loadmat(path)
        return {key: value for key, value in content.items()
                if not key.startswith("__") and isinstance(value, np.ndarray) and value.dtype.kind in "iuf"}
    except NotImplementedError:
        arrays = {}
        with h5py.File(path, "r") as h5:
            for key, value in h5.items():
                if isinstance(value, h5py.Dataset) and value.dtype.kind in "iuf":
                    # MATLAB v7.3 stores arrays column-major: reverse the axes.
                    arrays[key] = np.asarray(value[()]).T
        return arrays
    except (ValueError, OSError) as error:
        raise ValueError(f"{path}: not a readable .mat file ({error})") from None


def _only_array(path, ndim):
    arrays = {key: value for key, value in _mat_arrays(path).items() if value.ndim == ndim}
    if not arrays:
        raise ValueError(f"{path}: no {ndim}-D numeric array inside")
    if len(arrays) > 1:
        # The UPV/EHU files hold one array; prefer the largest if there are several.
        key = max(arrays, key=lambda name: arrays[name].size)
    else:
        (key,) = arrays
    return key, arrays[key]


def import_mat(cube_path, labels_path):
    """Read a UPV/EHU cube ``.mat`` and its ground-truth ``.mat``.

    The array inside each file is found by its dimensionality (3-D cube,
    2-D labels), whatever its variable name (``indian_pines_corrected``,
    ``salinasA``, ...).

    Returns
    -------
    data : ndarray of shape (n_rows, n_cols, n_bands)
    labels : ndarray of shape (n_rows, n_cols), dtype int64
    names : tuple of str
        The variable names found in the two files.
    """
    cube_key, data = _only_array(os.fspath(cube_path), 3)
    labels_key, labels = _only_array(os.fspath(labels_path), 2)
    _check_scene(data, labels, f"{cube_path} + {labels_path}")
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
