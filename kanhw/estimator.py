"""scikit-learn estimators: :class:`KANRegressor` and :class:`KANClassifier`.

Both validate their input the scikit-learn way (``n_features_in_``,
``feature_names_in_``, one-line ``ValueError``\\ s), hold out a validation
share, and call the one training entry point, :func:`kanhw.fitting.train`,
with the options and defaults of ``kanhw train``: every parameter left at
``None`` takes the rule for user tables (:mod:`kanhw.recipes`), or the
recipe of the built-in dataset named by ``recipe``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from . import classes, metrics
from .datasets import Dataset, Labels, holdout
from .errors import DataError
from .fitting import TrainOptions, predict, train

#: scikit-learn checks (``parametrize_with_checks``) the estimators are
#: known to fail, with the reason: none.
EXPECTED_FAILED_CHECKS: dict[str, str] = {}


class _KANEstimator(BaseEstimator):
    """Parameters and training shared by the regressor and the classifier."""

    def __init__(self, addends: int | None = None, hidden: Sequence[int] | None = None,
                 points: Sequence[int] | None = None, alpha: float | None = None,
                 step: str = "constant", epochs: int | None = None,
                 target_pearson: float | None = None, seed: int = 0, shuffle: bool = True,
                 validation_fraction: float = 0.1, fixed: str | None = None,
                 workers: int | None = None, rounds: int | None = None,
                 batch: int | None = None, client=None, multilevel: str | None = None,
                 pretrain: bool = False, recipe: str | None = None,
                 anneal: int | None = None) -> None:
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
        self.recipe = recipe
        self.anneal = anneal

    def _options(self) -> TrainOptions:
        return TrainOptions(addends=self.addends, hidden=self.hidden, points=self.points,
                            alpha=self.alpha, step=self.step, epochs=self.epochs,
                            target_pearson=self.target_pearson, seed=self.seed,
                            shuffle=self.shuffle, fixed=self.fixed, workers=self.workers,
                            rounds=self.rounds, batch=self.batch,
                            multilevel=self.multilevel, pretrain=self.pretrain,
                            recipe=self.recipe, anneal=self.anneal)

    def _train(self, X: np.ndarray, Y: np.ndarray, eval_set: tuple | None,
               labels: Labels | None = None) -> None:
        if not 0.0 <= self.validation_fraction < 1.0:
            raise DataError(f"validation_fraction must lie in [0, 1), got "
                            f"{self.validation_fraction}")
        names = [str(f) for f in getattr(self, "feature_names_in_", [])]
        if eval_set is not None:
            data = Dataset("fit", X, Y, eval_set[0], eval_set[1], names,
                           classes=len(labels.names) if labels else 0,
                           class_names=labels.names if labels else [])
        else:
            data = holdout(X, Y, self.validation_fraction, self.seed, labels, names)
        trained = train(data, self._options(), client=self.client)
        self.model_ = trained.model
        self.result_ = trained.result
        self.history_ = trained.result.history
        self.counters_ = trained.counters

    def _outputs(self, X) -> np.ndarray:
        check_is_fitted(self, "model_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return predict(self.model_, X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False   # seeded: the same fit gives the same model
        return tags


class KANRegressor(RegressorMixin, _KANEstimator):
    """Piecewise-linear KAN regression trained record by record with
    Newton-Kaczmarz.

    ``KANRegressor(addends=64, points=(5, 22)).fit(X, y).predict(X)``.

    Parameters mirror ``kanhw train``: ``addends`` (width of the last hidden
    layer), ``hidden`` (all hidden widths, for deeper KANs: ``--layers``),
    ``points`` (one per layer, or inner/outer), ``alpha``, ``step``
    (``constant`` or ``kaczmarz``), ``epochs``, ``target_pearson`` (early
    stop), ``seed`` and ``validation_fraction`` (held out of ``X`` for
    per-epoch validation when no ``eval_set`` is given; 0 disables it).
    ``None`` takes the rule for user tables (``2n + 1`` addends, points
    5/22, alpha 0.2, 15 epochs) or the recipe of the built-in dataset named
    by ``recipe``.

    Beyond sequential float training: ``fixed`` (a contract name or TOML
    path: the bit-exact fixed-point model), ``workers``/``rounds``/``batch``
    (disjoint-batch training with model averaging; ``client`` a
    ``dask.distributed`` client to run it on a cluster), ``multilevel`` (a
    schedule such as ``"5,8x3 5,22x7"``) and ``pretrain`` (addend pairs
    first). Multi-output targets train one output each.
    """

    def fit(self, X, y, eval_set: tuple | None = None) -> KANRegressor:
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True, multi_output=True)
        self._y_1d = y.ndim == 1
        if eval_set is not None:
            Xv = validate_data(self, eval_set[0], reset=False, dtype=np.float64)
            eval_set = (Xv, np.asarray(eval_set[1], np.float64).reshape(len(Xv), -1))
        self._train(X, y.reshape(len(y), -1), eval_set)
        return self

    def predict(self, X) -> np.ndarray:
        out = self._outputs(X)
        return out[:, 0] if self._y_1d else out

    def pearson(self, X, y) -> np.ndarray:
        """Pearson correlation per output on ``(X, y)``."""
        return metrics.pearson(self.predict(X).reshape(len(X), -1), np.asarray(y))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


class KANClassifier(ClassifierMixin, _KANEstimator):
    """Piecewise-linear KAN classification trained by Newton-Kaczmarz: one
    output per class trained on the class's indicator, the largest output
    predicted (two classes: one output, the second class above 1/2).

    Labels may be any values scikit-learn accepts (integers, strings);
    ``classes_`` holds them sorted. ``decision_function`` gives the outputs
    (two classes: the output minus 1/2), ``predict_proba`` their positive
    parts normalised (:func:`kanhw.classes.probabilities`). Parameters and
    defaults as :class:`KANRegressor`; the validation share is held out per
    class.
    """

    def fit(self, X, y, eval_set: tuple | None = None) -> KANClassifier:
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        self.classes_, index = np.unique(y, return_inverse=True)
        if self.classes_.size < 2:
            raise DataError(f"one class only ({self.classes_[0]!r}): a classifier needs "
                            "at least two classes")
        labels = Labels([str(c) for c in self.classes_], index.reshape(-1))
        if eval_set is not None:
            Xv = validate_data(self, eval_set[0], reset=False, dtype=np.float64)
            yv = np.asarray(eval_set[1]).reshape(-1)
            known = np.isin(yv, self.classes_)
            if not known.all():
                raise DataError(f"eval_set holds label {yv[~known][0]!r}, not among the "
                                "training labels")
            eval_set = (Xv, classes.targets(np.searchsorted(self.classes_, yv),
                                            self.classes_.size))
        self._train(X, labels.targets(), eval_set, labels)
        return self

    def decision_function(self, X) -> np.ndarray:
        return classes.decision(self._outputs(X))

    def predict_proba(self, X) -> np.ndarray:
        return classes.probabilities(self._outputs(X))

    def predict(self, X) -> np.ndarray:
        index = classes.predicted(self._outputs(X))
        return self.classes_[index]
