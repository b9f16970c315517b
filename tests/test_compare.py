"""pisvm-compare end to end on a tiny synthetic scene: report contents, same pixels, cache reuse, bad input."""

import dataclasses
import json

import numpy as np
import pytest

from conftest import assert_one_line_error, mpirun, python_module
from pisvm.scene import write_scene
from pisvm.selection import write_selection
from pisvm.synth import synthetic_scene

pytest.importorskip("tensorflow")

COMMON = ["-g", "1", "8", "-c", "10", "-v", "3", "--pca", "2", "--area", "10", "40", "--epochs", "2",
          "--batch", "32", "--window", "7"]


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scene")
    data, labels = synthetic_scene(28, 28, 40, 3, noise=0.08, random_state=2)
    write_scene(folder / "scene.h5", data, labels)
    return folder / "scene.h5", data, labels


@pytest.fixture(scope="module")
def first_run(scene, tmp_path_factory):
    out = tmp_path_factory.mktemp("compare") / "out"
    result = python_module("compare.cli", str(scene[0]), "--sampling", "random", "--fraction", "0.3",
                           "--seeds", "0", "1", *COMMON, "--out", str(out), timeout=600)
    assert result.returncode == 0, result.stderr
    return out, result


def test_report_contents(first_run, scene):
    out, result = first_run
    # TensorFlow's start-up log (oneDNN notice, "remapper failed" error line) stays off the terminal
    assert "oneDNN" not in result.stderr and "remapper" not in result.stderr, result.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["methods"] == ["svm-spectra", "svm-ap", "cnn"]
    assert [s["split"] for s in report["splits"]] == ["random-0.3-0", "random-0.3-1"]
    labels = scene[2]
    for split in report["splits"]:
        assert split["params"]["seed"] in (0, 1) and split["params"]["training_fraction"] == 0.3
        methods = split["methods"]
        assert len({m["test_pixels_sha256"] for m in methods.values()}) == 1
        assert len({m["train_pixels_sha256"] for m in methods.values()}) == 1
        for name, result in methods.items():
            test = result["test"]
            assert 0 <= test["overall_accuracy"] <= 1 and len(test["per_class_accuracy"]) == 3
            assert result["n_test"] == sum(map(sum, test["confusion"]))
            assert result["train_s"] > 0 and result["predict_s"] > 0
        assert set(methods["svm-ap"]["best_params"]) >= {"gamma", "C"}
        assert methods["svm-ap"]["n_features"] == 2 * 5
    summary = report["summary"]
    assert len(summary) == 3 and all(row["n_splits"] == 2 for row in summary)
    spectra = [s["methods"]["svm-spectra"]["test"]["overall_accuracy"] for s in report["splits"]]
    row = next(r for r in summary if r["method"] == "svm-spectra")
    assert row["overall_accuracy_mean"] == pytest.approx(np.mean(spectra))
    assert row["overall_accuracy_std"] == pytest.approx(np.std(spectra))
    markdown = (out / "report.md").read_text()
    assert "## Overall accuracy (%) by sampling mode" in markdown and "| svm-ap |" in markdown
    for tag in ("random-0.3-0", "random-0.3-1"):
        assert (out / f"maps-{tag}.png").read_bytes()[:4] == b"\x89PNG"
    # The test pixels are the split's test pixels, and the SVM's scores match its saved map.
    split = report["splits"][0]
    result_dir = next((out / "random-0.3-0").glob("svm-spectra-*"))
    label_map = np.load(result_dir / "label_map.npy")
    from pisvm.selection import read_selection

    selection, _ = read_selection(out / "splits" / "random-0.3-0.h5")
    test = selection == 1
    assert split["methods"]["svm-spectra"]["test"]["overall_accuracy"] == np.mean(label_map[test] == labels[test])


def test_second_run_reuses_the_cache(first_run, scene):
    out, _ = first_run
    results = sorted(out.glob("random-0.3-*/*/result.json"))
    before = {path: path.stat().st_mtime_ns for path in results}
    again = python_module("compare.cli", str(scene[0]), "--sampling", "random", "--fraction", "0.3",
                          "--seeds", "0", "1", *COMMON, "--out", str(out), timeout=600)
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("(cached)") == 6
    assert {path: path.stat().st_mtime_ns for path in results} == before
    # One more method option redoes only that method.
    more = python_module("compare.cli", str(scene[0]), "--sampling", "random", "--fraction", "0.3", "--seeds", "0",
                         *COMMON[:-6], "--epochs", "3", "--batch", "32", "--window", "7", "--out", str(out),
                         timeout=600)
    assert more.returncode == 0, more.stderr
    assert more.stdout.count("(cached)") == 2 and "cnn: OA" in more.stdout


@pytest.mark.mpi
def test_mpi_svm_equals_serial(first_run, scene, tmp_path):
    out = tmp_path / "mpi"
    result = mpirun(2, "compare.cli", str(scene[0]), "--sampling", "random", "--fraction", "0.3", "--seeds", "0",
                    "--methods", "svm-spectra", *COMMON, "--out", str(out), timeout=300)
    assert result.returncode == 0, result.stderr
    serial = json.loads((first_run[0] / "report.json").read_text())["splits"][0]["methods"]["svm-spectra"]
    parallel = json.loads((out / "report.json").read_text())["splits"][0]["methods"]["svm-spectra"]
    assert parallel["grid"] == serial["grid"]
    assert parallel["test"]["confusion"] == serial["test"]["confusion"]


def test_bad_input_leaves_the_cache_intact(first_run, scene, tmp_path):
    out, _ = first_run
    files_before = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    other = tmp_path / "other.h5"
    write_selection(other, np.ones((10, 10), dtype=np.int8), np.zeros(40), np.ones(40))
    assert_one_line_error(python_module("compare.cli", str(scene[0]), "--split", str(other), "--out", str(out)),
                          "does not match the scene's (28, 28)")
    data, labels = scene[1], scene[2]
    moved = np.ones(labels.shape, dtype=np.int8)  # selects unlabelled pixels too
    write_selection(tmp_path / "moved.h5", moved * 2 - (np.arange(labels.size).reshape(labels.shape) % 2),
                    np.zeros(40), np.ones(40))
    assert_one_line_error(python_module("compare.cli", str(scene[0]), "--split", str(tmp_path / "moved.h5"),
                                        "--out", str(out)), "unlabelled in this scene")
    write_scene(tmp_path / "nolabels.h5", data, np.zeros_like(labels))
    assert_one_line_error(python_module("compare.cli", str(tmp_path / "nolabels.h5"), "--out", str(out)),
                          "no labelled pixel")
    assert_one_line_error(python_module("compare.cli", str(scene[0]), "--methods", "random-forest",
                                        "--out", str(out)), "random-forest")
    write_scene(tmp_path / "another.h5", data + 1, labels)
    assert_one_line_error(python_module("compare.cli", str(tmp_path / "another.h5"), "--out", str(out)),
                          "caches a comparison of another scene")
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == files_before


def test_report_shows_the_cnn_training_warnings():
    from compare.pipeline import CompareOptions
    from compare.report import markdown

    test = {"overall_accuracy": 0.9, "average_accuracy": 0.8, "kappa": 0.85, "labels": [1, 2],
            "per_class_accuracy": [0.0, 1.0]}
    result = {"test": test, "best_params": {"epochs": 600}, "train_s": 1.0, "predict_s": 1.0, "n_train": 10,
              "n_test": 90, "training_warnings": ["epoch 50: class 1 has had no correct training prediction "
                                                  "for 25 epochs; try --loss categorical_crossentropy"]}
    row = {"mode": "random", "fraction": 0.1, "method": "cnn", "n_splits": 1, "train_s": 1.0, "predict_s": 1.0,
           **{f"{metric}_{stat}": 0.5 for metric in ("overall_accuracy", "average_accuracy", "kappa")
              for stat in ("mean", "std")}}
    document = {"scene": "s.h5", "methods": ["cnn"], "options": dataclasses.asdict(CompareOptions()),
                "summary": [row], "splits": [{"split": "random-0.1-0", "params": {"mode": "random"},
                                              "methods": {"cnn": result}}]}
    text = markdown(document)
    assert "**Training warnings**" in text
    assert "- cnn: epoch 50: class 1 has had no correct training prediction for 25 epochs" in text
    del result["training_warnings"]
    assert "Training warnings" not in markdown(document)
