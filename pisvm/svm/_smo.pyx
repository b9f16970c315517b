# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Private SMO kernel: LIBSVM's binary C-SVC dual solver on an index subset of a kernel block.

The problem is LIBSVM's ``Solver`` problem for C-SVC::

    min_a  0.5 a'Qa - e'a   subject to  y'a = 0,  0 <= a_k <= C_k,
    Q_kt = y_k y_t K[index_k, index_t]

solved by the SMO of Fan, Chen and Lin (2005, "Working set selection using
second order information for training support vector machines", JMLR 6):
the working set is the maximal violating ``i`` and the ``j`` of largest
second-order decrease, the two-variable update is clipped to the box, and
LIBSVM's shrinking (every ``min(l, 1000)`` iterations, with one unshrink
when the violation falls under ``10 * eps``) and stopping rule
``m(a) - M(a) < eps`` apply unchanged.

What differs from LIBSVM is the storage, not the arithmetic:

- There is no kernel cache: the caller's block holds every kernel value, and
  the two columns ``Q_i`` and ``Q_j`` of an iteration are read straight from
  the block rows ``K[index_i]`` and ``K[index_j]`` through ``bi`` (the block
  position of each variable, permuted with the active set the way LIBSVM
  permutes its cache).  The block's values are LIBSVM's cached ones: float32
  values (held in float64), so every step is LIBSVM's, bit for bit (the
  callers round: :func:`pisvm.svm.solver.rbf_kernel` with ``float32=True``,
  and :func:`_compute_row`).
- Once shrinking has made the active set small (and ``cache_bytes``
  permitting), the active sub-block is copied into ``compact`` and kept in
  active-set order (:func:`_compact_move`), so the loops read contiguous
  rows; over contiguous rows (the copy, or a block whose variables are in
  block order) they are the vector loops of ``smo_rows.h``, which give the
  same bits as the scalar loops below.
- The gradient is kept as ``yG = y * G`` (and ``yGbar = y * G_bar``), so
  ``Q_kt * delta`` becomes ``y_t * delta * K_kt`` and the sign of each
  variable never enters the O(l) loops; this changes no rounding (a sign
  flip is exact).
- Each variable carries two flags: ``UP`` (in LIBSVM's ``I_up``: ``y a`` can
  grow) and ``LOW`` (in ``I_low``).  A free variable has both.
- The gradient update of one iteration and the first pass of the next
  iteration's working-set selection (``i`` = argmax of ``-yG`` over
  ``I_up``) run as one loop; the selection of ``j`` is the second loop.
  LIBSVM runs three.

Every function below trusts its arguments (``pisvm.svm.solver`` validates) and
runs without the GIL, so threads can solve several problems at once.
"""

from libc.math cimport INFINITY, exp
from libc.stdint cimport int8_t, int32_t, int64_t, uint8_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy
from posix.time cimport CLOCK_THREAD_CPUTIME_ID, clock_gettime, timespec

from scipy.linalg.cython_blas cimport ddot

from pisvm._prefetch cimport prefetch

cdef extern from "pisvm/svm/smo_rows.h":
    Py_ssize_t select_j_rows "pisvm_select_j_rows" (
        Py_ssize_t n, const double *Ki, const double *yG, const double *QD, const uint8_t *flag, double QDi,
        double gmax, double tau, double margin, double *gmax_low) noexcept nogil
    Py_ssize_t update_rows "pisvm_update_rows" (
        Py_ssize_t n, const double *Ri, const double *Rj, double c_i, double c_j, double *yG, const uint8_t *flag,
        double *best) noexcept nogil
    int vector_loops "pisvm_vector_loops" () noexcept nogil

VECTOR_LOOPS = bool(vector_loops())
"""True where the SMO's loops over contiguous rows are the AVX2 ones (``smo_rows.h``); False: the scalar
twin, on CPUs without AVX2 or with the environment variable ``PISVM_SCALAR_LOOPS=1`` (same results)."""

# The O(l) loops read a kernel row at scattered columns, so the loops below
# request the column PREFETCH_DISTANCE steps ahead (measured: 10 to 25 % less
# time at gamma 8, C 100 and gamma 2, C 1; no gain in the yGbar loops).

cdef enum:
    PREFETCH_DISTANCE = 16  # loop steps ahead; bi has this many extra entries

PREFETCH_PAD = PREFETCH_DISTANCE
"""Extra entries the caller allocates at the end of ``bi`` (read by the prefetches)."""

cdef enum:
    UP = 1       # in I_up: a_k < C_k for y_k = +1, a_k > 0 for y_k = -1
    LOW = 2      # in I_low: a_k > 0 for y_k = +1, a_k < C_k for y_k = -1
    FREE = 3     # 0 < a_k < C_k

cdef double TAU = 1e-12  # LIBSVM's floor for a non-positive second derivative
# smo_rows.h divides only where g^2 >= -best * quad * DIVISION_MARGIN: a product rounds by at
# most 1e-16 relative, so the test keeps every candidate that LIBSVM's division would pick.
cdef double DIVISION_MARGIN = 1.0 - 1e-9
cdef double _LOG_KERNEL_FLOOR = -460.0

LOG_KERNEL_FLOOR = _LOG_KERNEL_FLOOR
"""Exponent below which an RBF kernel value is written as an exact 0 (``exp(-460)`` is about 1e-200).

``exp`` is 5 to 25 times slower where its result is subnormal or underflows
(exponents below about -708), and products of such values slow the SMO down
the same way; LIBSVM itself stores kernel values as float32, which rounds
every value below about 1e-45 to 0.
"""
cdef Py_ssize_t COPY_AFTER = 2  # copy only after this many iterations per active variable


cdef inline Py_ssize_t _libsvm_max_iter(Py_ssize_t l) noexcept nogil:
    return 10_000_000 if 10_000_000 > 100 * l else 100 * l


def libsvm_max_iter(Py_ssize_t l):
    """LIBSVM's iteration limit for ``l`` variables: ``max(10_000_000, 100 * l)``."""
    return _libsvm_max_iter(l)


cdef struct Smo:
    double *K             # the kernel block, (n_block, n_block) row-major
    Py_ssize_t n_block
    # Rows computed on demand (RBF kernel): ready[r] once row r of K is written.
    uint8_t *ready        # NULL: every row of K is given
    const double *X       # (n_block, n_features) samples, row-major
    double *sqnorm        # |x|^2 of each sample
    Py_ssize_t n_features
    double gamma
    Py_ssize_t l          # number of variables
    Py_ssize_t active     # the first `active` variables are not shrunk
    double eps
    bint unshrunk         # the one unshrink near the end has happened
    # One entry per variable, in active-set order (swapped together):
    int32_t *bi           # row and column of the variable in the block
    int64_t *origin       # position of the variable in the caller's index
    int8_t *y
    double *C
    double *QD            # K[bi, bi]
    double *alpha
    double *yG            # y * gradient of the dual objective
    double *yGbar         # y * sum of C_t Q_kt over variables t at their upper bound
    uint8_t *flag         # UP | LOW
    # The rows the O(active) loops read: the block (at columns col = bi) or the
    # compact copy of the active sub-block, in active-set order (variable k at
    # row and column k, n_compact variables when copied).
    const double *R
    Py_ssize_t stride
    const int32_t *col
    double *compact
    Py_ssize_t n_compact  # 0: the loops read the block
    bint in_order         # bi[k] == k for every variable (no swap yet)
    bint contiguous       # the loops read positions 0 .. active - 1: the copy, or the block in order
    Py_ssize_t allocated  # doubles in ``compact``
    Py_ssize_t capacity   # most doubles ``compact`` may hold (the cache budget)
    Py_ssize_t n_copies   # compact copies made
    Py_ssize_t n_iter     # iterations so far


cdef inline double _dot(Smo *s, Py_ssize_t a, Py_ssize_t b) noexcept nogil:
    """``x_a . x_b`` by BLAS ``ddot``: the function scikit-learn's LIBSVM calls, so the same sum to the bit."""
    cdef int n = <int> s.n_features, one = 1
    return ddot(&n, <double *> s.X + a * s.n_features, &one, <double *> s.X + b * s.n_features, &one)


cdef void _squared_norms(Smo *s) noexcept nogil:
    """``sqnorm[k] = x_k . x_k`` (LIBSVM's ``x_square``)."""
    cdef Py_ssize_t k
    for k in range(s.n_block):
        s.sqnorm[k] = _dot(s, k, k)


cdef void _compute_row(Smo *s, Py_ssize_t r) noexcept nogil:
    """Write row ``r`` of the RBF block: LIBSVM's kernel values, as its cache holds them.

    ``exp(-gamma (|x_r|^2 + |x_t|^2 - 2 x_r . x_t))`` with scikit-learn's LIBSVM's
    dot products (:func:`_dot`) and the C library's ``exp``, rounded to float32
    (``Qfloat``, the type of LIBSVM's cache): the very values LIBSVM's SMO
    reads, so the SMO below takes its steps bit for bit.  The diagonal is an
    exact 1 (LIBSVM's ``QD``).
    """
    cdef double *row = s.K + r * s.n_block
    cdef Py_ssize_t t
    cdef double exponent
    for t in range(s.n_block):
        exponent = -s.gamma * (s.sqnorm[r] + s.sqnorm[t] - 2.0 * _dot(s, r, t))
        row[t] = <float> exp(exponent) if exponent >= _LOG_KERNEL_FLOOR else 0.0
    row[r] = 1.0
    s.ready[r] = 1


cdef inline const double *_row(Smo *s, Py_ssize_t r) noexcept nogil:
    """Row ``r`` of the block, computed first if it is not there yet."""
    if s.ready != NULL and not s.ready[r]:
        _compute_row(s, r)
    return s.K + r * s.n_block


cdef inline const double *_loop_row(Smo *s, Py_ssize_t k) noexcept nogil:
    """The row of active variable ``k`` that the O(active) loops read (at ``s.col`` in the block, at k in the copy)."""
    if s.n_compact:
        return s.R + k * s.stride
    return _row(s, s.bi[k])


cdef inline uint8_t _flag(double alpha, double C, int8_t y) noexcept nogil:
    """The UP/LOW flags of a variable with value ``alpha`` in [0, C] and label ``y``."""
    if alpha >= C:
        return LOW if y > 0 else UP
    if alpha <= 0:
        return UP if y > 0 else LOW
    return FREE


cdef inline bint _at_upper(Smo *s, Py_ssize_t k) noexcept nogil:
    return s.flag[k] == (LOW if s.y[k] > 0 else UP)


cdef void _swap(Smo *s, Py_ssize_t a, Py_ssize_t b) noexcept nogil:
    s.in_order = False
    s.contiguous = s.n_compact > 0  # the copy is kept in order by _compact_move
    s.bi[a], s.bi[b] = s.bi[b], s.bi[a]
    s.origin[a], s.origin[b] = s.origin[b], s.origin[a]
    s.y[a], s.y[b] = s.y[b], s.y[a]
    s.C[a], s.C[b] = s.C[b], s.C[a]
    s.QD[a], s.QD[b] = s.QD[b], s.QD[a]
    s.alpha[a], s.alpha[b] = s.alpha[b], s.alpha[a]
    s.yG[a], s.yG[b] = s.yG[b], s.yG[a]
    s.yGbar[a], s.yGbar[b] = s.yGbar[b], s.yGbar[a]
    s.flag[a], s.flag[b] = s.flag[b], s.flag[a]


cdef void _read_block(Smo *s) noexcept nogil:
    """Point the O(active) loops at the block (every variable has a row there)."""
    s.R = s.K
    s.stride = s.n_block
    s.col = s.bi
    s.n_compact = 0
    s.contiguous = s.in_order


cdef void _compact(Smo *s) noexcept nogil:
    """Copy ``K[bi[:active]][:, bi[:active]]`` into ``compact`` and point the loops at it.

    After shrinking, the active variables sit at scattered columns of long
    block rows; in the copy an iteration reads two short contiguous rows,
    from position 0 to ``active`` (LIBSVM gets the same effect from its cache
    of compacted rows), with the vector loops of ``smo_rows.h``.  Later
    shrinking keeps the copy in active-set order (:func:`_compact_move`).
    Values are copied exactly, so the iterates do not change.  Without the
    memory (over ``capacity`` or a failed allocation) the loops keep reading
    the block.
    """
    cdef Py_ssize_t p, q, n = s.active, missing = 0
    cdef const double *row
    cdef double *target
    if n * n > s.capacity:
        return
    if s.ready != NULL:
        # Rows computed on demand: copy once most active rows exist (the hot ones do
        # by then), rather than compute every active row for the copy.
        for p in range(n):
            missing += not s.ready[s.bi[p]]
        if 10 * missing > n:
            return
    if n * n > s.allocated:
        free(s.compact)
        s.compact = <double *> malloc(n * n * sizeof(double))
        s.allocated = n * n if s.compact != NULL else 0
        if s.compact == NULL:
            _read_block(s)
            return
    for p in range(n):
        row = _row(s, s.bi[p])
        target = s.compact + p * n
        for q in range(n):
            target[q] = row[s.bi[q]]
    s.R = s.compact
    s.stride = n
    s.n_compact = n
    s.contiguous = True
    s.n_copies += 1


cdef void _compact_move(Smo *s, Py_ssize_t k, Py_ssize_t shrunk) noexcept nogil:
    """Give row and column ``k`` of the copy the values of ``shrunk``'s (after ``_swap(s, k, shrunk)``).

    The variable now at ``shrunk`` has left the active set: its row and
    column are never read again before the unshrink, which goes back to the
    block, so only rows below ``shrunk`` are kept right.  Cost: O(active).
    """
    cdef Py_ssize_t r, n = s.n_compact
    cdef double *copy = s.compact
    memcpy(copy + k * n, copy + shrunk * n, (shrunk + 1) * sizeof(double))
    for r in range(shrunk):
        copy[r * n + k] = copy[r * n + shrunk]


cdef void _unshrink(Smo *s) noexcept nogil:
    """Make every variable active again, with its full gradient; the loops read the block."""
    _reconstruct_gradient(s)
    s.active = s.l
    _read_block(s)


cdef void _init_gradient(Smo *s) noexcept nogil:
    """yG = y (Q a - e) and yGbar from the starting ``alpha`` (all zeros: no column is read)."""
    cdef Py_ssize_t k, t
    cdef const double *Kt
    cdef double ya, yc
    for k in range(s.l):
        s.flag[k] = _flag(s.alpha[k], s.C[k], s.y[k])
        s.yG[k] = -s.y[k]
        s.yGbar[k] = 0.0
    for t in range(s.l):
        if s.alpha[t] > 0:
            Kt = _row(s, s.bi[t])
            ya = s.y[t] * s.alpha[t]
            for k in range(s.l):
                s.yG[k] += ya * Kt[s.bi[k]]
            if _at_upper(s, t):
                yc = s.y[t] * s.C[t]
                for k in range(s.l):
                    s.yGbar[k] += yc * Kt[s.bi[k]]


cdef void _reconstruct_gradient(Smo *s) noexcept nogil:
    """Rebuild yG of the shrunk variables from yGbar and the free variables (LIBSVM's rule)."""
    cdef Py_ssize_t k, t, n_free = 0, l = s.l, active = s.active
    cdef const double *Kt
    cdef double ya, acc
    if active == l:
        return
    for k in range(active, l):
        s.yG[k] = s.yGbar[k] - s.y[k]
    for t in range(active):
        if s.flag[t] == FREE:
            n_free += 1
    if n_free * l > 2 * active * (l - active):
        # One row per shrunk variable, summed over the free active ones.
        for k in range(active, l):
            Kt = _row(s, s.bi[k])
            acc = s.yG[k]
            for t in range(active):
                if s.flag[t] == FREE:
                    acc += s.y[t] * s.alpha[t] * Kt[s.bi[t]]
            s.yG[k] = acc
    else:
        # One row per free active variable, added to every shrunk one.
        for t in range(active):
            if s.flag[t] == FREE:
                Kt = _row(s, s.bi[t])
                ya = s.y[t] * s.alpha[t]
                for k in range(active, l):
                    s.yG[k] += ya * Kt[s.bi[k]]


cdef inline bint _be_shrunk(Smo *s, Py_ssize_t k, double gmax_up, double gmax_low) noexcept nogil:
    if s.flag[k] == UP:
        return s.yG[k] > gmax_low
    if s.flag[k] == LOW:
        return -s.yG[k] > gmax_up
    return False


cdef void _shrink(Smo *s) noexcept nogil:
    """LIBSVM's do_shrinking: drop bound variables that cannot enter a violating pair."""
    cdef Py_ssize_t k
    cdef double gmax_up = -INFINITY, gmax_low = -INFINITY
    for k in range(s.active):
        if s.flag[k] & UP and -s.yG[k] >= gmax_up:
            gmax_up = -s.yG[k]
        if s.flag[k] & LOW and s.yG[k] >= gmax_low:
            gmax_low = s.yG[k]
    if not s.unshrunk and gmax_up + gmax_low <= 10 * s.eps:
        s.unshrunk = True
        _unshrink(s)
    k = 0
    while k < s.active:
        if _be_shrunk(s, k, gmax_up, gmax_low):
            s.active -= 1
            while s.active > k:
                if not _be_shrunk(s, s.active, gmax_up, gmax_low):
                    _swap(s, k, s.active)
                    if s.n_compact:
                        _compact_move(s, k, s.active)
                    break
                s.active -= 1
        k += 1
    # A copy costs about as much as active / 2 iterations that read the block: make it
    # only in a solve that has already run COPY_AFTER * active iterations (a long one).
    if s.n_compact == 0 and s.active < s.l and s.n_iter >= COPY_AFTER * s.active:
        _compact(s)


cdef Py_ssize_t _select_i(Smo *s, double *gmax) noexcept nogil:
    """The last active variable of largest ``-yG`` over I_up (-1 if none); its value in ``gmax``."""
    cdef Py_ssize_t k, i = -1
    cdef double best = -INFINITY
    for k in range(s.active):
        if s.flag[k] & UP and -s.yG[k] >= best:
            best = -s.yG[k]
            i = k
    gmax[0] = best
    return i


cdef Py_ssize_t _select_j(Smo *s, Py_ssize_t i, double gmax) noexcept nogil:
    """LIBSVM's second-order choice of ``j`` for ``i``; -1 when ``a`` is ``eps``-optimal."""
    cdef Py_ssize_t k, j = -1
    cdef double gmax_low = -INFINITY, best = INFINITY
    cdef double g, grad_diff, quad, obj_diff, QDi = 0.0
    cdef const double *Ki = s.R
    cdef const int32_t *col = s.col
    cdef const double *yG = s.yG
    cdef const double *QD = s.QD
    cdef const uint8_t *flag = s.flag
    if i >= 0:
        Ki = _loop_row(s, i)
        QDi = QD[i]
    if s.contiguous:
        j = select_j_rows(s.active, Ki, yG, QD, flag, QDi, gmax, TAU, DIVISION_MARGIN, &gmax_low)
        return -1 if gmax + gmax_low < s.eps else j
    for k in range(s.active):
        prefetch(&Ki[col[k + PREFETCH_DISTANCE]])
        if flag[k] & LOW:
            g = yG[k]
            if g >= gmax_low:
                gmax_low = g
            grad_diff = gmax + g
            if grad_diff > 0:
                # i >= 0 here: without one, gmax is -inf.
                quad = QDi + QD[k] - 2.0 * Ki[col[k]]
                if quad <= 0:
                    quad = TAU
                obj_diff = -(grad_diff * grad_diff) / quad
                if obj_diff <= best:
                    best = obj_diff
                    j = k
    if gmax + gmax_low < s.eps:
        return -1
    return j


cdef Py_ssize_t _take_step(Smo *s, Py_ssize_t i, Py_ssize_t j, double *gmax) noexcept nogil:
    """Optimise ``a_i, a_j`` (LIBSVM's clipped update), update yG and yGbar.

    Returns the next iteration's ``i`` (as :func:`_select_i` over the same
    active set) and puts its ``-yG`` in ``gmax``: the gradient loop finds it.
    """
    cdef const double *Ki
    cdef const double *Kj
    cdef const double *Ri = _loop_row(s, i)
    cdef const double *Rj = _loop_row(s, j)
    cdef const int32_t *col = s.col
    cdef double C_i = s.C[i], C_j = s.C[j]
    cdef int8_t y_i = s.y[i], y_j = s.y[j]
    cdef double old_i = s.alpha[i], old_j = s.alpha[j]
    cdef double a_i = old_i, a_j = old_j
    cdef double G_i = y_i * s.yG[i], G_j = y_j * s.yG[j]
    cdef double K_ij = Ri[j] if s.contiguous else Ri[col[j]]
    cdef double quad, delta, diff, total, c_i, c_j, g, best
    cdef bint upper_i = _at_upper(s, i), upper_j = _at_upper(s, j)
    cdef Py_ssize_t k, next_i
    cdef const int32_t *bi = s.bi
    cdef double *yG = s.yG
    cdef const uint8_t *flag = s.flag

    quad = s.QD[i] + s.QD[j] - 2.0 * K_ij
    if quad <= 0:
        quad = TAU
    if y_i != y_j:
        delta = (-G_i - G_j) / quad
        diff = a_i - a_j
        a_i += delta
        a_j += delta
        if diff > 0:
            if a_j < 0:
                a_j = 0
                a_i = diff
        elif a_i < 0:
            a_i = 0
            a_j = -diff
        if diff > C_i - C_j:
            if a_i > C_i:
                a_i = C_i
                a_j = C_i - diff
        elif a_j > C_j:
            a_j = C_j
            a_i = C_j + diff
    else:
        delta = (G_i - G_j) / quad
        total = a_i + a_j
        a_i -= delta
        a_j += delta
        if total > C_i:
            if a_i > C_i:
                a_i = C_i
                a_j = total - C_i
        elif a_j < 0:
            a_j = 0
            a_i = total
        if total > C_j:
            if a_j > C_j:
                a_j = C_j
                a_i = total - C_j
        elif a_i < 0:
            a_i = 0
            a_j = total
    s.alpha[i] = a_i
    s.alpha[j] = a_j
    s.flag[i] = _flag(a_i, C_i, y_i)
    s.flag[j] = _flag(a_j, C_j, y_j)

    # yG_k += y_k (Q_ki da_i + Q_kj da_j) = y_i da_i K_ki + y_j da_j K_kj,
    # fused with the next iteration's choice of i.
    c_i = y_i * (a_i - old_i)
    c_j = y_j * (a_j - old_j)
    if s.contiguous:
        next_i = update_rows(s.active, Ri, Rj, c_i, c_j, yG, flag, &best)
    else:
        best = -INFINITY
        next_i = -1
        for k in range(s.active):
            prefetch(&Rj[col[k + PREFETCH_DISTANCE]])
            g = yG[k] + (c_i * Ri[col[k]] + c_j * Rj[col[k]])
            yG[k] = g
            if flag[k] & UP and -g >= best:
                best = -g
                next_i = k
    gmax[0] = best

    if upper_i != _at_upper(s, i):
        c_i = y_i * C_i if not upper_i else -y_i * C_i
        Ki = _row(s, bi[i])
        for k in range(s.l):
            s.yGbar[k] += c_i * Ki[bi[k]]
    if upper_j != _at_upper(s, j):
        c_j = y_j * C_j if not upper_j else -y_j * C_j
        Kj = _row(s, bi[j])
        for k in range(s.l):
            s.yGbar[k] += c_j * Kj[bi[k]]
    return next_i


cdef double _rho(Smo *s) noexcept nogil:
    """LIBSVM's bias: mean yG over free variables, else the midpoint of the feasible interval."""
    cdef Py_ssize_t k, n_free = 0
    cdef double upper = INFINITY, lower = -INFINITY, total = 0.0
    for k in range(s.active):
        if s.flag[k] == FREE:
            n_free += 1
            total += s.yG[k]
        elif s.flag[k] == UP:
            if s.yG[k] < upper:
                upper = s.yG[k]
        elif s.yG[k] > lower:
            lower = s.yG[k]
    if n_free > 0:
        return total / n_free
    return (upper + lower) / 2


cdef Py_ssize_t _solve(Smo *s, bint shrinking, Py_ssize_t max_iter) noexcept nogil:
    """LIBSVM's Solver::Solve main loop; returns the number of iterations."""
    cdef Py_ssize_t n_iter = 0, i = -1, j
    cdef Py_ssize_t period = s.l if s.l < 1000 else 1000
    cdef Py_ssize_t counter = period + 1
    cdef bint have_i = False
    cdef double gmax = -INFINITY
    while n_iter < max_iter:
        counter -= 1
        if counter == 0:
            counter = period
            if shrinking:
                _shrink(s)
                have_i = False
        if not have_i:
            i = _select_i(s, &gmax)
        j = _select_j(s, i, gmax)
        if j < 0:
            _unshrink(s)
            i = _select_i(s, &gmax)
            j = _select_j(s, i, gmax)
            if j < 0:
                break
            counter = 1  # shrink at the next iteration
        n_iter += 1
        s.n_iter = n_iter
        i = _take_step(s, i, j, &gmax)
        have_i = True
    if s.active < s.l:
        # Only after max_iter: LIBSVM reports the whole gradient all the same.
        _unshrink(s)
    return n_iter


cdef struct Outcome:
    Py_ssize_t n_iter
    double rho
    double objective
    Py_ssize_t n_copies
    Py_ssize_t n_bound


cdef void _prepare(Smo *s, double *K, Py_ssize_t n_block, Py_ssize_t l, double eps, Py_ssize_t cache_bytes,
                   double *work, int32_t *bi, int64_t *origin, int8_t *y, uint8_t *flag) noexcept nogil:
    """Point ``s`` at the block and at its scratch space (``work``: 5 * l doubles); the caller fills bi, y, C, alpha."""
    cdef Py_ssize_t k
    s.K = K
    s.n_block = n_block
    s.ready = NULL
    s.l = l
    s.active = l
    s.eps = eps
    s.unshrunk = False
    s.bi = bi
    s.origin = origin
    s.y = y
    s.C = work
    s.QD = work + l
    s.alpha = work + 2 * l
    s.yG = work + 3 * l
    s.yGbar = work + 4 * l
    s.flag = flag
    s.compact = NULL
    s.allocated = 0
    s.capacity = cache_bytes // sizeof(double)
    s.n_copies = 0
    s.n_iter = 0
    for k in range(PREFETCH_DISTANCE):
        bi[l + k] = 0
    for k in range(l):
        origin[k] = k


cdef Outcome _run_smo(Smo *s, bint shrinking, Py_ssize_t max_iter, double *alpha_out) noexcept nogil:
    """Solve the prepared problem; ``alpha_out`` receives the solution in the caller's order."""
    cdef Outcome outcome
    cdef Py_ssize_t k
    s.in_order = True
    for k in range(s.l):
        s.in_order = s.in_order and s.bi[k] == k
        s.QD[k] = s.K[s.bi[k] * s.n_block + s.bi[k]] if s.ready == NULL else 1.0  # RBF: K(x, x) = 1
    _read_block(s)
    _init_gradient(s)
    outcome.n_iter = _solve(s, shrinking, max_iter)
    outcome.rho = _rho(s)
    outcome.objective = 0.0
    outcome.n_bound = 0
    for k in range(s.l):
        # a_k (G_k - 1) / 2 summed: 0.5 a'Qa - e'a, as LIBSVM computes it.
        outcome.objective += s.alpha[k] * (s.y[k] * s.yG[k] - 1.0)
        alpha_out[s.origin[k]] = s.alpha[k]
        outcome.n_bound += _at_upper(s, k)
    outcome.objective /= 2
    outcome.n_copies = s.n_copies
    free(s.compact)
    return outcome


def solve(const double[::1] K, Py_ssize_t n_block, const int32_t[::1] index, const int8_t[::1] y,
          const double[::1] C, double eps, bint shrinking, Py_ssize_t max_iter,
          double[::1] alpha, double[::1] work, int32_t[::1] bi, int64_t[::1] origin,
          int8_t[::1] y_work, uint8_t[::1] flag, Py_ssize_t cache_bytes,
          uint8_t[::1] ready, const double[::1] X, double[::1] sqnorm, Py_ssize_t n_features, double gamma):
    """Solve the binary C-SVC dual on ``K[index][:, index]``; ``alpha`` is written in place.

    Parameters
    ----------
    K : memoryview of shape (n_block * n_block,), float64
        The kernel block, flattened row-major; with ``ready``, its rows are
        computed when the solver first reads them (**written in place**).
    n_block : int
    index : memoryview of shape (l,), int32
        Block rows of the variables, in LIBSVM's sample order.
    y : memoryview of shape (l,), int8
        +1 / -1.
    C : memoryview of shape (l,), float64
        Upper bound of each variable (> 0).
    eps : float
        Stopping tolerance (LIBSVM's ``-e``).
    shrinking : bool
    max_iter : int
    alpha : memoryview of shape (l,), float64
        On entry the feasible starting point; on exit the solution, in the
        order of ``index``. **Modified in place.**
    work : memoryview of shape (5 * l,), float64
        Scratch space.
    bi : memoryview of shape (l + PREFETCH_PAD,), int32
        Scratch space.
    origin, y_work, flag : memoryviews of shape (l,)
        Scratch space (int64, int8, uint8).
    cache_bytes : int
        Most memory for the compact copy of the active sub-block, bytes
        (0: the loops always read ``K``).
    ready : memoryview of shape (n_block,) or (0,), uint8
        Empty when ``K`` is given whole; else 1 for the rows of ``K`` already
        written (**modified in place**), and the RBF rows are computed from:
    X : memoryview of shape (n_block * n_features,), float64
        The samples, flattened row-major (unused when ``ready`` is empty).
    sqnorm : memoryview of shape (n_block,), float64
        Scratch space: their squared norms are written here.
    n_features : int
    gamma : float

    Returns
    -------
    n_iter : int
    rho : float
    objective : float
        ``0.5 a'Qa - e'a`` at the solution.
    n_copies : int
        Compact copies of the active sub-block made.
    n_bound : int
        Variables at their upper bound ``C_k`` (the SMO's own flags: clipped values equal ``C_k``).
    """
    cdef Smo s
    cdef Outcome outcome
    cdef Py_ssize_t k, l = index.shape[0]
    if bi.shape[0] < l + PREFETCH_DISTANCE:
        raise ValueError(f"bi has {bi.shape[0]} entries, need {l + PREFETCH_DISTANCE}")
    if ready.shape[0] and (ready.shape[0] != n_block or X.shape[0] != n_block * n_features
                           or sqnorm.shape[0] != n_block):
        raise ValueError(f"ready, X and sqnorm must have {n_block} rows of {n_features} features")
    with nogil:
        _prepare(&s, &K[0], n_block, l, eps, cache_bytes, &work[0], &bi[0], &origin[0], &y_work[0], &flag[0])
        if ready.shape[0]:
            s.ready = &ready[0]
            s.X = &X[0]
            s.sqnorm = &sqnorm[0]
            s.n_features = n_features
            s.gamma = gamma
            _squared_norms(&s)
        for k in range(l):
            s.bi[k] = index[k]
            s.y[k] = y[k]
            s.C[k] = C[k]
            s.alpha[k] = alpha[k]
        outcome = _run_smo(&s, shrinking, max_iter, &alpha[0])
    return outcome.n_iter, outcome.rho, outcome.objective, outcome.n_copies, outcome.n_bound


cdef void _free_all(double *work, int32_t *bi, int64_t *origin, int8_t *y, uint8_t *flag) noexcept nogil:
    free(work)
    free(bi)
    free(origin)
    free(y)
    free(flag)


cdef double _thread_seconds() noexcept nogil:
    cdef timespec now
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
    return now.tv_sec + 1e-9 * now.tv_nsec


def solve_tasks(const double[::1] K, Py_ssize_t n_block, const int32_t[::1] block_fold, Py_ssize_t n_pos,
                const int32_t[::1] task_fold, const double[::1] task_C, double weight_pos, double weight_neg,
                double eps, bint shrinking, Py_ssize_t cache_bytes, bint shortcut,
                double[::1] coef, const int64_t[::1] coef_start, double[::1] rho, int64_t[::1] n_iter,
                uint8_t[::1] free_, uint8_t[::1] repeated, double[::1] seconds):
    """Solve a pair block's binary problems for several (fold, C) tasks in one call, without the GIL.

    The grid's chains call this once per class pair instead of once per
    (fold, C): the per-problem Python work (index, signs, bounds, scratch
    arrays, results) is the GIL-holding part that kept threads from scaling.

    Task ``t`` trains on the block samples ``k`` with ``block_fold[k] !=
    task_fold[t]`` (every sample for a fold no sample has), in block order,
    ``+1`` for ``k < n_pos`` and ``-1`` after, with bounds ``weight_pos * C``
    and ``weight_neg * C`` (``C = task_C[t]``), and LIBSVM's iteration limit
    (:func:`libsvm_max_iter`).  The tasks of a fold come together, C
    ascending: with ``shortcut``, a task after a solution of the same fold
    with no multiplier at its bound repeats it (the exact C shortcut:
    ``repeated[t] = 1``, nothing else written for ``t``).

    Parameters
    ----------
    K : memoryview of shape (n_block * n_block,), float64
    block_fold : memoryview of shape (n_block,), int32
    task_fold : memoryview of shape (n_tasks,), int32
    task_C : memoryview of shape (n_tasks,), float64
    coef : memoryview, float64
        Output: ``alpha * y`` of task ``t`` at ``coef[coef_start[t]:]``, one
        value per training sample.
    coef_start : memoryview of shape (n_tasks,), int64
    rho, n_iter, free_, repeated, seconds : memoryviews of shape (n_tasks,)
        Outputs: the bias, the SMO's iterations, 1 where no multiplier is at
        its bound, 1 for a repeated solution, and the thread's CPU seconds of
        each task.
    """
    cdef Smo s
    cdef Outcome outcome
    cdef Py_ssize_t t, k, l, n_train_pos, n_tasks = task_fold.shape[0]
    cdef double started, C
    cdef double *work = <double *> malloc(6 * n_block * sizeof(double))
    cdef int32_t *bi = <int32_t *> malloc((n_block + PREFETCH_DISTANCE) * sizeof(int32_t))
    cdef int64_t *origin = <int64_t *> malloc(n_block * sizeof(int64_t))
    cdef int8_t *y = <int8_t *> malloc(n_block * sizeof(int8_t))
    cdef uint8_t *flag = <uint8_t *> malloc(n_block * sizeof(uint8_t))
    cdef double *alpha
    if work == NULL or bi == NULL or origin == NULL or y == NULL or flag == NULL:
        _free_all(work, bi, origin, y, flag)
        raise MemoryError()
    alpha = work + 5 * n_block
    with nogil:
        for t in range(n_tasks):
            started = _thread_seconds()
            repeated[t] = shortcut and t > 0 and task_fold[t] == task_fold[t - 1] and free_[t - 1]
            if repeated[t]:
                free_[t] = free_[t - 1]
                seconds[t] = _thread_seconds() - started
                continue
            # The training samples in block order: the first n_train_pos are the +1 class's.
            l = n_train_pos = 0
            for k in range(n_block):
                if block_fold[k] != task_fold[t]:
                    bi[l] = <int32_t> k
                    l += 1
                    n_train_pos += k < n_pos
            _prepare(&s, &K[0], n_block, l, eps, cache_bytes, work, bi, origin, y, flag)
            C = task_C[t]
            for k in range(l):
                s.y[k] = 1 if k < n_train_pos else -1
                s.C[k] = weight_pos * C if k < n_train_pos else weight_neg * C
                s.alpha[k] = 0.0
            outcome = _run_smo(&s, shrinking, _libsvm_max_iter(l), alpha)
            for k in range(l):
                coef[coef_start[t] + k] = alpha[k] if k < n_train_pos else -alpha[k]
            rho[t] = outcome.rho
            n_iter[t] = outcome.n_iter
            free_[t] = outcome.n_bound == 0
            seconds[t] = _thread_seconds() - started
    _free_all(work, bi, origin, y, flag)
