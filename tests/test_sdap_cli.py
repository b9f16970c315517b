"""pisvm-features sdap: the Rome workflow (one band -> SDAP -> train/test LibSVM files), one-line errors."""

import numpy as np
import pytest

from conftest import one_line_error, write_scene_and_splits
from features import extended_self_dual_profiles, self_dual_profiles
from features.cli import main as features_main
from pisvm.cli.grid import main as grid_main
from pisvm.data.libsvm import read_libsvm
from pisvm.data.scene import read_scene


@pytest.fixture(scope="module")
def scene_and_split(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sdap-cli")
    return (folder, *write_scene_and_splits(folder, 24, 28, 8, 6))


def test_panchromatic_sdap_writes_scaled_train_and_test_files(scene_and_split, ran):
    folder, scene, split, _, data, labels, selection = scene_and_split
    prefix = folder / "pan"
    ran(features_main, "sdap", str(scene), "--panchromatic", "--area", "5", "25", "100",
                           "--libsvm", str(prefix), "--split", str(split), "--out", str(folder / "pan.h5"))
    expected = self_dual_profiles(data.mean(axis=2, dtype=np.float64), {"area": [5, 25, 100]})
    features, stored_labels = read_scene(folder / "pan.h5")
    np.testing.assert_array_equal(features, np.moveaxis(expected, 0, 2))
    np.testing.assert_array_equal(stored_labels, labels)
    samples = expected.reshape(4, -1).T
    train = np.flatnonzero((selection == 2).reshape(-1))
    test = np.flatnonzero((selection == 1).reshape(-1))
    X_train, y_train = read_libsvm(f"{prefix}_train.libsvm", n_features=4)
    X_test, y_test = read_libsvm(f"{prefix}_test.libsvm", n_features=4)
    np.testing.assert_array_equal(y_train, labels.reshape(-1)[train])
    np.testing.assert_array_equal(y_test, labels.reshape(-1)[test])
    low, high = samples[train].min(axis=0), samples[train].max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    np.testing.assert_allclose(X_train, (samples[train] - low) / span, atol=1e-12)
    np.testing.assert_allclose(X_test, (samples[test] - low) / span, atol=1e-12)
    # pisvm-grid reads them.
    ran(grid_main, f"{prefix}_train.libsvm", "-g", "2", "-c", "10", "-v", "2",
                           "--test", f"{prefix}_test.libsvm", "--out", str(folder / "grid-out"), "-q")
    assert (folder / "grid-out" / "grid.json").is_file()


def test_pca_and_band_sources(scene_and_split, ran):
    folder, scene, _, _, data, _, _ = scene_and_split
    ran(features_main, "sdap", str(scene), "--pca", "2", "--area", "5", "40",
                           "--inertia", "0.3", "--rule", "max", "--out", str(folder / "esdap.h5"))
    expected = extended_self_dual_profiles(data, 2, {"area": [5, 40], "moment_of_inertia": [0.3]},
                                           filtering_rule="max")
    np.testing.assert_array_equal(read_scene(folder / "esdap.h5")[0], np.moveaxis(expected, 0, 2))
    ran(features_main, "sdap", str(scene), "--band", "3", "--std", "0.05", "--spectra",
                           "--out", str(folder / "band.h5"))
    band = self_dual_profiles(np.ascontiguousarray(data[:, :, 3]), {"std": [0.05]}).astype(np.float64)
    features = read_scene(folder / "band.h5")[0]
    assert features.shape == (24, 28, 2 + 8)
    np.testing.assert_array_equal(features[:, :, :2], np.moveaxis(band, 0, 2))
    np.testing.assert_array_equal(features[:, :, 2:], data.astype(np.float64))


@pytest.mark.parametrize("args, fragment", [
    (["--area", "10"], "one of the arguments --pca --band --panchromatic is required"),
    (["--pca", "2", "--band", "1", "--area", "10"], "not allowed with argument"),
    (["--band", "8", "--area", "10"], "--band == 8"),
    (["--band", "-1", "--area", "10"], "-1 must be >= 0"),
    (["--pca", "9", "--area", "10"], "--pca == 9"),
    (["--panchromatic", "--area", "0"], "threshold == 0"),
    (["--panchromatic", "--inertia", "-0.5"], "threshold == -0.5"),
    (["--panchromatic", "--area", "10", "--rule", "soft"], "invalid choice: 'soft'"),
    (["--panchromatic", "--area", "10", "--adjacency", "8"], "unrecognized arguments: --adjacency"),
    (["--panchromatic"], "no attribute given"),
    (["--panchromatic", "--area", "10", "--libsvm", "PREFIX", "--split", "WRONG"], "does not match the scene"),
])
def test_bad_input_exits_2_with_one_line(scene_and_split, capsys, args, fragment):
    from features.cli import main

    folder, scene, split, wrong, *_ = scene_and_split
    args = [{"SPLIT": str(split), "WRONG": str(wrong), "PREFIX": str(folder / "bad")}.get(a, a) for a in args]
    if "--libsvm" not in args:
        args += ["--out", str(folder / "bad.h5")]
    one_line_error(capsys, main, ["sdap", str(scene), *args], fragment, prog="pisvm-features")
