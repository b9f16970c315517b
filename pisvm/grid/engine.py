"""The grid-search engine: every (gamma, C, fold) unit in parallel over MPI ranks.

Rank 0 owns the input, the journal and the results.  It runs a small
service thread that hands out units in order (long work first) to whichever
rank asks, so load balances dynamically, while its main thread computes
units like every other rank: no rank idles as a pure master.  Without MPI
(``comm=None`` or one rank) the same code runs serially.  The messages go
through :mod:`pisvm.transport` (a duplicate communicator, thread-safe calls,
waits without spinning).
"""

import base64
import collections
import queue
import socket
import sys
import threading
import time

import numpy as np

from ..svm.onevsone import class_overlap, class_pairs, pair_costs, vote
from ..transport import Backoff, Channel, abort
from .cells import TEST_FOLD, Scheduler, make_units, parts_per_task
from .journal import pack_bools, unpack_bools

MAX_CLASSES = 1 << 16
"""Most classes a grid problem may have: predictions are journalled as ``<u2`` class indices."""


class Problem:
    """Training data, folds and the optional test set, identical on every rank.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), dtype float64
    y : ndarray of shape (n_samples,)
    fold : ndarray of shape (n_samples,), dtype int64
        Fold of each sample (from :func:`pisvm.data.folds.stratified_folds`).
    X_test : ndarray of shape (n_test, n_features), optional
    y_test : ndarray of shape (n_test,), optional

    Raises
    ------
    ValueError
        More than :data:`MAX_CLASSES` classes.
    """

    def __init__(self, X, y, fold, X_test=None, y_test=None):
        n_classes = len(np.unique(y))
        if n_classes > MAX_CLASSES:
            raise ValueError(f"{n_classes} classes, at most {MAX_CLASSES} (predicted classes are journalled as "
                             "16-bit indices)")
        self.X, self.y, self.fold = X, y, fold
        self.X_test, self.y_test = X_test, y_test
        self.n_folds = int(fold.max()) + 1
        self._classes = {}
        self._overlap = None

    def split(self, fold):
        """Return ``(X_train, y_train, X_test, y_test)`` of a fold (or :data:`TEST_FOLD`)."""
        if fold == TEST_FOLD:
            return self.X, self.y, self.X_test, self.y_test
        train = self.fold != fold
        return self.X[train], self.y[train], self.X[~train], self.y[~train]

    def held_out_labels(self, fold):
        """Labels of a fold's held-out samples (the test set's for :data:`TEST_FOLD`, None without labels)."""
        return self.y_test if fold == TEST_FOLD else self.y[self.fold == fold]

    def classes(self, fold):
        """Sorted classes of a fold's training set (the one-vs-one class order); computed once per fold."""
        if fold not in self._classes:
            self._classes[fold] = np.unique(self.y if fold == TEST_FOLD else self.y[self.fold != fold])
        return self._classes[fold]

    def pairs_cost(self, fold):
        """Estimated cost of each binary problem of a fold, shape (n_pairs,).

        :func:`pisvm.svm.onevsone.pair_costs`: the squared sample count
        weighted by how much the two classes overlap
        (:func:`pisvm.svm.onevsone.class_overlap` of all the training data,
        computed once).
        """
        y_train = self.y if fold == TEST_FOLD else self.y[self.fold != fold]
        labels, counts = np.unique(y_train, return_counts=True)
        if self._overlap is None:
            self._overlap = class_overlap(self.X, self.y)
        present = np.searchsorted(self.classes(TEST_FOLD), labels)
        return pair_costs(counts, self._overlap[np.ix_(present, present)])


def compute_unit(unit, problem, backend):
    """Solve one unit; return its journal record (a JSON-ready dict).

    ``seconds`` is the CPU time of the computing thread, ``start`` and
    ``end`` the wall clock (seconds since the epoch).
    """
    start = time.time()
    clock = time.thread_time()
    X_train, y_train, X_test, y_test = problem.split(unit.fold)
    if unit.pairs is None:
        predicted = backend.fit_predict(X_train, y_train, X_test, unit.gamma, unit.C)
        correct = None if y_test is None else int(np.sum(predicted == y_test))
        labels = (_pack_labels(np.searchsorted(problem.classes(unit.fold), predicted))
                  if unit.fold == TEST_FOLD else None)
        return make_record(unit.task, len(X_test), seconds=time.thread_time() - clock, start=start,
                           end=time.time(), correct=correct, predicted=labels)
    all_pairs = class_pairs(len(problem.classes(unit.fold)))
    wins = backend.fit_predict_pairs(X_train, y_train, X_test, unit.gamma, unit.C, [all_pairs[p] for p in unit.pairs])
    return make_record(unit.task, len(X_test), seconds=time.thread_time() - clock, start=start, end=time.time(),
                       pairs=unit.pairs, wins=wins)


def make_record(task, n_test, *, seconds, start, end, correct=None, predicted=None, pairs=None, wins=None,
                **solver_stats):
    """The journal record of one task's work: what a unit or a chain reports, JSON-ready.

    Parameters
    ----------
    task : (float, float, int)
        ``(gamma, C, fold)``.
    n_test : int
        Rows the task scores (the fold's held-out rows, or the test set).
    seconds : float
        CPU seconds of the work (a chain's tasks split its CPU time, see
        :func:`pisvm.grid.chains.compute_chain`).
    start, end : float
        Wall clock, seconds since the epoch.
    correct : int, optional
        A whole task: correctly predicted rows (None without labels).
    predicted : str, optional
        A whole task on the test set: the packed class indices of its predictions.
    pairs : sequence of int, optional
        A part of a task: indices into :func:`pisvm.svm.onevsone.class_pairs`
        of the binary problems it solved; None for a whole task.
    wins : array-like of shape (n_pairs, n_test), bool, optional
        With ``pairs``: for each, True where the pair's first class wins.
    **solver_stats
        What the solver adds (chains: ``n_iter``, ``shortcuts``, ``peak_rss_mb``, ``chain``,
        ``chain_cost``).

    Returns
    -------
    dict
        ``gamma``, ``C``, ``fold``, ``n_test``, ``pairs``, ``correct`` or
        ``wins`` (packed, see :func:`pisvm.grid.journal.pack_bools`),
        ``predicted`` where given, the solver's statistics, ``seconds``,
        ``start``, ``end`` and ``host``; :func:`run_units` adds ``rank``.
    """
    gamma, C, fold = task
    record = {"gamma": gamma, "C": C, "fold": fold, "n_test": int(n_test)}
    if pairs is None:
        record.update(pairs=None, correct=correct)
        if predicted is not None:
            record["predicted"] = predicted
    else:
        record.update(pairs=np.asarray(pairs, dtype=np.int64).tolist(),
                      wins=pack_bools(np.reshape(wins, (len(pairs), n_test))))
    record.update(solver_stats)
    record.update(seconds=float(seconds), start=start, end=end, host=socket.gethostname())
    return record


class UnitSolver:
    """A library backend (LIBSVM, ThunderSVM) as a solver of the engine: work in units.

    Every solver the engine runs has the same three steps, so the engine
    never asks which solver it has:

    ``plan(problem, gammas, costs, folds, n_workers, n_parts=None, done=None)``
        the pieces of work of a grid phase for ``n_workers`` ranks or threads
        (``done(task)``: the journal's finished pairs of a task, "all" when
        finished; their work is left out);
    ``scheduler(pieces)``
        the object that hands the pieces out (``next_unit``, ``finished``);
    ``compute(piece, problem)``
        the piece's records (:func:`make_record`), one per task it finishes
        or contributes to.

    Every piece has ``n_records``. :class:`pisvm.grid.chains.PisvmSolver` is
    the other solver (work in chains).

    Parameters
    ----------
    backend : object
        From :func:`pisvm.svm.backends.make_backend`.
    """

    def __init__(self, backend):
        self.backend = backend
        self.name = backend.name

    def plan(self, problem, gammas, costs, folds, n_workers, n_parts=None, done=None):
        """Units of (gamma, C, fold), split into pair groups where ranks would otherwise idle."""
        parts = 1
        if self.backend.supports_pairs:
            n_pairs = len(class_pairs(len(problem.classes(folds[0]))))
            parts = n_parts or parts_per_task(len(gammas) * len(costs) * len(folds), n_workers, n_pairs)
        return make_units(gammas, costs, folds, n_parts=parts, pairs_cost=problem.pairs_cost, done=done)

    def scheduler(self, units):
        """The engine's :class:`pisvm.grid.cells.Scheduler` of ``units``."""
        return Scheduler(units)

    def compute(self, unit, problem):
        """The unit's one record."""
        return [compute_unit(unit, problem, self.backend)]


def _pack_labels(class_index):
    return base64.b64encode(np.asarray(class_index, dtype="<u2").tobytes()).decode("ascii")


def _unpack_labels(text):
    return np.frombuffer(base64.b64decode(text), dtype="<u2").astype(np.int64)


class TaskResults:
    """Collects unit records into per-task outcomes (rank 0 only).

    A task is finished when one whole-task record exists, or when its pair
    records cover every binary problem; pair wins are then combined by
    :func:`pisvm.svm.onevsone.vote`.
    """

    def __init__(self, problem):
        self.problem = problem
        self.records = collections.defaultdict(list)
        self.covered = {}  # {task: pair indices its pair records hold}
        self.outcome = {}

    def add(self, record):
        task = (record["gamma"], record["C"], record["fold"])
        if task in self.outcome:
            return
        self.records[task].append(record)
        if record["pairs"] is None:
            self._finish(task, record.get("correct"), record.get("predicted"))
            return
        n_classes = len(self.problem.classes(task[2]))
        covered = self.covered.setdefault(task, set())
        covered.update(record["pairs"])
        if len(covered) == n_classes * (n_classes - 1) // 2:
            n_test = record["n_test"]
            by_pair = np.empty((len(covered), n_test), dtype=bool)  # whole rows: no strided scatter
            for part in self.records[task]:
                if part["pairs"] is not None:
                    by_pair[part["pairs"]] = unpack_bools(part["wins"], len(part["pairs"]), n_test)
            class_index = vote(by_pair.T, n_classes)
            y_true = self.problem.held_out_labels(task[2])
            predicted = self.problem.classes(task[2])[class_index]
            correct = int(np.sum(predicted == y_true)) if y_true is not None else None
            self._finish(task, correct, _pack_labels(class_index))

    def _finish(self, task, correct, predicted):
        parts = self.records[task]
        self.outcome[task] = {
            "correct": correct,
            "n_test": parts[0]["n_test"],
            "seconds": float(sum(p["seconds"] for p in parts)),
            "start": min(p["start"] for p in parts),
            "end": max(p["end"] for p in parts),
            "predicted": predicted,
        }

    def done(self, task):
        """Finished pair indices of ``task`` ("all" when the task is complete)."""
        if task in self.outcome:
            return "all"
        return {p for part in self.records.get(task, []) if part["pairs"] is not None for p in part["pairs"]}

    def predictions(self, task):
        """Predicted labels of a finished task, shape (n_test,)."""
        return self.problem.classes(task[2])[_unpack_labels(self.outcome[task]["predicted"])]


class _Recorder:
    """Calls ``on_record`` for each finished unit on its own thread, in arrival order.

    The journal's write and fsync then never delay the reply that hands a
    rank its next unit (80 ranks would queue behind a parallel file
    system's fsync).  An error in ``on_record`` stops the recorder; the
    main thread raises it (see :meth:`check`).
    """

    def __init__(self, on_record):
        self.on_record = on_record
        self.queue = queue.Queue()
        self.error = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while (record := self.queue.get()) is not None:
            if self.error is None:
                try:
                    self.on_record(record)
                except Exception as error:  # noqa: BLE001 - raised again on the main thread by check()
                    self.error = error

    def put(self, record):
        self.queue.put(record)

    def check(self):
        """Raise the error ``on_record`` met, if any."""
        if self.error is not None:
            raise self.error

    def close(self):
        """Wait until every record is handled; raise the error ``on_record`` met, if any."""
        self.queue.put(None)
        self.thread.join()
        self.check()


def run_units(units, problem, solver, results, on_record=None, comm=None):
    """Compute ``units`` on every rank of ``comm``; rank 0 gathers the records.

    The traffic runs on a duplicate of ``comm`` (:class:`pisvm.transport.Channel`),
    freed at the end, so it never mixes with the caller's messages.

    Parameters
    ----------
    units : list
        The pieces of ``solver.plan``; meaningful on rank 0 only, where
        ``solver.scheduler(units)`` hands them out; ignored elsewhere.
    problem : Problem
    solver : UnitSolver or pisvm.grid.chains.PisvmSolver
        Computes each piece (``solver.compute(piece, problem)``).
    results : TaskResults or None
        Rank 0's collector; receives every new record on the recorder
        thread, after the rank that sent it got its next unit (combining
        the pair votes of the tasks a chain completes is slow enough that
        ranks waiting for their next unit idled behind it), complete when
        this function returns.
    on_record : callable, optional
        ``on_record(record)`` on rank 0 after each unit (journal, progress),
        called from the same thread in the order records arrive, after the
        record went into ``results``.
    comm : mpi4py.MPI.Comm, optional
        None runs serially.

    Returns
    -------
    busy_s : float
        Seconds this rank spent computing units (for load statistics).
    """
    channel = None if comm is None or comm.size == 1 else Channel(comm)
    busy_s = 0.0
    if channel is not None and channel.rank != 0:
        done = None
        while True:
            channel.send(done, 0)
            unit = channel.recv(0)
            if unit is None:
                break
            records = solver.compute(unit, problem)
            for record in records:
                record["rank"] = channel.rank
                busy_s += record["seconds"]
            done = (unit, records)
        channel.barrier()
        channel.close()
        return busy_s

    scheduler = solver.scheduler(units)
    lock = threading.Lock()

    def take(done):
        """Learn from finished work ``(unit, records)`` (None at first), then hand out the next unit."""
        with lock:
            if done is not None:
                unit, records = done
                scheduler.finished(unit, sum(record["seconds"] for record in records))
            return scheduler.next_unit()

    def keep(record):
        results.add(record)
        if on_record is not None:
            on_record(record)

    recorder = _Recorder(keep)
    failure = []
    server = None
    if channel is not None:
        server = threading.Thread(target=_serve, args=(channel, take, recorder, channel.size - 1, failure),
                                  daemon=True)
        server.start()
    done = None
    while (unit := take(done)) is not None:
        records = solver.compute(unit, problem)
        for record in records:
            record["rank"] = 0
            busy_s += record["seconds"]
            recorder.put(record)
        done = (unit, records)
        recorder.check()
        if failure:
            break
    if server is not None:
        while server.is_alive():
            server.join(timeout=0.05)
        if failure:
            raise failure[0]
    recorder.close()
    if channel is not None:
        channel.barrier()
        channel.close()
    return busy_s


def _serve(channel, take, recorder, n_workers, failure):
    """Rank 0's service thread: receive finished work, hand out the next unit, then have the records kept."""
    backoff = Backoff(channel.poll_s)
    active = n_workers
    try:
        while active:
            message = channel.poll()
            if message is None:
                backoff.sleep()
                continue
            backoff.reset()
            source, done = message
            unit = take(done)
            channel.send(unit, source)
            if done is not None:
                for record in done[1]:
                    recorder.put(record)
            if unit is None:
                active -= 1
    except Exception as error:  # noqa: BLE001 - handed to the main thread, which ends the job
        failure.append(error)
        print(f"pisvm-grid: error in rank 0's scheduler: {error}", file=sys.stderr, flush=True)
        abort(channel.comm, 1)


__all__ = ["Problem", "TaskResults", "UnitSolver", "compute_unit", "make_record", "run_units"]
