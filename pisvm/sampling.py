"""Train/test sampling of a scene's labelled pixels: random and cluster sampling.

Random sampling draws a per-class fraction of the labelled pixels.  Its test
pixels often lie next to training pixels, so a CNN's test windows overlap its
training windows and the accuracy is inflated.  Cluster sampling (Lange et
al., IGARSS 2018) runs DBSCAN on the pixel coordinates of each class and
assigns spatial clusters to the training set, so that training and test
regions are apart.

Every function returns a selection mask in the reference layout of
:mod:`pisvm.selection` (0 removed, 1 test, 2 train).  No TensorFlow here.

Notes
-----
Invariants (each is tested):

- a pixel is never in both sets; unlabelled pixels and removed labels are 0;
- the same arguments give the same mask (randomness comes only from
  ``random_state``; DBSCAN is deterministic);
- every class that keeps a labelled pixel has at least one training pixel;
- random mode: each class has ``max(1, round(fraction * n_class))`` training pixels;
- cluster modes: each class gets exactly ``max(1, round(fraction * n_class))``
  training pixels, and at most one DBSCAN cluster per class is split between
  the sets (its first pixels in row-major order train).
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
    selection = np.where(kept, TEST, REMOVED).astype(np.int8)
    flat_labels = labels.reshape(-1)
    flat_selection = selection.reshape(-1)
    for label in np.unique(flat_labels[kept.reshape(-1)]):
        pixels = np.flatnonzero(kept.reshape(-1) & (flat_labels == label))
        chosen = rng.permutation(len(pixels))[:_n_train(fraction, len(pixels))]
        flat_selection[pixels[chosen]] = TRAIN
    return selection


def _clusters(coordinates, epsilon, min_points):
    """DBSCAN cluster id of each pixel; noise pixels become singleton clusters (ids after the clusters)."""
    ids = DBSCAN(eps=epsilon, min_samples=min_points).fit_predict(coordinates)
    noise = ids < 0
    ids[noise] = ids.max(initial=-1) + 1 + np.arange(noise.sum())
    return ids


def cluster_selection(labels, fraction, mode="size", data=None, epsilon=1.5, min_points=9, remove_labels=()):
    """Assign whole spatial clusters of each class to training (cluster sampling).

    For each class, DBSCAN groups the pixel coordinates (in pixels, Euclidean
    distance) into clusters; pixels DBSCAN calls noise become clusters of one.
    Clusters are taken in order -- largest first (``mode='size'``) or most
    spectrally varied first (``mode='stddev'``: mean over bands of the
    per-band standard deviation of the cluster's spectra) -- while they fit
    into the class's ``max(1, round(fraction * n_class))`` training pixels;
    the first cluster that does not fit gives only its first pixels in
    row-major order (a compact block), as the reference implementation does,
    so every class gets exactly its share.  Ties are broken by size, then by
    the cluster's first pixel in row-major order.

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
    selection = np.where(kept, TEST, REMOVED).astype(np.int8)
    for label in np.unique(labels[kept]):
        coordinates = np.argwhere(kept & (labels == label))  # row-major order
        ids = _clusters(coordinates, epsilon, int(min_points))
        n_clusters = ids.max() + 1
        sizes = np.bincount(ids, minlength=n_clusters)
        first = np.full(n_clusters, len(ids))
        np.minimum.at(first, ids, np.arange(len(ids)))
        if mode == "size":
            order = np.lexsort((first, -sizes))
        else:
            spectra = data[coordinates[:, 0], coordinates[:, 1]].astype(np.float64)
            spread = np.zeros(n_clusters)
            for cluster in np.flatnonzero(sizes > 1):
                spread[cluster] = spectra[ids == cluster].std(axis=0).mean()
            order = np.lexsort((first, -sizes, -spread))
        target = _n_train(fraction, len(ids))
        taken = np.cumsum(sizes[order])
        n_whole = int(np.searchsorted(taken, target, side="right"))  # clusters that fit entirely
        train = np.isin(ids, order[:n_whole])
        if n_whole < len(order):
            remaining = target - (taken[n_whole - 1] if n_whole else 0)
            train[np.flatnonzero(ids == order[n_whole])[:remaining]] = True
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
        ``removed_labels``).
    """
    if mode not in MODES:
        raise ValueError(f"mode {mode!r} not in {{{', '.join(map(repr, MODES))}}}")
    attrs = {"mode": mode, "training_fraction": float(fraction),
             "removed_labels": np.asarray(sorted(remove_labels), dtype=np.int64)}
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
