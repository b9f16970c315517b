"""Job scripts parse, and run their payload locally when no scheduler is present."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO
from pisvm.libsvm import write_libsvm

SCRIPTS = sorted((REPO / "jobs").glob("*.slurm")) + sorted((REPO / "jobs").glob("*.pbs"))


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_script_parses(script):
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0


@pytest.fixture
def local_env(tmp_path):
    """PATH with pisvm-grid (a shim running this checkout) and no srun/qsub."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "pisvm-grid"
    shim.write_text(f"#!/bin/sh\nexec {sys.executable} -m pisvm.cli.grid \"$@\"\n")
    shim.chmod(0o755)
    rng = np.random.RandomState(0)
    y = np.repeat([1, 2, 3], 20)
    X = np.clip(rng.normal(loc=y[:, None] / 4, scale=0.1, size=(60, 3)), 0, 1)
    write_libsvm(tmp_path / "train.el", X, y)
    path = os.pathsep.join([str(bin_dir), os.path.dirname(shutil.which("mpirun") or sys.executable),
                            "/usr/bin", "/bin"])
    return dict(os.environ, PATH=path, PYTHONPATH=str(REPO), GRID="-g 1 -c 1", FOLDS="3", NTASKS="2",
                OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")


@pytest.mark.mpi
@pytest.mark.parametrize("name", ["grid.slurm", "grid-serial.slurm", "grid.pbs"])
def test_script_runs_locally(name, local_env, tmp_path):
    if shutil.which("mpirun") is None:
        pytest.skip("mpirun is not installed")
    env = dict(local_env, OUT=str(tmp_path / "out"), TRAIN=str(tmp_path / "train.el"))
    args = ["bash", str(REPO / "jobs" / name)] + ([] if name.endswith(".pbs") else [str(tmp_path / "train.el")])
    result = subprocess.run(args, env=env, capture_output=True, text=True, cwd=tmp_path, timeout=180)
    assert result.returncode == 0, result.stderr
    grid = json.loads((tmp_path / "out" / "grid.json").read_text())
    assert grid["metadata"]["ranks"] == (1 if "serial" in name else 2)
