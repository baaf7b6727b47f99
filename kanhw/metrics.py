"""Accuracy metrics, one value per output column."""

from __future__ import annotations

import numpy as np

from .classes import predicted


def pearson(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Pearson correlation per column; 0 where either column is constant."""
    p = np.asarray(pred, dtype=np.float64).reshape(len(pred), -1)
    t = np.asarray(target, dtype=np.float64).reshape(len(target), -1)
    pc = p - p.mean(axis=0)
    tc = t - t.mean(axis=0)
    den = np.sqrt((pc * pc).sum(axis=0) * (tc * tc).sum(axis=0))
    num = (pc * tc).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)
    return r


def rmse(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    p = np.asarray(pred, dtype=np.float64).reshape(len(pred), -1)
    t = np.asarray(target, dtype=np.float64).reshape(len(target), -1)
    return np.sqrt(((p - t) ** 2).mean(axis=0))


def relative_rmse(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """RMSE divided by the target range (max - min) of each column."""
    t = np.asarray(target, dtype=np.float64).reshape(len(target), -1)
    span = t.max(axis=0) - t.min(axis=0)
    return rmse(pred, t) / np.where(span > 0, span, 1.0)


def accuracy(pred: np.ndarray, target: np.ndarray) -> float:
    """Classification accuracy of network outputs against indicator targets
    (:mod:`kanhw.classes`: the largest output, or one output above 1/2)."""
    return float((predicted(pred) == predicted(target)).mean())


def summary(pred: np.ndarray, target: np.ndarray) -> dict:
    return {
        "pearson": [float(v) for v in pearson(pred, target)],
        "rmse": [float(v) for v in rmse(pred, target)],
        "relative_rmse": [float(v) for v in relative_rmse(pred, target)],
    }
