"""Stratified fold assignment that depends only on (labels, n_splits, random_state)."""

import warnings

import numpy as np
from sklearn.model_selection import StratifiedKFold


def check_folds(n_folds):
    """Raise ValueError unless ``n_folds`` (cross-validation folds) is at least 2: the one folds check."""
    if n_folds < 2:
        raise ValueError(f"folds == {n_folds}, must be >= 2")


def stratified_folds(y, n_splits=10, random_state=0):
    """Assign every sample to one of ``n_splits`` stratified folds.

    The assignment is scikit-learn's ``StratifiedKFold(n_splits, shuffle=True,
    random_state=random_state)``, so ``GridSearchCV(..., cv=PredefinedSplit(folds))``
    or the same ``StratifiedKFold`` reproduce it.  It depends on nothing else:
    every MPI rank, and any number of ranks, computes the same folds.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
    n_splits : int, default 10
        Must be >= 2 and no larger than the largest class.
    random_state : int, default 0

    Returns
    -------
    fold : ndarray of shape (n_samples,), dtype int64
        Fold number 0..n_splits-1 of each sample (the sample is tested in that fold).

    Warns
    -----
    UserWarning
        When a class has fewer members than ``n_splits``: its samples land in
        some folds only, and those folds' training sets miss the class.
    """
    y = np.asarray(y)
    check_folds(n_splits)
    counts = np.unique(y, return_counts=True)[1]
    if len(counts) < 2:
        raise ValueError(f"only one class ({y[0]!r}) in the data: an SVM needs at least 2")
    if n_splits > counts.max():
        raise ValueError(f"folds == {n_splits}, larger than the largest class ({counts.max()} samples)")
    fold = np.empty(len(y), dtype=np.int64)
    splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=random_state)
    with warnings.catch_warnings():
        # Reported below, in our words, once.
        warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
        for k, (_, test) in enumerate(splitter.split(np.zeros((len(y), 1)), y)):
            fold[test] = k
    if counts.min() < n_splits:
        small = np.unique(y)[counts < n_splits]
        warnings.warn(f"{len(small)} class(es) have fewer than {n_splits} samples "
                      f"(smallest: {counts.min()}): some folds train without them", UserWarning, stacklevel=2)
    return fold
