"""The one training entry point: what to train, resolved against the
recipes, and the trainer that runs it.

``kanhw train`` and the scikit-learn estimators describe a run as
:class:`TrainOptions` (``None`` takes the recipe's value) and call
:func:`train`. It resolves the options for the data (:mod:`kanhw.recipes`:
the built-in dataset's recipe or the rule for user tables), builds the
model (float64 or the bit-exact fixed point; fresh, or from a saved float
model), compiles the kernels (saying so when numba compiles), pretrains
addend groups if asked, and runs the trainer the options choose: the epoch
driver (:func:`kanhw.train.fit`), merge rounds in processes or on Dask
(:func:`kanhw.merge.fit_merged`) or a multilevel schedule
(:func:`kanhw.multilevel.fit_multilevel`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from . import classes, recipes
from .arch import Architecture, build_architecture
from .datasets import Dataset, recipe_of
from .design import load_contract, resolve_contract
from .errors import ConfigError
from .fixed_model import FixedBackend, FixedKAN
from .merge import MergeConfig, fit_merged
from .model import KAN
from .multilevel import Level, fit_multilevel, parse_schedule
from .nk_fixed import C_CLAMP, C_SAT, C_STRETCH
from .pretrain import pretrain
from .progress import CompileNotice
from .train import FloatBackend, Progress, TrainConfig, TrainResult, fit
from .train import predict as predict_float


@dataclass
class TrainOptions:
    """Everything a user chooses about a training run; ``None`` (and the
    defaults) leave the choice to the recipe. ``hidden`` is every hidden
    width (``kanhw train --layers``); without it the KAN is the classical
    ``inputs -> addends -> outputs``. ``workers``, ``rounds`` or ``batch``
    select merge rounds; ``multilevel`` a schedule such as ``"5,8x3 5,22x7"``;
    ``init`` a float model to start from; ``recipe`` the built-in dataset
    whose recipe fills the gaps (default: the data's own, or the table rule).
    """

    addends: int | None = None
    hidden: Sequence[int] | None = None
    points: Sequence[int] | None = None
    alpha: float | None = None
    step: str = "constant"
    epochs: int | None = None
    target_pearson: float | None = None
    validate_every: int | None = None
    anneal: int | None = None
    seed: int = 0
    shuffle: bool = True
    fixed: str | None = None
    workers: int | None = None
    rounds: int | None = None
    batch: int | None = None
    multilevel: str | None = None
    pretrain: bool = False
    pretrain_group: int = 2
    pretrain_epochs: int = 1
    init: KAN | None = None
    recipe: str | None = None

    def check(self) -> None:
        for name in ("addends", "epochs", "workers", "rounds", "batch", "validate_every",
                     "pretrain_group", "pretrain_epochs"):
            v = getattr(self, name)
            if v is not None and not (isinstance(v, (int, np.integer)) and v >= 1):
                raise ConfigError(f"{name.replace('_', ' ')} must be an integer of at least "
                                  f"1, got {v!r}")
        if self.recipe is not None and self.recipe not in recipes.RECIPES:
            raise ConfigError(f"no recipe {self.recipe!r}; recipes: "
                              f"{', '.join(recipes.names())}")


@dataclass
class Plan:
    """The options resolved for one dataset."""

    arch: Architecture            # the network as it starts (a schedule's first level)
    finest: Architecture          # and as it ends
    cfg: TrainConfig
    schedule: list[Level] | None
    merged: bool


def _given(values: Sequence | None) -> bool:
    return values is not None and len(values) > 0


def _integers(values: Sequence, what: str) -> list[int]:
    if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
        raise ConfigError(f"{what} must be integers, got {list(values)!r}")
    return [int(v) for v in values]


def plan(options: TrainOptions, data: Dataset) -> Plan:
    """Resolve ``options`` for ``data``: the recipe fills what is unset;
    contradictory options are a :class:`ConfigError`."""
    options.check()
    n_in, n_out = data.X.shape[1], data.y.shape[1]
    r = recipe_of(data, options.recipe)
    o = options
    if o.init is not None:
        if _given(o.hidden) or o.addends or _given(o.points) or o.multilevel or o.pretrain:
            raise ConfigError("a starting model (init) fixes the architecture; leave "
                              "layers/addends/points/multilevel/pretrain unset")
        if o.init.arch.n_in != n_in or o.init.arch.n_out != n_out:
            raise ConfigError(f"the starting model takes {o.init.arch.n_in} inputs and gives "
                              f"{o.init.arch.n_out} outputs; {data.name} has {n_in} and "
                              f"{n_out}")
        arch = o.init.arch
    else:
        if _given(o.hidden):
            hidden = _integers(o.hidden, "hidden widths")
        elif o.addends is not None:
            hidden = [int(o.addends)]
        else:
            hidden = list(r.hidden)
        if _given(o.points):
            points = _integers(o.points, "points")
        elif len(hidden) + 1 == len(r.points):
            points = list(r.points)
        else:
            points = None   # the generic default: 5 points inside, 22 in the last layer
        arch = build_architecture(n_in, n_out, o.addends, hidden, points)
    schedule = None
    finest = arch
    if o.multilevel:
        if o.epochs:
            raise ConfigError("the multilevel schedule sets the epochs of every level; "
                              "leave epochs unset")
        if o.rounds:
            raise ConfigError("the multilevel schedule sets the records of every level; "
                              "leave rounds unset")
        schedule = parse_schedule(o.multilevel, arch.n_layers)
        if _given(o.points) and tuple(arch.points) != schedule[-1].points:
            raise ConfigError(f"points {list(arch.points)} differ from the schedule's last "
                              f"level {list(schedule[-1].points)}; leave points unset")
        finest = Architecture(arch.sizes, schedule[-1].points)
        arch = Architecture(arch.sizes, schedule[0].points)
    if o.pretrain and o.fixed:
        raise ConfigError("pretraining works on the float model; train fixed point "
                          "without it")
    cfg = TrainConfig(alpha=o.alpha if o.alpha is not None else r.alpha, step=o.step,
                      epochs=o.epochs if o.epochs is not None else r.epochs,
                      target_pearson=o.target_pearson, seed=o.seed, shuffle=o.shuffle,
                      validate_every=o.validate_every,
                      anneal=o.anneal if o.anneal is not None else r.anneal)
    merged = bool(o.workers is not None or o.rounds or o.batch)
    return Plan(arch, finest, cfg, schedule, merged)


@dataclass
class Trained:
    """A trained model and what its run measured."""

    model: KAN | FixedKAN
    result: TrainResult
    cfg: TrainConfig
    kind: str                     # "float64" or the fixed-point contract
    counters: dict
    pretrain: dict | None = None
    merge: MergeConfig | None = None
    classification: dict | None = None

    def summary(self, data: Dataset) -> dict:
        """The JSON summary of ``kanhw train``."""
        s = self.result.to_dict()
        s.pop("stretches")        # one place for counters: "counters"
        s.update(dataset=data.name, architecture=self.model.arch.to_dict(),
                 step=self.cfg.step, alpha=self.cfg.alpha, seed=self.cfg.seed,
                 counters=self.counters)
        if isinstance(self.model, FixedKAN):
            s["contract"] = self.model.contract.to_dict()
        if self.classification is not None:
            s["classification"] = self.classification
        return s


def predict(model: KAN | FixedKAN, X: np.ndarray) -> np.ndarray:
    """Frozen-mode outputs of a float or fixed-point model."""
    if isinstance(model, FixedKAN):
        return FixedBackend(model).predict(X)
    return predict_float(model, X)


def counters(model: KAN | FixedKAN, result: TrainResult, data: Dataset) -> dict:
    """The run's counters, in the vocabulary every JSON summary uses:
    ``stretches`` (domains widened while training); fixed point also
    ``saturated_records`` (records in which a value saturated),
    ``clamps`` (hidden arguments clamped in frozen mode) and
    ``input_clamps`` (input coordinates clamped by the host mapping)."""
    if not isinstance(model, FixedKAN):
        return {"stretches": int(result.stretches)}
    clamped = model.map_inputs(data.X)[1] + model.map_inputs(data.X_val)[1]
    return {"stretches": int(model.counts[C_STRETCH]),
            "saturated_records": int(model.counts[C_SAT]),
            "clamps": int(model.counts[C_CLAMP]), "input_clamps": int(clamped)}


def build_model(p: Plan, options: TrainOptions, data: Dataset) -> tuple[KAN | FixedKAN, str]:
    """The model training starts from, and a description of its arithmetic."""
    bounds = (data.X.min(0), data.X.max(0), data.y.min(0), data.y.max(0))
    if options.fixed:
        # a multilevel run keeps one contract: the one of its finest grid
        contract = resolve_contract(load_contract(options.fixed), p.finest, p.cfg.alpha)
        if options.init is not None:
            model = FixedKAN.from_model(options.init, contract, bounds[2], bounds[3])
        else:
            model = FixedKAN.initialise(p.arch, contract, *bounds, seed=options.seed)
        kind = (f"fixed point ({options.fixed}: {contract.value_bits}-bit values, "
                f"step {contract.step_mult}/2^{contract.step_shift})")
    else:
        model = options.init.copy() if options.init is not None else \
            KAN.initialise(p.arch, *bounds, seed=options.seed)
        kind = "float64"
    model.info.update(dataset=data.name, step=p.cfg.step, alpha=p.cfg.alpha, seed=p.cfg.seed,
                      features=data.feature_names, targets=data.target_names)
    if data.classes:
        model.info["classes"] = list(data.class_names)
    return model, kind


def train(data: Dataset, options: TrainOptions, *, client=None,
          progress: Progress | None = None,
          rounds_progress: Callable[[dict], None] | None = None,
          say: Callable[[str], None] | None = None, quiet: bool = True,
          plan_ready: Callable[[Plan, KAN | FixedKAN, str], None] | None = None) -> Trained:
    """Train a model on ``data`` as ``options`` say.

    ``client``: a ``dask.distributed`` client for merge rounds.
    ``progress`` follows epochs, ``rounds_progress`` merge rounds; ``say``
    gets one-line messages; ``quiet`` silences the compile notice.
    ``plan_ready`` is called with the resolved plan and the initial model
    before training starts (the CLI prints its header there).
    """
    p = plan(options, data)
    with CompileNotice(FixedBackend.KERNELS if options.fixed else FloatBackend.KERNELS,
                       quiet=quiet) as note:
        model, kind = build_model(p, options, data)
        backend = FixedBackend(model, p.cfg) if options.fixed else FloatBackend(model, p.cfg)
        # compiled once here: forked workers (merge rounds, pretraining)
        # inherit the loaded kernels instead of compiling their own
        backend.compile(note.step)
    if plan_ready:
        plan_ready(p, model, kind)
    pre = None
    if options.pretrain:
        pre = pretrain(model, data, p.cfg.alpha, epochs=options.pretrain_epochs,
                       group=options.pretrain_group, workers=options.workers or 2,
                       seed=options.seed)
        model.info["pretrain"] = pre
        if say:
            say(f"pretrained {pre['groups']} groups of {pre['group_size']} addends for "
                f"{pre['epochs']} epoch(s) in {pre['seconds']:.2f} s")
    merge = None
    if p.schedule:
        model, result = fit_multilevel(model, data, p.cfg, p.schedule, progress=progress,
                                       workers=options.workers or 1, batch=options.batch,
                                       client=client)
    elif p.merged or client is not None:
        merge = MergeConfig.for_epochs(options.workers or 1, data.X.shape[0], p.cfg.epochs,
                                       options.batch, options.rounds)
        if say:
            where = " on Dask" if client is not None else ""
            say(f"{merge.workers} worker(s){where}, {merge.rounds} rounds of "
                f"{merge.batch:,} records each")
        result = fit_merged(model, data, p.cfg, merge, progress=rounds_progress, client=client)
    else:
        result = fit(model, data, p.cfg, backend=backend, progress=progress)
    result.jit_seconds = round(result.jit_seconds + note.seconds, 4)
    report = None
    if data.classes and data.X_val.shape[0]:
        report = classes.report(predict(model, data.X_val), data.y_val, data.class_names,
                                data.y)
    return Trained(model, result, p.cfg, kind, counters(model, result, data), pre, merge,
                   report)
