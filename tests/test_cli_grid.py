"""pisvm-grid end to end: serial and MPI tables, result files, resume after a kill, bad input."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.svm import SVC

from conftest import REPO, assert_one_line_error, mpirun, one_line_error, python_module, run_command, run_main
from pisvm.data.libsvm import write_libsvm

GRID = ["-g", "1", "8", "-c", "1", "100", "-v", "4", "--seed", "3"]  # the default solver, pisvm
LIBSVM = ["--solver", "libsvm"]  # where exact equality with scikit-learn's SVC is the point


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    rng = np.random.RandomState(0)
    centres = rng.uniform(0.2, 0.8, size=(5, 6))
    y = np.repeat([1, 2, 3, 4, 5], [60, 50, 40, 30, 20])
    X = np.clip(centres[y - 1] + rng.normal(scale=0.15, size=(len(y), 6)), 0, 1)
    order = rng.permutation(len(y))
    X, y = X[order], y[order]
    folder = tmp_path_factory.mktemp("data")
    write_libsvm(folder / "train.el", X[:150], y[:150])
    write_libsvm(folder / "test.el", X[150:], y[150:])
    return folder, X[:150], y[:150]


def _grid(result_dir):
    with open(result_dir / "grid.json") as stream:
        return json.load(stream)


@pytest.fixture(scope="module")
def serial_run(files, tmp_path_factory):
    folder = files[0]
    out = tmp_path_factory.mktemp("serial") / "out"
    result = python_module("pisvm.cli.grid", str(folder / "train.el"), *GRID, *LIBSVM, "--test",
                           str(folder / "test.el"), "--out", str(out))
    assert result.returncode == 0, result.stderr
    return result, out


@pytest.fixture(scope="module")
def pisvm_serial_run(files, tmp_path_factory):
    """The serial run of the default solver, which the MPI runs must equal."""
    folder = files[0]
    out = tmp_path_factory.mktemp("pisvm") / "out"
    result = python_module("pisvm.cli.grid", str(folder / "train.el"), *GRID, "--test", str(folder / "test.el"),
                           "--out", str(out))
    assert result.returncode == 0, result.stderr
    return result, out


def test_serial_run_writes_table_and_files(serial_run, files):
    result, out = serial_run
    assert sorted(os.listdir(out)) == ["grid.csv", "grid.json", "heatmap.png", "journal.jsonl", "model", "table.md"]
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["gamma", "\\", "C", "1", "100"]
    assert sum(line.count("*") for line in lines[1:3]) == 1
    grid = _grid(out)
    assert len(grid["cells"]) == 4 and grid["metadata"]["ranks"] == 1 and grid["metadata"]["folds"] == 4
    assert grid["metadata"]["table_time"] == "seconds_sum"
    assert len(grid["metadata"]["data_sha256"]) == 64
    assert set(grid["test"]) >= {"overall_accuracy", "average_accuracy", "kappa", "per_class_accuracy", "confusion"}
    csv_lines = (out / "grid.csv").read_text().splitlines()
    assert csv_lines[0].startswith("gamma,C,accuracy,seconds_sum,seconds_span,fold0") and len(csv_lines) == 5
    assert (out / "heatmap.png").read_bytes()[:4] == b"\x89PNG"


def test_serial_table_equals_scikit_learn(serial_run, files):
    _, X, y = files
    grid = _grid(serial_run[1])
    cv = StratifiedKFold(4, shuffle=True, random_state=3)
    reference = GridSearchCV(SVC(), {"gamma": [1.0, 8.0], "C": [1.0, 100.0]}, cv=cv).fit(X, y)
    params = reference.cv_results_["params"]
    for cell in grid["cells"]:
        index = params.index({"C": cell["C"], "gamma": cell["gamma"]})
        assert cell["accuracy"] == reference.cv_results_["mean_test_score"][index]


@pytest.mark.mpi
@pytest.mark.parametrize("n_ranks, extra", [(2, []), (3, ["--parts", "3"])])
def test_mpi_table_equals_serial(pisvm_serial_run, files, tmp_path, n_ranks, extra):
    serial_run = pisvm_serial_run
    folder = files[0]
    out = tmp_path / "out"
    result = mpirun(n_ranks, "pisvm.cli.grid", str(folder / "train.el"), *GRID, "--test", str(folder / "test.el"),
                    "--out", str(out), *extra)
    assert result.returncode == 0, result.stderr
    serial, parallel = _grid(serial_run[1]), _grid(out)
    assert parallel["metadata"]["ranks"] == n_ranks and "solver pisvm" in result.stderr
    for a, b in zip(serial["cells"], parallel["cells"]):
        assert (a["gamma"], a["C"], a["fold_accuracies"]) == (b["gamma"], b["C"], b["fold_accuracies"])
    assert serial["test"]["confusion"] == parallel["test"]["confusion"]
    assert {unit["rank"] for unit in parallel["units"]} == set(range(n_ranks))
    table = lambda text: [line for line in text.splitlines() if line.strip()[:1].isdigit()]  # noqa: E731
    strip_minutes = lambda rows: [[part for part in row.split() if not part.startswith("(")] for row in rows]  # noqa
    assert strip_minutes(table(serial_run[0].stdout))[:2] == strip_minutes(table(result.stdout))[:2]


@pytest.mark.mpi
def test_error_in_a_worker_rank_ends_the_job(files, tmp_path):
    # A solver failure on rank 1 only (simulated through a bad cache size the
    # solver rejects there) must abort every rank, not hang.
    folder = files[0]
    script = tmp_path / "fail.py"
    script.write_text(
        "import sys\n"
        "from mpi4py import MPI\n"
        "import pisvm.svm.backends as b\n"
        "if MPI.COMM_WORLD.rank == 1:\n"
        "    def boom(*a, **k):\n"
        "        raise RuntimeError('solver exploded')\n"
        "    b.LibsvmBackend.fit_predict = boom\n"
        "    import pisvm.grid.chains as c\n"
        "    c.PisvmSolver.solve_pair = boom\n"  # the default solver's
        "from pisvm.cli.grid import main\n"
        "main(sys.argv[1:])\n")
    launcher = [a for a in ("mpirun",)][0]
    # A hang would raise subprocess.TimeoutExpired after 120 s: no clock is read here.
    result = run_command([launcher, "--oversubscribe", "-n", "2", "-x", "PYTHONPATH", sys.executable, str(script),
                          str(folder / "train.el"), *GRID, "--out", str(tmp_path / "out"), "-q"], timeout=120)
    assert result.returncode != 0
    assert "rank 1 of 2" in result.stderr and "solver exploded" in result.stderr


def test_resume_after_kill_skips_finished_units(files, tmp_path, capsys):
    from pisvm.cli.grid import main

    folder = files[0]
    out = tmp_path / "out"
    grid_args = [str(folder / "train.el"), "-g", "1", "2", "4", "8", "-c", "1", "10", "100", "-v", "4", "--seed", "3",
                 "-q"]  # the default solver
    args = [sys.executable, "-m", "pisvm.cli.grid", *grid_args, "--out", str(out), "--parts", "40"]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    process = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    journal = out / "journal.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline:
        if journal.exists() and len(journal.read_text().splitlines()) > 30:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    with open(journal, "a") as stream:
        stream.write('{"gamma": 1.0, "C"')  # a line torn by the kill
    finished = len(journal.read_text().splitlines()) - 2
    assert finished >= 30
    assert not (out / "grid.json").exists()

    # The killed process is the point; the runs after it go in-process.
    one_line_error(capsys, main, args[3:], "pass --resume", prog="pisvm-grid")
    status, _, err = run_main(capsys, main, args[3:] + ["--resume"])
    assert status == 0, err
    assert f"resuming with {finished} finished units" in err
    grid = _grid(out)
    assert grid["metadata"]["resumed_units"] == finished
    status, _, err = run_main(capsys, main, grid_args + ["--out", str(tmp_path / "ref")])
    assert status == 0, err
    reference_cells = _grid(tmp_path / "ref")["cells"]
    assert [c["fold_accuracies"] for c in grid["cells"]] == [c["fold_accuracies"] for c in reference_cells]


@pytest.mark.parametrize("content, extra, fragments", [
    ("", [], ["no samples (empty file)"]),
    ("1 1:0.5\n2 0:0.1\n", [], [":2: feature index 0 < 1"]),
    ("1 1:0.5\n2 1:nan\n", [], [":2: value 'nan'"]),
    ("1 1:0.5\n1 1:0.6\n1 1:0.1\n", ["-v", "2"], ["only one class"]),
    (None, ["-g", "-0.5"], ["gamma == -0.5, must be > 0"]),
    (None, ["-c", "0"], ["C == 0.0, must be > 0"]),
    (None, ["-v", "1"], ["folds == 1, must be >= 2"]),
    (None, ["--backend", "svmlight"], ["invalid choice: 'svmlight'"]),
    (None, ["--backend", "thundersvm", "--solver", "pisvm"], ["thundersvm"]),
    (None, ["--solver", "svmlight"], ["--solver", "invalid choice: 'svmlight'"]),
    (None, ["--out", "/proc/version/out"], ["output folder /proc/version/out: cannot write"]),
    (None, ["--test", "missing.el"], ["missing.el"]),
])
def test_bad_input_gets_one_line_and_exit_2(files, tmp_path, capsys, content, extra, fragments):
    from pisvm.cli.grid import main

    train = files[0] / "train.el"
    if content is not None:
        train = tmp_path / "bad.el"
        train.write_text(content)
    args = [str(train), "-g", "1", "-c", "1", "-v", "3", "--out", str(tmp_path / "out"), "-q"]
    one_line_error(capsys, main, args + extra, *fragments, prog="pisvm-grid")


@pytest.mark.mpi
def test_bad_input_under_mpi_exits_every_rank_with_one_line(tmp_path):
    bad = tmp_path / "bad.el"
    bad.write_text("1 1:0.5\n2 0:0.1\n")
    result = mpirun(2, "pisvm.cli.grid", str(bad), "--out", str(tmp_path / "out"), timeout=120)
    assert_one_line_error(result, ":2: feature index 0 < 1")


def test_test_report_shows_per_class_accuracy_and_confusion(serial_run):
    result, out = serial_run
    assert "test: OA" in result.stdout and "confusion (rows true, columns predicted):" in result.stdout
    grid = _grid(out)
    confusion = np.array(grid["test"]["confusion"])
    assert confusion.sum() == grid["test"]["n_samples"]
    rows = result.stdout.split("confusion (rows true, columns predicted):")[1].splitlines()[2:7]
    assert [[int(v) for v in row.split()[1:]] for row in rows] == confusion.tolist()
    assert "confusion (rows true, columns predicted):" in (out / "table.md").read_text()


@pytest.mark.parametrize("option", [["--class-weight", "balanced"], ["-w", "5=20"], ["-e", "0.5"],
                                    ["--no-shrinking", "-e", "0.5"]])
def test_solver_options_change_the_result_and_are_recorded(serial_run, files, tmp_path, capsys, option):
    from pisvm.cli.grid import main

    folder = files[0]
    out = tmp_path / "out"
    status, _, err = run_main(capsys, main, [str(folder / "train.el"), *GRID, *LIBSVM, "--test",
                                             str(folder / "test.el"), "--out", str(out), "-q", *option])
    assert status == 0, err
    changed, reference = _grid(out), _grid(serial_run[1])
    assert changed["metadata"]["solver"] != reference["metadata"]["solver"]
    if option[0] != "--no-shrinking":  # shrinking changes the path to the optimum, not the optimum
        assert [c["fold_accuracies"] for c in changed["cells"]] != [c["fold_accuracies"] for c in reference["cells"]]


def test_default_run_uses_the_builtin_workload(tmp_path, capsys):
    from pisvm.cli.grid import main

    status, _, err = run_main(capsys, main, ["-g", "8", "-c", "10", "-v", "3", "--synth-scale", "0.02",
                                             "--out", str(tmp_path / "out"), "-q"])
    assert status == 0, err
    grid = _grid(tmp_path / "out")
    assert grid["metadata"]["data"].startswith("synthetic seed-shaped problem")
    assert grid["metadata"]["n_features"] == 30 and grid["test"] is not None


def test_test_file_needs_a_training_file(tmp_path, capsys):
    from pisvm.cli.grid import main

    one_line_error(capsys, main, ["--test", "x.el", "--out", str(tmp_path / "o2")], "--test needs a training file",
                   prog="pisvm-grid")


def test_class_weight_with_pair_groups_equals_one_weighted_svc(files, tmp_path, capsys):
    # -w with tasks split into one-vs-one groups (--parts); LIBSVM's solver: equality with SVC is the point.
    # Several ranks, with the default solver: test_class_weight_of_the_default_solver_on_two_ranks.
    from pisvm.cli.grid import main

    folder, X, y = files
    args = [str(folder / "train.el"), *GRID, "--test", str(folder / "test.el"), "-w", "5=20", "-w", "1=0.5",
            "--out", str(tmp_path / "out"), "-q", "--parts", "2", *LIBSVM]
    status, _, err = run_main(capsys, main, args)
    assert status == 0, err
    grid = _grid(tmp_path / "out")
    assert any(unit["pairs"] is not None for unit in grid["units"])  # --parts 2: the tasks run as pair groups
    weights = {5: 20.0, 1: 0.5}
    cv = StratifiedKFold(4, shuffle=True, random_state=3)
    reference = GridSearchCV(SVC(class_weight=weights), {"gamma": [1.0, 8.0], "C": [1.0, 100.0]}, cv=cv).fit(X, y)
    params = reference.cv_results_["params"]
    for cell in grid["cells"]:
        assert cell["accuracy"] == reference.cv_results_["mean_test_score"][
            params.index({"C": cell["C"], "gamma": cell["gamma"]})]
    best = grid["best"]
    from pisvm.data.libsvm import read_libsvm
    from pisvm.svm.model import SVMModel, read_model

    X_test, y_test = read_libsvm(folder / "test.el")
    model = SVC(gamma=best["gamma"], C=best["C"], class_weight=weights).fit(X, y)
    assert grid["test"]["overall_accuracy"] == model.score(X_test, y_test)
    # The kept model: each pair fitted with its two classes' weights equals the one weighted fit.
    kept, one_fit = read_model(grid["metadata"]["model"]), SVMModel.from_svc(model)
    assert kept.header_text() == one_fit.header_text()
    np.testing.assert_array_equal(kept.dual_coef, one_fit.dual_coef)


def test_log2_ranges_may_start_below_zero_as_in_libsvms_grid_py():
    from pisvm.cli.grid import build_parser, grid_values

    args = build_parser().parse_args(["train.el", "--log2g", "-1,1,1", "--log2c=-2,0,2"])
    assert grid_values(args) == ([0.5, 1.0, 2.0], [0.25, 1.0])


@pytest.mark.mpi
def test_class_weight_of_the_default_solver_on_two_ranks(files, tmp_path):
    # -w with the default solver on 2 ranks: the cells within the bar of a weighted SVC, and the kept model is
    # the default solver's fit of the best cell on all the data with the weights (the same on any rank count).
    from sklearn.model_selection import cross_val_score

    from pisvm.data.libsvm import read_libsvm
    from pisvm.svm.model import read_model
    from pisvm.svm.train import train_model

    folder, X, y = files
    result = mpirun(2, "pisvm.cli.grid", str(folder / "train.el"), *GRID, "--test", str(folder / "test.el"),
                    "-w", "5=20", "-w", "1=0.5", "--out", str(tmp_path / "out"), "-q")
    assert result.returncode == 0, result.stderr
    grid = _grid(tmp_path / "out")
    assert grid["metadata"]["svm_solver"] == "pisvm" and grid["metadata"]["ranks"] == 2
    weights = {5: 20.0, 1: 0.5}
    X, y = read_libsvm(folder / "train.el")
    cv = StratifiedKFold(4, shuffle=True, random_state=3)
    for cell in grid["cells"]:
        reference = cross_val_score(SVC(gamma=cell["gamma"], C=cell["C"], class_weight=weights), X, y, cv=cv).mean()
        assert abs(cell["accuracy"] - reference) <= 0.02, (cell, reference)
    best = grid["best"]
    expected = train_model(X, y, {"gamma": best["gamma"], "C": best["C"], "class_weight": weights,
                                  "solver": "pisvm"})
    kept = read_model(grid["metadata"]["model"])
    np.testing.assert_array_equal(kept.dual_coef, expected.dual_coef)
    np.testing.assert_array_equal(kept.rho, expected.rho)
    X_test, y_test = read_libsvm(folder / "test.el")
    assert grid["test"]["overall_accuracy"] == np.mean(kept.predict(X_test) == y_test)
