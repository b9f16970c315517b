"""Job scripts parse, and run their payload locally when no scheduler is present."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO
from pisvm.data.libsvm import write_libsvm

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
@pytest.mark.parametrize("name", ["grid-serial.slurm", "grid.pbs"])  # grid.slurm: test_resubmitted_grid_job_resumes
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
    from studies import scaling_study

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
    from studies import sampling_study, scaling_study

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


@pytest.mark.parametrize("argv, fragment", [
    (["scaling", "train.el", "--ranks", "0"], "argument --ranks: 0 must be > 0"),
    (["sampling", "s.h5", "--fractions", "1.5"], "fraction == 1.5, must be in (0, 1)"),
    (["scaling", "train.el", "--cores-per-node", "0"], "argument --cores-per-node: 0 must be > 0"),
    (["scaling", "train.el", "--time", "abc"], "time 'abc' is not a SLURM wall-clock limit"),
    (["scaling", "train.el", "--time", "1-02:00:00", "--scheduler", "pbs"], "is not a PBS wall-clock limit"),
    (["scaling", "train.el", "--time", "2:75:00"], "time '2:75:00' is not a SLURM"),
])
def test_jobs_cli_bad_input(tmp_path, capsys, argv, fragment):
    from studies.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(argv + ["--out", str(tmp_path / "j")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("pisvm-jobs: error: ") and fragment in err and "\n" not in err, err
    assert not (tmp_path / "j").exists()


def test_time_formats_the_schedulers_accept():
    from studies import check_time

    for text in ("90", "90:30", "02:00:00", "1-12", "1-12:30", "2-00:00:00"):
        assert check_time(text, "slurm") == text
    for text in ("3600", "60:00", "02:00:00"):
        assert check_time(text, "pbs") == text


def _stand_in(bin_dir, name, text):
    path = bin_dir / name
    path.write_text("#!/usr/bin/env bash\n" + text)
    path.chmod(0o755)


def test_submit_sh_jobs_find_data_given_relative_to_where_pisvm_jobs_ran(local_env, tmp_path, monkeypatch):
    """sbatch starts a job in the folder it was called from: submit.sh's folder, not the user's."""
    from studies.cli import main

    user = tmp_path / "user"
    (user / "data").mkdir(parents=True)
    os.replace(tmp_path / "train.el", user / "data" / "train.el")
    monkeypatch.chdir(user)
    with pytest.raises(SystemExit) as exit_info:
        main(["scaling", "data/train.el", "--ranks", "1", "--grid", "-g 1 -c 1 -v 3", "--out", "jobs/scaling"])
    assert exit_info.value.code == 0
    # Stand-in sbatch: runs the script in the submit directory with a job id, as SLURM would.
    _stand_in(tmp_path / "bin", "sbatch", 'SLURM_JOB_ID=4242 bash "$1" > "slurm-4242.out" 2>&1 || '
                                          '{ cat slurm-4242.out >&2; exit 1; }\n')
    env = dict(local_env, MODULES="")
    result = subprocess.run(["bash", str(user / "jobs" / "scaling" / "submit.sh")], env=env, capture_output=True,
                            text=True, cwd=tmp_path, timeout=180)
    assert result.returncode == 0, result.stderr
    grid = json.loads((user / "jobs" / "scaling" / "results" / "n1" / "grid.json").read_text())
    assert grid["metadata"]["data"] == str(user / "data" / "train.el")


def test_sampling_jobs_find_the_scene_from_the_submit_folder(local_env, tiny_scene, tmp_path, monkeypatch):
    from studies.cli import main

    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit):
        main(["sampling", "scene.h5", "--fractions", "0.3", "--epochs", "1", "--out", "study"])
    _stand_in(tmp_path / "bin", "sbatch", 'SLURM_JOB_ID=7 bash "$1"\n')
    _stand_in(tmp_path / "bin", "pisvm-cnn", 'for a in "$2" "$3"; do test -f "$a" || { echo "no $a" >&2; exit 1; }; '
                                             'done\necho "$@" >> "$(dirname "$0")/cnn.log"\n')
    result = subprocess.run(["bash", str(tmp_path / "study" / "submit.sh")], env=dict(local_env, MODULES=""),
                            capture_output=True, text=True, cwd="/", timeout=180)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "study" / "results" / "splits" / "random-0.3-0.h5").exists()
    assert f"--out {tmp_path}/study/results/random-0.3-0" in (tmp_path / "bin" / "cnn.log").read_text()


@pytest.fixture
def tiny_scene(tmp_path):
    """A 20x20 scene with 40 bands and a random 30 % split."""
    from pisvm.data.sampling import make_selection, training_statistics
    from pisvm.data.scene import write_scene
    from pisvm.data.selection import write_selection
    from pisvm.data.synth import synthetic_scene

    data, labels = synthetic_scene(20, 20, 40, 3, random_state=4)
    write_scene(tmp_path / "scene.h5", data, labels)
    selection, attrs = make_selection(labels, "random", 0.3, random_state=0)
    write_selection(tmp_path / "split.h5", selection, *training_statistics(data, selection), **attrs)
    return tmp_path / "scene.h5", tmp_path / "split.h5"


@pytest.mark.parametrize("name", ["cnn.slurm", "cnn-multigpu.slurm"])
def test_cnn_scripts_run_locally(name, local_env, tiny_scene, tmp_path, capsys, monkeypatch):
    pytest.importorskip("tensorflow")
    # The script runs; the pisvm-cnn command line it builds runs in this process (TensorFlow imported once).
    _stand_in(tmp_path / "bin", "pisvm-cnn", 'printf "%s\\n" "$@" > "$(dirname "$0")/cnn.args"\n')
    env = dict(local_env, OUT=str(tmp_path / "out"), EPOCHS="1", BATCH="16")
    result = subprocess.run(["bash", str(REPO / "jobs" / name), str(tiny_scene[0]), str(tiny_scene[1])],
                            env=env, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    from cnn.cli import main
    from conftest import run_main

    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3"))
    monkeypatch.chdir(tmp_path)
    status, _, err = run_main(capsys, main, (tmp_path / "bin" / "cnn.args").read_text().splitlines())
    assert status == 0, err[-2000:]
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


def test_features_script_feeds_pisvm_grid(local_env, tiny_scene, tmp_path, capsys):
    out = tmp_path / "features"
    env = dict(local_env, OUT=str(out), PCA="2", AREA="5 20")
    result = subprocess.run(["bash", str(REPO / "jobs" / "features.slurm"), str(tiny_scene[0]), str(tiny_scene[1])],
                            env=env, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (out / "features.h5").exists()
    from conftest import run_main
    from pisvm.cli.grid import main

    status, _, err = run_main(capsys, main, [str(out / "ap_train.libsvm"), "-g", "1", "-c", "10", "-v", "3", "--test",
                                             str(out / "ap_test.libsvm"), "--out", str(tmp_path / "grid"), "-q"])
    assert status == 0, err
    report = json.loads((tmp_path / "grid" / "grid.json").read_text())
    assert report["metadata"]["n_features"] == 2 * 5 and report["test"]["overall_accuracy"] > 0.5


@pytest.mark.parametrize("name, args, job_id", [
    ("grid.slurm", ["train.el"], "SLURM_JOB_ID"), ("grid-serial.slurm", ["train.el"], "SLURM_JOB_ID"),
    ("grid.pbs", [], "PBS_JOBID"), ("cnn.slurm", ["scene.h5", "split.h5"], "SLURM_JOB_ID"),
    ("cnn-multigpu.slurm", ["scene.h5", "split.h5"], "SLURM_JOB_ID"),
    ("features.slurm", ["scene.h5", "split.h5"], "SLURM_JOB_ID"), ("compare.slurm", ["scene.h5"], "SLURM_JOB_ID"),
])
def test_resubmitted_job_writes_to_the_same_folder(name, args, job_id, tmp_path):
    """A re-submitted job has a new id: its default output folder must not change, and grids --resume."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for command in ("pisvm-grid", "pisvm-cnn", "pisvm-features", "pisvm-compare", "mpirun", "srun"):
        _stand_in(bin_dir, command, f'echo {command} "$@" >> "{tmp_path}/calls.log"\n')
    env = dict(os.environ, PATH=f"{bin_dir}:/usr/bin:/bin", TRAIN="train.el", NTASKS="2")
    for key in ("OUT", "SLURM_JOB_ID", "PBS_JOBID", "SLURM_NTASKS"):
        env.pop(key, None)
    outs = []
    for number in ("101", "202"):
        (tmp_path / "calls.log").unlink(missing_ok=True)
        result = subprocess.run(["bash", str(REPO / "jobs" / name), *args], env=dict(env, **{job_id: number}),
                                capture_output=True, text=True, cwd=tmp_path, timeout=60)
        assert result.returncode == 0, result.stderr
        call = (tmp_path / "calls.log").read_text().split()
        out = call[call.index("--out") + 1]
        assert number not in out, out
        outs.append(out)
        if "pisvm-grid" in call:
            assert "--resume" in call
    assert outs[0] == outs[1]


@pytest.mark.mpi
def test_resubmitted_grid_job_resumes(local_env, tmp_path):
    if shutil.which("mpirun") is None:
        pytest.skip("mpirun is not installed")
    # grid.slurm run for real on 2 ranks, into the folder OUT names, then re-submitted (the default folder, which
    # does not change with the job id: test_resubmitted_job_writes_to_the_same_folder).
    grids = []
    for number in ("101", "202"):
        result = subprocess.run(["bash", str(REPO / "jobs" / "grid.slurm"), "train.el"],
                                env=dict(local_env, SLURM_JOB_ID=number, OUT=str(tmp_path / "out")),
                                capture_output=True, text=True, cwd=tmp_path, timeout=180)
        assert result.returncode == 0, result.stderr
        grids.append(json.loads((tmp_path / "out" / "grid.json").read_text()))
    assert grids[0]["metadata"]["ranks"] == 2 and grids[0]["metadata"]["resumed_units"] == 0
    assert grids[1]["metadata"]["resumed_units"] == len(grids[0]["units"]) > 0


@pytest.mark.parametrize("options, fragment", [({"cores_per_node": 0}, "cores_per_node == 0"),
                                               ({"time": "abc"}, "time 'abc'"), ({"gpus": -1}, "gpus == -1")])
def test_study_writer_checks_before_writing(tmp_path, options, fragment):
    from studies import sampling_study

    with pytest.raises(ValueError, match=fragment):
        sampling_study(str(tmp_path / "study"), "scene.h5", ["random"], [0.1], [0], **options)
    assert not (tmp_path / "study").exists()


@pytest.mark.parametrize("grid, fragment", [
    ("-g -1", "--grid '-g -1': gamma == -1.0, must be > 0"),
    ("-g abc", "--grid '-g abc': argument -g/--gamma: invalid float value: 'abc'"),
    ("-g 1 -c 'unbalanced", "--grid \"-g 1 -c 'unbalanced\": No closing quotation"),
    ("-v 1", "--grid '-v 1': folds == 1, must be >= 2"),
    ("-v 3 extra.el", "unrecognized arguments: extra.el"),
])
def test_jobs_grid_is_parsed_by_pisvm_grids_parser(tmp_path, capsys, grid, fragment):
    from studies.cli import main

    (tmp_path / "train.el").write_text("1 1:1\n2 1:2\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["scaling", str(tmp_path / "train.el"), "--grid", grid, "--out", str(tmp_path / "j")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("pisvm-jobs: error: ") and fragment in err and "\n" not in err, err
    assert not (tmp_path / "j").exists()


@pytest.mark.parametrize("argv", [["scaling", "MISSING"], ["scaling", "TRAIN", "--test", "MISSING"],
                                  ["sampling", "MISSING"]])
def test_jobs_data_files_must_exist(tmp_path, capsys, argv):
    from studies.cli import main

    (tmp_path / "train.el").write_text("1 1:1\n2 1:2\n")
    argv = [{"MISSING": str(tmp_path / "missing"), "TRAIN": str(tmp_path / "train.el")}.get(a, a) for a in argv]
    with pytest.raises(SystemExit) as exit_info:
        main(argv + ["--out", str(tmp_path / "j")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("pisvm-jobs: error: ") and f"{tmp_path / 'missing'}: no such file" in err, err
    assert not (tmp_path / "j").exists()
