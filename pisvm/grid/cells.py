"""The (gamma, C) grid, its work units, and the order the scheduler hands them out.

A *cell* is one (gamma, C) pair.  A *task* is one cell on one cross-validation
fold (or on the test set, fold :data:`TEST_FOLD`).  A *unit* is what one rank
computes at a time: a whole task, or a group of its one-vs-one binary
problems when tasks are split so that every rank has work.
"""

import collections
import heapq
import math
from dataclasses import dataclass

import numpy as np

TEST_FOLD = -1
"""Fold number of the final fit: train on all training data, predict the test file."""

SEED_GAMMAS = (2.0, 4.0, 8.0, 16.0, 32.0)
"""The seeds' gamma values (rows of their Indian Pines tables): every command's default grid."""

SEED_COSTS = (1.0, 10.0, 100.0, 1000.0, 10000.0)
"""The seeds' C values (columns of their tables)."""


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
        Indices into :func:`pisvm.svm.onevsone.class_pairs` of the binary problems
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

    @property
    def n_records(self):
        """Records the unit reports: one."""
        return 1


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
    seeds' parallel table.  :class:`Scheduler` refines the cell order with
    measured times while the grid runs.

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


class Scheduler:
    """Hands out units cell by cell, the cell predicted to take longest first.

    A cell's units go out together, so its folds run side by side.  The next
    cell is the pending one with the largest predicted seconds per unit:
    before two cells have finished units, by :func:`cell_cost`; after, by a
    least-squares fit of log(seconds) on log2(gamma) and log2(C) over the
    finished whole-task units.  This is longest-processing-time-first with
    costs learnt while the grid runs, so the short cells fill the end.

    Parameters
    ----------
    units : list of Unit
        From :func:`make_units`.
    """

    def __init__(self, units):
        self._pending = {}
        for unit in units:
            self._pending.setdefault((unit.gamma, unit.C), []).append(unit)
        self._open = collections.deque()
        self._observed = {}

    def next_unit(self):
        """Return the next unit to compute, or None when all are handed out."""
        if not self._open:
            if not self._pending:
                return None
            cell = max(self._pending, key=self.predicted_s)
            self._open.extend(self._pending.pop(cell))
        return self._open.popleft()

    def finished(self, unit, seconds):
        """Learn from a finished unit (whole tasks only: pair groups vary in size)."""
        if unit.pairs is None and unit.fold != TEST_FOLD:
            self._observed.setdefault((unit.gamma, unit.C), []).append(seconds)

    def predicted_s(self, cell):
        """Predicted seconds per unit of ``cell`` (relative units before any measurement)."""
        if len(self._observed) < 2:
            return cell_cost(*cell)
        design = np.array([[1.0, math.log2(g), math.log2(c)] for g, c in self._observed])
        target = np.log([np.mean(seconds) for seconds in self._observed.values()])
        coefficients = np.linalg.lstsq(design, target, rcond=None)[0]
        return float(np.exp(coefficients @ [1.0, math.log2(cell[0]), math.log2(cell[1])]))


def replay_schedule(units, seconds_of, n_ranks, scheduler=None):
    """Replay measured unit times through the engine's scheduler on ``n_ranks``.

    Every rank (rank 0 included) asks :class:`Scheduler` for the next unit as
    soon as it is free, after reporting the unit it finished, which is what
    the engine does.

    Parameters
    ----------
    units : list of Unit
    seconds_of : callable
        ``seconds_of(unit)`` gives the unit's measured seconds.
    n_ranks : int
    scheduler : object, optional
        The scheduler the engine uses for ``units`` (``next_unit()``,
        ``finished(unit, seconds)``): :class:`Scheduler` by default,
        :class:`pisvm.grid.chains.ChainScheduler` for chains.

    Returns
    -------
    list of tuple
        ``(unit, start_s, end_s)`` in hand-out order, seconds from the start.
    """
    scheduler = Scheduler(units) if scheduler is None else scheduler
    free = [(0.0, rank) for rank in range(n_ranks)]
    running = []
    timeline = []
    while True:
        now, rank = heapq.heappop(free)
        while running and running[0][0] <= now:
            _, _, unit, seconds = heapq.heappop(running)
            scheduler.finished(unit, seconds)
        unit = scheduler.next_unit()
        if unit is None:
            return timeline
        seconds = float(seconds_of(unit))
        heapq.heappush(running, (now + seconds, len(timeline), unit, seconds))
        heapq.heappush(free, (now + seconds, rank))
        timeline.append((unit, now, now + seconds))


def simulate_schedule(units, seconds_of, n_ranks, scheduler=None):
    """Makespan and parallel efficiency of :func:`replay_schedule`.

    Returns
    -------
    makespan_s : float
        Wall-clock seconds until the last unit ends.
    efficiency : float
        Summed unit seconds / (``n_ranks`` * makespan), in (0, 1].
    """
    timeline = replay_schedule(units, seconds_of, n_ranks, scheduler)
    if not timeline:
        return 0.0, 1.0
    makespan = max(end for _, _, end in timeline)
    total = sum(end - start for _, start, end in timeline)
    return makespan, (total / (n_ranks * makespan) if makespan > 0 else 1.0)
