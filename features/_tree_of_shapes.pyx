# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Private tree-of-shapes kernels: padding value, Khalimsky flooding, union-find, node arrays.

The tree of shapes is computed as in Géraud, Carlinet, Crozet and Najman,
"A quasi-linear algorithm to compute the tree of shapes of n-D images"
(ISMM 2013), with the choices of higra's
``component_tree_tree_of_shapes_image2d`` defaults so that the trees are the
same: the image is padded with one border of its boundary mean, immersed in
the Khalimsky grid of ``(2 h + 3) x (2 w + 3)`` faces (each face holds the
interval ``[min, max]`` of the padded pixels it touches), flooded from the
exterior face 0 with a hierarchical queue (each face enters the queue at its
interval's value closest to the current level), the faces are then merged by
union-find in reverse flooding order, and the nodes whose subtree holds no
original pixel are dropped.

Levels are ranks into the sorted distinct values (``features.shapes``
computes them); the distances that pick the next queue level are taken on
the values themselves, in the image dtype, as higra does.  Every kernel
takes flat C-contiguous ``[::1]`` memoryviews allocated by the caller, runs
inside ``with nogil:`` and writes its outputs in place.  Nothing validates.
"""

from libc.stdint cimport int8_t, int16_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t

from features._trees cimport merge_attributes, numeric
from pisvm._prefetch cimport prefetch as _prefetch

cdef extern from *:
    """
    #if defined(__GNUC__) || defined(__clang__)
    #define PISVM_CTZ(x) __builtin_ctzll(x)
    #define PISVM_CLZ(x) __builtin_clzll(x)
    #else
    static int PISVM_CTZ(unsigned long long x) { int n = 0; while (!(x & 1ULL)) { x >>= 1; n++; } return n; }
    static int PISVM_CLZ(unsigned long long x) { int n = 0; while (!(x & (1ULL << 63))) { x <<= 1; n++; } return n; }
    #endif
    """
    int _ctz "PISVM_CTZ" (uint64_t x) nogil
    int _clz "PISVM_CLZ" (uint64_t x) nogil

cdef enum:
    PREFETCH_DISTANCE = 16
    # Bitmap levels: 64**6 queue levels is beyond any image of fewer than 2**31 pixels.
    MAX_BITMAP_LEVELS = 6


cdef packed struct QueuedFace:
    # The state of one Khalimsky face while flooding, 16 bytes (a quarter
    # cache line): the scattered visits load one line per face.
    int32_t level       # rank the face entered the queue with
    int32_t next        # next face of the level's queue (-1: last)
    int32_t prev        # previous face of the level's queue (-1: first)
    int32_t spare


cdef packed struct TreeFace:
    # The same 16 bytes while merging (``_tree``) and numbering (``_compact``).
    int32_t level       # kept from the flooding
    int32_t parent      # canonical parent face (the root is its own parent)
    int32_t forest      # union-find forest; then the pixel count of a canonical
                        # face's subtree; then a node's index
    int32_t top         # tree root of a union-find root's component

#: int32 slots per face in the ``faces`` arrays the caller allocates.
FACE_SLOTS = sizeof(QueuedFace) // sizeof(int32_t)


def padding_value(const numeric[:, ::1] image):
    """Mean of the image boundary with higra's arithmetic; returns (pad, exterior_level).

    The boundary (first row, last row, then the first and last columns
    without the corners) is summed in the image dtype (integers wrap), then
    divided by the pixel count as an unsigned 64-bit integer (a negative
    signed sum wraps first) or as a float.  ``exterior_level`` is the level
    the exterior face enters the queue with, ``(pad + pad) / 2.0`` cast back
    to the dtype (higra's conversion through a double).
    """
    cdef Py_ssize_t h = image.shape[0]
    cdef Py_ssize_t w = image.shape[1]
    cdef Py_ssize_t x, y
    cdef uint64_t count = w
    cdef numeric total = 0
    cdef numeric pad, level
    for x in range(w):
        total = _add(total, image[0, x])
    if h > 1:
        for x in range(w):
            total = _add(total, image[h - 1, x])
        count += w
    if h > 2:
        for y in range(1, h - 1):
            total = _add(total, image[y, 0])
        count += h - 2
        if w > 1:
            for y in range(1, h - 1):
                total = _add(total, image[y, w - 1])
            count += h - 2
    if numeric is float or numeric is double:
        pad = <numeric>(total / <numeric>count)
        level = <numeric>((pad + pad) / 2.0)
    elif numeric is int32_t:
        pad = <numeric>(<uint64_t><int64_t>total // count)
        level = <numeric>(<double>(<int32_t>(<uint32_t>pad + <uint32_t>pad)) / 2.0)
    elif numeric is int64_t:
        pad = <numeric>(<uint64_t>total // count)
        level = <numeric>(<double>(<int64_t>(<uint64_t>pad + <uint64_t>pad)) / 2.0)
    elif numeric is uint32_t:
        pad = <numeric>(<uint64_t>total // count)
        level = <numeric>(<double>(<uint32_t>(pad + pad)) / 2.0)
    elif numeric is uint64_t:
        pad = <numeric>(<uint64_t>total // count)
        level = <numeric>(<double>(<uint64_t>(pad + pad)) / 2.0)
    else:
        # 8- and 16-bit integers: promoted to int, no overflow in pad + pad.
        pad = <numeric>(<uint64_t><int64_t>total // count)
        level = <numeric>(<double>(<int64_t>pad + <int64_t>pad) / 2.0)
    return pad, level


cdef inline numeric _add(numeric a, numeric b) noexcept nogil:
    """``a + b`` in the dtype, integers wrapping (two's complement) like the C++ ``+=``."""
    if numeric is float or numeric is double:
        return a + b
    else:
        return <numeric>(<uint64_t>a + <uint64_t>b)


cdef inline bint _upper_is_closer(const numeric* values, Py_ssize_t low, Py_ssize_t cur,
                                  Py_ssize_t high) noexcept nogil:
    """higra's choice between the closest lower and upper queue levels: upper iff strictly closer."""
    cdef numeric up, down
    if numeric is int8_t or numeric is int16_t or numeric is uint8_t or numeric is uint16_t:
        return <int64_t>values[high] - <int64_t>values[cur] < <int64_t>values[cur] - <int64_t>values[low]
    elif numeric is int32_t or numeric is int64_t:
        # Signed differences wrap like the C++ ones do in practice.
        if numeric is int32_t:
            up = <int32_t>(<uint32_t>values[high] - <uint32_t>values[cur])
            down = <int32_t>(<uint32_t>values[cur] - <uint32_t>values[low])
        else:
            up = <int64_t>(<uint64_t>values[high] - <uint64_t>values[cur])
            down = <int64_t>(<uint64_t>values[cur] - <uint64_t>values[low])
        return up < down
    else:
        up = values[high] - values[cur]
        down = values[cur] - values[low]
        return up < down


cdef struct Bitmap:
    # Non-empty queue levels, one bit each, with a summary bit per word above.
    uint64_t* words
    Py_ssize_t offset[MAX_BITMAP_LEVELS]
    Py_ssize_t size[MAX_BITMAP_LEVELS]
    int n_levels


cdef inline void _bit_set(Bitmap* b, Py_ssize_t r) noexcept nogil:
    cdef int l
    cdef Py_ssize_t w
    cdef uint64_t before
    for l in range(b.n_levels):
        w = r >> 6
        before = b.words[b.offset[l] + w]
        b.words[b.offset[l] + w] = before | (1ULL << (r & 63))
        if before != 0:
            return
        r = w


cdef inline void _bit_clear(Bitmap* b, Py_ssize_t r) noexcept nogil:
    cdef int l
    cdef Py_ssize_t w
    for l in range(b.n_levels):
        w = r >> 6
        b.words[b.offset[l] + w] &= ~(1ULL << (r & 63))
        if b.words[b.offset[l] + w] != 0:
            return
        r = w


cdef inline Py_ssize_t _next_above(Bitmap* b, Py_ssize_t r) noexcept nogil:
    """Smallest set level > r, or -1."""
    cdef int l = 0
    cdef Py_ssize_t x = r + 1
    cdef Py_ssize_t w
    cdef uint64_t word
    while True:
        w = x >> 6
        if w < b.size[l]:
            word = b.words[b.offset[l] + w] & (~0ULL << (x & 63))
            if word != 0:
                x = (w << 6) + _ctz(word)
                break
        l += 1
        if l == b.n_levels:
            return -1
        x = w + 1
    while l > 0:
        l -= 1
        x = (x << 6) + _ctz(b.words[b.offset[l] + x])
    return x


cdef inline Py_ssize_t _prev_below(Bitmap* b, Py_ssize_t r) noexcept nogil:
    """Largest set level < r, or -1."""
    cdef int l = 0
    cdef Py_ssize_t x = r - 1
    cdef Py_ssize_t w
    cdef uint64_t word
    while True:
        if x < 0:
            return -1
        w = x >> 6
        word = b.words[b.offset[l] + w] & (~0ULL >> (63 - (x & 63)))
        if word != 0:
            x = (w << 6) + 63 - _clz(word)
            break
        l += 1
        if l == b.n_levels:
            return -1
        x = w - 1
    while l > 0:
        l -= 1
        x = (x << 6) + 63 - _clz(b.words[b.offset[l] + x])
    return x


def bitmap_words(Py_ssize_t n_levels):
    """Number of uint64 words the flooding's level bitmap needs for ``n_levels`` levels."""
    cdef Py_ssize_t total = 0
    cdef Py_ssize_t size = n_levels
    while True:
        size = (size + 63) >> 6
        total += size
        if size <= 1:
            return total


def _flood(const int32_t[::1] padded_rank, Py_ssize_t padded_cols, const numeric[::1] values,
           int32_t exterior_rank, bint fifo, int32_t[::1] order, int32_t[::1] faces,
           int32_t[::1] head, int32_t[::1] tail, uint64_t[::1] words, uint64_t[::1] seen):
    """Flood the Khalimsky grid of a padded image from its exterior face.

    Parameters
    ----------
    padded_rank : memoryview of shape ((h + 2) * (w + 2),), int32
        Rank of each padded pixel's value in ``values``.
    padded_cols : int
        ``w + 2``.
    values : memoryview of shape (n_levels,), image dtype
        The sorted distinct levels.
    exterior_rank : int
        Level the exterior face (face 0) enters the queue with.
    fifo : bool
        Queue order inside a level: first in, first out (higra's hierarchical
        queue, integers of 2 bytes or less), else the order of higra's
        ``std::multimap`` walk (the cursor goes back to the previous face of
        the level when there is one, else forward; a level entered from
        above starts at its last face, from below at its first).
    order : memoryview of shape (n_faces,), int32
        **Written**: faces in flooding order, ``n_faces = (2 h + 3) (2 w + 3)``.
    faces : memoryview of shape (FACE_SLOTS * n_faces,), int32
        **Written**: one ``QueuedFace`` per face; ``level`` is the rank the
        face entered the queue with, the rest is scratch.
    head, tail : memoryviews of shape (n_levels,), int32
        Scratch.
    words : memoryview of shape (bitmap_words(n_levels),), uint64
        Scratch: the non-empty levels.
    seen : memoryview of shape (ceil(n_faces / 64),), uint64
        **Written**: one bit per face, set once the face entered the queue
        (all set on return).  A bit test stays in cache where the face
        records, visited in flooding order, would not.
    """
    cdef Py_ssize_t n_levels = values.shape[0]
    cdef Py_ssize_t H = 2 * (padded_rank.shape[0] // padded_cols) - 1
    cdef Py_ssize_t W = 2 * padded_cols - 1
    cdef Py_ssize_t n_faces = H * W
    cdef Py_ssize_t i, j, p, q, r, lo, hi, cur, low, high, row, col, qrow, qcol, k, base
    cdef int32_t a
    cdef QueuedFace* f = <QueuedFace*>&faces[0]
    cdef int32_t* hd = &head[0]
    cdef int32_t* tl = &tail[0]
    cdef const int32_t* pr = &padded_rank[0]
    cdef const numeric* val = &values[0]
    cdef Py_ssize_t nb[4]
    cdef Bitmap bitmap
    cdef Py_ssize_t size = n_levels
    bitmap.words = &words[0]
    bitmap.n_levels = 0
    with nogil:
        k = 0
        while True:
            bitmap.offset[bitmap.n_levels] = k
            size = (size + 63) >> 6
            bitmap.size[bitmap.n_levels] = size
            bitmap.n_levels += 1
            k += size
            if size <= 1:
                break
        for i in range(k):
            bitmap.words[i] = 0
        for i in range(n_levels):
            hd[i] = -1
            tl[i] = -1
        for i in range(seen.shape[0]):
            seen[i] = 0
        # The exterior face enters first.
        p = 0
        cur = exterior_rank
        f[0].level = <int32_t>cur
        f[0].next = -1
        f[0].prev = -1
        seen[0] = 1
        hd[cur] = 0
        tl[cur] = 0
        _bit_set(&bitmap, cur)
        i = 0
        while True:
            order[i] = <int32_t>p
            i += 1
            if fifo:
                _unlink(p, f, hd, tl, &bitmap)
            row = p // W
            col = p - row * W
            _four_neighbours(p, H, W, nb)
            for j in range(4):
                q = nb[j]
                if q < 0 or (seen[q >> 6] >> (q & 63)) & 1:
                    continue
                seen[q >> 6] |= 1ULL << (q & 63)
                # The padded pixels the face touches: one, two or four.
                qrow = row + (-1 if j == 0 else (1 if j == 1 else 0))
                qcol = col + (-1 if j == 2 else (1 if j == 3 else 0))
                base = (qrow >> 1) * padded_cols + (qcol >> 1)
                lo = pr[base]
                hi = lo
                if qcol & 1:
                    a = pr[base + 1]
                    lo = a if a < lo else lo
                    hi = a if a > hi else hi
                if qrow & 1:
                    a = pr[base + padded_cols]
                    lo = a if a < lo else lo
                    hi = a if a > hi else hi
                    if qcol & 1:
                        a = pr[base + padded_cols + 1]
                        lo = a if a < lo else lo
                        hi = a if a > hi else hi
                r = cur if lo <= cur <= hi else (lo if cur < lo else hi)
                f[q].level = <int32_t>r
                f[q].next = -1
                f[q].prev = tl[r]
                if tl[r] >= 0:
                    f[tl[r]].next = <int32_t>q
                else:
                    hd[r] = <int32_t>q
                    _bit_set(&bitmap, r)
                tl[r] = <int32_t>q
            if fifo:
                if hd[cur] < 0:
                    low = _prev_below(&bitmap, cur)
                    high = _next_above(&bitmap, cur)
                    if low < 0 and high < 0:
                        break
                    if low < 0 or (high >= 0 and _upper_is_closer(val, low, cur, high)):
                        cur = high
                    else:
                        cur = low
                p = hd[cur]
            else:
                if f[p].prev >= 0:
                    q = f[p].prev
                elif f[p].next >= 0:
                    q = f[p].next
                else:
                    low = _prev_below(&bitmap, cur)
                    high = _next_above(&bitmap, cur)
                    if low < 0 and high < 0:
                        break
                    if low < 0 or (high >= 0 and _upper_is_closer(val, low, cur, high)):
                        q = hd[high]
                    else:
                        q = tl[low]
                _unlink(p, f, hd, tl, &bitmap)
                p = q
                cur = f[p].level
    return i


cdef inline void _four_neighbours(Py_ssize_t p, Py_ssize_t H, Py_ssize_t W, Py_ssize_t* nb) noexcept nogil:
    """Pixel ``p``'s 4 neighbours in an H x W grid, -1 beyond the border, in higra's 6-adjacency
    order on a single plane: up, down, left, right."""
    cdef Py_ssize_t row = p // W
    cdef Py_ssize_t col = p - row * W
    nb[0] = p - W if row > 0 else -1
    nb[1] = p + W if row < H - 1 else -1
    nb[2] = p - 1 if col > 0 else -1
    nb[3] = p + 1 if col < W - 1 else -1


cdef inline void _unlink(Py_ssize_t p, QueuedFace* f, int32_t* hd, int32_t* tl, Bitmap* bitmap) noexcept nogil:
    """Remove face ``p`` from its level's queue."""
    cdef Py_ssize_t r = f[p].level
    if f[p].prev >= 0:
        f[f[p].prev].next = f[p].next
    else:
        hd[r] = f[p].next
    if f[p].next >= 0:
        f[f[p].next].prev = f[p].prev
    else:
        tl[r] = f[p].prev
    if hd[r] < 0:
        _bit_clear(bitmap, r)


cdef inline Py_ssize_t _find(TreeFace* f, Py_ssize_t x) noexcept nogil:
    """Root of ``x`` in the union-find forest, halving the path."""
    while f[x].forest != x:
        f[x].forest = f[f[x].forest].forest
        x = f[x].forest
    return x


cdef inline bint _canonical(const TreeFace* f, Py_ssize_t e) noexcept nogil:
    """Whether face ``e`` (not the root) is the canonical face of its node."""
    return f[f[e].parent].level != f[e].level


def _tree(const int32_t[::1] order, Py_ssize_t n_cols, int32_t[::1] faces, uint8_t[::1] rank,
          uint64_t[::1] seen):
    """Union-find the flooded faces into a canonical tree and count the nodes holding pixels.

    Parameters
    ----------
    order : memoryview of shape (n_faces,), int32
        From ``_flood``.
    n_cols : int
        Columns of the original image ``w`` (the grid has ``2 w + 3``).
    faces : memoryview of shape (FACE_SLOTS * n_faces,), int32
        From ``_flood``, read as ``TreeFace`` records.  **Written**:
        ``parent``, the canonical parent face (the root, ``order[0]``, is its
        own parent); ``forest``, the number of original pixels in the subtree
        of each canonical face (other faces: unspecified); ``top`` is scratch
        (Berger et al. 2007).
    rank : memoryview of shape (n_faces,), uint8
        Scratch: union-by-rank ranks.
    seen : memoryview of shape (ceil(n_faces / 64),), uint64
        From ``_flood`` (every face's bit set); a face's bit is **cleared**
        once it is merged.

    Returns
    -------
    n_nodes : int
        Canonical faces whose subtree holds at least one pixel.
    """
    cdef Py_ssize_t n_faces = order.shape[0]
    cdef Py_ssize_t W = 2 * n_cols + 3
    cdef Py_ssize_t H = n_faces // W
    cdef Py_ssize_t j, e, q, r, z, row, col, k, c, ahead
    cdef TreeFace* f = <TreeFace*>&faces[0]
    cdef uint8_t* rk = &rank[0]
    cdef Py_ssize_t nb[4]
    cdef Py_ssize_t n_nodes = 0
    with nogil:
        for j in range(n_faces - 1, -1, -1):
            if j >= PREFETCH_DISTANCE:
                ahead = order[j - PREFETCH_DISTANCE]
                _prefetch(&f[ahead])
                if ahead >= W:
                    _prefetch(&f[ahead - W])
                if ahead + W < n_faces:
                    _prefetch(&f[ahead + W])
            e = order[j]
            f[e].parent = <int32_t>e
            f[e].forest = <int32_t>e
            f[e].top = <int32_t>e
            rk[e] = 0
            seen[e >> 6] &= ~(1ULL << (e & 63))
            z = e
            _four_neighbours(e, H, W, nb)
            for k in range(4):
                q = nb[k]
                if q < 0 or (seen[q >> 6] >> (q & 63)) & 1:
                    continue
                r = _find(f, q)
                if r != z:
                    # The tree root of q's component becomes a child of e;
                    # the union-find roots are joined by rank.
                    f[f[r].top].parent = <int32_t>e
                    if rk[z] < rk[r]:
                        z, r = r, z
                    f[r].forest = <int32_t>z
                    if rk[z] == rk[r]:
                        rk[z] += 1
                    f[z].top = <int32_t>e
        # Canonicalise: parents come first in ``order``.
        for j in range(n_faces):
            if j + PREFETCH_DISTANCE < n_faces:
                _prefetch(&f[order[j + PREFETCH_DISTANCE]])
            if j + PREFETCH_DISTANCE // 2 < n_faces:
                _prefetch(&f[f[order[j + PREFETCH_DISTANCE // 2]].parent])
            e = order[j]
            q = f[e].parent
            if f[f[q].parent].level == f[q].level:
                f[e].parent = f[q].parent
        # Pixels per canonical face, then per subtree (children come later in ``order``).
        for e in range(n_faces):
            f[e].forest = 0
        for row in range(2, H - 2, 2):
            for col in range(2, W - 2, 2):
                e = row * W + col
                c = e if _canonical(f, e) else f[e].parent
                f[c].forest += 1
        for j in range(n_faces - 1, 0, -1):
            if j >= PREFETCH_DISTANCE:
                _prefetch(&f[order[j - PREFETCH_DISTANCE]])
            e = order[j]
            if f[e].forest > 0 and _canonical(f, e):
                f[f[e].parent].forest += f[e].forest
                n_nodes += 1
        n_nodes += 1  # the root
    return n_nodes


def _compact(const int32_t[::1] order, int32_t[::1] faces, Py_ssize_t n_cols, int32_t[::1] node_parent,
             int32_t[::1] node_rank, int32_t[::1] node_area, int32_t[::1] node_of):
    """Number the nodes holding pixels root first and gather their arrays.

    Parameters
    ----------
    order, faces : memoryviews of shape (n_faces,) and (FACE_SLOTS * n_faces,), int32
        From ``_flood`` and ``_tree``; ``TreeFace.forest`` is **overwritten**:
        each node's canonical face receives the node index.
    n_cols : int
        Columns of the original image ``w``.
    node_parent, node_rank, node_area : memoryviews of shape (n_nodes,), int32
        **Written**: parent node (``node_parent[k] < k``, the root 0 is its
        own parent), level rank and pixel count of each node.
    node_of : memoryview of shape (h * w,), int32
        **Written**: the node of each pixel.
    """
    cdef Py_ssize_t n_faces = order.shape[0]
    cdef Py_ssize_t n = node_of.shape[0]
    cdef Py_ssize_t n_rows = n // n_cols
    cdef Py_ssize_t W = 2 * n_cols + 3
    cdef Py_ssize_t j, e, c, i, k = 0
    cdef Py_ssize_t root = order[0]
    cdef TreeFace* f = <TreeFace*>&faces[0]
    with nogil:
        # Flooding order visits a parent before its children.
        for j in range(n_faces):
            if j + PREFETCH_DISTANCE < n_faces:
                _prefetch(&f[order[j + PREFETCH_DISTANCE]])
            e = order[j]
            if e == root or (f[e].forest > 0 and _canonical(f, e)):
                node_area[k] = f[e].forest
                node_rank[k] = f[e].level
                node_parent[k] = 0 if e == root else f[f[e].parent].forest
                f[e].forest = <int32_t>k
                k += 1
        for i in range(n_rows):
            for j in range(n_cols):
                e = (2 * i + 2) * W + 2 * j + 2
                c = e if _canonical(f, e) else f[e].parent
                node_of[i * n_cols + j] = f[c].forest
    return k


def _accumulate(const numeric[::1] image, Py_ssize_t n_cols, const int32_t[::1] node_of,
                const int32_t[::1] node_parent, int32_t[::1] bbox, int64_t[::1] moments, double[::1] sums):
    """Per-node accumulators over the pixels of each subtree, like ``features._max_tree``'s.

    ``bbox`` (4 m: row min, row max, col min, col max), ``moments`` (4 m:
    sums of row, col, row**2, col**2), ``sums`` (2 m: sums of value and
    value**2); each may be of shape (0,) when not needed.  **Written in place.**
    """
    cdef Py_ssize_t n = node_of.shape[0]
    cdef Py_ssize_t m = node_parent.shape[0]
    cdef Py_ssize_t p, k, q, row, col
    cdef bint has_bbox = bbox.shape[0] > 0
    cdef bint has_moments = moments.shape[0] > 0
    cdef bint has_sums = sums.shape[0] > 0
    cdef double v
    with nogil:
        for k in range(m):
            if has_bbox:
                bbox[4 * k] = 2147483647
                bbox[4 * k + 1] = -1
                bbox[4 * k + 2] = 2147483647
                bbox[4 * k + 3] = -1
            if has_moments:
                moments[4 * k] = 0
                moments[4 * k + 1] = 0
                moments[4 * k + 2] = 0
                moments[4 * k + 3] = 0
            if has_sums:
                sums[2 * k] = 0.0
                sums[2 * k + 1] = 0.0
        for p in range(n):
            k = node_of[p]
            row = p // n_cols
            col = p - row * n_cols
            if has_bbox:
                if row < bbox[4 * k]:
                    bbox[4 * k] = <int32_t>row
                if row > bbox[4 * k + 1]:
                    bbox[4 * k + 1] = <int32_t>row
                if col < bbox[4 * k + 2]:
                    bbox[4 * k + 2] = <int32_t>col
                if col > bbox[4 * k + 3]:
                    bbox[4 * k + 3] = <int32_t>col
            if has_moments:
                moments[4 * k] += row
                moments[4 * k + 1] += col
                moments[4 * k + 2] += row * row
                moments[4 * k + 3] += col * col
            if has_sums:
                v = <double>image[p]
                sums[2 * k] += v
                sums[2 * k + 1] += v * v
        for k in range(m - 1, 0, -1):
            merge_attributes(&bbox[0] if has_bbox else NULL, &moments[0] if has_moments else NULL,
                             &sums[0] if has_sums else NULL, node_parent[k], k)
