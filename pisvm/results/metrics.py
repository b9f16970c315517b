"""Classification metrics in the layout the field publishes (OA, AA, kappa, per class)."""

import numpy as np
from sklearn.metrics import confusion_matrix, f1_score


def classification_report(y_true, y_pred, labels=None):
    """Overall, average and per-class accuracy, kappa, F1 and the confusion matrix.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    y_pred : array-like of shape (n_samples,)
    labels : array-like of shape (n_classes,), optional
        Class order of the per-class lists and the matrix; by default the
        sorted union of both label sets.

    Returns
    -------
    dict
        ``overall_accuracy``, ``average_accuracy``, ``kappa``, ``f1_macro``
        (fractions), ``labels``, ``per_class_accuracy``, ``per_class_f1``
        (lists in ``labels`` order; accuracy is the recall, NaN for a class
        absent from ``y_true``), ``confusion`` (rows true, columns predicted),
        ``n_samples``.
    """
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if labels is None:
        labels = np.union1d(y_true, y_pred)
    labels = np.asarray(labels)
    confusion = confusion_matrix(y_true=y_true, y_pred=y_pred, labels=labels)
    support = confusion.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_class = np.where(support > 0, np.diag(confusion) / support, np.nan)
    per_class_f1 = f1_score(y_true=y_true, y_pred=y_pred, labels=labels, average=None, zero_division=0)
    present = support > 0
    return {
        "overall_accuracy": float(np.trace(confusion) / confusion.sum()),
        "average_accuracy": float(per_class[present].mean()),
        "kappa": _kappa(confusion),
        "f1_macro": float(per_class_f1[present].mean()),
        "labels": labels.tolist(),
        "per_class_accuracy": [None if np.isnan(a) else float(a) for a in per_class],
        "per_class_f1": per_class_f1.tolist(),
        "confusion": confusion.tolist(),
        "n_samples": int(len(y_true)),
    }


def _kappa(confusion):
    """Cohen's kappa of a confusion matrix (as ``cohen_kappa_score``); NaN, without a warning, when undefined.

    It is undefined when chance agreement is certain: every true and every
    predicted label is one class (a one-sample test set, for one).
    """
    n = confusion.sum()
    observed = np.trace(confusion) / n
    expected = float(confusion.sum(axis=0) @ confusion.sum(axis=1)) / n ** 2
    return float("nan") if expected == 1.0 else float((observed - expected) / (1.0 - expected))


def _label_text(label):
    return f"{label:g}" if isinstance(label, float) else str(label)


def format_report(report, title="Test"):
    """Return ``report`` (from :func:`classification_report`) as aligned text lines."""
    lines = [f"{title}: OA {100 * report['overall_accuracy']:.2f} %  AA {100 * report['average_accuracy']:.2f} %  "
             f"kappa {report['kappa']:.4f}  F1 {100 * report['f1_macro']:.2f} %  ({report['n_samples']} samples)",
             "  class  accuracy %    F1 %"]
    for label, accuracy, f1 in zip(report["labels"], report["per_class_accuracy"], report["per_class_f1"]):
        shown = "     -" if accuracy is None else f"{100 * accuracy:6.2f}"
        lines.append(f"  {_label_text(label):>5}  {shown:>10}  {100 * f1:6.2f}")
    return lines


def format_confusion(report):
    """The confusion matrix of ``report`` as aligned text lines (rows true class, columns predicted)."""
    labels = [_label_text(label) for label in report["labels"]]
    confusion = report["confusion"]
    width = max(max(len(label) for label in labels), max(len(str(v)) for row in confusion for v in row))
    lines = ["confusion (rows true, columns predicted):",
             " " * (width + 2) + " ".join(label.rjust(width) for label in labels)]
    for label, row in zip(labels, confusion):
        lines.append(f"{label.rjust(width)}  " + " ".join(str(v).rjust(width) for v in row))
    return lines
