"""Two experiments of seed 001 beyond the scheme grid, for NK-KAN and the
backprop models (dropout 0.2 on hidden units, as in the seed):

* **depth**: a shallow, medium and deep network per dataset, one, two and
  three hidden layers of the recipe's width (the seed keeps width and
  depth fixed per size and lets the parameter count follow the unit type);
  the wide MLP scales its widths to the KAN's parameter count at each depth;
* **width against points**: one hidden layer whose parameter count grows
  by a factor m, either by widening the layer m times (points fixed) or by
  giving every function m times the points (width fixed), for the NK and
  backprop KANs; an MLP with the same parameter count is the reference.

Each run is a :class:`kanhw.study.Run` (same columns as the study); the
variant is in its ``scheme`` field. Runs go to a process pool.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from . import study
from .arch import Architecture
from .backprop import Scheme
from .errors import ConfigError, TrainingDiverged

EXPERIMENTS = ("depth", "width")
DEPTHS = {"shallow": 1, "medium": 2, "deep": 3}
#: Points of the functions between two hidden layers (the tetra recipe's).
MIDDLE_POINTS = 12
MULTIPLIERS = (1, 2, 4)
#: The backprop scheme of the sweeps (Adam, the study's best kind).
SCHEME = Scheme("kaiming_normal", "adam", 0.005)
SWEEP_MODELS = ("nk_kan", "bp_kan", "mlp", "mlp_wide")


@dataclass(frozen=True)
class SweepConfig:
    """One experiment over datasets: models, the backprop scheme, budget."""

    experiment: str = "depth"
    datasets: tuple[str, ...] = study.DEFAULT_DATASETS
    scheme: Scheme = SCHEME
    dropout: float = 0.2
    epochs: int = 20
    batch: int = 64
    train: int = 10_000
    test: int = 2_000
    seed: int = 0
    workers: int = 2
    multipliers: tuple[int, ...] = MULTIPLIERS

    def __post_init__(self) -> None:
        if self.experiment not in EXPERIMENTS:
            raise ConfigError(f"unknown experiment {self.experiment!r}; use depth or width")
        if not self.multipliers or min(self.multipliers) < 1:
            raise ConfigError("multipliers must be whole numbers of at least 1")
        # the study's checks of datasets, budget and dropout
        study.StudyConfig(datasets=self.datasets, models=("nk_kan",), epochs=self.epochs,
                          batch=self.batch, train=self.train, test=self.test,
                          seed=self.seed, workers=self.workers, dropout=self.dropout)

    def study_config(self) -> study.StudyConfig:
        return study.StudyConfig(datasets=self.datasets, models=("nk_kan",),
                                 schemes=(self.scheme,), epochs=self.epochs, batch=self.batch,
                                 train=self.train, test=self.test, seed=self.seed,
                                 workers=self.workers, dropout=self.dropout)


@dataclass(frozen=True)
class Variant:
    """One network of an experiment: its label, hidden widths and points."""

    dataset: str
    model: str
    label: str
    hidden: tuple[int, ...]
    points: tuple[int, ...]
    #: parameter count the wide MLP is matched to (0: the KAN's)
    mlp_target: int = 0


def variants(cfg: SweepConfig) -> list[Variant]:
    out = []
    for d in cfg.datasets:
        data = study.load(d, cfg.train, cfg.test, cfg.seed)
        r = study.datasets.recipe(data)
        width, (p_in, p_out) = r["hidden"][-1], (r["points"][0], r["points"][-1])
        n_in, n_out = data.X.shape[1], data.y.shape[1]
        if cfg.experiment == "depth":
            for label, depth in DEPTHS.items():
                hidden = (width,) * depth
                points = (p_in, *(MIDDLE_POINTS,) * (depth - 1), p_out)
                out.extend(Variant(d, m, f"{label} ({depth} hidden)", hidden, points)
                           for m in SWEEP_MODELS)
            continue
        base = Architecture((n_in, width, n_out), (p_in, p_out)).n_parameters
        for m in cfg.multipliers:
            wide = (width * m,)
            fine = (p_in * m, p_out * m)
            for model in ("nk_kan", "bp_kan"):
                out.append(Variant(d, model, f"width x{m}", wide, (p_in, p_out)))
                if m > 1:
                    out.append(Variant(d, model, f"points x{m}", (width,), fine))
            out.append(Variant(d, "mlp_wide", f"MLP, KAN x{m} parameters", (width,),
                               (p_in, p_out), mlp_target=base * m))
    return out


def run_variant(job: tuple[Variant, SweepConfig]) -> study.Run:
    """One run (in a worker process)."""
    v, cfg = job
    scfg = cfg.study_config()
    data = study.load(v.dataset, cfg.train, cfg.test, cfg.seed)
    dim, _ = study.intrinsic_dimension(data)
    arch = Architecture((data.X.shape[1], *v.hidden, data.y.shape[1]), v.points)
    if v.model == "nk_kan":
        try:
            run = study._run_nk(data, arch, scfg, dim)
        except TrainingDiverged:
            run = study._summarise(v.dataset, v.model, "", arch.sizes, arch.n_parameters,
                                   [], [], [], True, dim)
        run.scheme = f"{v.label}; {run.scheme}"
        return run
    from . import backprop as bp

    torch = bp.require_torch()
    torch.set_num_threads(1)
    sizes = list(arch.sizes)
    if v.model == "bp_kan":
        net = bp.pl_kan(sizes, arch.points, data.X, cfg.scheme, cfg.seed, cfg.dropout)
    else:
        if v.model == "mlp_wide":
            sizes = bp.matched_widths(sizes, v.mlp_target or arch.n_parameters)
        net = bp.mlp(sizes, cfg.scheme, cfg.seed, cfg.dropout)
    res = bp.train(net, data.X, data.y, data.X_val, data.y_val, cfg.scheme, cfg.epochs,
                   cfg.batch, data.classes, cfg.seed)
    return study._summarise(v.dataset, v.model, f"{v.label}; {cfg.scheme.label}, dropout "
                            f"{cfg.dropout:g}", sizes, res.parameters, res.train, res.test,
                            res.seconds, res.diverged, dim)


def run_sweep(cfg: SweepConfig, on_done: Callable[[study.Run], None] | None = None
              ) -> list[study.Run]:
    """Every run of the experiment, in ``cfg.workers`` processes."""
    from .backprop import require_torch
    require_torch()
    return study.run_pool(run_variant, [(v, cfg) for v in variants(cfg)], cfg.workers,
                          on_done)


# -- reporting ----------------------------------------------------------------

def variant_of(run: study.Run) -> str:
    return run.scheme.split(";")[0]


def markdown(runs: Sequence[study.Run], cfg: SweepConfig) -> str:
    what = {"depth": "Depth sweep: one, two and three hidden layers of the recipe's width "
                     f"(points between hidden layers: {MIDDLE_POINTS}).",
            "width": "Width against points: one hidden layer, its parameters multiplied by "
                     f"{', '.join(str(m) for m in cfg.multipliers)} through the width or "
                     "through the points of every function; an MLP of the same parameter "
                     "count for reference."}[cfg.experiment]
    return "\n".join([
        f"# {'Depth sweep' if cfg.experiment == 'depth' else 'Width against points'}",
        "",
        (f"{what} {cfg.epochs} epochs; backprop models: {cfg.scheme.label}, batch {cfg.batch}, "
        f"dropout {cfg.dropout:g} on hidden units; NK: the dataset's recipe step. Generated "
        f"datasets {cfg.train:,} training / {cfg.test:,} test records, seed {cfg.seed}."),
        "",
        study.HEADER,
        *(study.row(r) for r in runs),
        "",
    ])


def plot(runs: Sequence[study.Run], cfg: SweepConfig, outdir: str) -> list[str]:
    """Per dataset: best test score against depth (depth sweep) or against
    parameters (width against points), one line per model and series."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(outdir, exist_ok=True)
    names = list(dict.fromkeys(r.dataset for r in runs))
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 4), squeeze=False)
    for ax, d in zip(axes[0], names):
        mine = [r for r in runs if r.dataset == d]
        series: dict[str, list[tuple[float, float]]] = {}
        for r in mine:
            if cfg.experiment == "depth":
                key, x = study.MODEL_NAMES[r.model], len(r.sizes) - 2
            else:
                v = variant_of(r)
                kind = "width" if v.startswith(("width", "MLP")) else "points"
                key, x = f"{study.MODEL_NAMES[r.model]}, {kind}", r.parameters
            y = r.best_test if math.isfinite(r.best_test) else np.nan
            series.setdefault(key, []).append((x, y))
        for key, pts in series.items():
            pts.sort()
            ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-" if "points" not in key
                    else "s--", label=key)
        if cfg.experiment == "depth":
            ax.set_xticks(list(DEPTHS.values()))
            ax.set_xlabel("hidden layers")
        else:
            ax.set_xscale("log")
            ax.set_xlabel("parameters")
        ax.set_title(d)
        ax.set_ylabel("best test score")
        ax.legend(fontsize=6)
    fig.tight_layout()
    path = os.path.join(outdir, f"{cfg.experiment}.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return [path]
