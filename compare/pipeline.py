"""The comparison pipeline: splits, features, SVM grids, the 3D-CNN, each stage cached in the output folder.

Layout of the output folder::

    scene.json                    which scene the cache belongs to (sha256)
    splits/<split>.h5             selection files (pisvm-split layout)
    features/ap-<key>.npy         attribute profiles of the whole scene (sdap-<key>.npy: self-dual)
    <split>/<method>-<key>/       label_map.npy, result.json; the SVM grid's journal.jsonl, grid.json,
                                  grid.csv, table.md, heatmap.png; model/ (CNN).  <key> hashes the
                                  method's options and the split's content (not its name)
    report.json, report.md, maps-<split>.png
"""

import dataclasses
import hashlib
import json
import os
import sys
import time

import numpy as np

from features.profiles import AREA_THRESHOLDS
from pisvm.data.atomic import atomic_path, check_outputs, write_atomic
from pisvm.data.folds import check_folds, stratified_folds
from pisvm.data.ranges import fit_unit_scaling
from pisvm.data.sampling import make_selection, training_statistics
from pisvm.data.scene import read_scene
from pisvm.data.selection import TEST, TRAIN, read_selection, write_selection
from pisvm.grid.cells import SEED_COSTS, SEED_GAMMAS, check_grid
from pisvm.grid.engine import Problem
from pisvm.grid.run import RESULT_FILES, GridJob, end_grids, make_solver, run_grid, serve_grids
from pisvm.results.metrics import classification_report
from pisvm.results.report import sha256_file
from pisvm.svm.backends import make_backend
from pisvm.svm.train import train_model

from .report import write_report

PROG = "pisvm-compare"


@dataclasses.dataclass(frozen=True)
class CompareOptions:
    """Knobs of a comparison (the CLI's common options).

    Parameters
    ----------
    gammas, costs : tuple of float
        The SVM grid.
    folds : int, default 10
        Cross-validation folds of the SVM grid.
    fold_seed : int, default 0
        Seed of the stratified folds.
    backend : str, default "libsvm"
        Library of ``solver="libsvm"``.
    solver : {"pisvm", "libsvm"}, default "pisvm"
        The SVM grid's solver (see ``pisvm-grid --solver``).
    pca : int, default 4
        Principal components profiled for ``svm-ap`` and ``svm-sdap``.
    area : tuple of float, default :data:`features.profiles.AREA_THRESHOLDS`
        Area thresholds of the (self-dual) attribute profiles, in pixels.
    adjacency : {4, 8}, default 4
    epochs : int, default 600
    batch : int, default 50
    window : int, default 9
        CNN window side, pixels.
    cnn_seed : int, default 0
    """

    gammas: tuple = SEED_GAMMAS
    costs: tuple = SEED_COSTS
    folds: int = 10
    fold_seed: int = 0
    backend: str = "libsvm"
    solver: str = "pisvm"
    pca: int = 4
    area: tuple = AREA_THRESHOLDS
    adjacency: int = 4
    epochs: int = 600
    batch: int = 50
    window: int = 9
    cnn_seed: int = 0

    def key(self, method, split=None):
        """Short hash of what shapes ``method``'s result (its cache folder's suffix).

        Parameters
        ----------
        method : str
            A method of :data:`compare.METHODS`, or "features".
        split : str, optional
            Checksum of the split's content (:func:`selection_sha256`): two
            different splits of the same name never share a result.
        """
        fields = {"svm-spectra": ("gammas", "costs", "folds", "fold_seed", "backend", "solver"),
                  "svm-ap": ("gammas", "costs", "folds", "fold_seed", "backend", "solver", "pca", "area", "adjacency"),
                  "svm-sdap": ("gammas", "costs", "folds", "fold_seed", "backend", "solver", "pca", "area"),
                  "cnn": ("epochs", "batch", "window", "cnn_seed"),
                  "features": ("pca", "area", "adjacency")}[method]
        shaping = {name: getattr(self, name) for name in fields}
        if split is not None:
            shaping["split"] = split
        return _digest(shaping)[:10]

    def check(self, methods, n_bands):
        """Raise ValueError naming the first option ``methods`` cannot run with, before anything runs.

        Parameters
        ----------
        methods : list of str
        n_bands : int
            Spectral bands of the scene (the most principal components).
        """
        if any(method.startswith("svm") for method in methods):
            check_grid(list(self.gammas), list(self.costs))
            check_folds(self.folds)
            make_solver(self.solver, self.backend, {})
        if "svm-ap" in methods or "svm-sdap" in methods:
            if not 1 <= self.pca <= n_bands:
                raise ValueError(f"pca == {self.pca}, must be in [1, {n_bands}] (the scene's bands)")
            if not self.area or min(self.area) <= 0:
                raise ValueError(f"area == {list(self.area)}, must be thresholds > 0")
        if "svm-ap" in methods:
            from features.trees import ADJACENCIES

            if self.adjacency not in ADJACENCIES:
                raise ValueError(f"adjacency == {self.adjacency}, must be in {ADJACENCIES}")
        if "cnn" in methods:
            from cnn.config import CNNConfig

            CNNConfig(window_px=self.window, epochs=self.epochs, batch_size=self.batch, seed=self.cnn_seed)


@dataclasses.dataclass(frozen=True)
class SplitSpec:
    """One train/test split: an existing selection file, or a sampling to run.

    Give either ``path`` or ``mode``/``fraction``/``seed``.
    """

    path: str = None
    mode: str = None
    fraction: float = None
    seed: int = 0

    @property
    def tag(self):
        if self.path is not None:
            return os.path.splitext(os.path.basename(self.path))[0]
        if self.mode == "random":
            return f"{self.mode}-{self.fraction:g}-{self.seed}"
        return f"{self.mode}-{self.fraction:g}"  # cluster sampling is deterministic


def _digest(obj):
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def selection_sha256(selection, info):
    """Checksum of a split's content: its pixel roles and the training statistics the CNN normalises with."""
    digest = hashlib.sha256(repr(selection.shape).encode())
    digest.update(np.ascontiguousarray(selection, dtype="<i1").tobytes())
    for key in ("mean", "stddev"):
        if info.get(key) is not None:
            digest.update(np.ascontiguousarray(info[key], dtype="<f8").tobytes())
    return digest.hexdigest()


def _pixels_sha256(mask):
    return hashlib.sha256(np.flatnonzero(mask).astype("<i8").tobytes()).hexdigest()


def check_split(selection, labels, name, folds=None):
    """Raise ValueError unless the selection fits the scene's labels (same scene, classes trainable).

    With ``folds`` (SVM methods), its largest class must have at least that
    many training pixels, as :func:`pisvm.data.folds.stratified_folds` needs.
    """
    chosen = selection != 0
    if np.any(chosen & (labels == 0)):
        raise ValueError(f"split {name}: {int(np.sum(chosen & (labels == 0)))} selected pixels are unlabelled "
                         "in this scene (a split from another scene?)")
    if not np.any(selection == TRAIN) or not np.any(selection == TEST):
        raise ValueError(f"split {name}: needs both training (2) and test (1) pixels")
    missing = np.setdiff1d(labels[selection == TEST], labels[selection == TRAIN])
    if len(missing):
        raise ValueError(f"split {name}: class {missing[0]} has test pixels but no training pixel")
    if folds is not None:
        largest = int(np.unique(labels[selection == TRAIN], return_counts=True)[1].max())
        if largest < folds:
            raise ValueError(f"split {name}: -v {folds} folds, but its largest class has only {largest} training "
                             "pixels: lower -v or raise --fraction")


REPORT_FILES = ("scene.json", "report.json", "report.md")
"""The files a comparison writes at the top of its output folder (and ``maps-<split>.png``)."""


def check_out_folder(paths, scene_path, specs):
    """Raise ValueError (one line) when a file of ``paths`` is one of the comparison's inputs, the scene or a split.

    Only paths in existing folders are compared (a new folder holds no
    input).  ``splits/`` and ``features/`` files are written only when absent,
    so they never replace an input.
    """
    inputs = [scene_path] + [spec.path for spec in specs]
    check_outputs([path for path in paths if os.path.isdir(os.path.dirname(path) or ".")], inputs)


def method_folder(method, spec, split_sha, options, out_dir):
    """The folder of ``method``'s results on a split: ``<out_dir>/<split>/<method>-<key>``."""
    return os.path.join(out_dir, spec.tag, f"{method}-{options.key(method, split=split_sha)}")


def method_files(method, spec, split_sha, options, out_dir):
    """The files :func:`run_method` will write for ``method`` on a split: none when its result is cached."""
    folder = method_folder(method, spec, split_sha, options, out_dir)
    names = ["label_map.npy", "result.json"]
    if all(os.path.exists(os.path.join(folder, name)) for name in names):
        return []
    if method == "cnn":
        from cnn.checks import TRAINING_FILES

        names += [os.path.join("model", name) for name in TRAINING_FILES]
    else:
        names += [name for name in RESULT_FILES if name != "model"]  # the grid keeps no model here
    return [os.path.join(folder, name) for name in names]


def _split_sha(spec, sampled, given, out_dir, shape):
    """:func:`selection_sha256` of a split, from :func:`sample_split`'s result, before anything is written."""
    if spec.path is not None:
        return selection_sha256(*given[spec.tag])
    selection, pending = sampled
    if pending is None:  # cached in splits/
        return selection_sha256(*read_selection(os.path.join(out_dir, "splits", f"{spec.tag}.h5"), shape=shape))
    return selection_sha256(selection, {"mean": pending[0], "stddev": pending[1]})


def load_inputs(scene_path, specs, methods, options, out_dir):
    """Read and check the scene, every given split and every option before anything is written or run.

    Returns
    -------
    data : ndarray of shape (n_rows, n_cols, n_bands)
    labels : ndarray of shape (n_rows, n_cols)
    given : dict
        ``{tag: (selection, info)}`` of the split files given.
    scene_sha : str
    """
    from . import METHODS

    for method in methods:
        if method not in METHODS:
            raise ValueError(f"method {method!r} not in {{{', '.join(repr(m) for m in METHODS)}}}")
    check_out_folder([os.path.join(out_dir, name) for name in REPORT_FILES]
                     + [os.path.join(out_dir, f"maps-{spec.tag}.png") for spec in specs], scene_path, specs)
    data, labels = read_scene(scene_path)
    if not np.any(labels > 0):
        raise ValueError(f"{scene_path}: no labelled pixel (labels are all 0)")
    options.check(methods, data.shape[2])
    given = {}
    for spec in specs:
        if spec.path is not None:
            selection, info = read_selection(spec.path, shape=labels.shape)
            check_split(selection, labels, spec.path, _folds(methods, options))
            given[spec.tag] = (selection, info)
    scene_sha = sha256_file(scene_path)
    marker = os.path.join(out_dir, "scene.json")
    if os.path.exists(marker):
        with open(marker, encoding="utf-8") as stream:
            cached = json.load(stream)
        if cached.get("sha256") != scene_sha:
            raise ValueError(f"{out_dir} caches a comparison of another scene ({cached.get('path')}); "
                             "choose another --out")
    return data, labels, given, scene_sha


def _folds(methods, options):
    """The cross-validation folds a split must allow: ``options.folds`` when an SVM runs, else None."""
    return options.folds if any(method.startswith("svm-") for method in methods) else None


def sample_split(spec, data, labels, given, out_dir, folds=None):
    """A split's selection, checked, before anything is written: ``(selection, pending)``.

    ``pending`` is None for a given or cached split, else what
    :func:`prepare_split` writes to the cache: ``(mean, stddev, attrs)``.
    """
    if spec.path is not None:
        return given[spec.tag][0], None
    path = os.path.join(out_dir, "splits", f"{spec.tag}.h5")
    pending = None
    if os.path.exists(path):
        selection, _ = read_selection(path, shape=labels.shape)
    else:
        selection, attrs = make_selection(labels, spec.mode, spec.fraction, data=data, random_state=spec.seed)
        pending = (*training_statistics(data, selection), attrs)
    check_split(selection, labels, spec.tag, folds)
    return selection, pending


def prepare_split(spec, data, labels, given, out_dir, sampled):
    """Return ``(selection, info)`` of a split: from the given file, or the cache (written now if ``sampled``).

    ``sampled`` is :func:`sample_split`'s result for ``spec``.
    """
    if spec.path is not None:
        selection, info = given[spec.tag]
    else:
        path = os.path.join(out_dir, "splits", f"{spec.tag}.h5")
        selection, pending = sampled
        if pending is not None:
            mean, stddev, attrs = pending
            os.makedirs(os.path.dirname(path), exist_ok=True)
            write_selection(path, selection, mean, stddev, **attrs)
        selection, info = read_selection(path, shape=labels.shape)
    params = {key: (value.tolist() if isinstance(value, (np.ndarray, np.generic)) else value)
              for key, value in info.items() if key not in ("mean", "stddev")}
    return selection, dict(info, params=params, sha256=selection_sha256(selection, info))


def attribute_profile_pixels(data, options, out_dir, kind="ap"):
    """Attribute profiles of the whole scene as pixels, shape (n_rows * n_cols, n_features); cached.

    ``kind`` "ap": extended attribute profiles (max- and min-trees); "sdap":
    extended self-dual attribute profiles (tree of shapes), both over the
    first ``options.pca`` principal components with the area thresholds.
    """
    path = os.path.join(out_dir, "features", f"{kind}-{options.key('features')}.npy")
    if os.path.exists(path):
        return np.load(path)
    import features

    started = time.perf_counter()
    if kind == "sdap":
        profiles = features.extended_self_dual_profiles(data, options.pca, {"area": list(options.area)})
    else:
        profiles = features.extended_profiles(data, options.pca, {"area": list(options.area)},
                                              adjacency=options.adjacency)
    pixels = np.ascontiguousarray(profiles.reshape(profiles.shape[0], -1).T)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with atomic_path(path) as tmp:
        np.save(tmp, pixels)
    print(f"pisvm-compare: {kind} profiles {pixels.shape[1]} features in {time.perf_counter() - started:.1f} s",
          flush=True)
    return pixels


def _svm_problem(pixels, labels, selection, options):
    flat_labels, flat_selection = labels.reshape(-1), selection.reshape(-1)
    train = (flat_selection == TRAIN) & (flat_labels > 0)
    # [0, 1] from the training pixels only; other pixels are not clipped (svm-scale -r).
    pixels = np.asarray(pixels, dtype=np.float64)
    scaler = fit_unit_scaling(pixels, train)
    X_train, X_all = scaler.transform(pixels[train]), scaler.transform(pixels)
    y_train = flat_labels[train]
    fold = stratified_folds(y_train, n_splits=options.folds, random_state=options.fold_seed)
    return Problem(X_train, y_train, fold), X_all


def run_svm(method, pixels, labels, selection, options, folder, comm=None, name=None):
    """Grid search on the training pixels (all ranks, :func:`pisvm.grid.run.run_grid`), then the best cell
    on the whole scene (rank 0).

    The grid's journal and result files (grid.json, table.md, ...) go to ``folder``.
    Returns the result dict and the label map (rank 0).
    """
    problem, X_all = _svm_problem(pixels, labels, selection, options)
    header = {"data_sha256": _pixels_sha256(selection.reshape(-1) == TRAIN), "test_sha256": None,
              "gammas": list(options.gammas), "costs": list(options.costs), "folds": options.folds,
              "seed": options.fold_seed, "backend": options.backend, "svm_solver": options.solver,
              "solver": method}
    job = GridJob(problem=problem, gammas=list(options.gammas), costs=list(options.costs), backend=options.backend,
                  solver={}, header=header, metadata={"data": name or method},
                  svm_solver=options.solver)
    started = time.perf_counter()
    summary, _ = run_grid(lambda: job, folder, comm=comm, resume=True, progress=False, prog=PROG)
    selection_s = time.perf_counter() - started
    best = summary["best"]
    started = time.perf_counter()
    # The best cell fitted by the grid's own solver (as pisvm-grid --save-model), or by ThunderSVM.
    if options.backend == "libsvm":
        model = train_model(problem.X, problem.y, {"gamma": best["gamma"], "C": best["C"], "solver": options.solver})
    else:
        model = make_backend(options.backend).fit(problem.X, problem.y, best["gamma"], best["C"])
    train_s = time.perf_counter() - started
    started = time.perf_counter()
    label_map = np.asarray(model.predict(X_all)).astype(np.int64).reshape(labels.shape)
    predict_s = time.perf_counter() - started
    result = {"best_params": {"gamma": best["gamma"], "C": best["C"], "cv_accuracy": best["accuracy"]},
              "model_selection_s": selection_s, "train_s": train_s, "predict_s": predict_s,
              "n_features": int(pixels.shape[1]),
              "grid": [{key: cell[key] for key in ("gamma", "C", "accuracy")} for cell in summary["cells"]]}
    return result, label_map


def run_cnn(data, labels, selection, info, options, folder):
    """Train the 3D-CNN on the training pixels (validation cut from them) and predict the whole scene.

    TensorFlow's start-up log is kept off the terminal unless TF_CPP_MIN_LOG_LEVEL is set
    (:func:`cnn.quiet.import_tensorflow_quietly`).
    """
    from cnn.quiet import import_tensorflow_quietly

    import_tensorflow_quietly()
    import cnn

    config = cnn.CNNConfig(window_px=options.window, epochs=options.epochs, batch_size=options.batch,
                           seed=options.cnn_seed)
    started = time.perf_counter()
    trained = cnn.train_model(data, labels, selection, config, out_dir=os.path.join(folder, "model"),
                              mean=info.get("mean"), stddev=info.get("stddev"), verbose=2,
                              on_warning=lambda message: print(f"pisvm-compare: warning: cnn: {message}",
                                                               file=sys.stderr, flush=True))
    train_s = time.perf_counter() - started
    started = time.perf_counter()
    label_map = cnn.predict_scene(trained.model, data, trained.mean, trained.stddev, options.window,
                                  classes=trained.classes)
    predict_s = time.perf_counter() - started
    result = {"best_params": {"epochs": options.epochs, "batch": options.batch, "window": options.window,
                              "checkpoint": "best validation accuracy (validation pixels cut from training)"},
              "train_s": train_s, "predict_s": predict_s, "training_warnings": list(trained.warnings),
              "history": trained.history}
    return result, label_map


def run_method(method, spec, selection, info, data, labels, options, out_dir, comm=None):
    """Run (or load from the cache) one method on one split; return its result dict and label map."""
    folder = method_folder(method, spec, info["sha256"], options, out_dir)
    result_path = os.path.join(folder, "result.json")
    map_path = os.path.join(folder, "label_map.npy")
    if os.path.exists(result_path) and os.path.exists(map_path):
        with open(result_path, encoding="utf-8") as stream:
            result = json.load(stream)
        result["cached"] = True
        return result, np.load(map_path)
    os.makedirs(folder, exist_ok=True)
    if method == "cnn":
        result, label_map = run_cnn(data, labels, selection, info, options, folder)
    else:
        n_pixels = labels.size
        pixels = (data.reshape(n_pixels, -1).astype(np.float64) if method == "svm-spectra"
                  else attribute_profile_pixels(data, options, out_dir, kind=method[len("svm-"):]))
        result, label_map = run_svm(method, pixels, labels, selection, options, folder, comm,
                                    name=f"{spec.tag}: {method}")
    train = selection == TRAIN
    test = (selection == TEST) & (labels > 0)
    result.update(method=method, split=spec.tag, split_sha256=info["sha256"],
                  train_pixels_sha256=_pixels_sha256(train), test_pixels_sha256=_pixels_sha256(test),
                  n_train=int(train.sum()), n_test=int(test.sum()),
                  test=classification_report(y_true=labels[test], y_pred=label_map[test],
                                             labels=np.unique(labels[labels > 0])))
    if method == "cnn":
        from cnn.collapse import final_warnings

        for message in final_warnings(result.pop("history", {}), result["test"]):
            print(f"pisvm-compare: warning: cnn: {message}", file=sys.stderr, flush=True)
            result["training_warnings"].append(message)
    with atomic_path(map_path) as tmp:
        np.save(tmp, label_map)
    write_atomic(result_path, json.dumps(result, indent=1) + "\n")
    result["cached"] = False
    return result, label_map


def run_comparison(scene_path, specs, methods, options, out_dir, comm=None):
    """Run every method on every split; write and return the report (rank 0).

    Parameters
    ----------
    scene_path : str
        Scene HDF5 file.
    specs : list of SplitSpec
    methods : list of str
        Names from :data:`compare.METHODS`.
    options : CompareOptions
    out_dir : str
        Output and cache folder.
    comm : mpi4py.MPI.Comm, optional
        Under MPI, rank 0 runs the pipeline and every rank joins the SVM grids.

    Returns
    -------
    dict or None
        The report on rank 0 (see :func:`compare.report.write_report`); None elsewhere.
    """
    if comm is not None and comm.rank != 0:
        serve_grids(comm, prog=PROG)
        return None
    try:
        data, labels, given, scene_sha = load_inputs(scene_path, specs, methods, options, out_dir)
        # Every split is sampled and checked (folds against its classes) before anything is written.
        sampled = [sample_split(spec, data, labels, given, out_dir, _folds(methods, options)) for spec in specs]
        # No file a method will write may be an input (the method folders' names hash the splits' content).
        check_out_folder([path for spec, split in zip(specs, sampled)
                          for method in methods
                          for path in method_files(method, spec, _split_sha(spec, split, given, out_dir, labels.shape),
                                                   options, out_dir)], scene_path, specs)
        os.makedirs(out_dir, exist_ok=True)
        write_atomic(os.path.join(out_dir, "scene.json"),
                     json.dumps({"path": os.path.abspath(scene_path), "sha256": scene_sha,
                                 "shape": list(data.shape)}) + "\n")
        splits = []
        for spec, split in zip(specs, sampled):
            selection, info = prepare_split(spec, data, labels, given, out_dir, split)
            results, maps = {}, {}
            for method in methods:
                print(f"pisvm-compare: {spec.tag}: {method} ...", flush=True)
                results[method], maps[method] = run_method(method, spec, selection, info, data, labels, options,
                                                           out_dir, comm)
                test = results[method]["test"]
                print(f"pisvm-compare: {spec.tag}: {method}: OA {100 * test['overall_accuracy']:.2f} %, "
                      f"AA {100 * test['average_accuracy']:.2f} %, kappa {test['kappa']:.4f}"
                      + (" (cached)" if results[method]["cached"] else ""), flush=True)
            for key in ("train_pixels_sha256", "test_pixels_sha256"):
                if len({results[m][key] for m in methods}) != 1:
                    raise RuntimeError(f"split {spec.tag}: methods saw different {key.split('_')[0]} pixels")
            splits.append({"split": spec.tag, "params": info["params"], "methods": results, "maps": maps,
                           "selection": selection})
        return write_report(out_dir, scene_path, labels, splits, methods, options)
    finally:
        if comm is not None:
            end_grids(comm)
