"""The grid's own SVM solver: RBF kernel blocks by BLAS and LIBSVM's binary C-SVC SMO in Cython.

A kernel block holds the kernel values of every pair of a set of samples
(for the grid: all samples of a class pair, all folds), so one block serves
every fold and every C of a (gamma, class pair).  :func:`solve_binary` solves
the binary C-SVC dual of a subset of the block's samples (a fold's training
samples) the way LIBSVM's ``Solver`` does, reading the kernel values from the
block instead of computing and caching them, without the GIL.  The training
blocks hold float32 values, as LIBSVM's cache does, so the SMO's steps are
LIBSVM's.
"""

import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from . import _kernel, _smo

LOG_KERNEL_FLOOR = _smo.LOG_KERNEL_FLOOR
"""Exponent below which :func:`rbf_kernel` and :func:`rbf_block` write an exact 0 (``exp(-460)`` is about 1e-200); see
:data:`pisvm.svm._smo.LOG_KERNEL_FLOOR`."""

CACHE_MB = 200.0
"""Default memory for the SMO's compact copy of the active sub-block, MB (LIBSVM's ``-m``)."""


def libsvm_max_iter(n_train):
    """LIBSVM's iteration limit of a binary problem of ``n_train`` samples: ``max(10_000_000, 100 * n_train)``.

    The one rule: the SMO applies it (:func:`pisvm.svm._smo.libsvm_max_iter`) and
    :func:`solve_binary`, :func:`solve_folds` and ``pisvm.SVC``'s ``fit_status_`` read it.
    """
    return _smo.libsvm_max_iter(n_train)


def rbf_kernel(A, B, gamma, norms_a=None, norms_b=None, float32=False):
    """RBF kernel values ``exp(-gamma |a - b|^2)`` between the rows of ``A`` and ``B``.

    One BLAS product ``A @ B.T`` (one SYRK when ``B`` is ``A``), then one
    compiled pass (:func:`pisvm.svm._kernel.rbf_rows`) that turns each dot
    product into the squared distance ``|a|^2 + |b|^2 - 2 a.b`` (clipped at 0:
    rounding can make it slightly negative) and that into the kernel value.
    Values below ``exp(LOG_KERNEL_FLOOR)`` (about 1e-200) are exact zeros; when
    ``B`` is ``A`` the block is symmetric and its diagonal exactly 1.

    The SMO's blocks are rounded to float32 (``float32=True``), the precision
    of LIBSVM's kernel cache: the SMO then takes LIBSVM's steps bit for bit
    (a value can differ in its last float32 bit where LIBSVM's double, summed
    in another order, sits on a rounding tie: 8 of 20.7 million values on a
    measured pair, which still took LIBSVM's steps).  The decision values (the
    predictor, the folds' scores) keep float64, as LIBSVM's do.

    Parameters
    ----------
    A : array-like of shape (n_a, n_features)
    B : array-like of shape (n_b, n_features)
    gamma : float
        Kernel width, > 0.
    norms_a, norms_b : ndarray of shape (n_a,) and (n_b,), optional
        ``|a|^2`` and ``|b|^2``; by default those of the rows given.  The
        predictor passes the norms of whole rows when a sample has features
        the model has not (they are 0 in its support vectors but count in
        the distance, as in LIBSVM).
    float32 : bool, default False
        Round every value to the nearest float32 (returned as float64).

    Returns
    -------
    K : ndarray of shape (n_a, n_b), dtype float64, C-contiguous
    """
    if not gamma > 0:
        raise ValueError(f"gamma == {gamma}, must be > 0")
    same = B is A
    A = np.ascontiguousarray(A, dtype=np.float64)
    B = A if same else np.ascontiguousarray(B, dtype=np.float64)
    if A.ndim != 2 or B.ndim != 2 or A.shape[1] != B.shape[1]:
        raise ValueError(f"A of shape {A.shape} and B of shape {B.shape}: "
                         "need two 2-D arrays with the same number of columns")
    if norms_a is None:
        norms_a = np.einsum("ij,ij->i", A, A)
    if norms_b is None:
        norms_b = norms_a if same else np.einsum("ij,ij->i", B, B)
    K = np.ascontiguousarray(A @ B.T)  # A @ A.T is one SYRK
    _kernel.rbf_rows(K, norms_a, norms_b, gamma, LOG_KERNEL_FLOOR, float32)
    if same:
        np.fill_diagonal(K, 1.0)
    return K


def rbf_block(squared, gamma):
    """RBF kernel values ``exp(-gamma * squared)`` of squared distances (the exact decisions' kernel rows).

    Values below ``exp(LOG_KERNEL_FLOOR)`` (about 1e-200) are exact zeros, as in
    :func:`rbf_kernel`, with the same ``exp`` (``pisvm/svm/rbf_values.h``:
    within 1 ulp of the C library's, about six times faster than NumPy's on an
    AVX2 CPU, where NumPy's is scalar).

    Parameters
    ----------
    squared : array-like of shape (n_a, n_b), float64
    gamma : float
        Kernel width, > 0.

    Returns
    -------
    K : ndarray of shape (n_a, n_b), dtype float64, C-contiguous
    """
    if not gamma > 0:
        raise ValueError(f"gamma == {gamma}, must be > 0")
    squared = np.ascontiguousarray(squared, dtype=np.float64)
    out = np.empty(squared.shape, dtype=np.float64)
    _kernel.rbf_values_into(squared.reshape(-1), out.reshape(-1), gamma, LOG_KERNEL_FLOOR)
    return out


class PairBlocks:
    """Kernel blocks of a sequence of class pairs, each class's own block computed once.

    The block of pair (a, b) is ``[[K_aa, K_ab], [K_ab', K_bb]]`` over class
    a's samples then class b's.  ``K_aa`` is computed the first time class a
    appears and freed after its last pair; only ``K_ab`` is computed per pair
    (a quarter of the block's entries for classes of equal size).  Every value
    depends only on the two classes, never on the other pairs.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    members : dict
        ``{class: sample indices}``.
    pairs : sequence of (int, int)
    gamma : float
    """

    def __init__(self, X, members, pairs, gamma):
        self.X, self.members, self.pairs, self.gamma = X, members, list(pairs), gamma
        self.last_use = {c: i for i, pair in enumerate(self.pairs) for c in pair}
        self.own = {}
        self.position = 0

    def _own(self, c):
        if c not in self.own:
            own = self.X[self.members[c]]
            self.own[c] = rbf_kernel(own, own, self.gamma, float32=True)
        return self.own[c]

    def next_block(self):
        """Block of the next pair, ndarray of shape (n_a + n_b, n_a + n_b), float64."""
        a, b = self.pairs[self.position]
        n_a, n_b = len(self.members[a]), len(self.members[b])
        K = np.empty((n_a + n_b, n_a + n_b))
        K[:n_a, :n_a] = self._own(a)
        K[n_a:, n_a:] = self._own(b)
        cross = rbf_kernel(self.X[self.members[a]], self.X[self.members[b]], self.gamma, float32=True)
        K[:n_a, n_a:] = cross
        K[n_a:, :n_a] = cross.T
        for c in (a, b):
            if self.last_use[c] == self.position:
                del self.own[c]
        self.position += 1
        return K


@dataclass(frozen=True)
class BinarySolution:
    """Solution of a binary C-SVC dual problem (LIBSVM's conventions).

    Attributes
    ----------
    alpha : ndarray of shape (n_train,), float64
        Dual coefficients in ``[0, C_k]``, in the order of ``index``.
    rho : float
        Bias: the decision value is ``f(x) = sum_k alpha_k y_k K(x, x_k) - rho``;
        ``f > 0`` means the +1 class.
    n_iter : int
        SMO iterations.
    objective : float
        Dual objective ``0.5 a'Qa - e'a`` (LIBSVM's ``obj``).
    n_sv : int
        Number of support vectors (``alpha > 0``).
    n_copies : int
        Compact copies of the active sub-block the SMO made (0 when the budget
        ``cache_mb`` never held one).
    n_bound : int
        Multipliers at their upper bound (``alpha_k == C_k``): none means the
        solution is also the solution for every larger C.
    """

    alpha: np.ndarray
    rho: float
    n_iter: int
    objective: float
    n_sv: int
    n_copies: int = 0
    n_bound: int = 0


def solve_binary(K, index, y, C_pos, C_neg, tol=1e-3, shrinking=True, max_iter=None, cache_mb=CACHE_MB):
    """Solve LIBSVM's binary C-SVC dual on the samples ``index`` of a kernel block.

    Minimises ``0.5 a'Qa - e'a`` subject to ``y'a = 0`` and ``0 <= a_k <= C_k``,
    with ``Q_kt = y_k y_t K[index_k, index_t]``, ``C_k = C_pos`` for ``y_k = +1``
    and ``C_neg`` for ``y_k = -1``, by LIBSVM's SMO (Fan, Chen and Lin 2005:
    second-order working-set selection, shrinking, stopping when the maximal
    violation ``m(a) - M(a)`` is below ``tol``).  The two kernel columns of an
    iteration are read from ``K`` until shrinking has made the active set
    smaller; then from a compact copy of the active sub-block (``cache_mb``
    permitting), kept in active-set order as shrinking goes on, so an
    iteration reads two short contiguous rows (with AVX2 vector loops where
    the CPU has them) instead of scattered columns of two long block rows.
    A block whose samples are in order (``index`` is ``0, 1, ...``) is read
    the same way until shrinking reorders it.  The copy holds the block's
    values exactly: the iterates are the same with any ``cache_mb``.  The loop
    runs without the GIL.  Cost: O(number of active variables) per iteration.

    Parameters
    ----------
    K : ndarray of shape (n_block, n_block), float64, C-contiguous
        Kernel block (symmetric); not copied when already float64 and C-contiguous.
        With values rounded to float32 (``rbf_kernel(..., float32=True)``, as
        LIBSVM caches them) the SMO takes LIBSVM's steps on them, bit for bit.
    index : array-like of shape (n_train,), int
        Positions in the block of the training samples, in LIBSVM's sample order
        (the order decides ties in the working-set selection).
    y : array-like of shape (n_train,)
        +1 (the pair's first class, as in LIBSVM) or -1.
    C_pos, C_neg : float
        Upper bounds for the +1 and -1 samples (class weight times C), > 0.
    tol : float, default 1e-3
        Stopping tolerance (LIBSVM's ``-e``), > 0.
    shrinking : bool, default True
        LIBSVM's shrinking heuristic (``-h``).
    max_iter : int, optional
        Iteration limit; by default LIBSVM's (:func:`libsvm_max_iter`).
        Reaching it warns (:class:`sklearn.exceptions.ConvergenceWarning`).
    cache_mb : float, default CACHE_MB
        Most memory for the compact copy, MB (LIBSVM's ``-m``); 0 reads the block always.

    Returns
    -------
    BinarySolution
    """
    K = np.ascontiguousarray(K, dtype=np.float64)
    if K.ndim != 2 or K.shape[0] != K.shape[1]:
        raise ValueError(f"K of shape {K.shape}: need a square kernel block")
    n_block = K.shape[0]
    index = np.asarray(index)
    if index.ndim != 1 or not np.issubdtype(index.dtype, np.integer):
        raise ValueError(f"index of shape {index.shape} and dtype {index.dtype}: need a 1-D integer array")
    if len(index) == 0:
        raise ValueError("index is empty: need at least one training sample")
    if index.min() < 0 or index.max() >= n_block:
        raise ValueError(f"index values in [{index.min()}, {index.max()}], must be in [0, {n_block})")
    return _solve(K, index, y, C_pos, C_neg, tol, shrinking, max_iter, cache_mb)


def solve_folds(K, block_fold, n_pos, task_fold, task_C, weights, tol=1e-3, shrinking=True, cache_mb=CACHE_MB,
                shortcut=True):
    """Solve the binary problems of one kernel block for several (fold, C) tasks, in one call without the GIL.

    Task ``t`` is :func:`solve_binary` on the block samples whose fold is not
    ``task_fold[t]`` (all samples for a fold none has), in block order, ``+1``
    for the first ``n_pos`` samples and ``-1`` for the others, with bounds
    ``weights[0] * C`` and ``weights[1] * C`` (``C = task_C[t]``).  The tasks of
    a fold come together with C ascending; with ``shortcut`` a task whose
    fold's previous solution has no multiplier at its bound repeats that
    solution (it is also the solution for the larger C).  Arguments are not
    checked (the grid's chains build them).

    Parameters
    ----------
    K : ndarray of shape (n_block, n_block), float64, C-contiguous
    block_fold : ndarray of shape (n_block,), int32
        Fold of each block sample, >= 0.
    n_pos : int
    task_fold : ndarray of shape (n_tasks,), int32
    task_C : ndarray of shape (n_tasks,), float64
    weights : (float, float)
    tol, shrinking, cache_mb
        As in :func:`solve_binary`.
    shortcut : bool, default True

    Returns
    -------
    coef : list of ndarray or None
        ``alpha * y`` of each task over its training samples; None where the
        task repeats the previous task's solution.
    rho : ndarray of shape (n_tasks,)
    n_iter : ndarray of shape (n_tasks,), int64
        0 for a repeated solution.
    free : ndarray of shape (n_tasks,), bool
        No multiplier at its bound.
    seconds : ndarray of shape (n_tasks,)
        CPU seconds of the thread on each task.
    """
    n_tasks = len(task_fold)
    per_fold = np.bincount(block_fold, minlength=int(task_fold.max()) + 1 if n_tasks else 0)
    sizes = len(block_fold) - np.where(task_fold >= 0, per_fold[np.maximum(task_fold, 0)], 0).astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    coef = np.empty(int(sizes.sum()))
    rho, n_iter, seconds = np.zeros(n_tasks), np.zeros(n_tasks, np.int64), np.zeros(n_tasks)
    free, repeated = np.zeros(n_tasks, np.uint8), np.zeros(n_tasks, np.uint8)
    _smo.solve_tasks(K.reshape(-1), K.shape[0], block_fold, n_pos, task_fold, task_C, float(weights[0]),
                     float(weights[1]), float(tol), bool(shrinking), int(cache_mb * 2**20), bool(shortcut),
                     coef, starts, rho, n_iter, free, repeated, seconds)
    # The limit grows with the size: only a task at the smallest size's limit can have reached its own.
    if n_tasks and n_iter.max() >= libsvm_max_iter(int(sizes.min())) and any(
            n >= libsvm_max_iter(size) for n, size in zip(n_iter.tolist(), sizes.tolist())):
        warnings.warn(f"the SMO stopped at LIBSVM's iteration limit before reaching tol == {tol}",
                      ConvergenceWarning, stacklevel=2)
    coefs = [None if again else coef[start:start + size]
             for again, start, size in zip(repeated.tolist(), starts.tolist(), sizes.tolist())]
    return coefs, rho, n_iter, free.astype(bool), seconds


def solve_rbf(X, y, C_pos, C_neg, gamma, tol=1e-3, shrinking=True, max_iter=None, cache_mb=CACHE_MB):
    """Solve the binary C-SVC dual of samples ``X`` with the RBF kernel, computing kernel rows on demand.

    The problem and the SMO are :func:`solve_binary`'s on the block
    ``exp(-gamma |x_k - x_t|^2)`` of ``X``, but a row of the block is computed
    (in Cython, without the GIL) only when the SMO first reads it, the way
    LIBSVM computes kernel columns: one fit pays for the rows it uses, not for
    the whole block.  The block's memory is reserved and only the computed
    rows are touched.  The rows hold LIBSVM's cached values bit for bit: its
    formula with the BLAS ``ddot`` that scikit-learn's LIBSVM calls, rounded to
    float32, so the SMO takes the steps of ``sklearn.svm.SVC``'s fit.
    (:func:`rbf_kernel`'s sums come from a BLAS product: another order.)

    Parameters
    ----------
    X : array-like of shape (n_train, n_features)
        Training samples in LIBSVM's sample order.
    y : array-like of shape (n_train,)
        +1 or -1.
    C_pos, C_neg : float
    gamma : float
        RBF width, > 0.
    tol, shrinking, max_iter, cache_mb
        As in :func:`solve_binary`.

    Returns
    -------
    BinarySolution
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    if X.ndim != 2 or len(X) == 0:
        raise ValueError(f"X of shape {X.shape}: need a 2-D array with at least one sample")
    if not gamma > 0 or not np.isfinite(gamma):
        raise ValueError(f"gamma == {gamma}, must be > 0 and finite")
    n = len(X)
    rows = (np.zeros(n, np.uint8), X.reshape(-1), np.empty(n), X.shape[1], float(gamma))
    return _solve(np.empty((n, n)), np.arange(n), y, C_pos, C_neg, tol, shrinking, max_iter, cache_mb, rows)


def _solve(K, index, y, C_pos, C_neg, tol, shrinking, max_iter, cache_mb, rows=None):
    """Check the rest of the arguments and run the SMO (``rows``: the on-demand RBF rows, or None)."""
    y = np.asarray(y)
    if y.shape != index.shape:
        raise ValueError(f"y of shape {y.shape}, must have the shape of index {index.shape}")
    if not np.all((y == 1) | (y == -1)):
        raise ValueError(f"y holds {sorted(set(np.unique(y).tolist()) - {1, -1})[:3]}: labels must be +1 or -1")
    for name, value in (("C_pos", C_pos), ("C_neg", C_neg), ("tol", tol)):
        if not value > 0 or not np.isfinite(value):
            raise ValueError(f"{name} == {value}, must be > 0 and finite")
    if not 0 <= cache_mb < np.inf:
        raise ValueError(f"cache_mb == {cache_mb}, must be >= 0 and finite")
    if max_iter is not None and max_iter < 0:
        raise ValueError(f"max_iter == {max_iter}, must be >= 0")
    n_train = len(index)
    if max_iter is None:
        max_iter = libsvm_max_iter(n_train)
    y = y.astype(np.int8)
    C = np.where(y > 0, float(C_pos), float(C_neg))
    alpha = np.zeros(n_train)
    n_iter, rho, objective, n_copies, n_bound = _smo.solve(
        K.reshape(-1), K.shape[0], index.astype(np.int32), y, C, float(tol), bool(shrinking), int(max_iter),
        alpha, np.empty(5 * n_train), np.empty(n_train + _smo.PREFETCH_PAD, np.int32),
        np.empty(n_train, np.int64), np.empty(n_train, np.int8), np.empty(n_train, np.uint8), int(cache_mb * 2**20),
        *(rows or _NO_ROWS))
    if n_iter >= max_iter:
        warnings.warn(f"the SMO stopped at max_iter == {max_iter} iterations before reaching tol == {tol}",
                      ConvergenceWarning, stacklevel=2)
    return BinarySolution(alpha=alpha, rho=rho, n_iter=n_iter, objective=objective,
                          n_sv=int(np.count_nonzero(alpha)), n_copies=n_copies, n_bound=n_bound)


_NO_ROWS = (np.empty(0, np.uint8), np.empty(0), np.empty(0), 0, 0.0)
"""``_smo.solve``'s on-demand row arguments when the block is given whole."""
