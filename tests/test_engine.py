import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, PredefinedSplit
from sklearn.svm import SVC

from pisvm.backends import LibsvmBackend, class_pairs, make_backend, vote
from pisvm.engine import Problem
from pisvm.folds import stratified_folds
from pisvm.gridsearch import grid_search
from pisvm.grid import TEST_FOLD

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
        split = np.unique(y)[vote(dict(zip(pairs, wins)), 4)]
        np.testing.assert_array_equal(split, whole)


def test_grid_equals_gridsearchcv_on_the_same_folds(small_problem):
    problem = _problem(small_problem, with_test=False)
    summary = grid_search(problem, GAMMAS, COSTS, LibsvmBackend(), progress=False)
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
    whole = grid_search(problem, GAMMAS, COSTS, LibsvmBackend(), progress=False)
    split = grid_search(problem, GAMMAS, COSTS, LibsvmBackend(), n_parts=3, progress=False)
    assert [c["fold_accuracies"] for c in split["cells"]] == [c["fold_accuracies"] for c in whole["cells"]]
    assert split["test"]["confusion"] == whole["test"]["confusion"]
    assert any(r["pairs"] is not None for r in split["records"])
    best = whole["best"]
    model = SVC(gamma=best["gamma"], C=best["C"]).fit(problem.X, problem.y)
    assert whole["test"]["overall_accuracy"] == model.score(problem.X_test, problem.y_test)


def test_previous_records_are_not_recomputed(small_problem):
    problem = _problem(small_problem)
    first = grid_search(problem, GAMMAS, COSTS, LibsvmBackend(), n_parts=2, progress=False)
    kept = [r for r in first["records"] if r["fold"] != 3 and not (r["fold"] == TEST_FOLD and r["pairs"][0] == 0)]
    new = []
    second = grid_search(problem, GAMMAS, COSTS, LibsvmBackend(), previous_records=kept, n_parts=2,
                         on_record=new.append, progress=False)
    assert {r["fold"] for r in new} == {3, TEST_FOLD}
    assert all(r["pairs"][0] == 0 for r in new if r["fold"] == TEST_FOLD)
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
        np.testing.assert_array_equal(np.unique(y)[vote(dict(zip(pairs, wins)), 4)], whole)
        np.testing.assert_array_equal(backend.fit_predict(X[:120], y[:120], X[120:], gamma, C), whole)
    split = grid_search(_problem(small_problem), GAMMAS, COSTS, backend, n_parts=3, progress=False)
    whole = grid_search(_problem(small_problem), GAMMAS, COSTS, backend, progress=False)
    assert [c["fold_accuracies"] for c in split["cells"]] == [c["fold_accuracies"] for c in whole["cells"]]
    assert split["test"]["confusion"] == whole["test"]["confusion"]
