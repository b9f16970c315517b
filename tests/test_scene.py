import h5py
import numpy as np
import pytest
import scipy.io

from pisvm.data.scene import import_mat, labelled_pixels, read_scene, write_scene
from pisvm.data.selection import read_selection, write_selection
from pisvm.data.synth import synthetic_scene


def test_scene_round_trip(tmp_path):
    data, labels = synthetic_scene(20, 24, 8, 3)
    write_scene(tmp_path / "s.h5", data, labels, source="test")
    data_read, labels_read = read_scene(tmp_path / "s.h5")
    np.testing.assert_array_equal(data_read, data)
    np.testing.assert_array_equal(labels_read, labels)
    with h5py.File(tmp_path / "s.h5") as h5:
        assert h5.attrs["source"] == "test"


def test_synthetic_scene_has_every_class_and_unlabelled_pixels():
    data, labels = synthetic_scene(40, 40, 12, 5, random_state=1)
    assert data.shape == (40, 40, 12) and data.dtype == np.float32
    assert set(np.unique(labels)) == {0, 1, 2, 3, 4, 5}
    again = synthetic_scene(40, 40, 12, 5, random_state=1)
    np.testing.assert_array_equal(again[0], data)


def test_import_finds_arrays_whatever_their_names(tmp_path):
    cube = np.arange(4 * 5 * 3, dtype=np.int16).reshape(4, 5, 3)
    gt = np.array([[0, 1, 1, 2, 2]] * 4, dtype=np.uint8)
    scipy.io.savemat(tmp_path / "cube.mat", {"some_scene_corrected": cube})
    scipy.io.savemat(tmp_path / "gt.mat", {"some_scene_gt": gt})
    data, labels, names = import_mat(tmp_path / "cube.mat", tmp_path / "gt.mat")
    np.testing.assert_array_equal(data, cube)
    np.testing.assert_array_equal(labels, gt)
    assert names == ("some_scene_corrected", "some_scene_gt")
    X, y, index = labelled_pixels(data, labels)
    assert X.shape == (16, 3) and set(y) == {1, 2}
    np.testing.assert_array_equal(X[0], cube[0, 1])
    assert index[0] == 1


def test_import_rejects_mismatched_shapes_and_missing_arrays(tmp_path):
    scipy.io.savemat(tmp_path / "cube.mat", {"c": np.zeros((4, 5, 3))})
    scipy.io.savemat(tmp_path / "gt.mat", {"g": np.zeros((5, 4))})
    with pytest.raises(ValueError, match="labels have shape"):
        import_mat(tmp_path / "cube.mat", tmp_path / "gt.mat")
    with pytest.raises(ValueError, match="no 3-D numeric array"):
        import_mat(tmp_path / "gt.mat", tmp_path / "gt.mat")


def test_read_scene_rejects_nan_and_missing_datasets(tmp_path):
    data = np.ones((3, 3, 2))
    data[1, 2, 1] = np.nan
    with h5py.File(tmp_path / "nan.h5", "w") as h5:
        h5["data"] = data
        h5["labels"] = np.ones((3, 3), dtype=int)
    with pytest.raises(ValueError, match=r"data\[1, 2, 1\] is not finite"):
        read_scene(tmp_path / "nan.h5")
    with h5py.File(tmp_path / "nolabels.h5", "w") as h5:
        h5["data"] = np.ones((3, 3, 2))
    with pytest.raises(ValueError, match="no dataset 'labels'"):
        read_scene(tmp_path / "nolabels.h5")


def test_selection_round_trip_and_shape_check(tmp_path):
    selection = np.array([[0, 1, 2], [2, 1, 0]])
    write_selection(tmp_path / "split.h5", selection, mean=[1.0, 2.0], stddev=[0.5, 0.5],
                    mode="random", seed=3, training_fraction=0.1, removed_labels=[0])
    read, info = read_selection(tmp_path / "split.h5", shape=(2, 3))
    np.testing.assert_array_equal(read, selection)
    assert info["mode"] == "random" and info["seed"] == 3 and info["removed_labels"] == [0]
    with pytest.raises(ValueError, match="does not match the scene"):
        read_selection(tmp_path / "split.h5", shape=(3, 3))


def test_salinas_a_import(shared_data, tmp_path):
    folder = shared_data / "salinas_a"
    data, labels, names = import_mat(folder / "SalinasA.mat", folder / "SalinasA_gt.mat")
    assert data.shape == (83, 86, 224) and data.dtype == np.int16
    assert names == ("salinasA", "salinasA_gt")
    classes, counts = np.unique(labels, return_counts=True)
    assert dict(zip(classes.tolist(), counts.tolist())) == {0: 1790, 1: 391, 10: 1343, 11: 616, 12: 1525,
                                                            13: 674, 14: 799}
    assert data[0, 0, :10].tolist() == [376, 481, 665, 1086, 1378, 1399, 1359, 1413, 1562, 1553]


def test_reads_the_reference_codes_selection_files(tmp_path):
    # cluster-sampling's data.py writes every parameter as a dataset and mean/stddev as (1, 1, n_bands).
    with h5py.File(tmp_path / "ref.h5", "w") as h5:
        h5["mode"] = "size"
        h5["removed_labels"] = [0]
        h5["epsilon"] = 1.5
        h5["min_points"] = 9
        h5["training_fraction"] = 0.3
        h5["selection"] = np.array([[0, 1], [2, 2]], dtype=np.int8)
        h5["mean"] = np.arange(3.0).reshape(1, 1, 3)
        h5["stddev"] = np.ones((1, 1, 3))
    selection, info = read_selection(tmp_path / "ref.h5", shape=(2, 2))
    assert selection.tolist() == [[0, 1], [2, 2]]
    assert info["mode"] == "size" and info["min_points"] == 9 and info["removed_labels"] == [0]
    assert info["mean"].tolist() == [0.0, 1.0, 2.0] and info["stddev"].shape == (3,)
