"""Atomic writes: a failed write leaves neither a torn target nor a temporary file behind."""

import errno
import os

import h5py
import numpy as np
import pytest
from matplotlib.figure import Figure

from pisvm.data.atomic import atomic_path, write_atomic


def _disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def _leftovers(folder):
    return sorted(name for name in os.listdir(folder) if ".tmp" in name)


def test_write_atomic_replaces_the_target(tmp_path):
    target = tmp_path / "grid.json"
    target.write_text("old")
    write_atomic(target, "new\n")
    assert target.read_text() == "new\n"
    assert _leftovers(tmp_path) == []


def test_out_that_is_a_directory_leaves_no_temporary_file(tmp_path):
    (tmp_path / "grid.json").mkdir()
    with pytest.raises(IsADirectoryError):
        write_atomic(tmp_path / "grid.json", "text")
    assert _leftovers(tmp_path) == []


def test_full_disk_leaves_no_temporary_file_and_keeps_the_old_target(tmp_path, monkeypatch):
    target = tmp_path / "grid.json"
    target.write_text("old")
    monkeypatch.setattr(os, "fsync", _disk_full)
    with pytest.raises(OSError, match="No space"):
        write_atomic(target, "new")
    assert target.read_text() == "old"
    assert _leftovers(tmp_path) == []


def test_temporary_file_keeps_the_extension(tmp_path):
    with atomic_path(tmp_path / "map.npy") as tmp:
        assert tmp.endswith(".npy")
        np.save(tmp, np.arange(3))
    np.testing.assert_array_equal(np.load(tmp_path / "map.npy"), np.arange(3))


def _write_scene(path):
    from pisvm.data.scene import write_scene

    write_scene(path, np.zeros((2, 3, 4)), np.ones((2, 3), dtype=int))


def _write_selection(path):
    from pisvm.data.selection import write_selection

    write_selection(path, np.full((2, 3), 2), np.zeros(4), np.ones(4))


def _write_libsvm(path):
    from pisvm.data.libsvm import write_libsvm

    write_libsvm(path, np.ones((3, 2)), [1, 2, 1])


def _write_heatmap(path):
    from pisvm.results.report import write_heatmap

    write_heatmap(path, [{"gamma": g, "C": c, "accuracy": 0.5, "seconds_span": 1.0}
                         for g in (1.0, 2.0) for c in (1.0, 10.0)])


def _plot_scaling(path):
    from pisvm.grid.timing import plot_scaling

    plot_scaling(path, [{"ranks": 1, "speedup": 1.0, "efficiency": 1.0},
                        {"ranks": 2, "speedup": 1.9, "efficiency": 0.95}])


@pytest.mark.parametrize("writer, name, target, method", [
    (_write_scene, "scene.h5", h5py.Group, "create_dataset"),
    (_write_selection, "split.h5", h5py.Group, "create_dataset"),
    (_write_libsvm, "train.el", None, None),
    (_write_heatmap, "heatmap.png", Figure, "savefig"),
    (_plot_scaling, "scaling.png", Figure, "savefig"),
])
def test_every_writer_cleans_up_after_a_failed_write(tmp_path, monkeypatch, writer, name, target, method):
    if target is None:
        import pisvm.data.libsvm

        monkeypatch.setattr(pisvm.data.libsvm, "dump_svmlight_file", lambda X, y, f, **kw: (open(f, "w").write("1 1:"),
                                                                                      _disk_full()))
    else:
        original = getattr(target, method)

        def partial_then_full(self, *args, **kwargs):
            if method == "savefig":  # a torn image: some bytes, then the disk is full
                with open(args[0], "wb") as stream:
                    stream.write(b"\x89PNG")
            else:
                original(self, *args, **kwargs)
            _disk_full()

        monkeypatch.setattr(target, method, partial_then_full)
    with pytest.raises(OSError, match="No space"):
        writer(tmp_path / name)
    assert sorted(os.listdir(tmp_path)) == []


def test_every_writer_cleans_up_when_the_target_is_a_directory(tmp_path):
    for writer, name in [(_write_scene, "scene.h5"), (_write_selection, "split.h5"), (_write_libsvm, "train.el"),
                         (_write_heatmap, "heatmap.png")]:
        (tmp_path / name).mkdir()
        with pytest.raises(IsADirectoryError):
            writer(tmp_path / name)
    assert _leftovers(tmp_path) == []


def test_cli_out_that_is_a_directory_is_one_line(tmp_path, capsys):
    from pisvm.cli.data import main

    (tmp_path / "train.el").mkdir()
    with pytest.raises(SystemExit) as exit_info:
        main(["synth", "problem", "--scale", "0.01", "--out", str(tmp_path / "train.el")])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("pisvm-data: error:") and "train.el" in error and "\n" not in error
    assert _leftovers(tmp_path) == []
