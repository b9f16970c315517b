"""The 3D-CNN package: model, windows, training, prediction, metrics and the pisvm-cnn command."""

import importlib.util
import json
import os

import h5py
import numpy as np
import pytest
from sklearn.metrics import accuracy_score, cohen_kappa_score, confusion_matrix, f1_score

import cnn  # without TensorFlow: its public names load on first use
from cnn import CNNConfig
from conftest import one_line_error, python_module
from pisvm.data.sampling import random_selection, training_statistics
from pisvm.data.scene import write_scene
from pisvm.data.selection import write_selection
from pisvm.data.synth import synthetic_scene


def _installed(module):
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


# Per test, not per file: the configuration, input checks and bad-input tests run without TensorFlow.
needs_tensorflow = pytest.mark.skipif(not _installed("tensorflow"), reason="TensorFlow is not installed")

N_BANDS = 24  # the fewest bands the standard model's three conv/pool blocks take comfortably


@needs_tensorflow
@pytest.mark.parametrize("class_count, n_parameters", [(16, 578_544), (58, 583_962)])
def test_standard_model_has_the_seeds_parameter_counts(class_count, n_parameters):
    model = cnn.build_standard_model((9, 9, 220, 1), class_count)
    assert model.count_params() == n_parameters
    assert model.output_shape == (None, class_count)
    kinds = [type(layer).__name__ for layer in model.layers[1:]]
    assert kinds == ["Conv3D", "MaxPooling3D", "ZeroPadding3D", "Conv3D", "MaxPooling3D", "ZeroPadding3D",
                     "Conv3D", "MaxPooling3D", "Flatten", "Dense", "Dense", "Dense"]


@needs_tensorflow
def test_config_options_reach_the_model():
    plain = cnn.build_standard_model((7, 7, N_BANDS, 1), 3)
    changed = cnn.build_standard_model((7, 7, N_BANDS, 1), 3, CNNConfig(dropout=0.5, l2=1e-4))
    assert sum(type(layer).__name__ == "Dropout" for layer in changed.layers) == 2
    assert len(changed.losses) == 6 and not plain.losses
    mixed = cnn.build_standard_model((7, 7, N_BANDS, 1), 3, CNNConfig(mixed_precision=True))
    assert mixed.layers[1].compute_dtype == "float16" and mixed.output.dtype == "float32"
    cnn.compile_model(mixed, CNNConfig(mixed_precision=True))
    assert type(mixed.optimizer).__name__ == "LossScaleOptimizer"
    optimizer = cnn.make_optimizer(CNNConfig())
    assert float(optimizer.learning_rate) == pytest.approx(1.0)  # step 0 of 1 / (1 + 5e-6 step)
    assert optimizer.learning_rate.__class__.__name__ != "float"
    assert float(optimizer._learning_rate(200_000)) == pytest.approx(1.0 / (1 + 5e-6 * 200_000))


@pytest.mark.parametrize("changes, message", [
    ({"window_px": 8}, "window_px == 8, must be odd"),
    ({"window_px": 5}, "window_px == 5, must be >= 7"),
    ({"loss": "hinge"}, "loss 'hinge' not in"),
    ({"dropout": 1.0}, "dropout == 1.0"),
    ({"batch_size": 0}, "batch_size == 0"),
])
def test_config_rejects_bad_values(changes, message):
    with pytest.raises(ValueError, match=message):
        CNNConfig(**changes)
    assert CNNConfig.from_json(CNNConfig(epochs=3).to_json()) == CNNConfig(epochs=3)


@needs_tensorflow
def test_windows_equal_direct_slicing_including_borders():
    from cnn.windows import WindowSequence, normalised_padded_cube, window_view  # noqa: F401

    rng = np.random.default_rng(0)
    data = rng.normal(size=(6, 8, 4)).astype(np.float32)
    mean, stddev = data.reshape(-1, 4).mean(axis=0), data.reshape(-1, 4).std(axis=0)
    padded = normalised_padded_cube(data, mean, stddev, 5)
    windows = window_view(padded, 5)
    assert windows.shape == (6, 8, 5, 5, 4)
    assert np.shares_memory(windows, padded) and not windows.flags.writeable
    normalised = ((data - mean) / stddev).astype(np.float32)
    for row in range(6):
        for col in range(8):
            # direct slicing with the indices clipped to the scene = edge replication
            rows = np.clip(np.arange(row - 2, row + 3), 0, 5)
            cols = np.clip(np.arange(col - 2, col + 3), 0, 7)
            np.testing.assert_allclose(windows[row, col], normalised[np.ix_(rows, cols)], rtol=1e-6)
    np.testing.assert_allclose(windows[3, 4], normalised[1:6, 2:7], rtol=1e-6)


@needs_tensorflow
@pytest.mark.parametrize("batch_size", [1, 7, 50])
def test_one_epoch_visits_every_selected_pixel_exactly_once(batch_size):
    from cnn.windows import WindowSequence, normalised_padded_cube, window_view  # noqa: F401

    n_rows, n_cols = 9, 11
    data = np.arange(n_rows * n_cols, dtype=np.float32).reshape(n_rows, n_cols, 1).repeat(3, axis=2)
    windows = window_view(normalised_padded_cube(data, np.zeros(3), np.ones(3), 3), 3)
    selected = np.random.default_rng(1).uniform(size=(n_rows, n_cols)) < 0.4
    rows, cols = np.nonzero(selected)
    targets = np.arange(len(rows)) % 4
    sequence = WindowSequence(windows, rows, cols, targets, 4, batch_size=batch_size, shuffle=True, seed=3)
    orders = []
    for _ in range(2):
        seen, seen_targets = [], []
        for index in range(len(sequence)):
            x, y = sequence[index]
            assert x.shape[1:] == (3, 3, 3, 1) and x.dtype == np.float32 and y.shape[1] == 4
            seen.extend(x[:, 1, 1, 0, 0].astype(int))  # the centre value is the pixel's flat index
            seen_targets.extend(y.argmax(axis=1))
        assert sorted(seen) == sorted(np.flatnonzero(selected))
        lookup = dict(zip(rows * n_cols + cols, targets))
        assert [lookup[pixel] for pixel in seen] == seen_targets
        orders.append(seen)
        sequence.on_epoch_end()
    assert orders[0] != orders[1]  # reshuffled between epochs
    with pytest.raises(IndexError):
        sequence[len(sequence)]


@needs_tensorflow
@pytest.mark.parametrize("batch_size", [1, 7, 50])
def test_tf_data_pipeline_cuts_the_same_windows_once_per_epoch(batch_size):
    from cnn.windows import WindowSequence, normalised_padded_cube, window_view  # noqa: F401

    n_rows, n_cols = 9, 11
    rng = np.random.default_rng(2)
    data = rng.normal(size=(n_rows, n_cols, 3)).astype(np.float32)
    data[..., 0] = np.arange(n_rows * n_cols).reshape(n_rows, n_cols)  # band 0: the pixel's flat index
    padded = normalised_padded_cube(data, np.zeros(3), np.ones(3), 3)
    windows = window_view(padded, 3)
    rows, cols = np.nonzero(rng.uniform(size=(n_rows, n_cols)) < 0.4)
    dataset = cnn.window_dataset(padded, 3, rows, cols, np.arange(len(rows)) % 4, 4, batch_size, shuffle=True, seed=1)
    orders = []
    for _ in range(2):
        seen = []
        for x, y in dataset:
            x = x.numpy()
            assert x.shape[1:] == (3, 3, 3, 1) and y.shape[1] == 4
            centre = x[:, 1, 1, 0, 0].astype(int)
            np.testing.assert_array_equal(x[..., 0], windows[centre // n_cols, centre % n_cols])
            seen.extend(centre)
        assert sorted(seen) == sorted(rows * n_cols + cols)
        orders.append(seen)
    assert orders[0] != orders[1]


@pytest.fixture(scope="module")
def tiny():
    """A 20x20 scene with 24 bands and 3 classes, a 30 % random split, and a model trained 5 epochs (resumed at 3)."""
    data, labels = synthetic_scene(20, 20, N_BANDS, 3, noise=0.03, random_state=4)
    selection = random_selection(labels, 0.3, random_state=0)
    return data, labels, selection


@pytest.fixture(scope="module")
def trained(tiny, tmp_path_factory):
    data, labels, selection = tiny
    out = tmp_path_factory.mktemp("run")
    config = CNNConfig(window_px=7, epochs=3, batch_size=16, checkpoint_every_epochs=2, validation_fraction=0.15)
    first = cnn.train_model(data, labels, selection, config, out_dir=out)
    resumed = cnn.train_model(data, labels, selection, config.replace(epochs=6), out_dir=out)
    return first, resumed, out, config.replace(epochs=6)


@needs_tensorflow
def test_training_beats_chance_and_resumes(tiny, trained):
    data, labels, selection = tiny
    first, resumed, out, config = trained
    assert first.history["epoch"] == [0, 1, 2]
    assert resumed.history["epoch"] == [0, 1, 2, 3, 4, 5]
    assert json.loads((out / "checkpoint.json").read_text())["epoch"] == 6
    assert resumed.history["loss"][:3] == first.history["loss"]
    # model selection on validation pixels: a subset of the training pixels, never a test pixel
    assert (selection[resumed.validation] == 2).all() and resumed.validation.sum() >= 3
    label_map = cnn.predict_scene(resumed.model, data, resumed.mean, resumed.stddev, 7, batch_size=64,
                                  classes=resumed.classes)
    report = cnn.evaluate_test(labels, selection, label_map, classes=resumed.classes)
    test_labels = labels[selection == 1]
    chance = np.bincount(test_labels).max() / len(test_labels)
    assert report["overall_accuracy"] > chance + 0.15, (report["overall_accuracy"], chance)
    assert set(np.unique(label_map)) <= {1, 2, 3}


@needs_tensorflow
def test_predict_scene_matches_direct_windows_and_respects_the_mask(tiny, trained):
    data, labels, selection = tiny
    _, resumed, _, _ = trained
    mean, stddev = training_statistics(data, selection)
    mask = selection == 1
    label_map = cnn.predict_scene(resumed.model, data, mean, stddev, 7, batch_size=10, classes=[4, 5, 6], mask=mask,
                                  chunk_batches=3)
    assert (label_map[~mask] == 0).all()
    np.testing.assert_array_equal(label_map, cnn.predict_scene(resumed.model, data, mean, stddev, 7, batch_size=10,
                                                               classes=[4, 5, 6], mask=mask, pipeline="tfdata"))
    padded = np.pad((data - mean) / stddev, ((3, 3), (3, 3), (0, 0)), mode="edge").astype(np.float32)
    rows, cols = np.nonzero(mask)
    direct = np.stack([padded[r:r + 7, c:c + 7] for r, c in zip(rows, cols)])[..., None]
    expected = np.array([4, 5, 6])[resumed.model.predict(direct, verbose=0).argmax(axis=1)]
    np.testing.assert_array_equal(label_map[rows, cols], expected)


@needs_tensorflow
def test_metrics_equal_scikit_learn_with_true_classes_in_rows():
    labels = np.array([[1, 1, 1, 2], [2, 3, 3, 0]])
    selection = np.array([[1, 1, 1, 1], [1, 1, 1, 1]])
    label_map = np.array([[1, 2, 2, 2], [2, 3, 1, 0]])
    report = cnn.evaluate_test(labels, selection, label_map, classes=[1, 2, 3])
    y_true, y_pred = labels[labels > 0], label_map[labels > 0]
    assert report["overall_accuracy"] == pytest.approx(accuracy_score(y_true, y_pred))
    assert report["kappa"] == pytest.approx(cohen_kappa_score(y_true, y_pred))
    np.testing.assert_allclose(report["per_class_f1"], f1_score(y_true, y_pred, average=None))
    np.testing.assert_array_equal(report["confusion"], confusion_matrix(y_true, y_pred))
    assert report["confusion"][0] == [1, 2, 0]  # true class 1: once right, twice called 2


@pytest.mark.parametrize("change, message", [
    ("selection_shape", "selection shape"),
    ("nan", "not finite"),
    ("even_window", "must be odd"),
    ("huge_window", "larger than the scene"),
    ("no_training_pixel", "class 3 has no training pixel"),
])
def test_check_inputs_rejects_bad_input(tiny, change, message):
    data, labels, selection = tiny
    data, selection, window_px = data.copy(), selection.copy(), 7
    if change == "selection_shape":
        selection = selection[:-1]
    elif change == "nan":
        data[3, 4, 5] = np.nan
    elif change == "even_window":
        window_px = 4
    elif change == "huge_window":
        window_px = 21
    else:
        selection[(labels == 3) & (selection == 2)] = 1
    with pytest.raises(ValueError, match=message):
        cnn.check_inputs(data, labels, selection, window_px)


@pytest.fixture
def files(tmp_path, tiny):
    data, labels, selection = tiny
    write_scene(tmp_path / "scene.h5", data, labels)
    mean, stddev = training_statistics(data, selection)
    write_selection(tmp_path / "split.h5", selection, mean, stddev, mode="random", seed=0, training_fraction=0.3,
                    removed_labels=[])
    return tmp_path, data, labels, selection, mean, stddev


@needs_tensorflow
def test_cli_trains_predicts_and_writes_the_results_layout(files):
    tmp_path, data, labels, selection, _, _ = files
    result = python_module("cnn.cli", "train", str(tmp_path / "scene.h5"), str(tmp_path / "split.h5"),
                           "--out", str(tmp_path / "run"), "--epochs", "1", "--batch", "32", "--window", "7",
                           "--verbose", "0", "--pipeline", "tfdata")
    assert result.returncode == 0, result.stderr
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    test = results["test"]
    assert {"overall_accuracy", "average_accuracy", "kappa", "f1_macro", "per_class_accuracy", "per_class_f1",
            "confusion"} <= set(test)
    assert test["n_samples"] == int(((selection == 1) & (labels > 0)).sum())
    assert results["split"]["mode"] == "random" and results["config"]["window_px"] == 7
    assert "OA" in (tmp_path / "run" / "results.txt").read_text()
    assert (tmp_path / "run" / "classification_map.png").stat().st_size > 1000
    label_map = np.load(tmp_path / "run" / "classification_map.npy")
    assert label_map.shape == labels.shape and (label_map > 0).all()  # whole scene predicted
    assert (tmp_path / "run" / "history.csv").read_text().startswith("epoch,")
    # TensorFlow's start-up log (oneDNN notice, "remapper failed" error line) stays off the terminal
    assert "oneDNN" not in result.stderr and "remapper" not in result.stderr, result.stderr
    assert "absl::InitializeLog" not in result.stderr, result.stderr


@pytest.mark.parametrize("case, fragments", [
    ("selection_shape", ["does not match the scene"]),
    ("even_window", ["window == 4, must be odd"]),
    ("huge_window", ["larger than the scene"]),
    ("no_training_pixel", ["class 2 has no training pixel"]),
    ("nan", ["not finite"]),
])
def test_cli_bad_input_is_one_line_without_traceback(files, capsys, in_process_cli, case, fragments):
    tmp_path, data, labels, selection, mean, stddev = files
    scene, split, window = tmp_path / "scene.h5", tmp_path / "split.h5", "7"
    if case == "selection_shape":
        write_selection(tmp_path / "bad.h5", selection[:, :-2], mean, stddev)
        split = tmp_path / "bad.h5"
    elif case == "even_window":
        window = "4"
    elif case == "huge_window":
        window = "21"
    elif case == "no_training_pixel":
        bad = selection.copy()
        bad[(labels == 2) & (bad == 2)] = 1
        write_selection(tmp_path / "bad.h5", bad, mean, stddev)
        split = tmp_path / "bad.h5"
    else:
        bad = data.astype(np.float64)
        bad[1, 1, 1] = np.nan
        with h5py.File(tmp_path / "nan.h5", "w") as h5:
            h5["data"] = bad
            h5["labels"] = labels
        scene = tmp_path / "nan.h5"
    one_line_error(capsys, in_process_cli.main, ["train", str(scene), str(split), "--out", str(tmp_path / "run"),
                                                 "--window", window, "--epochs", "1"], *fragments, prog="pisvm-cnn")
    assert not (tmp_path / "run").exists()


@pytest.fixture
def in_process_cli(monkeypatch):
    """The CLI run in this process: keep the TensorFlow log level it sets out of later tests' subprocesses."""
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3"))
    from cnn import cli

    return cli


@needs_tensorflow
def test_cli_predict_reloads_a_trained_model(files, trained, capsys, in_process_cli):
    tmp_path, data, labels, selection, _, _ = files
    cli = in_process_cli
    _, resumed, out, _ = trained

    with pytest.raises(SystemExit) as exit_info:
        cli.main(["predict", str(tmp_path / "scene.h5"), str(tmp_path / "split.h5"), str(out),
                  "--out", str(tmp_path / "eval"), "--map", "test", "--predict-batch", "64"])
    assert exit_info.value.code == 0, capsys.readouterr().err
    label_map = np.load(tmp_path / "eval" / "classification_map.npy")
    expected = cnn.predict_scene(resumed.model, data, resumed.mean, resumed.stddev, 7, classes=resumed.classes,
                                 mask=selection == 1)
    np.testing.assert_array_equal(label_map, expected)
    report = json.loads((tmp_path / "eval" / "results.json").read_text())["test"]
    assert report == json.loads(json.dumps(cnn.evaluate_test(labels, selection, expected, classes=resumed.classes)))
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["predict", str(tmp_path / "scene.h5"), str(tmp_path / "split.h5"), str(tmp_path),
                  "--out", str(tmp_path / "eval2")])
    assert exit_info.value.code == 2 and "not a pisvm-cnn train directory" in capsys.readouterr().err


@needs_tensorflow
def test_choose_strategy_uses_one_device_without_several_gpus_or_slurm_nodes(monkeypatch):
    import tensorflow as tf

    monkeypatch.delenv("SLURM_NTASKS", raising=False)
    if len(tf.config.list_physical_devices("GPU")) > 1:
        pytest.skip("several GPUs: auto picks MirroredStrategy")
    assert cnn.choose_strategy("auto").num_replicas_in_sync == 1
    with pytest.raises(ValueError, match="strategy 'bogus' not in"):
        cnn.choose_strategy("bogus")


@needs_tensorflow
def test_training_that_does_not_learn_is_reported(tiny):
    # a learning rate of 1e-12 leaves the weights as initialised: the loss cannot move
    data, labels, selection = tiny
    config = CNNConfig(window_px=7, epochs=4, batch_size=32, learning_rate=1e-12, validation_fraction=0)
    said = []
    result = cnn.train_model(data, labels, selection, config, collapse_patience=2, on_warning=said.append)
    assert said and said == list(result.warnings)
    assert any(message.startswith("epoch 3: the training loss has stayed at") for message in said), said
    with pytest.warns(cnn.ClassCollapseWarning, match="the training loss has stayed"):
        cnn.train_model(data, labels, selection, config.replace(epochs=3), collapse_patience=2)


@needs_tensorflow
def test_cli_prints_training_warnings_and_keeps_them_in_the_results(files, capsys, in_process_cli):
    tmp_path = files[0]
    cli = in_process_cli

    with pytest.raises(SystemExit) as exit_info:
        cli.main(["train", str(tmp_path / "scene.h5"), str(tmp_path / "split.h5"), "--out", str(tmp_path / "flat"),
                  "--epochs", "3", "--batch", "32", "--window", "7", "--verbose", "0", "--learning-rate", "1e-12",
                  "--collapse-patience", "2", "--map", "test"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 0, err
    assert "pisvm-cnn: warning: epoch 3: the training loss has stayed at" in err
    results = json.loads((tmp_path / "flat" / "results.json").read_text())
    assert any("training loss has stayed" in message for message in results["training_warnings"])


@needs_tensorflow
def test_tensorflow_log_level_set_by_the_user_is_kept(monkeypatch):
    from cnn.quiet import import_tensorflow_quietly

    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")
    assert import_tensorflow_quietly() is False
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0"
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL")
    assert import_tensorflow_quietly() is True
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "3"


@needs_tensorflow
def test_cli_names_a_collapse_shorter_than_the_detectors_patience(files, capsys, in_process_cli):
    tmp_path = files[0]
    with pytest.raises(SystemExit) as exit_info:
        in_process_cli.main(["train", str(tmp_path / "scene.h5"), str(tmp_path / "split.h5"), "--out",
                             str(tmp_path / "flat6"), "--epochs", "6", "--batch", "32", "--window", "7", "--verbose",
                             "0", "--learning-rate", "1e-12", "--map", "test"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 0, err
    assert "pisvm-cnn: warning: from epoch 1 to 6 (6 epochs) the training loss stayed at" in err
    results = json.loads((tmp_path / "flat6" / "results.json").read_text())
    assert any(message.startswith("from epoch 1 to 6") for message in results["training_warnings"])


@needs_tensorflow
def test_a_failed_start_leaves_no_config_or_classes_file(tiny, tmp_path, monkeypatch):
    import cnn.train

    def broken(*args, **kwargs):
        raise ValueError("no model today")

    monkeypatch.setattr(cnn.train, "build_standard_model", broken)
    data, labels, selection = tiny
    with pytest.raises(ValueError, match="no model today"):
        cnn.train_model(data, labels, selection, CNNConfig(window_px=7, epochs=1), out_dir=tmp_path / "run")
    assert not (tmp_path / "run" / "config.json").exists() and not (tmp_path / "run" / "classes.json").exists()


@needs_tensorflow
def test_tensorflow_start_up_log_is_quiet_whatever_the_users_log_level(tmp_path):
    import subprocess
    import sys

    from conftest import REPO

    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="0", PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, "-c", "from cnn.quiet import import_tensorflow_quietly as q; "
                             "assert q() is False"], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
