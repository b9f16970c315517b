"""Whole-scene prediction, test metrics and result files (text, JSON, classification map)."""

import json
from pathlib import Path

import numpy as np

from pisvm.data.selection import TEST
from pisvm.results.maps import plot_classification_map
from pisvm.results.metrics import classification_report, format_report

from .checks import check_window
from .windows import WindowSequence, normalised_padded_cube, window_dataset, window_view


def predict_scene(model, data, mean, stddev, window_px, batch_size=1024, classes=None, mask=None, chunk_batches=64,
                  pipeline="pydataset"):
    """Predict a label for every pixel (or every masked pixel) of a scene.

    Windows are gathered batch by batch from a strided view of the padded,
    normalised cube; only ``chunk_batches`` batches of class probabilities
    exist at a time.

    Parameters
    ----------
    model : keras.Model
        Input (batch, window_px, window_px, n_bands, 1), output (batch, class_count).
    data : ndarray of shape (n_rows, n_cols, n_bands)
    mean, stddev : ndarray of shape (n_bands,)
        The training statistics used in training.
    window_px : int
        Odd window side in pixels, as in training.
    batch_size : int, default 1024
    classes : ndarray of shape (class_count,), optional
        Label of each output unit; default ``1..class_count``.
    mask : ndarray of bool of shape (n_rows, n_cols), optional
        Predict only these pixels; the others get 0.
    chunk_batches : int, default 64
        Batches per ``model.predict`` call (``pipeline='pydataset'``).
    pipeline : {'pydataset', 'tfdata'}, default 'pydataset'
        'tfdata' cuts the windows with :func:`window_dataset` in one
        ``model.predict`` call (the class probabilities of all predicted
        pixels, (n_pixels, class_count) float32, exist at once).

    Returns
    -------
    label_map : ndarray of shape (n_rows, n_cols), dtype int64
    """
    data = np.asarray(data)
    if data.ndim != 3:
        raise ValueError(f"data has shape {data.shape}, must be (n_rows, n_cols, n_bands)")
    check_window(window_px, data.shape)
    if np.issubdtype(data.dtype, np.floating) and not np.isfinite(data).all():
        raise ValueError("the cube holds NaN or Inf")
    class_count = int(model.output_shape[-1])
    classes = np.arange(1, class_count + 1) if classes is None else np.asarray(classes, dtype=np.int64)
    if len(classes) != class_count:
        raise ValueError(f"{len(classes)} classes given, the model has {class_count} outputs")
    if mask is None:
        mask = np.ones(data.shape[:2], dtype=bool)
    elif np.shape(mask) != data.shape[:2]:
        raise ValueError(f"mask shape {np.shape(mask)} does not match the scene's {data.shape[:2]}")
    if pipeline not in ("pydataset", "tfdata"):
        raise ValueError(f"pipeline {pipeline!r} not in {{'pydataset', 'tfdata'}}")
    padded = normalised_padded_cube(data, mean, stddev, window_px)
    rows, cols = np.nonzero(mask)
    label_map = np.zeros(data.shape[:2], dtype=np.int64)
    if pipeline == "tfdata":
        if len(rows):
            probabilities = model.predict(window_dataset(padded, window_px, rows, cols, batch_size=batch_size),
                                          verbose=0)
            label_map[rows, cols] = classes[np.argmax(probabilities, axis=1)]
        return label_map
    windows = window_view(padded, window_px)
    chunk_px = batch_size * chunk_batches
    for start in range(0, len(rows), chunk_px):
        part = slice(start, start + chunk_px)
        batches = WindowSequence(windows, rows[part], cols[part], batch_size=batch_size)
        probabilities = model.predict(batches, verbose=0)
        label_map[rows[part], cols[part]] = classes[np.argmax(probabilities, axis=1)]
    return label_map


def evaluate_test(labels, selection, label_map, classes=None):
    """Metrics of the predicted labels on the test pixels (selection 1).

    ``y_true`` is the ground truth and ``y_pred`` the prediction, so the
    confusion matrix has true classes in rows (the reference code swapped them).

    Returns
    -------
    dict
        :func:`pisvm.results.metrics.classification_report` of the test pixels.
    """
    test = (np.asarray(selection) == TEST) & (np.asarray(labels) > 0)
    if not test.any():
        raise ValueError("the selection has no test pixel")
    return classification_report(y_true=labels[test], y_pred=label_map[test], labels=classes)


def write_results(out_dir, report, label_map, labels=None, split_info=None, extra=None):
    """Write ``results.json``, ``results.txt``, ``classification_map.npy`` and ``classification_map.png``.

    Parameters
    ----------
    out_dir : str or os.PathLike
    report : dict
        From :func:`evaluate_test`.
    label_map : ndarray of shape (n_rows, n_cols)
    labels : ndarray of shape (n_rows, n_cols), optional
        Ground truth, shown beside the map.
    split_info : dict, optional
        Split parameters (``mode``, ``seed``, ...) stored with the results.
    extra : dict, optional
        More JSON-serialisable entries (configuration, timings).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    split = {key: (value.tolist() if isinstance(value, np.ndarray) else
                   value.item() if isinstance(value, np.generic) else value)
             for key, value in (split_info or {}).items() if key not in ("mean", "stddev")}
    content = {"test": report, "split": split, **(extra or {})}
    (out / "results.json").write_text(json.dumps(content, indent=2))
    lines = format_report(report, title="Test")
    lines.append("confusion matrix (rows: true class, columns: predicted class, order: "
                 + " ".join(str(label) for label in report["labels"]) + ")")
    lines.extend(" ".join(f"{count:6d}" for count in row) for row in report["confusion"])
    if split:
        lines.append("split: " + ", ".join(f"{key}={value}" for key, value in sorted(split.items())))
    (out / "results.txt").write_text("\n".join(lines) + "\n")
    np.save(out / "classification_map.npy", label_map)
    plot_classification_map(out / "classification_map.png", label_map, labels)
