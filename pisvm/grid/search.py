"""Cross-validated grid search over (gamma, C): the Python API behind ``pisvm-grid``."""

import time

import numpy as np

from ..results.metrics import classification_report
from ..results.progress import Progress
from ..results.report import best_cell
from ..svm.train import train_model
from ..transport import bcast_when_ready
from .cells import TEST_FOLD
from .engine import TaskResults, run_units


def summarize_cells(results, gammas, costs, n_folds):
    """Per-cell accuracy and time from finished tasks, in (gamma, C) order.

    Returns
    -------
    list of dict
        ``gamma``, ``C``, ``accuracy`` (mean of fold accuracies, a fraction),
        ``fold_accuracies``, ``correct`` (summed), ``seconds_sum`` (CPU seconds
        spent on the cell: its units' or its chain tasks' seconds summed, the
        cell's serial cost), ``seconds_span`` (wall clock from its first unit's
        start to its last unit's end; with chains, the span of the chains that
        computed it).
    """
    cells = []
    for gamma in gammas:
        for C in costs:
            outcomes = [results.outcome[(gamma, C, k)] for k in range(n_folds)]
            fold_accuracies = [o["correct"] / o["n_test"] for o in outcomes]
            cells.append({
                "gamma": gamma, "C": C,
                "accuracy": float(np.mean(fold_accuracies)),
                "fold_accuracies": fold_accuracies,
                "correct": int(sum(o["correct"] for o in outcomes)),
                "seconds_sum": float(sum(o["seconds"] for o in outcomes)),
                "seconds_span": float(max(o["end"] for o in outcomes) - min(o["start"] for o in outcomes)),
            })
    return cells


def grid_search(problem, gammas, costs, solver, comm=None, previous_records=(), on_record=None,
                n_parts=None, progress=True, plan_ranks=None):
    """Run the cross-validated grid, then (with a test set) the best cell on the test set.

    Parameters
    ----------
    problem : pisvm.grid.engine.Problem
    gammas, costs : list of float
        Validated grid values (see :func:`pisvm.grid.cells.check_grid`).
    solver : pisvm.grid.engine.UnitSolver or pisvm.grid.chains.PisvmSolver
        The engine's solver (:func:`pisvm.grid.run.make_solver`).
    comm : mpi4py.MPI.Comm, optional
        Every rank calls this function; None runs serially.
    previous_records : iterable of dict
        Journal records of an earlier, interrupted run: their work is skipped.
    on_record : callable, optional
        Called on rank 0 with every new unit record (the journal's append).
    n_parts : int, optional
        Pair groups per task (per gamma for chains); by default
        :func:`pisvm.grid.cells.parts_per_task` (:func:`pisvm.grid.chains.choose_groups`)
        for the number of ranks (1 for a backend without pair support).
    progress : bool, default True
        Progress line on rank 0's stderr.
    plan_ranks : int, optional
        With chains: make the chains (pair groups, splits by folds) that this
        many ranks get (:func:`pisvm.grid.chains.choose_groups`,
        :func:`pisvm.grid.chains.make_chains`), whatever the number of ranks that
        compute them; by default the number of ranks of ``comm``.

    Returns
    -------
    dict or None
        On rank 0: ``cells`` (see :func:`summarize_cells`), ``best``,
        ``test`` (classification report of the best cell on the test set, or
        None without ``y_test``), ``test_predicted`` (its predicted labels,
        ndarray of shape (n_test,), or None), ``records`` (all unit records);
        None on other ranks.
    """
    rank = 0 if comm is None else comm.rank
    size = 1 if comm is None else comm.size
    results = None
    phases = [list(range(problem.n_folds))]
    if problem.X_test is not None:
        phases.append([TEST_FOLD])
    best = None
    for folds in phases:
        units = []
        if rank == 0:
            if results is None:
                results = TaskResults(problem)
                for record in previous_records:
                    results.add(record)
            phase_gammas, phase_costs = (gammas, costs) if folds[0] != TEST_FOLD else ([best["gamma"]], [best["C"]])
            units = solver.plan(problem, phase_gammas, phase_costs, folds, plan_ranks or size, n_parts=n_parts,
                                done=results.done)
            n_records = sum(unit.n_records for unit in units)
            meter = Progress(n_records, "grid" if folds[0] != TEST_FOLD else "test", enabled=progress)

            def keep(record, meter=meter):
                if on_record is not None:
                    on_record(record)
                meter.step()
        run_units(units, problem, solver, results, on_record=keep if rank == 0 else None, comm=comm)
        if rank == 0 and folds[0] != TEST_FOLD:
            cells = summarize_cells(results, gammas, costs, problem.n_folds)
            best = best_cell(cells)
    if rank != 0:
        return None
    test = predicted = None
    if problem.X_test is not None:
        task = (best["gamma"], best["C"], TEST_FOLD)
        predicted = results.predictions(task)
    if problem.y_test is not None:
        labels = np.union1d(problem.y, problem.y_test)
        test = classification_report(y_true=problem.y_test, y_pred=predicted, labels=labels)
        test.update(gamma=best["gamma"], C=best["C"], seconds=results.outcome[task]["seconds"],
                    seconds_span=results.outcome[task]["end"] - results.outcome[task]["start"])
    records = [record for task_records in results.records.values() for record in task_records]
    return {"cells": cells, "best": best, "test": test, "test_predicted": predicted, "records": records}


def fit_best_model(problem, summary, params, comm=None):
    """Fit the best cell on all training data (pairs split over the ranks) and score the test set with it.

    Parameters
    ----------
    problem : pisvm.grid.engine.Problem
        With the test set, if any.
    summary : dict or None
        :func:`grid_search`'s result on rank 0 (None elsewhere); on rank 0
        its ``test`` and ``test_predicted`` are filled in from the model.
    params : dict
        Solver options of :func:`pisvm.svm.train.train_model` besides ``gamma`` and ``C``
        (``solver`` the grid's: the model is fitted the way the cells were).
    comm : mpi4py.MPI.Comm, optional

    Returns
    -------
    pisvm.svm.model.SVMModel or None
        The model on rank 0, None elsewhere.
    """
    best = None if summary is None else summary["best"]
    if comm is not None:
        best = bcast_when_ready(best, comm)
    started, clock = time.time(), time.perf_counter()
    model = train_model(problem.X, problem.y, dict(params, gamma=best["gamma"], C=best["C"]), comm=comm)
    if model is None or problem.X_test is None:
        return model
    summary["test_predicted"] = predicted = model.predict(problem.X_test)
    if problem.y_test is not None:
        test = classification_report(y_true=problem.y_test, y_pred=predicted,
                                     labels=np.union1d(problem.y, problem.y_test))
        test.update(gamma=best["gamma"], C=best["C"], seconds=time.perf_counter() - clock,
                    seconds_span=time.time() - started)
        summary["test"] = test
    return model
