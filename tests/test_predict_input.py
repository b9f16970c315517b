"""pisvm-predict on test files and scenes that do not match the model (in-process; mpirun where ranks are the point)."""

import numpy as np
import pytest

from conftest import mpirun, one_line_error
from pisvm.data.libsvm import write_libsvm
from pisvm.data.ranges import scale_features, write_ranges
from pisvm.data.scene import write_scene
from pisvm.svm.model import SVMModel
from pisvm.svm.predict import predict
from pisvm.svm.train import svc


def predict_main(argv):
    from pisvm.cli.predict import main

    main(argv)


@pytest.fixture
def model_3(tmp_path):
    """An RBF model of 3 features (60 samples, 2 classes) at tmp_path/model; returns it."""
    rng = np.random.RandomState(0)
    X, y = rng.rand(60, 3), np.repeat([1, 2], 30)
    model = SVMModel.from_svc(svc(gamma=1.0, C=1.0).fit(X, y))
    model.write(tmp_path / "model")
    assert model.n_features == 3
    return model


def _labels(path):
    return np.loadtxt(path, ndmin=1)


def test_a_huge_feature_index_counts_as_svm_predict_counts_it_without_allocating(tmp_path, model_3, capsys):
    rng = np.random.RandomState(1)
    X = rng.rand(50, 4)
    X[:, 3] *= 3  # a 4th feature the model never saw: 0 in every SV, still part of |x - sv|^2 (svm-predict)
    y = np.repeat([1, 2], 25)
    write_libsvm(tmp_path / "near.el", X, y)
    (tmp_path / "far.el").write_text("".join(
        f"{label} 1:{a:.17g} 2:{b:.17g} 3:{c:.17g} 1000000000:{d:.17g}\n" for label, (a, b, c, d) in zip(y, X)))
    for name in ("near", "far"):
        with pytest.raises(SystemExit) as exit_info:
            predict_main([str(tmp_path / f"{name}.el"), str(tmp_path / "model"), str(tmp_path / f"{name}.pred"),
                          "--chunk-mb", "4", "-q"])
        assert exit_info.value.code == 0
    expected = predict(model_3, X)
    np.testing.assert_array_equal(_labels(tmp_path / "near.pred"), expected)
    np.testing.assert_array_equal(_labels(tmp_path / "far.pred"), expected)
    assert "feature indices up to 1000000000" in capsys.readouterr().err


def _scene(tmp_path, n_bands, n_rows=4):
    rng = np.random.RandomState(2)
    write_scene(tmp_path / "scene.h5", rng.rand(n_rows, 5, n_bands), rng.randint(1, 3, (n_rows, 5)))
    return str(tmp_path / "scene.h5")


@pytest.mark.parametrize("n_bands", [2, 4, 12])
def test_a_scene_with_another_band_count_names_both_numbers(tmp_path, model_3, capsys, n_bands):
    scene = _scene(tmp_path, n_bands)
    one_line_error(capsys, predict_main, [scene, str(tmp_path / "model"), str(tmp_path / "map.h5")],
                   f"{scene}: {n_bands} features (bands)", "the model", "3 features", prog="pisvm-predict")
    assert not (tmp_path / "map.h5").exists()


def test_a_range_file_for_another_number_of_features_is_refused(tmp_path, model_3, capsys):
    scene = _scene(tmp_path, 3)
    write_ranges(tmp_path / "r", 0.0, 1.0, np.zeros(5), np.ones(5))
    one_line_error(capsys, predict_main, [scene, str(tmp_path / "model"), str(tmp_path / "map.h5"),
                                          "--range", str(tmp_path / "r")],
                   f"{tmp_path / 'r'}", "feature 5", "3 features", prog="pisvm-predict")


def test_scaling_zero_rows_gives_zero_rows():
    out = scale_features(np.zeros((0, 3)), 0.0, 1.0, {0: (0.0, 2.0), 2: (1.0, 3.0)})
    assert out.shape == (0, 3)


@pytest.mark.mpi
def test_range_with_more_ranks_than_image_rows(tmp_path, model_3):
    scene = _scene(tmp_path, 3, n_rows=2)
    write_ranges(tmp_path / "r", 0.0, 1.0, np.zeros(3), np.ones(3))
    result = mpirun(3, "pisvm.cli.predict", scene, str(tmp_path / "model"), str(tmp_path / "map.h5"),
                    "--range", str(tmp_path / "r"), "-q")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "map.h5").exists()


@pytest.mark.parametrize("output", ["-", "/dev/null"])
def test_a_scene_map_is_not_written_to_a_stream(tmp_path, model_3, capsys, output):
    scene = _scene(tmp_path, 3)
    one_line_error(capsys, predict_main, [scene, str(tmp_path / "model"), output],
                   f"{output}: a scene's map is an HDF5 file and a PNG beside it", prog="pisvm-predict")
