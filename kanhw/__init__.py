"""kanhw: Kolmogorov-Arnold networks trained by Newton-Kaczmarz, in software
and in generated FPGA hardware.

This package holds the reference model (float64 trainer, datasets, metrics,
persistence, estimator) and the CLI. The hardware generator, simulation
benches, host link and board support install as ``kanhw.rtl_gen``,
``kanhw.sim``, ``kanhw.host`` and ``kanhw.boards``.
"""

from .arch import Architecture
from .errors import KanhwError
from .estimator import KANRegressor
from .model import KAN
from .persist import load, save
from .train import TrainConfig, fit, predict

__all__ = [
           "KAN",
           "Architecture",
           "KANRegressor",
           "KanhwError",
           "TrainConfig",
           "fit",
           "load",
           "predict",
           "save",
]
__version__ = "0.1.0"
