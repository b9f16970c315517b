# cython: language_level=3
"""The prefetch macro of ``pisvm/prefetch.h`` for Cython: ``from pisvm._prefetch cimport prefetch``."""

cdef extern from "pisvm/prefetch.h":
    void prefetch "PISVM_PREFETCH" (const void* address) noexcept nogil
