"""Synthetic workloads that stand in where real files are absent.

``seed_problem`` is shaped like the seeds' processed Indian Pines training file
(``indian_processed_training.el``) and is meant to be as hard: 52 classes,
33,396 samples, 30 features in [0, 1], and a 10-fold table over the seeds' grid
(gamma 2..32 x C 1..10,000) of the seeds' shape: best cell near 77 %, gamma 2 /
C 1 far below it, the C = 10,000 column close to it.  The class sizes follow a
long-tailed table (see ``SEED_CLASS_SIZES``): the seeds' per-class table was not
available, so the sizes are a documented stand-in with the same number of
classes and samples.  Scaled down, no class gets fewer than ``MIN_CLASS_SIZE``
samples, so that the demo of ``pisvm-grid`` (its training two thirds, 10 folds)
has every class in every fold.  ``synthetic_scene`` makes a small hyperspectral
cube with fields of class spectra, spatial structure and noise.

How ``seed_problem`` is made
----------------------------
Like hyperspectral pixels, whose variance sits in a few principal components,
the samples lie in an ``N_LATENT``-dimensional signal space, mapped into the 30
features by a random orthonormal map centred at 0.5.  The 52 classes form 13
families of ``FAMILY_SIZE`` consecutive classes (class ``c`` belongs to family
``(c - 1) // 4``; siblings have similar sizes, like the tillage variants of corn
or soybean in Indian Pines).  Family centres are uniform in
[-``FAMILY_SPREAD``, ``FAMILY_SPREAD``] per signal coordinate.  Each family has a
scale (``FAMILY_SCALES``, 0.3 to 4.8): its classes sit on orthogonal axes of a
randomly turned frame at ``CLASS_OFFSET`` times the scale from the family centre,
and their samples are Gaussian around the class centre with ``CLASS_SPREAD``
times the scale per coordinate; a share ``MIXED_SHARE`` of every class's samples
are mixed pixels, drawn around the family centre instead.  Sibling classes are
0.002 to 0.034 apart (feature units), families about 0.1 to 1.

Why it is hard
--------------
- *The best cell is limited to about 77 %* by the overlap of siblings: class
  centres 2.5 spreads from the family centre, plus the mixed pixels, which
  belong to all four siblings alike.  The Bayes rule (the true class model,
  family known) is right on 77.3 % of the full-size samples; the errors are
  spread over every family, not a few mislabelled outliers.
- *Low gamma with low C underfits*: siblings differ on scales 15 to 250 times
  smaller than the RBF width at gamma 2 (``1 / sqrt(2 gamma)`` = 0.5).  Inside a
  family the kernel is nearly 1 and the part that tells siblings apart is of
  order ``gamma * distance**2``, so the decision function needs dual
  coefficients of about ``1 / (gamma * distance**2)``; bounded by C = 1, the SVM
  tells families apart but within a fine family favours the largest sibling.
  Each tenfold of C (or of the sample count), or larger gamma, resolves finer
  families (a family with more samples is resolved sooner); as the family
  scales span a factor of 16 and their sample counts a factor of 48, the table
  rises gradually along both axes, not in one step.
- *High C stays nearly as good*: the boundaries between siblings are smooth
  (Gaussians of equal spread, so nearly linear), which even the widest kernel
  follows once C is large; the mixed pixels, shared by similar-sized siblings,
  cost a classifier that fits them little more than the Bayes rule does; and the
  narrowest kernel of the grid (width 0.125 at gamma 32) is still wide against
  a family, so it does not memorise single samples.

The table depends on the sample count: a problem scaled down to a fraction s
underfits at low C about as the full-size problem does at C * s (gamma 2 / C 1,
10 folds: 31 % at scale 0.3, 49 % at full size).  ``benchmarks/seed_table.py``
prints the table next to the seeds'.
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
FAMILY_SIZE = 4
"""Classes per family of ``seed_problem``: class c belongs to family (c - 1) // 4."""
N_LATENT = 5
"""Dimension of ``seed_problem``'s signal space."""
FAMILY_SPREAD = 0.3
"""Family centres are uniform in [-0.3, 0.3] per signal coordinate (feature units)."""
CLASS_SPREAD = 0.002
"""Standard deviation of a sample around its class centre, per signal coordinate, in a family of
scale 1 (feature units)."""
CLASS_OFFSET = 2.5 * CLASS_SPREAD
"""Distance of a class centre from its family centre, in a family of scale 1 (feature units)."""
FAMILY_SCALES = np.array([0.3, 2.4, 4.0, 1.2, 3.2, 4.8, 1.6, 3.5, 0.9, 3.0, 4.6, 1.4, 3.5])
"""ndarray of shape (13,): scale of each family's offsets and spreads, fine (0.3) to coarse (4.8)."""
MIXED_SHARE = 0.2
"""Share of a class's samples that are mixed pixels, drawn around the family centre (feature units)."""


def _long_tail_sizes(n_classes, n_samples, smallest=7, ratio=60.0):
    """Class sizes from ``smallest`` up to ``smallest * ratio``, geometric, summing to ``n_samples``."""
    shape = np.geomspace(1.0, ratio, n_classes)[::-1]
    sizes = np.maximum(smallest, np.floor(shape / shape.sum() * n_samples)).astype(np.int64)
    sizes[0] += n_samples - sizes.sum()
    return sizes


SEED_CLASS_SIZES = _long_tail_sizes(N_SEED_CLASSES, N_SEED_SAMPLES)
"""ndarray of shape (52,): class sizes of the seed-shaped problem (sum 33,396)."""


def seed_problem(scale=1.0, random_state=0):
    """Make the seed-shaped LibSVM problem, as hard as the seeds' Indian Pines data.

    Families of ``FAMILY_SIZE`` similar classes in a 5-dimensional signal space
    mapped into the 30 features; siblings overlap (a Bayes accuracy of about
    77 %, partly from mixed pixels) and differ on a scale so small against the
    RBF width that low gamma with low C underfits, while high C resolves them at
    every gamma of the seeds' grid.  The module docstring says how the problem
    is made and why its table has the seeds' shape.

    Parameters
    ----------
    scale : float, default 1.0
        Fraction of the full size: every class keeps ``max(MIN_CLASS_SIZE, round(size * scale))``
        samples (15; at full scale the smallest class has 43).  Smaller problems underfit
        more at low C (see the module docstring).
    random_state : int or numpy.random.RandomState, default 0
        The same seed gives the same problem.

    Returns
    -------
    X : ndarray of shape (n_samples, 30), dtype float64, values in [0, 1]
    y : ndarray of shape (n_samples,), dtype int64, labels 1..52, shuffled
    """
    if not 0 < scale <= 1:
        raise ValueError(f"scale == {scale}, must be in (0, 1]")
    rng = check_random_state(random_state)
    sizes = np.maximum(MIN_CLASS_SIZE, np.round(SEED_CLASS_SIZES * scale)).astype(np.int64)
    signal = np.linalg.qr(rng.normal(size=(N_SEED_FEATURES, N_LATENT)))[0].T  # (5, 30), orthonormal rows
    family_centres = rng.uniform(-FAMILY_SPREAD, FAMILY_SPREAD, size=(-(-N_SEED_CLASSES // FAMILY_SIZE), N_LATENT))
    # The classes of a family sit on orthogonal axes of a randomly turned frame: equal distances of
    # sqrt(2) * CLASS_OFFSET between any two of them, so every family is equally hard.
    frames = np.linalg.qr(rng.normal(size=(len(family_centres), N_LATENT, N_LATENT)))[0]
    offsets = CLASS_OFFSET * frames[:, :, :FAMILY_SIZE].transpose(0, 2, 1).reshape(-1, N_LATENT)
    family = np.arange(N_SEED_CLASSES) // FAMILY_SIZE
    centres = family_centres[family] + FAMILY_SCALES[family, None] * offsets[:N_SEED_CLASSES]
    y = np.repeat(np.arange(1, N_SEED_CLASSES + 1), sizes)
    mixed = rng.uniform(size=len(y)) < MIXED_SHARE
    mean = np.where(mixed[:, None], family_centres[family[y - 1]], centres[y - 1])
    latent = mean + rng.normal(size=(len(y), N_LATENT)) * (CLASS_SPREAD * FAMILY_SCALES[family[y - 1], None])
    X = 0.5 + latent @ signal
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
