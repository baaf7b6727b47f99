"""The training study (seed 001 brought to piecewise-linear KANs and NK):
NK-trained KAN against a backprop KAN, an MLP of the same depth and widths,
and a wide MLP matched to the KAN's parameter count, over the paper's 27
schemes (initialiser x optimiser x learning rate), on offline datasets; the
same three models trained layer by layer by the HSIC bottleneck
(:mod:`kanhw.hsic`) over the same schemes; and pykan's spline KAN with its
own LBFGS and Adam trainings (:mod:`kanhw.pykan_baseline`).

Per run it reports the best test score (accuracy for classification, mean
Pearson otherwise), the train-test gap at that epoch, epochs to best, wall
time, trainable parameters and the paper's efficiency metric
``best / (epochs to best + 1) / ln(1 + parameters - intrinsic dimension)``.
Runs go to a process pool; results are a Markdown table, JSON and PNG plots.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from functools import lru_cache

import numpy as np

from . import datasets
from .arch import build_architecture
from .backprop import Scheme, all_schemes
from .errors import ConfigError
from .workers import WorkerError

MODELS = ("nk_kan", "bp_kan", "mlp", "mlp_wide", "hsic_kan", "hsic_mlp", "hsic_mlp_wide",
          "pykan")
MODEL_NAMES = {"nk_kan": "NK-KAN", "bp_kan": "backprop KAN", "mlp": "MLP (same sizes)",
               "mlp_wide": "MLP (wide, KAN's parameters)",
               "hsic_kan": "HSIC KAN", "hsic_mlp": "HSIC MLP (same sizes)",
               "hsic_mlp_wide": "HSIC MLP (wide)", "pykan": "pykan (cubic splines)",
               "sklearn_mlp": "scikit-learn MLPClassifier"}
#: Models trained over the 27 schemes (the rest: NK's recipe, pykan's two trainings).
SCHEMED = ("bp_kan", "mlp", "mlp_wide", "hsic_kan", "hsic_mlp", "hsic_mlp_wide")
#: The extra each model needs beyond the base install.
EXTRAS = {**{m: "study" for m in SCHEMED}, "pykan": "pykan"}
#: Added to every classification dataset: scikit-learn's MLPClassifier with its
#: defaults (one hidden layer of 100, Adam, lr 0.001, early stop on loss).
REFERENCE_MODEL = "sklearn_mlp"
DEFAULT_DATASETS = ("digits", "det4", "feynman-I.6.2", "feynman-I.27.6", "feynman-I.29.16")
#: Test score whose first crossing gives "seconds to target" (other datasets: 0.95).
TARGETS = {"digits": 0.95, "det4": 0.8, "feynman-I.6.2": 0.99, "feynman-I.27.6": 0.99,
           "feynman-I.29.16": 0.99}


@dataclass(frozen=True)
class StudyConfig:
    """What to run: datasets, models, schemes and the training budget."""

    datasets: tuple[str, ...] = DEFAULT_DATASETS
    models: tuple[str, ...] = MODELS
    schemes: tuple[Scheme, ...] = tuple(all_schemes())
    epochs: int = 20
    batch: int = 64
    #: Training / test records of generated datasets (digits has its own split).
    train: int = 10_000
    test: int = 2_000
    seed: int = 0
    workers: int = 2
    #: Steps of pykan's LBFGS and Adam trainings.
    pykan_steps: tuple[int, int] = (20, 100)
    #: Balance factor of the HSIC bottleneck.
    hsic_beta: float = 100.0
    #: Dropout on hidden units of the backprop and HSIC models.
    dropout: float = 0.0

    def __post_init__(self) -> None:
        for m in self.models:
            if m not in MODELS:
                raise ConfigError(f"unknown model {m!r}; use {', '.join(MODELS)}")
        for d in self.datasets:
            if d not in datasets.names():
                raise ConfigError(f"unknown dataset {d!r}; the study uses built-in datasets: "
                                  f"{', '.join(datasets.names())}")
        for name in ("epochs", "batch", "train", "test", "workers"):
            if getattr(self, name) < 1:
                raise ConfigError(f"study {name} must be at least 1")
        if not self.schemes and any(m in SCHEMED for m in self.models):
            raise ConfigError("backprop and HSIC models need at least one scheme")
        if min(self.pykan_steps) < 1:
            raise ConfigError("pykan steps must be at least 1")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"dropout must lie in [0, 1), got {self.dropout}")
        if not (math.isfinite(self.hsic_beta) and self.hsic_beta >= 0):
            raise ConfigError(f"the HSIC balance factor must be >= 0, got {self.hsic_beta}")


@dataclass
class Run:
    """One training run and its figures."""

    dataset: str
    model: str
    scheme: str
    sizes: list[int]
    parameters: int
    best_test: float
    train_at_best: float
    gap: float
    epochs_to_best: int
    seconds: float
    seconds_to_best: float
    efficiency: float
    diverged: bool
    test_curve: list[float] = field(default_factory=list)
    seconds_curve: list[float] = field(default_factory=list)

    @property
    def seconds_to_target(self) -> float:
        """Training seconds until the test score first reaches the dataset's
        target (``TARGETS``); inf if it never does."""
        target = TARGETS.get(self.dataset, 0.95)
        for score, sec in zip(self.test_curve, self.seconds_curve):
            if score >= target:
                return sec
        return math.inf


# -- data and the figures of merit --------------------------------------------

@lru_cache(maxsize=8)
def load(name: str, train: int, test: int, seed: int) -> datasets.Dataset:
    if name in datasets.FIXED_DATASETS:
        return datasets.builtin(name, seed)
    return datasets.builtin(name, seed, train, test)


def two_nn_dimension(X: np.ndarray) -> float:
    """Intrinsic dimension by the TwoNN estimator (Facco et al., 2017): the
    maximum-likelihood fit of ``d`` to the ratio of each point's second to
    first nearest-neighbour distance; duplicate points are dropped."""
    X = np.unique(np.asarray(X, dtype=np.float64), axis=0)
    sq = (X * X).sum(axis=1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2 * X @ X.T, 0.0)
    np.fill_diagonal(d2, np.inf)
    near = np.sqrt(np.partition(d2, 1, axis=1)[:, :2])
    ok = near[:, 0] > 0
    mu = near[ok, 1] / near[ok, 0]
    return float(ok.sum() / np.log(mu[mu > 1]).sum())


def intrinsic_dimension(data: datasets.Dataset) -> tuple[float, str]:
    """The intrinsic dimension used in the efficiency metric, and how it was
    found: generated datasets draw their inputs independently, so it is the
    number of inputs; digits gets the TwoNN estimate on its test images."""
    if data.name in datasets.FIXED_DATASETS:
        return round(two_nn_dimension(data.X_val), 1), "TwoNN estimate on the test inputs"
    return float(data.X.shape[1]), "independent inputs"


def efficiency(best: float, epochs_to_best: int, parameters: int, dim: float) -> float:
    """The paper's metric: best / (epochs to best + 1) / ln(1 + parameters - dim)."""
    arg = 1.0 + parameters - dim
    if not (math.isfinite(best) and arg > 1.0):
        return float("nan")
    return best / (epochs_to_best + 1) / math.log(arg)


def kan_architecture(data: datasets.Dataset):
    r = datasets.recipe(data)
    return build_architecture(data.X.shape[1], data.y.shape[1], hidden=r["hidden"],
                              points=r["points"])


def _summarise(dataset: str, model: str, scheme: str, sizes: Sequence[int], params: int,
               train: list[float], test: list[float], seconds: list[float], diverged: bool,
               dim: float, marks: Sequence[int] | None = None) -> Run:
    """A run's figures from its per-epoch scores; ``marks``: the epoch (or
    step) of each score when they are not 1, 2, 3..."""
    finite = [v if math.isfinite(v) else -math.inf for v in test]
    if not finite:
        return Run(dataset, model, scheme, list(sizes), params, float("nan"), float("nan"),
                   float("nan"), 0, 0.0, 0.0, float("nan"), True, [])
    b = int(np.argmax(finite))
    best = test[b]
    at = int(marks[b]) if marks is not None else b + 1
    return Run(dataset, model, scheme, list(sizes), params, best, train[b], train[b] - best,
               at, seconds[-1], seconds[b], efficiency(best, at, params, dim),
               diverged, [round(v, 5) for v in test], [round(v, 4) for v in seconds])


# -- the runs ---------------------------------------------------------------

@dataclass(frozen=True)
class Task:
    dataset: str
    model: str
    #: a backprop/HSIC scheme, pykan's optimiser name, or None
    scheme: Scheme | str | None
    cfg: StudyConfig


def run_task(task: Task) -> Run:
    """One run (executed in a worker process)."""
    cfg = task.cfg
    data = load(task.dataset, cfg.train, cfg.test, cfg.seed)
    dim, _ = intrinsic_dimension(data)
    arch = kan_architecture(data)
    if task.model == "nk_kan":
        return _run_nk(data, arch, cfg, dim)
    if task.model == REFERENCE_MODEL:
        return _run_sklearn(data, cfg, dim)
    if task.model == "pykan":
        return _run_pykan(data, arch, task.scheme, cfg, dim)
    from . import backprop as bp

    torch = bp.require_torch()
    torch.set_num_threads(1)
    sizes = list(arch.sizes)
    kind = task.model.removeprefix("hsic_")
    if kind == "bp_kan" or kind == "kan":
        net = bp.pl_kan(sizes, arch.points, data.X, task.scheme, cfg.seed, cfg.dropout)
    elif kind == "mlp":
        net = bp.mlp(sizes, task.scheme, cfg.seed, cfg.dropout)
    else:
        sizes = bp.matched_widths(sizes, arch.n_parameters)
        net = bp.mlp(sizes, task.scheme, cfg.seed, cfg.dropout)
    if task.model.startswith("hsic_"):
        from .hsic import train_hsic
        res = train_hsic(net, data.X, data.y, data.X_val, data.y_val, task.scheme, cfg.epochs,
                         cfg.batch, data.classes, cfg.seed, cfg.hsic_beta)
    else:
        res = bp.train(net, data.X, data.y, data.X_val, data.y_val, task.scheme, cfg.epochs,
                       cfg.batch, data.classes, cfg.seed)
    return _summarise(task.dataset, task.model, task.scheme.label, sizes, res.parameters,
                      res.train, res.test, res.seconds, res.diverged, dim)


def _run_pykan(data: datasets.Dataset, arch, optimiser: str, cfg: StudyConfig,
               dim: float) -> Run:
    """pykan's KAN at the study's widths, its LBFGS or Adam training; scored
    about 20 times over the run ("epochs to best" counts pykan's steps)."""
    from .pykan_baseline import train_pykan

    steps = cfg.pykan_steps[0 if optimiser == "lbfgs" else 1]
    res = train_pykan(list(arch.sizes), data.X, data.y, data.X_val, data.y_val, optimiser,
                      steps, data.classes, cfg.seed, score_every=max(1, steps // 20))
    label = f"{'LBFGS' if optimiser == 'lbfgs' else 'Adam, lr 0.01'}, {steps} steps"
    return _summarise(data.name, "pykan", label, arch.sizes, res.parameters, res.train,
                      res.test, res.seconds, res.diverged, dim, marks=res.steps)


def _run_nk(data: datasets.Dataset, arch, cfg: StudyConfig, dim: float) -> Run:
    """NK training epoch by epoch, scoring train and test sets after each."""
    from .backprop import score
    from .model import KAN
    from .train import FloatBackend, TrainConfig, fit, predict

    r = datasets.recipe(data)
    model = KAN.initialise(arch, data.X.min(0), data.X.max(0), data.y.min(0), data.y.max(0),
                           seed=cfg.seed)
    FloatBackend(model, TrainConfig()).compile()  # JIT (cached) outside the timing
    train_s, test_s, secs = [], [], []
    elapsed = 0.0
    quiet = datasets.Dataset(data.name, data.X, data.y, None, None)
    anneal = min(r.get("anneal", 0), cfg.epochs)
    for epoch in range(cfg.epochs):
        t = time.perf_counter()
        # the recipe's anneal, if any: the last epochs halve the step
        halvings = max(0, epoch + 1 - (cfg.epochs - anneal))
        fit(model, quiet, TrainConfig(alpha=r["alpha"] / 2.0 ** halvings, epochs=1,
                                      seed=cfg.seed + epoch))
        elapsed += time.perf_counter() - t
        secs.append(elapsed)
        train_s.append(score(predict(model, data.X), data.y, data.classes))
        test_s.append(score(predict(model, data.X_val), data.y_val, data.classes))
    label = f"NK, alpha {r['alpha']}" + (f", anneal {anneal}" if anneal else "")
    return _summarise(data.name, "nk_kan", label, arch.sizes,
                      arch.n_parameters, train_s, test_s, secs, False, dim)


def _run_sklearn(data: datasets.Dataset, cfg: StudyConfig, dim: float) -> Run:
    """scikit-learn's MLPClassifier with its defaults, on the same split."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    from .backprop import score

    clf = MLPClassifier(random_state=cfg.seed)
    labels = np.argmax(data.y, axis=1)
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(data.X, labels)
    seconds = time.perf_counter() - t
    eye = np.eye(data.classes)
    train = score(eye[clf.predict(data.X)], data.y, data.classes)
    test = score(eye[clf.predict(data.X_val)], data.y_val, data.classes)
    params = sum(w.size for w in clf.coefs_) + sum(b.size for b in clf.intercepts_)
    sizes = [data.X.shape[1], *clf.hidden_layer_sizes, data.classes]
    run = _summarise(data.name, REFERENCE_MODEL, "defaults (adam, lr 0.001)", sizes, params,
                     [train], [test], [seconds], False, dim)
    run.epochs_to_best = int(clf.n_iter_)
    run.efficiency = efficiency(test, run.epochs_to_best, params, dim)
    return run


def tasks(cfg: StudyConfig) -> list[Task]:
    out = []
    for d in cfg.datasets:
        if d in datasets.FIXED_DATASETS:  # classification: the scikit-learn reference
            out.append(Task(d, REFERENCE_MODEL, None, cfg))
        for m in cfg.models:
            if m == "nk_kan":
                out.append(Task(d, m, None, cfg))
            elif m == "pykan":
                out.extend(Task(d, m, o, cfg) for o in ("lbfgs", "adam"))
            else:
                out.extend(Task(d, m, s, cfg) for s in cfg.schemes)
    # the longest runs first, so the pool's last minutes are not one long run
    return sorted(out, key=lambda t: t.model != "pykan")


def missing_extras(models: Sequence[str]) -> dict[str, str]:
    """The models whose optional extra is not installed, with the note to
    print for each (``pip install -e '.[EXTRA]'``)."""
    from importlib.util import find_spec

    have = {"study": find_spec("torch") is not None,
            "pykan": find_spec("torch") is not None and find_spec("kan") is not None}
    return {m: f"{MODEL_NAMES[m]} skipped: it needs the '{EXTRAS[m]}' extra "
               f"(pip install -e '.[{EXTRAS[m]}]')"
            for m in models if m in EXTRAS and not have[EXTRAS[m]]}


def run_study(cfg: StudyConfig, on_done: Callable[[Run], None] | None = None) -> list[Run]:
    """Every run of ``cfg``, in a pool of ``cfg.workers`` processes (spawned:
    each imports PyTorch once and keeps to one thread)."""
    if any(m in SCHEMED for m in cfg.models):
        from .backprop import require_torch
        require_torch()
    if "pykan" in cfg.models:
        from .pykan_baseline import require_pykan
        require_pykan()
    for d in cfg.datasets:  # fail early, in one line, on data problems
        load(d, cfg.train, cfg.test, cfg.seed)
    return run_pool(run_task, tasks(cfg), cfg.workers, on_done)


def run_pool(fn: Callable, jobs: Sequence, workers: int,
             on_done: Callable[[Run], None] | None = None) -> list[Run]:
    """``fn`` on every job, in order, in a pool of ``workers`` spawned
    processes (each imports PyTorch once and keeps to one thread), or here
    with one worker; ``on_done`` sees each run as it finishes."""
    if workers == 1:
        results = (fn(j) for j in jobs)
        pool = None
    else:
        import multiprocessing as mp
        pool = ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"))
        results = pool.map(fn, jobs)
    runs: list[Run] = []
    done = False
    try:
        for run in results:
            runs.append(run)
            if on_done:
                on_done(run)
        done = True
    except BrokenProcessPool:
        raise WorkerError(f"a study worker process died after {len(runs)} of {len(jobs)} "
                          "runs; run again (fewer --workers use less memory)") from None
    finally:
        if pool is not None:
            if done:
                pool.shutdown()
            else:       # interrupted or failed: end the workers now, not after their runs
                procs = list((getattr(pool, "_processes", None) or {}).values())
                pool.shutdown(wait=False, cancel_futures=True)
                for p in procs:
                    p.terminate()
                for p in procs:
                    p.join(1)
                    if p.is_alive():
                        p.kill()
    return runs


# -- reporting ----------------------------------------------------------------

def best_per_model(runs: Sequence[Run]) -> list[Run]:
    """For each (dataset, model) the run with the best test score."""
    best: dict[tuple[str, str], Run] = {}
    for r in runs:
        key = (r.dataset, r.model)
        score = r.best_test if math.isfinite(r.best_test) else -math.inf
        if key not in best or score > (best[key].best_test if math.isfinite(
                best[key].best_test) else -math.inf):
            best[key] = r
    order = [*MODELS, REFERENCE_MODEL]
    return [best[k] for k in sorted(best, key=lambda k: (k[0], order.index(k[1])))]


def row(r: Run) -> str:
    def f(v: float, d: int = 4) -> str:
        return "diverged" if not math.isfinite(v) else f"{v:.{d}f}"

    tt = r.seconds_to_target
    return (f"| {r.dataset} | {MODEL_NAMES[r.model]} | {r.scheme} | {r.parameters:,} | "
            f"{f(r.best_test)} | {f(r.gap)} | {r.epochs_to_best} | {r.seconds:.2f} | "
            f"{r.seconds_to_best:.2f} | {'-' if math.isinf(tt) else f'{tt:.2f}'} | "
            f"{f(r.efficiency, 5)} |")


HEADER = ("| dataset | model | scheme | parameters | best test | train-test gap | "
          "epochs to best | seconds | seconds to best | seconds to target | efficiency |\n"
          "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")


def markdown(runs: Sequence[Run], cfg: StudyConfig, notes: Sequence[str] = ()) -> str:
    dims = []
    for d in cfg.datasets:
        dim, how = intrinsic_dimension(load(d, cfg.train, cfg.test, cfg.seed))
        dims.append(f"{d}: {dim:g} ({how})")
    lines = [
        "# Training study",
        "",
        f"{cfg.epochs} epochs, batch {cfg.batch}, generated datasets {cfg.train:,} training / "
        f"{cfg.test:,} test records, seed {cfg.seed}. Score: test accuracy (digits) or mean "
        "test Pearson. Efficiency = best / (epochs to best + 1) / ln(1 + parameters - "
        "intrinsic dimension). Seconds: training time (NK: the compiled trainer on one core; "
        "backprop, HSIC and pykan: PyTorch on one thread), scoring excluded. Target: "
        + ", ".join(f"{d} {TARGETS.get(d, 0.95)}" for d in cfg.datasets) + ".",
        "",
        (f"Dropout on hidden units of the backprop and HSIC models: {cfg.dropout:g}. HSIC "
        f"bottleneck: balance factor {cfg.hsic_beta:g}, Gaussian kernels, readout by ridge "
        f"after every epoch. pykan: grid 5, cubic, LBFGS {cfg.pykan_steps[0]} steps and "
        f"Adam {cfg.pykan_steps[1]} steps (its epochs to best count steps)."),
        "",
        "Intrinsic dimensions: " + "; ".join(dims) + ".",
        "",
        *([*(f"* {n}" for n in notes), ""] if notes else []),
        "## Best scheme per model",
        "",
        HEADER,
        *(row(r) for r in best_per_model(runs)),
        "",
        "## Every run",
        "",
        HEADER,
        *(row(r) for r in runs),
        "",
    ]
    return "\n".join(lines)


def plot(runs: Sequence[Run], outdir: str) -> list[str]:
    """Per dataset, a PNG: best test score of every scheme and backprop or
    HSIC model (NK-KAN, pykan and the reference as lines), and the test
    score against training seconds of each model's best run."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(outdir, exist_ok=True)
    paths = []
    for d in dict.fromkeys(r.dataset for r in runs):
        mine = [r for r in runs if r.dataset == d]
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(14, 5))
        bp_models = [m for m in SCHEMED if any(r.model == m for r in mine)]
        schemes = list(dict.fromkeys(r.scheme for r in mine if r.model in bp_models))
        for k, m in enumerate(bp_models):
            vals = {r.scheme: r.best_test for r in mine if r.model == m}
            y = [vals.get(s, np.nan) for s in schemes]
            ax1.plot(range(len(schemes)), y, "o", label=MODEL_NAMES[m], alpha=0.8)
        lines = {"nk_kan": ("k", "-"), REFERENCE_MODEL: ("grey", "--"), "pykan": ("C9", ":")}
        for r in mine:
            if r.model in lines:
                color, ls = lines[r.model]
                ax1.axhline(r.best_test, color=color, lw=1, ls=ls,
                            label=f"{MODEL_NAMES[r.model]}" + (
                                f" ({r.scheme})" if r.model == "pykan" else ""))
        ax1.set_xticks(range(len(schemes)))
        ax1.set_xticklabels(schemes, rotation=90, fontsize=6)
        ax1.set_ylabel("best test score")
        ax1.set_title(f"{d}: best test score per scheme")
        ax1.legend(fontsize=7)
        for r in best_per_model(mine):
            if r.model == REFERENCE_MODEL:
                continue
            ax2.plot(r.seconds_curve, r.test_curve, label=f"{MODEL_NAMES[r.model]} ({r.scheme})")
        ax2.set_xscale("log")
        ax2.set_xlabel("training seconds")
        ax2.set_ylabel("test score")
        ax2.set_title(f"{d}: test score against time, each model's best scheme")
        ax2.legend(fontsize=7)
        fig.tight_layout()
        path = os.path.join(outdir, f"study-{d}.png")
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths


def to_json(runs: Sequence[Run]) -> list[dict]:
    out = []
    for r in runs:
        d = asdict(r)
        tt = r.seconds_to_target
        d["seconds_to_target"] = None if math.isinf(tt) else tt
        out.append(d)
    return out
