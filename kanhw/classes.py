"""Class labels as network targets, outputs as classes, and the report.

A classifier KAN has one output per class, trained on the class's
indicator (1 for the class's records, 0 for the others); the predicted
class is the largest output. Two classes take one output, the second
class's indicator, predicted when it exceeds 1/2: the same information in
half the network, and what a one-output hardware design can train.
"""

from __future__ import annotations

import numpy as np

from .errors import DataError


def encode(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct labels and each record's index into them. Labels
    that are all numbers sort as numbers (``2 < 10``), others as text."""
    labels = np.asarray(labels).reshape(-1)
    if labels.dtype.kind in "US":
        try:
            numeric = labels.astype(np.float64)
        except ValueError:
            numeric = None
        if numeric is not None and np.all(np.isfinite(numeric)):
            labels = numeric.astype(np.int64) if np.all(numeric == np.round(numeric)) \
                else numeric
    classes, index = np.unique(labels, return_inverse=True)
    if classes.size < 2:
        raise DataError(f"one class only ({classes[0]!r} in every record): classification "
                        "needs at least two")
    return classes, index.reshape(-1)


def n_outputs(n_classes: int) -> int:
    """Network outputs for ``n_classes`` classes."""
    return 1 if n_classes == 2 else n_classes


def targets(index: np.ndarray, n_classes: int) -> np.ndarray:
    """Indicator targets ``(records, n_outputs(n_classes))`` for class indices."""
    index = np.asarray(index, np.int64)
    if n_classes == 2:
        return (index == 1).astype(np.float64)[:, None]
    return np.eye(n_classes)[index]


def predicted(outputs: np.ndarray) -> np.ndarray:
    """Class index of each row of network outputs (or indicator targets)."""
    out = np.asarray(outputs, np.float64).reshape(len(outputs), -1)
    if out.shape[1] == 1:
        return (out[:, 0] > 0.5).astype(np.int64)
    return np.argmax(out, axis=1)


def decision(outputs: np.ndarray) -> np.ndarray:
    """Scores with scikit-learn's sign convention: two classes, the output
    minus 1/2 (positive: the second class); more, the outputs."""
    out = np.asarray(outputs, np.float64)
    return out[:, 0] - 0.5 if out.shape[1] == 1 else out


def probabilities(outputs: np.ndarray) -> np.ndarray:
    """Class probabilities from indicator outputs: the outputs' positive
    parts, normalised (two classes: the output clipped to [0, 1] and its
    complement). A row with no positive output takes the softmax of its
    outputs. The largest probability is always the predicted class."""
    out = np.asarray(outputs, np.float64)
    if out.shape[1] == 1:
        p = np.clip(out[:, 0], 0.0, 1.0)
        return np.column_stack([1.0 - p, p])
    pos = np.maximum(out, 0.0)
    total = pos.sum(axis=1, keepdims=True)
    soft = np.exp(out - out.max(axis=1, keepdims=True))
    soft /= soft.sum(axis=1, keepdims=True)
    return np.where(total > 0, pos / np.where(total > 0, total, 1.0), soft)


def report(outputs: np.ndarray, y_true: np.ndarray, names: list[str],
           y_train: np.ndarray | None = None) -> dict:
    """Accuracy, per-class counts and the confusion matrix (rows: true
    class, columns: predicted) of validation ``outputs`` against indicator
    targets ``y_true``; ``y_train`` adds each class's training records."""
    C = len(names)
    t = predicted(y_true)
    p = predicted(outputs)
    confusion = np.zeros((C, C), np.int64)
    np.add.at(confusion, (t, p), 1)
    per_class = []
    train_counts = np.bincount(predicted(y_train), minlength=C) if y_train is not None \
        else None
    for c, name in enumerate(names):
        entry = {"class": name, "validation": int(confusion[c].sum()),
                 "correct": int(confusion[c, c])}
        if train_counts is not None:
            entry["training"] = int(train_counts[c])
        per_class.append(entry)
    n = int(confusion.sum())
    return {"classes": list(names),
            "accuracy": float(np.trace(confusion) / n) if n else None,
            "per_class": per_class, "confusion": confusion.tolist()}


#: Classes up to which the human summary prints the confusion matrix.
MAX_PRINTED_CLASSES = 20


def format_report(rep: dict) -> list[str]:
    """The report as lines for the terminal."""
    names = rep["classes"]
    conf = np.asarray(rep["confusion"])
    n = int(conf.sum())
    if rep["accuracy"] is None:
        return ["no validation records: accuracy not measured"]
    lines = [f"validation accuracy {rep['accuracy']:.4f} ({int(np.trace(conf)):,} of {n:,})"]
    w = max(8, *(len(s) for s in names))
    has_train = "training" in rep["per_class"][0]
    lines.append(f"{'class':<{w}}" + ("  training" if has_train else "")
                 + "  validation  correct")
    for e in rep["per_class"]:
        lines.append(f"{e['class']:<{w}}" + (f"  {e['training']:>8,}" if has_train else "")
                     + f"  {e['validation']:>10,}  {e['correct']:>7,}")
    if len(names) <= MAX_PRINTED_CLASSES:
        cw = max(6, *(len(s) for s in names), len(str(conf.max())))
        lines.append("confusion (rows: true class, columns: predicted)")
        lines.append(" " * w + "".join(f"  {s:>{cw}}" for s in names))
        for name, row in zip(names, conf):
            lines.append(f"{name:<{w}}" + "".join(f"  {v:>{cw}}" for v in row))
    else:
        lines.append(f"confusion matrix: {len(names)} classes, in the --json summary")
    return lines
