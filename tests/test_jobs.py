"""Job scripts parse, and run their payload locally when no scheduler is present."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO
from pisvm.libsvm import write_libsvm

COMMANDS = {"pisvm-grid": "pisvm.cli.grid", "pisvm-timing": "pisvm.cli.timing", "pisvm-cnn": "cnn.cli",
            "pisvm-compare": "compare.cli", "pisvm-features": "features.cli", "pisvm-split": "pisvm.cli.split"}
SCRIPTS = sorted((REPO / "jobs").glob("*.slurm")) + sorted((REPO / "jobs").glob("*.pbs"))


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_script_parses(script):
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0


@pytest.fixture
def local_env(tmp_path):
    """PATH with pisvm-grid (a shim running this checkout) and no srun/qsub."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for command, module in COMMANDS.items():
        shim = bin_dir / command
        shim.write_text(f"#!/bin/sh\nexec {sys.executable} -m {module} \"$@\"\n")
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


@pytest.mark.mpi
def test_scaling_study_scripts_parse_and_run_locally(local_env, tmp_path):
    if shutil.which("mpirun") is None:
        pytest.skip("mpirun is not installed")
    from pisvm.jobs import scaling_study

    folder = tmp_path / "study"
    written = scaling_study(str(folder), str(tmp_path / "train.el"), [1, 2], "-g 1 4 -c 1 -v 3",
                            account="acc", partition="batch", modules=["GCC", "OpenMPI"])
    assert sorted(os.path.basename(p) for p in written) == ["grid-n1.slurm", "grid-n2.slurm", "submit.sh",
                                                           "summary.sh"]
    text = (folder / "grid-n2.slurm").read_text()
    assert "#SBATCH --ntasks=2" in text and "#SBATCH --account=acc" in text and "#SBATCH --partition=batch" in text
    assert "MODULES=${MODULES:-'GCC OpenMPI'}" in text
    for path in written:
        assert subprocess.run(["bash", "-n", path]).returncode == 0
    env = dict(local_env, RESULTS=str(tmp_path / "results"), MODULES="")
    for name in ("grid-n1.slurm", "grid-n2.slurm", "summary.sh"):
        env.pop("NTASKS", None)
        result = subprocess.run(["bash", str(folder / name)], env=env, capture_output=True, text=True, timeout=180)
        assert result.returncode == 0, (name, result.stderr)
    assert json.loads((tmp_path / "results" / "n2" / "grid.json").read_text())["metadata"]["ranks"] == 2
    assert (tmp_path / "results" / "timing" / "scaling.png").exists()


def test_pbs_and_sampling_scripts_parse(tmp_path):
    from pisvm.jobs import sampling_study, scaling_study

    written = scaling_study(str(tmp_path / "pbs"), "train.el", [1, 80], scheduler="pbs", cores_per_node=40)
    text = (tmp_path / "pbs" / "grid-n80.pbs").read_text()
    assert "#PBS -l nodes=2:ppn=40" in text
    written += sampling_study(str(tmp_path / "sampling"), "scene.h5", ["random", "size"], [0.1, 0.3], [0, 1],
                              epochs=5, account="acc")
    names = sorted(os.path.basename(p) for p in written if "cnn-" in p)
    assert names == ["cnn-random-0.1-0.slurm", "cnn-random-0.1-1.slurm", "cnn-random-0.3-0.slurm",
                     "cnn-random-0.3-1.slurm", "cnn-size-0.1-0.slurm", "cnn-size-0.3-0.slurm"]
    assert "#SBATCH --gres=gpu:1" in (tmp_path / "sampling" / "cnn-size-0.1-0.slurm").read_text()
    for path in written:
        assert subprocess.run(["bash", "-n", path]).returncode == 0


def test_jobs_cli_bad_input(tmp_path):
    from conftest import assert_one_line_error, python_module

    result = python_module("pisvm.cli.jobs", "scaling", "train.el", "--ranks", "0", "--out", str(tmp_path / "j"))
    assert_one_line_error(result, "ranks == 0, must be >= 1")
    result = python_module("pisvm.cli.jobs", "sampling", "s.h5", "--fractions", "1.5", "--out", str(tmp_path / "j"))
    assert_one_line_error(result, "fraction == 1.5, must be in (0, 1)")


@pytest.fixture
def tiny_scene(tmp_path):
    """A 20x20 scene with 40 bands and a random 30 % split."""
    from pisvm.sampling import make_selection, training_statistics
    from pisvm.scene import write_scene
    from pisvm.selection import write_selection
    from pisvm.synth import synthetic_scene

    data, labels = synthetic_scene(20, 20, 40, 3, random_state=4)
    write_scene(tmp_path / "scene.h5", data, labels)
    selection, attrs = make_selection(labels, "random", 0.3, random_state=0)
    write_selection(tmp_path / "split.h5", selection, *training_statistics(data, selection), **attrs)
    return tmp_path / "scene.h5", tmp_path / "split.h5"


@pytest.mark.parametrize("name", ["cnn.slurm", "cnn-multigpu.slurm"])
def test_cnn_scripts_run_locally(name, local_env, tiny_scene, tmp_path):
    pytest.importorskip("tensorflow")
    env = dict(local_env, OUT=str(tmp_path / "out"), EPOCHS="1", BATCH="16")
    result = subprocess.run(["bash", str(REPO / "jobs" / name), str(tiny_scene[0]), str(tiny_scene[1])],
                            env=env, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads((tmp_path / "out" / "results.json").read_text())
    assert 0 <= report["test"]["overall_accuracy"] <= 1


@pytest.mark.mpi
def test_compare_script_runs_locally(local_env, tiny_scene, tmp_path):
    pytest.importorskip("tensorflow")
    if shutil.which("mpirun") is None:
        pytest.skip("mpirun is not installed")
    env = dict(local_env, OUT=str(tmp_path / "out"), EPOCHS="1", SAMPLING="random", SEEDS="0",
               OPTIONS="-g 1 -c 10 -v 3 --pca 2 --area 10 --batch 16 --window 7")
    result = subprocess.run(["bash", str(REPO / "jobs" / "compare.slurm"), str(tiny_scene[0])],
                            env=env, capture_output=True, text=True, cwd=tmp_path, timeout=400)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert set(report["splits"][0]["methods"]) == {"svm-spectra", "svm-ap", "svm-sdap", "cnn"}


def test_features_script_feeds_pisvm_grid(local_env, tiny_scene, tmp_path):
    out = tmp_path / "features"
    env = dict(local_env, OUT=str(out), PCA="2", AREA="5 20")
    result = subprocess.run(["bash", str(REPO / "jobs" / "features.slurm"), str(tiny_scene[0]), str(tiny_scene[1])],
                            env=env, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (out / "features.h5").exists()
    grid = subprocess.run([sys.executable, "-m", "pisvm.cli.grid", str(out / "ap_train.libsvm"), "-g", "1", "-c", "10",
                           "-v", "3", "--test", str(out / "ap_test.libsvm"), "--out", str(tmp_path / "grid"), "-q"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert grid.returncode == 0, grid.stderr
    report = json.loads((tmp_path / "grid" / "grid.json").read_text())
    assert report["metadata"]["n_features"] == 2 * 5 and report["test"]["overall_accuracy"] > 0.5
