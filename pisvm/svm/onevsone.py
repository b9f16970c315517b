"""LIBSVM's one-vs-one rules: the class pairs, the cost of a pair's binary problem, decision values and the vote.

LIBSVM solves a multi-class problem as one binary problem per class pair (the
samples of classes a and b, in their original order) and predicts by votes,
ties going to the lower class.  Every part of the suite that splits, schedules
or combines pair problems uses these functions, so a task split into pair
groups on several ranks predicts exactly what one ``SVC`` predicts.
"""

import numpy as np
from scipy.spatial.distance import cdist

from . import _onevsone

OVERLAP_WEIGHT = 230.0
"""Cost per kernel entry of a pair of fully overlapping classes, relative to a pair of separate ones, minus 1.

The SMO of two separate classes stops after a few iterations (and larger C
reuse the solution); two classes that overlap need many more, with many
multipliers at their bound.  A least-squares fit of the per-task CPU seconds
of a full-size seed-problem grid on 80 ranks' chains, seconds = u * (n_a +
n_b)^2 + v * (n_a + n_b)^2 * overlap summed over a task's pairs, gave v / u
from 202 to 258 for the five gammas with the overlap of 64 points a class
(R^2 0.55 to 0.92), 91 to 129 with 32 points a class (R^2 0.47 to 0.92;
docs/benchmarks.md).
"""

OVERLAP_PER_CLASS = 64
"""Points a class that :func:`class_overlap` compares, at most.

Measured on the full-size seed problem with 80 ranks' chains: with 32 points
a class the estimate missed large classes whose high-C solves are long
(their overlap read near 0), and the run's chains replayed on 80 ranks at
67.4 % efficiency; a run with 64 points a class (its own grouping and
order) replayed at 88.1 % (docs/benchmarks.md).
"""

OVERLAP_SAMPLES = 4096
"""Samples (over all classes) that :func:`class_overlap` compares: at most :data:`OVERLAP_PER_CLASS` a class."""


def class_overlap(X, y, n_samples=OVERLAP_SAMPLES, random_state=0):
    """How much each two classes overlap, from the nearest neighbours of a sample of each class.

    For each sampled point of class a, it counts as overlapping class b when
    its nearest sampled point of b is nearer than its nearest (other) sampled
    point of a.  The overlap of a and b is the mean of the two classes' shares
    of such points.  A fixed sample (``random_state``) of at most ``n_samples``
    points, :data:`OVERLAP_PER_CLASS` a class at most, keeps it to about 0.3 s
    at full size; it only steers scheduling, never results.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    n_samples : int
    random_state : int

    Returns
    -------
    ndarray of shape (n_classes, n_classes), float64
        Symmetric, in [0, 1], 0 on the diagonal; classes in sorted order.
    """
    classes = np.unique(y)
    per_class = max(2, min(OVERLAP_PER_CLASS, n_samples // len(classes)))
    rng = np.random.default_rng(random_state)
    picks = []
    for label in classes:
        members = np.flatnonzero(y == label)
        picks.append(members if len(members) <= per_class else np.sort(rng.choice(members, per_class, replace=False)))
    sizes = np.array([len(pick) for pick in picks])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    label = np.repeat(np.arange(len(classes)), sizes)
    sample = np.asarray(X, dtype=np.float64)[np.concatenate(picks)]
    squared = cdist(sample, sample, "sqeuclidean")
    np.fill_diagonal(squared, np.inf)
    nearest = np.minimum.reduceat(squared, starts, axis=1)  # (n_picked, n_classes): nearest point of each class
    own = nearest[np.arange(len(label)), label]
    share = np.add.reduceat((nearest < own[:, np.newaxis]).astype(np.float64), starts, axis=0) / sizes[:, np.newaxis]
    return (share + share.T) / 2.0


def class_pairs(n_classes):
    """The one-vs-one pairs ``(i, j)``, ``i < j``, in LIBSVM's order."""
    return [(i, j) for i in range(n_classes) for j in range(i + 1, n_classes)]


def pair_costs(counts, overlap=None):
    """Estimated cost of each pair's binary problem, in :func:`class_pairs` order.

    Parameters
    ----------
    counts : array-like of shape (n_classes,)
        Training samples per class.
    overlap : ndarray of shape (n_classes, n_classes), optional
        From :func:`class_overlap`.

    Returns
    -------
    ndarray of shape (n_pairs,), dtype float64
        ``(n_a + n_b) ** 2``, the pair's kernel entries, which the SMO's work
        follows, times ``1 + OVERLAP_WEIGHT * overlap[a, b]`` when given.
    """
    counts = np.asarray(counts, dtype=np.float64)
    pairs = np.array(class_pairs(len(counts)), dtype=np.int64).reshape(-1, 2)
    cost = (counts[pairs[:, 0]] + counts[pairs[:, 1]]) ** 2
    if overlap is not None:
        cost *= 1.0 + OVERLAP_WEIGHT * np.asarray(overlap)[pairs[:, 0], pairs[:, 1]]
    return cost


def vote(a_wins, n_classes):
    """Combine one-vs-one results into class indices, LIBSVM's way.

    Parameters
    ----------
    a_wins : array-like of shape (n_test, n_pairs), bool
        Column ``p`` for pair ``p`` of :func:`class_pairs`; True where its first class wins.
    n_classes : int

    Returns
    -------
    ndarray of shape (n_test,), dtype int64
        Index of the class with most votes; ties go to the lowest index.
    """
    a_wins = np.asarray(a_wins, dtype=bool)  # any strides: the compiled vote reads them in place
    n_pairs = n_classes * (n_classes - 1) // 2
    if a_wins.ndim != 2 or a_wins.shape[1] != n_pairs:
        raise ValueError(f"a_wins of shape {a_wins.shape}: need (n_test, {n_pairs}) for {n_classes} classes")
    return _onevsone.vote(a_wins.view(np.uint8), n_classes)


def pair_values(shares, first_share, second_share, rho, out):
    """Decision values of one-vs-one classifiers from their classes' shares, LIBSVM's sign.

    A classifier (a, b)'s decision value on a row is the sum over its
    support vectors of ``coef * K(row, sv)``, minus ``rho``: the share of
    class a's support vectors plus the share of class b's.  Both the grid's
    fold scoring (:func:`pisvm.grid.chains.decisions`) and the predictor
    (:func:`pisvm.svm.predict.predict`) compute the shares by one matrix
    product per class and combine them here, in compiled code without the
    GIL, as ``share_a + share_b - rho`` (> 0: class a wins).

    Parameters
    ----------
    shares : ndarray of shape (n_rows, n_shares), float64, C-contiguous
        The class shares of every classifier, in columns.
    first_share, second_share : ndarray of shape (n_classifiers,), int64
        Column of each classifier's first class's share, and of its second's.
    rho : ndarray of shape (n_classifiers,), float64
    out : ndarray of shape (n_rows, n_classifiers), float64, C-contiguous
        Where the decision values are written.
    """
    first_share, second_share = (np.ascontiguousarray(c, dtype=np.int64) for c in (first_share, second_share))
    if first_share.size and max(first_share.max(), second_share.max()) >= shares.shape[1]:
        raise ValueError(f"a share column beyond the {shares.shape[1]} columns of shares")
    _onevsone.pair_values(shares, first_share, second_share, np.ascontiguousarray(rho, dtype=np.float64), out)
