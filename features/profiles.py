"""Attribute profiles (Dalla Mura et al. 2010), self-dual attribute profiles, their extended forms.

The layout mirrors ``sap`` (Simple Attribute Profiles) so that the two compare
one to one: for each attribute, in the order of the ``attributes`` dict, the
thickenings (min-tree filters) for the thresholds in reverse order, then the
image itself, then the thinnings (max-tree filters) for the thresholds in the
given order; attributes are concatenated along the first axis, exactly like
``sap.attribute_profiles(image, attributes, adjacency, filtering_rule=rule).vectorize()``.
A node is removed when ``attribute < threshold``.

The self-dual profile filters the tree of shapes instead (one tree, bright
and dark structures alike): per attribute the image itself, then one
filter per threshold in the given order, exactly like
``sap.self_dual_attribute_profiles(image, attributes, filtering_rule=rule).vectorize()``.
"""

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from features import shapes as _shapes
from features import trees as _trees

AREA_THRESHOLDS = (25.0, 100.0, 500.0, 1000.0, 5000.0)
"""Default area thresholds, pixels, of the (self-dual) attribute profiles that pisvm-compare computes."""


def _check_attribute_dict(attributes):
    """Validate ``{name: thresholds}``; return a list of (name, tuple of float)."""
    if not isinstance(attributes, dict) or not attributes:
        raise ValueError(f"attributes == {attributes!r}, must be a non-empty dict "
                         f"{{name: thresholds}} with names in {set(_trees.ATTRIBUTES)}")
    checked = []
    for name, thresholds in attributes.items():
        canonical = _trees.check_attribute(name)
        if np.ndim(thresholds) == 0:
            thresholds = [thresholds]
        values = tuple(_trees.check_threshold(t, name) for t in thresholds)
        if not values:
            raise ValueError(f"{name} thresholds == {list(thresholds)!r}, must hold at least one threshold")
        checked.append((canonical, values))
    return checked


def _check_n_jobs(n_jobs):
    if n_jobs is None:
        return min(2, os.cpu_count() or 1)
    if isinstance(n_jobs, (bool, np.bool_)) or not isinstance(n_jobs, (int, np.integer)) or n_jobs < 1:
        raise ValueError(f"n_jobs == {n_jobs!r}, must be an integer >= 1")
    return int(n_jobs)


def n_profile_features(attributes):
    """Number of images in the profile of one band: ``sum(2 * len(thresholds) + 1)``."""
    return sum(2 * len(values) + 1 for _, values in _check_attribute_dict(attributes))


def _profile_tasks(image, checked, adjacency, rule, out, executor):
    """Build both trees of ``image`` and submit every filter of its profile into ``out``.

    ``out`` has shape (n_features, n_rows, n_cols), the image dtype; returns futures.
    """
    order = _trees.sort_pixels(image)
    names = list(dict.fromkeys(name for name, _ in checked))
    futures_trees = {kind: executor.submit(_trees._build, image, order, kind, adjacency, names)
                     for kind in ("min", "max")}
    tree_of = {kind: future.result() for kind, future in futures_trees.items()}
    del order
    jobs = []
    plane = 0
    for name, values in checked:
        for threshold in values[::-1]:
            jobs.append(executor.submit(tree_of["min"].filter, name, threshold, rule, out[plane]))
            plane += 1
        out[plane] = image
        plane += 1
        for threshold in values:
            jobs.append(executor.submit(tree_of["max"].filter, name, threshold, rule, out[plane]))
            plane += 1
    return jobs


def attribute_profiles(image, attributes, adjacency=4, filtering_rule="direct", n_jobs=None):
    """Attribute profile of one 2-D image (several attributes: multi-attribute profile).

    Mirrors ``sap.attribute_profiles(image, attributes, adjacency,
    filtering_rule=filtering_rule).vectorize()``: same values, dtype and order.

    Parameters
    ----------
    image : array-like of shape (n_rows, n_cols)
        Any integer or float dtype (bool read as uint8, float16 as float32),
        finite values.
    attributes : dict of str to sequence of float
        ``{name: thresholds}`` with names in ``area``, ``diagonal``,
        ``moment_of_inertia`` (alias ``inertia``), ``std``; thresholds > 0,
        used in the given order.
    adjacency : {4, 8}, default 4
    filtering_rule : {"direct", "subtractive", "min", "max"}, default "direct"
        See :meth:`features.trees.ComponentTree.filter`.
    n_jobs : int, optional
        Threads (the kernels release the GIL); default ``min(2, cpu_count)``.

    Returns
    -------
    profiles : ndarray of shape (n_features, n_rows, n_cols), dtype of the image
        ``n_features = sum(2 * len(thresholds) + 1)`` over the attributes: per
        attribute the thickenings for the reversed thresholds, the image, the
        thinnings for the thresholds.

    Raises
    ------
    ValueError
        Non-2-D or non-finite image, unknown attribute or rule, threshold <= 0,
        bad adjacency or n_jobs.
    """
    image = _trees.check_image(image)
    checked = _check_attribute_dict(attributes)
    adjacency = _trees.check_adjacency(adjacency)
    rule = _trees.check_rule(filtering_rule)
    n_jobs = _check_n_jobs(n_jobs)
    n_features = sum(2 * len(values) + 1 for _, values in checked)
    out = np.empty((n_features,) + image.shape, dtype=image.dtype)
    with ThreadPoolExecutor(max_workers=n_jobs) as executor:
        for job in _profile_tasks(image, checked, adjacency, rule, out, executor):
            job.result()
    return out


def principal_components(cube, n_components):
    """First principal components of a hyperspectral cube (scikit-learn ``PCA``).

    Parameters
    ----------
    cube : array-like of shape (n_rows, n_cols, n_bands)
        Finite real values.
    n_components : int
        1 <= n_components <= min(n_pixels, n_bands).

    Returns
    -------
    components : ndarray of shape (n_components, n_rows, n_cols), float64
        Component images, each C-contiguous; the PCA is fitted on all pixels
        with the deterministic ``svd_solver="covariance_eigh"`` (eigenvectors of the
        covariance, signs fixed by scikit-learn), no whitening, BLAS limited
        to one thread while it runs.
    """
    from sklearn.decomposition import PCA
    from threadpoolctl import threadpool_limits

    cube = np.asarray(cube)
    if cube.ndim != 3:
        raise ValueError(f"cube has shape {cube.shape}, must be 3-D (n_rows, n_cols, n_bands)")
    if cube.dtype.kind not in "uifb":
        raise ValueError(f"cube dtype {cube.dtype} not supported, must be an integer or float dtype")
    n_rows, n_cols, n_bands = cube.shape
    limit = min(n_rows * n_cols, n_bands)
    if (isinstance(n_components, (bool, np.bool_)) or not isinstance(n_components, (int, np.integer))
            or not 1 <= n_components <= limit):
        raise ValueError(f"n_components == {n_components!r}, must be an integer in [1, {limit}]")
    samples = cube.reshape(-1, n_bands).astype(np.float64)
    if not np.isfinite(samples).all():
        pixel, band = np.argwhere(~np.isfinite(samples))[0]
        raise ValueError(f"cube[{pixel // n_cols}, {pixel % n_cols}, {band}] is not finite")
    if not np.ptp(samples, axis=0).any():
        raise ValueError("the cube is constant (every pixel has the same spectrum): its principal components are "
                         "undefined")
    # One BLAS thread: the covariance is a small product, and idle BLAS
    # threads spinning beside the tree threads (or other jobs) cost far more.
    with threadpool_limits(limits=1, user_api="blas"):
        scores = PCA(n_components=int(n_components), svd_solver="covariance_eigh",
                     copy=False).fit_transform(samples)
    return np.ascontiguousarray(scores.T.reshape(n_components, n_rows, n_cols))


def extended_profiles(cube, n_components, attributes, adjacency=4, filtering_rule="direct",
                      spectra=False, n_jobs=None):
    """Extended (multi-)attribute profile over the first principal components of a cube.

    The profile of each component (as :func:`attribute_profiles`) is
    concatenated in component order, like
    ``np.concatenate([sap.attribute_profiles(pc, ...).vectorize() for pc in pcs])``
    with ``pcs = principal_components(cube, n_components)``.

    Parameters
    ----------
    cube : array-like of shape (n_rows, n_cols, n_bands)
    n_components : int
        Number of principal components profiled (1 to n_bands).
    attributes : dict of str to sequence of float
        As in :func:`attribute_profiles`.
    adjacency : {4, 8}, default 4
    filtering_rule : {"direct", "subtractive", "min", "max"}, default "direct"
    spectra : bool, default False
        Append the ``n_bands`` spectral bands (as float64) after the profiles.
    n_jobs : int, optional
        Threads; default ``min(2, cpu_count)``.

    Returns
    -------
    profiles : ndarray of shape (n_features, n_rows, n_cols), float64
        ``n_features = n_components * sum(2 * len(thresholds) + 1)``
        (``+ n_bands`` with ``spectra``).
    """
    checked = _check_attribute_dict(attributes)
    adjacency = _trees.check_adjacency(adjacency)
    rule = _trees.check_rule(filtering_rule)
    n_jobs = _check_n_jobs(n_jobs)
    components = principal_components(cube, n_components)
    per_band = sum(2 * len(values) + 1 for _, values in checked)
    cube = np.asarray(cube)
    n_features = per_band * n_components + (cube.shape[2] if spectra else 0)
    out = np.empty((n_features,) + components.shape[1:], dtype=np.float64)
    jobs = []
    with ThreadPoolExecutor(max_workers=n_jobs) as executor:
        for index in range(n_components):
            band = out[index * per_band:(index + 1) * per_band]
            jobs += _profile_tasks(components[index], checked, adjacency, rule, band, executor)
        for job in jobs:
            job.result()
    if spectra:
        out[per_band * n_components:] = np.moveaxis(cube, 2, 0)
    return out


def n_self_dual_features(attributes):
    """Number of images in the self-dual profile of one band: ``sum(len(thresholds) + 1)``."""
    return sum(len(values) + 1 for _, values in _check_attribute_dict(attributes))


def _self_dual_tasks(tree, image, checked, rule, out, executor):
    """Submit every filter of the self-dual profile of ``image`` (its tree built) into ``out``; return futures."""
    jobs = []
    plane = 0
    for name, values in checked:
        out[plane] = image
        plane += 1
        for threshold in values:
            jobs.append(executor.submit(tree.filter, name, threshold, rule, out[plane]))
            plane += 1
    return jobs


def self_dual_profiles(image, attributes, filtering_rule="direct", n_jobs=None):
    """Self-dual (multi-)attribute profile of one 2-D image, on its tree of shapes.

    Mirrors ``sap.self_dual_attribute_profiles(image, attributes,
    filtering_rule=filtering_rule).vectorize()``: same values, dtype and
    order.  The tree (:func:`features.shapes.tree_of_shapes`) is built once
    with every attribute and filtered for every threshold.

    Parameters
    ----------
    image : array-like of shape (n_rows, n_cols)
        Any integer or float dtype (bool read as uint8, float16 as float32),
        finite values.
    attributes : dict of str to sequence of float
        ``{name: thresholds}`` with names in ``area``, ``diagonal``,
        ``moment_of_inertia`` (alias ``inertia``), ``std``; thresholds > 0,
        used in the given order.
    filtering_rule : {"direct", "subtractive", "min", "max"}, default "direct"
        See :meth:`features.trees.ComponentTree.filter`.
    n_jobs : int, optional
        Threads running the filters (the kernels release the GIL); default
        ``min(2, cpu_count)``.

    Returns
    -------
    profiles : ndarray of shape (n_features, n_rows, n_cols), dtype of the image
        ``n_features = sum(len(thresholds) + 1)`` over the attributes: per
        attribute the image, then its filters for the thresholds.

    Raises
    ------
    ValueError
        Non-2-D or non-finite image, unknown attribute or rule, threshold <= 0,
        bad n_jobs.
    """
    image = _trees.check_image(image)
    checked = _check_attribute_dict(attributes)
    rule = _trees.check_rule(filtering_rule)
    n_jobs = _check_n_jobs(n_jobs)
    out = np.empty((sum(len(values) + 1 for _, values in checked),) + image.shape, dtype=image.dtype)
    tree = _shapes._build(image, list(dict.fromkeys(name for name, _ in checked)))
    with ThreadPoolExecutor(max_workers=n_jobs) as executor:
        for job in _self_dual_tasks(tree, image, checked, rule, out, executor):
            job.result()
    return out


def extended_self_dual_profiles(cube, n_components, attributes, filtering_rule="direct", spectra=False,
                                n_jobs=None):
    """Extended self-dual (multi-)attribute profile (ESDAP) over the first principal components of a cube.

    The self-dual profile of each component (as :func:`self_dual_profiles`)
    is concatenated in component order, like
    ``np.concatenate([sap.self_dual_attribute_profiles(pc, ...).vectorize() for pc in pcs])``
    with ``pcs = principal_components(cube, n_components)``.

    Parameters
    ----------
    cube : array-like of shape (n_rows, n_cols, n_bands)
    n_components : int
        Number of principal components profiled (1 to n_bands).
    attributes : dict of str to sequence of float
        As in :func:`self_dual_profiles`.
    filtering_rule : {"direct", "subtractive", "min", "max"}, default "direct"
    spectra : bool, default False
        Append the ``n_bands`` spectral bands (as float64) after the profiles.
    n_jobs : int, optional
        Threads (trees of different components are built in parallel);
        default ``min(2, cpu_count)``.

    Returns
    -------
    profiles : ndarray of shape (n_features, n_rows, n_cols), float64
        ``n_features = n_components * sum(len(thresholds) + 1)``
        (``+ n_bands`` with ``spectra``).
    """
    checked = _check_attribute_dict(attributes)
    rule = _trees.check_rule(filtering_rule)
    n_jobs = _check_n_jobs(n_jobs)
    components = principal_components(cube, n_components)
    names = list(dict.fromkeys(name for name, _ in checked))
    per_band = sum(len(values) + 1 for _, values in checked)
    cube = np.asarray(cube)
    n_features = per_band * n_components + (cube.shape[2] if spectra else 0)
    out = np.empty((n_features,) + components.shape[1:], dtype=np.float64)
    jobs = []
    with ThreadPoolExecutor(max_workers=n_jobs) as executor:
        builds = [executor.submit(_shapes._build, component, names) for component in components]
        for index, build in enumerate(builds):
            band = out[index * per_band:(index + 1) * per_band]
            jobs += _self_dual_tasks(build.result(), components[index], checked, rule, band, executor)
        for job in jobs:
            job.result()
    if spectra:
        out[per_band * n_components:] = np.moveaxis(cube, 2, 0)
    return out


def stack_spectra(profiles, cube):
    """Append the spectral bands of ``cube`` to ``profiles``.

    Parameters
    ----------
    profiles : ndarray of shape (n_features, n_rows, n_cols)
    cube : ndarray of shape (n_rows, n_cols, n_bands)

    Returns
    -------
    stacked : ndarray of shape (n_features + n_bands, n_rows, n_cols), float64
    """
    profiles = np.asarray(profiles)
    cube = np.asarray(cube)
    if cube.ndim != 3 or profiles.ndim != 3 or profiles.shape[1:] != cube.shape[:2]:
        raise ValueError(f"profiles {profiles.shape} and cube {cube.shape} must be "
                         f"(n_features, n_rows, n_cols) and (n_rows, n_cols, n_bands)")
    return np.concatenate([profiles.astype(np.float64), np.moveaxis(cube, 2, 0).astype(np.float64)])
