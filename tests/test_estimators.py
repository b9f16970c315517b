"""pisvm.SVC and pisvm.GridSearchSVC against scikit-learn: estimator checks, attributes, cv_results_, files, errors."""

import json
import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold, ShuffleSplit, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler
from sklearn.svm import SVC as SklearnSVC
from sklearn.utils.estimator_checks import parametrize_with_checks

import pisvm
from conftest import mpirun
from pisvm import SVC, GridSearchSVC
from pisvm.data.folds import stratified_folds

GRID = {"gamma": [0.5, 4.0, 32.0], "C": [1, 100, 10000]}
BAR_POINTS = 0.2


@parametrize_with_checks([SVC(), SVC(solver="libsvm")])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def _held_out(small_problem):
    X, y = small_problem
    return X[:120], y[:120], X[120:], y[120:]


@pytest.mark.parametrize("n_classes", [2, 4])
def test_fitted_attributes_match_sklearn_svc(small_problem, n_classes):
    X, y, X_test, _ = _held_out(small_problem)
    if n_classes == 2:
        y = np.where(y > 2, 7, 3)
    for C, class_weight in ((1.0, None), (100.0, None), (1e4, "balanced")):
        # The default tolerance: the SMO stops where LIBSVM does because it takes LIBSVM's steps.
        ours = SVC(C=C, gamma=2.0, class_weight=class_weight).fit(X, y)
        reference = SklearnSVC(C=C, gamma=2.0, class_weight=class_weight).fit(X, y)
        assert np.array_equal(ours.classes_, reference.classes_)
        assert np.array_equal(ours.n_iter_, reference.n_iter_) and ours.fit_status_ == 0
        for name in ("support_", "support_vectors_", "n_support_", "dual_coef_", "intercept_"):
            assert np.array_equal(getattr(ours, name), getattr(reference, name)), name
        assert np.array_equal(ours.predict(X_test), reference.predict(X_test))
        assert np.array_equal(ours.predict(X), reference.predict(X))
        # The same model; the predictor's kernel rows come from BLAS products, LIBSVM's from its own sums.
        np.testing.assert_allclose(ours.decision_function(X_test), reference.decision_function(X_test),
                                   rtol=1e-9, atol=1e-9)


def test_libsvm_solver_is_sklearns_fit_and_the_predictor_gives_its_labels(small_problem):
    X, y, X_test, _ = _held_out(small_problem)
    for shape in ("ovr", "ovo"):
        ours = SVC(C=10.0, gamma="auto", solver="libsvm", decision_function_shape=shape,
                   class_weight="balanced").fit(X, y)
        reference = SklearnSVC(C=10.0, gamma="auto", decision_function_shape=shape, class_weight="balanced").fit(X, y)
        for name in ("support_", "support_vectors_", "dual_coef_", "intercept_", "n_support_", "class_weight_"):
            assert np.array_equal(getattr(ours, name), getattr(reference, name)), name
        assert ours._gamma == reference._gamma
        assert np.array_equal(ours.predict(X_test), reference.predict(X_test))
        np.testing.assert_allclose(ours.decision_function(X_test), reference.decision_function(X_test),
                                   rtol=1e-12, atol=1e-12)


def test_every_parameter_changes_the_model(small_problem):
    X, y = small_problem
    base = SVC(gamma=2.0, C=10.0).fit(X, y)
    for change in ({"C": 1000.0}, {"gamma": 8.0}, {"gamma": "scale"}, {"tol": 0.1}, {"shrinking": False},
                   {"class_weight": {1: 5.0}}, {"class_weight": "balanced"}):
        other = clone(base).set_params(**change).fit(X, y)
        same = (np.array_equal(other.support_, base.support_) and np.array_equal(other.dual_coef_, base.dual_coef_)
                and np.array_equal(other.n_iter_, base.n_iter_))
        assert not same, change
    ovo = clone(base).set_params(decision_function_shape="ovo").fit(X, y)
    assert ovo.decision_function(X).shape == (len(y), 6) and base.decision_function(X).shape == (len(y), 4)


def test_pipeline_clone_cross_val_score_and_pickle(small_problem):
    X, y = small_problem
    pipeline = make_pipeline(MinMaxScaler(), SVC(gamma=2.0, C=10.0))
    scores = cross_val_score(pipeline, X, y, cv=StratifiedKFold(4, shuffle=True, random_state=0))
    reference = cross_val_score(make_pipeline(MinMaxScaler(), SklearnSVC(gamma=2.0, C=10.0)), X, y,
                                cv=StratifiedKFold(4, shuffle=True, random_state=0))
    assert np.abs(scores - reference).max() <= BAR_POINTS / 100
    inside = GridSearchCV(SVC(solver="libsvm"), GRID, cv=StratifiedKFold(3)).fit(X, y)
    assert inside.best_params_ == GridSearchCV(SklearnSVC(), GRID, cv=StratifiedKFold(3)).fit(X, y).best_params_
    fitted = clone(pipeline).fit(X, y)
    restored = pickle.loads(pickle.dumps(fitted))
    assert np.array_equal(restored.predict(X), fitted.predict(X))
    search = GridSearchSVC(SVC(), GRID, cv=3).fit(X, y)
    restored = pickle.loads(pickle.dumps(search))
    assert np.array_equal(restored.predict(X), search.predict(X))
    assert restored.best_params_ == search.best_params_


def test_sklearn_svc_conversion_both_ways(small_problem):
    X, y, X_test, _ = _held_out(small_problem)
    reference = SklearnSVC(C=10.0, gamma=2.0).fit(X, y)
    converted = SVC.from_sklearn(reference)
    assert np.array_equal(converted.predict(X_test), reference.predict(X_test))
    np.testing.assert_allclose(converted.decision_function(X_test), reference.decision_function(X_test), atol=1e-12)
    for labels in (y, np.where(y > 2, 7, 3)):
        ours = SVC(C=10.0, gamma=2.0).fit(X, labels)
        back = ours.to_sklearn()
        assert np.array_equal(back.predict(X_test), ours.predict(X_test))
        np.testing.assert_allclose(back.decision_function(X_test), ours.decision_function(X_test), atol=1e-12)
    with pytest.raises(ValueError, match="RBF"):
        SVC.from_sklearn(SklearnSVC(kernel="linear").fit(X, y))


def test_model_file_round_trip_with_libsvm_official(small_problem, tmp_path):
    svmutil = pytest.importorskip("libsvm.svmutil")
    X, y, X_test, y_test = _held_out(small_problem)
    ours = SVC(C=10.0, gamma=2.0).fit(X, y)
    ours.write_model(tmp_path / "ours.model")
    theirs = svmutil.svm_load_model(str(tmp_path / "ours.model"))
    labels, _, _ = svmutil.svm_predict(y_test.tolist(), X_test.tolist(), theirs, "-q")
    assert np.array_equal(np.asarray(labels), ours.predict(X_test))
    read_back = SVC.from_model(tmp_path / "ours.model", n_features=X.shape[1])
    assert np.array_equal(read_back.predict(X_test), ours.predict(X_test))
    np.testing.assert_allclose(read_back.dual_coef_, ours.dual_coef_, rtol=1e-15)
    assert np.array_equal(read_back.to_sklearn().predict(X_test), ours.predict(X_test))
    # LIBSVM orders classes by first appearance: here 3, 1, 4, 2 (multi-class) and 7, 3 (binary).
    for labels in (y, np.where(y > 2, 3, 7)):
        first = np.unique(labels, return_index=True)[1]
        order = np.argsort(first)
        model = svmutil.svm_train(labels.tolist(), X.tolist(), "-c 10 -g 2 -q")
        svmutil.svm_save_model(str(tmp_path / "libsvm.model"), model)
        expected, _, values = svmutil.svm_predict(y_test.tolist(), X_test.tolist(), model, "-q")
        loaded = SVC.from_model(tmp_path / "libsvm.model")
        assert np.array_equal(loaded.classes_, np.unique(labels))
        assert not np.array_equal(order, np.arange(len(order))) or len(order) == 2
        decided = np.max(np.abs(np.asarray(values)), axis=1) > 1e-6
        assert np.array_equal(loaded.predict(X_test)[decided], np.asarray(expected)[decided])
    with pytest.raises(ValueError, match="integer class labels"):
        SVC(gamma=2.0).fit(X, np.where(y > 2, "b", "a")).write_model(tmp_path / "strings.model")


def test_grid_search_libsvm_solver_equals_gridsearchcv(small_problem):
    X, y = small_problem
    for cv in (StratifiedKFold(4, shuffle=True, random_state=0), ShuffleSplit(3, test_size=0.3, random_state=1)):
        ours = GridSearchSVC(SVC(solver="libsvm"), GRID, cv=cv, n_jobs=2).fit(X, y)
        reference = GridSearchCV(SklearnSVC(), GRID, cv=cv).fit(X, y)
        for key in ["mean_test_score", "std_test_score", "rank_test_score"] + [f"split{k}_test_score"
                                                                                for k in range(cv.get_n_splits())]:
            assert np.array_equal(ours.cv_results_[key], reference.cv_results_[key]), key
        assert ours.cv_results_["params"] == reference.cv_results_["params"]
        for key in ("param_gamma", "param_C"):
            assert list(ours.cv_results_[key]) == list(reference.cv_results_[key])
        assert set(reference.cv_results_) == set(ours.cv_results_)
        assert ours.best_params_ == reference.best_params_ and ours.best_index_ == reference.best_index_
        assert ours.best_score_ == reference.best_score_
        assert np.array_equal(ours.predict(X), reference.predict(X)) and ours.score(X, y) == reference.score(X, y)
    weighted = GridSearchSVC(SVC(solver="libsvm", class_weight={2: 3.0}, tol=1e-2), GRID, cv=cv).fit(X, y)
    reference = GridSearchCV(SklearnSVC(class_weight={2: 3.0}, tol=1e-2), GRID, cv=cv).fit(X, y)
    assert np.array_equal(weighted.cv_results_["mean_test_score"], reference.cv_results_["mean_test_score"])


def test_grid_search_of_a_pipeline_fits_its_scaler_per_split(small_problem):
    X, y = small_problem
    X = X * [1.0, 10.0, 0.1, 5.0, 1.0] + 3.0
    grid = {f"svc__{name}": values for name, values in GRID.items()}
    cv = StratifiedKFold(4, shuffle=True, random_state=0)
    ours = GridSearchSVC(make_pipeline(MinMaxScaler(), SVC(solver="libsvm")), grid, cv=cv, n_jobs=2).fit(X, y)
    reference = GridSearchCV(make_pipeline(MinMaxScaler(), SklearnSVC()), grid, cv=cv).fit(X, y)
    assert np.array_equal(ours.cv_results_["mean_test_score"], reference.cv_results_["mean_test_score"])
    assert ours.best_params_ == reference.best_params_
    assert np.array_equal(ours.predict(X), reference.predict(X))
    default = GridSearchSVC(make_pipeline(MinMaxScaler(), SVC()), grid, cv=cv).fit(X, y)
    worst = np.abs(default.cv_results_["mean_test_score"] - reference.cv_results_["mean_test_score"]).max()
    assert 100 * worst <= BAR_POINTS and default.best_params_ == reference.best_params_


def test_grid_search_pisvm_solver_equals_gridsearchcv_and_int_cv_is_the_suites_folds(small_problem):
    X, y = small_problem
    ours = GridSearchSVC(SVC(), GRID, cv=4, random_state=3).fit(X, y)
    folds = stratified_folds(y, 4, 3)
    reference = GridSearchCV(SklearnSVC(), GRID, cv=[(np.flatnonzero(folds != k), np.flatnonzero(folds == k))
                                                    for k in range(4)]).fit(X, y)
    worst = np.abs(ours.cv_results_["mean_test_score"] - reference.cv_results_["mean_test_score"]).max()
    assert 100 * worst <= BAR_POINTS
    # The SMO takes LIBSVM's steps, so here (no C shortcut ends apart from LIBSVM's solve) every score is equal.
    for k in range(4):
        assert np.array_equal(ours.cv_results_[f"split{k}_test_score"], reference.cv_results_[f"split{k}_test_score"])
    assert ours.best_params_ == reference.best_params_ and ours.n_splits_ == 4
    assert isinstance(ours.best_estimator_, SVC) and ours.best_estimator_.get_params()["C"] == ours.best_params_["C"]
    assert ours.decision_function(X).shape == (len(y), 4)
    assert np.all(ours.cv_results_["mean_fit_time"] > 0)
    cv = StratifiedKFold(4, shuffle=True, random_state=0)
    weighted = GridSearchSVC(SVC(class_weight={2: 3.0}), GRID, cv=cv).fit(X, y)
    reference = GridSearchCV(SklearnSVC(class_weight={2: 3.0}), GRID, cv=cv).fit(X, y)
    assert np.array_equal(weighted.cv_results_["mean_test_score"], reference.cv_results_["mean_test_score"])
    unweighted = GridSearchSVC(SVC(), GRID, cv=cv, refit=False).fit(X, y)
    assert not np.array_equal(weighted.cv_results_["mean_test_score"], unweighted.cv_results_["mean_test_score"])


def _table(search):
    return {key: np.asarray(value).tolist() for key, value in search.cv_results_.items()
            if key.startswith(("split", "mean_test", "std_test", "rank"))}


def test_same_table_for_any_n_jobs_and_two_mpi_ranks(small_problem, tmp_path):
    X, y = small_problem
    serial, threaded = (SVC(gamma=4.0, C=100.0, n_jobs=n_jobs).fit(X, y) for n_jobs in (1, 2))
    for name in ("support_", "dual_coef_", "intercept_", "n_iter_"):
        assert np.array_equal(getattr(serial, name), getattr(threaded, name)), name
    tables = [_table(GridSearchSVC(SVC(), GRID, cv=5, n_jobs=n_jobs, refit=False).fit(X, y)) for n_jobs in (1, 2)]
    assert tables[0] == tables[1]
    libsvm = _table(GridSearchSVC(SVC(solver="libsvm"), GRID, cv=5, n_jobs=2, refit=False).fit(X, y))
    out = tmp_path / "table.json"
    result = mpirun(2, "tests.mpi_grid_search", str(out))
    assert result.returncode == 0, result.stderr
    assert json.loads(out.read_text()) == {"pisvm": tables[0], "libsvm": libsvm}


def test_bad_input_raises_like_sklearn(small_problem):
    X, y = small_problem
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        SVC().fit(bad, y)
    with pytest.raises(ValueError, match="greater than one"):
        SVC().fit(X, np.ones(len(y)))
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        SVC().fit(X, y[:-1])
    fitted = SVC().fit(X, y)
    with pytest.raises(ValueError, match="X has 4 features, but SVC is expecting 5 features"):
        fitted.predict(X[:, :4])
    with pytest.raises(ValueError, match="Expected 2D array"):
        fitted.predict(X[0])
    with pytest.raises(ValueError, match="greater than one"):
        GridSearchSVC(SVC(), GRID).fit(X, np.ones(len(y)))
    with pytest.raises(ValueError, match=r"param_grid key 'kernel' not in \{'gamma', 'C'\}"):
        GridSearchSVC(SVC(), {"kernel": ["rbf"], "C": [1]}).fit(X, y)
    with pytest.raises(ValueError, match=r"param_grid key 'C' not in \{'svc__gamma', 'svc__C'\}"):
        GridSearchSVC(make_pipeline(MinMaxScaler(), SVC()), GRID).fit(X, y)
    with pytest.raises(TypeError, match="must be a pisvm.SVC or a Pipeline ending in one"):
        GridSearchSVC(make_pipeline(MinMaxScaler(), SklearnSVC()), {"svc__C": [1]}).fit(X, y)
    with pytest.raises(ValueError, match="'scale' or 'auto'"):
        GridSearchSVC(SVC(), {"C": [1, 10]}).fit(X, y)
    with pytest.raises(ValueError, match=r"param_grid\['C'\]"):
        GridSearchSVC(SVC(), {"C": []}).fit(X, y)
    with pytest.raises(ValueError, match="C == -1"):
        GridSearchSVC(SVC(), {"gamma": [1.0], "C": [-1]}).fit(X, y)
    with pytest.raises(ValueError, match="balanced"):
        GridSearchSVC(SVC(class_weight="balanced"), GRID).fit(X, y)
    with pytest.raises(TypeError, match="must be a pisvm.SVC"):
        GridSearchSVC(SklearnSVC(), GRID).fit(X, y)
    with pytest.raises(AttributeError, match="refit=False; predict needs refit=True"):
        GridSearchSVC(SVC(), GRID, refit=False).fit(X, y).predict(X)
    with pytest.raises(ValueError, match="Cannot have number of splits n_splits=30"):
        GridSearchSVC(SVC(), GRID, cv=KFold(30)).fit(X[:20], y[:20])


def test_import_pisvm_stays_cheap():
    import subprocess
    import sys

    code = "import sys, pisvm; print(any(m.startswith(('mpi4py', 'sklearn', 'tensorflow')) for m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"
    assert pisvm.SVC is SVC
