"""A scikit-learn-style estimator around the NK trainers."""

from __future__ import annotations

import inspect
from collections.abc import Sequence

import numpy as np

from . import metrics
from .arch import Architecture, build_architecture
from .datasets import Dataset, as_matrix
from .design import load_contract, resolve_contract
from .errors import ConfigError, DataError
from .fixed_model import FixedBackend, FixedKAN
from .merge import MergeConfig, fit_merged
from .model import KAN
from .multilevel import fit_multilevel, parse_schedule
from .pretrain import pretrain
from .train import TrainConfig, TrainResult, fit, predict


class KANRegressor:
    """Piecewise-linear KAN trained record by record with Newton-Kaczmarz.

    ``KANRegressor(addends=64, points=(5, 22)).fit(X, y).predict(X)``.

    Parameters mirror ``kanhw train``: ``addends`` (width of the last hidden
    layer), ``hidden`` (all hidden widths, for deeper KANs), ``points`` (one
    per layer, or inner/outer), ``alpha``, ``step`` (``constant`` or
    ``kaczmarz``), ``epochs``, ``target_pearson`` (early stop), ``seed`` and
    ``validation_fraction`` (held out of ``X`` for per-epoch validation when
    no ``eval_set`` is given; 0 disables validation).

    Beyond sequential float training: ``fixed`` (a contract name or TOML
    path: the bit-exact fixed-point model), ``workers``/``rounds``/``batch``
    (disjoint-batch training with model averaging; ``client`` a
    ``dask.distributed`` client to run it on a cluster), ``multilevel`` (a
    schedule such as ``"5,8x3 5,22x7"``) and ``pretrain`` (addend pairs
    first). ``anneal``: the last this many epochs (of the last level, with
    ``multilevel``) halve the step each epoch, float and fixed point alike.
    """

    def __init__(self, addends: int = 64, hidden: Sequence[int] | None = None,
                 points: Sequence[int] = (5, 22), alpha: float = 0.2, step: str = "constant",
                 epochs: int = 15, target_pearson: float | None = None, seed: int = 0,
                 shuffle: bool = True, validation_fraction: float = 0.1,
                 fixed: str | None = None, workers: int = 1, rounds: int | None = None,
                 batch: int | None = None, client=None, multilevel: str | None = None,
                 pretrain: bool = False, anneal: int = 0) -> None:
        self.addends = addends
        self.hidden = hidden
        self.points = points
        self.alpha = alpha
        self.step = step
        self.epochs = epochs
        self.target_pearson = target_pearson
        self.seed = seed
        self.shuffle = shuffle
        self.validation_fraction = validation_fraction
        self.fixed = fixed
        self.workers = workers
        self.rounds = rounds
        self.batch = batch
        self.client = client
        self.multilevel = multilevel
        self.pretrain = pretrain
        self.anneal = anneal

    # -- scikit-learn protocol ------------------------------------------------
    def get_params(self, deep: bool = True) -> dict:
        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {n: getattr(self, n) for n in names}

    def set_params(self, **params) -> KANRegressor:
        valid = self.get_params()
        for k, v in params.items():
            if k not in valid:
                raise ValueError(f"invalid parameter {k!r} for KANRegressor")
            setattr(self, k, v)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"KANRegressor({args})"

    # -- training and prediction ---------------------------------------------
    def fit(self, X, y, eval_set: tuple | None = None) -> KANRegressor:
        X = as_matrix(X, "inputs")
        y_arr = np.asarray(y, dtype=np.float64)
        self._y_1d = y_arr.ndim == 1
        y = as_matrix(y_arr, "targets")
        if X.shape[0] != y.shape[0]:
            raise DataError(f"X has {X.shape[0]} rows but y has {y.shape[0]}")
        if eval_set is not None:
            data = Dataset("fit", X, y, eval_set[0], eval_set[1])
        elif self.validation_fraction > 0:
            rng = np.random.default_rng(np.random.SeedSequence(self.seed).spawn(3)[2])
            perm = rng.permutation(X.shape[0])
            n_val = max(1, round(self.validation_fraction * X.shape[0]))
            if n_val >= X.shape[0]:
                raise DataError("too few records to hold out a validation set")
            data = Dataset("fit", X[perm[n_val:]], y[perm[n_val:]], X[perm[:n_val]],
                           y[perm[:n_val]])
        else:
            data = Dataset("fit", X, y, None, None)
        # ``hidden`` (all hidden widths) takes precedence over ``addends``.
        arch = build_architecture(X.shape[1], y.shape[1], None if self.hidden else self.addends,
                                  list(self.hidden) if self.hidden else None, list(self.points))
        schedule = parse_schedule(self.multilevel, arch.n_layers) if self.multilevel else None
        first = Architecture(arch.sizes, schedule[0].points) if schedule else arch
        finest = Architecture(arch.sizes, schedule[-1].points) if schedule else arch
        bounds = (data.X.min(0), data.X.max(0), data.y.min(0), data.y.max(0))
        cfg = TrainConfig(alpha=self.alpha, step=self.step, epochs=self.epochs,
                          target_pearson=self.target_pearson, seed=self.seed,
                          shuffle=self.shuffle, anneal=self.anneal)
        if self.fixed:
            contract = resolve_contract(load_contract(self.fixed), finest, self.alpha)
            self.model_ = FixedKAN.initialise(first, contract, *bounds, seed=self.seed)
        else:
            self.model_ = KAN.initialise(first, *bounds, seed=self.seed)
        self.model_.info.update(step=self.step, alpha=self.alpha, seed=self.seed)
        if self.pretrain:
            if self.fixed:
                raise ConfigError("pretrain works on the float model")
            pretrain(self.model_, data, self.alpha, workers=max(2, self.workers),
                     seed=self.seed)
        if schedule:
            self.model_, self.result_ = fit_multilevel(self.model_, data, cfg, schedule,
                                                       workers=self.workers, batch=self.batch,
                                                       client=self.client)
        elif self.workers > 1 or self.rounds or self.client is not None:
            merge = MergeConfig.for_epochs(self.workers, data.X.shape[0], self.epochs,
                                           self.batch, self.rounds)
            self.result_ = fit_merged(self.model_, data, cfg, merge, client=self.client)
        else:
            backend = FixedBackend(self.model_, cfg) if self.fixed else None
            self.result_: TrainResult = fit(self.model_, data, cfg, backend=backend)
        self.history_ = self.result_.history
        return self

    def _check_fitted(self) -> KAN | FixedKAN:
        if not hasattr(self, "model_"):
            raise DataError("this KANRegressor is not fitted yet; call fit(X, y) first")
        return self.model_

    def predict(self, X) -> np.ndarray:
        model = self._check_fitted()
        X = as_matrix(X, "inputs")
        if X.shape[1] != model.arch.n_in:
            raise DataError(f"X has {X.shape[1]} features, the model expects {model.arch.n_in}")
        out = FixedBackend(model).predict(X) if isinstance(model, FixedKAN) else predict(model, X)
        return out[:, 0] if getattr(self, "_y_1d", False) else out

    def score(self, X, y) -> float:
        """Coefficient of determination R^2, averaged over outputs (as scikit-learn)."""
        pred = self.predict(X).reshape(len(X), -1)
        t = as_matrix(np.asarray(y, dtype=np.float64), "targets")
        ss_res = ((t - pred) ** 2).sum(axis=0)
        ss_tot = ((t - t.mean(axis=0)) ** 2).sum(axis=0)
        return float(np.mean(1.0 - ss_res / np.where(ss_tot > 0, ss_tot, 1.0)))

    def pearson(self, X, y) -> np.ndarray:
        """Pearson correlation per output on ``(X, y)``."""
        return metrics.pearson(self.predict(X).reshape(len(X), -1), np.asarray(y))
