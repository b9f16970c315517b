"""The grid-search engine: every (gamma, C, fold) unit in parallel over MPI ranks.

Rank 0 owns the input, the journal and the results.  It runs a small
service thread that hands out units in order (long work first) to whichever
rank asks, so load balances dynamically, while its main thread computes
units like every other rank: no rank idles as a pure master.  Without MPI
(``comm=None`` or one rank) the same code runs serially.
"""

import base64
import collections
import socket
import sys
import threading
import time

import numpy as np

from .backends import class_pairs, vote
from .chains import Chain, ChainScheduler, compute_chain
from .grid import TEST_FOLD, Scheduler
from .journal import pack_bools, unpack_bools

_TAG = 7
_POLL_S = 0.002


class Problem:
    """Training data, folds and the optional test set, identical on every rank.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), dtype float64
    y : ndarray of shape (n_samples,)
    fold : ndarray of shape (n_samples,), dtype int64
        Fold of each sample (from :func:`pisvm.folds.stratified_folds`).
    X_test : ndarray of shape (n_test, n_features), optional
    y_test : ndarray of shape (n_test,), optional
    """

    def __init__(self, X, y, fold, X_test=None, y_test=None):
        self.X, self.y, self.fold = X, y, fold
        self.X_test, self.y_test = X_test, y_test
        self.n_folds = int(fold.max()) + 1

    def split(self, fold):
        """Return ``(X_train, y_train, X_test, y_test)`` of a fold (or :data:`TEST_FOLD`)."""
        if fold == TEST_FOLD:
            return self.X, self.y, self.X_test, self.y_test
        train = self.fold != fold
        return self.X[train], self.y[train], self.X[~train], self.y[~train]

    def classes(self, fold):
        """Sorted classes of a fold's training set (the one-vs-one class order)."""
        return np.unique(self.y if fold == TEST_FOLD else self.y[self.fold != fold])

    def pairs_cost(self, fold):
        """Estimated cost of each binary problem of a fold: squared sample count, shape (n_pairs,)."""
        y_train = self.y if fold == TEST_FOLD else self.y[self.fold != fold]
        counts = np.unique(y_train, return_counts=True)[1].astype(np.float64)
        return np.array([(counts[a] + counts[b]) ** 2 for a, b in class_pairs(len(counts))])


def compute_unit(unit, problem, backend):
    """Solve one unit; return its journal record (a JSON-ready dict)."""
    start = time.time()
    clock = time.perf_counter()
    X_train, y_train, X_test, y_test = problem.split(unit.fold)
    record = {"gamma": unit.gamma, "C": unit.C, "fold": unit.fold, "n_test": int(len(X_test))}
    if unit.pairs is None:
        predicted = backend.fit_predict(X_train, y_train, X_test, unit.gamma, unit.C)
        record["pairs"] = None
        record["correct"] = None if y_test is None else int(np.sum(predicted == y_test))
        if unit.fold == TEST_FOLD:
            record["predicted"] = _pack_labels(np.searchsorted(problem.classes(unit.fold), predicted))
    else:
        all_pairs = class_pairs(len(problem.classes(unit.fold)))
        wins = backend.fit_predict_pairs(X_train, y_train, X_test, unit.gamma, unit.C,
                                         [all_pairs[p] for p in unit.pairs])
        record["pairs"] = list(unit.pairs)
        record["wins"] = [pack_bools(w) for w in wins]
    record.update(seconds=time.perf_counter() - clock, start=start, end=time.time(),
                  host=socket.gethostname())
    return record


def compute(unit, problem, backend):
    """Records of one piece of work: one for a :class:`pisvm.grid.Unit`, one per task for a :class:`pisvm.chains.Chain`."""
    if isinstance(unit, Chain):
        return compute_chain(unit, problem, backend)
    return [compute_unit(unit, problem, backend)]


def _pack_labels(class_index):
    return base64.b64encode(np.asarray(class_index, dtype="<u2").tobytes()).decode("ascii")


def _unpack_labels(text):
    return np.frombuffer(base64.b64decode(text), dtype="<u2").astype(np.int64)


class TaskResults:
    """Collects unit records into per-task outcomes (rank 0 only).

    A task is finished when one whole-task record exists, or when its pair
    records cover every binary problem; pair wins are then combined by
    :func:`pisvm.backends.vote`.
    """

    def __init__(self, problem):
        self.problem = problem
        self.records = collections.defaultdict(list)
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
        wins = {}
        for part in self.records[task]:
            if part["pairs"] is not None:
                for p, packed in zip(part["pairs"], part["wins"]):
                    wins[p] = packed
        if len(wins) == n_classes * (n_classes - 1) // 2:
            n_test = record["n_test"]
            pairs = class_pairs(n_classes)
            class_index = vote({pairs[p]: unpack_bools(w, n_test) for p, w in wins.items()}, n_classes)
            y_true = self.problem.split(task[2])[3]
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


class Progress:
    """A progress line on stderr: units done, percent, elapsed and remaining minutes."""

    def __init__(self, total, label, enabled=True, stream=None):
        self.total, self.label, self.enabled = total, label, enabled
        self.stream = stream or sys.stderr
        self.done = 0
        self.started = time.perf_counter()
        self.shown = -1.0
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()

    def step(self):
        self.done += 1
        if not self.enabled or self.total == 0:
            return
        elapsed = time.perf_counter() - self.started
        if self.done < self.total and elapsed - self.shown < (0.5 if self.tty else 10.0):
            return
        self.shown = elapsed
        remaining = elapsed / self.done * (self.total - self.done)
        line = (f"{self.label}: {self.done}/{self.total} units ({100 * self.done / self.total:.0f} %), "
                f"{elapsed / 60:.1f} min elapsed, ~{remaining / 60:.1f} min left")
        end = "\n" if (not self.tty or self.done == self.total) else ""
        print(("\r" if self.tty else "") + line, end=end, file=self.stream, flush=True)


def _wait(request):
    """Wait for a nonblocking MPI request without spinning a core."""
    while not request.Test():
        time.sleep(0.005)


def bcast_when_ready(obj, comm, root=0):
    """Broadcast ``obj`` from ``root`` once it calls this, without the other ranks spinning a core meanwhile.

    The other ranks wait in a sleep-polled ``Ibarrier`` (a plain ``bcast``
    busy-waits, stealing CPU from the root's work on a shared node).

    Returns
    -------
    The root's ``obj`` on every rank.
    """
    _wait(comm.Ibarrier())
    return comm.bcast(obj, root=root)


def run_units(units, problem, backend, results, on_record=None, comm=None):
    """Compute ``units`` on every rank of ``comm``; rank 0 gathers the records.

    Parameters
    ----------
    units : list of Unit or list of pisvm.chains.Chain
        Meaningful on rank 0 only, where a :class:`pisvm.grid.Scheduler`
        (:class:`pisvm.chains.ChainScheduler` for chains) hands them out;
        ignored elsewhere.
    problem : Problem
    backend : object
        See :mod:`pisvm.backends`.
    results : TaskResults or None
        Rank 0's collector; receives every new record.
    on_record : callable, optional
        ``on_record(record)`` on rank 0 after each unit (journal, progress).
    comm : mpi4py.MPI.Comm, optional
        None runs serially.

    Returns
    -------
    busy_s : float
        Seconds this rank spent computing units (for load statistics).
    """
    size = 1 if comm is None else comm.size
    rank = 0 if comm is None else comm.rank
    busy_s = 0.0
    if rank != 0:
        done = None
        while True:
            comm.send(done, dest=0, tag=_TAG)
            unit = comm.recv(source=0, tag=_TAG)
            if unit is None:
                break
            records = compute(unit, problem, backend)
            for record in records:
                record["rank"] = rank
                busy_s += record["seconds"]
            done = (unit, records)
        _wait(comm.Ibarrier())
        return busy_s

    scheduler = ChainScheduler(units) if units and isinstance(units[0], Chain) else Scheduler(units)
    lock = threading.Lock()

    def take():
        with lock:
            return scheduler.next_unit()

    def keep(done):
        unit, records = done
        with lock:
            scheduler.finished(unit, sum(record["seconds"] for record in records))
            for record in records:
                results.add(record)
                if on_record is not None:
                    on_record(record)

    failure = []
    server = None
    if size > 1:
        server = threading.Thread(target=_serve, args=(comm, take, keep, size - 1, failure), daemon=True)
        server.start()
    while (unit := take()) is not None:
        records = compute(unit, problem, backend)
        for record in records:
            record["rank"] = 0
            busy_s += record["seconds"]
        keep((unit, records))
        if failure:
            break
    if server is not None:
        while server.is_alive():
            server.join(timeout=0.05)
        if failure:
            raise failure[0]
        _wait(comm.Ibarrier())
    return busy_s


def _serve(comm, take, keep, n_workers, failure):
    """Rank 0's service thread: receive finished units' records, hand out the next unit."""
    from mpi4py import MPI

    status = MPI.Status()
    active = n_workers
    try:
        while active:
            if not comm.Iprobe(source=MPI.ANY_SOURCE, tag=_TAG, status=status):
                time.sleep(_POLL_S)
                continue
            source = status.Get_source()
            done = comm.recv(source=source, tag=_TAG)
            if done is not None:
                keep(done)
            unit = take()
            comm.send(unit, dest=source, tag=_TAG)
            if unit is None:
                active -= 1
    except Exception as error:  # noqa: BLE001 - handed to the main thread, which ends the job
        failure.append(error)
        print(f"pisvm-grid: error in rank 0's scheduler: {error}", file=sys.stderr, flush=True)
        comm.Abort(1)


__all__ = ["Problem", "Progress", "TaskResults", "bcast_when_ready", "compute", "compute_unit", "run_units"]
