"""The class-loss detector of the CNN (cnn.collapse), on recorded training histories (no TensorFlow)."""

import numpy as np
import pytest

from cnn.collapse import CollapseDetector

# Salinas-A, random 10 % split, the paper's defaults (MSE, SGD lr 1.0): from epoch 25 on the training
# loss sat at 0.02426 = (7.3 % share of class 1) x (1/3, the MSE of a confident miss) and class 1 (output 0)
# was never predicted; the other five classes were.
LOST = [0, 32, 32, 32, 32, 32]
SEEN = [3, 32, 32, 30, 32, 31]
CLASSES = [1, 10, 11, 12, 13, 14]


def test_a_class_never_predicted_for_patience_epochs_is_reported_once():
    detector = CollapseDetector(CLASSES, patience=5)
    said = []
    for epoch in range(1, 21):
        hits = SEEN if epoch < 4 else LOST
        said += [(epoch, message) for message in detector.update(epoch, hits, loss=0.05 / epoch, accuracy=0.9)]
    assert [epoch for epoch, _ in said] == [8]  # epochs 4..8 without a hit: five epochs
    assert said[0][1].startswith("epoch 8: class 1 has had no correct training prediction for 5 epochs")
    assert "--loss categorical_crossentropy" in said[0][1] and "--learning-rate" in said[0][1]
    assert detector.lost_classes() == [1] and detector.messages == [said[0][1]]


def test_a_class_that_comes_back_is_not_reported_until_it_is_lost_again():
    detector = CollapseDetector(CLASSES, patience=3)
    pattern = [LOST, LOST, SEEN, LOST, LOST, SEEN, LOST, LOST, LOST, LOST, SEEN, LOST, LOST, LOST]
    epochs = [epoch for epoch, hits in enumerate(pattern, 1)
              if detector.update(epoch, hits, loss=1.0 / epoch, accuracy=0.5)]
    assert epochs == [9, 14]


def test_a_loss_that_does_not_move_is_reported_unless_training_is_perfect():
    stuck = [0.0243689, 0.0243050, 0.0242556] + [0.0242554] * 10
    detector = CollapseDetector(CLASSES, patience=5)
    said = [epoch for epoch, loss in enumerate(stuck, 1) if detector.update(epoch, SEEN, loss, accuracy=0.9272)]
    assert said == [6]  # epochs 1..6: six losses within 1 %
    assert "training loss has stayed at 0.02426" in detector.messages[0]
    assert "training accuracy 0.9272" in detector.messages[0]
    converged = CollapseDetector(CLASSES, patience=5)
    assert not any(converged.update(epoch, SEEN, 1e-4, accuracy=1.0) for epoch in range(1, 20))
    learning = CollapseDetector(CLASSES, patience=5)
    assert not any(learning.update(epoch, SEEN, 0.5 * 0.99 ** epoch, accuracy=0.8) for epoch in range(1, 60))
    # Salinas-A, MSE with SGD at learning rate 0.1: the loss crept down by 0.2 % in 25 epochs at accuracy 0.9293
    creeping = CollapseDetector(CLASSES, patience=25)
    said = [epoch for epoch in range(1, 60) if creeping.update(epoch, SEEN, 0.02366 - 0.0000018 * epoch, 0.9293)]
    assert said == [26]


def test_a_loss_that_is_not_finite_is_reported_once():
    # Salinas-A, random 10 % split, cross-entropy with SGD at learning rate 1.0: NaN from the first epoch
    detector = CollapseDetector(CLASSES, patience=5)
    said = [epoch for epoch in range(1, 10) if detector.update(epoch, SEEN, float("nan"), accuracy=0.0728)]
    assert said == [1] and detector.messages[0] == ("epoch 1: the training loss is nan: training diverged; "
                                                     "lower --learning-rate")


def test_detector_rejects_bad_arguments():
    with pytest.raises(ValueError, match="patience == 0"):
        CollapseDetector(CLASSES, patience=0)
    with pytest.raises(ValueError, match="hits has shape"):
        CollapseDetector(CLASSES).update(1, np.ones(3), 0.1)


def _salinas_a_20_epochs():
    """The history of the size split on real Salinas-A at 20 epochs: collapsed to one class from epoch 8."""
    loss = [0.9, 0.7, 0.55, 0.45, 0.38, 0.31, 0.27] + [0.2384] * 13
    accuracy = [0.3, 0.45, 0.55, 0.6, 0.62, 0.5, 0.4] + [0.2848] * 13
    return {"epoch": list(range(20)), "loss": loss, "accuracy": accuracy}


def test_a_flat_loss_after_a_collapse_is_named_whatever_the_number_of_epochs():
    from cnn.collapse import final_warnings

    messages = final_warnings(_salinas_a_20_epochs())
    assert len(messages) == 1
    assert messages[0].startswith("from epoch 8 to 20 (13 epochs) the training loss stayed at 0.2384 and the "
                                  "training accuracy at 0.2848"), messages


def test_a_converging_or_short_history_is_not_a_collapse():
    from cnn.collapse import final_warnings

    converging = {"loss": [0.5, 0.3, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2], "accuracy": [0.6, 0.8, 0.9, 0.91, 0.9, 0.92, 0.91,
                                                                                0.9]}
    assert final_warnings(converging) == []
    perfect = {"loss": [0.5] + [0.01] * 8, "accuracy": [0.6] + [1.0] * 8}
    assert final_warnings(perfect) == []
    short = {"loss": [0.5, 0.3, 0.3, 0.3], "accuracy": [0.5, 0.4, 0.4, 0.4]}
    assert final_warnings(short) == []


def test_a_class_the_final_model_never_predicts_correctly_on_the_test_set_is_named():
    from cnn.collapse import final_warnings

    report = {"labels": [1, 2, 3], "per_class_accuracy": [0.0, 0.9, None], "confusion": [[0, 5, 0], [1, 9, 0],
                                                                                         [0, 0, 0]]}
    messages = final_warnings({"loss": [1.0], "accuracy": [0.5]}, report)
    assert messages == ["class 1: none of its 5 test pixels predicted correctly by the final model (0.00 %); "
                        + __import__("cnn.collapse").collapse.ADVICE]
