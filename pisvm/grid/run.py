"""One grid run: the journal, the grid search and the result files, on every MPI rank (pisvm-grid, pisvm-compare).

Rank 0 builds the job (reads the input), creates the output folder and opens
the journal; the other ranks wait without spinning and learn either the job
or the error from one broadcast, so bad input ends every rank with one line
and status 2.  Once the ranks work together, an error on any rank ends the
whole job with one line naming the rank (``MPI_Abort``): the others would
otherwise wait for it forever.
"""

import dataclasses
import os
import platform
import socket
import sys
import time

import numpy as np

from ..data.atomic import check_folder, check_outputs
from ..results.report import TABLE_TIME, write_results
from ..svm.backends import make_backend
from ..svm.solver import CACHE_MB
from ..svm.train import SOLVERS
from ..transport import abort_job, bcast_when_ready, decided_by_root
from .chains import PisvmSolver
from .engine import Problem, UnitSolver
from .journal import Journal
from .search import fit_best_model, grid_search


@dataclasses.dataclass
class GridJob:
    """Everything the ranks need for one grid run.

    Parameters
    ----------
    problem : pisvm.grid.engine.Problem
    gammas, costs : list of float
        Validated grid values (:func:`pisvm.grid.cells.check_grid`).
    backend : str
        Name from :data:`pisvm.svm.backends.BACKENDS`.
    solver : dict
        Keyword options of the backend (``cache_mb``, ``tol``, ``shrinking``,
        ``class_weight``).
    header : dict
        The journal's identity (:data:`pisvm.grid.journal.HEADER_KEYS`): a resumed
        run must match it.
    metadata : dict
        What the caller knows of the run (``data``: a name for messages,
        ``command``, ...), written into ``grid.json``.
    n_parts : int, optional
        Pair groups per task (see :func:`pisvm.grid.search.grid_search`).
    plan_ranks : int, optional
        With the pisvm solver, make the chains this many ranks get (see
        :func:`pisvm.grid.search.grid_search`); by default the ranks there are.
    model_path : str, optional
        Keep the best cell's model: after the grid, fit it on all training
        data with the grid's solver (its pairs over the ranks,
        :func:`pisvm.grid.search.fit_best_model`), write it there in LIBSVM's
        format and score the test set with it.  None: the test set (if any)
        is scored by the grid's own final fit and no model is kept.
    svm_solver : str, default "pisvm"
        One of :data:`SOLVERS`: "pisvm", the grid's own solver in chains
        (:mod:`pisvm.grid.chains`), or "libsvm", one ``backend`` fit per
        (gamma, C, fold).
    inputs : tuple of str
        The files the job was read from: no file of the output folder
        (:data:`RESULT_FILES`) may be one of them.
    """

    problem: object
    gammas: list
    costs: list
    backend: str
    solver: dict
    header: dict
    metadata: dict
    n_parts: int = None
    plan_ranks: int = None
    svm_solver: str = "pisvm"
    model_path: str = None
    inputs: tuple = ()


RESULT_FILES = ("journal.jsonl", "grid.json", "grid.csv", "table.md", "heatmap.png", "model")
"""The files a grid run writes into its output folder."""

def make_solver(svm_solver, backend, options):
    """The grid's solver object; ValueError on a combination that cannot run.

    Parameters
    ----------
    svm_solver : str
        One of :data:`SOLVERS`.
    backend : str
        Library of ``svm_solver="libsvm"`` (:data:`pisvm.svm.backends.BACKENDS`).
    options : dict
        Keyword options of the backend (``cache_mb``, ``tol``, ``shrinking``,
        ``class_weight``); the pisvm solver takes all but the backend's from them.
    """
    library = make_backend(backend, **options)
    if svm_solver == "libsvm":
        return UnitSolver(library)
    if svm_solver != "pisvm":
        raise ValueError(f"solver {svm_solver!r} not in {SOLVERS}")
    if backend != "libsvm":
        raise ValueError(f"backend {backend} runs with solver libsvm only (solver pisvm is its own)")
    return PisvmSolver(tol=options.get("tol", 1e-3), shrinking=options.get("shrinking", True),
                       class_weight=options.get("class_weight"), cache_mb=options.get("cache_mb", CACHE_MB))


def prepare_out(out_dir):
    """Create ``out_dir`` and check that files can be written there; ValueError naming it otherwise."""
    check_folder(out_dir, f"output folder {out_dir}", create=True)


def run_grid(make_job, out_dir, comm=None, resume=False, progress=True, prog="pisvm-grid"):
    """Run one grid search on every rank of ``comm`` and write its result files (rank 0).

    Every rank calls this function.  Rank 0 writes ``out_dir/journal.jsonl``
    as units finish, then ``grid.json``, ``grid.csv``, ``table.md`` and
    ``heatmap.png`` (:func:`pisvm.results.report.write_results`).

    Parameters
    ----------
    make_job : callable
        Called on rank 0 only: returns the :class:`GridJob`.  ``ValueError``
        or ``OSError`` it raises is bad input, reported on every rank.
    out_dir : str
        Output folder (the journal and the result files).
    comm : mpi4py.MPI.Comm, optional
        None runs serially.
    resume : bool, default False
        Continue the journal in ``out_dir`` (its header must match the job's).
    progress : bool, default True
        Progress line on rank 0's stderr.
    prog : str, default "pisvm-grid"
        Command name in messages.

    Returns
    -------
    tuple or None
        On rank 0 ``(summary, metadata)``: the summary of
        :func:`pisvm.grid.search.grid_search` and the metadata written into
        ``grid.json``; None on other ranks.

    Raises
    ------
    pisvm.transport.CollectiveError
        On every rank, when rank 0 found bad input (the job, the output
        folder, the journal) before the ranks started working together.
    """
    rank = 0 if comm is None else comm.rank
    payload = decided_by_root(lambda: open_job(make_job, out_dir, resume), comm, share=_shareable)
    if rank == 0:
        return _work(payload, comm, progress, prog, out_dir)
    _work(payload, comm, False, prog, None)
    return None


def serve_grids(comm, prog="pisvm-grid"):
    """Ranks other than 0: join every :func:`run_grid` that rank 0 starts, until it calls :func:`end_grids`.

    A grid that rank 0 refuses (bad input) is skipped: rank 0 raises the
    error, and the job goes on or ends as rank 0 decides.
    """
    while (message := bcast_when_ready(None, comm)) is not None:
        error, payload = message  # what rank 0's run_grid broadcasts (pisvm.transport.decided_by_root)
        if error is None:
            _work(payload, comm, False, prog, None)


def end_grids(comm):
    """Rank 0: release the ranks waiting in :func:`serve_grids`."""
    bcast_when_ready(None, comm)


def open_job(make_job, out_dir, resume):
    """Rank 0: build the job, prepare the folder, open the journal; ValueError or OSError on bad input."""
    started = time.time()
    job = make_job()
    make_solver(job.svm_solver, job.backend, job.solver)
    if os.path.isdir(out_dir):  # a new folder holds no input
        check_outputs([os.path.join(out_dir, name) for name in RESULT_FILES], job.inputs)
    prepare_out(out_dir)
    journal = Journal(os.path.join(out_dir, "journal.jsonl"), job.header, resume=resume)
    return {"job": job, "journal": journal, "resumed": len(journal.records), "started": started}


def _shareable(payload):
    """What the other ranks receive: the job (not rank 0's open journal)."""
    return {"job": payload["job"]}


def _work(payload, comm, progress, prog, out_dir):
    rank = 0 if comm is None else comm.rank
    size = 1 if comm is None else comm.size
    job, journal = payload["job"], payload.get("journal")
    try:
        backend = make_solver(job.svm_solver, job.backend, job.solver)
        hosts = [socket.gethostname()] if comm is None else comm.gather(socket.gethostname(), root=0)
        if rank == 0:
            _announce(job, payload["resumed"], size, prog)
        problem = job.problem
        if job.model_path is not None:
            problem = Problem(problem.X, problem.y, problem.fold)
        summary = grid_search(problem, job.gammas, job.costs, backend, comm=comm,
                              previous_records=journal.records if journal else (),
                              on_record=journal.append if journal else None,
                              n_parts=job.n_parts, progress=progress, plan_ranks=job.plan_ranks)
        if job.model_path is not None:
            model = fit_best_model(job.problem, summary, dict(job.solver, solver=job.svm_solver), comm=comm)
            if rank == 0:
                model.write(job.model_path)
        if rank != 0:
            return None
        journal.close()
        metadata = _metadata(job, payload["started"], payload["resumed"], size, hosts, summary["records"])
        write_results(out_dir, summary, metadata)
        return summary, metadata
    except Exception as error:
        if size > 1:
            abort_job(comm, prog, error)
        raise


def _announce(job, resumed, size, prog):
    problem = job.problem
    print(f"{prog}: {job.metadata.get('data', 'data')}: {len(problem.y)} samples, "
          f"{problem.X.shape[1]} features, {len(np.unique(problem.y))} classes; "
          f"{len(job.gammas)}x{len(job.costs)} grid, {job.header['folds']} folds, {size} rank(s), "
          f"solver {job.svm_solver}"
          + (f" ({job.backend})" if job.svm_solver == "libsvm" else "")
          + (f"; resuming with {resumed} finished units" if resumed else ""), file=sys.stderr, flush=True)


def _metadata(job, started, resumed, size, hosts, records):
    problem = job.problem
    metadata = {"data": None, "n_samples": int(len(problem.y)), "n_features": int(problem.X.shape[1]),
                "n_classes": int(len(np.unique(problem.y))), "folds": job.header.get("folds"),
                "seed": job.header.get("seed"), "ranks": size, "hosts": sorted(set(hosts)),
                "backend": job.backend, "svm_solver": job.svm_solver, "solver": job.header.get("solver"),
                "peak_rss_mb": peak_rss_mb(records), "model": job.model_path, "table_time": TABLE_TIME,
                "parts": job.n_parts, "chain_ranks": (job.plan_ranks or size) if job.svm_solver == "pisvm" else None}
    metadata.update(job.metadata)
    metadata.update(wall_s=time.time() - started, resumed_units=resumed, versions=versions())
    return metadata


def peak_rss_mb(records):
    """``{rank: MB}``: each rank's peak memory seen by its chains (solver pisvm; empty otherwise)."""
    peaks = {}
    for record in records:
        if "peak_rss_mb" in record:
            peaks[str(record["rank"])] = max(peaks.get(str(record["rank"]), 0.0), record["peak_rss_mb"])
    return dict(sorted(peaks.items(), key=lambda item: int(item[0])))


def versions():
    """Versions of the software that produced a result (for ``grid.json``)."""
    import mpi4py
    import scipy
    import sklearn

    import pisvm

    found = {"pisvm": pisvm.__version__, "python": platform.python_version(), "numpy": np.__version__,
             "scipy": scipy.__version__, "scikit-learn": sklearn.__version__, "mpi4py": mpi4py.__version__}
    try:
        from mpi4py import MPI

        found["mpi"] = MPI.Get_library_version().splitlines()[0].strip()
    except Exception:  # noqa: BLE001 - a version string is informative only
        pass
    return found


__all__ = ["GridJob", "end_grids", "prepare_out", "run_grid", "serve_grids", "versions"]
