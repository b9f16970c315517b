"""pisvm-compare end to end on a tiny synthetic scene: report contents, same pixels, cache reuse, bad input."""

import dataclasses
import json
import os
import sys

import numpy as np
import pytest

from conftest import mpirun, one_line_error, python_module, run_command, run_main
from pisvm.data.scene import write_scene
from pisvm.data.selection import write_selection
from pisvm.data.synth import synthetic_scene
from pisvm.results.report import best_cell

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
    pytest.importorskip("tensorflow")  # the cnn method; the svm-only tests below run without it
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
    assert report["methods"] == ["svm-spectra", "svm-ap", "svm-sdap", "cnn"]
    assert [s["split"] for s in report["splits"]] == ["random-0.3-0", "random-0.3-1"]
    labels = scene[2]
    for split in report["splits"]:
        assert split["params"]["seed"] in (0, 1) and split["params"]["training_fraction"] == 0.3
        methods = split["methods"]
        assert len({m["test_pixels_sha256"] for m in methods.values()}) == 1
        assert len({m["train_pixels_sha256"] for m in methods.values()}) == 1
        for result in methods.values():
            test = result["test"]
            assert 0 <= test["overall_accuracy"] <= 1 and len(test["per_class_accuracy"]) == 3
            assert result["n_test"] == sum(map(sum, test["confusion"]))
            assert result["train_s"] > 0 and result["predict_s"] > 0
        assert set(methods["svm-ap"]["best_params"]) >= {"gamma", "C"}
        for name in ("svm-spectra", "svm-ap"):  # the grid's one best-cell rule
            best = best_cell(methods[name]["grid"])
            assert (best["gamma"], best["C"]) == (methods[name]["best_params"]["gamma"],
                                                  methods[name]["best_params"]["C"])
        assert methods["svm-ap"]["n_features"] == 2 * 5
        assert methods["svm-sdap"]["n_features"] == 2 * 3   # per component: the component, 2 filters
    summary = report["summary"]
    assert len(summary) == 4 and all(row["n_splits"] == 2 for row in summary)
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
    from pisvm.data.selection import read_selection

    selection, _ = read_selection(out / "splits" / "random-0.3-0.h5")
    test = selection == 1
    assert split["methods"]["svm-spectra"]["test"]["overall_accuracy"] == np.mean(label_map[test] == labels[test])


def test_second_run_reuses_the_cache(first_run, scene, capsys, monkeypatch):
    from compare.cli import main

    # In-process: keep the TensorFlow log level the cnn method sets out of later tests' subprocesses.
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3"))
    out, _ = first_run
    results = sorted(out.glob("random-0.3-*/*/result.json"))
    before = {path: path.stat().st_mtime_ns for path in results}
    status, stdout, err = run_main(capsys, main, [str(scene[0]), "--sampling", "random", "--fraction", "0.3",
                                                  "--seeds", "0", "1", *COMMON, "--out", str(out)])
    assert status == 0, err
    assert stdout.count("(cached)") == 8   # 2 splits x 4 methods
    assert {path: path.stat().st_mtime_ns for path in results} == before
    # One more method option redoes only that method.
    status, stdout, err = run_main(capsys, main, [str(scene[0]), "--sampling", "random", "--fraction", "0.3",
                                                  "--seeds", "0", *COMMON[:-6], "--epochs", "3", "--batch", "32",
                                                  "--window", "7", "--out", str(out)])
    assert status == 0, err
    assert stdout.count("(cached)") == 3 and "cnn: OA" in stdout


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


def test_bad_input_leaves_the_cache_intact(first_run, scene, tmp_path, capsys):
    from compare.cli import main

    def refused(argv, fragment):
        one_line_error(capsys, main, [*argv, "--out", str(out)], fragment, prog="pisvm-compare")

    out, _ = first_run
    files_before = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    other = tmp_path / "other.h5"
    write_selection(other, np.ones((10, 10), dtype=np.int8), np.zeros(40), np.ones(40))
    refused([str(scene[0]), "--split", str(other)], "does not match the scene's (28, 28)")
    data, labels = scene[1], scene[2]
    moved = np.ones(labels.shape, dtype=np.int8)  # selects unlabelled pixels too
    write_selection(tmp_path / "moved.h5", moved * 2 - (np.arange(labels.size).reshape(labels.shape) % 2),
                    np.zeros(40), np.ones(40))
    refused([str(scene[0]), "--split", str(tmp_path / "moved.h5")], "unlabelled in this scene")
    write_scene(tmp_path / "nolabels.h5", data, np.zeros_like(labels))
    refused([str(tmp_path / "nolabels.h5")], "no labelled pixel")
    refused([str(scene[0]), "--methods", "random-forest"], "random-forest")
    write_scene(tmp_path / "another.h5", data + 1, labels)
    refused([str(tmp_path / "another.h5")], "caches a comparison of another scene")
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == files_before


SVM_ONLY = ["--methods", "svm-spectra", "-g", "1", "8", "-c", "10", "-v", "3"]


@pytest.fixture(scope="module")
def svm_run(scene, tmp_path_factory):
    """A finished svm-spectra run whose journal the error cases below damage (in-process)."""
    from compare.cli import main

    out = tmp_path_factory.mktemp("svm") / "out"
    with pytest.raises(SystemExit) as exit_info:
        main([str(scene[0]), "--sampling", "random", "--fraction", "0.3", *SVM_ONLY, "--out", str(out)])
    assert exit_info.value.code in (0, None)
    return out


def _mpi_rerun(scene, svm_run, tmp_path, damage=None, script=None):
    """Copy the run, drop its cached result, ``damage(journal)``, run it again on 2 ranks.

    Returns the CompletedProcess and the lines of stderr that report an error of pisvm-compare.
    """
    import shutil

    out = tmp_path / "out"
    shutil.copytree(svm_run, out)
    journal = next(out.glob("random-0.3-0/svm-spectra-*/journal.jsonl"))
    (journal.parent / "result.json").unlink()
    if damage is not None:
        damage(journal)
    args = [str(scene[0]), "--sampling", "random", "--fraction", "0.3", *SVM_ONLY, "--out", str(out)]
    if script is None:
        result = mpirun(2, "compare.cli", *args, timeout=120)
    else:
        launcher = shutil.which("mpirun")
        result = run_command([launcher, "--oversubscribe", "-n", "2", "-x", "PYTHONPATH", sys.executable,
                              str(script), *args], timeout=120)
    return result, [line for line in result.stderr.splitlines() if "pisvm-compare: error" in line]


def _other_header(journal):
    lines = journal.read_text().splitlines()
    header = json.loads(lines[0])
    header["folds"] = 5
    journal.write_text("\n".join([json.dumps(header)] + lines[1:]) + "\n")


def _damaged_line(journal):
    lines = journal.read_text().splitlines()
    lines[2] = lines[2][: len(lines[2]) // 2]
    journal.write_text("\n".join(lines) + "\n")


def _drop_units(journal):
    journal.write_text("\n".join(journal.read_text().splitlines()[:2]) + "\n")


def _folder_is_a_file(journal):
    import shutil

    folder = journal.parent
    shutil.rmtree(folder)
    folder.write_text("not a folder")


@pytest.mark.mpi
@pytest.mark.parametrize("damage, fragment", [(_other_header, "cannot resume, folds differs"),
                                              (_damaged_line, "journal.jsonl:3: damaged journal line"),
                                              (_folder_is_a_file, "svm-spectra-")])
def test_mpi_error_on_rank_0_before_the_grid_ends_every_rank(scene, svm_run, tmp_path, damage, fragment):
    result, errors = _mpi_rerun(scene, svm_run, tmp_path, damage)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert len(errors) == 1 and fragment in errors[0], result.stderr


@pytest.mark.mpi
@pytest.mark.parametrize("failure, fragment", [
    (("import pisvm.grid.journal as j\n"
      "def full(self, record):\n"
      "    raise OSError(28, 'No space left on device')\n"
      "j.Journal.append = full\n"), "error in rank 0 of 2 on {host}: [Errno 28] No space left on device"),
    (("import pisvm.svm.backends as b\n"
      "def boom(*a, **k):\n"
      "    raise RuntimeError('solver exploded')\n"
      "b.LibsvmBackend.fit_predict = boom\n"
      "import pisvm.grid.chains as c\n"
      "c.PisvmSolver.solve_pair = boom\n"), "error in rank 0 of 2 on {host}: RuntimeError: solver exploded"),
])
def test_mpi_error_on_rank_0_inside_the_grid_aborts_the_job(scene, svm_run, tmp_path, failure, fragment):
    import socket

    script = tmp_path / "fail.py"
    script.write_text("import sys\nfrom mpi4py import MPI\n"
                      "if MPI.COMM_WORLD.rank == 0:\n" + "".join("    " + line + "\n" for line in failure.splitlines())
                      + "from compare.cli import main\nmain(sys.argv[1:])\n")
    result, errors = _mpi_rerun(scene, svm_run, tmp_path, _drop_units, script=script)
    assert result.returncode != 0
    # A bug (RuntimeError) gets its traceback after the line; bad input and a full disk do not.
    assert ("Traceback" in result.stderr) == ("RuntimeError" in fragment), result.stderr
    assert len(errors) == 1 and fragment.format(host=socket.gethostname()) in errors[0], result.stderr


def test_cache_is_keyed_by_the_split_content_not_its_name(scene, tmp_path, capsys):
    from compare.cli import main
    from pisvm.data.sampling import make_selection, training_statistics

    data, labels = scene[1], scene[2]
    for folder, seed in (("A", 0), ("B", 1)):
        selection, attrs = make_selection(labels, "random", 0.3, random_state=seed)
        (tmp_path / folder).mkdir()
        write_selection(tmp_path / folder / "sp.h5", selection, *training_statistics(data, selection), **attrs)
    out = tmp_path / "out"

    def compare(folder, *methods):
        status, stdout, err = run_main(capsys, main, [str(scene[0]), "--split", str(tmp_path / folder / "sp.h5"),
                                                      *SVM_ONLY[2:], "--methods", *methods, "--out", str(out)])
        assert status == 0, err
        return stdout, json.loads((out / "report.json").read_text())["splits"][0]["methods"]

    _, first = compare("A", "svm-spectra")
    again, second = compare("B", "svm-spectra")
    assert "(cached)" not in again
    from pisvm.data.selection import read_selection

    selection_b, _ = read_selection(tmp_path / "B" / "sp.h5")
    assert second["svm-spectra"]["n_train"] == int(np.sum(selection_b == 2))
    assert second["svm-spectra"]["train_pixels_sha256"] != first["svm-spectra"]["train_pixels_sha256"]
    more, third = compare("B", "svm-spectra", "svm-ap")
    assert more.count("(cached)") == 1
    assert third["svm-spectra"] == second["svm-spectra"]


@pytest.mark.parametrize("extra, fragment", [
    (["--methods", "svm-spectra", "cnn", "--window", "5"], "window_px == 5, must be >= 7"),
    (["--methods", "svm-spectra", "svm-ap", "--pca", "41"], "pca == 41, must be in [1, 40]"),
])
def test_every_option_is_checked_before_the_first_method(scene, tmp_path, capsys, extra, fragment):
    from compare.cli import main

    out = tmp_path / "out"
    args = [str(scene[0]), "--sampling", "random", "--fraction", "0.3", *SVM_ONLY[2:], *extra, "--out", str(out)]
    one_line_error(capsys, main, args, fragment, prog="pisvm-compare")
    assert not list(out.rglob("result.json")) and not list(out.rglob("journal.jsonl"))


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


def test_folds_are_checked_against_the_split_before_anything_is_written(scene, tmp_path, capsys):
    from compare.cli import main
    from conftest import one_line_error

    out = tmp_path / "out"
    one_line_error(capsys, main, [str(scene[0]), "--sampling", "random", "--fraction", "0.1", "--methods",
                                  "svm-spectra", "-g", "1", "-c", "1", "-v", "50", "--out", str(out)],
                   "split random-0.1-0: -v 50 folds, but its largest class has only", "training pixels",
                   prog="pisvm-compare")
    assert not out.exists()


def test_report_tables_show_the_svm_model_selection_beside_the_final_fit():
    from compare.pipeline import CompareOptions
    from compare.report import markdown, summarize

    test = {"overall_accuracy": 0.9, "average_accuracy": 0.8, "kappa": 0.85, "labels": [1, 2],
            "per_class_accuracy": [0.5, 1.0]}
    svm = {"test": test, "best_params": {"gamma": 1.0, "C": 10.0}, "model_selection_s": 1.95, "train_s": 0.03,
           "predict_s": 0.5, "n_train": 10, "n_test": 90}
    cnn = {"test": test, "best_params": {"epochs": 20}, "train_s": 188.0, "predict_s": 2.0, "n_train": 10,
           "n_test": 90}
    split = {"split": "random-0.1-0", "params": {"mode": "random", "training_fraction": 0.1},
             "methods": {"svm-spectra": svm, "cnn": cnn}}
    rows = summarize([split], ["svm-spectra", "cnn"])
    assert rows[0]["model_selection_s"] == 1.95 and rows[1]["model_selection_s"] is None
    document = {"scene": "s.h5", "methods": ["svm-spectra", "cnn"], "options": dataclasses.asdict(CompareOptions()),
                "summary": rows, "splits": [split]}
    text = markdown(document)
    assert "| model selection s | train s | predict s |" in text
    assert "| 1.95 | 0.03 | 0.50 |" in text and "| - | 188.00 | 2.00 |" in text
    assert text.count("model selection s") == 2


def test_compare_names_a_cnn_collapse_and_a_class_never_predicted(scene, tmp_path, capsys, monkeypatch):
    import compare.pipeline as pipeline
    from pisvm.data.sampling import random_selection

    _, data, labels = scene
    history = {"loss": [0.5] + [0.2384] * 6, "accuracy": [0.4] + [0.2848] * 6}

    def collapsed_cnn(data, labels, selection, info, options, folder):  # predicts class 1 everywhere
        return ({"best_params": {"epochs": 7}, "train_s": 1.0, "predict_s": 1.0, "training_warnings": [],
                 "history": history}, np.ones(labels.shape, dtype=labels.dtype))

    monkeypatch.setattr(pipeline, "run_cnn", collapsed_cnn)
    selection = random_selection(labels, 0.3, random_state=0)
    result, _ = pipeline.run_method("cnn", pipeline.SplitSpec(mode="random", fraction=0.3, seed=0), selection,
                                    {"sha256": "0" * 64}, data, labels, pipeline.CompareOptions(), str(tmp_path))
    err = capsys.readouterr().err
    assert "pisvm-compare: warning: cnn: from epoch 2 to 7 (6 epochs) the training loss stayed at 0.2384" in err
    assert "pisvm-compare: warning: cnn: class 2: none of its" in err
    assert "history" not in result
    assert [m.split(":")[0] for m in result["training_warnings"]] == ["from epoch 2 to 7 (6 epochs) the training "
                                                                      "loss stayed at 0.2384 and the training "
                                                                      "accuracy at 0.2848", "class 2", "class 3"]
