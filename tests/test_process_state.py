"""What a command leaves behind in the process, and what waiting ranks cost (mpirun: the ranks are the point)."""

import json
import sys

import pytest

from conftest import REPO, run_command

SCRIPT = """
import json

import numpy as np
from mpi4py import MPI
from threadpoolctl import threadpool_info

import pisvm.svm.train
import pisvm.transport
from pisvm.data.libsvm import write_libsvm

comm = MPI.COMM_WORLD
rng = np.random.RandomState(0)
X, y = rng.rand(90, 3), np.repeat([1, 2, 3], 30)
delays = []
if comm.rank == 0:  # rank 0 finishes its pairs only after rank 1 has slept between 20 polls waiting for it
    original = pisvm.svm.train.fit_pairs

    def slow(*args, **kwargs):
        comm.recv(source=1, tag=77)
        return original(*args, **kwargs)

    pisvm.svm.train.fit_pairs = slow
else:  # a rank waiting in a spinning gather would never poll, and rank 0 would never finish
    sleep = pisvm.transport.Backoff.sleep

    def counted(self):
        delays.append(self.delay)
        if len(delays) == 20:
            comm.send("polled", dest=0, tag=77)
        sleep(self)

    pisvm.transport.Backoff.sleep = counted
pisvm.svm.train.train_model(X, y, {"gamma": 1.0, "C": 1.0}, comm=comm)
waiting = delays[:20]

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
print(f"rank {comm.rank} waiting {json.dumps(waiting)} threads {threads} -> "
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
    delays = json.loads(lines[1].split("waiting ")[1].split(" threads")[0])
    # Rank 1 waited for rank 0 in back-off sleeps (at once, then doubling up to the longest), not a spinning gather.
    assert len(delays) == 20 and delays[0] == 0.0 and all(d > 0 for d in delays[1:]), lines[1]
    assert delays == sorted(delays), lines[1]
    for line in lines:
        before, after = line.split("threads ")[1].split(" -> ")
        assert before == after, line
