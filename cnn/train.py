"""Training of the 3D-CNN: validation split, checkpoints, resume, history.

The checkpoint kept at the end is chosen on a validation part of the
training pixels (``config.validation_fraction``), never on the test pixels:
the reference code saved the weights whenever the *test* loss improved and
reported the accuracy of those weights, which is optimistic.
"""

import csv
import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import NamedTuple

import keras
import numpy as np

from pisvm.data.atomic import atomic_path, write_atomic
from pisvm.data.sampling import training_statistics
from pisvm.data.selection import TRAIN

from .checks import check_inputs
from .collapse import CollapseDetector
from .config import STRATEGIES, CNNConfig
from .model import build_standard_model, compile_model
from .windows import WindowSequence, normalised_padded_cube, window_dataset, window_view


class TrainingResult(NamedTuple):
    """What :func:`train_model` returns.

    Attributes
    ----------
    model : keras.Model
        With the weights of the best validation epoch (the last epoch without validation).
    history : dict of str to list
        Per-epoch ``epoch``, ``loss``, ``accuracy`` (and ``val_loss``, ``val_accuracy``), resumed epochs included.
    classes : ndarray of shape (class_count,), dtype int64
        The label of each output unit.
    mean, stddev : ndarray of shape (n_bands,), dtype float64
        Normalisation statistics (training pixels).
    validation : ndarray of shape (n_rows, n_cols), dtype bool
        The training pixels held out for model selection.
    warnings : tuple of str
        What the class-loss detector said during this run (:mod:`cnn.collapse`); empty if nothing.
    """

    model: object
    history: dict
    classes: np.ndarray
    mean: np.ndarray
    stddev: np.ndarray
    validation: np.ndarray
    warnings: tuple = ()


class ClassCollapseWarning(UserWarning):
    """A class has had no correct training prediction for many epochs, or the training loss is stuck."""


class _CollapseMonitor(keras.callbacks.Callback):
    """After each epoch, predict up to ``per_class`` random training windows of every class and
    feed a :class:`~cnn.collapse.CollapseDetector`; pass each warning to ``report`` (None: keep it quiet)."""

    def __init__(self, windows, rows, cols, targets, detector, per_class, seed, report):
        super().__init__()
        self.windows, self.rows, self.cols, self.targets = windows, rows, cols, targets
        self.detector = detector
        self.per_class = per_class
        self.seed = seed
        self.report = report
        self.members = [np.flatnonzero(targets == index) for index in range(len(detector.classes))]

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        rng = np.random.default_rng([self.seed, epoch])
        chosen = np.concatenate([rng.permutation(members)[:self.per_class] for members in self.members])
        # model.predict, not a direct call: on a diverging model the eager call gave NaN where predict did not
        windows = self.windows[self.rows[chosen], self.cols[chosen]][..., np.newaxis]
        predicted = np.argmax(self.model.predict(windows, batch_size=256, verbose=0), axis=1)
        truth = self.targets[chosen]
        hits = np.bincount(truth[predicted == truth], minlength=len(self.members))
        hits[[len(members) == 0 for members in self.members]] = 1  # nothing to check: not lost
        for message in self.detector.update(epoch + 1, hits, logs.get("loss", np.nan), logs.get("accuracy")):
            if self.report is not None:
                self.report(message)


def validation_split(labels, selection, fraction, random_state=None):
    """Hold out a per-class share of the training pixels for model selection.

    Each class gives ``min(round(fraction * n_class), n_class - 1)`` pixels,
    so it keeps at least one training pixel.

    Parameters
    ----------
    labels : ndarray of shape (n_rows, n_cols)
    selection : ndarray of shape (n_rows, n_cols)
        2 marks training pixels.
    fraction : float in [0, 1)
    random_state : int or numpy.random.Generator, optional

    Returns
    -------
    fit, validation : ndarray of bool of shape (n_rows, n_cols)
        Disjoint; their union is the training pixels.
    """
    rng = np.random.default_rng(random_state)
    train = (np.asarray(selection) == TRAIN) & (labels > 0)
    validation = np.zeros(train.shape, dtype=bool)
    if fraction > 0:
        flat = validation.reshape(-1)
        for label in np.unique(labels[train]):
            pixels = np.flatnonzero(train.reshape(-1) & (labels.reshape(-1) == label))
            n_held = min(int(round(fraction * len(pixels))), len(pixels) - 1)
            flat[pixels[rng.permutation(len(pixels))[:n_held]]] = True
    return train & ~validation, validation


def choose_strategy(kind="auto"):
    """Pick a ``tf.distribute`` strategy.

    Parameters
    ----------
    kind : {'auto', 'default', 'mirrored', 'multiworker'}, default 'auto'
        'auto': MultiWorkerMirroredStrategy with the SLURM cluster resolver
        when SLURM runs more than one task on more than one node,
        MirroredStrategy over all local GPUs when there are several, else the
        default strategy (one GPU if present, used automatically, or the CPU).

    Returns
    -------
    tf.distribute.Strategy
    """
    import tensorflow as tf

    if kind not in STRATEGIES:
        raise ValueError(f"strategy {kind!r} not in {set(STRATEGIES)}")
    if kind == "auto":
        n_tasks = int(os.environ.get("SLURM_NTASKS", "1") or 1)
        n_nodes = int(os.environ.get("SLURM_JOB_NUM_NODES", os.environ.get("SLURM_NNODES", "1")) or 1)
        if n_tasks > 1 and n_nodes > 1:
            kind = "multiworker"
        elif len(tf.config.list_physical_devices("GPU")) > 1:
            kind = "mirrored"
        else:
            kind = "default"
    if kind == "multiworker":
        resolver = tf.distribute.cluster_resolver.SlurmClusterResolver()
        return tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=resolver)
    if kind == "mirrored":
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def _is_chief(strategy):
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not getattr(resolver, "task_type", None):
        return True
    return resolver.task_type == "chief" or (resolver.task_type == "worker" and resolver.task_id == 0)


class _PeriodicCheckpoint(keras.callbacks.Callback):
    """Every ``every`` epochs (and at the last), save the full model (optimizer state included) for resume."""

    def __init__(self, out_dir, every, total_epochs, best_tracker):
        super().__init__()
        self.out_dir = Path(out_dir)
        self.every = every
        self.total_epochs = total_epochs
        self.best_tracker = best_tracker

    def on_epoch_end(self, epoch, logs=None):
        done = epoch + 1
        if done % self.every and done != self.total_epochs:
            return
        with atomic_path(self.out_dir / "checkpoint.keras") as tmp:
            self.model.save(tmp)
        best = None if self.best_tracker is None else float(self.best_tracker.best)
        state = {"epoch": done, "best": best if best is None or np.isfinite(best) else None}
        write_atomic(self.out_dir / "checkpoint.json", json.dumps(state))


def _read_history(path):
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    history = {}
    for row in rows:
        for key, value in row.items():
            history.setdefault(key, []).append(int(value) if key == "epoch" else float(value.replace("NA", "nan")))
    # CSVLogger writes NA for the validation columns of a run without validation pixels
    return {key: values for key, values in history.items() if not np.isnan(values).all()}


def _truncate_history(path, n_epochs):
    """Keep the header and the rows of the first ``n_epochs`` epochs (rows a kill left past the checkpoint go)."""
    if not path.exists():
        return
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    if not rows:
        return
    kept = [rows[0]] + [row for row in rows[1:] if row and int(row[0]) < n_epochs]
    with open(path, "w", newline="") as handle:
        csv.writer(handle).writerows(kept)


def _warn(message):
    warnings.warn(message, ClassCollapseWarning, stacklevel=2)


def train_model(data, labels, selection, config=None, out_dir=None, mean=None, stddev=None, strategy=None,
                verbose=0, callbacks=(), collapse_patience=25, on_warning=None):
    """Train the standard 3D-CNN on a scene's training pixels.

    Parameters
    ----------
    data : ndarray of shape (n_rows, n_cols, n_bands)
        The cube (any real dtype, finite).
    labels : ndarray of shape (n_rows, n_cols), integer
        0 = unlabelled.
    selection : ndarray of shape (n_rows, n_cols)
        0 removed, 1 test, 2 train (:mod:`pisvm.data.selection`).  Test pixels are
        only checked (every test class needs training pixels), never used.
    config : CNNConfig, optional
        Default ``CNNConfig()`` (the paper's settings, 600 epochs).
    out_dir : str or os.PathLike, optional
        Writes ``config.json``, ``classes.json`` (labels and normalisation),
        ``history.csv``, ``checkpoint.keras``/``checkpoint.json`` every
        ``config.checkpoint_every_epochs`` epochs, ``best.weights.h5`` and the
        final ``model.keras``.  If it already holds a checkpoint of the same
        configuration, training resumes from it.  Without it, nothing is kept
        on disk and there is no resume.
    mean, stddev : ndarray of shape (n_bands,), optional
        Normalisation (from the selection file); default: computed from the training pixels.
    strategy : tf.distribute.Strategy, optional
        Default: :func:`choose_strategy` ``('auto')``.
    verbose : int, default 0
        Keras ``fit`` verbosity.
    callbacks : sequence of keras.callbacks.Callback
        Extra callbacks.
    collapse_patience : int or None, default 25
        Warn when a class has had no correct prediction among up to 32 of its
        training windows (drawn afresh each epoch) for this many epochs in a
        row, or the training loss has not moved (1 %) for this many epochs
        below training accuracy 1 (:class:`cnn.collapse.CollapseDetector`).
        None: no check (it costs one forward pass of up to 32 windows per class per epoch).
    on_warning : callable, optional
        Called with each warning message; default ``warnings.warn`` with
        :class:`ClassCollapseWarning`.  The messages are also in the result's ``warnings``.

    Returns
    -------
    TrainingResult
        ``model``, ``history``, ``classes``, ``mean``, ``stddev``, ``validation``, ``warnings``.
    """
    config = CNNConfig() if config is None else config
    classes = check_inputs(data, labels, selection, config.window_px)
    labels = np.asarray(labels)
    if mean is None or stddev is None:
        mean, stddev = training_statistics(data, selection)
    mean = np.asarray(mean, dtype=np.float64)
    stddev = np.asarray(stddev, dtype=np.float64)
    if mean.shape != (data.shape[2],) or stddev.shape != (data.shape[2],):
        raise ValueError(f"mean/stddev have shapes {mean.shape}/{stddev.shape}, must be ({data.shape[2]},)")
    fit_mask, validation = validation_split(labels, selection, config.validation_fraction, config.seed)
    use_validation = bool(validation.any())

    padded = normalised_padded_cube(data, mean, stddev, config.window_px)
    windows = window_view(padded, config.window_px)
    class_index = np.searchsorted(classes, labels)  # valid where labels are in classes
    fit_rows, fit_cols = np.nonzero(fit_mask)

    strategy = choose_strategy() if strategy is None else strategy
    chief = _is_chief(strategy)
    scratch = None
    if out_dir is None or not chief:
        scratch = tempfile.TemporaryDirectory(prefix="pisvm-cnn-")
        out_dir = scratch.name
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    config_path = out / "config.json"
    if (out / "checkpoint.json").exists() and config_path.exists():
        saved = CNNConfig.from_json(config_path.read_text())
        ignored = {"epochs": config.epochs, "pipeline": config.pipeline,
                   "checkpoint_every_epochs": config.checkpoint_every_epochs}
        if saved.replace(**ignored) != config:
            raise ValueError(f"{out} holds a checkpoint of another configuration; use a new --out or delete it")
    start_epoch, best = 0, None
    with strategy.scope():
        if (out / "checkpoint.json").exists() and (out / "checkpoint.keras").exists():
            state = json.loads((out / "checkpoint.json").read_text())
            start_epoch, best = int(state["epoch"]), state.get("best")
            model = keras.saving.load_model(out / "checkpoint.keras")
        else:
            model = build_standard_model((config.window_px, config.window_px, data.shape[2], 1), len(classes), config)
            compile_model(model, config)
    # Written once the model exists: a start that fails leaves neither file behind.
    write_atomic(config_path, config.to_json())
    write_atomic(out / "classes.json", json.dumps({"classes": classes.tolist(), "mean": mean.tolist(),
                                                   "stddev": stddev.tolist(), "window_px": config.window_px}))

    history_path = out / "history.csv"
    _truncate_history(history_path, start_epoch)
    best_path = out / "best.weights.h5"
    tracker = None
    all_callbacks = [keras.callbacks.CSVLogger(history_path, append=start_epoch > 0)]
    if use_validation:
        mode = "max" if config.monitor == "val_accuracy" else "min"
        tracker = keras.callbacks.ModelCheckpoint(best_path, monitor=config.monitor, mode=mode, save_best_only=True,
                                                  save_weights_only=True, initial_value_threshold=best)
        all_callbacks.append(tracker)
    all_callbacks.append(_PeriodicCheckpoint(out, config.checkpoint_every_epochs, config.epochs, tracker))
    detector = None
    if collapse_patience is not None:
        detector = CollapseDetector(classes, collapse_patience)
        report = None if not chief else _warn if on_warning is None else on_warning  # one voice on multi-worker
        all_callbacks.append(_CollapseMonitor(windows, fit_rows, fit_cols, class_index[fit_rows, fit_cols], detector,
                                              per_class=32, seed=config.seed, report=report))
    all_callbacks.extend(callbacks)

    if start_epoch < config.epochs:
        if config.pipeline == "tfdata":
            fit_data = window_dataset(padded, config.window_px, fit_rows, fit_cols, class_index[fit_rows, fit_cols],
                                      len(classes), config.batch_size, shuffle=True, seed=config.seed + start_epoch)
        else:
            fit_data = WindowSequence(windows, fit_rows, fit_cols, class_index[fit_rows, fit_cols], len(classes),
                                      config.batch_size, shuffle=True, seed=config.seed, start_epoch=start_epoch)
        validation_data = None
        if use_validation:
            val_rows, val_cols = np.nonzero(validation)
            validation_data = WindowSequence(windows, val_rows, val_cols, class_index[val_rows, val_cols],
                                             len(classes), max(config.batch_size, 256))
        model.fit(fit_data, validation_data=validation_data, epochs=config.epochs, initial_epoch=start_epoch,
                  callbacks=all_callbacks, verbose=verbose, shuffle=False)  # the pipelines shuffle themselves
    if use_validation and best_path.exists():
        model.load_weights(best_path)
    model.save(out / "model.keras")
    history = _read_history(history_path) if history_path.exists() else {}
    if scratch is not None:
        scratch.cleanup()
    return TrainingResult(model, history, classes, mean, stddev, validation,
                          () if detector is None else tuple(detector.messages))


def load_trained(out_dir):
    """Load ``model.keras`` and ``classes.json`` written by :func:`train_model`.

    Returns
    -------
    model : keras.Model
    classes : ndarray of shape (class_count,), dtype int64
    mean, stddev : ndarray of shape (n_bands,)
    window_px : int
    """
    out = Path(out_dir)
    for name in ("model.keras", "classes.json"):
        if not (out / name).exists():
            raise ValueError(f"{out}: no {name} (not a finished pisvm-cnn training directory)")
    info = json.loads((out / "classes.json").read_text())
    model = keras.saving.load_model(out / "model.keras")
    return (model, np.asarray(info["classes"], dtype=np.int64), np.asarray(info["mean"]),
            np.asarray(info["stddev"]), int(info["window_px"]))
