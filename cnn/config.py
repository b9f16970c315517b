"""Hyper-parameters of the 3D-CNN, in one frozen dataclass (no module-level constants)."""

import dataclasses
import json

LOSSES = ("mse", "categorical_crossentropy")
OPTIMIZERS = ("sgd", "adam")
MONITORS = ("val_accuracy", "val_loss")
PIPELINES = ("pydataset", "tfdata")
STRATEGIES = ("auto", "default", "mirrored", "multiworker")


@dataclasses.dataclass(frozen=True)
class CNNConfig:
    """Training configuration; the defaults are the paper's (Lange et al., IGARSS 2018).

    Parameters
    ----------
    window_px : int, default 9
        Side of the square spatial window around each pixel, in pixels; odd, >= 7.
    epochs : int, default 600
    batch_size : int, default 50
        Global batch (split across replicas under a distribution strategy).
    loss : {'mse', 'categorical_crossentropy'}, default 'mse'
        The paper trains a softmax output with the mean squared error.
    optimizer : {'sgd', 'adam'}, default 'sgd'
    learning_rate : float, default 1.0
    decay_per_step : float, default 5e-6
        Inverse-time decay: ``lr = learning_rate / (1 + decay_per_step * step)``
        (Keras 2's ``SGD(decay=...)``).
    momentum : float, default 0.0
        SGD only.
    dropout : float in [0, 1), default 0.0
        Dropout rate after each hidden dense layer (0: the paper's model).
    l2 : float, default 0.0
        L2 weight penalty on every kernel (0: the paper's model).
    mixed_precision : bool, default False
        Compute in float16 with float32 variables (``mixed_float16`` layer policy).
    validation_fraction : float in [0, 1), default 0.1
        Share of each class's training pixels held out to choose the checkpoint
        (at least one pixel stays for training).  0: no validation, the last
        epoch's weights are kept.
    monitor : {'val_accuracy', 'val_loss'}, default 'val_accuracy'
        Validation quantity that picks the best checkpoint.
    checkpoint_every_epochs : int, default 10
        Period of the resumable checkpoint, in epochs.
    seed : int, default 0
        Seed of the validation split, weight initialisation and shuffling.
    pipeline : {'pydataset', 'tfdata'}, default 'pydataset'
        How training batches are cut from the strided window view:
        ``keras.utils.PyDataset`` (NumPy gathers; a resumed run shuffles
        exactly as an uninterrupted one) or ``tf.data`` (``tf.gather_nd`` in
        TensorFlow's threads, no Python per batch: faster on a GPU).
    """

    window_px: int = 9
    epochs: int = 600
    batch_size: int = 50
    loss: str = "mse"
    optimizer: str = "sgd"
    learning_rate: float = 1.0
    decay_per_step: float = 5e-6
    momentum: float = 0.0
    dropout: float = 0.0
    l2: float = 0.0
    mixed_precision: bool = False
    validation_fraction: float = 0.1
    monitor: str = "val_accuracy"
    checkpoint_every_epochs: int = 10
    seed: int = 0
    pipeline: str = "pydataset"

    def __post_init__(self):
        for name in ("window_px", "epochs", "batch_size", "checkpoint_every_epochs"):
            value = getattr(self, name)
            if isinstance(value, bool) or int(value) != value or value < 1:
                raise ValueError(f"{name} == {value}, must be an integer >= 1")
        if self.window_px % 2 == 0:
            raise ValueError(f"window_px == {self.window_px}, must be odd")
        if self.window_px < 7:
            raise ValueError(f"window_px == {self.window_px}, must be >= 7 (three 3x3 valid convolutions)")
        if self.loss not in LOSSES:
            raise ValueError(f"loss {self.loss!r} not in {set(LOSSES)}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer {self.optimizer!r} not in {set(OPTIMIZERS)}")
        if self.pipeline not in PIPELINES:
            raise ValueError(f"pipeline {self.pipeline!r} not in {set(PIPELINES)}")
        if self.monitor not in MONITORS:
            raise ValueError(f"monitor {self.monitor!r} not in {set(MONITORS)}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate == {self.learning_rate}, must be > 0")
        for name in ("decay_per_step", "momentum", "l2"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} == {getattr(self, name)}, must be >= 0")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout == {self.dropout}, must be in [0, 1)")
        if not 0 <= self.validation_fraction < 1:
            raise ValueError(f"validation_fraction == {self.validation_fraction}, must be in [0, 1)")

    def to_json(self):
        """Return the configuration as a JSON string."""
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text):
        """Inverse of :meth:`to_json`; unknown keys are an error."""
        values = json.loads(text)
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown configuration key {unknown[0]!r}")
        return cls(**values)

    def replace(self, **changes):
        """Return a copy with ``changes`` applied (validated again)."""
        return dataclasses.replace(self, **changes)
