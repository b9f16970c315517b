# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""RBF kernel values of squared distances in one compiled pass without the GIL (``rbf_values.h``)."""

from pisvm.svm._rbf_values cimport rbf_values


def rbf_values_into(const double[::1] squared, double[::1] out, double gamma, double log_floor):
    """``out[k] = exp(-gamma * squared[k])``, or exactly 0 where the exponent is below ``log_floor``.

    Parameters
    ----------
    squared : ndarray of shape (n,), float64, contiguous
        Squared distances, >= 0.
    out : ndarray of shape (n,), float64, contiguous
        Written; may be ``squared`` itself.
    gamma : float
        > 0.
    log_floor : float
        Smallest exponent kept, >= -700.
    """
    if out.shape[0] != squared.shape[0]:
        raise ValueError(f"out has {out.shape[0]} values for {squared.shape[0]} squared distances")
    if squared.shape[0] == 0:
        return
    with nogil:
        rbf_values(squared.shape[0], &squared[0], &out[0], gamma, log_floor)
