import warnings

import numpy as np
import pytest
from sklearn.model_selection import StratifiedKFold

from pisvm.data.folds import stratified_folds
from pisvm.grid.cells import (
    TEST_FOLD,
    Scheduler,
    Unit,
    check_grid,
    log2_range,
    make_units,
    parts_per_task,
    replay_schedule,
    simulate_schedule,
    split_pairs,
)
from pisvm.svm.onevsone import class_pairs, vote


def test_folds_are_sklearn_stratified_kfold_and_deterministic():
    y = np.repeat([1, 2, 3], [30, 21, 12])
    fold = stratified_folds(y, n_splits=5, random_state=7)
    for k, (_, test) in enumerate(StratifiedKFold(5, shuffle=True, random_state=7).split(y.reshape(-1, 1), y)):
        np.testing.assert_array_equal(np.flatnonzero(fold == k), test)
    np.testing.assert_array_equal(stratified_folds(y, 5, 7), fold)
    assert not np.array_equal(stratified_folds(y, 5, 8), fold)
    # Per class, fold sizes differ by at most one (StratifiedKFold's invariant).
    for label in (1, 2, 3):
        sizes = np.bincount(fold[y == label], minlength=5)
        assert sizes.max() - sizes.min() <= 1


def test_folds_do_not_depend_on_label_names():
    y = np.repeat([1, 2, 3], [30, 21, 12])
    renamed = np.array([30, 10, 20])[y - 1]
    np.testing.assert_array_equal(stratified_folds(renamed, 4, 0), stratified_folds(y, 4, 0))


def test_small_classes_warn_and_bad_fold_counts_fail():
    y = np.repeat([1, 2], [30, 3])
    with pytest.warns(UserWarning, match="1 class\\(es\\) have fewer than 5 samples"):
        stratified_folds(y, 5, 0)
    with pytest.raises(ValueError, match="folds == 1, must be >= 2"):
        stratified_folds(y, 1, 0)
    with pytest.raises(ValueError, match="only one class"):
        stratified_folds(np.ones(20), 5, 0)
    with pytest.raises(ValueError, match="larger than the largest class"):
        stratified_folds(y, 31, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        stratified_folds(np.repeat([1, 2], 10), 5, 0)


def test_check_grid_and_log2_ranges():
    assert check_grid([8, 2, 2.0], [10, 1]) == ([2.0, 8.0], [1.0, 10.0])
    for bad in (-0.5, 0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match=f"gamma == {bad}, must be > 0"):
            check_grid([1, bad], [1])
    with pytest.raises(ValueError, match="C == -1, must be > 0"):
        check_grid([1], [-1])
    assert log2_range("-1,3,2", "--log2c") == [0.5, 2.0, 8.0]
    assert log2_range("3,-1,-2", "--log2c") == [8.0, 2.0, 0.5]
    with pytest.raises(ValueError, match="never reaches"):
        log2_range("1,5,-1", "--log2g")
    with pytest.raises(ValueError, match="must be begin,end,step"):
        log2_range("1,5", "--log2g")


def test_units_cover_every_task_once_in_cost_order():
    units = make_units([2.0, 32.0], [1.0, 1000.0], [0, 1, 2])
    assert len(units) == 12 and len({u.task for u in units}) == 12
    assert (units[0].gamma, units[0].C) == (32.0, 1000.0) and (units[-1].gamma, units[-1].C) == (2.0, 1.0)
    cells = [(u.gamma, u.C) for u in units]
    assert all(cells[i] == cells[i - (i % 3)] for i in range(12))  # a cell's folds are consecutive


def test_split_units_cover_all_pairs_and_skip_finished_work():
    cost = np.arange(1, 11, dtype=float)
    groups = split_pairs(cost, 3)
    assert sorted(p for group in groups for p in group) == list(range(10)) and len(groups) == 3
    done = {(1.0, 1.0, 0): "all", (1.0, 1.0, 1): {0, 1, 2}}
    units = make_units([1.0], [1.0], [0, 1, TEST_FOLD], n_parts=2, pairs_cost=lambda fold: cost,
                       done=lambda task: done.get(task, set()))
    assert {u.fold for u in units} == {1, TEST_FOLD}
    assert sorted(p for u in units if u.fold == 1 for p in u.pairs) == list(range(3, 10))


def test_parts_per_task():
    assert parts_per_task(250, 80, 1326) == 1
    assert parts_per_task(10, 80, 1326) == 8
    assert parts_per_task(1, 80, 3) == 3
    assert parts_per_task(1, 1, 1326) == 1


def test_scheduler_hands_out_cells_together_longest_first_and_learns():
    units = make_units([2.0, 32.0], [1.0, 1000.0], [0, 1])
    scheduler = Scheduler(units)
    # The prior (cell_cost) orders (32, 1000), (2, 1000), (32, 1), (2, 1).
    first = [scheduler.next_unit() for _ in range(3)]
    assert [(u.gamma, u.C, u.fold) for u in first] == [(32.0, 1000.0, 0), (32.0, 1000.0, 1), (2.0, 1000.0, 0)]
    # Measurements say small gamma is slow: (2, 1) must now come before (32, 1), against the prior.
    scheduler.finished(first[0], 1.0)
    scheduler.finished(first[1], 1.0)
    scheduler.finished(first[2], 10.0)
    rest = [scheduler.next_unit() for _ in range(6)]
    assert [(u.gamma, u.C, u.fold) for u in rest[:-1]] == [(2.0, 1000.0, 1), (2.0, 1.0, 0), (2.0, 1.0, 1),
                                                           (32.0, 1.0, 0), (32.0, 1.0, 1)]
    assert rest[-1] is None
    assert Scheduler(make_units([2.0, 32.0], [1.0], [0])).next_unit().gamma == 32.0


def test_replay_matches_hand_computed_schedules():
    units = [Unit(1.0, 1.0, k) for k in range(4)]
    assert simulate_schedule(units, lambda u: 4.0, 2) == (8.0, 1.0)
    seconds = {0: 6.0, 1: 1.0, 2: 1.0, 3: 1.0, 4: 1.0}
    units = [Unit(1.0, 1.0, k) for k in range(5)]
    makespan, efficiency = simulate_schedule(units, lambda u: seconds[u.fold], 2)
    assert makespan == 6.0 and efficiency == pytest.approx(10 / 12)
    timeline = replay_schedule(units, lambda u: seconds[u.fold], 2)
    assert [(u.fold, s, e) for u, s, e in timeline] == [(0, 0, 6), (1, 0, 1), (2, 1, 2), (3, 2, 3), (4, 3, 4)]


def test_vote_follows_libsvm_tie_rule():
    pairs = class_pairs(3)
    assert pairs == [(0, 1), (0, 2), (1, 2)]
    # Sample 0: 0 beats 1, 2 beats 0, 1 beats 2 -> one vote each -> lowest class wins.
    # Sample 1: 1 beats 0, 2 beats 0, 2 beats 1 -> class 2.
    a_wins = np.array([[True, False, True], [False, False, False]])  # columns: (0, 1), (0, 2), (1, 2)
    np.testing.assert_array_equal(vote(a_wins, 3), [0, 2])
    with pytest.raises(ValueError, match=r"need \(n_test, 3\) for 3 classes"):
        vote(a_wins[:, :2], 3)
