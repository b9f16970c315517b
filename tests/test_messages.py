"""Messages a user can act on, one line each, for the input a break-it run tried (in-process)."""

import warnings

import numpy as np
import pytest

from conftest import one_line_error
from pisvm.data.libsvm import write_libsvm
from pisvm.data.scene import write_scene
from pisvm.svm.model import SVMModel
from pisvm.svm.train import svc


def train_main(argv):
    from pisvm.cli.train import main

    main(argv)


def data_main(argv):
    from pisvm.cli.data import main

    main(argv)


def predict_main(argv):
    from pisvm.cli.predict import main

    main(argv)


@pytest.mark.parametrize("label", ["1e30", "9007199254740992", "-9007199254740993"])
def test_a_label_too_large_for_an_exact_integer(tmp_path, capsys, label):
    path = tmp_path / "big.el"
    path.write_text(f"1 1:1\n{label} 1:2\n1 1:3\n2 1:1\n")
    one_line_error(capsys, train_main, [str(path), str(tmp_path / "m")], f"{path}:2: label {label}",
                   "2**53", prog="pisvm-train")


def test_labels_two_to_the_53_and_one_more_are_not_one_class(tmp_path, capsys):
    path = tmp_path / "l53.el"
    path.write_text("9007199254740992 1:1\n9007199254740993 1:2\n")
    one_line_error(capsys, train_main, [str(path), str(tmp_path / "m")], f"{path}:1: label 9007199254740992",
                   prog="pisvm-train")


@pytest.mark.parametrize("module, argv", [
    ("pisvm.cli.grid", ["--seed", "-1"]),
    ("pisvm.cli.split", ["scene.h5", "--seed", "-1", "--out", "s.h5"]),
    ("pisvm.cli.data", ["synth", "problem", "--seed", "-1", "--out", "p.el"]),
])
def test_a_negative_seed_is_a_usage_error(tmp_path, capsys, module, argv):
    import importlib

    main = importlib.import_module(module).main
    one_line_error(capsys, main, [str(tmp_path / a) if a.endswith((".h5", ".el")) else a for a in argv],
                   "argument --seed: -1 must be >= 0")


def test_convert_with_a_delimiter_that_is_not_in_the_table(tmp_path, capsys):
    (tmp_path / "t.csv").write_text("a,b,c\n1,2,1\n3,4,2\n")
    one_line_error(capsys, data_main, ["convert", str(tmp_path / "t.csv"), "--delimiter", ";", "--out",
                                       str(tmp_path / "t.el")],
                   f"{tmp_path / 't.csv'}:1: --delimiter ';' does not occur", prog="pisvm-data")


@pytest.mark.parametrize("main, argv", [
    (predict_main, ["FOLDER", "model", "out"]),
    (train_main, ["FOLDER"]),
    (data_main, ["scale", "FOLDER", "--out", "o.el"]),
])
def test_a_folder_given_as_a_file(tmp_path, capsys, main, argv):
    (tmp_path / "folder").mkdir()
    SVMModel.from_svc(svc(gamma=1.0, C=1.0).fit(np.array([[0.0], [1.0]]), [1, 2])).write(tmp_path / "model")
    argv = [str(tmp_path / "folder") if a == "FOLDER" else a if a in ("scale", "--out") else str(tmp_path / a)
            for a in argv]
    one_line_error(capsys, main, argv, f"{tmp_path / 'folder'}: is a folder, not a file")


def test_pca_of_a_constant_scene(tmp_path, capsys):
    from features.cli import main

    write_scene(tmp_path / "const.h5", np.ones((6, 6, 5)), np.ones((6, 6), dtype=int))
    one_line_error(capsys, main, ["ap", str(tmp_path / "const.h5"), "--pca", "2", "--area", "2", "--out",
                                  str(tmp_path / "f.h5")], "cube is constant", "principal components",
                   prog="pisvm-features")


def test_synth_scene_says_how_many_classes_are_present(tmp_path, capsys):
    with pytest.raises(SystemExit):
        data_main(["synth", "scene", "--rows", "4", "--cols", "4", "--classes", "200", "--out",
                   str(tmp_path / "s.h5")])
    from pisvm.data.scene import read_scene

    labels = read_scene(tmp_path / "s.h5")[1]
    present = len(np.unique(labels[labels > 0]))
    out = capsys.readouterr().out
    assert f"{present} of the 200 classes asked" in out and present < 200, out


def test_a_one_line_test_file_gives_no_kappa_warning(tmp_path, capsys):
    X, y = np.array([[0.0], [1.0], [0.1], [0.9]]), np.array([1, 2, 1, 2])
    SVMModel.from_svc(svc(gamma=1.0, C=1.0).fit(X, y)).write(tmp_path / "model")
    write_libsvm(tmp_path / "one.el", X[:1], y[:1])
    # pytest records warnings itself (they never reach stderr here): record every one, as a terminal would show it
    with warnings.catch_warnings(record=True) as caught, pytest.raises(SystemExit) as exit_info:
        warnings.simplefilter("always")
        predict_main([str(tmp_path / "one.el"), str(tmp_path / "model"), str(tmp_path / "o"), "-q",
                      "--report", str(tmp_path / "r.json")])
    assert exit_info.value.code == 0
    assert [str(warning.message) for warning in caught] == []
    assert capsys.readouterr().err == ""
    import json

    assert np.isnan(json.loads((tmp_path / "r.json").read_text())["report"]["kappa"])  # undefined, as in sklearn
