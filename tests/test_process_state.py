"""What a command leaves behind in the process, and what waiting ranks cost (mpirun: the ranks are the point)."""

import sys

import pytest

from conftest import REPO, run_command

SCRIPT = """
import time

import numpy as np
from mpi4py import MPI
from threadpoolctl import threadpool_info

import pisvm.svm.train
from pisvm.data.libsvm import write_libsvm

comm = MPI.COMM_WORLD
rng = np.random.RandomState(0)
X, y = rng.rand(90, 3), np.repeat([1, 2, 3], 30)
if comm.rank == 0:  # rank 0 finishes its pairs 3 s after the others
    original = pisvm.svm.train.fit_pairs

    def slow(*args, **kwargs):
        time.sleep(3.0)
        return original(*args, **kwargs)

    pisvm.svm.train.fit_pairs = slow
cpu_s = time.process_time()
pisvm.svm.train.train_model(X, y, {"gamma": 1.0, "C": 1.0}, comm=comm)
cpu_s = time.process_time() - cpu_s

train = "{folder}/train.el"
if comm.rank == 0:
    write_libsvm(train, X, y)
comm.Barrier()
threads = [pool["num_threads"] for pool in threadpool_info()]
from pisvm.cli.grid import main

try:
    main([train, "-g", "1", "-c", "1", "-v", "2", "--out", "{folder}/grid", "-q"])
except SystemExit as exit:
    assert exit.code == 0, exit.code
print(f"rank {comm.rank} waiting cpu_s {cpu_s:.3f} threads {threads} -> "
      f"{[pool['num_threads'] for pool in threadpool_info()]}", flush=True)
"""


@pytest.mark.mpi
def test_waiting_ranks_sleep_and_grid_gives_the_blas_threads_back(tmp_path):
    import shutil

    launcher = shutil.which("mpirun") or shutil.which("mpiexec")
    if launcher is None:
        pytest.skip("mpirun is not installed")
    script = tmp_path / "script.py"
    script.write_text(SCRIPT.replace("{folder}", str(tmp_path)))
    result = run_command([launcher, "--oversubscribe", "-n", "2", "-x", "PYTHONPATH", sys.executable, str(script)],
                         cwd=REPO)
    assert result.returncode == 0, result.stderr
    lines = sorted(line for line in result.stdout.splitlines() if line.startswith("rank "))
    assert len(lines) == 2, result.stdout
    waiting_cpu_s = float(lines[1].split()[4])
    assert waiting_cpu_s < 1.0, lines[1]  # 3 s in a spinning gather would cost about 3 s
    for line in lines:
        before, after = line.split("threads ")[1].split(" -> ")
        assert before == after, line
