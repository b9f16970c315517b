"""pisvm-features on the command line: files written, scaling without leakage, one-line errors."""

import h5py
import numpy as np
import pytest

from conftest import one_line_error, write_scene_and_splits
from features import extended_profiles
from features.cli import main as features_main
from pisvm.cli.grid import main as grid_main
from pisvm.data.libsvm import read_libsvm
from pisvm.data.scene import read_scene


@pytest.fixture(scope="module")
def scene_and_split(tmp_path_factory):
    folder = tmp_path_factory.mktemp("features-cli")
    return (folder, *write_scene_and_splits(folder, 30, 36, 10, 4))


def test_ap_writes_features_and_scaled_libsvm(scene_and_split, ran):
    folder, scene, split, _, data, labels, selection = scene_and_split
    out = folder / "features.h5"
    prefix = folder / "ap"
    ran(features_main, "ap", str(scene), "--pca", "2", "--area", "5", "20",
                           "--inertia", "0.3", "--out", str(out), "--libsvm", str(prefix), "--split", str(split))
    features, stored_labels = read_scene(out)
    expected = extended_profiles(data, 2, {"area": [5, 20], "moment_of_inertia": [0.3]})
    assert features.shape == (30, 36, expected.shape[0]) == (30, 36, 16)
    np.testing.assert_array_equal(features, np.moveaxis(expected, 0, 2))
    np.testing.assert_array_equal(stored_labels, labels)
    with h5py.File(out, "r") as h5:
        assert "area" in h5.attrs["profile"]

    X_train, y_train = read_libsvm(f"{prefix}_train.libsvm", n_features=16)
    X_test, y_test = read_libsvm(f"{prefix}_test.libsvm", n_features=16)
    samples = expected.reshape(16, -1).T
    train = np.flatnonzero((selection == 2).reshape(-1))
    test = np.flatnonzero((selection == 1).reshape(-1))
    np.testing.assert_array_equal(y_train, labels.reshape(-1)[train])
    np.testing.assert_array_equal(y_test, labels.reshape(-1)[test])
    # Training statistics only: train spans [0, 1] per feature, test uses the same affine map.
    low, high = samples[train].min(axis=0), samples[train].max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    np.testing.assert_allclose(X_train, (samples[train] - low) / span, atol=1e-12)
    np.testing.assert_allclose(X_test, (samples[test] - low) / span, atol=1e-12)
    assert X_train.min() >= 0 and X_train.max() <= 1 and np.isclose(X_train.max(), 1)


def test_ap_without_split_writes_every_labelled_pixel(scene_and_split, ran):
    folder, scene, _, _, _, labels, _ = scene_and_split
    prefix = folder / "all"
    ran(features_main, "ap", str(scene), "--pca", "1", "--std", "0.05",
                           "--diagonal", "4", "--spectra", "--adjacency", "8", "--rule", "subtractive",
                           "--libsvm", str(prefix))
    X, y = read_libsvm(f"{prefix}.libsvm")
    assert X.shape[0] == np.count_nonzero(labels) and X.shape[1] <= 6 + 10
    assert X.min() >= 0 and X.max() <= 1


@pytest.mark.parametrize("args, fragment", [
    (["--area", "0"], "threshold == 0"),
    (["--area", "-5"], "threshold == -5"),
    (["--area", "10", "--rule", "soft"], "invalid choice: 'soft'"),
    (["--area", "10", "--adjacency", "6"], "invalid choice: 6"),
    (["--area", "10", "--pca", "11"], "--pca == 11"),
    ([], "no attribute given"),
    (["--area", "10", "--split", "SPLIT"], "--split is only used with --libsvm"),
    (["--area", "10", "--libsvm", "PREFIX", "--split", "WRONG"], "does not match the scene"),
])
def test_bad_input_exits_2_with_one_line(scene_and_split, capsys, args, fragment):
    from features.cli import main

    folder, scene, split, wrong, *_ = scene_and_split
    args = [{"SPLIT": str(split), "WRONG": str(wrong), "PREFIX": str(folder / "bad")}.get(a, a) for a in args]
    if "--libsvm" not in args:
        args += ["--out", str(folder / "bad.h5")]
    one_line_error(capsys, main, ["ap", str(scene), *args], fragment, prog="pisvm-features")


def test_non_finite_scene_and_unknown_command_exit_2(tmp_path, capsys):
    from features.cli import main

    data = np.ones((6, 6, 3), dtype=np.float32)
    with h5py.File(tmp_path / "nan.h5", "w") as h5:
        data[2, 3, 1] = np.nan
        h5["data"] = data
        h5["labels"] = np.ones((6, 6), dtype=np.int32)
    one_line_error(capsys, main, ["ap", str(tmp_path / "nan.h5"), "--area", "4", "--out", str(tmp_path / "x.h5")],
                   "not finite", prog="pisvm-features")
    one_line_error(capsys, main, ["volume", "x.h5"], "invalid choice", prog="pisvm-features")


def test_pisvm_grid_reads_the_libsvm_files(scene_and_split, ran):
    folder, scene, split, *_ = scene_and_split
    prefix = folder / "grid"
    ran(features_main, "ap", str(scene), "--pca", "2", "--area", "5", "20",
                           "--libsvm", str(prefix), "--split", str(split))
    ran(grid_main, f"{prefix}_train.libsvm", "-g", "2", "-c", "10", "-v", "2",
                           "--test", f"{prefix}_test.libsvm", "--out", str(folder / "grid-out"), "-q")
    assert (folder / "grid-out" / "grid.json").is_file()
