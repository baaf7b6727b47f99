"""kanhw: Kolmogorov-Arnold networks trained by Newton-Kaczmarz, in software
and in generated FPGA hardware.

This package holds the reference model (float64 trainer, datasets, metrics,
persistence, scikit-learn estimators) and the CLI. The hardware generator,
simulation benches, host link and board support install as
``kanhw.rtl_gen``, ``kanhw.sim``, ``kanhw.host`` and ``kanhw.boards``.

The names below load on first use, so that ``kanhw --help`` and the CLI's
start-up do not import numba, scikit-learn or the kernels they do not need.
"""

from __future__ import annotations

import importlib

#: Public name -> module that defines it.
_EXPORTS = {
    "KAN": "model",
    "Architecture": "arch",
    "KANRegressor": "estimator",
    "KANClassifier": "estimator",
    "KanhwError": "errors",
    "TrainConfig": "train",
    "TrainOptions": "fitting",
    "fit": "train",
    "predict": "train",
    "load": "persist",
    "save": "persist",
}

__all__ = ["KAN", "Architecture", "KANClassifier", "KANRegressor", "KanhwError", "TrainConfig",
           "TrainOptions", "fit", "load", "predict", "save"]
__version__ = "0.1.0"


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'kanhw' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
