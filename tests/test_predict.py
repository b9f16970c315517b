"""The fast predictor against SVC, and pisvm-train / pisvm-predict end to end (serial, mpirun, bad input)."""

import json

import h5py
import numpy as np
import pytest
from scipy import sparse
from sklearn.preprocessing import MinMaxScaler

from conftest import assert_one_line_error, mpirun, one_line_error, run_main
from pisvm.data.libsvm import read_libsvm, write_libsvm
from pisvm.data.ranges import read_ranges, scale_features, write_ranges
from pisvm.data.synth import seed_problem, synthetic_scene
from pisvm.svm.model import SVMModel, read_model
from pisvm.svm.predict import predict
from pisvm.svm.train import svc, train_model


def _assert_same_as_svc(fitted, X):
    labels, decision = predict(SVMModel.from_svc(fitted), X, decision=True)
    np.testing.assert_array_equal(labels, fitted.predict(X))
    reference = fitted.decision_function(X)
    if reference.ndim == 1:
        reference = -reference[:, None]
    np.testing.assert_allclose(decision, reference, rtol=1e-9, atol=1e-9 * np.abs(reference).max())


@pytest.mark.parametrize("gamma, C", [(2.0, 1.0), (8.0, 100.0), (32.0, 10000.0)])
def test_equal_to_svc_on_the_synthetic_problem(gamma, C):
    X, y = seed_problem(scale=0.03, random_state=1)
    train = np.arange(len(y)) % 3 != 0
    _assert_same_as_svc(svc(gamma=gamma, C=C).fit(X[train], y[train]), X[~train])


@pytest.mark.parametrize("gamma, C", [(0.5, 10.0), (8.0, 1000.0)])
def test_equal_to_svc_on_salinas_a_spectra(shared_data, gamma, C):
    from pisvm.data.scene import import_mat, labelled_pixels

    folder = shared_data / "salinas_a"
    data, labels, _ = import_mat(folder / "SalinasA.mat", folder / "SalinasA_gt.mat")
    X, y, _ = labelled_pixels(data, labels)
    train = np.arange(len(y)) % 8 == 0
    scaler = MinMaxScaler().fit(X[train])
    X_train, X_test = scaler.transform(X[train]), scaler.transform(X[~train])
    _assert_same_as_svc(svc(gamma=gamma, C=C).fit(X_train, y[train]), X_test)


def test_chunks_sparse_input_and_wide_input_change_nothing(small_problem):
    X, y = small_problem
    model = SVMModel.from_svc(svc(gamma=4.0, C=10.0).fit(X, y))
    labels, decision = predict(model, X, decision=True)
    tiny_labels, tiny_decision = predict(model, X, chunk_mb=1e-6, decision=True)  # 128 rows per chunk
    np.testing.assert_array_equal(tiny_labels, labels)
    np.testing.assert_array_equal(tiny_decision, decision)
    for split in (1, 13, 70, 130):  # the same bits whichever rows share a chunk (as on several ranks)
        parts = [predict(model, part, chunk_mb=1e-6, decision=True)[1] for part in (X[:split], X[split:])]
        np.testing.assert_array_equal(np.vstack(parts), decision)
    tripled = predict(model, np.vstack([X, X, X]), chunk_mb=1e-6, decision=True)[1]  # 2 chunks, rows move
    np.testing.assert_array_equal(tripled, np.vstack([decision] * 3))
    np.testing.assert_array_equal(predict(model, sparse.csr_matrix(X), chunk_mb=0.001), labels)
    # A feature the model never saw counts in the RBF distance (LIBSVM: the SVs are 0 there).
    wide = np.hstack([X, np.full((len(X), 1), 0.3)])
    shifted = svc(gamma=4.0, C=10.0).fit(np.hstack([X, np.zeros((len(X), 1))]), y)
    np.testing.assert_array_equal(predict(model, wide), shifted.predict(wide))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A training file, a test file with comment and blank lines, and a model of it fitted by SVC."""
    folder = tmp_path_factory.mktemp("predict")
    X, y = seed_problem(scale=0.02, random_state=2)
    write_libsvm(folder / "train.el", X[:500], y[:500])
    test = folder / "test.el"
    write_libsvm(test, X[500:], y[500:], comment="test part")
    with open(test, "a") as stream:
        stream.write("\n# a trailing comment\n")
    X_train, y_train = read_libsvm(folder / "train.el")  # the file's digits, as pisvm-train reads them
    model = SVMModel.from_svc(svc(gamma=8.0, C=100.0).fit(X_train, y_train))
    model.write(folder / "reference.model")
    return folder, X, y


def _cli(capsys, module, n_ranks, *args):
    """``module``'s main in-process on one rank, under mpirun on more: (exit status, stdout, stderr)."""
    if n_ranks > 1:
        result = mpirun(n_ranks, module, *args)
        return result.returncode, result.stdout, result.stderr
    import importlib

    return run_main(capsys, importlib.import_module(module).main, list(args))


def test_train_on_one_and_two_ranks_writes_the_model_of_one_svc_fit(files, capsys):
    folder, _, _ = files
    for n_ranks, name in ((1, "n1.model"), (2, "n2.model")):
        args = (str(folder / "train.el"), str(folder / name), "-g", "8", "-c", "100", "--solver", "libsvm")
        status, _, err = _cli(capsys, "pisvm.cli.train", n_ranks, *args)
        assert status == 0, err
        assert "model written to" in err
    reference = (folder / "reference.model").read_bytes()
    assert (folder / "n1.model").read_bytes() == reference
    assert (folder / "n2.model").read_bytes() == reference


def test_train_with_the_grids_solver_on_one_and_two_ranks(files, capsys):
    folder, X, y = files
    for n_ranks, name in ((1, "p1.model"), (2, "p2.model")):
        args = (str(folder / "train.el"), str(folder / name), "-g", "8", "-c", "100")  # RBF: --solver pisvm
        status, _, err = _cli(capsys, "pisvm.cli.train", n_ranks, *args)
        assert status == 0, err
        assert "solver pisvm" in err
    assert (folder / "p1.model").read_bytes() == (folder / "p2.model").read_bytes()
    mine, reference = read_model(folder / "p1.model"), read_model(folder / "reference.model")
    # LIBSVM's model: the SMO takes LIBSVM's steps on the same float32 kernel values (the files differ
    # only where LIBSVM's coefficients are -0).
    for name in ("labels", "n_support", "support_vectors", "dual_coef", "rho"):
        assert np.array_equal(getattr(mine, name), getattr(reference, name)), name
    assert np.array_equal(mine.predict(X[500:]), reference.predict(X[500:]))


def test_train_refuses_the_grids_solver_for_other_kernels(files, capsys):
    from pisvm.cli.train import main

    folder, _, _ = files
    one_line_error(capsys, main, [str(folder / "train.el"), "-t", "0", "--solver", "pisvm"],
                   "--solver pisvm trains the RBF kernel (-t 2) only, not -t 0")


def test_predict_on_one_and_three_ranks_matches_libsvm(files, tmp_path, capsys):
    svmutil = pytest.importorskip("libsvm.svmutil")
    folder, X, y = files
    model_path, test = str(folder / "reference.model"), str(folder / "test.el")
    status, one_stdout, err = _cli(capsys, "pisvm.cli.predict", 1, test, model_path, str(tmp_path / "n1"), "--report",
                                   str(tmp_path / "report.json"))
    assert status == 0, err
    three = mpirun(3, "pisvm.cli.predict", test, model_path, str(tmp_path / "n3"))
    assert three.returncode == 0, three.stderr
    assert (tmp_path / "n1").read_bytes() == (tmp_path / "n3").read_bytes()
    predicted = np.loadtxt(tmp_path / "n1")
    labels, _, _ = svmutil.svm_predict(list(map(float, y[500:])), [list(map(float, r)) for r in X[500:]],
                                       svmutil.svm_load_model(model_path), "-q")
    np.testing.assert_array_equal(predicted, labels)
    correct = int(np.sum(predicted == y[500:]))
    expected = f"Accuracy = {100 * correct / len(predicted):g}% ({correct}/{len(predicted)}) (classification)"
    assert one_stdout.strip() == expected and three.stdout.strip() == expected
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["report"]["overall_accuracy"] == correct / len(predicted)
    assert {"average_accuracy", "kappa", "per_class_accuracy", "per_class_f1", "confusion"} <= set(report["report"])


def test_scene_map_on_one_and_two_ranks(tmp_path, capsys):
    from pisvm.data.scene import write_scene

    data, labels = synthetic_scene(n_rows=24, n_cols=20, n_bands=12, n_classes=4, random_state=3)
    write_scene(tmp_path / "scene.h5", data, labels)
    pixels = data.reshape(-1, 12).astype(np.float64)
    train = (labels.reshape(-1) > 0) & (np.arange(pixels.shape[0]) % 4 == 0)
    write_ranges(tmp_path / "scene.range", 0.0, 1.0, pixels[train].min(axis=0), pixels[train].max(axis=0))
    scaling = read_ranges(tmp_path / "scene.range")
    model = SVMModel.from_svc(svc(gamma=2.0, C=10.0).fit(scale_features(pixels[train], *scaling),
                                                          labels.reshape(-1)[train]))
    model.write(tmp_path / "model")
    expected = predict(model, scale_features(pixels, *scaling)).reshape(labels.shape)
    for n_ranks in (1, 2):
        args = (str(tmp_path / "scene.h5"), str(tmp_path / "model"), str(tmp_path / f"map{n_ranks}.h5"),
                "--range", str(tmp_path / "scene.range"))
        status, stdout, err = _cli(capsys, "pisvm.cli.predict", n_ranks, *args)
        assert status == 0, err
        assert stdout.startswith("Accuracy = ")
        with h5py.File(tmp_path / f"map{n_ranks}.h5") as h5:
            np.testing.assert_array_equal(h5["map"][()], expected)
        assert (tmp_path / f"map{n_ranks}.png").stat().st_size > 0


@pytest.mark.parametrize("solver", ["pisvm", "libsvm"])
def test_grid_save_model_is_the_best_cell_fitted_on_all_data(small_problem, tmp_path, capsys, solver):
    X, y = small_problem
    write_libsvm(tmp_path / "train.el", X, y)
    X, y = read_libsvm(tmp_path / "train.el")  # the file's digits, as pisvm-grid reads them
    status, _, err = _cli(capsys, "pisvm.cli.grid", 1, str(tmp_path / "train.el"), "-g", "1", "8", "-c", "10", "-v",
                          "3", "--save-model", "--out", str(tmp_path / "out"), "-q", "--solver", solver)
    assert status == 0, err
    grid = json.loads((tmp_path / "out" / "grid.json").read_text())
    assert grid["metadata"]["model"] == str(tmp_path / "out" / "model")
    best = grid["best"]
    # The model is fitted by the solver that scored the cells.
    expected = train_model(X, y, {"gamma": best["gamma"], "C": best["C"], "solver": solver})
    model = read_model(tmp_path / "out" / "model")
    np.testing.assert_array_equal(model.dual_coef, expected.dual_coef)
    np.testing.assert_array_equal(model.rho, expected.rho)
    libsvm = SVMModel.from_svc(svc(gamma=best["gamma"], C=best["C"]).fit(X, y))
    np.testing.assert_allclose(model.rho, libsvm.rho, atol=0 if solver == "libsvm" else 1e-2)


def _bad_file(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("n_ranks", [1, 2])
def test_bad_inputs_are_one_line_and_leave_no_output(files, tmp_path, capsys, n_ranks):
    from pisvm.cli.predict import main

    folder, _, _ = files
    model = str(folder / "reference.model")
    test = str(folder / "test.el")
    out = str(tmp_path / "out")
    lines = (folder / "test.el").read_text().splitlines()
    model_lines = (folder / "reference.model").read_text().splitlines(keepends=True)
    bad_sv = model_lines[12].split()
    bad_sv[-1] = bad_sv[-1].split(":")[0] + ":zz"
    cases = [  # (test file, model file, output, fragments of the one error line)
        (test, _bad_file(tmp_path, "broken.model", "".join(model_lines[:12] + [" ".join(bad_sv) + "\n"]
                                                            + model_lines[13:])), out, ["broken.model:13:", "'zz'"]),
        (test, _bad_file(tmp_path, "pre.model", "".join(model_lines).replace("kernel_type rbf",
                                                                             "kernel_type precomputed")),
         out, ["pre.model:2:", "precomputed"]),
        (_bad_file(tmp_path, "unseen.el", "\n".join(lines[:40] + ["77 1:0.5"] + lines[40:]) + "\n"), model, out,
         ["unseen.el:41:", "label 77 is not a class"]),
        (_bad_file(tmp_path, "badline.el", "\n".join(lines[:30] + ["3 1:0.5 1:0.2"] + lines[30:]) + "\n"), model,
         out, ["badline.el:31:", "feature index 1 not above"]),
        (_bad_file(tmp_path, "empty.el", "# nothing\n\n"), model, out, ["empty.el", "no samples"]),
        (test, model, str(tmp_path / "no" / "such" / "out"), ["cannot write"]),
    ]
    if n_ranks > 1:  # the errors found by one rank only, under mpirun
        cases = cases[2:5]
    for test_file, model_file, output, fragments in cases:
        if n_ranks > 1:
            assert_one_line_error(mpirun(n_ranks, "pisvm.cli.predict", test_file, model_file, output), *fragments)
        else:  # in-process
            one_line_error(capsys, main, [test_file, model_file, output], *fragments, prog="pisvm-predict")
    assert not any(p.name.startswith("out") for p in tmp_path.iterdir())
    if n_ranks > 1:
        return
    # More features than the model knows: accepted as svm-predict does, with a warning.
    wide = _bad_file(tmp_path, "wide.el", "\n".join(line + " 45:0.5" if line and not line.startswith("#") else line
                                                    for line in lines) + "\n")
    status, _, err = run_main(capsys, main, [wide, model, out])
    assert status == 0, err
    assert "warning: " in err and "45" in err


def test_train_bad_inputs(files, tmp_path, capsys):
    from pisvm.cli.train import main

    folder, _, _ = files
    train = str(folder / "train.el")
    one_line_error(capsys, main, [train, str(tmp_path / "m"), "-w", "99=2"], "-w 99=2", "no such class",
                   prog="pisvm-train")
    # Under mpirun: rank 0 finds the unwritable folder and every rank ends with its one line.
    assert_one_line_error(mpirun(2, "pisvm.cli.train", train, str(tmp_path / "no" / "m")), "cannot write")
    one_class = _bad_file(tmp_path, "one.el", "1 1:0.5\n1 1:0.25\n")
    one_line_error(capsys, main, [one_class, str(tmp_path / "m")], "one class", prog="pisvm-train")
    assert list(tmp_path.iterdir()) == [tmp_path / "one.el"]


def test_features_train_predict_workflow_on_a_scene(tmp_path, capsys):
    """pisvm-features --libsvm --split, pisvm-train, then pisvm-predict on the test file and on the whole scene."""
    from pisvm.data.scene import write_scene
    from pisvm.data.selection import write_selection

    data, labels = synthetic_scene(n_rows=20, n_cols=24, n_bands=8, n_classes=4, random_state=6)
    write_scene(tmp_path / "scene.h5", data, labels)
    rng = np.random.default_rng(1)
    selection = np.where(labels > 0, np.where(rng.random(labels.shape) < 0.3, 2, 1), 0).astype(np.int8)
    write_selection(tmp_path / "split.h5", selection, mean=np.zeros(8), stddev=np.ones(8))
    prefix = str(tmp_path / "ap")
    steps = [("features.cli", "ap", str(tmp_path / "scene.h5"), "--pca", "2", "--area", "5", "20", "--out",
              str(tmp_path / "features.h5"), "--libsvm", prefix, "--split", str(tmp_path / "split.h5")),
             ("pisvm.cli.train", f"{prefix}_train.libsvm", str(tmp_path / "model"), "-g", "2", "-c", "10"),
             ("pisvm.cli.predict", f"{prefix}_test.libsvm", str(tmp_path / "model"), str(tmp_path / "test.out")),
             ("pisvm.cli.predict", str(tmp_path / "features.h5"), str(tmp_path / "model"), str(tmp_path / "map.h5"),
              "--range", f"{prefix}.range")]
    results = [_cli(capsys, step[0], 1, *step[1:]) for step in steps]  # in-process
    for status, _, err in results:
        assert status == 0, err
    with h5py.File(tmp_path / "map.h5") as h5:
        label_map = h5["map"][()]
    np.testing.assert_array_equal(label_map[selection == 1], np.loadtxt(tmp_path / "test.out"))
    assert results[2][1].startswith("Accuracy = ") and results[3][1].startswith("Accuracy = ")
