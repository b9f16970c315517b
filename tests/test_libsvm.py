import warnings

import numpy as np
import pytest

from pisvm.data.libsvm import read_libsvm, write_libsvm


def test_round_trip_keeps_values_and_integer_labels(tmp_path):
    X = np.array([[0.5, 0.0, 1.25], [0.0, 0.0, 0.0], [3.0, 2.0, 1.0]])
    y = np.array([1.0, 2.0, 3.0])
    path = tmp_path / "a.el"
    write_libsvm(path, X, y)
    assert [line.strip() for line in path.read_text().splitlines()[-3:]] == ["1 1:0.5 3:1.25", "2", "3 1:3 2:2 3:1"]
    X_read, y_read = read_libsvm(path)
    np.testing.assert_array_equal(X_read, X)
    np.testing.assert_array_equal(y_read, y)


def test_sparse_lines_comments_and_n_features(tmp_path):
    path = tmp_path / "b.el"
    path.write_text("# header\n1 2:0.5 4:1\n-1 1:2\n\n")
    X, y = read_libsvm(path)
    np.testing.assert_array_equal(X, [[0, 0.5, 0, 1], [2, 0, 0, 0]])
    np.testing.assert_array_equal(y, [1, -1])
    assert read_libsvm(path, n_features=6)[0].shape == (2, 6)


@pytest.mark.parametrize("content, message", [
    ("1 1:0.5\n2 0:1 3:2\n", ":2: feature index 0 < 1 (LibSVM indices are 1-based)"),
    ("1 1:0.5\n1 2:0.5\n2 1:nan\n", ":3: value 'nan' of feature 1 is not finite"),
    ("1 1:0.5\n2 1:inf\n", ":2: value 'inf' of feature 1 is not finite"),
    ("1 1:0.5\n2 1:x 3:2\n", ":2: token '1:x' is not index:value"),
    ("1 1:0.5\nabc 1:1\n", ":2: label 'abc' is not a number"),
    ("1 3:0.5 2:1\n", ":1: feature index 2 not above the previous 3"),
    ("", "no samples (empty file)"),
    ("# only a comment\n", "no samples (empty file)"),
])
def test_malformed_input_names_file_and_line(tmp_path, content, message):
    path = tmp_path / "bad.el"
    path.write_text(content)
    with pytest.raises(ValueError) as error:
        read_libsvm(path)
    assert str(error.value) == f"{path}{message}" or str(error.value) == f"{path}: {message}"


def test_missing_file_is_an_os_error(tmp_path):
    with pytest.raises(OSError):
        read_libsvm(tmp_path / "missing.el")


def test_reads_a_33396_by_30_file_quickly(tmp_path):
    from pisvm.data.synth import seed_problem

    X, y = seed_problem(scale=1.0)
    path = tmp_path / "seed.el"
    write_libsvm(path, X, y)
    X_read, y_read = read_libsvm(path)
    assert X_read.shape == (33396, 30)
    np.testing.assert_allclose(X_read, X, rtol=1e-15)
    np.testing.assert_array_equal(y_read, y)


@pytest.mark.parametrize("index, gib", [(10**9, "447.0 GiB"), (10**7, "4.5 GiB")])
def test_huge_feature_index_is_refused_before_densifying(tmp_path, monkeypatch, index, gib):
    path = tmp_path / "wide.el"
    path.write_text("# made by hand\n" + "1 1:0.5 2:1\n" * 30 + f"2 1:1 {index}:3\n" + "2 1:0.25\n" * 29)

    def no_densify(self, *args, **kwargs):
        raise AssertionError("densified")

    monkeypatch.setattr("scipy.sparse.csr_matrix.toarray", no_densify)
    with pytest.raises(ValueError) as error:
        read_libsvm(path)
    message = str(error.value)
    assert message.startswith(f"{path}:32: feature index {index}")
    assert gib in message and "\n" not in message


def test_non_integer_label_names_file_and_line(tmp_path):
    path = tmp_path / "float.el"
    path.write_text("1 1:1\n2 1:2\n# comment\n1.5 1:0.5\n")
    with pytest.raises(ValueError, match=r"float\.el:4: label 1\.5 is not an integer"):
        read_libsvm(path)


def test_test_data_mismatch_warns_once_per_problem(tmp_path):
    from pisvm.data.libsvm import warn_test_mismatch

    X, y = np.ones((4, 2)), np.array([1, 1, 2, 2])
    X_test, y_test = np.ones((5, 3)), np.array([1, 2, 3, 3, 7])
    with pytest.warns(UserWarning) as record:
        warn_test_mismatch("train.el", X, y, "test.el", X_test, y_test)
    messages = [str(w.message) for w in record]
    assert len(messages) == 2, messages
    assert "test.el: 3 features, train.el only 2" in messages[0]
    assert "classes 3, 7 (3 samples)" in messages[1] and "train.el" in messages[1]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_test_mismatch("train.el", X, y, "test.el", X_test[:, :2], y_test[:2])
