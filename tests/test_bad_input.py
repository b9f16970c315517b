"""Bad input a user hit: one line ``prog: error: ...`` naming the file and the problem, exit status 2.

In-process: each test calls the console script's ``main([...])`` and reads stderr through capsys.
"""

import os

import numpy as np
import pytest
import scipy.io

from conftest import one_line_error
from pisvm.data.scene import write_scene

# -- pisvm-grid: LibSVM files ------------------------------------------------------------------------------------

def grid_main(argv):
    from pisvm.cli.grid import main

    main(argv)


def test_grid_refuses_a_huge_feature_index(tmp_path, capsys):
    path = tmp_path / "wide.el"
    path.write_text("1 1:0.5\n" * 30 + "2 1:1 1000000000:3\n" + "2 1:0.25\n" * 29)
    one_line_error(capsys, grid_main, [str(path), "-g", "1", "-c", "1", "-v", "2", "--out", str(tmp_path / "g")],
                   f"{path}:31: feature index 1000000000", "447.0 GiB", prog="pisvm-grid")


def test_grid_refuses_non_integer_labels(tmp_path, capsys):
    path = tmp_path / "float.el"
    path.write_text("1 1:1\n2 1:2\n" * 5 + "1.5 1:0.5\n")
    one_line_error(capsys, grid_main, [str(path), "-g", "1", "-c", "1", "-v", "2", "--out", str(tmp_path / "g")],
                   f"{path}:11: label 1.5 is not an integer", prog="pisvm-grid")


def test_grid_warns_about_test_classes_and_features_unknown_to_training(tmp_path):
    rng = np.random.RandomState(0)
    train, test = tmp_path / "train.el", tmp_path / "test.el"
    train.write_text("".join(f"{1 + i % 2} 1:{rng.rand():.3f} 2:{rng.rand():.3f}\n" for i in range(12)))
    test.write_text("1 1:0.5 2:0.5\n2 1:0.1 3:0.7\n3 1:0.2 2:0.2\n")
    with pytest.warns(UserWarning) as record, pytest.raises(SystemExit) as exit_info:
        grid_main([str(train), "--test", str(test), "-g", "1", "-c", "1", "-v", "2", "-q",
                   "--out", str(tmp_path / "g")])
    assert exit_info.value.code == 0
    messages = [str(w.message) for w in record if "test.el" in str(w.message)]
    assert len(messages) == 2, messages
    assert "3 features" in messages[0] and "classes 3 (1 samples)" in messages[1]


# -- pisvm-data import ---------------------------------------------------------------------------------------------

def data_main(argv):
    from pisvm.cli.data import main

    main(argv)


@pytest.fixture
def mats(tmp_path):
    """Good and bad .mat files in ``tmp_path``; returns a function name -> path."""
    rng = np.random.RandomState(0)
    scipy.io.savemat(tmp_path / "cube.mat", {"cube": rng.rand(5, 6, 4)})
    scipy.io.savemat(tmp_path / "gt.mat", {"gt": np.arange(30).reshape(5, 6) % 3})
    scipy.io.savemat(tmp_path / "two.mat", {"radiance": rng.rand(5, 6, 4), "reflectance": rng.rand(5, 6, 7)})
    scipy.io.savemat(tmp_path / "gt0.mat", {"gt": np.zeros((5, 6), dtype=int)})
    scipy.io.savemat(tmp_path / "gt_empty.mat", {"gt": np.zeros((0, 0))})
    (tmp_path / "empty.mat").write_bytes(b"")
    (tmp_path / "short.mat").write_bytes(rng.bytes(100))
    (tmp_path / "folder.mat").mkdir()
    return lambda name: str(tmp_path / name)


@pytest.mark.parametrize("cube, labels, fragments", [
    ("empty.mat", "gt.mat", ["empty.mat: empty file"]),
    ("short.mat", "gt.mat", ["short.mat: not a readable .mat file"]),
    ("cube.mat", "empty.mat", ["empty.mat: empty file"]),
    ("cube.mat", "gt_empty.mat", ["gt_empty.mat: no 2-D numeric array"]),
    ("folder.mat", "gt.mat", ["folder.mat: is a directory"]),
    ("two.mat", "gt.mat", ["two.mat: 2 3-D arrays", "radiance 5x6x4", "reflectance 5x6x7", "--cube-key"]),
    ("cube.mat", "gt0.mat", ["gt0.mat: no labelled pixel"]),
])
def test_import_bad_mat_files(mats, tmp_path, capsys, cube, labels, fragments):
    one_line_error(capsys, data_main, ["import", mats(cube), mats(labels), "--out", str(tmp_path / "s.h5")],
                   *fragments, prog="pisvm-data")
    assert not os.path.exists(tmp_path / "s.h5")


def test_import_key_picks_one_of_several_arrays(mats, tmp_path, capsys):
    from pisvm.data.scene import read_scene

    data_main_status = pytest.raises(SystemExit)
    with data_main_status as exit_info:
        data_main(["import", mats("two.mat"), mats("gt.mat"), "--cube-key", "reflectance",
                   "--out", str(tmp_path / "s.h5")])
    assert exit_info.value.code == 0
    assert read_scene(tmp_path / "s.h5")[0].shape == (5, 6, 7)
    one_line_error(capsys, data_main, ["import", mats("two.mat"), mats("gt.mat"), "--cube-key", "dn",
                                       "--out", str(tmp_path / "s.h5")],
                   "two.mat: no 3-D array 'dn'", "radiance", prog="pisvm-data")


def test_import_non_integer_labels_name_the_pixel(mats, tmp_path, capsys):
    scipy.io.savemat(tmp_path / "gtf.mat", {"gt": np.full((5, 6), 2.0)})
    labels = np.full((5, 6), 2.0)
    labels[1, 2] = 1.5
    scipy.io.savemat(tmp_path / "gtf.mat", {"gt": labels})
    one_line_error(capsys, data_main, ["import", mats("cube.mat"), mats("gtf.mat"), "--out", str(tmp_path / "s.h5")],
                   "gtf.mat", "label 1.5 at row 1, column 2 is not an integer", prog="pisvm-data")


# -- pisvm-data synth ----------------------------------------------------------------------------------------------

def test_synth_scene_too_large_is_refused_before_allocating(tmp_path, capsys):
    line = one_line_error(capsys, data_main, ["synth", "scene", "--rows", "100000", "--cols", "100000",
                                              "--out", str(tmp_path / "s.h5")],
                          "100000 x 100000 pixels x 60 bands", "TiB", prog="pisvm-data")
    assert "memory" in line


@pytest.mark.parametrize("argv, fragment", [
    (["synth", "scene", "--rows", "0"], "--rows: 0 must be > 0"),
    (["synth", "problem", "--scale", "2"], "--scale: 2 must be in (0, 1]"),
])
def test_synth_options_are_checked(tmp_path, capsys, argv, fragment):
    one_line_error(capsys, data_main, argv + ["--out", str(tmp_path / "x")], fragment, prog="pisvm-data")


# -- scenes without a labelled pixel --------------------------------------------------------------------------------

@pytest.fixture
def unlabelled_scene(tmp_path):
    path = tmp_path / "blank.h5"
    write_scene(path, np.random.RandomState(0).rand(8, 9, 5), np.zeros((8, 9), dtype=int))
    return str(path)


def test_unlabelled_scene_to_libsvm(unlabelled_scene, tmp_path, capsys):
    one_line_error(capsys, data_main, ["libsvm", unlabelled_scene, "--out", str(tmp_path / "x.el")],
                   "blank.h5: no labelled pixel", prog="pisvm-data")


def test_unlabelled_scene_to_split(unlabelled_scene, tmp_path, capsys):
    from pisvm.cli.split import main

    one_line_error(capsys, main, [unlabelled_scene, "--out", str(tmp_path / "sp.h5")],
                   "blank.h5: no labelled pixel", prog="pisvm-split")


# -- pisvm-timing ------------------------------------------------------------------------------------------------

def timing_main(argv):
    from pisvm.cli.timing import main

    main(argv)


def test_timing_binary_garbage_names_the_file(tmp_path, capsys):
    path = tmp_path / "grid.json"
    path.write_bytes(np.random.RandomState(0).bytes(200))
    one_line_error(capsys, timing_main, [str(path)], f"{path}: not a pisvm-grid grid.json", prog="pisvm-timing")


def test_timing_missing_file_and_folder(tmp_path, capsys):
    one_line_error(capsys, timing_main, [str(tmp_path / "nope.json")], "nope.json", prog="pisvm-timing")
    one_line_error(capsys, timing_main, [str(tmp_path)], f"{tmp_path}: no grid.json", prog="pisvm-timing")


@pytest.mark.parametrize("argv, fragment", [([], "the following arguments are required: runs"),
                                            (["a.json", "--predict", "x"], "argument --predict")])
def test_timing_usage_errors_are_one_line(capsys, argv, fragment):
    one_line_error(capsys, timing_main, argv, fragment, prog="pisvm-timing")


def test_unlabelled_scene_to_features_fails_before_the_profiles(unlabelled_scene, tmp_path, capsys, monkeypatch):
    from features import profiles
    from features.cli import main

    monkeypatch.setattr(profiles, "extended_profiles", lambda *a, **k: pytest.fail("profiles computed"))
    one_line_error(capsys, main, ["ap", unlabelled_scene, "--area", "5", "--libsvm", str(tmp_path / "ap")],
                   "blank.h5: no labelled pixel", prog="pisvm-features")
