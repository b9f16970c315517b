"""Input checks of the CNN side that need no TensorFlow (the CLI runs them before importing it)."""

import numpy as np

from pisvm.data.selection import TEST, TRAIN

TRAINING_FILES = ("config.json", "classes.json", "history.csv", "checkpoint.keras", "checkpoint.json",
                  "best.weights.h5", "model.keras")
"""The files :func:`cnn.train.train_model` writes into its ``out_dir``."""

RESULT_FILES = ("results.txt", "results.json", "classification_map.png", "classification_map.npy")
"""The files :func:`cnn.predict.write_results` writes into its ``out_dir``."""


def check_window(window_px, shape):
    """Raise ``ValueError`` unless ``window_px`` is odd, >= 1 and fits in a scene of ``shape`` (n_rows, n_cols)."""
    if isinstance(window_px, bool) or int(window_px) != window_px or window_px < 1:
        raise ValueError(f"window_px == {window_px}, must be an odd integer >= 1")
    if window_px % 2 == 0:
        raise ValueError(f"window_px == {window_px}, must be odd")
    if window_px > min(shape[:2]):
        raise ValueError(f"window_px == {window_px} is larger than the scene ({shape[0]}x{shape[1]} pixels)")
    return int(window_px)



def check_inputs(data, labels, selection, window_px):
    """Validate a scene, its selection and the window; raise ``ValueError`` with one line.

    Checks: ``data`` 3-D and finite, ``labels`` and ``selection`` of shape
    (n_rows, n_cols), ``window_px`` odd and not larger than the scene, at
    least two classes with training pixels, and every class with test
    pixels having a training pixel.

    Returns
    -------
    classes : ndarray of shape (class_count,), dtype int64
        Sorted labels of the training pixels.
    """
    data = np.asarray(data)
    if data.ndim != 3:
        raise ValueError(f"data has shape {data.shape}, must be (n_rows, n_cols, n_bands)")
    if np.shape(labels) != data.shape[:2]:
        raise ValueError(f"labels shape {np.shape(labels)} does not match the scene's {data.shape[:2]}")
    if np.shape(selection) != data.shape[:2]:
        raise ValueError(f"selection shape {np.shape(selection)} does not match the scene's {data.shape[:2]}")
    if np.issubdtype(data.dtype, np.floating) and not np.isfinite(data).all():
        row, col, band = np.argwhere(~np.isfinite(data))[0]
        raise ValueError(f"data[{row}, {col}, {band}] is not finite (NaN or Inf in the cube)")
    check_window(window_px, data.shape)
    labels = np.asarray(labels)
    selection = np.asarray(selection)
    train = (selection == TRAIN) & (labels > 0)
    classes = np.unique(labels[train]).astype(np.int64)
    if len(classes) < 2:
        raise ValueError(f"the selection has training pixels of {len(classes)} class(es), needs >= 2")
    tested = np.unique(labels[(selection == TEST) & (labels > 0)])
    missing = np.setdiff1d(tested, classes)
    if len(missing):
        count = int(((labels == missing[0]) & (selection == TEST)).sum())
        raise ValueError(f"class {missing[0]} has no training pixel ({count} test pixels)")
    return classes
