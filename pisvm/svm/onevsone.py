"""LIBSVM's one-vs-one rules: the class pairs, the cost of a pair's binary problem and the vote.

LIBSVM solves a multi-class problem as one binary problem per class pair (the
samples of classes a and b, in their original order) and predicts by votes,
ties going to the lower class.  Every part of the suite that splits, schedules
or combines pair problems uses these three functions, so a task split into
pair groups on several ranks predicts exactly what one ``SVC`` predicts.
"""

import numpy as np

from . import _onevsone


def class_pairs(n_classes):
    """The one-vs-one pairs ``(i, j)``, ``i < j``, in LIBSVM's order."""
    return [(i, j) for i in range(n_classes) for j in range(i + 1, n_classes)]


def pair_costs(counts):
    """Estimated cost of each pair's binary problem, in :func:`class_pairs` order.

    Parameters
    ----------
    counts : array-like of shape (n_classes,)
        Training samples per class.

    Returns
    -------
    ndarray of shape (n_pairs,), dtype float64
        ``(n_a + n_b) ** 2``: the pair's kernel entries, which the SMO's work follows.
    """
    counts = np.asarray(counts, dtype=np.float64)
    pairs = np.array(class_pairs(len(counts)), dtype=np.int64).reshape(-1, 2)
    return (counts[pairs[:, 0]] + counts[pairs[:, 1]]) ** 2


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
    a_wins = np.ascontiguousarray(a_wins, dtype=bool)
    n_pairs = n_classes * (n_classes - 1) // 2
    if a_wins.ndim != 2 or a_wins.shape[1] != n_pairs:
        raise ValueError(f"a_wins of shape {a_wins.shape}: need (n_test, {n_pairs}) for {n_classes} classes")
    return _onevsone.vote(a_wins.view(np.uint8), n_classes)
