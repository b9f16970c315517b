"""Feature scaling from training statistics only (no test information leaks into the scale)."""

import numpy as np


def scale_to_unit(train, *others):
    """Scale features to [0, 1] with the training minimum and maximum (like ``svm-scale -l 0 -u 1``).

    Parameters
    ----------
    train : ndarray of shape (n_train, n_features)
    *others : ndarray of shape (n_samples, n_features)
        Scaled with the *training* statistics and not clipped, as
        ``svm-scale -r`` does: a test value outside the training range maps
        outside [0, 1].

    Returns
    -------
    list of ndarray, float64
        ``[train_scaled, *others_scaled]``; a feature constant on the training
        samples maps to 0.
    """
    train = np.asarray(train, dtype=np.float64)
    low = train.min(axis=0)
    span = train.max(axis=0) - low
    span[span == 0] = 1.0
    return [(np.asarray(x, dtype=np.float64) - low) / span for x in (train, *others)]
