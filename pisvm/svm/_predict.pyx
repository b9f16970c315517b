# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled inner loop of the fast predictor (:mod:`pisvm.svm.predict`): pair decision values."""


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
