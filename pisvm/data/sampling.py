"""Train/test sampling of a scene's labelled pixels: random and cluster sampling.

Random sampling draws a per-class fraction of the labelled pixels.  Its test
pixels often lie next to training pixels, so a CNN's test windows overlap its
training windows and the accuracy is inflated.  Cluster sampling (Lange et
al., IGARSS 2018) runs DBSCAN on the pixel coordinates of each class and
assigns spatial clusters to the training set, so that training and test
regions are apart.

Every function returns a selection mask in the reference layout of
:mod:`pisvm.data.selection` (0 removed, 1 test, 2 train).  No TensorFlow here.

Notes
-----
Invariants (each is tested):

- a pixel is never in both sets; unlabelled pixels and removed labels are 0;
- the same arguments give the same mask (randomness comes only from
  ``random_state``; DBSCAN is deterministic);
- every class that keeps a labelled pixel has at least one training pixel;
- random mode: each class has ``max(1, round(fraction * n_class))`` training pixels;
- cluster modes: each class gets exactly ``max(1, round(fraction * n_class))``
  training pixels, and at most one DBSCAN cluster (or the noise group) per
  class is split between the sets (its first pixels in row-major order train);
- Fortran-ordered input (what ``scipy.io.loadmat`` returns) gives the same masks.

Cluster sampling ranks and takes clusters exactly as the reference code
(Markus-Goetz/cluster-sampling) does, with one difference: the reference
rounds each class's training count with no minimum, so a class with
``fraction * n_class < 0.5`` gets no training pixel there; here it gets one.
Random sampling draws with NumPy's ``default_rng``, not the reference's
``np.random.seed``/``shuffle``, so its masks differ from the reference's for
the same seed (the per-class counts match, up to that minimum of one).
"""

import numpy as np
from sklearn.cluster import DBSCAN

from .scene import UNLABELLED
from .selection import REMOVED, TEST, TRAIN

CLUSTER_MODES = ("size", "stddev")
MODES = ("random",) + CLUSTER_MODES


def _check_fraction(fraction):
    fraction = float(fraction)
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction == {fraction}, must be in (0, 1)")
    return fraction


def _kept_mask(labels, remove_labels):
    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise ValueError(f"labels have shape {labels.shape}, must be (n_rows, n_cols)")
    kept = labels != UNLABELLED
    if remove_labels is not None and len(remove_labels):
        kept &= ~np.isin(labels, np.asarray(remove_labels, dtype=labels.dtype))
    return kept


def _n_train(fraction, n_pixels):
    return max(1, int(round(fraction * n_pixels)))


def random_selection(labels, fraction, random_state=None, remove_labels=()):
    """Draw a fraction of each class's labelled pixels for training, the rest for testing.

    Parameters
    ----------
    labels : ndarray of shape (n_rows, n_cols), integer
        0 = unlabelled.
    fraction : float in (0, 1)
        Share of each class's pixels used for training; each class gets
        ``max(1, round(fraction * n_class))`` training pixels.
    random_state : int, numpy.random.Generator or None, default None
        Seed of the draw (classes are drawn in ascending label order).
    remove_labels : sequence of int, default ()
        Classes left out of both sets (selection 0).

    Returns
    -------
    selection : ndarray of shape (n_rows, n_cols), dtype int8
        0 removed/unlabelled, 1 test, 2 train.
    """
    fraction = _check_fraction(fraction)
    rng = np.random.default_rng(random_state)
    labels = np.asarray(labels)
    kept = _kept_mask(labels, remove_labels)
    selection = np.where(kept, TEST, REMOVED).astype(np.int8, order="C")
    # Index by coordinates, never through a flat view: reshape(-1) of a Fortran-ordered
    # array (what scipy.io.loadmat returns) is a copy, and writes into it would be lost.
    for label in np.unique(labels[kept]):
        rows, cols = np.nonzero(kept & (labels == label))  # row-major order
        chosen = rng.permutation(len(rows))[:_n_train(fraction, len(rows))]
        selection[rows[chosen], cols[chosen]] = TRAIN
    return selection


def _cluster_order(ids, key):
    """Order in which the groups ``np.unique(ids)`` are taken, as the reference code ranks them.

    Clusters come before the noise group (id -1), by descending ``key``;
    equal keys go to the higher DBSCAN id first (the reference reverses an
    ascending, stable ``np.lexsort``).

    Parameters
    ----------
    ids : ndarray of shape (n_groups,), int
        Sorted DBSCAN ids of the groups (-1: noise).
    key : ndarray of shape (n_groups,)
        Size or spread of each group.

    Returns
    -------
    ndarray of shape (n_groups,), int
        Positions into ``ids``.
    """
    return np.lexsort((key, ids >= 0))[::-1]


def cluster_selection(labels, fraction, mode="size", data=None, epsilon=1.5, min_points=9, remove_labels=()):
    """Assign whole spatial clusters of each class to training (cluster sampling).

    Follows the reference implementation (Markus-Goetz/cluster-sampling,
    which produced the paper's numbers): for each class, DBSCAN groups the
    pixel coordinates (in pixels, Euclidean distance) into clusters, and
    the pixels DBSCAN calls noise form one group taken after every cluster.
    Clusters are taken largest first (``mode='size'``) or most varied first
    (``mode='stddev'``: standard deviation over all of the cluster's values,
    pixels x bands, of the raw cube); equal sizes or deviations go to the
    higher DBSCAN cluster id first.  Groups are taken whole while they fit
    into the class's training share; the first that does not fit gives its
    first pixels in row-major order (a compact block), and the class is done.

    The one difference from the reference: each class gets
    ``max(1, round(fraction * n_class))`` training pixels, where the
    reference takes ``round(fraction * n_class)`` and so leaves a class with
    ``fraction * n_class < 0.5`` without any (the CNN and the SVMs then
    cannot learn it).

    Parameters
    ----------
    labels : ndarray of shape (n_rows, n_cols), integer
    fraction : float in (0, 1)
    mode : {'size', 'stddev'}, default 'size'
    data : ndarray of shape (n_rows, n_cols, n_bands), optional
        The cube; required for ``mode='stddev'``.
    epsilon : float, default 1.5
        DBSCAN neighbourhood radius in pixels (1.5 reaches the 8 neighbours).
    min_points : int, default 9
        DBSCAN ``min_samples`` (9: a core pixel has all 8 neighbours in its class).
    remove_labels : sequence of int, default ()

    Returns
    -------
    selection : ndarray of shape (n_rows, n_cols), dtype int8
        0 removed/unlabelled, 1 test, 2 train.
    """
    fraction = _check_fraction(fraction)
    if mode not in CLUSTER_MODES:
        raise ValueError(f"mode {mode!r} not in {{'size', 'stddev'}}")
    if not (np.isfinite(epsilon) and epsilon > 0):
        raise ValueError(f"epsilon == {epsilon}, must be > 0")
    if int(min_points) != min_points or min_points < 1:
        raise ValueError(f"min_points == {min_points}, must be an integer >= 1")
    labels = np.asarray(labels)
    if mode == "stddev":
        if data is None:
            raise ValueError("mode 'stddev' needs the data cube")
        if data.shape[:2] != labels.shape:
            raise ValueError(f"data has shape {data.shape}, labels {labels.shape}: must match")
    kept = _kept_mask(labels, remove_labels)
    selection = np.where(kept, TEST, REMOVED).astype(np.int8, order="C")
    dbscan = DBSCAN(eps=epsilon, min_samples=int(min_points))
    for label in np.unique(labels[kept]):
        coordinates = np.argwhere(kept & (labels == label))  # row-major order
        ids = dbscan.fit_predict(coordinates)
        groups, sizes = np.unique(ids, return_counts=True)
        if mode == "size":
            key = sizes
        else:
            key = np.array([data[coordinates[ids == group, 0], coordinates[ids == group, 1]].std(dtype=np.float64)
                            for group in groups])
        order = _cluster_order(groups, key)
        target = _n_train(fraction, len(ids))
        taken = np.cumsum(sizes[order])
        n_whole = int(np.searchsorted(taken, target, side="right"))  # groups that fit entirely
        train = np.isin(ids, groups[order[:n_whole]])
        if n_whole < len(order):
            remaining = target - (taken[n_whole - 1] if n_whole else 0)
            train[np.flatnonzero(ids == groups[order[n_whole]])[:remaining]] = True
        selection[coordinates[train, 0], coordinates[train, 1]] = TRAIN
    return selection


def make_selection(labels, mode, fraction, data=None, random_state=None, epsilon=1.5, min_points=9,
                   remove_labels=()):
    """Dispatch to :func:`random_selection` or :func:`cluster_selection` by ``mode``.

    Returns
    -------
    selection : ndarray of shape (n_rows, n_cols), dtype int8
    attrs : dict
        The split parameters to store with it (reference layout: ``mode``,
        ``seed`` or ``epsilon``/``min_points``, ``training_fraction``,
        ``removed_labels``: int64 array of the labels left out, the unlabelled 0 first).
    """
    if mode not in MODES:
        raise ValueError(f"mode {mode!r} not in {{{', '.join(map(repr, MODES))}}}")
    # The reference lists every label left out, the unlabelled 0 included (its files have [0, ...]).
    removed = sorted({UNLABELLED, *(int(label) for label in remove_labels)})
    attrs = {"mode": mode, "training_fraction": float(fraction),
             "removed_labels": np.asarray(removed, dtype=np.int64)}
    if mode == "random":
        selection = random_selection(labels, fraction, random_state, remove_labels)
        attrs["seed"] = -1 if random_state is None else int(random_state)
    else:
        selection = cluster_selection(labels, fraction, mode, data, epsilon, min_points, remove_labels)
        attrs.update(epsilon=float(epsilon), min_points=int(min_points))
    return selection, attrs


def training_statistics(data, selection):
    """Per-band mean and standard deviation of the training pixels (normalisation without leakage).

    Parameters
    ----------
    data : ndarray of shape (n_rows, n_cols, n_bands)
    selection : ndarray of shape (n_rows, n_cols)
        2 marks training pixels.

    Returns
    -------
    mean, stddev : ndarray of shape (n_bands,), dtype float64
        ``stddev`` is the population standard deviation; constant bands get 1.0
        so that dividing by it is safe.
    """
    if data.shape[:2] != np.shape(selection):
        raise ValueError(f"selection shape {np.shape(selection)} does not match the scene's {data.shape[:2]}")
    train = np.asarray(selection) == TRAIN
    if not train.any():
        raise ValueError("the selection has no training pixel")
    spectra = data[train].astype(np.float64)
    mean = spectra.mean(axis=0)
    stddev = spectra.std(axis=0)
    stddev[stddev == 0] = 1.0
    return mean, stddev


def selection_counts(labels, selection):
    """Training and test pixel counts per class.

    Returns
    -------
    dict
        ``{label: (n_train, n_test)}`` for every label with a selected pixel.
    """
    counts = {}
    for label in np.unique(labels[selection != REMOVED]):
        of_class = labels == label
        counts[int(label)] = (int((of_class & (selection == TRAIN)).sum()),
                              int((of_class & (selection == TEST)).sum()))
    return counts
