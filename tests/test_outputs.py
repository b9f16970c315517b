"""Output rules of every command: links followed, streams written directly, outputs never equal to inputs.

In-process: each test calls a console script's ``main([...])`` (or :func:`pisvm.cli.common.run`).
"""

import errno
import os
import signal
import stat
import threading
import warnings

import numpy as np
import pytest
import scipy.io

from conftest import one_line_error
from pisvm.data.libsvm import write_libsvm
from pisvm.data.scene import write_scene
from pisvm.svm.model import SVMModel
from pisvm.svm.train import svc


def data_main(argv):
    from pisvm.cli.data import main

    main(argv)


def predict_main(argv):
    from pisvm.cli.predict import main

    main(argv)


def train_main(argv):
    from pisvm.cli.train import main

    main(argv)


def features_main(argv):
    from features.cli import main

    main(argv)


def split_main(argv):
    from pisvm.cli.split import main

    main(argv)


def _leftovers(folder):
    return sorted(name for name in os.listdir(folder) if ".tmp" in name)


@pytest.fixture
def files(tmp_path, small_problem):
    """train.el, test.el (small_problem) and train.el.model in tmp_path."""
    X, y = small_problem
    write_libsvm(tmp_path / "train.el", X[:120], y[:120])
    write_libsvm(tmp_path / "test.el", X[120:], y[120:])
    SVMModel.from_svc(svc(gamma=4.0, C=10.0).fit(X[:120], y[:120])).write(tmp_path / "train.el.model")
    return tmp_path


def _run_ok(main, argv):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 0


# -- links, streams, devices --------------------------------------------------------------------------------------

def test_a_symbolic_link_is_followed_and_stays_a_link(files):
    (files / "real").mkdir()
    (files / "real" / "t").write_text("")
    os.symlink(files / "real" / "t", files / "l.pred")
    _run_ok(predict_main, [str(files / "test.el"), str(files / "train.el.model"), str(files / "l.pred"), "-q"])
    assert os.path.islink(files / "l.pred")
    assert len((files / "real" / "t").read_text().splitlines()) == 40
    assert _leftovers(files) == [] and _leftovers(files / "real") == []


def test_a_fifo_is_written_to_not_replaced(files):
    fifo = files / "labels.fifo"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(open(fifo, "rb").read()), daemon=True)
    reader.start()
    _run_ok(predict_main, [str(files / "test.el"), str(files / "train.el.model"), str(fifo), "-q"])
    reader.join(timeout=30)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert len(received[0].decode().splitlines()) == 40


def test_a_character_device_is_written_to_not_replaced(tmp_path):
    null = tmp_path / "null"
    try:
        os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a private /dev/null
    except PermissionError:
        pytest.skip("mknod needs root")
    _run_ok(data_main, ["synth", "problem", "--scale", "0.01", "--out", str(null)])
    assert stat.S_ISCHR(os.lstat(null).st_mode)
    assert _leftovers(tmp_path) == []


def test_dev_paths_and_dash_are_streams(tmp_path):
    from pisvm.data.atomic import is_stream

    assert is_stream("-") and is_stream("/dev/null") and is_stream("/dev/stdout")
    assert not is_stream(tmp_path / "x.el") and not is_stream("/dev/shm/x.el")


def test_dash_is_standard_output_and_the_summary_goes_to_stderr(files, capsys, monkeypatch):
    monkeypatch.chdir(files)
    _run_ok(data_main, ["scale", str(files / "train.el"), "--out", "-"])
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert len(lines) == 120 and all(line.split()[0] in "1234" for line in lines)
    assert "samples scaled" in captured.err
    assert not os.path.exists("-")


# -- outputs equal to inputs or to each other -----------------------------------------------------------------------

def test_import_refuses_out_equal_to_the_cube(tmp_path, capsys):
    cube, gt = tmp_path / "cube.mat", tmp_path / "gt.mat"
    scipy.io.savemat(cube, {"cube": np.ones((3, 4, 5))})
    scipy.io.savemat(gt, {"gt": np.ones((3, 4), dtype=np.uint8)})
    before = cube.read_bytes()
    one_line_error(capsys, data_main, ["import", str(cube), str(gt), "--out", str(cube)],
                   f"output {cube} is the same file as the input {cube}", prog="pisvm-data")
    assert cube.read_bytes() == before


def test_scale_refuses_out_equal_to_its_input_also_through_a_link(files, capsys):
    data = files / "train.el"
    before = data.read_bytes()
    one_line_error(capsys, data_main, ["scale", str(data), "--out", str(data)], "same file", prog="pisvm-data")
    os.symlink(data, files / "alias.el")
    one_line_error(capsys, data_main, ["scale", str(data), "--out", str(files / "alias.el")],
                   f"output {files / 'alias.el'} is the same file as the input {data}")
    os.link(data, files / "hard.el")
    one_line_error(capsys, data_main, ["scale", str(data), "--out", str(files / "hard.el")], "same file")
    assert data.read_bytes() == before


def test_scale_refuses_the_range_file_equal_to_the_output(files, capsys):
    same = files / "same"
    one_line_error(capsys, data_main, ["scale", str(files / "train.el"), "-s", str(same), "--out", str(same)],
                   f"output {same} is the same file as the output {same}", prog="pisvm-data")
    assert not same.exists()


def test_predict_refuses_the_report_equal_to_the_labels_and_the_output_equal_to_the_model(files, capsys):
    test, model = str(files / "test.el"), str(files / "train.el.model")
    one_line_error(capsys, predict_main, [test, model, str(files / "o"), "--report", str(files / "o")],
                   "same file", prog="pisvm-predict")
    assert not (files / "o").exists()
    before = (files / "train.el.model").read_bytes()
    one_line_error(capsys, predict_main, [test, model, model], f"output {model} is the same file as the input "
                   f"{model}", prog="pisvm-predict")
    assert (files / "train.el.model").read_bytes() == before


def test_train_refuses_the_model_equal_to_the_training_file(files, capsys):
    before = (files / "train.el").read_bytes()
    one_line_error(capsys, train_main, [str(files / "train.el"), str(files / "train.el")], "same file",
                   prog="pisvm-train")
    assert (files / "train.el").read_bytes() == before


def test_features_refuses_the_hdf5_equal_to_a_libsvm_file(tmp_path, capsys):
    rng = np.random.RandomState(0)
    write_scene(tmp_path / "scene.h5", rng.rand(6, 7, 3), rng.randint(0, 3, (6, 7)))
    x = tmp_path / "x"
    one_line_error(capsys, features_main, ["sdap", str(tmp_path / "scene.h5"), "--panchromatic", "--area", "2",
                                           "--out", f"{x}.libsvm", "--libsvm", str(x)],
                   f"output {x}.libsvm is the same file as the output {x}.libsvm", prog="pisvm-features")
    assert not os.path.exists(f"{x}.libsvm")


def test_check_outputs_allows_several_outputs_on_one_character_device():
    from pisvm.data.atomic import check_outputs

    check_outputs(["/dev/null", "/dev/null"], [])


# -- all of a command's outputs or none ---------------------------------------------------------------------------

def _disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_scale_writes_neither_file_when_the_range_file_fails(files, capsys, monkeypatch):
    monkeypatch.setattr(os, "fsync", _disk_full)  # the range file is flushed to disk, the data file is not
    one_line_error(capsys, data_main, ["scale", str(files / "train.el"), "-s", str(files / "range"),
                                       "--out", str(files / "scaled.el")], "No space", str(files / "range"))
    assert not (files / "scaled.el").exists() and not (files / "range").exists()
    assert _leftovers(files) == []


def test_predict_writes_no_labels_when_the_report_fails(files, capsys, monkeypatch):
    monkeypatch.setattr(os, "fsync", _disk_full)  # the report is flushed to disk, the labels are not
    one_line_error(capsys, predict_main, [str(files / "test.el"), str(files / "train.el.model"),
                                          str(files / "labels"), "--report", str(files / "r.json"), "-q"],
                   "No space", str(files / "r.json"))
    assert not (files / "labels").exists() and not (files / "r.json").exists()
    assert _leftovers(files) == []


def test_split_writes_no_file_when_a_later_split_fails(tmp_path, capsys, monkeypatch):
    import pisvm.data.sampling

    rng = np.random.RandomState(0)
    write_scene(tmp_path / "scene.h5", rng.rand(8, 8, 3), rng.randint(1, 3, (8, 8)))
    original, calls = pisvm.data.sampling.make_selection, []

    def second_fails(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            _disk_full()
        return original(*args, **kwargs)

    monkeypatch.setattr(pisvm.data.sampling, "make_selection", second_fails)
    one_line_error(capsys, split_main, [str(tmp_path / "scene.h5"), "--seed", "0", "1", "--no-plot",
                                        "--out", str(tmp_path / "splits")], "No space")
    assert os.listdir(tmp_path / "splits") == []


def test_a_full_disk_names_the_users_path_not_the_temporary_file(files, capsys, monkeypatch):
    import pisvm.data.libsvm

    def full(X, y, f, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", f)

    monkeypatch.setattr(pisvm.data.libsvm, "dump_svmlight_file", full)
    line = one_line_error(capsys, data_main, ["scale", str(files / "train.el"), "--out", str(files / "s.el")],
                          "No space left on device", str(files / "s.el"))
    assert ".tmp" not in line and "pisvm-" not in line.split("error:")[1]


# -- SIGTERM ------------------------------------------------------------------------------------------------------

def test_sigterm_removes_temporary_files_and_restores_the_handler(tmp_path, capsys):
    from pisvm.cli.common import run
    from pisvm.data.atomic import atomic_paths

    def main(argv):
        with atomic_paths(tmp_path / "a.el", tmp_path / "b.range") as (a, b):
            open(a, "w").write("partial")
            os.kill(os.getpid(), signal.SIGTERM)

    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(SystemExit) as exit_info:
        run(main, "prog", [])
    assert exit_info.value.code == 143
    assert "prog: terminated" in capsys.readouterr().err
    assert os.listdir(tmp_path) == []
    assert signal.getsignal(signal.SIGTERM) is before


def test_run_restores_the_warning_format(capsys, monkeypatch):
    from pisvm.cli.common import run

    def before(*args, **kwargs):
        return "the caller's format\n"

    monkeypatch.setattr(warnings, "formatwarning", before)
    with pytest.raises(SystemExit):
        run(lambda argv: 0, "prog", [])
    assert warnings.formatwarning is before


def test_grid_refuses_an_output_folder_whose_result_file_is_an_input(tmp_path, capsys):
    from pisvm.cli.grid import main as grid_main

    out = tmp_path / "out"
    out.mkdir()
    train = out / "grid.csv"  # the file the grid's CSV would replace
    text = "".join(f"{1 + i % 2} 1:{i / 20:.2f} 2:{(i * 7 % 20) / 20:.2f}\n" for i in range(20))
    train.write_text(text)
    one_line_error(capsys, grid_main, [str(train), "-g", "1", "-c", "1", "-v", "2", "-q", "--out", str(out)],
                   f"output {out / 'grid.csv'} is the same file as the input {train}", prog="pisvm-grid")
    assert train.read_text() == text and sorted(p.name for p in out.iterdir()) == ["grid.csv"]


def _compare_files(tmp_path):
    """A tiny scene and a split file of it for pisvm-compare and pisvm-cnn: (scene, split, data, labels)."""
    from pisvm.data.sampling import random_selection, training_statistics
    from pisvm.data.selection import write_selection
    from pisvm.data.synth import synthetic_scene

    data, labels = synthetic_scene(16, 16, 24, 3, noise=0.05, random_state=2)
    selection = random_selection(labels, 0.3, random_state=0)
    write_scene(tmp_path / "scene.h5", data, labels)
    write_selection(tmp_path / "split.h5", selection, *training_statistics(data, selection))
    return tmp_path / "scene.h5", tmp_path / "split.h5", data, labels


def _method_folder(split, method="svm-spectra"):
    """The folder pisvm-compare -g 1 -c 1 -v 2 writes ``method``'s results of ``split`` to, below --out."""
    from compare.pipeline import CompareOptions, selection_sha256
    from pisvm.data.selection import read_selection

    selection, info = read_selection(split)
    key = CompareOptions(gammas=(1.0,), costs=(1.0,), folds=2).key(method, split=selection_sha256(selection, info))
    return os.path.join(split.stem, f"{method}-{key}")


@pytest.mark.parametrize("written, which, link", [
    ("report.md", "scene", os.symlink),  # report.md replaced: through the link, the scene
    ("maps-split.png", "split", os.symlink),
    ("scene.json", "scene", os.link),  # a hard link: the same file too
    ("{method}/grid.csv", "split", os.symlink),  # a file of a method's folder, <split>/<method>-<key>/
    ("{method}/label_map.npy", "scene", os.symlink),
])
def test_compare_refuses_an_output_folder_whose_file_is_an_input(tmp_path, capsys, written, which, link):
    from compare.cli import main as compare_main

    scene, split, _, _ = _compare_files(tmp_path)
    out = tmp_path / "out"
    target = out / written.format(method=_method_folder(split))
    target.parent.mkdir(parents=True)
    source = scene if which == "scene" else split
    before = source.read_bytes()
    link(source, target)
    one_line_error(capsys, compare_main, [str(scene), "--split", str(split), "--methods", "svm-spectra", "-g", "1",
                                          "-c", "1", "-v", "2", "--out", str(out)],
                   f"output {target} is the same file as the input {source}", prog="pisvm-compare")
    assert source.read_bytes() == before
    assert [path for path in out.rglob("*") if path.is_file() and not path.samefile(source)] == []


def test_compare_refuses_a_sampled_runs_output_that_is_its_scene(tmp_path, capsys):
    from compare.cli import main as compare_main

    scene, _, _, _ = _compare_files(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    before = scene.read_bytes()
    os.symlink(scene, out / "report.json")
    one_line_error(capsys, compare_main, [str(scene), "--sampling", "random", "--fraction", "0.3", "--methods",
                                          "svm-spectra", "-g", "1", "-c", "1", "-v", "2", "--out", str(out)],
                   f"output {out / 'report.json'} is the same file as the input {scene}", prog="pisvm-compare")
    assert scene.read_bytes() == before and sorted(path.name for path in out.iterdir()) == ["report.json"]


@pytest.mark.parametrize("command, written, which", [
    ("train", "results.json", "split"),
    ("train", "history.csv", "scene"),  # Keras's CSVLogger writes in place, not through a temporary file
    ("train", "model.keras", "scene"),
    ("predict", "classification_map.npy", "scene"),
    ("predict", "results.txt", "split"),
])
def test_cnn_refuses_an_output_folder_whose_file_is_an_input(tmp_path, capsys, monkeypatch, command, written, which):
    from cnn.cli import main as cnn_main

    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3"))  # if it were imported

    scene, split, _, _ = _compare_files(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    source = scene if which == "scene" else split
    before = source.read_bytes()
    os.link(source, out / written)
    if command == "train":
        argv = ["train", str(scene), str(split), "--out", str(out), "--epochs", "1", "--window", "7",
                "--verbose", "0"]
    else:
        model = tmp_path / "model"
        model.mkdir()
        (model / "classes.json").write_text('{"classes": [1, 2, 3], "window_px": 7}')
        argv = ["predict", str(scene), str(split), str(model), "--out", str(out)]
    one_line_error(capsys, cnn_main, argv, f"output {out / written} is the same file as the input {source}",
                   prog="pisvm-cnn")
    assert source.read_bytes() == before and sorted(path.name for path in out.iterdir()) == [written]


def test_compare_refuses_a_method_folder_file_that_is_its_scene_on_a_cached_split(tmp_path, capsys):
    from compare.cli import main as compare_main

    scene, _, _, _ = _compare_files(tmp_path)
    out = tmp_path / "out"
    argv = [str(scene), "--sampling", "random", "--fraction", "0.3", "--methods", "svm-spectra", "-g", "1", "-c", "1",
            "-v", "2", "--out", str(out)]
    with pytest.raises(SystemExit) as exit_info:
        compare_main(argv)
    assert exit_info.value.code == 0
    capsys.readouterr()
    (folder,) = (out / "random-0.3-0").glob("svm-spectra-*")  # named after the cached split's content
    (folder / "result.json").unlink()  # not cached: the method runs again and writes its folder
    (folder / "table.md").unlink()
    os.symlink(scene, folder / "table.md")
    before = scene.read_bytes()
    one_line_error(capsys, compare_main, argv, f"output {folder / 'table.md'} is the same file as the input {scene}",
                   prog="pisvm-compare")
    assert scene.read_bytes() == before
