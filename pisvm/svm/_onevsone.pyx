# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""Compiled one-vs-one vote of :func:`pisvm.svm.onevsone.vote` (LIBSVM's counting and tie rule)."""

from libc.stdint cimport int64_t, uint8_t

import numpy as np


def vote(const uint8_t[:, :] a_wins, Py_ssize_t n_classes):
    """Class index with most votes per row, ties to the lowest index, without the GIL.

    Parameters
    ----------
    a_wins : ndarray of shape (n_rows, n_pairs), uint8, any strides
        Nonzero where the first class of pair ``p`` (in ``class_pairs`` order) wins.
        A transposed view of a (n_pairs, n_rows) array is read in place, not copied.
    n_classes : int

    Returns
    -------
    ndarray of shape (n_rows,), int64
    """
    cdef Py_ssize_t n_rows = a_wins.shape[0], r, i, j, p, best
    winner = np.zeros(n_rows, dtype=np.int64)
    counts = np.zeros(max(n_classes, 1), dtype=np.int64)
    cdef int64_t[::1] won = winner
    cdef int64_t[::1] votes = counts
    with nogil:
        for r in range(n_rows):
            for i in range(n_classes):
                votes[i] = 0
            p = 0
            for i in range(n_classes):
                for j in range(i + 1, n_classes):
                    if a_wins[r, p]:
                        votes[i] += 1
                    else:
                        votes[j] += 1
                    p += 1
            best = 0
            for i in range(1, n_classes):
                if votes[i] > votes[best]:
                    best = i
            won[r] = best
    return winner


def pair_values(const double[:, ::1] shares, const int64_t[::1] first, const int64_t[::1] second,
                const double[::1] rho, double[:, ::1] out):
    """``out[r, m] = shares[r, first[m]] + shares[r, second[m]] - rho[m]``, without the GIL.

    Parameters
    ----------
    shares : ndarray of shape (n_rows, n_shares), float64, C-contiguous
    first, second : ndarray of shape (n_models,), int64
        Columns of ``shares`` (< n_shares, unchecked).
    rho : ndarray of shape (n_models,), float64
    out : ndarray of shape (n_rows, n_models), float64, C-contiguous
    """
    cdef Py_ssize_t r, m
    with nogil:
        for r in range(out.shape[0]):
            for m in range(out.shape[1]):
                out[r, m] = shares[r, first[m]] + shares[r, second[m]] - rho[m]
