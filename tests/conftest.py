"""Shared fixtures: the real data folder (optional), small problems, and how to start mpirun."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

# Every test runs on one machine: Open MPI's TCP transport, which probes the network interfaces
# for about a second in every process that initialises MPI, is not needed (a user's setting wins).
os.environ.setdefault("OMPI_MCA_btl", "self,sm")

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def shared_data():
    """The ../shared/data folder beside the checkout; the test is skipped without it."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is absent (real data is optional)")
    return SHARED_DATA


def run_command(args, timeout=300, **kwargs):
    """Run a command with the repository on PYTHONPATH; return the CompletedProcess."""
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMPI_MCA_rmaps_base_oversubscribe="1")
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env, **kwargs)


def mpirun(n_ranks, module, *args, timeout=300):
    """Run ``python -m module args`` on ``n_ranks`` MPI ranks (skipped without mpirun)."""
    launcher = shutil.which("mpirun") or shutil.which("mpiexec")
    if launcher is None:
        pytest.skip("mpirun is not installed")
    return run_command([launcher, "--oversubscribe", "-n", str(n_ranks), "-x", "PYTHONPATH",
                        sys.executable, "-m", module, *args], timeout=timeout)


def python_module(module, *args, timeout=300):
    """Run ``python -m module args`` without MPI."""
    return run_command([sys.executable, "-m", module, *args], timeout=timeout)


def assert_one_line_error(result, *fragments):
    """A bad-input exit: status 2, one line on stderr naming ``fragments``, no traceback."""
    assert result.returncode == 2, (result.returncode, result.stderr)
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(errors) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in errors[0], (fragment, errors[0])


def one_line_error(capsys, main, argv, *fragments, prog=None):
    """In-process: run a console script's ``main(argv)``; assert exit status 2 and one line naming ``fragments``."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    if prog:
        assert lines[0].startswith(f"{prog}: error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def run_main(capsys, main, argv):
    """In-process: run a console script's ``main(argv)``; return (exit status, stdout, stderr)."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    captured = capsys.readouterr()
    return exit_info.value.code or 0, captured.out, captured.err


@pytest.fixture
def ran(capsys):
    """In-process: ``ran(main, *argv)`` runs a console script's ``main`` and checks that it succeeded."""
    def run(main, *argv):
        status, _, err = run_main(capsys, main, list(argv))
        assert status == 0, err
    return run


@pytest.fixture
def small_problem():
    """A 4-class problem with overlapping classes: X (160, 5) in [0, 1], y in {1, 2, 3, 4}."""
    rng = np.random.RandomState(3)
    centres = rng.uniform(0.3, 0.7, size=(4, 5))
    y = np.repeat([1, 2, 3, 4], [50, 40, 40, 30])
    X = np.clip(centres[y - 1] + rng.normal(scale=0.12, size=(len(y), 5)), 0, 1)
    order = rng.permutation(len(y))
    return X[order], y[order]


def write_scene_and_splits(folder, n_rows, n_cols, n_bands, random_state):
    """A synthetic scene and two selections of it, written as the feature commands read them.

    ``scene.h5`` holds the scene; ``split.h5`` marks about 30 % of its labelled
    pixels for training (2) and the rest for testing (1); ``wrong.h5`` is the
    same selection one column short (a split that does not match the scene).

    Returns
    -------
    (scene, split, wrong, data, labels, selection)
        The three paths, the scene's data (n_rows, n_cols, n_bands) and labels, and the selection.
    """
    from pisvm.data.scene import write_scene
    from pisvm.data.selection import write_selection
    from pisvm.data.synth import synthetic_scene

    data, labels = synthetic_scene(n_rows=n_rows, n_cols=n_cols, n_bands=n_bands, random_state=random_state)
    scene, split, wrong = folder / "scene.h5", folder / "split.h5", folder / "wrong.h5"
    write_scene(scene, data, labels)
    rng = np.random.default_rng(random_state)
    selection = np.where(labels > 0, np.where(rng.random(labels.shape) < 0.3, 2, 1), 0).astype(np.int8)
    for path, written in ((split, selection), (wrong, selection[:, :-1])):
        write_selection(path, written, mean=np.zeros(n_bands), stddev=np.ones(n_bands))
    return scene, split, wrong, data, labels, selection
