# cython: language_level=3
"""What the component-tree kernels share (one definition, cimported): the numeric fused type, the attribute merge."""

from libc.stdint cimport int8_t, int16_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t

ctypedef fused numeric:
    uint8_t
    uint16_t
    uint32_t
    uint64_t
    int8_t
    int16_t
    int32_t
    int64_t
    float
    double


cdef inline void merge_attributes(int32_t* bbox, int64_t* moments, double* sums, Py_ssize_t into,
                                  Py_ssize_t child) noexcept nogil:
    """Fold the accumulators of ``child`` (a node or pixel) into those of ``into``: the one attribute merge.

    ``bbox`` (4 per entry: row min, row max, col min, col max) widens,
    ``moments`` (4: sums of row, col, row**2, col**2) and ``sums`` (2: sums
    of value and value**2) add; a NULL accumulator (not needed) is skipped.
    The max-tree's union-find and the tree of shapes' bottom-up pass call it.
    """
    if bbox != NULL:
        if bbox[4 * child] < bbox[4 * into]:
            bbox[4 * into] = bbox[4 * child]
        if bbox[4 * child + 1] > bbox[4 * into + 1]:
            bbox[4 * into + 1] = bbox[4 * child + 1]
        if bbox[4 * child + 2] < bbox[4 * into + 2]:
            bbox[4 * into + 2] = bbox[4 * child + 2]
        if bbox[4 * child + 3] > bbox[4 * into + 3]:
            bbox[4 * into + 3] = bbox[4 * child + 3]
    if moments != NULL:
        moments[4 * into] += moments[4 * child]
        moments[4 * into + 1] += moments[4 * child + 1]
        moments[4 * into + 2] += moments[4 * child + 2]
        moments[4 * into + 3] += moments[4 * child + 3]
    if sums != NULL:
        sums[2 * into] += sums[2 * child]
        sums[2 * into + 1] += sums[2 * child + 1]
