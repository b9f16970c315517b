"""Synthetic workloads that stand in where real files are absent.

``seed_problem`` is shaped like the seeds' processed Indian Pines training file
(``indian_processed_training.el``): 52 classes, 33,396 samples, 30 features in
[0, 1].  The class sizes follow a long-tailed table (see ``SEED_CLASS_SIZES``):
the seeds' per-class table was not available, so the sizes are a documented
stand-in with the same number of classes and samples.  Scaled down, no class
gets fewer than ``MIN_CLASS_SIZE`` samples, so that the demo of ``pisvm-grid``
(its training two thirds, 10 folds) has every class in every fold.  ``synthetic_scene``
makes a small hyperspectral cube with fields of class spectra, spatial
structure and noise.
"""

import os

import numpy as np
from scipy.spatial import cKDTree
from sklearn.utils import check_random_state

N_SEED_SAMPLES = 33_396
N_SEED_CLASSES = 52
N_SEED_FEATURES = 30
MIN_CLASS_SIZE = 15
"""Fewest samples of a class in a scaled-down problem: after a stratified 1/3 test split, 10 stay for
10-fold cross-validation."""


def _long_tail_sizes(n_classes, n_samples, smallest=7, ratio=60.0):
    """Class sizes from ``smallest`` up to ``smallest * ratio``, geometric, summing to ``n_samples``."""
    shape = np.geomspace(1.0, ratio, n_classes)[::-1]
    sizes = np.maximum(smallest, np.floor(shape / shape.sum() * n_samples)).astype(np.int64)
    sizes[0] += n_samples - sizes.sum()
    return sizes


SEED_CLASS_SIZES = _long_tail_sizes(N_SEED_CLASSES, N_SEED_SAMPLES)
"""ndarray of shape (52,): class sizes of the seed-shaped problem (sum 33,396)."""


def seed_problem(scale=1.0, random_state=0, spread=0.03, family_size=4):
    """Make the seed-shaped LibSVM problem.

    Classes come in families of ``family_size`` similar classes (like the
    corn or soybean tillage variants of Indian Pines): families are far apart,
    classes of one family overlap, so accuracies stay well below 100 % and the
    best RBF width lies inside the seeds' gamma range.

    Parameters
    ----------
    scale : float, default 1.0
        Fraction of the full size: every class keeps ``max(MIN_CLASS_SIZE, round(size * scale))``
        samples (15; at full scale the smallest class has 43).
    random_state : int or numpy.random.RandomState, default 0
    spread : float, default 0.03
        Within-class standard deviation per feature, in units of the [0, 1] range.
    family_size : int, default 4

    Returns
    -------
    X : ndarray of shape (n_samples, 30), dtype float64, values in [0, 1]
    y : ndarray of shape (n_samples,), dtype int64, labels 1..52
    """
    if not 0 < scale <= 1:
        raise ValueError(f"scale == {scale}, must be in (0, 1]")
    rng = check_random_state(random_state)
    sizes = np.maximum(MIN_CLASS_SIZE, np.round(SEED_CLASS_SIZES * scale)).astype(np.int64)
    n_families = -(-N_SEED_CLASSES // family_size)
    family_centres = rng.uniform(0.2, 0.8, size=(n_families, N_SEED_FEATURES))
    centres = family_centres[np.arange(N_SEED_CLASSES) % n_families] + rng.normal(
        scale=spread * 0.2, size=(N_SEED_CLASSES, N_SEED_FEATURES))
    X = []
    for centre, size in zip(centres, sizes):
        # Each class also varies along a few directions of its own, like mixed pixels.
        mixing = rng.normal(size=(3, N_SEED_FEATURES)) * spread
        X.append(centre + rng.normal(scale=spread, size=(size, N_SEED_FEATURES))
                 + rng.normal(size=(size, 3)) @ mixing)
    X = np.vstack(X)
    y = np.repeat(np.arange(1, N_SEED_CLASSES + 1), sizes)
    order = rng.permutation(len(y))
    return np.clip(X[order], 0.0, 1.0), y[order]


def scene_memory_bytes(n_rows, n_cols, n_bands):
    """Peak memory of :func:`synthetic_scene`, bytes: float64 cube and noise, float32 copy, per-pixel maps."""
    return n_rows * n_cols * (20 * n_bands + 80)


def _binary_size(n_bytes):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n_bytes < 1024:
            return f"{n_bytes:.1f} {unit}"
        n_bytes /= 1024
    return f"{n_bytes:.1f} TiB"


def synthetic_scene(n_rows=64, n_cols=64, n_bands=60, n_classes=6, noise=0.04,
                    unlabelled_fraction=0.3, random_state=0):
    """Make a small hyperspectral scene of fields with class spectra.

    The scene is a Voronoi partition into fields; each field belongs to one
    class, whose smooth spectrum (sum of Gaussian absorption features) is
    scaled per field and per pixel and overlaid with Gaussian noise.  A share
    of the fields is left unlabelled (label 0), like roads and boundaries.

    Parameters
    ----------
    n_rows, n_cols : int, default 64
        Spatial size in pixels.
    n_bands : int, default 60
    n_classes : int, default 6
    noise : float, default 0.04
        Standard deviation of the per-band noise, in reflectance units.
    unlabelled_fraction : float, default 0.3
        Share of fields whose label is 0.
    random_state : int or numpy.random.RandomState, default 0

    Returns
    -------
    data : ndarray of shape (n_rows, n_cols, n_bands), dtype float32, reflectance in about [0, 1]
    labels : ndarray of shape (n_rows, n_cols), dtype int64, 0 = unlabelled, classes 1..n_classes

    Raises
    ------
    ValueError
        Before allocating anything, when making the scene would need more
        memory (:func:`scene_memory_bytes`) than the machine has.
    """
    need = scene_memory_bytes(n_rows, n_cols, n_bands)
    have = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    if need > have:
        raise ValueError(f"a synthetic scene of {n_rows} x {n_cols} pixels x {n_bands} bands needs about "
                         f"{_binary_size(need)} of memory to make, this machine has {_binary_size(have)}")
    rng = check_random_state(random_state)
    wavelengths = np.linspace(0.0, 1.0, n_bands)
    spectra = np.empty((n_classes, n_bands))
    for k in range(n_classes):
        centres = rng.uniform(0, 1, size=4)
        depths = rng.uniform(0.05, 0.3, size=4)
        widths = rng.uniform(0.03, 0.15, size=4)
        spectra[k] = 0.5 + 0.2 * rng.uniform(-1, 1) * wavelengths - (
            depths[:, None] * np.exp(-((wavelengths - centres[:, None]) / widths[:, None]) ** 2)).sum(axis=0)
    n_fields = max(n_classes * 3, (n_rows * n_cols) // 150)
    seeds = rng.uniform([0, 0], [n_rows, n_cols], size=(n_fields, 2))
    rows, cols = np.mgrid[0:n_rows, 0:n_cols]
    field = cKDTree(seeds).query(np.column_stack([rows.ravel(), cols.ravel()]))[1].reshape(n_rows, n_cols)
    field_class = np.concatenate([np.arange(n_classes), rng.randint(0, n_classes, n_fields - n_classes)])
    rng.shuffle(field_class)
    field_gain = rng.uniform(0.85, 1.15, size=n_fields)
    data = spectra[field_class[field]] * (field_gain[field] * rng.uniform(0.95, 1.05, size=(n_rows, n_cols)))[..., None]
    data += rng.normal(scale=noise, size=data.shape)
    labelled_field = rng.uniform(size=n_fields) >= unlabelled_fraction
    labelled_field[np.unique(field_class, return_index=True)[1]] = True  # every class keeps a field
    labels = np.where(labelled_field[field], field_class[field] + 1, 0)
    return data.astype(np.float32), labels.astype(np.int64)
