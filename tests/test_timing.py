"""pisvm-timing on recorded runs: tables, speed-ups, predictions and the disagreement error."""

import copy
import json

import pytest

from conftest import one_line_error, python_module
from pisvm.grid.timing import check_agreement, predict, scaling


def _run(ranks, unit_seconds, accuracies=(0.5, 0.75)):
    """A recorded 1x2-grid run with 2 folds; units take ``unit_seconds`` and run back to back per rank."""
    cells, units = [], []
    clock = [0.0] * ranks
    for index, (C, accuracy) in enumerate(zip((1.0, 10.0), accuracies)):
        spans = []
        for fold in range(2):
            rank = min(range(ranks), key=lambda r: clock[r])
            start = clock[rank]
            clock[rank] += unit_seconds[index]
            units.append({"gamma": 1.0, "C": C, "fold": fold, "pairs": None, "seconds": unit_seconds[index],
                          "start": 1000.0 + start, "end": 1000.0 + clock[rank], "rank": rank, "host": "h"})
            spans.append((start, clock[rank]))
        cells.append({"gamma": 1.0, "C": C, "accuracy": accuracy, "fold_accuracies": [accuracy, accuracy],
                      "seconds_sum": 2 * unit_seconds[index],
                      "seconds_span": max(e for _, e in spans) - min(s for s, _ in spans)})
    best = dict(max(cells, key=lambda c: c["accuracy"]))
    metadata = {"ranks": ranks, "data_sha256": "abc", "test_sha256": None, "folds": 2, "seed": 0,
                "backend": "libsvm", "solver": {"tol": 0.001}}
    return {"cells": cells, "best": best, "units": units, "metadata": metadata, "test": None}


def _write(tmp_path, name, run):
    path = tmp_path / name
    path.mkdir()
    (path / "grid.json").write_text(json.dumps(run))
    return str(path)


def test_scaling_speedups_and_efficiency():
    serial, parallel = _run(1, [30.0, 10.0]), _run(2, [30.0, 10.0])
    for run, path in ((serial, "a"), (parallel, "b")):
        run["path"] = path
    rows = scaling([parallel, serial])
    assert [r["ranks"] for r in rows] == [1, 2]
    assert rows[1]["wall_s"] == 40.0 and rows[1]["speedup"] == 2.0 and rows[1]["efficiency"] == 1.0
    cells, makespan, efficiency = predict(serial, 2)
    assert makespan == 40.0 and efficiency == 1.0
    assert [c["seconds_span"] for c in cells] == [30.0, 10.0]


def _chain_run(chain_ranks=2):
    """A 1x2-grid chain run made for ``chain_ranks`` ranks: chain 0 holds fold 0 (25 s a cell), chain 1 fold 1 (5 s)."""
    run = _run(1, [30.0, 10.0])
    run["path"] = "chains"
    run["metadata"].update(svm_solver="pisvm", chain_ranks=chain_ranks, parts=None, resumed_units=0)
    for unit in run["units"]:
        unit.update(chain=unit["fold"], chain_cost=2.0, seconds=25.0 if unit["fold"] == 0 else 5.0)
    return run


def test_chain_runs_are_replayed_chain_by_chain():
    cells, makespan, efficiency = predict(_chain_run(), 2)
    # Chains of 50 s and 10 s on 2 ranks (as independent units, 25, 25, 5, 5 s, it would be 30 s).
    assert makespan == 50.0 and efficiency == pytest.approx(60.0 / 100.0)
    assert [c["seconds_span"] for c in cells] == [50.0, 50.0]  # each cell waits for both chains


def test_chain_runs_made_for_other_ranks_are_refused_with_the_run_needed():
    with pytest.raises(ValueError, match="chains: its chains were made for 2 ranks.*--chains-for 80"):
        predict(_chain_run(), 80)
    with pytest.raises(ValueError, match="with --parts 3.*--chains-for 2"):
        predict(_chain_run() | {"metadata": _chain_run()["metadata"] | {"parts": 3}}, 2)
    older = _chain_run()
    del older["metadata"]["chain_ranks"]
    with pytest.raises(ValueError, match="chains are not recorded.*--chains-for 2"):
        predict(older, 2)
    resumed = _chain_run()
    resumed["metadata"]["resumed_units"] = 3
    with pytest.raises(ValueError, match="resumed"):
        predict(resumed, 2)


def test_disagreement_is_an_error():
    serial, other = _run(1, [3.0, 1.0]), _run(2, [3.0, 1.0], accuracies=(0.5, 0.7))
    serial["path"], other["path"] = "serial", "other"
    with pytest.raises(ValueError, match="accuracies disagree at gamma 1, C 10: 75.0000 % in serial but 70.0000 %"):
        check_agreement([serial, other])
    changed = copy.deepcopy(serial)
    changed["metadata"]["seed"] = 1
    changed["path"] = "changed"
    with pytest.raises(ValueError, match="seed differs"):
        check_agreement([serial, changed])


def test_cli_prints_tables_side_by_side_and_writes_files(tmp_path):
    a = _write(tmp_path, "n1", _run(1, [60.0, 30.0]))
    b = _write(tmp_path, "n2", _run(2, [60.0, 30.0]))
    result = python_module("pisvm.cli.timing", a, b, "--predict", "4", "--out", str(tmp_path / "t"))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "1 rank(s)" in lines[0] and "2 rank(s)" in lines[0]
    assert "75.00 (0.50)*" in result.stdout  # 2 folds of 30 s back to back in the serial run
    assert "accuracies agree in every cell and fold" in result.stdout
    assert any(line.split()[:4] == ["2", "1.50", "2.00x", "100.0"] for line in lines)
    assert "predicted on 4 ranks" in result.stdout
    timing = json.loads((tmp_path / "t" / "timing.json").read_text())
    assert timing["scaling"][1]["speedup"] == 2.0
    assert (tmp_path / "t" / "scaling.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "t" / "scaling.csv").read_text().startswith("ranks,grid_s,speedup")


def test_cli_disagreement_and_bad_files_exit_2(tmp_path, capsys):
    from pisvm.cli.timing import main

    a = _write(tmp_path, "n1", _run(1, [6.0, 3.0]))
    b = _write(tmp_path, "n2", _run(2, [6.0, 3.0], accuracies=(0.5, 0.7)))
    one_line_error(capsys, main, [a, b], "accuracies disagree at gamma 1, C 10", prog="pisvm-timing")
    (tmp_path / "junk.json").write_text("{not json")
    one_line_error(capsys, main, [str(tmp_path / "junk.json")], "not JSON", prog="pisvm-timing")
    one_line_error(capsys, main, [str(tmp_path / "missing.json")], "missing.json", prog="pisvm-timing")


def test_runs_of_different_solvers_are_refused():
    pisvm_run, libsvm_run = _run(1, [3.0, 1.0]), _run(2, [3.0, 1.0])
    pisvm_run["metadata"]["svm_solver"], libsvm_run["metadata"]["svm_solver"] = "pisvm", "libsvm"
    pisvm_run["path"], libsvm_run["path"] = "a", "b"
    with pytest.raises(ValueError, match="b: svm_solver differs from a \\('libsvm' != 'pisvm'\\)"):
        check_agreement([pisvm_run, libsvm_run])


def timing_main(argv):
    from pisvm.cli.timing import main

    main(argv)


def test_out_is_checked_before_anything_is_printed(tmp_path, capsys):
    a = _write(tmp_path, "n1", _run(1, [6.0, 3.0]))
    b = _write(tmp_path, "n2", _run(2, [6.0, 3.0]))
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(SystemExit) as exit_info:
        timing_main([a, b, "--out", str(tmp_path / "file")])
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == "" and str(tmp_path / "file") in captured.err


def test_out_is_all_files_or_none(tmp_path, capsys, monkeypatch):
    import pisvm.grid.timing

    def broken_plot(path, rows):
        raise OSError(28, "No space left on device", path)

    monkeypatch.setattr(pisvm.grid.timing, "plot_scaling", broken_plot)
    a = _write(tmp_path, "n1", _run(1, [6.0, 3.0]))
    b = _write(tmp_path, "n2", _run(2, [6.0, 3.0]))
    with pytest.raises(SystemExit) as exit_info:
        timing_main([a, b, "--out", str(tmp_path / "t")])
    assert exit_info.value.code == 2
    assert "scaling.png" in capsys.readouterr().err
    assert list((tmp_path / "t").iterdir()) == []
