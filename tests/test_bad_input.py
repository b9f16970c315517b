"""Bad input a user hit: one line ``prog: error: ...`` naming the file and the problem, exit status 2.

In-process: each test calls the console script's ``main([...])`` and reads stderr through capsys.
"""

import os

import numpy as np
import pytest
import scipy.io

from pisvm.scene import write_scene


def one_line_error(capsys, main, argv, *fragments, prog=None):
    """Run ``main(argv)``; assert exit status 2 and one error line holding every fragment; return it."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    if prog:
        assert lines[0].startswith(f"{prog}: error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


# -- pisvm-grid: LibSVM files ------------------------------------------------------------------------------------

def grid_main(argv):
    from pisvm.cli.grid import main

    main(argv)


def test_grid_refuses_a_huge_feature_index(tmp_path, capsys):
    path = tmp_path / "wide.el"
    path.write_text("1 1:0.5\n" * 30 + "2 1:1 1000000000:3\n" + "2 1:0.25\n" * 29)
    one_line_error(capsys, grid_main, [str(path), "-g", "1", "-c", "1", "-v", "2", "--out", str(tmp_path / "g")],
                   f"{path}:31: feature index 1000000000", "447.0 GiB", prog="pisvm-grid")


def test_grid_refuses_non_integer_labels(tmp_path, capsys):
    path = tmp_path / "float.el"
    path.write_text("1 1:1\n2 1:2\n" * 5 + "1.5 1:0.5\n")
    one_line_error(capsys, grid_main, [str(path), "-g", "1", "-c", "1", "-v", "2", "--out", str(tmp_path / "g")],
                   f"{path}:11: label 1.5 is not an integer", prog="pisvm-grid")


def test_grid_warns_about_test_classes_and_features_unknown_to_training(tmp_path):
    rng = np.random.RandomState(0)
    train, test = tmp_path / "train.el", tmp_path / "test.el"
    train.write_text("".join(f"{1 + i % 2} 1:{rng.rand():.3f} 2:{rng.rand():.3f}\n" for i in range(12)))
    test.write_text("1 1:0.5 2:0.5\n2 1:0.1 3:0.7\n3 1:0.2 2:0.2\n")
    with pytest.warns(UserWarning) as record, pytest.raises(SystemExit) as exit_info:
        grid_main([str(train), "--test", str(test), "-g", "1", "-c", "1", "-v", "2", "-q",
                   "--out", str(tmp_path / "g")])
    assert exit_info.value.code == 0
    messages = [str(w.message) for w in record if "test.el" in str(w.message)]
    assert len(messages) == 2, messages
    assert "3 features" in messages[0] and "classes 3 (1 samples)" in messages[1]
