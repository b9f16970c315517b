"""pisvm-data convert (a user's table -> LibSVM) and pisvm-data scale (svm-scale's -l -u -s -r)."""

import numpy as np
import pytest

from conftest import one_line_error
from pisvm.data.libsvm import read_libsvm


def data(argv):
    from pisvm.cli.data import main

    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 0


def error(capsys, argv, *fragments):
    from pisvm.cli.data import main

    return one_line_error(capsys, main, argv, *fragments, prog="pisvm-data")


def test_csv_with_header_crlf_and_label_column_by_name(tmp_path):
    table = tmp_path / "t.csv"
    table.write_bytes(b"class,width,height\r\n2,1.5,0\r\n1,0,3\r\n\r\n2,4,-1\r\n")
    data(["convert", str(table), "--label", "class", "--out", str(tmp_path / "t.el")])
    X, y = read_libsvm(tmp_path / "t.el")
    np.testing.assert_array_equal(X, [[1.5, 0], [0, 3], [4, -1]])
    np.testing.assert_array_equal(y, [2, 1, 2])


def test_uci_style_table_without_header_and_text_labels(tmp_path, capsys):
    table = tmp_path / "iris.data"
    table.write_text("5.1,3.5,Iris-setosa\n7.0,3.2,Iris-versicolor\n4.9,3.0,Iris-setosa\n")
    data(["convert", str(table), "--out", str(tmp_path / "iris.el")])
    X, y = read_libsvm(tmp_path / "iris.el")
    np.testing.assert_array_equal(X, [[5.1, 3.5], [7.0, 3.2], [4.9, 3.0]])
    np.testing.assert_array_equal(y, [1, 2, 1])
    assert "1=Iris-setosa 2=Iris-versicolor" in capsys.readouterr().out
    assert "# classes: 1=Iris-setosa 2=Iris-versicolor" in (tmp_path / "iris.el").read_text()


def test_whitespace_and_semicolon_delimiters_and_first_column_label(tmp_path):
    (tmp_path / "w.txt").write_text("1  0.5 2\n2\t1 0\n")
    data(["convert", str(tmp_path / "w.txt"), "--label", "1", "--out", str(tmp_path / "w.el")])
    X, y = read_libsvm(tmp_path / "w.el")
    np.testing.assert_array_equal(X, [[0.5, 2], [1, 0]])
    np.testing.assert_array_equal(y, [1, 2])
    (tmp_path / "s.csv").write_text("a;b;label\n0.5;1;3\n")
    data(["convert", str(tmp_path / "s.csv"), "--out", str(tmp_path / "s.el")])
    X, y = read_libsvm(tmp_path / "s.el")
    np.testing.assert_array_equal(X, [[0.5, 1]])
    np.testing.assert_array_equal(y, [3])


@pytest.mark.parametrize("content, argv, fragments", [
    ("1,2,3\n4,5\n", [], ["t.csv:2: 2 fields, line 1 has 3"]),
    ("1,?,3\n4,5,6\n", [], ["t.csv:1: column 2: '?' is not a number"]),
    ("", [], ["t.csv: no rows"]),
    ("a,b\n1,2\n", ["--label", "c"], ["t.csv: no column 'c' in the header (a, b)"]),
    ("1,2\n", ["--label", "3"], ["t.csv: --label 3, the table has 2 columns"]),
])
def test_bad_tables(tmp_path, capsys, content, argv, fragments):
    (tmp_path / "t.csv").write_text(content)
    error(capsys, ["convert", str(tmp_path / "t.csv"), *argv, "--out", str(tmp_path / "t.el")], *fragments)
    assert not (tmp_path / "t.el").exists()


def test_scale_saves_svm_scale_range_file_and_restores_it(tmp_path):
    train, test = tmp_path / "train.el", tmp_path / "test.el"
    train.write_text("1 1:2 2:10 3:5\n2 1:4 2:20 3:5\n1 1:3 3:5\n")
    test.write_text("1 1:5 2:10 3:5\n2 1:2 2:-10 3:1 4:7\n")
    data(["scale", str(train), "-l", "0", "-u", "1", "-s", str(tmp_path / "range"), "--out", str(tmp_path / "a.el")])
    # svm-scale's format: 'x', the target range, then 'index min max' for every non-constant feature.
    assert (tmp_path / "range").read_text() == "x\n0 1\n1 2 4\n2 0 20\n"
    X, y = read_libsvm(tmp_path / "a.el", n_features=3)
    np.testing.assert_allclose(X, [[0, 0.5, 0], [1, 1, 0], [0.5, 0, 0]])
    with pytest.warns(UserWarning, match="features 3, 4 vary in .* not in the range file"):
        data(["scale", str(test), "-r", str(tmp_path / "range"), "--out", str(tmp_path / "b.el")])
    X, _ = read_libsvm(tmp_path / "b.el", n_features=4)
    # Not clipped: 5 maps to 1.5 and -10 to -0.5; constant and unknown features become 0, as in svm-scale.
    np.testing.assert_allclose(X, [[1.5, 0.5, 0, 0], [0, -0.5, 0, 0]])


def test_scale_default_range_is_minus_one_to_one_and_reads_svm_scale_files(tmp_path):
    (tmp_path / "train.el").write_text("1 1:0 2:1\n2 1:10 2:3\n")
    data(["scale", str(tmp_path / "train.el"), "--out", str(tmp_path / "a.el")])
    np.testing.assert_allclose(read_libsvm(tmp_path / "a.el")[0], [[-1, -1], [1, 1]])
    (tmp_path / "range").write_text("x\n-1 1\n1 0 10\n")
    with pytest.warns(UserWarning, match="features 2 vary"):
        data(["scale", str(tmp_path / "train.el"), "-r", str(tmp_path / "range"), "--out", str(tmp_path / "b.el")])
    np.testing.assert_allclose(read_libsvm(tmp_path / "b.el", n_features=2)[0], [[-1, 0], [1, 0]])


@pytest.mark.parametrize("argv, fragments", [
    (["-l", "1", "-u", "0"], ["-l 1 must be below -u 0"]),
    (["-r", "missing.range"], ["missing.range"]),
    (["-r", "RANGE"], ["RANGE:2: 'nonsense' is not 'lower upper'"]),
    (["-r", "INVERTED"], ["INVERTED:4: feature 2: min 5 exceeds max 3"]),
    (["-r", "SWAPPED"], ["SWAPPED:2: lower 1 must be below upper -1"]),
    # A range file written by svm-scale -y: the y block comes first; pisvm never scales class labels.
    (["-r", "Y"], ["Y:1: a 'y' section", "svm-scale -y", "labels"]),
])
def test_scale_bad_input(tmp_path, capsys, argv, fragments):
    (tmp_path / "train.el").write_text("1 1:0 2:1\n2 1:10 2:3\n")
    (tmp_path / "RANGE").write_text("x\nnonsense\n")
    (tmp_path / "INVERTED").write_text("x\n-1 1\n1 0 10\n2 5 3\n")
    (tmp_path / "SWAPPED").write_text("x\n1 -1\n1 0 10\n")
    (tmp_path / "Y").write_text("y\n0 1\n1 2\nx\n-1 1\n1 0 10\n")
    argv = [str(tmp_path / a) if a in ("RANGE", "missing.range", "INVERTED", "SWAPPED", "Y") else a for a in argv]
    error(capsys, ["scale", str(tmp_path / "train.el"), *argv, "--out", str(tmp_path / "a.el")], *fragments)
