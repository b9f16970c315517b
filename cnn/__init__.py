"""cnn: the 3D-CNN of Lange, Cavallaro, Goetz, Erlingsson and Riedel (IGARSS 2018).

The only package of the suite that imports TensorFlow/Keras.  ``import cnn``
itself does not: the public names below are loaded on first use, so
``import cnn`` and ``cnn.CNNConfig`` work without TensorFlow.

Public API
----------
CNNConfig
    Frozen dataclass of hyper-parameters (paper defaults).
build_standard_model(input_shape, class_count, config=None)
    The standard model, uncompiled.
compile_model(model, config), make_optimizer(config)
train_model(data, labels, selection, config=None, out_dir=None, mean=None, stddev=None, strategy=None, ...)
    -> TrainingResult(model, history, classes, mean, stddev, validation, warnings)
CollapseDetector(classes, patience=25, loss_rtol=1e-2), ClassCollapseWarning
    The class-loss detector train_model runs each epoch (no TensorFlow needed for the detector).
load_trained(out_dir) -> (model, classes, mean, stddev, window_px)
predict_scene(model, data, mean, stddev, window_px, batch_size=1024, classes=None, mask=None)
    -> label map of shape (n_rows, n_cols)
evaluate_test(labels, selection, label_map, classes=None) -> metrics dict
write_results(out_dir, report, label_map, labels=None, split_info=None, extra=None)
normalised_padded_cube, window_view, WindowSequence, window_dataset, check_window
choose_strategy(kind='auto')
"""

import importlib

_EXPORTS = {
    "CNNConfig": "config",
    "build_standard_model": "model",
    "compile_model": "model",
    "make_optimizer": "model",
    "train_model": "train",
    "TrainingResult": "train",
    "ClassCollapseWarning": "train",
    "CollapseDetector": "collapse",
    "load_trained": "train",
    "check_inputs": "checks",
    "validation_split": "train",
    "choose_strategy": "train",
    "predict_scene": "predict",
    "evaluate_test": "predict",
    "write_results": "predict",
    "normalised_padded_cube": "windows",
    "window_view": "windows",
    "WindowSequence": "windows",
    "window_dataset": "windows",
    "check_window": "checks",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'cnn' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(list(globals()) + __all__)
