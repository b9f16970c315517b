"""Commands without MPI work, started under mpirun: every message printed once, every file written once."""

import numpy as np
import pytest

from conftest import mpirun
from pisvm.data.scene import write_scene


@pytest.mark.mpi
def test_data_under_mpirun_prints_once(tmp_path):
    result = mpirun(2, "pisvm.cli.data", "synth", "problem", "--scale", "0.01", "--out", str(tmp_path / "p.el"))
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 1, result.stdout
    assert (tmp_path / "p.el").exists()


@pytest.mark.mpi
def test_split_under_mpirun_prints_once_and_errors_once(tmp_path):
    rng = np.random.RandomState(0)
    write_scene(tmp_path / "scene.h5", rng.rand(8, 8, 3), rng.randint(1, 3, (8, 8)))
    result = mpirun(2, "pisvm.cli.split", str(tmp_path / "scene.h5"), "--no-plot", "--out", str(tmp_path / "s.h5"))
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 1, result.stdout
    result = mpirun(2, "pisvm.cli.split", str(tmp_path / "missing.h5"), "--out", str(tmp_path / "t.h5"))
    assert result.returncode == 2
    assert len([line for line in result.stderr.splitlines() if "pisvm-split: error" in line]) == 1, result.stderr
