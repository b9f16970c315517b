"""One place for each rule: option choices come from the library, one best-cell rule."""

import argparse
import re

import pytest

from pisvm.data.sampling import MODES
from pisvm.results.report import best_cell, table_rows
from pisvm.svm.backends import BACKENDS


def _choices(parser):
    """``{option string: choices}`` of a parser and its sub-commands."""
    found = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.update({f"{name} {k}": v for k, v in _choices(sub).items()})
        elif action.choices is not None:
            found[action.option_strings[-1] if action.option_strings else action.dest] = action.choices
    return found


def test_cli_choices_are_the_library_tuples():
    from compare import METHODS
    from compare.cli import build_parser as compare_parser
    from pisvm.cli.grid import build_parser as grid_parser
    from pisvm.cli.split import build_parser as split_parser
    from studies.cli import build_parser as jobs_parser

    assert _choices(grid_parser())["--backend"] is BACKENDS
    compare = _choices(compare_parser())
    assert compare["--backend"] is BACKENDS and compare["--sampling"] is MODES and compare["--methods"] is METHODS
    assert _choices(split_parser())["--sampling"] is MODES
    assert _choices(jobs_parser())["sampling --sampling"] is MODES


def test_features_choices_are_the_library_tuples():
    from features import trees
    from features.cli import build_parser

    choices = _choices(build_parser())
    assert any(value is trees.ADJACENCIES for value in choices.values())


def test_cnn_choices_are_the_config_tuples():
    pytest.importorskip("keras")
    from cnn.cli import build_parser
    from cnn.config import LOSSES, OPTIMIZERS, PIPELINES, STRATEGIES

    choices = _choices(build_parser())
    assert choices["train --loss"] is LOSSES and choices["train --optimizer"] is OPTIMIZERS
    assert choices["train --strategy"] is STRATEGIES
    assert choices["train --pipeline"] is PIPELINES and choices["predict --pipeline"] is PIPELINES


def test_the_table_marks_the_best_cell_rule():
    # Equal accuracies: the rule prefers smaller C, then smaller gamma.
    cells = [{"gamma": g, "C": c, "accuracy": 0.9 if (g, c) != (1.0, 1.0) else 0.8, "seconds_sum": 60.0}
             for g in (1.0, 2.0) for c in (1.0, 10.0)]
    best = best_cell(cells)
    assert (best["gamma"], best["C"]) == (2.0, 1.0)
    _, rows = table_rows(cells)
    marked = [(row[0], i) for row in rows for i, text in enumerate(row[1:]) if text.endswith("*")]
    assert marked == [("2", 0)]


def test_the_seeds_grid_is_written_once():
    from conftest import REPO
    from pisvm.grid.cells import SEED_COSTS, SEED_GAMMAS

    assert SEED_GAMMAS == (2.0, 4.0, 8.0, 16.0, 32.0) and SEED_COSTS == (1.0, 10.0, 100.0, 1000.0, 10000.0)
    spelled = re.compile(r"[\[(]2(\.0)?, 4(\.0)?, 8(\.0)?, 16(\.0)?, 32(\.0)?[\])]"
                         r"|[\[(]1(\.0)?, 10(\.0)?, 100(\.0)?, 1000(\.0)?, 10000(\.0)?[\])]")
    folders = ("pisvm", "compare", "studies", "features", "cnn", "benchmarks")
    holders = sorted(str(path.relative_to(REPO)) for folder in folders for path in (REPO / folder).rglob("*.py")
                     if spelled.search(path.read_text(encoding="utf-8")))
    assert holders == ["pisvm/grid/cells.py"]


def _holders(pattern, folders=("pisvm", "compare", "studies", "features", "cnn"), suffixes=(".py",)):
    """The files of ``folders`` (relative to the repository) whose text matches ``pattern``."""
    from conftest import REPO

    pattern = re.compile(pattern)
    return sorted(str(path.relative_to(REPO)) for folder in folders for path in (REPO / folder).rglob("*")
                  if path.suffix in suffixes and pattern.search(path.read_text(encoding="utf-8")))


def test_the_area_thresholds_are_written_once():
    from compare.cli import build_parser
    from compare.pipeline import CompareOptions
    from features.profiles import AREA_THRESHOLDS

    assert CompareOptions().area == AREA_THRESHOLDS and build_parser().get_default("area") == list(AREA_THRESHOLDS)
    assert _holders(r"25(\.0)?, 100(\.0)?, 500(\.0)?, 1000(\.0)?, 5000") == ["features/profiles.py"]


def test_the_folds_check_is_written_once():
    from pisvm.data.folds import check_folds

    with pytest.raises(ValueError, match=r"^folds == 1, must be >= 2$"):
        check_folds(1)
    check_folds(2)
    assert _holders(r"must be >= 2\"|folds\w* < 2\b") == ["pisvm/data/folds.py"]


def test_the_label_weight_option_is_parsed_once():
    from pisvm.cli.common import class_weights, label_weight
    from pisvm.cli.grid import build_parser as grid_parser
    from pisvm.cli.train import build_parser as train_parser

    for parser in (grid_parser(), train_parser()):
        assert next(a for a in parser._actions if a.dest == "weight").type is label_weight
    assert label_weight("3=2.5") == (3.0, 2.5)
    with pytest.raises(argparse.ArgumentTypeError, match="'x=1' is not LABEL=WEIGHT"):
        label_weight("x=1")
    assert class_weights([(1.0, 2.0), (1.0, 3.0)], [1.0, 2.0], {2.0: 0.5}) == {1.0: 6.0, 2.0: 0.5}
    with pytest.raises(ValueError, match=r"^-w 9=2: no such class in the training data$"):
        class_weights([(9.0, 2.0)], [1.0, 2.0])
    assert _holders(r"LABEL=WEIGHT\"|no such class in the training") == ["pisvm/cli/common.py"]


def test_the_writable_folder_probe_is_written_once(tmp_path):
    from pisvm.data.atomic import check_folder, check_outputs
    from pisvm.grid.run import prepare_out

    check_folder(tmp_path, "here")
    prepare_out(str(tmp_path / "new" / "out"))
    assert (tmp_path / "new" / "out").is_dir() and not list((tmp_path / "new" / "out").iterdir())
    with pytest.raises(ValueError, match=r"^output folder /proc/version/out: cannot write"):
        prepare_out("/proc/version/out")
    with pytest.raises(ValueError, match=r"/no/such/x\.txt: cannot write"):
        check_outputs([str(tmp_path / "no" / "such" / "x.txt")])
    assert _holders(r"open\(probe") == ["pisvm/data/atomic.py"]


def test_the_sleep_polled_barrier_is_written_once():
    from conftest import REPO

    text = (REPO / "pisvm" / "transport.py").read_text(encoding="utf-8")
    assert text.count("Ibarrier()") == 1
    assert _holders(r"Ibarrier\(") == ["pisvm/transport.py"]


def test_aligned_text_tables_are_written_once():
    from pisvm.results.report import aligned_text

    assert aligned_text(["a", "bbb"], [["10", "2"]]) == " a  bbb\n10    2"
    # The confusion matrix (pisvm.results.metrics) is another layout: one width for every column.
    assert _holders(r"zip\(line, widths\)") == ["pisvm/results/report.py"]


def test_unit_scaling_by_the_training_rows_is_written_once():
    import numpy as np

    from pisvm.data.ranges import fit_unit_scaling

    X = np.array([[0.0, 5.0], [2.0, 5.0], [4.0, 5.0]])
    scaler = fit_unit_scaling(X, np.array([True, True, False]))
    np.testing.assert_array_equal(scaler.transform(X), [[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]])
    assert _holders(r"MinMaxScaler\(\)") == ["pisvm/data/ranges.py"]


def test_rank_0_validates_then_broadcasts_in_one_place():
    from pisvm.transport import CollectiveError, decided_by_root

    assert decided_by_root(lambda: {"x": 1}, None) == {"x": 1}

    def bad():
        raise OSError("in.el: no such file\nsecond line")

    with pytest.raises(CollectiveError, match=r"^in\.el: no such file$"):
        decided_by_root(bad, None)
    assert _holders(r"\{\"error\": str\(|\"error\" in (payload|setup)\b") == []


@pytest.mark.parametrize("command, argv, old", [
    ("split", ["s.h5", "--out", "o"], {"--mode": "--sampling"}),
    ("compare", ["s.h5"], {"--seeds": "--seed"}),
    ("jobs", ["sampling", "s.h5", "--out", "o"], {"--modes": "--sampling", "--fractions": "--fraction",
                                                  "--seeds": "--seed"}),
])
def test_one_spelling_of_the_sampling_options(command, argv, old):
    from compare.cli import build_parser as compare_parser
    from pisvm.cli.split import build_parser as split_parser
    from studies.cli import build_parser as jobs_parser

    parser = {"split": split_parser, "compare": compare_parser, "jobs": jobs_parser}[command]()
    args = vars(parser.parse_args(argv))
    assert {"sampling", "fraction", "seed"} <= set(args) and args["sampling"] == ["random"] and args["seed"] == [0]
    values = {"--sampling": ["size"], "--fraction": ["0.2"], "--seed": ["3", "4"]}
    # An earlier release's spellings still parse, into the same options, and are hidden from the help.
    spelled = parser.parse_args(argv + [word for option, new in old.items() for word in [option] + values[new]])
    assert vars(spelled) == vars(parser.parse_args(argv + [word for new in old.values()
                                                           for word in [new] + values[new]]))
    sub = parser._subparsers._group_actions[0].choices["sampling"] if command == "jobs" else parser
    assert not set(old) & set(sub.format_help().replace(",", " ").split())


def test_the_prefetch_macro_is_written_once():
    from conftest import REPO

    suffixes = (".pyx", ".pxd", ".h")
    assert _holders(r"__builtin_prefetch", suffixes=suffixes) == ["pisvm/prefetch.h"]
    assert _holders(r"cimport prefetch", suffixes=(".pyx",)) == [
        "features/_max_tree.pyx", "features/_tree_of_shapes.pyx", "pisvm/svm/_smo.pyx"]
    # Shipped with the package, beside the .pxd that declares it (pip install and sdist build from them).
    assert '"pisvm": ["*.h", "*.pxd"]' in (REPO / "setup.py").read_text(encoding="utf-8")


def test_the_attribute_merge_of_both_tree_kernels_is_written_once():
    assert _holders(r"moments\[4 \* \w+\] \+= moments\[", suffixes=(".pyx", ".pxd")) == ["features/_trees.pxd"]
    assert _holders(r"cimport merge_attributes", suffixes=(".pyx",)) == [
        "features/_max_tree.pyx", "features/_tree_of_shapes.pyx"]


def test_progress_lines_are_written_once():
    import io

    from pisvm.results.progress import Progress

    stream = io.StringIO()
    meter = Progress(0, "pisvm-train: rank 0", stream=stream, unit="binary problems")
    for done in (1, 2, 3):
        meter(done, 3, 0.1)  # the train_model callback
    assert stream.getvalue().startswith("pisvm-train: rank 0: 3/3 binary problems (100 %), 0.0 min elapsed")
    assert _holders(r"min elapsed") == ["pisvm/results/progress.py"]
    assert _holders(r"class \w*Progress\b") == ["pisvm/results/progress.py"]


def test_rows_per_chunk_are_named_constants():
    from pisvm.grid.chains import CHUNK_ROWS
    from pisvm.svm.predict import MIN_CHUNK_ROWS, _chunk_rows

    assert (CHUNK_ROWS, MIN_CHUNK_ROWS) == (256, 128)

    class Tiny:
        labels, support_vectors, rho = [1, 2], [[0.0]] * 10**6, [0.0]

    assert _chunk_rows(Tiny, 1.0) == MIN_CHUNK_ROWS  # the floor: 1 MB holds no row of 10**6 SVs
    # Two rules, two names (why they differ: MIN_CHUNK_ROWS's docstring), each defined once.
    assert _holders(r"(?m)^(MIN_)?CHUNK_ROWS = ") == ["pisvm/grid/chains.py", "pisvm/svm/predict.py"]
