# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Private max-tree kernels: union-find build, node attributes, attribute filters.

Every kernel takes flat C-contiguous ``[::1]`` memoryviews allocated by the
caller (``features/trees.py``), runs its loops inside ``with nogil:`` and
writes its outputs in place.  Nothing here validates: the wrappers do.

The tree is the max-tree of Salembier et al. (1998), built by union-find in
the order of Berger et al. (2007, "Effective component tree computation with
application to pattern recognition in astronomical imaging"): pixels are
processed from the highest to the lowest value; ``zpar`` is the union-find
forest (union by rank, path halving) and ``repr`` the tree root of each
union-find root's component; ``parent`` is the pixel-level tree,
canonicalised afterwards so that every pixel points to the canonical pixel
of its component.  Cost: O(n log n) for the caller's sort, then
O(n alpha(n)).  Indices are int32 (images of fewer than 2**31 pixels).

Nodes are then numbered root first (node 0 is the root and ``node_parent[k] <
k`` for every other node), so every filter is one top-down loop over nodes
and one gather over pixels.  A min-tree is the max-tree of the inverted
image (``features.trees`` inverts); the filters invert their node values
back with the same rule (``~v`` for integers, ``-v`` for floats).
"""

from libc.math cimport sqrt
from libc.stdint cimport int32_t, int64_t, uint8_t, uint64_t

from features._trees cimport merge_attributes, numeric

from pisvm._prefetch cimport prefetch as _prefetch

# The union-find visits pixels in value order, scattered over the image, so
# the loops below request the lines of the pixels PREFETCH_DISTANCE steps
# ahead.

cdef enum:
    PREFETCH_DISTANCE = 16


cdef packed struct Pixel:
    # The build state of one pixel, 32 bytes (an aligned half cache line) so
    # that the union-find, visiting pixels in value order, loads one line per
    # pixel.
    int32_t forest      # union-find forest; after canonicalisation, the node index
    int32_t parent      # canonical parent pixel (the root is its own parent)
    int32_t area        # pixel count of the subtree
    int32_t level       # rank of the value among the distinct values (equal values, equal ranks)
    int32_t top         # tree root of a union-find root's component
    int32_t rank        # union-by-rank rank
    int32_t spare[2]

#: int32 slots per pixel in the ``state`` arrays the caller allocates.
STATE_SLOTS = sizeof(Pixel) // sizeof(int32_t)

# The attribute kinds and filtering rules: the one definition, read by
# features.trees (and through it by the tree of shapes).
cpdef enum Attribute:
    AREA = 0
    DIAGONAL = 1
    INERTIA = 2
    STD = 3

cpdef enum Rule:
    DIRECT = 0
    SUBTRACTIVE = 1
    MIN_RULE = 2
    MAX_RULE = 3


cdef inline Py_ssize_t _find(Pixel* st, Py_ssize_t x) noexcept nogil:
    """Root of ``x`` in the union-find forest (``Pixel.forest``), halving the path."""
    while st[x].forest != x:
        st[x].forest = st[st[x].forest].forest
        x = st[x].forest
    return x


def _max_tree(const numeric[::1] image, const int32_t[::1] order, bint from_end,
              Py_ssize_t n_cols, int adjacency, int32_t[::1] state,
              int32_t[::1] bbox, int64_t[::1] moments, double[::1] sums):
    """Build the canonical max-tree of a flat image and number its nodes.

    Parameters
    ----------
    image : memoryview of shape (n,), any ``numeric`` dtype
        The image, row-major, ``n = n_rows * n_cols < 2**31``.
    order : memoryview of shape (n,), int32
        Pixel indices sorted by increasing ``image`` value when ``from_end``
        (pixels are processed from the last to the first), by decreasing
        value otherwise.
    from_end : bool
    n_cols : int
    adjacency : {4, 8}
    state : memoryview of shape (STATE_SLOTS n,), int32
        One ``Pixel`` record per pixel (its fields say what they hold; the
        level rank sits beside the parent so that level comparisons stay on
        the same cache line).  **Written in place.**
    bbox : memoryview of shape (4 n,) or (0,), int32
        Accumulator: row min, row max, col min, col max.
    moments : memoryview of shape (4 n,) or (0,), int64
        Accumulator: sums of row, col, row**2, col**2.
    sums : memoryview of shape (2 n,) or (0,), float64
        Accumulator: sums of value and value**2.

    Returns
    -------
    n_nodes : int
    """
    cdef Py_ssize_t n = image.shape[0]
    cdef Py_ssize_t n_rows = n // n_cols
    cdef Py_ssize_t j, i, row, col, rr, cc, p, q, root, ahead, zp, zq
    cdef int32_t n_nodes = 0
    cdef int n_neighbours = 8 if adjacency == 8 else 4
    cdef int dr[8]
    cdef int dc[8]
    cdef bint has_bbox = bbox.shape[0] > 0
    cdef bint has_moments = moments.shape[0] > 0
    cdef bint has_sums = sums.shape[0] > 0
    cdef const numeric* f = &image[0]
    cdef const int32_t* o = &order[0]
    cdef Pixel* st = <Pixel*>&state[0]
    cdef int32_t* b = NULL
    cdef int64_t* mo = NULL
    cdef double* s = NULL
    cdef double v
    cdef numeric value, previous
    cdef int32_t level = -1
    if has_bbox:
        b = &bbox[0]
    if has_moments:
        mo = &moments[0]
    if has_sums:
        s = &sums[0]
    # 4-neighbours first, then the diagonals (higra's 8-adjacency adds them).
    dr[0] = -1; dc[0] = 0
    dr[1] = 0; dc[1] = -1
    dr[2] = 0; dc[2] = 1
    dr[3] = 1; dc[3] = 0
    dr[4] = -1; dc[4] = -1
    dr[5] = -1; dc[5] = 1
    dr[6] = 1; dc[6] = -1
    dr[7] = 1; dc[7] = 1

    with nogil:
        for j in range(n):
            st[j].forest = -1
        for j in range(n):
            if j + PREFETCH_DISTANCE < n:
                ahead = o[n - 1 - j - PREFETCH_DISTANCE] if from_end else o[j + PREFETCH_DISTANCE]
                _prefetch(&st[ahead])
                _prefetch(&f[ahead])
                if ahead >= n_cols:
                    _prefetch(&st[ahead - n_cols])
                if ahead + n_cols < n:
                    _prefetch(&st[ahead + n_cols])
            p = o[n - 1 - j] if from_end else o[j]
            st[p].forest = <int32_t>p
            st[p].parent = <int32_t>p
            st[p].area = 1
            st[p].top = <int32_t>p
            st[p].rank = 0
            zp = p
            value = f[p]
            if j == 0 or value != previous:
                level += 1
                previous = value
            st[p].level = level
            row = p // n_cols
            col = p - row * n_cols
            if has_bbox:
                b[4 * p] = <int32_t>row
                b[4 * p + 1] = <int32_t>row
                b[4 * p + 2] = <int32_t>col
                b[4 * p + 3] = <int32_t>col
            if has_moments:
                mo[4 * p] = row
                mo[4 * p + 1] = col
                mo[4 * p + 2] = row * row
                mo[4 * p + 3] = col * col
            if has_sums:
                v = <double>f[p]
                s[2 * p] = v
                s[2 * p + 1] = v * v
            for i in range(n_neighbours):
                rr = row + dr[i]
                cc = col + dc[i]
                if rr < 0 or rr >= n_rows or cc < 0 or cc >= n_cols:
                    continue
                q = rr * n_cols + cc
                if st[q].forest < 0:
                    continue
                zq = _find(st, q)
                if zq == zp:
                    continue
                # The tree root of q's component becomes a child of p; the
                # union-find roots are joined by rank (Berger et al. 2007).
                root = st[zq].top
                st[root].parent = <int32_t>p
                st[p].area += st[root].area
                if st[zp].rank < st[zq].rank:
                    zp, zq = zq, zp
                st[zq].forest = <int32_t>zp
                if st[zp].rank == st[zq].rank:
                    st[zp].rank += 1
                st[zp].top = <int32_t>p
                merge_attributes(b, mo, s, p, root)
        # Canonicalise and number the nodes, root first (reverse processing
        # order): a parent is always visited before its children.  Slot 0
        # now receives the node index of each pixel.
        for j in range(n):
            if j + PREFETCH_DISTANCE < n:
                ahead = o[j + PREFETCH_DISTANCE] if from_end else o[n - 1 - j - PREFETCH_DISTANCE]
                _prefetch(&st[ahead])
            if j + PREFETCH_DISTANCE // 2 < n:
                # Its own line was requested PREFETCH_DISTANCE / 2 steps ago: now its parent's.
                ahead = o[j + PREFETCH_DISTANCE // 2] if from_end else o[n - 1 - j - PREFETCH_DISTANCE // 2]
                _prefetch(&st[st[ahead].parent])
            p = o[j] if from_end else o[n - 1 - j]
            q = st[p].parent
            if st[st[q].parent].level == st[q].level:
                q = st[q].parent
                st[p].parent = <int32_t>q
            if q == p or st[q].level != st[p].level:
                st[p].forest = n_nodes
                n_nodes += 1
            else:
                st[p].forest = st[q].forest
    return n_nodes


def _compact(const numeric[::1] image, int32_t[::1] state, int32_t[::1] node_of,
             int32_t[::1] node_parent, numeric[::1] node_altitude, int32_t[::1] node_pixel,
             int32_t[::1] node_area):
    """Gather the node arrays of a canonical max-tree.

    Parameters
    ----------
    image, state : memoryviews of shape (n,) and (STATE_SLOTS n,)
        The image and the output of ``_max_tree`` (read only).
    node_of : memoryview of shape (n,), int32
        **Written in place**: the node of each pixel.
    node_parent : memoryview of shape (n_nodes,), int32
        **Written in place**: parent node (the root, node 0, is its own parent).
    node_altitude : memoryview of shape (n_nodes,), image dtype
        **Written in place**: level of each node.
    node_pixel : memoryview of shape (n_nodes,), int32
        **Written in place**: canonical pixel of each node.
    node_area : memoryview of shape (n_nodes,), int32
        **Written in place**: pixel count of each node.
    """
    cdef Py_ssize_t n = image.shape[0]
    cdef Py_ssize_t p, q, k
    cdef const Pixel* st = <Pixel*>&state[0]
    with nogil:
        for p in range(n):
            if p + PREFETCH_DISTANCE < n:
                _prefetch(&st[st[p + PREFETCH_DISTANCE].parent])
            q = st[p].parent
            k = st[p].forest
            node_of[p] = k
            if q == p or st[q].level != st[p].level:
                node_parent[k] = st[q].forest
                node_altitude[k] = image[p]
                node_pixel[k] = <int32_t>p
                node_area[k] = st[p].area


def _attribute(const int32_t[::1] node_pixel, const int32_t[::1] node_area, const int32_t[::1] bbox,
               const int64_t[::1] moments, const double[::1] sums, int kind, double[::1] out):
    """Compute one attribute per node from the build's accumulators.

    ``kind`` (an ``Attribute``): AREA (pixels), DIAGONAL of the bounding box
    ``sqrt(h**2 + w**2)`` with ``h = row_max - row_min + 1`` (pixels),
    INERTIA, the moment of inertia (first Hu invariant, higra's formula and
    operation order), STD, the standard deviation of the pixel values
    ``sqrt(max(mean(v**2) - mean(v)**2, 0))``.  ``out`` of shape
    (n_nodes,) is **written in place**.
    """
    cdef Py_ssize_t m = node_pixel.shape[0]
    cdef Py_ssize_t k, p
    cdef double m00, m10, m01, m20, m02, xbar, ybar, h, w, mean, mean2, var
    with nogil:
        for k in range(m):
            p = node_pixel[k]
            if kind == AREA:
                out[k] = <double>node_area[k]
            elif kind == DIAGONAL:
                h = <double>(bbox[4 * p + 1] - bbox[4 * p] + 1)
                w = <double>(bbox[4 * p + 3] - bbox[4 * p + 2] + 1)
                out[k] = sqrt(h * h + w * w)
            elif kind == INERTIA:
                m00 = <double>node_area[k]
                m10 = <double>moments[4 * p]
                m01 = <double>moments[4 * p + 1]
                m20 = <double>moments[4 * p + 2]
                m02 = <double>moments[4 * p + 3]
                xbar = m10 / m00
                ybar = m01 / m00
                out[k] = ((m20 - xbar * m10) + (m02 - ybar * m01)) / (m00 * m00)
            else:
                m00 = <double>node_area[k]
                mean = sums[2 * p] / m00
                mean2 = sums[2 * p + 1] / m00
                var = mean2 - mean * mean
                out[k] = sqrt(var) if var > 0.0 else 0.0


def _filter(const int32_t[::1] node_parent, const numeric[::1] node_altitude, const double[::1] attribute,
            double threshold, int rule, bint invert, uint8_t[::1] deleted, numeric[::1] work,
            numeric[::1] node_value):
    """Filter a max-tree: remove the nodes whose attribute is below ``threshold``.

    A node is *directly* removed when ``attribute < threshold``.  The rules
    (``Rule`` codes): DIRECT removes exactly those nodes; MIN_RULE also
    removes every descendant of a removed node; MAX_RULE removes a node only
    if it and all its descendant nodes are removed; SUBTRACTIVE
    removes the direct nodes and lowers the surviving descendants by the
    level jumps of the removed ones.  A pixel takes the value of its
    closest kept node (itself included); the root always keeps its level.

    Parameters
    ----------
    node_parent : memoryview of shape (n_nodes,), int32
        Root first, ``node_parent[k] < k`` for ``k > 0``.
    node_altitude : memoryview of shape (n_nodes,)
    attribute : memoryview of shape (n_nodes,), float64
    threshold : float
    rule : Rule
    invert : bool
        Write ``~v`` (integers) or ``-v`` (floats) instead of ``v``: the
        tree is the min-tree of the caller's image.
    deleted : memoryview of shape (n_nodes,), uint8
        Scratch.
    work : memoryview of shape (n_nodes,) or (0,), image dtype
        Scratch for the subtractive rule.
    node_value : memoryview of shape (n_nodes,), image dtype
        **Written in place**: the value every pixel of the node takes.
    """
    cdef Py_ssize_t m = node_parent.shape[0]
    cdef Py_ssize_t k, q
    cdef numeric v
    with nogil:
        for k in range(m):
            deleted[k] = attribute[k] < threshold
        if rule == MIN_RULE:
            for k in range(1, m):
                if deleted[node_parent[k]]:
                    deleted[k] = 1
        elif rule == MAX_RULE:
            for k in range(m - 1, 0, -1):
                if not deleted[k]:
                    deleted[node_parent[k]] = 0
        if rule == SUBTRACTIVE:
            # work[k]: level of k once the jumps of the removed ancestors
            # (itself included) are subtracted, in the image dtype
            # (wrapping like NumPy for integers).
            work[0] = node_altitude[0]
            node_value[0] = node_altitude[0]
            for k in range(1, m):
                q = node_parent[k]
                if deleted[k]:
                    work[k] = work[q]
                    node_value[k] = node_value[q]
                else:
                    if numeric is float or numeric is double:
                        v = node_altitude[k] - node_altitude[q]
                        work[k] = work[q] + v
                    else:
                        work[k] = <numeric>(<uint64_t>work[q]
                                            + (<uint64_t>node_altitude[k] - <uint64_t>node_altitude[q]))
                    node_value[k] = work[k]
        else:
            node_value[0] = node_altitude[0]
            for k in range(1, m):
                if k + PREFETCH_DISTANCE < m:
                    _prefetch(&node_value[node_parent[k + PREFETCH_DISTANCE]])
                if deleted[k]:
                    node_value[k] = node_value[node_parent[k]]
                else:
                    node_value[k] = node_altitude[k]
        if invert:
            for k in range(m):
                if numeric is float or numeric is double:
                    node_value[k] = -node_value[k]
                else:
                    node_value[k] = <numeric>(~node_value[k])


def _gather(const int32_t[::1] node_of, const numeric[::1] node_value, numeric[::1] out):
    """``out[p] = node_value[node_of[p]]`` for every pixel; ``out`` is **written in place**."""
    cdef Py_ssize_t n = node_of.shape[0]
    cdef Py_ssize_t p
    with nogil:
        for p in range(n):
            if p + PREFETCH_DISTANCE < n:
                _prefetch(&node_value[node_of[p + PREFETCH_DISTANCE]])
            out[p] = node_value[node_of[p]]
