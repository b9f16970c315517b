# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled inner loops of the fast predictor (:mod:`pisvm.svm.predict`): RBF rows and pair decision values."""

from pisvm.svm._rbf_values cimport rbf_values


def rbf_rows(double[:, ::1] dots, const double[::1] x_norms, const double[::1] sv_norms, double gamma,
             double log_floor):
    """Turn dot products into RBF kernel values in place.

    ``dots[r, s] <- exp(-gamma * max(x_norms[r] + sv_norms[s] - 2 dots[r, s], 0))``, row by row in
    one compiled pass without the GIL, with the suite's vectorised ``exp`` (``rbf_values.h``, as
    :func:`pisvm.svm.solver.rbf_block`).  Exponents below ``log_floor`` give exact zeros, as in the
    SMO's blocks (:data:`pisvm.svm.solver.LOG_KERNEL_FLOOR`).

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


def pair_decisions(const double[:, :, :] blocks, const double[::1] rho, double[:, ::1] decision):
    """One-vs-one decision values from class-block products, LIBSVM's sign, without the GIL.

    Parameters
    ----------
    blocks : ndarray of shape (n_class, n_rows, n_class - 1)
        ``blocks[c]`` = kernel columns of class c's support vectors times
        their coefficient rows (``K[:, sv of c] @ coef[:, sv of c].T``).
    rho : ndarray of shape (n_pairs,)
    decision : ndarray of shape (n_rows, n_pairs)
        Output: the decision value of pair (i, j) (> 0: class i wins) in
        ``class_pairs`` order.
    """
    cdef Py_ssize_t n_class = blocks.shape[0], n_rows = blocks.shape[1]
    cdef Py_ssize_t r, i, j, p
    with nogil:
        for r in range(n_rows):
            p = 0
            for i in range(n_class):
                for j in range(i + 1, n_class):
                    decision[r, p] = blocks[i, r, j - 1] + blocks[j, r, i] - rho[p]
                    p += 1
