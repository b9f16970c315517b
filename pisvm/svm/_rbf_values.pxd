# cython: language_level=3
"""The RBF values loop of ``pisvm/svm/rbf_values.h`` for Cython: ``from pisvm.svm._rbf_values cimport rbf_values``."""

cdef extern from "pisvm/svm/rbf_values.h":
    void rbf_values "pisvm_rbf_values" (Py_ssize_t n, const double *squared, double *out, double gamma,
                                         double log_floor) noexcept nogil
