import json

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, PredefinedSplit
from sklearn.svm import SVC

from pisvm.data.folds import stratified_folds
from pisvm.grid.cells import TEST_FOLD
from pisvm.grid.engine import Problem, UnitSolver
from pisvm.grid.search import grid_search
from pisvm.svm.backends import LibsvmBackend, make_backend
from pisvm.svm.onevsone import class_pairs, vote

GAMMAS, COSTS = [0.5, 4.0, 32.0], [0.1, 10.0]


def _problem(small_problem, with_test=True):
    X, y = small_problem
    fold = stratified_folds(y[:120], 5, 0)
    if with_test:
        return Problem(X[:120], y[:120], fold, X[120:], y[120:])
    return Problem(X[:120], y[:120], fold)


def test_pair_split_predicts_exactly_what_svc_predicts(small_problem):
    X, y = small_problem
    backend = LibsvmBackend()
    for gamma, C in [(0.5, 0.1), (4.0, 10.0), (32.0, 1000.0)]:
        whole = backend.fit_predict(X[:120], y[:120], X[120:], gamma, C)
        pairs = class_pairs(4)
        wins = backend.fit_predict_pairs(X[:120], y[:120], X[120:], gamma, C, pairs)
        split = np.unique(y)[vote(np.column_stack(wins), 4)]
        np.testing.assert_array_equal(split, whole)


def test_grid_equals_gridsearchcv_on_the_same_folds(small_problem):
    problem = _problem(small_problem, with_test=False)
    summary = grid_search(problem, GAMMAS, COSTS, UnitSolver(LibsvmBackend()), progress=False)
    reference = GridSearchCV(SVC(kernel="rbf"), {"gamma": GAMMAS, "C": COSTS},
                             cv=PredefinedSplit(problem.fold)).fit(problem.X, problem.y)
    expected = {(p["gamma"], p["C"]): score for p, score in
                zip(reference.cv_results_["params"], reference.cv_results_["mean_test_score"])}
    for cell in summary["cells"]:
        assert cell["accuracy"] == expected[(cell["gamma"], cell["C"])]
        for k in range(5):
            assert cell["fold_accuracies"][k] == reference.cv_results_[f"split{k}_test_score"][
                reference.cv_results_["params"].index({"C": cell["C"], "gamma": cell["gamma"]})]
    assert (summary["best"]["gamma"], summary["best"]["C"]) == (reference.best_params_["gamma"],
                                                                reference.best_params_["C"])
    assert summary["test"] is None


def test_split_tasks_give_the_same_table_and_test_metrics(small_problem):
    problem = _problem(small_problem)
    whole = grid_search(problem, GAMMAS, COSTS, UnitSolver(LibsvmBackend()), progress=False)
    split = grid_search(problem, GAMMAS, COSTS, UnitSolver(LibsvmBackend()), n_parts=3, progress=False)
    assert [c["fold_accuracies"] for c in split["cells"]] == [c["fold_accuracies"] for c in whole["cells"]]
    assert split["test"]["confusion"] == whole["test"]["confusion"]
    assert any(r["pairs"] is not None for r in split["records"])
    best = whole["best"]
    model = SVC(gamma=best["gamma"], C=best["C"]).fit(problem.X, problem.y)
    assert whole["test"]["overall_accuracy"] == model.score(problem.X_test, problem.y_test)


def test_previous_records_are_not_recomputed(small_problem):
    problem = _problem(small_problem)
    first = grid_search(problem, GAMMAS, COSTS, UnitSolver(LibsvmBackend()), n_parts=2, progress=False)
    kept = [r for r in first["records"] if r["fold"] != 3 and not (r["fold"] == TEST_FOLD and r["pairs"][0] == 0)]
    new = []
    second = grid_search(problem, GAMMAS, COSTS, UnitSolver(LibsvmBackend()), previous_records=kept, n_parts=2,
                         on_record=new.append, progress=False)
    assert {r["fold"] for r in new} == {3, TEST_FOLD}
    # Only the dropped test-set part is solved again (its pairs, perhaps split otherwise), each pair once.
    dropped = sorted(p for r in first["records"] if r["fold"] == TEST_FOLD and r["pairs"][0] == 0 for p in r["pairs"])
    assert sorted(p for r in new if r["fold"] == TEST_FOLD for p in r["pairs"]) == dropped
    assert [c["accuracy"] for c in second["cells"]] == [c["accuracy"] for c in first["cells"]]
    assert second["test"]["confusion"] == first["test"]["confusion"]


def test_unknown_backend():
    with pytest.raises(ValueError, match="backend 'svmlight' not in"):
        make_backend("svmlight")


def test_thundersvm_backend_agrees_with_libsvm(small_problem):
    pytest.importorskip("thundersvm")
    X, y = small_problem
    backend = make_backend("thundersvm")
    predicted = backend.fit_predict(X[:120], y[:120], X[120:], 4.0, 10.0)
    reference = LibsvmBackend().fit_predict(X[:120], y[:120], X[120:], 4.0, 10.0)
    assert predicted.shape == reference.shape
    assert np.mean(predicted == reference) > 0.9


def test_class_weights_per_pair_equal_one_weighted_svc(small_problem):
    # Each binary problem gets its own two classes' weights, as LIBSVM's -wi does.
    X, y = small_problem
    weights = {1: 3.0, 4: 0.25}
    backend = LibsvmBackend(class_weight=weights)
    pairs = class_pairs(4)
    for gamma, C in [(0.5, 1.0), (4.0, 10.0)]:
        whole = SVC(gamma=gamma, C=C, class_weight=weights).fit(X[:120], y[:120]).predict(X[120:])
        wins = backend.fit_predict_pairs(X[:120], y[:120], X[120:], gamma, C, pairs)
        np.testing.assert_array_equal(np.unique(y)[vote(np.column_stack(wins), 4)], whole)
        np.testing.assert_array_equal(backend.fit_predict(X[:120], y[:120], X[120:], gamma, C), whole)
    split = grid_search(_problem(small_problem), GAMMAS, COSTS, UnitSolver(backend), n_parts=3, progress=False)
    whole = grid_search(_problem(small_problem), GAMMAS, COSTS, UnitSolver(backend), progress=False)
    assert [c["fold_accuracies"] for c in split["cells"]] == [c["fold_accuracies"] for c in whole["cells"]]
    assert split["test"]["confusion"] == whole["test"]["confusion"]


def _mpi_script(tmp_path, code, n_ranks=2, env=None):
    """Run ``code`` (after a common prelude defining ``comm`` and ``problem``) on ``n_ranks``; rank 0's stdout."""
    import shutil
    import sys

    from conftest import run_command

    launcher = shutil.which("mpirun")
    if launcher is None:
        pytest.skip("mpirun is not installed")
    script = tmp_path / "script.py"
    script.write_text(
        "import json, time\n"
        "import numpy as np\n"
        "from mpi4py import MPI\n"
        "from pisvm.grid.engine import Problem\n"
        "from pisvm.data.folds import stratified_folds\n"
        "comm = MPI.COMM_WORLD\n"
        "rng = np.random.RandomState(3)\n"
        "y = np.repeat([1, 2, 3], [30, 25, 20])\n"
        "X = rng.normal(size=(75, 4)) + y[:, None] * 0.8\n"
        "problem = Problem(X, y, stratified_folds(y, 3, 0))\n" + code)
    exported = [arg for key, value in (env or {}).items() for arg in ("-x", f"{key}={value}")]
    result = run_command([launcher, "--oversubscribe", "-n", str(n_ranks), "-x", "PYTHONPATH", *exported,
                          sys.executable, str(script)], timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.mpi
def test_engine_traffic_runs_on_a_duplicate_communicator_that_is_freed(tmp_path):
    out = _mpi_script(tmp_path, (
        "from pisvm.grid.search import grid_search\n"
        "from pisvm.svm.backends import LibsvmBackend\n"
        "from pisvm.grid.engine import UnitSolver\n"
        "dups = []\n"
        "class Tracking(MPI.Intracomm):\n"
        "    def Dup(self, *args):\n"
        "        dups.append(MPI.Intracomm.Dup(self, *args))\n"
        "        return dups[-1]\n"
        "tracked = Tracking(comm)\n"
        "summary = grid_search(problem, [0.5, 2.0], [1.0, 10.0], UnitSolver(LibsvmBackend()), comm=tracked,\n"
        "                      progress=False)\n"
        "freed = all(d == MPI.COMM_NULL for d in dups)\n"
        "print(json.dumps({'rank': comm.rank, 'dups': len(dups), 'freed': freed}))\n"))
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert len(lines) == 2 and all(line["dups"] >= 1 and line["freed"] for line in lines)


@pytest.mark.mpi
def test_a_rank_gets_its_next_unit_before_the_record_is_kept(tmp_path):
    # on_record blocks until rank 1 has been told that no unit is left: rank 1 gets every unit while no record
    # can be kept.  An engine that kept the record before replying would never tell it (the gate's 20 s
    # wait is a safety net against a hang, not a measurement).
    out = _mpi_script(tmp_path, (
        "import threading\n"
        "import pisvm.transport as transport\n"
        "from pisvm.grid.search import grid_search\n"
        "from pisvm.svm.backends import LibsvmBackend\n"
        "from pisvm.grid.engine import UnitSolver\n"
        "gate, kept = threading.Event(), []\n"
        "send = transport.Channel.send\n"
        "def send_and_open(self, obj, dest):\n"
        "    send(self, obj, dest)\n"
        "    if obj is None and dest == 1:\n"
        "        kept.append(-1 if gate.is_set() else len(kept))\n"
        "        gate.set()\n"
        "transport.Channel.send = send_and_open\n"
        "def blocked(record):\n"
        "    if not gate.wait(20):\n"
        "        kept.append('gate never opened')\n"
        "summary = grid_search(problem, [0.5, 1.0, 2.0], [1.0, 10.0], UnitSolver(LibsvmBackend()), comm=comm,\n"
        "                      on_record=blocked if comm.rank == 0 else None, progress=False)\n"
        "if comm.rank == 0:\n"
        "    mine = [r for r in summary['records'] if r['rank'] == 1]\n"
        "    print(json.dumps({'units': len(mine), 'kept': kept}))\n"))
    found = json.loads(out.splitlines()[-1])
    assert found["units"] >= 3, found
    assert found["kept"] == [0], found  # told "no unit left" before the first record was kept


@pytest.mark.mpi
def test_waiting_ranks_do_not_spin_while_rank_0_reads_the_input(tmp_path):
    # Rank 0 builds the job only after rank 1 has slept between 20 polls while waiting for it in run_grid: a rank
    # that waited in a spinning collective would never poll (and rank 0 would never build the job).
    out = _mpi_script(tmp_path, (
        "import os\n"
        "import pisvm.transport as transport\n"
        "from pisvm.grid.run import GridJob, run_grid\n"
        "delays = []\n"
        "if comm.rank == 1:\n"
        "    sleep = transport.Backoff.sleep\n"
        "    def counted(self):\n"
        "        delays.append(self.delay)\n"
        "        if len(delays) == 20:\n"
        "            comm.send('polled 20 times', dest=0, tag=77)\n"
        "        sleep(self)\n"
        "    transport.Backoff.sleep = counted\n"
        "def slow_job():\n"
        "    told = comm.recv(source=1, tag=77)\n"
        "    header = {'data_sha256': 'x', 'test_sha256': None, 'gammas': [1.0], 'costs': [1.0], 'folds': 3,\n"
        "              'seed': 0, 'backend': 'libsvm', 'solver': {}}\n"
        "    return GridJob(problem, [1.0], [1.0], 'libsvm', {}, header, {'data': told})\n"
        f"out = os.path.join({str(tmp_path)!r}, 'out')\n"
        "run_grid(slow_job, out, comm=comm, progress=False)\n"
        "print(json.dumps({'rank': comm.rank, 'delays': delays[:20]}))\n"))
    printed = (text for text in out.splitlines() if text.startswith("{"))
    lines = {line["rank"]: line for line in map(json.loads, printed)}
    delays = lines[1]["delays"]
    # Back-off: at once, then doubling up to the longest sleep, never a busy loop of zero-length sleeps.
    assert len(delays) == 20 and delays[0] == 0.0 and all(0 < d <= 0.02 for d in delays[1:]), delays
    assert delays == sorted(delays) and delays[-1] == 0.02, delays
    assert json.loads((tmp_path / "out" / "grid.json").read_text())["metadata"]["data"] == "polled 20 times"


@pytest.mark.mpi
def test_grid_under_a_serialized_thread_level_equals_serial(tmp_path):
    # Below MPI_THREAD_MULTIPLE every MPI call of the engine goes through one lock; -n 3 gives the serial table.
    out = _mpi_script(tmp_path, (
        "from pisvm.grid.search import grid_search\n"
        "from pisvm.svm.backends import LibsvmBackend\n"
        "from pisvm.grid.engine import UnitSolver\n"
        "from pisvm.transport import serialized\n"
        "summary = grid_search(problem, [0.5, 2.0], [1.0, 10.0], UnitSolver(LibsvmBackend()), comm=comm, n_parts=2,\n"
        "                      progress=False)\n"
        "if comm.rank == 0:\n"
        "    print(json.dumps({'level': MPI.Query_thread(), 'locked': serialized() is not None and\n"
        "                      type(serialized()).__name__ != 'nullcontext',\n"
        "                      'folds': [c['fold_accuracies'] for c in summary['cells']]}))\n"),
        n_ranks=3, env={"MPI4PY_RC_THREAD_LEVEL": "serialized"})
    found = json.loads(out.splitlines()[-1])
    from mpi4py import MPI

    assert found["level"] == MPI.THREAD_SERIALIZED and found["locked"]
    rng = np.random.RandomState(3)
    y = np.repeat([1, 2, 3], [30, 25, 20])
    X = rng.normal(size=(75, 4)) + y[:, None] * 0.8
    serial = grid_search(Problem(X, y, stratified_folds(y, 3, 0)), [0.5, 2.0], [1.0, 10.0], UnitSolver(LibsvmBackend()),
                         progress=False)
    assert found["folds"] == [c["fold_accuracies"] for c in serial["cells"]]


def test_more_classes_than_the_journal_can_count_is_an_error():
    from pisvm.grid.engine import MAX_CLASSES, Problem

    assert MAX_CLASSES == 65536
    y = np.arange(MAX_CLASSES + 1, dtype=np.float64)
    with pytest.raises(ValueError, match="65537 classes, at most 65536"):
        Problem(np.zeros((len(y), 1)), y, np.arange(len(y)) % 2)
    Problem(np.zeros((MAX_CLASSES, 1)), y[:MAX_CLASSES], np.arange(MAX_CLASSES) % 2)


def test_packed_wins_round_trip_and_old_journals_still_read():
    import base64

    from pisvm.grid.journal import pack_bools, unpack_bools

    rng = np.random.RandomState(0)
    for n_values in (1, 7, 8, 9, 100):
        wins = rng.uniform(size=(5, n_values)) < 0.5
        text = pack_bools(wins)
        assert isinstance(text, str)
        np.testing.assert_array_equal(unpack_bools(text, 5, n_values), wins)
        # Journals written before the rows were packed together hold one text per row.
        rows = [base64.b64encode(np.packbits(row).tobytes()).decode("ascii") for row in wins]
        np.testing.assert_array_equal(unpack_bools(rows, 5, n_values), wins)
    assert unpack_bools(pack_bools(np.zeros((0, 9), dtype=bool)), 0, 9).shape == (0, 9)
    assert unpack_bools([], 0, 9).shape == (0, 9)


def test_pair_values_adds_the_two_class_shares_and_subtracts_rho():
    from pisvm.svm.onevsone import pair_values

    rng = np.random.RandomState(0)
    shares = rng.normal(size=(7, 12))
    first, second = np.array([0, 3, 5, 11]), np.array([4, 3, 10, 0])
    rho = rng.normal(size=4)
    out = np.empty((7, 4))
    pair_values(shares, first, second, rho, out)
    np.testing.assert_array_equal(out, shares[:, first] + shares[:, second] - rho)  # same rounding, bit for bit
    with pytest.raises(ValueError, match="beyond the 12 columns"):
        pair_values(shares, first + 1, second, rho, out)
