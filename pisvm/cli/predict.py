"""pisvm-predict: predict a LibSVM test file or a whole scene with a LIBSVM model (svm-predict's habits).

    pisvm-predict test.el train.el.model test.el.predict --report report.json
    mpirun -n 16 pisvm-predict test.el model predictions
    pisvm-predict features.h5 model map.h5 --range ap.range

A text file gets one label per line in input order, and prints
``Accuracy = 91.3% (1826/2000) (classification)`` as svm-predict does.  Under
mpirun the file is split into equal byte ranges: each rank reads and
predicts only the lines that start in its range.  An HDF5 scene (``data`` of
shape (rows, cols, features), as written by pisvm-features or pisvm-data)
gets a classification map, OUTPUT as HDF5 (``map``) and OUTPUT's name with
``.png``; ``--range`` scales it as the training file was scaled.
"""

import json
import os
import resource
import sys
import time

import numpy as np

from ..data.atomic import atomic_paths, check_outputs, is_stream, write_atomic
from ..transport import decided_by_root, gather_when_ready, settle
from .common import CollectiveError, OneLineParser, number, run_mpi

PROG = "pisvm-predict"


def build_parser():
    parser = OneLineParser(prog=PROG, description=__doc__.split("\n\n")[0])
    parser.add_argument("test", help="LibSVM test file, or a scene/features HDF5 file")
    parser.add_argument("model", help="LIBSVM model file (pisvm-train, pisvm-grid, svm-train)")
    parser.add_argument("output", help="predicted labels, one per line (a scene: the map as HDF5, and a PNG)")
    parser.add_argument("--report", metavar="FILE.json", help="OA, AA, kappa, per-class accuracy and F1, "
                                                              "confusion matrix as JSON")
    parser.add_argument("--range", metavar="FILE", help="svm-scale range file: scale a scene's features as the "
                                                        "training data was scaled (pisvm-features writes one)")
    parser.add_argument("--ignore-labels", action="store_true",
                        help="the file's labels are placeholders: no accuracy, any label accepted")
    parser.add_argument("--chunk-mb", type=number(float, 0), default=4.0,
                        help="working memory of the predictor per chunk of rows, MB")
    parser.add_argument("--threads", type=number(int, 0), default=1, help="BLAS threads per rank")
    parser.add_argument("-q", "--quiet", action="store_true", help="no timing line on stderr")
    return parser


def _is_hdf5(path):
    import h5py

    return h5py.is_hdf5(path)


def _setup(args):
    """Rank 0: read the model and check every input and output before any work."""
    from ..svm.model import read_model

    scene = os.path.isfile(args.test) and _is_hdf5(args.test)
    if scene and is_stream(args.output):
        raise ValueError(f"{args.output}: a scene's map is an HDF5 file and a PNG beside it: give a file name, "
                         "not a stream")
    outputs = [args.output, _png_path(args.output) if scene else None, args.report]
    check_outputs(outputs, [args.test, args.model, args.range])
    model = read_model(args.model)
    if os.path.isdir(args.test):
        raise ValueError(f"{args.test}: is a folder, not a file")
    if not os.path.isfile(args.test):
        raise ValueError(f"{args.test}: no such file")
    with open(args.test, "rb"):
        pass
    scaling = None
    if args.range:
        from ..data.ranges import read_ranges

        scaling = read_ranges(args.range)
    setup = {"model": model, "scaling": scaling, "scene": _is_hdf5(args.test)}
    if setup["scene"]:
        import h5py

        with h5py.File(args.test, "r") as h5:
            if "data" not in h5 or h5["data"].ndim != 3:
                raise ValueError(f"{args.test}: no 3-D 'data' dataset (a scene file holds data (rows, cols, "
                                 "features) and labels)")
            setup["shape"] = h5["data"].shape
            setup["has_labels"] = "labels" in h5 and h5["labels"].shape == h5["data"].shape[:2]
        n_bands = setup["shape"][2]
        if n_bands != model.n_features:
            raise ValueError(f"{args.test}: {n_bands} features (bands), the model {args.model} has "
                             f"{model.n_features} features: predict the scene the model was trained on")
        if scaling is not None and scaling[2] and max(scaling[2]) >= n_bands:
            raise ValueError(f"{args.range}: ranges up to feature {max(scaling[2]) + 1}, the scene and the model "
                             f"have {n_bands} features: the range file of another feature set")
    elif scaling is not None:
        raise ValueError("--range scales scenes only (scale LibSVM text files with svm-scale -r)")
    return setup


def _png_path(path):
    return os.path.splitext(path)[0] + ".png"


def _read_text_share(path, rank, size, comm, n_features):
    """This rank's lines of the text file: bytes, line number of the first line, samples, labels, widest index, error.

    Features beyond the model's ``n_features`` are folded (:func:`_fold_extra_features`).
    """
    from ..data.libsvm import byte_share, count_lines, parse_libsvm

    start, stop = byte_share(path, rank, size)
    with open(path, "rb") as stream:
        stream.seek(start)
        data = stream.read(stop - start)
    n_lines = count_lines(data)
    first_line = 1
    if comm is not None:
        settle(comm)
        first_line += comm.exscan(n_lines) or 0
    try:
        X, y = parse_libsvm(data, path, first_line)
        error = None
        width = X.shape[1]
        X = _fold_extra_features(X, n_features)
    except ValueError as failure:
        X = y = width = None
        error = str(failure)
    return data, first_line, X, y, width, error


def _fold_extra_features(X, n_features):
    """Features beyond the model's folded into one column, their root sum of squares.

    The support vectors are 0 there, so these features add nothing to
    ``x . sv`` and exactly their squares to ``|x|^2`` (svm-predict walks
    them too): an index of 10**9 costs one column, not 10**9.

    Parameters
    ----------
    X : scipy.sparse.csr_matrix of shape (n_rows, n_test_features)
    n_features : int
        The model's features.

    Returns
    -------
    scipy.sparse.csr_matrix of shape (n_rows, min(n_test_features, n_features + 1))
    """
    from scipy import sparse

    if X.shape[1] <= n_features + 1:
        return X
    extra = X[:, n_features:]
    norms = np.sqrt(np.asarray(extra.multiply(extra).sum(axis=1)).reshape(-1, 1))
    return sparse.hstack([X[:, :n_features], sparse.csr_matrix(norms)], format="csr")


def _read_scene_share(path, rank, size, shape, has_labels):
    """This rank's image rows of a scene: pixels (n_pixels, n_features) and ground truth (n_pixels,)."""
    import h5py

    first, last = shape[0] * rank // size, shape[0] * (rank + 1) // size
    with h5py.File(path, "r") as h5:
        X = h5["data"][first:last].reshape(-1, shape[2]).astype(np.float64)
        y = h5["labels"][first:last].reshape(-1).astype(np.float64) if has_labels else np.zeros(len(X))
    error = None
    if not np.isfinite(X).all():
        pixel = np.flatnonzero(~np.isfinite(X).all(axis=1))[0]
        error = f"{path}: data at pixel (row {first + pixel // shape[1]}, col {pixel % shape[1]}) is not finite"
    return X, y, error


def _first_error(errors):
    """The first of the ranks' error messages (rank order is file order), or None."""
    return next((error for error in errors if error is not None), None)


def _gather(comm, value):
    """Every rank's ``value`` on every rank; the ranks wait for each other without spinning a core."""
    if comm is None:
        return [value]
    settle(comm)
    return comm.allgather(value)


def _unknown_label(y, model, where, unlabelled=None):
    """Message naming the first label of ``y`` that is not a class of ``model`` (nor ``unlabelled``), or None."""
    unknown = ~np.isin(y, model.labels)
    if unlabelled is not None:
        unknown &= y != unlabelled
    if not unknown.any():
        return None
    k = int(np.flatnonzero(unknown)[0])
    return (f"{where(k)}: label {y[k]:g} is not a class of the model (classes "
            f"{', '.join(f'{label:g}' for label in model.labels)}); --ignore-labels predicts without accuracy")


def _write_labels(path, labels):
    """One label per line (``%.17g``, as svm-predict prints them)."""
    with open(path, "w", encoding="ascii") as stream:
        stream.write("".join(f"{label:.17g}\n" for label in labels))


def _write_map(path, png_path, label_map, truth, model, source):
    """The classification map as HDF5 (``map``, ``labels`` when known) and PNG."""
    import h5py

    from ..results.maps import plot_classification_map

    with h5py.File(path, "w") as h5:
        h5.create_dataset("map", data=label_map.astype(np.int32), compression="gzip")
        if truth is not None:
            h5.create_dataset("labels", data=truth.astype(np.int32), compression="gzip")
        h5.attrs["source"] = os.fspath(source)
        h5.attrs["classes"] = model.labels.astype(np.int64)
    plot_classification_map(png_path, label_map, truth, title=f"{os.path.basename(os.fspath(source))}: SVM")


def _main(argv, comm):
    from threadpoolctl import threadpool_limits

    from ..data.libsvm import sample_lines
    from ..data.ranges import scale_features
    from ..results.metrics import classification_report
    from ..svm.predict import predict

    rank, size = (0, 1) if comm is None else (comm.rank, comm.size)
    args = build_parser().parse_args(argv)
    started = time.perf_counter()
    setup = decided_by_root(lambda: _setup(args), comm)
    model = setup["model"]

    if setup["scene"]:
        shape = setup["shape"]
        X, y, error = _read_scene_share(args.test, rank, size, shape, setup["has_labels"])
        if error is None and setup["scaling"] is not None:
            try:
                X = scale_features(X, *setup["scaling"], name=args.test)
            except ValueError as failure:
                error = f"{args.range}: {failure}"
        first_pixel = shape[1] * (shape[0] * rank // size)
        check_labels = setup["has_labels"] and not args.ignore_labels
        if error is None and check_labels:
            error = _unknown_label(y, model, lambda k: f"{args.test}: pixel (row {(first_pixel + k) // shape[1]}, "
                                                       f"col {(first_pixel + k) % shape[1]})", unlabelled=0)
    else:
        data, first_line, X, y, width, error = _read_text_share(args.test, rank, size, comm, model.n_features)
        check_labels = not args.ignore_labels
        if error is None and check_labels:
            error = _unknown_label(y, model, lambda k: f"{args.test}:{sample_lines(data, first_line)[k]}")
        del data
    error = _first_error(_gather(comm, error))
    if error is not None:
        raise CollectiveError(error)
    counts = _gather(comm, (len(y), X.shape[1] if setup["scene"] else width))
    n_total = sum(n for n, _ in counts)
    if n_total == 0:
        raise CollectiveError(f"{args.test}: no samples (empty file)")
    width = max(w for _, w in counts)
    if rank == 0 and width > model.n_features and not setup["scene"]:
        print(f"{PROG}: warning: {args.test} has feature indices up to {width}, the model's support vectors up to "
              f"{model.n_features}: the missing SV features are 0 (as in svm-predict)", file=sys.stderr, flush=True)

    clock = time.perf_counter()
    with threadpool_limits(limits=args.threads):
        predicted = predict(model, X, chunk_mb=args.chunk_mb)
    predict_s = time.perf_counter() - clock
    usage = resource.getrusage(resource.RUSAGE_SELF)
    mine = (predicted, y, usage.ru_maxrss / 1024, predict_s, usage.ru_utime + usage.ru_stime)
    parts = [mine] if comm is None else gather_when_ready(mine, comm)
    if rank != 0:
        return 0
    predicted = np.concatenate([p[0] for p in parts])
    truth = np.concatenate([p[1] for p in parts])
    scored = truth > 0 if setup["scene"] else np.ones(len(truth), dtype=bool)
    report = None
    if check_labels and scored.any():
        correct = int(np.sum(predicted[scored] == truth[scored]))
        total = int(scored.sum())
        report = classification_report(truth[scored], predicted[scored], labels=np.union1d(model.labels,
                                                                                             truth[scored]))
    png_path = _png_path(args.output) if setup["scene"] else None
    with atomic_paths(args.output, png_path, args.report) as (output, png, report_path):  # all or none
        if setup["scene"]:
            shape = setup["shape"]
            _write_map(output, png, predicted.reshape(shape[:2]),
                       truth.reshape(shape[:2]) if setup["has_labels"] else None, model, args.test)
        else:
            _write_labels(output, predicted)
        if report_path:
            document = {"test": args.test, "model": args.model, "output": args.output, "n_samples": int(n_total),
                        "ranks": size, "predict_s_per_rank": [p[3] for p in parts],
                        "peak_rss_mb_per_rank": [p[2] for p in parts], "cpu_s_per_rank": [p[4] for p in parts],
                        "wall_s": time.perf_counter() - started,
                        "report": report}
            write_atomic(report_path, json.dumps(document, indent=1) + "\n")
    if report is not None:
        print(f"Accuracy = {100 * correct / total:g}% ({correct}/{total}) (classification)", flush=True)
    if not args.quiet:
        print(f"{PROG}: {n_total} samples predicted on {size} rank(s) in {time.perf_counter() - started:.2f} s "
              f"(prediction {max(p[3] for p in parts):.2f} s); peak memory per rank "
              f"{', '.join(f'{p[2]:.0f}' for p in parts)} MB -> {args.output}", file=sys.stderr, flush=True)
    return 0


def main(argv=None):
    run_mpi(_main, PROG, argv)


if __name__ == "__main__":
    main()
