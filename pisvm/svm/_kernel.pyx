# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""RBF kernel values from squared distances or dot products, in one compiled pass without the GIL (``rbf_values.h``)."""

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


def rbf_rows(double[:, ::1] dots, const double[::1] x_norms, const double[::1] sv_norms, double gamma,
             double log_floor, bint float32=False):
    """Turn dot products into RBF kernel values in place.

    ``dots[r, s] <- exp(-gamma * max(x_norms[r] + sv_norms[s] - 2 dots[r, s], 0))``, row by row in
    one compiled pass without the GIL, with the suite's vectorised ``exp`` (``rbf_values.h``).
    Exponents below ``log_floor`` give exact zeros (:data:`pisvm.svm.solver.LOG_KERNEL_FLOOR`).
    The kernel blocks of the SMO and the predictor's rows both come from here.

    Parameters
    ----------
    dots : ndarray of shape (n_rows, n_sv), float64, C-contiguous
        ``X @ SV.T`` on entry, the kernel rows on return.
    x_norms : ndarray of shape (n_rows,)
        Squared norms of the samples.
    sv_norms : ndarray of shape (n_sv,)
        Squared norms of the support vectors.
    gamma : float
    log_floor : float
        Smallest exponent kept; below it the kernel value is 0.
    float32 : bool, default False
        Round every value to the nearest float32 (kept as float64): the
        precision of LIBSVM's kernel cache, which the SMO's blocks take.
    """
    cdef Py_ssize_t r, s, n_rows = dots.shape[0], n_sv = dots.shape[1]
    cdef double d, xr
    if n_sv == 0:
        return
    with nogil:
        for r in range(n_rows):
            xr = x_norms[r]
            for s in range(n_sv):
                d = xr + sv_norms[s] - 2.0 * dots[r, s]
                dots[r, s] = d if d > 0.0 else 0.0
            rbf_values(n_sv, &dots[r, 0], &dots[r, 0], gamma, log_floor)
            if float32:
                for s in range(n_sv):
                    dots[r, s] = <float> dots[r, s]
