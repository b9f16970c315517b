"""Chains: the grid's unit of work with the pisvm solver.

A chain is (gamma, a group of one-vs-one class pairs, every fold, every C);
on many ranks a long chain is split into chains of contiguous folds
(:func:`make_chains`).  For each pair of the group it builds one RBF kernel
block over all the pair's training samples (every fold; each class's own
block is computed once per chain, see :class:`PairBlocks`) and solves every
fold and every C on index subsets of that block with
:func:`pisvm.svm.solver.solve_folds` (one call per pair, without the GIL), C ascending,
with the exact C shortcut: a solution with no multiplier at its upper bound
meets the optimality conditions of every larger C (they do not mention C,
only the bounds, which no multiplier touches), so larger C reuse it (same
alpha, same rho) without a solve.  The pair's block is then freed.

Scoring: every binary classifier (a, b) predicts every held-out row of its
fold (all classes, as LIBSVM's one-vs-one vote needs).  Fold by fold, in
fixed chunks of held-out rows, the kernel rows between the chunk and the
fold's training samples of each class of the group are computed once and
shared by every pair of the group involving that class and by every C: one
BLAS product per class sums the class's share of all those decision values.

A chain emits the engine's ordinary records, one per (fold, C) task, with
``pairs`` and packed ``wins`` (or the task's ``correct`` count when the group
holds every pair of the fold), so :class:`pisvm.grid.engine.TaskResults`, the
vote, the journal and resume work unchanged.

Determinism: a pair's block and solutions do not depend on the group it is
in, but its decision values can, in their last bits: BLAS sums a product in
an order that can depend on the product's shape (how many classifiers share
a class's kernel rows, which samples are support vectors of any of them).
That changes a decision value by far less than :func:`_borderline_thresholds`;
rows whose decision value is within that threshold of 0 are recomputed one
by one in a fixed order, so the sign of every decision, hence every table,
is the same whatever the grouping, the number of ranks or which rank solved
what.
"""

import dataclasses
import functools
import itertools
import math
import resource
import time
from dataclasses import dataclass

import numpy as np
from threadpoolctl import ThreadpoolController

from ..svm.onevsone import class_pairs, pair_values, vote
from ..svm.solver import CACHE_MB, PairBlocks, rbf_block, rbf_kernel, solve_folds
from .cells import TEST_FOLD
from .engine import make_record

CHUNK_ROWS = 256
"""Held-out rows scored together (bounds the kernel rows held at once)."""

SUPPORT_COLUMNS = 4096
"""Support vectors (of several classes) whose kernel rows with a chunk are computed by one product."""

LONGEST_SHARE = 3.0
"""On N ranks, a chain estimated at more than 1 / LONGEST_SHARE of a rank's share of the grid is split by folds."""

SOLUTIONS_MB = 256.0
"""Budget for one chain's stored solutions (all its pairs, folds and C), in MB."""

GROUPS_PER_RANK = 3
"""Pair groups per rank (over all gammas) wanted under MPI: more, smaller groups on more ranks.

Each group a class is in computes the class's own block and its held-out
kernel rows again, so few groups; the long chains are then split by folds
(:data:`LONGEST_SHARE`), which only builds their blocks again.  Measured on
the seed problem at scale 0.2 for 80 ranks: 8 groups per rank did 1.7 times
one rank's work, 3 per rank with the splits 1.36 times (docs/benchmarks.md).
"""


@dataclass(frozen=True)
class Chain:
    """One chain of work.

    Attributes
    ----------
    gamma : float
    pairs : tuple of (int, int)
        Class pairs ``(a, b)``, ``a < b``, indices into the sorted training
        classes (``problem.classes(TEST_FOLD)``), in LIBSVM's order.
    tasks : tuple of (int, float, tuple)
        ``(fold, C, pairs)``: the tasks the chain records and, for each, the
        pairs of ``pairs`` it records (those not in the journal yet).
    cost : float
        Estimated relative cost: the sum over tasks of their pairs'
        :func:`pisvm.svm.onevsone.pair_costs` (squared pair sizes weighted
        by the classes' overlap).
    index : int
        Position in :func:`make_chains`' list: the chain's number in its records (``chain``).
    """

    gamma: float
    pairs: tuple
    tasks: tuple
    cost: float
    index: int = 0

    @property
    def n_records(self):
        return len(self.tasks)


class PisvmSolver:
    """The grid's own solver: chains of kernel blocks and :func:`pisvm.svm.solver.solve_folds`.

    Parameters
    ----------
    tol : float, default 1e-3
        Stopping tolerance (LIBSVM ``-e``).
    shrinking : bool, default True
    class_weight : dict, optional
        ``{label: weight}``; class ``label`` gets ``C * weight`` (LIBSVM ``-wi``).
    shortcut : bool, default True
        Reuse a solution with no multiplier at its bound for larger C.
    cache_mb : float, default pisvm.svm.solver.CACHE_MB
        Memory for the SMO's compact copy of the active sub-block, MB (``-m``).
    """

    name = "pisvm"

    def __init__(self, tol=1e-3, shrinking=True, class_weight=None, shortcut=True, cache_mb=CACHE_MB):
        self.tol = tol
        self.shrinking = shrinking
        self.class_weight = class_weight or {}
        self.shortcut = shortcut
        self.cache_mb = cache_mb

    def weight(self, label):
        """C factor of class ``label``."""
        return float(self.class_weight.get(label, 1.0))

    def plan(self, problem, gammas, costs, folds, n_workers, n_parts=None, done=None):
        """The chains of a grid phase for ``n_workers`` ranks or threads (the engine's solver protocol,
        see :class:`pisvm.grid.engine.UnitSolver`); ``n_parts`` pair groups per gamma if given."""
        groups = choose_groups(problem, len(gammas), len(costs), n_workers, n_parts)
        return make_chains(problem, gammas, costs, folds, groups, done=done, n_ranks=n_workers)

    def scheduler(self, chains):
        """A :class:`ChainScheduler` of ``chains``."""
        return ChainScheduler(chains)

    def compute(self, chain, problem):
        """The chain's records, one per task (:func:`compute_chain`)."""
        return compute_chain(chain, problem, self)

    def solve_pair(self, K, block_fold, n_a, task_fold, task_C, weights):
        """Solve a pair block's binary problems for some (fold, C) tasks, with the C shortcut.

        Parameters
        ----------
        K : ndarray of shape (n_block, n_block), float64, C-contiguous
            The pair's block: class a's samples, then class b's.
        block_fold : ndarray of shape (n_block,), int32
            Fold of each block sample.
        n_a : int
            Class a's samples (the +1 class).
        task_fold : ndarray of shape (n_tasks,), int32
            Fold of each task (:data:`TEST_FOLD` trains on every sample); a
            fold's tasks come together.
        task_C : ndarray of shape (n_tasks,), float64
            C of each task, ascending within a fold.
        weights : (float, float)
            C factors of class a and class b.

        Returns
        -------
        solutions : list of Solution
            The distinct solutions, in task order.
        which : ndarray of shape (n_tasks,), int
            Index into ``solutions`` of each task's: the C shortcut gives a
            task its fold's previous task's solution.
        seconds : ndarray of shape (n_tasks,)
            CPU seconds of this thread spent on each task.
        """
        coefs, rho, n_iter, free, seconds = solve_folds(
            K, block_fold, n_a, task_fold, task_C, weights, tol=self.tol, shrinking=self.shrinking,
            cache_mb=self.cache_mb, shortcut=self.shortcut)
        solved = np.flatnonzero([coef is not None for coef in coefs])
        solutions = [Solution(coefs[t], r, n, f) for t, r, n, f in
                     zip(solved.tolist(), rho[solved].tolist(), n_iter[solved].tolist(), free[solved].tolist())]
        which = np.zeros(len(coefs), dtype=np.int64)
        which[solved] = 1
        return solutions, np.cumsum(which) - 1, seconds


class Solution:
    """A binary solution: ``coef = alpha * y`` over the training samples (class a's, then b's) and ``rho``."""

    __slots__ = ("coef", "free", "n_iter", "rho")

    def __init__(self, coef, rho, n_iter, free):
        self.coef, self.rho, self.n_iter, self.free = coef, rho, n_iter, free


def _borderline_thresholds(gamma, squared_norm_max, coef, starts, rho):
    """Decision values closer to 0 than these are recomputed in a fixed order, one per solution.

    Far above the rounding of the BLAS path (kernel values: relative error of
    about ``gamma * 35 * eps * (|x|^2 + |y|^2)``; sums: ``n * eps * sum|coef|``)
    so that a decision beyond it has the sign of the exact value.

    Parameters
    ----------
    gamma, squared_norm_max : float
    coef : ndarray
        Every solution's coefficients, one after the other.
    starts : ndarray of shape (n_solutions,)
        Where each solution's coefficients start in ``coef``.
    rho : ndarray of shape (n_solutions,)

    Returns
    -------
    ndarray of shape (n_solutions,)
    """
    scale = np.add.reduceat(np.abs(coef), starts) + np.abs(rho)
    return (1e-9 + 1e-12 * gamma * squared_norm_max) * scale


def decisions(rows, class_train, pairs, solutions, gamma):
    """Decision values of binary classifiers on rows, kernel rows shared per class.

    Kernel rows are computed for the samples that are support vectors of at
    least one of the classifiers (of each class), in chunks of
    :data:`CHUNK_ROWS` rows (several classes' in one product, up to
    :data:`SUPPORT_COLUMNS` samples); one product per (chunk, class) gives
    the class's share of each of its classifiers' decision values, and
    :func:`pisvm.svm.onevsone.pair_values` adds a classifier's two shares.

    Parameters
    ----------
    rows : ndarray of shape (n_rows, n_features), float64
    class_train : dict or list
        ``class_train[c]``: training samples of class ``c``, ndarray of shape
        (n_c, n_features), in the order of the solutions' coefficients.
    pairs : list of (int, int)
        Class pair of each classifier.
    solutions : list of Solution
        One per pair; ``coef`` holds class a's samples then class b's.
    gamma : float

    Returns
    -------
    ndarray of shape (n_rows, n_models), float64
        ``sum_k coef_k K(row, x_k) - rho``; > 0 means class a.
    """
    ends = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    lengths = np.array([len(solution.coef) for solution in solutions], dtype=np.int64)
    starts = np.cumsum(lengths) - lengths
    coef = np.concatenate([solution.coef for solution in solutions])
    rho = np.array([solution.rho for solution in solutions])
    n_train = {c: len(class_train[c]) for c in np.unique(ends).tolist()}
    n_first = lengths - np.array([n_train[b] for b in ends[:, 1].tolist()], dtype=np.int64)
    weights = {}  # {class: (its classifiers, their coefficients of its support samples, those samples)}
    for c, n_c in n_train.items():
        models = np.flatnonzero((ends[:, 0] == c) | (ends[:, 1] == c))
        offset = starts[models] + np.where(ends[models, 0] == c, 0, n_first[models])
        W = coef[offset + np.arange(n_c)[:, np.newaxis]]  # (n_c, len(models)): class c's share of each
        support = np.flatnonzero(np.any(W != 0.0, axis=1))  # samples no classifier uses need no kernel row
        weights[c] = (models, np.ascontiguousarray(W[support]), np.ascontiguousarray(class_train[c][support]))
    batches, batch = [], []  # classes whose kernel rows are computed together, at most SUPPORT_COLUMNS a batch
    for c in sorted(weights):
        if batch and sum(len(weights[k][2]) for k in batch) + len(weights[c][2]) > SUPPORT_COLUMNS:
            batches.append(batch)
            batch = []
        batch.append(c)
    batches.append(batch)
    batches = [(batch, np.concatenate([weights[c][2] for c in batch]),
                np.cumsum([0] + [len(weights[c][2]) for c in batch])) for batch in batches if batch]
    # Each class's share of its classifiers' values goes to its own columns of `shares` (pair_values sums them).
    share_start = dict(zip(weights, np.cumsum([0] + [len(models) for models, _, _ in weights.values()])))
    first_share, second_share = np.empty(len(solutions), np.int64), np.empty(len(solutions), np.int64)
    for c, (models, _, _) in weights.items():
        position = share_start[c] + np.arange(len(models))
        is_first = ends[models, 0] == c
        first_share[models[is_first]] = position[is_first]
        second_share[models[~is_first]] = position[~is_first]
    shares = np.empty((min(len(rows), CHUNK_ROWS), 2 * len(solutions)))
    decision = np.empty((len(rows), len(solutions)))
    for start in range(0, len(rows), CHUNK_ROWS):
        chunk = rows[start:start + CHUNK_ROWS]
        chunk_shares = shares[:len(chunk)]
        for batch, support, edges in batches:
            K = rbf_kernel(chunk, support, gamma)
            for c, lo, hi in zip(batch, edges[:-1], edges[1:]):
                _, W, _ = weights[c]
                np.matmul(K[:, lo:hi], W, out=chunk_shares[:, share_start[c]:share_start[c] + W.shape[1]])
        pair_values(chunk_shares, first_share, second_share, rho, decision[start:start + len(chunk)])
    squared_norm_max = max(float(np.max(np.einsum("ij,ij->i", rows, rows), initial=0.0)),
                           max(float(np.max(np.einsum("ij,ij->i", X, X), initial=0.0))
                               for X in (class_train[c] for c in weights)))
    borderline = np.abs(decision) <= _borderline_thresholds(gamma, squared_norm_max, coef, starts, rho)
    for r, m in zip(*np.nonzero(borderline)):
        a, b = pairs[m]
        decision[r, m] = _exact_decision(rows[r], class_train[a], class_train[b], solutions[m], gamma)
    return decision


def _exact_decision(row, train_a, train_b, solution, gamma):
    """One decision value in an order fixed by the pair alone (exactly rounded final sum)."""
    train = np.concatenate([train_a, train_b])
    used = np.flatnonzero(solution.coef)
    difference = train[used] - row
    kernel = rbf_block(np.sum(difference * difference, axis=1)[np.newaxis], gamma)[0]
    return math.fsum(np.concatenate([kernel * solution.coef[used], [-solution.rho]]))


class _FoldView:
    """A fold's training samples per class, its held-out rows and the fold's numbers of the chain's pairs.

    Built once per fold of every chain, so it numbers only the chain's pairs,
    not all of the fold's.

    Attributes
    ----------
    number : ndarray of shape (n_chain_pairs,), int64
        Index of each of the chain's pairs in :func:`pisvm.svm.onevsone.class_pairs`
        order of the fold's classes; -1 where the fold lacks one of its classes.
    n_pairs : int
        The fold's number of pairs.
    """

    def __init__(self, problem, fold, members, pairs):
        X = problem.X
        if fold == TEST_FOLD:
            self.rows, self.y = np.ascontiguousarray(problem.X_test, dtype=np.float64), problem.y_test
            self.train = {c: X[m] for c, m in members.items()}
        else:
            held_out = problem.fold == fold
            self.rows, self.y = np.ascontiguousarray(X[held_out]), problem.y[held_out]
            self.train = {c: X[m[problem.fold[m] != fold]] for c, m in members.items()}
        self.classes = problem.classes(fold)
        self.number = _fold_pair_numbers(problem, fold, pairs)
        self.n_pairs = len(self.classes) * (len(self.classes) - 1) // 2


def class_groups(n_classes, n_blocks, weights=None):
    """Pair groups as tiles of contiguous class blocks: pairs (a, b) with a in block I, b in block J >= I.

    Parameters
    ----------
    n_classes, n_blocks : int
    weights : array-like of shape (n_classes,), optional
        Blocks of about equal total weight (at least one class each); of
        about equal numbers of classes without.

    Returns
    -------
    list of tuple of (int, int)
        Non-empty groups, each in LIBSVM's pair order, covering every pair once.
    """
    if weights is None:
        edges = np.linspace(0, n_classes, n_blocks + 1).round().astype(int)
    else:
        cumulative = np.concatenate([[0.0], np.cumsum(weights)])
        edges = [0]
        for k in range(1, n_blocks):
            edge = int(np.searchsorted(cumulative, cumulative[-1] * k / n_blocks))
            edges.append(min(max(edge, edges[-1] + 1), n_classes - (n_blocks - k)))
        edges.append(n_classes)
    blocks = [range(lo, hi) for lo, hi in itertools.pairwise(edges)]
    groups = []
    for i, first in enumerate(blocks):
        for second in blocks[i:]:
            pairs = tuple((a, b) for a in first for b in second if a < b)
            if pairs:
                groups.append(pairs)
    return groups


def choose_groups(problem, n_gammas, n_costs, n_ranks, n_parts=None):
    """Pair groups for a grid: enough chains for ``n_ranks``, each within :data:`SOLUTIONS_MB`.

    The class blocks are of about equal weight, a class's weight being the
    square root of the summed estimated costs of its pairs
    (:meth:`pisvm.grid.engine.Problem.pairs_cost`): the tiles of large or
    overlapping classes are smaller, so fewer chains need splitting by folds
    (which builds all of their pair blocks again).  Measured on the seed problem at
    scale 0.2 for 80 ranks: 1.15 to 1.25 times one rank's work with the overlap
    of 32 points a class, 1.29 with 64 (whose estimate orders the chains better:
    replayed at 81 % efficiency against 70 %), against 1.34 with blocks of
    equal numbers of classes (docs/benchmarks.md).

    Parameters
    ----------
    problem : pisvm.grid.engine.Problem
    n_gammas, n_costs : int
    n_ranks : int
    n_parts : int, optional
        Groups wanted per gamma (``--parts``); by default 1 on one rank (the
        least kernel work: held-out kernel rows of a class are computed once
        per group), else ``ceil(GROUPS_PER_RANK * n_ranks / n_gammas)``.

    Returns
    -------
    list of tuple of (int, int)
    """
    counts = np.unique(problem.y, return_counts=True)[1]
    n_classes = len(counts)
    wanted = n_parts or (1 if n_ranks == 1 else -(-GROUPS_PER_RANK * n_ranks // n_gammas))
    mean_pair = 2.0 * counts.mean()
    max_pairs = max(1, int(SOLUTIONS_MB * 2**20 / (8 * mean_pair * problem.n_folds * n_costs)))
    n_pairs = n_classes * (n_classes - 1) // 2
    weights = np.zeros(n_classes)
    for (a, b), cost in zip(class_pairs(n_classes), problem.pairs_cost(TEST_FOLD)):
        weights[a] += cost
        weights[b] += cost
    weights = np.sqrt(weights)
    for n_blocks in range(1, n_classes + 1):
        groups = class_groups(n_classes, n_blocks, weights)
        if len(groups) >= min(wanted, n_pairs) and max(len(g) for g in groups) <= max_pairs:
            return groups
    return class_groups(n_classes, n_classes)


def make_chains(problem, gammas, costs, folds, groups, done=None, n_ranks=1):
    """List the chains of a grid, largest estimated cost first (a fixed order).

    On more than one rank, a chain whose estimated cost is more than
    ``1 / LONGEST_SHARE`` of a rank's share of the grid is split by folds
    (:func:`split_by_folds`), so that the longest chain does not bound the
    grid's time: each part builds the pair blocks again (a small part of a
    chain's work), but solves and scores only its folds.

    Parameters
    ----------
    problem : pisvm.grid.engine.Problem
    gammas, costs : list of float
    folds : list of int
    groups : list of tuple of (int, int)
        From :func:`choose_groups`.
    done : callable, optional
        ``done(task)``: pair indices of the task already recorded, or "all".
    n_ranks : int, default 1
        Ranks the chains are made for.

    Returns
    -------
    list of Chain
        Chains with nothing left to record are left out.
    """
    all_classes = problem.classes(TEST_FOLD)
    pair_cost = dict(zip(class_pairs(len(all_classes)), problem.pairs_cost(TEST_FOLD).tolist()))
    numbering = {fold: _pair_numbering(problem, fold) for fold in folds}
    # A group's pairs in each fold, and their cost: the same for every gamma and C.
    in_fold = []
    for group in groups:
        by_fold = {fold: tuple(pair for pair in group if pair in numbering[fold]) for fold in folds}
        in_fold.append({fold: (pairs, sum(pair_cost[pair] for pair in pairs)) for fold, pairs in by_fold.items()})
    chains = []
    for gamma in gammas:
        for g, group in enumerate(groups):
            tasks, cost, used = [], 0.0, set()
            for fold in folds:
                for C in costs:
                    finished = done((gamma, C, fold)) if done else ()
                    if finished == "all":
                        continue
                    record, record_cost = in_fold[g][fold]
                    if finished:
                        record = tuple(pair for pair in record if numbering[fold][pair] not in finished)
                        record_cost = sum(pair_cost[pair] for pair in record)
                    if record:
                        tasks.append((fold, C, record))
                        used.update(record)
                        cost += record_cost
            if tasks:
                chains.append(Chain(gamma, tuple(p for p in group if p in used), tuple(tasks), cost))
    if n_ranks > 1 and chains:
        limit = sum(chain.cost for chain in chains) / (n_ranks * LONGEST_SHARE)
        chains = [part for chain in chains for part in split_by_folds(chain, math.ceil(chain.cost / limit - 1e-9))]
    order = sorted(range(len(chains)), key=lambda i: (-chains[i].cost, i))
    return [dataclasses.replace(chains[i], index=k) for k, i in enumerate(order)]


def split_by_folds(chain, n_parts):
    """Split a chain into up to ``n_parts`` chains of contiguous folds, each with about as many binary problems.

    A part holds every task of its folds; its pairs are those its tasks
    record, its estimated cost the chain's times its share of the binary problems.

    Returns
    -------
    list of Chain
        ``[chain]`` when ``n_parts <= 1`` or the chain has one fold.
    """
    folds = list(dict.fromkeys(fold for fold, _, _ in chain.tasks))
    n_parts = min(n_parts, len(folds))
    if n_parts <= 1:
        return [chain]
    fold_cost = dict.fromkeys(folds, 0.0)
    for fold, _, pairs in chain.tasks:
        fold_cost[fold] += len(pairs)
    cumulative = np.cumsum([fold_cost[fold] for fold in folds])
    # the fold that ends each part: the first whose cumulative share reaches k / n_parts
    ends = np.searchsorted(cumulative, cumulative[-1] * np.arange(1, n_parts) / n_parts - 1e-9)
    bounds = [0] + sorted({int(end) + 1 for end in ends}) + [len(folds)]
    parts = []
    for lo, hi in itertools.pairwise(bounds):
        if lo >= hi:
            continue
        mine = set(folds[lo:hi])
        tasks = tuple(task for task in chain.tasks if task[0] in mine)
        used = {pair for _, _, pairs in tasks for pair in pairs}
        share = sum(fold_cost[fold] for fold in mine) / cumulative[-1]
        parts.append(Chain(chain.gamma, tuple(p for p in chain.pairs if p in used), tasks, chain.cost * share))
    return parts


def _fold_pair_numbers(problem, fold, pairs):
    """Each pair's index in :func:`pisvm.svm.onevsone.class_pairs` order of a fold's classes.

    Parameters
    ----------
    problem : pisvm.grid.engine.Problem
    fold : int
    pairs : sequence of (int, int)
        Pairs of indices into ``problem.classes(TEST_FOLD)``, first < second.

    Returns
    -------
    ndarray of shape (len(pairs),), int64
        -1 where the fold's training samples lack one of the pair's classes.
    """
    present = np.searchsorted(problem.classes(TEST_FOLD), problem.classes(fold))  # the fold's classes, as indices
    n = len(present)
    first, second = np.asarray(pairs, dtype=np.int64).reshape(-1, 2).T
    i, j = np.searchsorted(present, first), np.searchsorted(present, second)
    padded = np.append(present, -1)  # position n: no class
    found = (padded[i] == first) & (padded[j] == second)
    return np.where(found, i * n - i * (i + 1) // 2 + j - i - 1, -1)


def _pair_numbering(problem, fold):
    """``{(a, b): index}``: a fold's pair numbers of the global class pairs it trains."""
    pairs = class_pairs(len(problem.classes(TEST_FOLD)))
    return {pair: int(number) for pair, number in zip(pairs, _fold_pair_numbers(problem, fold, pairs)) if number >= 0}


def compute_chain(chain, problem, solver):
    """Run one chain; return its records, one per task (see the module docstring).

    BLAS runs on one thread: the chain's products are small, and threads
    fighting other ranks for the cores made them 30 times slower (measured).

    Parameters
    ----------
    chain : Chain
    problem : pisvm.grid.engine.Problem
    solver : PisvmSolver

    Returns
    -------
    list of dict
        Journal records, in ``chain.tasks`` order, with ``n_iter`` (solver
        iterations of the task's pairs), ``shortcuts`` (pairs solved by the C
        shortcut), ``peak_rss_mb`` (the process's peak memory so far),
        ``chain`` and ``chain_cost`` (the chain's index and estimated cost, for
        :func:`pisvm.grid.timing.predict`) and
        ``seconds``: the CPU seconds of the task (see :func:`_task_seconds`);
        the records' seconds add up to the chain's CPU time.
    """
    with _blas_controller().limit(limits=1, user_api="blas"):
        return _compute_chain(chain, problem, solver)


@functools.cache
def _blas_controller():
    """One :class:`threadpoolctl.ThreadpoolController` per process: finding the libraries costs milliseconds a chain."""
    return ThreadpoolController()


class _ChainTasks:
    """A chain's tasks as arrays.

    Attributes
    ----------
    fold : ndarray of shape (n_tasks,), int32
    C : ndarray of shape (n_tasks,), float64
    rows : list of ndarray of int
        For each task, the positions in ``chain.pairs`` of the pairs it records.
    in_task : ndarray of shape (n_chain_pairs, n_tasks), bool
    folds : list of int
        The folds in the order of the tasks.
    solve_order : ndarray of shape (n_tasks,), int
        The tasks by fold (in ``folds`` order), then C ascending: the order of
        :meth:`PisvmSolver.solve_pair`'s tasks.
    """

    def __init__(self, chain):
        position = {pair: p for p, pair in enumerate(chain.pairs)}
        self.fold = np.array([fold for fold, _, _ in chain.tasks], dtype=np.int32)
        self.C = np.array([C for _, C, _ in chain.tasks], dtype=np.float64)
        known = {}  # tasks record the same pairs, mostly
        for _, _, pairs in chain.tasks:
            if pairs not in known:
                known[pairs] = np.array([position[pair] for pair in pairs], dtype=np.intp)
        self.rows = [known[pairs] for _, _, pairs in chain.tasks]
        self.in_task = np.zeros((len(chain.pairs), len(chain.tasks)), dtype=bool)
        for t, rows in enumerate(self.rows):
            self.in_task[rows, t] = True
        self.folds = list(dict.fromkeys(self.fold.tolist()))
        fold_rank = np.searchsorted(self.folds, self.fold, sorter=np.argsort(self.folds))
        self.solve_order = np.lexsort((self.C, fold_rank))


def _compute_chain(chain, problem, solver):
    start, clock = time.time(), time.thread_time()
    X = np.ascontiguousarray(problem.X, dtype=np.float64)
    all_classes = problem.classes(TEST_FOLD)
    group_classes = sorted({c for pair in chain.pairs for c in pair})
    members = {c: np.flatnonzero(problem.y == all_classes[c]) for c in group_classes}
    tasks = _ChainTasks(chain)
    shape = (len(chain.pairs), len(chain.tasks))
    solution_id = np.full(shape, -1, dtype=np.int64)  # index into solutions of each (pair, task)
    n_iter = np.zeros(shape, dtype=np.int64)
    shortcut = np.zeros(shape, dtype=bool)
    solutions, solution_pairs, solve_s = [], [], np.zeros(len(chain.tasks))
    blocks = PairBlocks(X, members, chain.pairs, chain.gamma)
    for p, (a, b) in enumerate(chain.pairs):
        block_fold = problem.fold[np.concatenate([members[a], members[b]])].astype(np.int32)
        weights = (solver.weight(all_classes[a]), solver.weight(all_classes[b]))
        mine = tasks.solve_order[tasks.in_task[p, tasks.solve_order]]
        found, which, seconds = solver.solve_pair(blocks.next_block(), block_fold, len(members[a]),
                                                  tasks.fold[mine], tasks.C[mine], weights)
        solution_id[p, mine] = len(solutions) + which
        shortcut[p, mine[1:]] = which[1:] == which[:-1]
        n_iter[p, mine] = np.array([solution.n_iter for solution in found], dtype=np.int64)[which]
        solutions.extend(found)
        solution_pairs.extend([(a, b)] * len(found))
        solve_s[mine] += seconds
    n_iter[shortcut] = 0
    views, a_wins, column, score_s = {}, {}, {}, {}
    for fold in tasks.folds:
        clock_fold = time.thread_time()
        views[fold] = _FoldView(problem, fold, members, chain.pairs)
        a_wins[fold], column[fold] = _score(views[fold], solution_id[:, tasks.fold == fold], solutions,
                                            solution_pairs, chain.gamma)
        score_s[fold] = time.thread_time() - clock_fold
    seconds = _task_seconds(tasks.fold, solve_s, score_s, time.thread_time() - clock)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    end = time.time()
    records = []
    for t, (fold, C, pairs) in enumerate(chain.tasks):
        view = views[fold]
        rows = tasks.rows[t][np.argsort(view.number[tasks.rows[t]])]  # in the fold's pair order
        stats = dict(seconds=float(seconds[t]), start=start, end=end, n_iter=int(n_iter[rows, t].sum()),
                     shortcuts=int(shortcut[rows, t].sum()), peak_rss_mb=peak_mb, chain=chain.index,
                     chain_cost=chain.cost)
        wins = a_wins[fold][:, column[fold][solution_id[rows, t]]]
        if len(pairs) == view.n_pairs and fold != TEST_FOLD:
            predicted = view.classes[vote(wins, len(view.classes))]
            records.append(make_record((chain.gamma, C, fold), len(view.rows),
                                       correct=int(np.sum(predicted == view.y)), **stats))
        else:
            records.append(make_record((chain.gamma, C, fold), len(view.rows), pairs=view.number[rows],
                                       wins=wins.T, **stats))
    return records


def _task_seconds(task_fold, solve_s, score_s, chain_s):
    """CPU seconds of each task of a chain: its own solves plus its shares of the shared work.

    A task's share of its fold's scoring (held-out kernel rows serve every C
    of the fold) is its fold's scoring time split equally over the fold's
    tasks; the rest of the chain's time (the pair blocks, which serve every
    fold and C, and the fold views) is split equally over all tasks.

    Parameters
    ----------
    task_fold : ndarray of shape (n_tasks,)
        Fold of each task.
    solve_s : ndarray of shape (n_tasks,)
        CPU seconds of each task's solves.
    score_s : dict
        ``{fold: CPU seconds of scoring the fold}``.
    chain_s : float
        CPU seconds of the whole chain.

    Returns
    -------
    ndarray of shape (n_tasks,)
        Seconds of each task, summing to ``chain_s``.
    """
    folds, of_task, tasks_of_fold = np.unique(task_fold, return_inverse=True, return_counts=True)
    fold_s = np.array([score_s[fold] for fold in folds.tolist()])
    shared_s = chain_s - solve_s.sum() - fold_s.sum()
    return solve_s + (fold_s / tasks_of_fold)[of_task] + shared_s / len(task_fold)


def _score(view, solution_id, solutions, solution_pairs, gamma):
    """Wins on a fold's held-out rows of the solutions its tasks use, each distinct solution scored once.

    Parameters
    ----------
    view : _FoldView
    solution_id : ndarray of shape (n_chain_pairs, n_fold_tasks), int
        Index into ``solutions`` of each (pair, task) of the fold; -1 where a task does not record the pair.
    solutions : list of Solution
    solution_pairs : list of (int, int)
        The class pair of each solution.
    gamma : float

    Returns
    -------
    a_wins : ndarray of shape (n_rows, n_distinct), bool
        True where the pair's first class wins.
    column : ndarray of shape (len(solutions),), int
        Column of ``a_wins`` of each solution (-1 for those of other folds).
    """
    used = solution_id.T[solution_id.T >= 0]  # task by task, as the tasks list them
    _, first = np.unique(used, return_index=True)
    distinct = used[np.sort(first)]
    decision = decisions(view.rows, view.train, [solution_pairs[i] for i in distinct],
                         [solutions[i] for i in distinct], gamma)
    column = np.full(len(solutions), -1, dtype=np.int64)
    column[distinct] = np.arange(len(distinct))
    return decision > 0, column


class ChainScheduler:
    """Hands out chains longest first, with costs learnt while the grid runs.

    The predicted seconds of a chain are its estimated cost times the
    seconds per unit of cost measured on finished chains of the same gamma
    (of every gamma before one of its own has finished; the estimate alone
    before any has).  This is longest-processing-time-first, so the short
    chains fill the end.  The order only moves work between ranks: results
    do not depend on it.

    Parameters
    ----------
    chains : list of Chain
        From :func:`make_chains`.
    """

    def __init__(self, chains):
        self._pending = list(chains)
        self._observed = {}

    def next_unit(self):
        """Return the next chain to compute, or None when all are handed out."""
        if not self._pending:
            return None
        best = max(range(len(self._pending)), key=lambda i: (self.predicted_s(self._pending[i]), -i))
        return self._pending.pop(best)

    def finished(self, chain, seconds):
        """Learn seconds per unit of cost from a finished chain."""
        if chain.cost > 0:
            self._observed.setdefault(chain.gamma, []).append(seconds / chain.cost)

    def predicted_s(self, chain):
        """Predicted seconds of ``chain`` (relative units before any measurement)."""
        rates = self._observed.get(chain.gamma) or [r for rs in self._observed.values() for r in rs] or [1.0]
        return chain.cost * float(np.mean(rates))
