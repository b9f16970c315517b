"""LIBSVM model files: pisvm <-> libsvm-official both ways, the pair assembly, malformed models."""

import numpy as np
import pytest
from sklearn.svm import SVC

from pisvm.svm.model import SVMModel, read_model
from pisvm.svm.predict import predict
from pisvm.svm.train import fit_pairs, svc


@pytest.fixture
def svmutil():
    """libsvm-official's svmutil: only the tests that compare with it are skipped without it."""
    return pytest.importorskip("libsvm.svmutil")


def _libsvm_predict(svmutil, model_path, X, y):
    model = svmutil.svm_load_model(str(model_path))
    assert model is not None
    labels, _, values = svmutil.svm_predict(list(map(float, y)), [list(map(float, row)) for row in X], model, "-q")
    return np.array(labels), np.array(values)


@pytest.mark.parametrize("kernel, gamma, C", [("rbf", 2.0, 1.0), ("rbf", 16.0, 100.0), ("linear", 1.0, 10.0),
                                              ("poly", 2.0, 1.0), ("sigmoid", 0.5, 1.0)])
def test_pisvm_model_loads_in_libsvm_with_the_same_labels(small_problem, tmp_path, svmutil, kernel, gamma, C):
    X, y = small_problem
    fitted = SVC(kernel=kernel, gamma=gamma, C=C, coef0=0.5 if kernel != "rbf" else 0.0, degree=2).fit(X, y)
    model = SVMModel.from_svc(fitted)
    model.write(tmp_path / "model")
    labels, values = _libsvm_predict(svmutil, tmp_path / "model", X, y)
    ours, decision = predict(model, X, decision=True)
    np.testing.assert_array_equal(ours, fitted.predict(X))
    np.testing.assert_array_equal(labels, ours)
    np.testing.assert_allclose(decision, values, rtol=1e-9, atol=1e-9 * np.abs(values).max())


def test_libsvm_trained_model_loads_in_pisvm_with_the_same_labels(small_problem, tmp_path, svmutil):
    X, y = small_problem
    y = np.where(y == 1, 7, y)  # labels not sorted by first appearance: LIBSVM keeps that order
    order = np.argsort(y != 3, kind="stable")  # class 3 first in the file
    X, y = X[order], y[order]
    trained = svmutil.svm_train(list(map(float, y)), [list(map(float, row)) for row in X], "-g 4 -c 10 -q")
    svmutil.svm_save_model(str(tmp_path / "libsvm.model"), trained)
    model = read_model(tmp_path / "libsvm.model")
    assert model.labels[0] == 3
    labels, values = _libsvm_predict(svmutil, tmp_path / "libsvm.model", X, y)
    ours, decision = predict(model, X, decision=True)
    np.testing.assert_array_equal(ours, labels)
    np.testing.assert_allclose(decision, values, rtol=1e-9, atol=1e-9 * np.abs(values).max())
    model.write(tmp_path / "again")
    again = read_model(tmp_path / "again")
    np.testing.assert_array_equal(again.support_vectors, model.support_vectors)
    np.testing.assert_array_equal(again.dual_coef, model.dual_coef)
    np.testing.assert_array_equal(again.rho, model.rho)


def test_binary_model_keeps_libsvm_signs(small_problem, tmp_path, svmutil):
    X, y = small_problem
    keep = y <= 2
    fitted = SVC(gamma=8.0, C=10.0).fit(X[keep], y[keep])
    model = SVMModel.from_svc(fitted)
    labels, decision = predict(model, X, decision=True)
    np.testing.assert_array_equal(labels, fitted.predict(X))
    np.testing.assert_allclose(decision[:, 0], -fitted.decision_function(X), rtol=1e-9, atol=1e-12)
    model.write(tmp_path / "model")
    np.testing.assert_array_equal(_libsvm_predict(svmutil, tmp_path / "model", X, y)[0], labels)


def test_write_read_write_is_exact(small_problem, tmp_path):
    X, y = small_problem
    model = SVMModel.from_svc(svc(gamma=4.0, C=100.0).fit(X, y))
    model.write(tmp_path / "a")
    back = read_model(tmp_path / "a")
    back.write(tmp_path / "b")
    assert (tmp_path / "a").read_bytes() == (tmp_path / "b").read_bytes()
    np.testing.assert_array_equal(predict(back, X), predict(model, X))


def test_pair_fits_assemble_the_model_of_one_fit(small_problem):
    X, y = small_problem
    params = {"gamma": 8.0, "C": 10.0, "class_weight": {2: 3.0, 4: 0.5}}
    whole = SVMModel.from_svc(svc(**params).fit(X, y))
    labels = np.unique(y)
    pairs = [(i, j) for i in range(4) for j in range(i + 1, 4)]
    fits = {}
    for half in (pairs[::2], pairs[1::2]):  # two "ranks"
        fits.update(fit_pairs(X, y, labels, half, params))
    assembled = SVMModel.from_pairs(X, y, labels, fits, gamma=8.0)
    np.testing.assert_array_equal(assembled.support_vectors, whole.support_vectors)
    np.testing.assert_array_equal(assembled.dual_coef, whole.dual_coef)
    np.testing.assert_array_equal(assembled.rho, whole.rho)
    np.testing.assert_array_equal(assembled.n_support, whole.n_support)


def test_tie_rules_are_libsvm_s(tmp_path, svmutil):
    # No support vectors: the decision value of pair p is -rho[p].
    X = np.zeros((1, 2))
    for rho, expected in (([-1.0, 1.0, -1.0], 5), ([0.0, 0.0, 0.0], 9), ([1.0, 1.0, -1.0], 6)):
        model = SVMModel([5, 6, 9], np.zeros((0, 2)), np.zeros((2, 0)), rho, [0, 0, 0], gamma=1.0)
        model.write(tmp_path / "model")
        assert predict(model, X)[0] == expected
        assert predict(read_model(tmp_path / "model"), X)[0] == expected
        assert _libsvm_predict(svmutil, tmp_path / "model", X, [5])[0][0] == expected


GOOD_HEADER = "svm_type c_svc\nkernel_type rbf\ngamma 0.5\nnr_class 2\ntotal_sv 2\nrho 0.1\nlabel 1 2\nnr_sv 1 1\nSV\n"


@pytest.mark.parametrize("text, fragments", [
    (GOOD_HEADER + "1 1:0.5 2:0.25\n-1 1:x\n", ["model:11:", "'x'"]),
    (GOOD_HEADER + "1 1:0.5 2:0.25\n", ["total_sv is 2"]),
    (GOOD_HEADER + "1 2:0.5 1:0.25\n-1 1:0.1\n", ["model:10:", "feature index 1 not above"]),
    (GOOD_HEADER + "1 1:0.5\n-1 0:0.1\n", ["model:11:", "feature index 0 < 1"]),
    (GOOD_HEADER.replace("kernel_type rbf", "kernel_type precomputed") + "1 0:1\n-1 0:2\n",
     ["model:2:", "precomputed", "not supported"]),
    (GOOD_HEADER.replace("svm_type c_svc", "svm_type one_class") + "1 1:1\n-1 1:2\n", ["model:1:", "one_class"]),
    (GOOD_HEADER.replace("rho 0.1", "rho 0.1 0.2"), ["model:6:", "rho has 2 values, expected 1"]),
    (GOOD_HEADER.replace("nr_sv 1 1", "nr_sv 1 2"), ["nr_sv adds up to 3"]),
    (GOOD_HEADER + "1 1:0.5 2:0.25\n", ["1 support-vector lines after 'SV'", "truncated"]),
    (GOOD_HEADER.replace("gamma 0.5", "gamma nan"), ["model:3:", "gamma 'nan' is not finite"]),
    ("hello world\n", ["model:1:", "unknown model entry 'hello'"]),
    (GOOD_HEADER + "1 1:0.5 2:0.25\n-1 1:0.1 2:0.12", ["model:11:", "no end of line", "cut short"]),
    (GOOD_HEADER.replace("gamma 0.5", "gamma -0.5") + "1 1:1\n-1 1:2\n", ["model:3:", "gamma == -0.5, must be > 0"]),
    (GOOD_HEADER.replace("gamma 0.5", "gamma 0") + "1 1:1\n-1 1:2\n", ["model:3:", "gamma == 0, must be > 0"]),
    (GOOD_HEADER.replace("kernel_type rbf", "kernel_type polynomial") + "1 1:1\n-1 1:2\n",
     ["model:2:", "polynomial", "no 'degree'"]),
    (GOOD_HEADER.replace("label 1 2", "label 1 1") + "1 1:1\n-1 1:2\n", ["model:7:", "label 1 appears twice"]),
    (GOOD_HEADER.replace("nr_sv 1 1", "nr_sv 3 -1") + "1 1:1\n-1 1:2\n", ["model:8:", "nr_sv -1", "negative"]),
    (GOOD_HEADER.replace("nr_sv 1 1", "nr_sv 1 2") + "1 1:1\n-1 1:2\n",
     ["model:8:", "nr_sv adds up to 3", "total_sv 2", "2 support-vector lines", "nr_sv is wrong"]),
    (GOOD_HEADER.replace("total_sv 2", "total_sv 3") + "1 1:1\n-1 1:2\n",
     ["model:5:", "total_sv 3", "nr_sv adds up to 2", "2 support-vector lines", "total_sv is wrong"]),
    ("svm_type c_svc\nkernel_type rbf\n", ["no 'SV' line"]),
])
def test_malformed_models_are_named_by_line(tmp_path, text, fragments):
    path = tmp_path / "model"
    path.write_text(text)
    with pytest.raises(ValueError) as error:
        read_model(path)
    message = str(error.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_write_is_atomic_and_leaves_nothing_on_failure(small_problem, tmp_path):
    X, y = small_problem
    model = SVMModel.from_svc(svc(gamma=1.0, C=1.0).fit(X, y))
    model.labels = model.labels + 0.5
    with pytest.raises(ValueError, match="integer class labels"):
        model.write(tmp_path / "model")
    with pytest.raises(OSError):
        SVMModel.from_svc(svc(gamma=1.0, C=1.0).fit(X, y)).write(tmp_path / "missing" / "model")
    assert list(tmp_path.iterdir()) == []


_PUBLIC = ("kernel", "gamma", "degree", "coef0", "classes_", "support_vectors_", "dual_coef_", "intercept_",
           "n_support_", "n_features_in_", "support_")


def _public_only(fitted):
    """The fitted SVC's public attributes only: reading a private one (``_dual_coef_``) fails."""
    from types import SimpleNamespace

    return SimpleNamespace(**{name: getattr(fitted, name) for name in _PUBLIC})


@pytest.mark.parametrize("classes, gamma", [(2, 8.0), (4, 8.0), (4, "auto")])
def test_from_svc_reads_public_attributes_only(small_problem, classes, gamma):
    X, y = small_problem
    keep = y <= classes
    fitted = SVC(gamma=gamma, C=10.0, decision_function_shape="ovo").fit(X[keep], y[keep])
    model = SVMModel.from_svc(_public_only(fitted))
    labels, decision = predict(model, X, decision=True)
    np.testing.assert_array_equal(labels, fitted.predict(X))
    reference = fitted.decision_function(X) if classes > 2 else -fitted.decision_function(X)[:, None]
    np.testing.assert_allclose(decision, reference, rtol=1e-9, atol=1e-12)


def test_from_svc_refuses_gamma_scale(small_problem):
    X, y = small_problem
    with pytest.raises(ValueError, match="gamma 'scale'"):
        SVMModel.from_svc(SVC(gamma="scale").fit(X, y))


def test_fit_pairs_reads_public_attributes_only(small_problem, monkeypatch):
    import pisvm.svm.train

    X, y = small_problem
    labels = np.unique(y)
    params = {"gamma": 4.0, "C": 10.0}
    expected = fit_pairs(X, y, labels, [(0, 1), (1, 3)], params)
    monkeypatch.setattr(pisvm.svm.train, "svc", lambda **kwargs: _PublicFit(svc(**kwargs)))
    got = fit_pairs(X, y, labels, [(0, 1), (1, 3)], params)
    for pair in expected:
        for want, have in zip(expected[pair], got[pair]):
            np.testing.assert_array_equal(want, have)


class _PublicFit:
    def __init__(self, estimator):
        self.estimator = estimator

    def fit(self, X, y):
        return _public_only(self.estimator.fit(X, y))
