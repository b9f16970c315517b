"""The built-in workload of pisvm-grid (no training file): every class big enough for its folds."""

import numpy as np
import pytest
from sklearn.model_selection import train_test_split

from conftest import python_module
from pisvm.data.synth import N_SEED_CLASSES, N_SEED_FEATURES, N_SEED_SAMPLES, SEED_CLASS_SIZES, seed_problem


def test_full_scale_keeps_the_seeds_shape():
    X, y = seed_problem(scale=1.0)
    assert X.shape == (N_SEED_SAMPLES, N_SEED_FEATURES) and len(np.unique(y)) == N_SEED_CLASSES
    np.testing.assert_array_equal(np.bincount(y)[1:], SEED_CLASS_SIZES)


@pytest.mark.parametrize("scale", [0.01, 0.04, 0.2])
def test_scaled_down_every_class_keeps_ten_training_samples_after_the_demo_split(scale):
    X, y = seed_problem(scale=scale, random_state=0)
    assert len(np.unique(y)) == N_SEED_CLASSES and np.bincount(y)[1:].min() >= 15
    _, _, y_train, y_test = train_test_split(X, y, test_size=1 / 3, stratify=y, random_state=0)
    assert np.bincount(y_train)[1:].min() >= 10 and np.bincount(y_test)[1:].min() >= 1


def test_demo_does_not_warn_and_says_what_the_table_is(tmp_path):
    result = python_module("pisvm.cli.grid", "-g", "8", "-c", "100", "-q", "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert "fewer than" not in result.stderr and "warning" not in result.stderr.lower(), result.stderr
    # the line that says what the table is goes to stderr, so stdout stays the bare table
    assert ("pisvm-grid: mean 10-fold cross-validation accuracy % (CPU minutes spent on the cell: its solves and "
            "scoring plus its share of the kernel blocks and rows it shared with other cells) of each (gamma, C) cell"
            in result.stderr)
    assert result.stdout.splitlines()[0].split()[:2] == ["gamma", "\\"]
