"""The (gamma, C) grid, its work units, and the order the scheduler hands them out.

A *cell* is one (gamma, C) pair.  A *task* is one cell on one cross-validation
fold (or on the test set, fold :data:`TEST_FOLD`).  A *unit* is what one rank
computes at a time: a whole task, or a group of its one-vs-one binary
problems when tasks are split so that every rank has work.
"""

import math
from dataclasses import dataclass

import numpy as np

TEST_FOLD = -1
"""Fold number of the final fit: train on all training data, predict the test file."""


def check_grid(gammas, costs):
    """Validate the grid; return sorted, de-duplicated float lists ``(gammas, costs)``.

    Raises ``ValueError`` naming the first value that is not a finite number > 0.
    """
    for name, values in (("gamma", gammas), ("C", costs)):
        if len(values) == 0:
            raise ValueError(f"{name}: empty list, give at least one value")
        for value in values:
            if not (isinstance(value, (int, float, np.floating, np.integer)) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} == {value}, must be > 0")
    return sorted({float(g) for g in gammas}), sorted({float(c) for c in costs})


def log2_range(text, name):
    """Parse a LIBSVM ``grid.py`` range ``begin,end,step`` of log2 exponents into values ``2**e``."""
    try:
        begin, end, step = (float(part) for part in text.split(","))
    except ValueError:
        raise ValueError(f"{name} == {text!r}, must be begin,end,step (log2 exponents)") from None
    if step == 0 or (end - begin) * step < 0:
        raise ValueError(f"{name} == {text!r}: step {step:g} never reaches {end:g} from {begin:g}")
    count = int(math.floor((end - begin) / step + 1e-9)) + 1
    return [2.0 ** (begin + i * step) for i in range(count)]


@dataclass(frozen=True)
class Unit:
    """One piece of work.

    Attributes
    ----------
    gamma, C : float
        The cell.
    fold : int
        Cross-validation fold tested, or :data:`TEST_FOLD`.
    pairs : tuple of int or None
        Indices into :func:`pisvm.backends.class_pairs` of the binary problems
        to solve, or None for the whole multi-class problem.
    """

    gamma: float
    C: float
    fold: int
    pairs: tuple = None

    @property
    def task(self):
        """``(gamma, C, fold)``: the task this unit belongs to."""
        return (self.gamma, self.C, self.fold)


def cell_cost(gamma, C):
    """Relative cost estimate of one cell, to hand out long tasks first.

    LIBSVM's work grows with C (more iterations before the box constraints
    bind) and with gamma (more support vectors, fewer cache hits); the
    estimate only needs to order cells, not predict seconds.
    """
    return (1.0 + math.log2(1.0 + C)) * (1.0 + math.log2(1.0 + gamma))


def parts_per_task(n_tasks, n_ranks, n_pairs):
    """How many pair groups each task is split into so that every rank has work.

    Tasks stay whole while there are at least as many tasks as ranks (a full
    250-task grid on 80 ranks); otherwise ``ceil(n_ranks / n_tasks)``, at most
    ``n_pairs`` (one cell's 10 folds on 80 ranks: 8 groups per fold).
    Splitting costs extra work (each binary model predicts the whole test
    fold), so it is used only where ranks would otherwise idle.
    """
    if n_tasks >= n_ranks:
        return 1
    return max(1, min(n_pairs, -(-n_ranks // n_tasks)))


def split_pairs(pairs_cost, n_parts):
    """Split pair indices into ``n_parts`` contiguous groups of about equal cost.

    Parameters
    ----------
    pairs_cost : ndarray of shape (n_pairs,)
        Estimated cost of each binary problem (e.g. squared sample count).
    n_parts : int

    Returns
    -------
    list of tuple of int
        Non-empty groups covering ``range(n_pairs)`` in order.
    """
    cumulative = np.cumsum(pairs_cost) / np.sum(pairs_cost)
    bounds = np.searchsorted(cumulative, np.arange(1, n_parts) / n_parts, side="right")
    edges = np.unique(np.concatenate([[0], bounds, [len(pairs_cost)]]))
    return [tuple(range(lo, hi)) for lo, hi in zip(edges[:-1], edges[1:]) if hi > lo]


def make_units(gammas, costs, folds, n_parts=1, pairs_cost=None, done=None):
    """List the units of a grid in the order the scheduler hands them out.

    Cells go from the most to the least expensive estimate
    (:func:`cell_cost`), a cell's folds (and their pair groups) together, so
    long work starts first and a cell's tasks run side by side: the wall-clock
    span of a cell is then the time until its result is known, as in the
    seeds' parallel table.

    Parameters
    ----------
    gammas, costs : list of float
    folds : list of int
        Fold numbers to run (cross-validation folds and/or :data:`TEST_FOLD`).
    n_parts : int, default 1
        Pair groups per task; 1 keeps tasks whole.
    pairs_cost : callable, optional
        ``pairs_cost(fold)`` returns the estimated cost of each binary problem
        of that fold, ndarray of shape (n_pairs,); needed when ``n_parts > 1``
        or some pairs are done.
    done : callable, optional
        ``done(task)`` returns the set of pair indices already finished
        (``None`` pairs meaning the whole task); finished work is skipped.

    Returns
    -------
    list of Unit
    """
    cells = sorted(((g, c) for g in gammas for c in costs), key=lambda cell: -cell_cost(*cell))
    units = []
    for gamma, C in cells:
        for fold in folds:
            finished = done((gamma, C, fold)) if done else set()
            if finished == "all":
                continue
            if n_parts == 1 and not finished:
                units.append(Unit(gamma, C, fold))
                continue
            cost = pairs_cost(fold)
            remaining = np.array([p for p in range(len(cost)) if p not in finished], dtype=np.int64)
            for group in split_pairs(cost[remaining], max(1, min(n_parts, len(remaining)))):
                units.append(Unit(gamma, C, fold, tuple(int(p) for p in remaining[list(group)])))
    return units


def replay_schedule(durations_s, n_ranks):
    """Replay unit durations through the engine's dynamic scheduler.

    Every rank (rank 0 included) takes the next unit in list order as soon
    as it is free, which is what the engine does.

    Parameters
    ----------
    durations_s : array-like of shape (n_units,)
        Seconds of each unit, in hand-out order.
    n_ranks : int

    Returns
    -------
    start_s, end_s : ndarray of shape (n_units,)
        When each unit would start and end, in seconds from the run's start.
    """
    import heapq

    free_at = [(0.0, rank) for rank in range(n_ranks)]
    start = np.empty(len(durations_s))
    end = np.empty(len(durations_s))
    for i, duration in enumerate(durations_s):
        start[i], rank = heapq.heappop(free_at)
        end[i] = start[i] + float(duration)
        heapq.heappush(free_at, (end[i], rank))
    return start, end


def simulate_schedule(durations_s, n_ranks):
    """Makespan and parallel efficiency of :func:`replay_schedule`.

    Returns
    -------
    makespan_s : float
        Wall-clock seconds until the last unit ends.
    efficiency : float
        ``sum(durations_s) / (n_ranks * makespan_s)``, in (0, 1].
    """
    if len(durations_s) == 0:
        return 0.0, 1.0
    _, end = replay_schedule(durations_s, n_ranks)
    makespan = float(end.max())
    total = float(np.sum(durations_s))
    return makespan, (total / (n_ranks * makespan) if makespan > 0 else 1.0)
