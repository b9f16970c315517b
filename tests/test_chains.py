"""Chains with the pisvm solver: the accuracy bar against LIBSVM, determinism, resume, the exact C shortcut."""

import json

import numpy as np
import pytest
from sklearn.preprocessing import MinMaxScaler

from conftest import assert_one_line_error, mpirun, python_module
from pisvm.data.folds import stratified_folds
from pisvm.data.libsvm import write_libsvm
from pisvm.grid import chains as chains_module
from pisvm.grid.cells import TEST_FOLD
from pisvm.grid.chains import (
    ChainScheduler,
    PisvmSolver,
    Solution,
    _exact_decision,
    _task_seconds,
    choose_groups,
    class_groups,
    decisions,
    make_chains,
    split_by_folds,
)
from pisvm.grid.engine import Problem, UnitSolver
from pisvm.grid.search import grid_search
from pisvm.svm.backends import LibsvmBackend
from pisvm.svm.onevsone import OVERLAP_WEIGHT, class_overlap, class_pairs, pair_costs
from pisvm.svm.solver import rbf_kernel, solve_binary
from pisvm.svm.train import solve_pair_rbf, train_model

BAR_POINTS = 0.2


def _blobs(n_per_class, n_classes, n_features, scale, seed):
    rng = np.random.RandomState(seed)
    centres = rng.uniform(0.3, 0.7, size=(n_classes, n_features))
    y = np.repeat(np.arange(1, n_classes + 1), n_per_class)
    X = np.clip(centres[y - 1] + rng.normal(scale=scale, size=(len(y), n_features)), 0, 1)
    order = rng.permutation(len(y))
    return X[order], y[order]


def _assert_accuracy_bar(problem, gammas, costs):
    """Every cell within 0.2 points of LIBSVM on the same folds (here equal), the same best cell and test accuracy."""
    ours = grid_search(problem, gammas, costs, PisvmSolver(), progress=False)
    reference = grid_search(problem, gammas, costs, UnitSolver(LibsvmBackend()), progress=False)
    worst = max(abs(a["accuracy"] - b["accuracy"]) for a, b in zip(ours["cells"], reference["cells"]))
    assert 100 * worst <= BAR_POINTS, worst
    # The SMO takes LIBSVM's steps on float32 kernel values, as LIBSVM's cache holds them: on these problems
    # every fold's accuracy is LIBSVM's (the bar above is the promise where a C shortcut or a float32 tie
    # of the two sums ends a solve elsewhere within the tolerance).
    assert [a["fold_accuracies"] for a in ours["cells"]] == [b["fold_accuracies"] for b in reference["cells"]]
    assert (ours["best"]["gamma"], ours["best"]["C"]) == (reference["best"]["gamma"], reference["best"]["C"])
    difference = ours["test"]["overall_accuracy"] - reference["test"]["overall_accuracy"]
    assert 100 * abs(difference) <= BAR_POINTS
    assert sum(record["shortcuts"] for record in ours["records"]) > 0
    return ours


def test_accuracy_bar_on_a_synthetic_problem():
    X, y = _blobs(400, 4, 6, 0.09, seed=1)
    problem = Problem(X[:1200], y[:1200], stratified_folds(y[:1200], 4, 0), X[1200:], y[1200:])
    _assert_accuracy_bar(problem, [0.5, 8.0, 64.0], [1.0, 100.0, 10000.0])


def test_accuracy_bar_on_salinas_a_spectra(shared_data):
    from pisvm.data.scene import import_mat, labelled_pixels

    folder = shared_data / "salinas_a"
    cube, labels, _ = import_mat(folder / "SalinasA.mat", folder / "SalinasA_gt.mat")
    X, y, _ = labelled_pixels(cube, labels)
    rng = np.random.RandomState(0)
    chosen = np.concatenate([rng.choice(np.flatnonzero(y == label), 200, replace=False) for label in np.unique(y)])
    chosen = chosen[rng.permutation(len(chosen))]
    X, y = X[chosen].astype(np.float64), y[chosen]
    train = np.arange(len(y)) < 900
    scaler = MinMaxScaler().fit(X[train])
    X = np.clip(scaler.transform(X), 0, 1)
    problem = Problem(X[train], y[train], stratified_folds(y[train], 4, 0), X[~train], y[~train])
    _assert_accuracy_bar(problem, [0.01, 0.1, 1.0], [1.0, 100.0, 10000.0])


def test_groups_cover_every_pair_once_and_grow_with_ranks(small_problem):
    rng = np.random.RandomState(0)
    for n_classes, n_blocks in [(4, 1), (7, 3), (52, 5), (52, 52)]:
        for weights in (None, rng.uniform(0.1, 10.0, n_classes)):
            groups = class_groups(n_classes, n_blocks, weights)
            pairs = [pair for group in groups for pair in group]
            assert sorted(pairs) == class_pairs(n_classes)
            assert all(list(group) == sorted(group) for group in groups)
    # Blocks of about equal weight: one heavy class makes a block of its own.
    heavy = class_groups(6, 2, [10.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    assert heavy == [tuple((0, b) for b in range(1, 6)), tuple((a, b) for a in range(1, 6) for b in range(a + 1, 6))]
    X, y = small_problem
    problem = Problem(X, y, stratified_folds(y, 5, 0))
    assert len(choose_groups(problem, 5, 5, 1)) == 1
    assert len(choose_groups(problem, 5, 5, 8)) >= 5
    assert len(choose_groups(problem, 1, 1, 1000)) == 6  # never more groups than pairs


def test_split_by_folds_covers_every_task_once_in_contiguous_folds(small_problem):
    X, y = small_problem
    problem = Problem(X, y, stratified_folds(y, 5, 0))
    chain = make_chains(problem, [1.0], [1.0, 10.0], list(range(5)), class_groups(4, 2))[0]
    assert split_by_folds(chain, 1) == [chain]
    for n_parts in (2, 3, 5, 9):
        parts = split_by_folds(chain, n_parts)
        assert len(parts) == min(n_parts, 5)
        assert [task for part in parts for task in part.tasks] == list(chain.tasks)
        folds = [sorted({fold for fold, _, _ in part.tasks}) for part in parts]
        assert [fold for part in folds for fold in part] == list(range(5))
        assert all(part.gamma == chain.gamma and set(part.pairs) <= set(chain.pairs) for part in parts)
        assert sum(part.cost for part in parts) == pytest.approx(chain.cost)


def test_class_overlap_weights_the_pair_costs_of_chains():
    # Classes 5 and 7 are drawn from one distribution (a hard pair), class 9 lies far away (easy pairs).
    rng = np.random.RandomState(0)
    X = np.concatenate([rng.normal(size=(60, 3)), rng.normal(size=(50, 3)), rng.normal(size=(40, 3)) + 50.0])
    y = np.repeat([5, 7, 9], [60, 50, 40])
    overlap = class_overlap(X, y)
    assert overlap.shape == (3, 3) and np.array_equal(overlap, overlap.T) and np.all(np.diag(overlap) == 0)
    assert 0.25 < overlap[0, 1] <= 1.0 and overlap[0, 2] == 0.0 and overlap[1, 2] == 0.0
    np.testing.assert_array_equal(class_overlap(X, y), overlap)  # a fixed sample: the same plan on every run
    costs = pair_costs([60, 50, 40], overlap)
    np.testing.assert_allclose(costs, [110.0**2 * (1 + OVERLAP_WEIGHT * overlap[0, 1]), 100.0**2, 90.0**2])
    np.testing.assert_array_equal(pair_costs([60, 50, 40]), [110.0**2, 100.0**2, 90.0**2])
    # A chain's estimated cost is the sum of its tasks' pair costs, the overlap included.
    problem = Problem(X, y, stratified_folds(y, 3, 0))
    chains = make_chains(problem, [1.0], [1.0, 10.0], list(range(3)), [((0, 1),), ((0, 2), (1, 2))])
    by_pairs = {chain.pairs: chain.cost for chain in chains}
    assert by_pairs[((0, 1),)] == pytest.approx(6 * costs[0])
    assert by_pairs[((0, 2), (1, 2))] == pytest.approx(6 * (costs[1] + costs[2]))
    # class_overlap compares at most OVERLAP_PER_CLASS samples a class, OVERLAP_SAMPLES in all.
    many = np.repeat(np.arange(200), 3)
    assert class_overlap(rng.normal(size=(600, 2)), many, n_samples=100).shape == (200, 200)


def test_chains_made_for_many_ranks_are_split_by_folds(small_problem):
    X, y = small_problem
    problem = Problem(X, y, stratified_folds(y, 5, 0))
    groups = choose_groups(problem, 2, 2, 8)
    whole = make_chains(problem, [1.0, 2.0], [1.0, 10.0], list(range(5)), groups)
    split = make_chains(problem, [1.0, 2.0], [1.0, 10.0], list(range(5)), groups, n_ranks=8)
    assert len(split) > len(whole)
    assert max(c.cost for c in split) <= sum(c.cost for c in split) / (8 * chains_module.LONGEST_SHARE) * 1.5
    tasks = sorted((c.gamma, fold, C, pair) for c in split for fold, C, pairs in c.tasks for pair in pairs)
    assert tasks == sorted((c.gamma, fold, C, pair) for c in whole for fold, C, pairs in c.tasks for pair in pairs)


def test_chain_scheduler_longest_first_and_learns_per_gamma(small_problem):
    X, y = small_problem
    problem = Problem(X, y, stratified_folds(y, 5, 0))
    chains = make_chains(problem, [1.0, 2.0], [1.0, 10.0], list(range(5)), class_groups(4, 2))
    assert [c.cost for c in chains] == sorted((c.cost for c in chains), reverse=True)
    scheduler = ChainScheduler(chains)
    first = scheduler.next_unit()
    assert first.cost == chains[0].cost
    # This gamma turns out 100 times slower per unit of cost: its chains go next.
    scheduler.finished(first, 100.0 * first.cost)
    other = next(c for c in chains if c.gamma != first.gamma)
    scheduler.finished(other, other.cost)
    taken = [scheduler.next_unit() for _ in range(len(chains) - 1)]
    same = sum(c.gamma == first.gamma for c in chains) - 1
    assert all(c.gamma == first.gamma for c in taken[:same]) and scheduler.next_unit() is None


def test_tables_do_not_depend_on_the_grouping(small_problem):
    X, y = small_problem
    problem = Problem(X[:120], y[:120], stratified_folds(y[:120], 5, 0), X[120:], y[120:])
    runs = [grid_search(problem, [0.5, 32.0], [0.1, 10.0, 1000.0], PisvmSolver(), n_parts=parts, progress=False)
            for parts in (1, 3, 6)]
    # Chains made for 40 ranks: pair groups split by folds, computed on this one.
    runs.append(grid_search(problem, [0.5, 32.0], [0.1, 10.0, 1000.0], PisvmSolver(), plan_ranks=40,
                            progress=False))
    assert runs[0]["records"][0]["pairs"] is None  # one group: whole tasks, voted in the chain
    assert runs[2]["records"][0]["pairs"] is not None
    for run in runs[1:]:
        assert [c["fold_accuracies"] for c in run["cells"]] == [c["fold_accuracies"] for c in runs[0]["cells"]]
        np.testing.assert_array_equal(run["test_predicted"], runs[0]["test_predicted"])


def test_task_seconds_are_cpu_time_that_adds_up_to_the_chain(small_problem, monkeypatch):
    from pisvm.grid import chains

    X, y = small_problem
    problem = Problem(X[:120], y[:120], stratified_folds(y[:120], 5, 0))
    costs = [0.1, 10.0, 1000.0]
    chain = make_chains(problem, [2.0], costs, list(range(5)), choose_groups(problem, 1, 3, 1))[0]
    ticks = iter(np.arange(0.0, 1e6, 0.5))  # a CPU clock that advances 0.5 s at each reading
    monkeypatch.setattr(chains.time, "thread_time", lambda: float(next(ticks)))
    records = chains.compute_chain(chain, problem, PisvmSolver())
    last_reading = next(ticks) - 0.5  # the chain's first reading was 0
    assert sum(r["seconds"] for r in records) == pytest.approx(last_reading, rel=1e-12)


def test_task_seconds_split_the_shared_work():
    task_fold = np.array([0, 0, 1])  # tasks (fold 0, C 1), (fold 0, C 10), (fold 1, C 1)
    seconds = _task_seconds(task_fold, np.array([1.0, 3.0, 2.0]), {0: 2.0, 1: 1.0}, chain_s=12.0)
    # Shared: 12 - 6 solving - 3 scoring = 3, a third per task; fold 0's scoring is halved.
    assert seconds.tolist() == [1.0 + 1.0 + 1.0, 3.0 + 1.0 + 1.0, 2.0 + 1.0 + 1.0]
    assert seconds.sum() == 12.0


def _pair_solutions(X, y, gamma, C):
    """Every pair's solution of the one fit path (rows on demand), as the chains hold them."""
    classes = np.unique(y)
    members = [np.flatnonzero(y == label) for label in classes]
    solutions = {}
    for a, b in class_pairs(len(classes)):
        samples, found = solve_pair_rbf(X, members[a], members[b], C, C, gamma)
        signs = np.where(np.arange(len(samples)) < len(members[a]), 1.0, -1.0)
        solutions[(a, b)] = Solution(found.alpha * signs, float(found.rho), int(found.n_iter), False)
    return solutions


def test_the_fitted_model_predicts_what_the_grid_predicts_on_the_test_set(small_problem):
    # The grid's test phase (chains, pair blocks) and the model it saves (train_model: rows on demand)
    X, y = small_problem
    problem = Problem(X[:120], y[:120], stratified_folds(y[:120], 5, 0), X[120:], y[120:])
    summary = grid_search(problem, [4.0], [10.0], PisvmSolver(), n_parts=3, progress=False)
    model = train_model(X[:120], y[:120], {"gamma": 4.0, "C": 10.0, "solver": "pisvm"})
    np.testing.assert_array_equal(model.predict(X[120:]), summary["test_predicted"])


def test_decisions_exact_path_and_column_sets(small_problem, monkeypatch):
    from pisvm.grid import chains

    X, y = small_problem
    classes = np.unique(y)
    train = [X[:120][y[:120] == label] for label in classes]
    found = _pair_solutions(X[:120], y[:120], 8.0, 10.0)
    pairs = class_pairs(4)
    solutions = [found[pair] for pair in pairs]
    together = decisions(X[120:], train, pairs, solutions, 8.0)
    alone = decisions(X[120:], train, pairs[2:3], solutions[2:3], 8.0)
    np.testing.assert_allclose(alone[:, 0], together[:, 2], rtol=1e-12, atol=1e-12)
    exact = [_exact_decision(row, train[0], train[3], solutions[2], 8.0) for row in X[120:]]
    np.testing.assert_allclose(exact, together[:, 2], rtol=1e-10, atol=1e-10)
    # Every row "borderline": all come from the exact path, with the same signs.
    monkeypatch.setattr(chains, "_borderline_thresholds", lambda *args: np.inf)
    recomputed = decisions(X[120:], train, pairs, solutions, 8.0)
    np.testing.assert_array_equal(recomputed[:, 2], exact)
    np.testing.assert_array_equal(recomputed > 0, together > 0)


def test_c_shortcut_is_exact_and_used(small_problem):
    X, y = small_problem
    classes = np.unique(y)
    members = [np.flatnonzero(y == label) for label in classes]
    costs = [1.0, 100.0, 10000.0, 1e6]
    used = 0
    for a, b in class_pairs(4):
        samples = np.concatenate([members[a], members[b]])
        K = rbf_kernel(X[samples], X[samples], 32.0)
        block_fold = np.zeros(len(samples), dtype=np.int32)
        fast, slow = ([found[k] for k in which] for found, which, _ in (
            solver.solve_pair(K, block_fold, len(members[a]), np.full(len(costs), TEST_FOLD, np.int32),
                              np.array(costs), (1.0, 1.0))
            for solver in (PisvmSolver(), PisvmSolver(shortcut=False))))
        for i in range(1, len(costs)):
            if fast[i] is fast[i - 1]:
                used += 1
                assert fast[i].n_iter == fast[i - 1].n_iter and fast[i].free
                # Solved from scratch at the larger C: the same optimum (objective and predictions).
                objectives = [0.5 * s.coef @ K @ s.coef - np.sum(np.abs(s.coef)) for s in (slow[i], fast[i])]
                assert objectives[0] == pytest.approx(objectives[1], rel=1e-3)
                assert slow[i].free
                np.testing.assert_allclose(K @ fast[i].coef - fast[i].rho, K @ slow[i].coef - slow[i].rho, atol=0.05)
            else:
                assert not fast[i - 1].free
    assert used > 0


def test_solve_pair_solves_each_fold_and_cost_as_solve_binary_does(small_problem):
    # One call per pair (the chains' path, without the GIL) against one solve_binary per (fold, C).
    X, y = small_problem
    members = [np.flatnonzero(y == label) for label in np.unique(y)[:2]]
    samples = np.concatenate(members)
    K = rbf_kernel(X[samples], X[samples], 2.0)
    block_fold = np.random.RandomState(0).randint(0, 3, size=len(samples)).astype(np.int32)
    tasks = [(0, 1.0), (0, 100.0), (2, 10.0), (TEST_FOLD, 1.0), (TEST_FOLD, 1e6)]
    weights = (2.0, 0.5)
    found, which, seconds = PisvmSolver(shortcut=False).solve_pair(
        K, block_fold, len(members[0]), np.array([fold for fold, _ in tasks], np.int32),
        np.array([C for _, C in tasks]), weights)
    assert which.tolist() == list(range(len(tasks))) and len(found) == len(seconds) == len(tasks)
    assert np.all(seconds >= 0)
    for (fold, C), solution in zip(tasks, found):
        index = np.flatnonzero(block_fold != fold).astype(np.int32)
        signs = np.where(index < len(members[0]), 1, -1).astype(np.int8)
        alone = solve_binary(K, index, signs, C * weights[0], C * weights[1])
        np.testing.assert_array_equal(solution.coef, alone.alpha * signs)
        assert (solution.rho, solution.n_iter, solution.free) == (alone.rho, alone.n_iter, alone.n_bound == 0)


def test_resume_with_another_grouping_records_each_pair_once(small_problem):
    X, y = small_problem
    problem = Problem(X[:120], y[:120], stratified_folds(y[:120], 5, 0), X[120:], y[120:])
    grid = ([0.5, 32.0], [0.1, 10.0, 1000.0])
    first = grid_search(problem, *grid, PisvmSolver(), n_parts=3, progress=False)
    # An interruption: fold 2 lost, and fold 4 kept for one pair group only.
    kept = [r for r in first["records"] if r["fold"] not in (2, TEST_FOLD)
            and not (r["fold"] == 4 and r["pairs"] != first["records"][0]["pairs"])]
    new = []
    second = grid_search(problem, *grid, PisvmSolver(), previous_records=kept, n_parts=6, on_record=new.append,
                         progress=False)
    assert {r["fold"] for r in new} == {2, 4, TEST_FOLD}
    for task in {(r["gamma"], r["C"], r["fold"]) for r in kept + new}:
        pairs = [p for r in kept + new if (r["gamma"], r["C"], r["fold"]) == task for p in (r["pairs"] or [])]
        assert len(pairs) == len(set(pairs))
    assert [c["fold_accuracies"] for c in second["cells"]] == [c["fold_accuracies"] for c in first["cells"]]
    assert second["test"]["confusion"] == first["test"]["confusion"]
    assert grid_search(problem, *grid, PisvmSolver(), previous_records=first["records"], progress=False,
                       on_record=lambda r: pytest.fail("finished chains must be skipped"))["best"] == first["best"]


@pytest.fixture(scope="module")
def train_file(tmp_path_factory):
    X, y = _blobs(40, 5, 6, 0.15, seed=4)
    folder = tmp_path_factory.mktemp("chains")
    write_libsvm(folder / "train.el", X[:150], y[:150])
    write_libsvm(folder / "test.el", X[150:], y[150:])
    return folder


@pytest.mark.mpi
def test_one_and_two_ranks_give_the_same_table(train_file, tmp_path):
    args = [str(train_file / "train.el"), "--test", str(train_file / "test.el"), "-g", "1", "8", "-c", "1", "100",
            "-v", "4", "-q", "--solver", "pisvm"]
    serial = python_module("pisvm.cli.grid", *args, "--out", str(tmp_path / "n1"))
    parallel = mpirun(2, "pisvm.cli.grid", *args, "--out", str(tmp_path / "n2"))
    assert serial.returncode == 0, serial.stderr
    assert parallel.returncode == 0, parallel.stderr
    one, two = (json.loads((tmp_path / name / "grid.json").read_text()) for name in ("n1", "n2"))
    assert [c["fold_accuracies"] for c in one["cells"]] == [c["fold_accuracies"] for c in two["cells"]]
    assert one["test"]["confusion"] == two["test"]["confusion"]
    assert two["metadata"]["svm_solver"] == "pisvm" and set(two["metadata"]["peak_rss_mb"]) == {"0", "1"}
    assert "peak memory rank 0" in parallel.stderr
    header = json.loads((tmp_path / "n1" / "journal.jsonl").read_text().splitlines()[0])
    assert header["svm_solver"] == "pisvm"
    other = python_module("pisvm.cli.grid", *args[:-1], "libsvm", "--out", str(tmp_path / "n1"), "--resume")
    assert other.returncode == 2 and "svm_solver differs" in other.stderr


def test_a_run_with_the_chains_of_n_ranks_is_replayed_on_n_ranks(train_file, tmp_path):
    args = [str(train_file / "train.el"), "-g", "1", "8", "-c", "1", "100", "-v", "4", "-q", "--solver", "pisvm"]
    made = python_module("pisvm.cli.grid", *args, "--chains-for", "6", "--out", str(tmp_path / "for6"))
    assert made.returncode == 0, made.stderr
    plain = python_module("pisvm.cli.grid", *args, "--out", str(tmp_path / "n1"))
    assert plain.returncode == 0, plain.stderr
    run, one = (json.loads((tmp_path / name / "grid.json").read_text()) for name in ("for6", "n1"))
    assert run["metadata"]["chain_ranks"] == 6 and one["metadata"]["chain_ranks"] == 1
    assert [c["fold_accuracies"] for c in run["cells"]] == [c["fold_accuracies"] for c in one["cells"]]
    assert len({u["chain"] for u in run["units"]}) > len({u["chain"] for u in one["units"]})
    replay = python_module("pisvm.cli.timing", str(tmp_path / "for6"), "--predict", "6")
    assert replay.returncode == 0, replay.stderr
    assert "predicted on 6 ranks" in replay.stdout
    refused = python_module("pisvm.cli.timing", str(tmp_path / "n1"), "--predict", "6")
    assert_one_line_error(refused, "made for 1 ranks", "--chains-for 6")
    assert refused.stdout == ""  # refused before any table is printed
