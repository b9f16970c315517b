"""The standard 3D-CNN of Lange, Cavallaro, Goetz, Erlingsson and Riedel (IGARSS 2018)."""

import keras
from keras import layers

from .config import CNNConfig


def build_standard_model(input_shape, class_count, config=None):
    """Build the paper's 3D-CNN (uncompiled).

    Conv3D 48 (3, 3, 5) ReLU, MaxPool (1, 1, 3), ZeroPadding (0, 0, 2),
    Conv3D 32 (3, 3, 5) ReLU, MaxPool (1, 1, 3), ZeroPadding (0, 0, 2),
    Conv3D 32 (3, 3, 5) ReLU, MaxPool (1, 1, 2), Flatten, Dense 128 ReLU,
    Dense 128 ReLU, Dense ``class_count`` softmax; convolutions are 'valid'.
    With ``input_shape=(9, 9, 220, 1)`` it has 578,544 parameters for 16
    classes and 583,962 for 58.

    Parameters
    ----------
    input_shape : tuple of int
        ``(window_px, window_px, n_bands, 1)``.
    class_count : int
        Number of output classes (>= 2).
    config : CNNConfig, optional
        ``dropout``, ``l2``, ``mixed_precision`` and ``seed`` (weight
        initialisation) are used; default ``CNNConfig()``.

    Returns
    -------
    keras.Model
        Input float32 of shape (batch, *input_shape); output of shape
        (batch, class_count), float32 class probabilities.
    """
    config = CNNConfig() if config is None else config
    input_shape = tuple(int(size) for size in input_shape)
    if len(input_shape) != 4 or input_shape[3] != 1 or min(input_shape) < 1:
        raise ValueError(f"input_shape == {input_shape}, must be (window_px, window_px, n_bands, 1)")
    if int(class_count) != class_count or class_count < 2:
        raise ValueError(f"class_count == {class_count}, must be an integer >= 2")
    window_px, _, n_bands, _ = input_shape
    if window_px < 7:
        raise ValueError(f"window_px == {window_px}, must be >= 7 (three 3x3 valid convolutions)")
    # Each block: valid conv over 5 bands (-4), pooling; check the spectral axis stays >= 1.
    depth = n_bands
    for pool, pad in ((3, 2), (3, 2), (2, 0)):
        pooled = (depth - 4) // pool
        if pooled < 1:
            raise ValueError(f"n_bands == {n_bands} is too few: the spectral axis vanishes in the conv/pool blocks")
        depth = pooled + 2 * pad

    dtype = "mixed_float16" if config.mixed_precision else None
    regularizer = keras.regularizers.L2(config.l2) if config.l2 > 0 else None
    seeds = iter(range(config.seed * 100, config.seed * 100 + 100))

    def kernel():
        return keras.initializers.GlorotUniform(seed=next(seeds))

    def conv(filters):
        return layers.Conv3D(filters, (3, 3, 5), activation="relu", padding="valid", kernel_initializer=kernel(),
                             kernel_regularizer=regularizer, dtype=dtype)

    inputs = keras.Input(shape=input_shape, name="window")
    x = conv(48)(inputs)
    x = layers.MaxPooling3D((1, 1, 3), dtype=dtype)(x)
    x = layers.ZeroPadding3D((0, 0, 2), dtype=dtype)(x)
    x = conv(32)(x)
    x = layers.MaxPooling3D((1, 1, 3), dtype=dtype)(x)
    x = layers.ZeroPadding3D((0, 0, 2), dtype=dtype)(x)
    x = conv(32)(x)
    x = layers.MaxPooling3D((1, 1, 2), dtype=dtype)(x)
    x = layers.Flatten(dtype=dtype)(x)
    for _ in range(2):
        x = layers.Dense(128, activation="relu", kernel_initializer=kernel(), kernel_regularizer=regularizer,
                         dtype=dtype)(x)
        if config.dropout > 0:
            x = layers.Dropout(config.dropout, seed=next(seeds), dtype=dtype)(x)
    outputs = layers.Dense(int(class_count), activation="softmax", kernel_initializer=kernel(),
                           kernel_regularizer=regularizer, dtype="float32", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="lange2018_3dcnn")


def make_optimizer(config):
    """The optimizer of ``config``: SGD (or Adam) with inverse-time learning-rate decay per step."""
    if config.decay_per_step > 0:
        rate = keras.optimizers.schedules.InverseTimeDecay(config.learning_rate, decay_steps=1,
                                                           decay_rate=config.decay_per_step)
    else:
        rate = config.learning_rate
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(learning_rate=rate, momentum=config.momentum)
    return keras.optimizers.Adam(learning_rate=rate)


def compile_model(model, config):
    """Compile ``model`` in place with ``config``'s loss and optimizer and an accuracy metric; return it."""
    optimizer = make_optimizer(config)
    if config.mixed_precision:
        # float16 gradients underflow without loss scaling (Keras only adds it for a mixed global policy)
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    model.compile(optimizer=optimizer, loss=config.loss, metrics=["accuracy"])
    return model
