"""Random and cluster sampling (pisvm.data.sampling) and the pisvm-split command."""

import sys

import h5py
import numpy as np
import pytest
from sklearn.cluster import DBSCAN

from conftest import one_line_error, run_command, run_main
from pisvm.cli import split as split_cli
from pisvm.data.sampling import (
    cluster_selection,
    make_selection,
    random_selection,
    selection_counts,
    training_statistics,
)
from pisvm.data.scene import write_scene
from pisvm.data.selection import read_selection
from pisvm.data.synth import synthetic_scene


@pytest.fixture(scope="module")
def scene():
    return synthetic_scene(48, 52, 10, 5, random_state=2)


@pytest.mark.parametrize("fraction", [0.1, 0.3, 0.6, 0.9])
def test_random_selection_takes_the_fraction_of_every_class(scene, fraction):
    _, labels = scene
    selection = random_selection(labels, fraction, random_state=0)
    assert selection.dtype == np.int8 and selection.shape == labels.shape
    np.testing.assert_array_equal(selection == 0, labels == 0)
    for label in range(1, 6):
        n_class = (labels == label).sum()
        assert ((labels == label) & (selection == 2)).sum() == max(1, round(fraction * n_class))
        assert ((labels == label) & (selection > 0)).sum() == n_class


def test_random_selection_is_deterministic_for_a_seed_and_removes_labels(scene):
    _, labels = scene
    first = random_selection(labels, 0.3, random_state=4, remove_labels=[2])
    np.testing.assert_array_equal(first, random_selection(labels, 0.3, random_state=4, remove_labels=[2]))
    assert not np.array_equal(first, random_selection(labels, 0.3, random_state=5, remove_labels=[2]))
    assert (first[labels == 2] == 0).all()
    assert set(np.unique(first[labels == 3])) == {1, 2}


def _dbscan_ids(labels, label):
    coordinates = np.argwhere(labels == label)
    return coordinates, DBSCAN(eps=1.5, min_samples=9).fit_predict(coordinates)


@pytest.mark.parametrize("mode", ["size", "stddev"])
@pytest.mark.parametrize("fraction", [0.1, 0.3, 0.6])
def test_cluster_selection_takes_whole_clusters_until_the_fraction(scene, mode, fraction):
    data, labels = scene
    selection = cluster_selection(labels, fraction, mode=mode, data=data)
    np.testing.assert_array_equal(selection == 0, labels == 0)
    np.testing.assert_array_equal(selection, cluster_selection(labels, fraction, mode=mode, data=data))
    for label in range(1, 6):
        coordinates, ids = _dbscan_ids(labels, label)
        train = selection[coordinates[:, 0], coordinates[:, 1]] == 2
        # every class gets exactly its share, as in the reference implementation
        assert train.sum() == max(1, round(fraction * len(ids)))
        # contiguity: at most one DBSCAN cluster is split between the sets, and
        # its training part is its first pixels in row-major order
        split = [c for c in np.unique(ids[ids >= 0]) if len(np.unique(train[ids == c])) == 2]
        assert len(split) <= 1, (label, split)
        for cluster in split:
            part = train[ids == cluster]
            assert part[: part.sum()].all()
        if mode == "size":
            # the whole training clusters are the largest ones
            sizes = {cluster: (ids == cluster).sum() for cluster in np.unique(ids[ids >= 0])}
            taken = [sizes[c] for c in sizes if train[ids == c].all()]
            left = [sizes[c] for c in sizes if not train[ids == c].any() and c not in split]
            if taken and left:
                assert min(taken) >= max(left)


def test_cluster_sampling_keeps_test_windows_away_from_training_pixels():
    # The point of cluster sampling: fewer test pixels share a 9x9 window with a training pixel.
    _, labels = synthetic_scene(96, 96, 6, 4, random_state=5)

    def shared_share(selection):
        train = np.pad(selection == 2, 4)
        near = np.zeros(labels.shape, dtype=bool)
        for dr in range(9):
            for dc in range(9):
                near |= train[dr:dr + labels.shape[0], dc:dc + labels.shape[1]]
        test = selection == 1
        return (near & test).sum() / test.sum()

    random_share = shared_share(random_selection(labels, 0.1, random_state=0))
    cluster_share = shared_share(cluster_selection(labels, 0.1, mode="size"))
    assert random_share > 0.95
    assert cluster_share < 0.6 * random_share


def test_dbscan_parameters_change_the_selection(scene):
    _, labels = scene
    default = cluster_selection(labels, 0.2)
    assert not np.array_equal(default, cluster_selection(labels, 0.2, min_points=3, epsilon=1.0))


def test_bad_sampling_arguments_raise_one_line_errors(scene):
    data, labels = scene
    with pytest.raises(ValueError, match=r"fraction == 1.0, must be in \(0, 1\)"):
        random_selection(labels, 1.0)
    with pytest.raises(ValueError, match="mode 'median' not in"):
        cluster_selection(labels, 0.1, mode="median")
    with pytest.raises(ValueError, match="needs the data cube"):
        cluster_selection(labels, 0.1, mode="stddev")
    with pytest.raises(ValueError, match="epsilon == -1"):
        cluster_selection(labels, 0.1, epsilon=-1)


def test_training_statistics_use_training_pixels_only(scene):
    data, labels = scene
    selection = random_selection(labels, 0.3, random_state=1)
    mean, stddev = training_statistics(data, selection)
    spectra = data[selection == 2].astype(np.float64)
    np.testing.assert_allclose(mean, spectra.mean(axis=0))
    np.testing.assert_allclose(stddev, spectra.std(axis=0))
    assert not np.allclose(mean, data[labels > 0].mean(axis=0))


def test_make_selection_records_the_reference_attributes(scene):
    data, labels = scene
    _, attrs = make_selection(labels, "random", 0.3, random_state=7, remove_labels=[3])
    assert attrs["mode"] == "random" and attrs["seed"] == 7 and attrs["training_fraction"] == 0.3
    assert attrs["removed_labels"].tolist() == [0, 3]
    _, attrs = make_selection(labels, "stddev", 0.3, data=data, epsilon=2.0, min_points=5)
    assert (attrs["epsilon"], attrs["min_points"]) == (2.0, 5) and "seed" not in attrs


def _in_process(argv, capsys):
    """Run pisvm-split's main in this process; return (exit status, stdout, stderr)."""
    with pytest.raises(SystemExit) as exit_info:
        split_cli.main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return exit_info.value.code, captured.out, captured.err


@pytest.fixture
def scene_file(tmp_path, scene):
    data, labels = scene
    write_scene(tmp_path / "scene.h5", data, labels)
    return tmp_path / "scene.h5"


def test_cli_writes_one_selection_file_and_plot(tmp_path, scene_file, scene, capsys):
    from pisvm.cli.split import main

    data, labels = scene
    status, _, err = run_main(capsys, main, [str(scene_file), "--mode", "random", "--fraction", "0.1", "--seed", "3",
                                             "--remove-labels", "5", "--out", str(tmp_path / "split.h5")])
    assert status == 0, err
    selection, info = read_selection(tmp_path / "split.h5", shape=labels.shape)
    np.testing.assert_array_equal(selection, random_selection(labels, 0.1, random_state=3, remove_labels=[5]))
    with h5py.File(tmp_path / "split.h5") as h5:
        assert {"selection", "mean", "stddev"} <= set(h5)
        # the reference layout: the split parameters are datasets beside the selection
        assert h5["mode"][()] == b"random" and h5["seed"][()] == 3
        assert h5["training_fraction"][()] == 0.1 and list(h5["removed_labels"][()]) == [0, 5]
    np.testing.assert_allclose(info["mean"], data[selection == 2].mean(axis=0), rtol=1e-6)
    assert (tmp_path / "split.png").stat().st_size > 1000


def test_cli_writes_one_file_per_mode_fraction_and_seed(tmp_path, scene_file, capsys):
    status, out, err = _in_process([scene_file, "--mode", "random", "size", "--fraction", "0.1", "0.3",
                                    "--seed", "0", "1", "--out", tmp_path / "splits", "--no-plot"], capsys)
    assert status == 0, err
    assert len(out.splitlines()) == 6
    names = sorted(path.name for path in (tmp_path / "splits").iterdir())
    assert names == ["scene_random_f0.1_s0.h5", "scene_random_f0.1_s1.h5", "scene_random_f0.3_s0.h5",
                     "scene_random_f0.3_s1.h5", "scene_size_f0.1.h5", "scene_size_f0.3.h5"]
    with h5py.File(tmp_path / "splits" / "scene_size_f0.3.h5") as h5:
        assert h5["mode"][()] == b"size" and h5["epsilon"][()] == 1.5 and h5["min_points"][()] == 9


@pytest.mark.parametrize("args, fragments", [
    (["--fraction", "1.5"], ["fraction == 1.5"]),
    (["--mode", "median"], ["invalid choice"]),
    (["--remove-labels", "9"], ["--remove-labels 9"]),
    (["--fraction", "0.1", "0.3"], ["give a directory"]),
    (["--epsilon", "0"], ["must be > 0"]),
])
def test_cli_bad_input_is_one_line(tmp_path, scene_file, args, fragments, capsys):
    status, _, err = _in_process([scene_file, *args, "--out", tmp_path / "x.h5"], capsys)
    assert status == 2 and len(err.splitlines()) == 1 and err.startswith("pisvm-split: error: "), err
    for fragment in fragments:
        assert fragment in err
    assert not (tmp_path / "x.h5").exists()


def test_cli_rejects_a_scene_with_nan(tmp_path, capsys):
    from pisvm.cli.split import main

    data = np.ones((6, 6, 3))
    data[2, 3, 1] = np.nan
    with h5py.File(tmp_path / "nan.h5", "w") as h5:
        h5["data"] = data
        h5["labels"] = np.ones((6, 6), dtype=int)
    one_line_error(capsys, main, [str(tmp_path / "nan.h5"), "--out", str(tmp_path / "x.h5")], "not finite",
                   prog="pisvm-split")


def test_sampling_and_split_cli_do_not_import_tensorflow():
    code = ("import sys, pisvm, pisvm.data.sampling, pisvm.cli.split, cnn, cnn.cli, cnn.config, cnn.checks; "
            "assert not {'tensorflow', 'keras'} & set(sys.modules), 'TF imported'")
    result = run_command([sys.executable, "-c", code])
    assert result.returncode == 0, result.stderr


# --- Fortran-ordered input (scipy.io.loadmat returns it) -------------------------------------------

def test_every_sampling_function_gives_the_same_answer_for_fortran_ordered_input(scene):
    data, labels = scene
    f_labels, f_data = np.asfortranarray(labels), np.asfortranarray(data)
    assert f_labels.flags.f_contiguous and not f_labels.flags.c_contiguous
    selection = random_selection(f_labels, 0.3, random_state=0)
    assert (selection == 2).sum() > 0, "no training pixel for Fortran-ordered labels"
    np.testing.assert_array_equal(selection, random_selection(labels, 0.3, random_state=0))
    for mode in ("size", "stddev"):
        np.testing.assert_array_equal(cluster_selection(f_labels, 0.3, mode=mode, data=f_data),
                                      cluster_selection(labels, 0.3, mode=mode, data=data))
    f_selection, _ = make_selection(f_labels, "random", 0.3, random_state=2, remove_labels=[1])
    np.testing.assert_array_equal(f_selection, make_selection(labels, "random", 0.3, random_state=2,
                                                              remove_labels=[1])[0])
    np.testing.assert_array_equal(training_statistics(f_data, np.asfortranarray(selection)),
                                  training_statistics(data, selection))
    assert selection_counts(f_labels, np.asfortranarray(selection)) == selection_counts(labels, selection)


# --- cluster sampling as the reference code (Markus-Goetz/cluster-sampling) ranks clusters ------------

def _two_blobs(gap=3):
    """Class 1 as two 3x3 blobs side by side (left: DBSCAN cluster 0, right: cluster 1), 2 bands of zeros."""
    labels = np.zeros((3, 6 + gap), dtype=np.int64)
    labels[:, :3] = 1
    labels[:, 3 + gap:] = 1
    return labels, np.zeros(labels.shape + (2,))


def test_stddev_mode_ranks_clusters_by_the_spread_of_all_their_values():
    labels, data = _two_blobs()
    # left blob: each band constant (per-band deviation 0), but bands 0 and 100 apart (all values: 50)
    data[:, :3, 1] = 100.0
    # right blob: every band varies by +-10 around 0 (per-band deviation ~10, all values ~10)
    data[:, 6:, :] = np.where(np.arange(9).reshape(3, 3, 1) % 2, 10.0, -10.0)
    selection = cluster_selection(labels, 0.5, mode="stddev", data=data, epsilon=1.5, min_points=1)
    # the reference takes the left blob (std over pixels x bands 50 > ~10); the mean of the per-band
    # deviations (0 < ~10) would take the right one
    assert (selection[:, :3] == 2).all() and (selection[:, 6:] == 1).all()


@pytest.mark.parametrize("mode", ["size", "stddev"])
def test_clusters_of_equal_rank_go_to_the_higher_dbscan_label_first(mode):
    labels, data = _two_blobs()
    ids = DBSCAN(eps=1.5, min_samples=1).fit_predict(np.argwhere(labels == 1))
    assert ids[0] == 0 and ids[-1] == 1  # the left blob is cluster 0, the right one cluster 1
    selection = cluster_selection(labels, 0.5, mode=mode, data=data, epsilon=1.5, min_points=1)
    assert (selection[:, 6:] == 2).all() and (selection[:, :3] == 1).all()


def test_noise_is_one_group_taken_after_every_cluster_in_row_major_order():
    labels = np.zeros((7, 12), dtype=np.int64)
    labels[:3, :3] = 1                       # a dense 3x3 cluster (every pixel has 8 neighbours in reach)
    labels[6, [0, 3, 6, 9, 11]] = 1          # isolated pixels: DBSCAN noise
    data = np.zeros(labels.shape + (2,))
    data[6, :, 0] = np.arange(12) * 100.0    # the noise varies far more than the cluster
    selection = cluster_selection(labels, 12 / 14, mode="stddev", data=data, epsilon=1.5, min_points=4)
    # 12 of 14 pixels train: the whole cluster first, then the first 3 noise pixels in row-major order
    assert (selection[:3, :3] == 2).all()
    assert selection[6, [0, 3, 6, 9, 11]].tolist() == [2, 2, 2, 1, 1]


def test_selection_file_has_the_reference_layout_and_old_files_still_read(tmp_path, scene, capsys):
    data, labels = scene
    write_scene(tmp_path / "scene.h5", data, labels)
    status, _, err = _in_process([tmp_path / "scene.h5", "--mode", "size", "--remove-labels", "4",
                                  "--out", tmp_path / "split.h5", "--no-plot"], capsys)
    assert status == 0, err
    with h5py.File(tmp_path / "split.h5") as h5:
        assert h5["mean"].shape == h5["stddev"].shape == (1, 1, data.shape[2])
        # the reference lists every removed label, the unlabelled 0 included, as integers
        assert h5["removed_labels"][()].tolist() == [0, 4] and h5["removed_labels"].dtype.kind == "i"
    selection, info = read_selection(tmp_path / "split.h5", shape=labels.shape)
    assert info["mean"].shape == info["stddev"].shape == (data.shape[2],)
    np.testing.assert_allclose(info["mean"], data[selection == 2].mean(axis=0), rtol=1e-6)
    # files of earlier versions: (n_bands,) statistics, the unlabelled 0 not listed
    with h5py.File(tmp_path / "old.h5", "w") as h5:
        h5["selection"] = selection
        h5["mean"], h5["stddev"] = info["mean"], info["stddev"]
        h5["removed_labels"] = np.array([4])
    _, old = read_selection(tmp_path / "old.h5", shape=labels.shape)
    np.testing.assert_array_equal(old["mean"], info["mean"])
    assert old["removed_labels"] == [4]


def test_random_selection_of_labels_as_loadmat_returns_them(shared_data):
    from scipy.io import loadmat

    labels = loadmat(shared_data / "indian_pines_ground_truth" / "Indian_pines_gt.mat")["indian_pines_gt"]
    assert labels.flags.f_contiguous and not labels.flags.c_contiguous
    selection = random_selection(labels, 0.1, random_state=0)
    for label in range(1, 17):
        n_class = int((labels == label).sum())
        assert ((labels == label) & (selection == 2)).sum() == max(1, round(0.1 * n_class))
