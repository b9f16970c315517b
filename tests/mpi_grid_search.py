"""Run by ``mpirun -n 2 python -m tests.mpi_grid_search OUT``: GridSearchSVC over MPI, rank 0 writes its tables.

The problem and grid are those of ``test_same_table_for_any_n_jobs_and_two_mpi_ranks``.
"""

import json
import sys

import numpy as np

from pisvm import SVC, GridSearchSVC


def main(out):
    rng = np.random.RandomState(3)  # the small_problem fixture of tests/conftest.py
    centres = rng.uniform(0.3, 0.7, size=(4, 5))
    y = np.repeat([1, 2, 3, 4], [50, 40, 40, 30])
    X = np.clip(centres[y - 1] + rng.normal(scale=0.12, size=(len(y), 5)), 0, 1)
    order = rng.permutation(len(y))
    grid = {"gamma": [0.5, 4.0, 32.0], "C": [1, 100, 10000]}
    from mpi4py import MPI

    table = {}
    for solver in ("pisvm", "libsvm"):
        search = GridSearchSVC(SVC(solver=solver), grid, cv=5, refit=False).fit(X[order], y[order])
        table[solver] = {key: np.asarray(value).tolist() for key, value in search.cv_results_.items()
                         if key.startswith(("split", "mean_test", "std_test", "rank"))}
    tables = MPI.COMM_WORLD.gather(table)
    if MPI.COMM_WORLD.rank == 0:
        if tables[0] != tables[1]:
            raise SystemExit("the ranks' tables differ")
        with open(out, "w") as stream:
            json.dump(tables[0], stream)


if __name__ == "__main__":
    main(sys.argv[1])
