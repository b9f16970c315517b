"""Detect a class the CNN has stopped learning, from per-epoch training results (no TensorFlow here).

The paper's protocol (MSE on a softmax output, SGD at learning rate 1.0) can
lose a class for good: on Salinas-A with a random 10 % split, class 1 was
never predicted again after about epoch 50 while the loss sat at the MSE of
a confident miss.  :class:`CollapseDetector` turns that into a warning: a
class none of whose checked training pixels was predicted correctly for
``patience`` epochs in a row, or a training loss that has not moved for
``patience`` epochs while the training accuracy is below 1, or a loss that is
not finite (training diverged: cross-entropy with SGD at learning rate 1.0 does
that on Salinas-A at the first epoch).
"""

from collections import deque

import numpy as np

ADVICE = ("the paper's MSE loss with SGD at learning rate 1.0 can lose a class for good; "
          "try --loss categorical_crossentropy or a lower --learning-rate (README: 'A class the CNN never predicts')")


class CollapseDetector:
    """Watch each epoch's training results and say when a class is lost, the loss is stuck or not finite.

    Each kind of warning is given once, and again only after the condition
    went away and came back.

    Parameters
    ----------
    classes : sequence of int
        The label of each output unit.
    patience : int, default 25
        Epochs in a row without a correct prediction of a class (or without
        a change of the loss) before a warning.
    loss_rtol : float, default 1e-2
        The loss "has not moved" when, over the last ``patience`` epochs and
        the one before, ``max - min <= loss_rtol * max``.

    Attributes
    ----------
    messages : list of str
        Every warning so far, in order.
    """

    def __init__(self, classes, patience=25, loss_rtol=1e-2):
        if int(patience) != patience or patience < 1:
            raise ValueError(f"patience == {patience}, must be an integer >= 1")
        if not loss_rtol >= 0:
            raise ValueError(f"loss_rtol == {loss_rtol}, must be >= 0")
        self.classes = np.asarray(classes)
        self.patience = int(patience)
        self.loss_rtol = float(loss_rtol)
        self.missed = np.zeros(len(self.classes), dtype=np.int64)
        self.warned = np.zeros(len(self.classes), dtype=bool)
        self.losses = deque(maxlen=self.patience + 1)
        self.stall_warned = False
        self.diverged = False
        self.messages = []

    def update(self, epoch, hits, loss, accuracy=None):
        """Record one epoch; return the warnings it raises (empty list: none).

        Parameters
        ----------
        epoch : int
            1-based epoch number, used in the messages.
        hits : array_like of shape (class_count,), int
            Correct training predictions of each class in this epoch (on the
            pixels checked; a class with none checked counts as hit).
        loss : float
            The epoch's training loss.
        accuracy : float, optional
            The epoch's training accuracy; a flat loss at accuracy 1 is convergence, not a stall.

        Returns
        -------
        list of str
        """
        hits = np.asarray(hits)
        if hits.shape != self.classes.shape:
            raise ValueError(f"hits has shape {hits.shape}, expected {self.classes.shape}")
        new = []
        self.missed = np.where(hits > 0, 0, self.missed + 1)
        self.warned &= hits == 0  # a class that is predicted again may be warned about again
        for index in np.flatnonzero((self.missed >= self.patience) & ~self.warned):
            self.warned[index] = True
            new.append(f"epoch {epoch}: class {self.classes[index]} has had no correct training prediction "
                       f"for {self.missed[index]} epochs; {ADVICE}")
        if not np.isfinite(loss):
            if not self.diverged:
                self.diverged = True
                new.append(f"epoch {epoch}: the training loss is {loss}: training diverged; lower --learning-rate")
        else:
            self._check_stall(epoch, float(loss), accuracy, new)
        self.messages.extend(new)
        return new

    def _check_stall(self, epoch, loss, accuracy, new):
        """Append a warning to ``new`` when the loss has been flat for ``patience`` epochs."""
        self.losses.append(loss)
        if len(self.losses) == self.losses.maxlen:
            low, high = min(self.losses), max(self.losses)
            flat = high - low <= self.loss_rtol * abs(high)
            if flat and not self.stall_warned and (accuracy is None or accuracy < 1.0):
                self.stall_warned = True
                shown = "" if accuracy is None else f", training accuracy {accuracy:.4f}"
                new.append(f"epoch {epoch}: the training loss has stayed at {loss:.4g} (within "
                           f"{100 * self.loss_rtol:g} %) for {self.patience} epochs{shown}; {ADVICE}")
            elif not flat:
                self.stall_warned = False

    def lost_classes(self):
        """Labels of the classes without a correct training prediction for at least ``patience`` epochs now."""
        return self.classes[self.missed >= self.patience].tolist()



def final_warnings(history, report=None, loss_rtol=1e-2, min_epochs=5):
    """Warnings about a finished training, whatever its number of epochs (the detector needs ``patience``).

    Parameters
    ----------
    history : dict
        Per-epoch ``loss`` and ``accuracy`` (training), as ``TrainingResult.history``.
    report : dict, optional
        :func:`pisvm.results.metrics.classification_report` of the test pixels.
    loss_rtol : float, default 1e-2
        The loss is flat when ``max - min <= loss_rtol * max`` over the epochs.
    min_epochs : int, default 5
        Fewest final epochs of a flat loss and an unchanged training
        accuracy below 1 (one predicted class: a collapse) that are named.

    Returns
    -------
    list of str
        A collapse that lasted to the last epoch, then each class with test
        pixels none of which the final model predicts correctly.
    """
    messages = []
    loss = np.asarray(history.get("loss", []), dtype=np.float64)
    accuracy = np.asarray(history.get("accuracy", []), dtype=np.float64)
    n = 0
    while n < min(len(loss), len(accuracy)):
        tail_loss, tail_accuracy = loss[-(n + 1):], accuracy[-(n + 1):]
        if not (np.ptp(tail_loss) <= loss_rtol * np.abs(tail_loss).max() and np.ptp(tail_accuracy) <= 1e-4):
            break
        n += 1
    if n >= min_epochs and accuracy[-1] < 1.0:
        first = len(loss) - n + 1
        messages.append(f"from epoch {first} to {len(loss)} ({n} epochs) the training loss stayed at {loss[-1]:.4g} "
                        f"and the training accuracy at {accuracy[-1]:.4f}: training collapsed and never recovered; "
                        + ADVICE)
    if report is not None:
        support = np.asarray(report["confusion"]).sum(axis=1)
        for label, score, count in zip(report["labels"], report["per_class_accuracy"], support):
            if count and score == 0:
                messages.append(f"class {label}: none of its {count} test pixels predicted correctly by the final "
                                f"model (0.00 %); {ADVICE}")
    return messages
