"""``kanhw train``: NK training of a KAN on a built-in or user dataset."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys

from .. import datasets, persist
from ..arch import Architecture, build_architecture, parse_int_list
from ..design import load_contract, resolve_contract
from ..errors import ConfigError
from ..fixed_model import FixedBackend, FixedKAN
from ..merge import MergeConfig, fit_merged
from ..model import KAN
from ..multilevel import fit_multilevel, parse_schedule
from ..pretrain import pretrain
from ..progress import EpochBars, fmt_list
from ..train import STEP_RULES, TrainConfig, fit


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train", help="train a KAN record by record (Newton-Kaczmarz)",
        description="Train a piecewise-linear KAN by Newton-Kaczmarz on a built-in dataset "
                    f"({', '.join(datasets.names())}) or a .csv/.npy/.npz table. "
                    "Validation uses independently drawn records.")
    p.add_argument("dataset", metavar="DATASET", help="built-in name or path to a table")
    arch = p.add_argument_group("architecture (defaults: the dataset's recipe)")
    arch.add_argument("--addends", type=int, help="addends K: width of the last hidden layer")
    arch.add_argument("--layers", help="hidden widths, comma-separated, e.g. 32,8 for a "
                                       "three-layer KAN (input/output widths come from the data)")
    arch.add_argument("--points", help="grid points: INNER,OUTER or one value per layer")
    tr = p.add_argument_group("training")
    tr.add_argument("--alpha", type=float, help="step factor (constant: mu = alpha/K)")
    tr.add_argument("--step", choices=sorted(STEP_RULES), default="constant",
                    help="step rule (default constant)")
    tr.add_argument("--epochs", type=int, help="maximum epochs")
    tr.add_argument("--anneal", type=int, metavar="N",
                    help="end with small, steady steps: the last N epochs (of the last "
                         "level with --multilevel) halve the step each epoch; with --fixed "
                         "the step shift grows by one per epoch (software only: a "
                         "generated core keeps one step)")
    tr.add_argument("--target-pearson", type=float, metavar="P",
                    help="stop when every output's validation Pearson reaches P")
    tr.add_argument("--validate-every", type=int, metavar="N",
                    help="with --target-pearson: also check the target every N training "
                         "records, on a snapshot in a second thread (training goes on); "
                         "the model stops at the first snapshot that reaches it")
    tr.add_argument("--seed", type=int, default=0, help="seed for data, initialisation, order")
    tr.add_argument("--no-shuffle", action="store_true", help="keep the record order fixed")
    tr.add_argument("--fixed", metavar="CONTRACT",
                    help="train the bit-exact fixed-point model instead of float64: a named "
                         "contract (hw: the hardware default, deep: for deeper networks) or "
                         "a TOML file with a [contract] table (e.g. a design file)")
    ml = p.add_argument_group("multilevel grids and pretraining")
    ml.add_argument("--multilevel", metavar="SCHEDULE",
                    help="train on coarse grids first, refining between levels: points per "
                         "layer and epochs per level, e.g. '5,8x3 5,22x7' (each level must "
                         "nest the previous one: new points - 1 a multiple of old points - 1)")
    ml.add_argument("--pretrain", action="store_true",
                    help="pretrain random groups of addends alone, concurrently, before the "
                         "main training (two-layer KANs)")
    ml.add_argument("--pretrain-group", type=int, default=2, metavar="G",
                    help="addends per pretraining group (default 2)")
    ml.add_argument("--pretrain-epochs", type=int, default=1, metavar="E",
                    help="pretraining epochs (default 1)")
    par = p.add_argument_group("concurrent training (disjoint batches, model averaging)")
    par.add_argument("--workers", type=int, metavar="W",
                     help="train W copies in parallel processes on disjoint batches and "
                          "average them after every round")
    par.add_argument("--rounds", type=int, metavar="R", help="merge rounds (default: enough "
                     "for --epochs passes over the data)")
    par.add_argument("--batch", type=int, metavar="B",
                     help="records per copy and round (default 10000)")
    par.add_argument("--scheduler", metavar="ADDRESS",
                     help="run the copies on a Dask cluster: a scheduler address such as "
                          "tcp://10.0.0.5:8786, or 'local' for a local cluster of W "
                          "processes (needs kanhw[dask])")
    data = p.add_argument_group("data")
    data.add_argument("--train-records", type=int, metavar="N", help="built-in: training records")
    data.add_argument("--val-records", type=int, metavar="N", help="built-in: validation records")
    data.add_argument("--target", help="user table: target column name(s) or index(es), "
                                       "comma-separated (default: the last column)")
    data.add_argument("--val-split", type=float, default=0.2,
                      help="user table: fraction held out for validation (default 0.2)")
    tr.add_argument("--init", metavar="MODEL.npz",
                    help="start from a saved float model (e.g. from kanhw metakan or an "
                         "earlier run) instead of the initialisation heuristic: NK "
                         "fine-tuning; its architecture replaces the recipe")
    out = p.add_argument_group("output")
    out.add_argument("--save", metavar="PATH", help="write the trained model (.npz)")
    out.add_argument("--json", action="store_true",
                     help="end stdout with one JSON line holding the summary")
    out.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(run=run)


def recipe_for(args: argparse.Namespace, data: datasets.Dataset) -> tuple:
    """Architecture and config from the options, the dataset's recipe filling gaps."""
    recipe = datasets.recipe(data)
    if args.layers:
        hidden = parse_int_list(args.layers, "--layers")
    elif args.addends is not None:
        hidden = [args.addends]
    else:
        hidden = list(recipe["hidden"])
    if args.points:
        points = parse_int_list(args.points, "--points")
    elif len(hidden) + 1 == len(recipe["points"]):
        points = list(recipe["points"])
    else:
        points = None  # the generic default: 5 points inside, 22 in the last layer
    arch = build_architecture(data.X.shape[1], data.y.shape[1], args.addends, hidden, points)
    cfg = TrainConfig(alpha=args.alpha if args.alpha is not None else recipe["alpha"],
                      step=args.step,
                      epochs=args.epochs if args.epochs is not None else recipe["epochs"],
                      target_pearson=args.target_pearson, seed=args.seed,
                      shuffle=not args.no_shuffle, validate_every=args.validate_every,
                      anneal=args.anneal if args.anneal is not None else recipe.get("anneal", 0))
    return arch, cfg


@contextlib.contextmanager
def dask_client(address: str | None, workers: int):
    """A Dask client for ``address`` ('local': a local cluster), or None."""
    if not address:
        yield None
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ConfigError("--scheduler needs Dask: pip install 'kanhw[dask]'") from None
    if address == "local":
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster, Client(cluster) as client:
            yield client
        return
    try:
        client = Client(address, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise ConfigError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    with client:
        yield client


def merge_config(args: argparse.Namespace, cfg: TrainConfig, n: int) -> MergeConfig:
    """Workers, rounds and batch from the options; rounds default to the
    records of ``--epochs`` passes."""
    return MergeConfig.for_epochs(args.workers or 1, n, cfg.epochs, args.batch, args.rounds)


def run(args: argparse.Namespace) -> int:
    for name in ("train_records", "val_records", "epochs", "addends", "workers", "rounds",
                 "batch", "validate_every"):
        v = getattr(args, name)
        if v is not None and v < 1:
            raise ConfigError(f"--{name.replace('_', '-')} must be at least 1, got {v}")
    target = [t.strip() for t in args.target.split(",")] if args.target else None
    data = datasets.load(args.dataset, seed=args.seed, train=args.train_records,
                         val=args.val_records, target=target, val_split=args.val_split)
    arch, cfg = recipe_for(args, data)
    start = None
    if args.init:
        if args.layers or args.addends or args.points or args.multilevel or args.pretrain:
            raise ConfigError("--init fixes the architecture; drop --layers/--addends/"
                              "--points/--multilevel/--pretrain")
        start = persist.load(args.init)
        if start.arch.n_in != data.X.shape[1] or start.arch.n_out != data.y.shape[1]:
            raise ConfigError(f"{args.init} takes {start.arch.n_in} inputs and gives "
                              f"{start.arch.n_out} outputs; {data.name} has "
                              f"{data.X.shape[1]} and {data.y.shape[1]}")
        arch = start.arch
    schedule = None
    if args.multilevel:
        if args.points or args.epochs:
            raise ConfigError("--multilevel sets the points and epochs of every level; "
                              "drop --points/--epochs")
        if args.rounds:
            raise ConfigError("--multilevel sets the records of every level; drop --rounds")
        schedule = parse_schedule(args.multilevel, arch.n_layers)
        finest = Architecture(arch.sizes, schedule[-1].points)
        arch = Architecture(arch.sizes, schedule[0].points)
    bounds = (data.X.min(0), data.X.max(0), data.y.min(0), data.y.max(0))
    backend = None
    if args.fixed:
        if args.pretrain:
            raise ConfigError("--pretrain works on the float model; train --fixed without it")
        # a multilevel run keeps one contract: the one of its finest grid
        contract = resolve_contract(load_contract(args.fixed), finest if schedule else arch,
                                    cfg.alpha)
        if start is not None:
            model = FixedKAN.from_model(start, contract, bounds[2], bounds[3])
        else:
            model = FixedKAN.initialise(arch, contract, *bounds, seed=args.seed)
        backend = FixedBackend(model, cfg)
        kind = f"fixed point ({args.fixed}: {contract.value_bits}-bit values, " \
               f"step {contract.step_mult}/2^{contract.step_shift})"
    else:
        model = start if start is not None else KAN.initialise(arch, *bounds, seed=args.seed)
        kind = "float64"
    model.info.update(dataset=data.name, step=cfg.step, alpha=cfg.alpha, seed=cfg.seed,
                      features=data.feature_names, targets=data.target_names)
    if not args.quiet:
        print(f"kanhw train: {data.name}, {data.X.shape[0]:,} training / "
              f"{data.X_val.shape[0]:,} validation records; KAN {arch.describe()}; "
              f"{cfg.step} step, alpha {cfg.alpha}"
              + (f", halved in each of the last {cfg.anneal} epochs" if cfg.anneal else "")
              + f"; {kind}", flush=True)
    if args.pretrain:
        info = pretrain(model, data, cfg.alpha, epochs=args.pretrain_epochs,
                        group=args.pretrain_group, workers=args.workers or 2, seed=args.seed)
        model.info["pretrain"] = info
        if not args.quiet:
            print(f"kanhw train: pretrained {info['groups']} groups of {info['group_size']} "
                  f"addends for {info['epochs']} epoch(s) in {info['seconds']:.2f} s",
                  flush=True)
    if schedule:
        with dask_client(args.scheduler, args.workers or 1) as client:
            model, result = fit_multilevel(model, data, cfg, schedule,
                                           progress=EpochBars(quiet=args.quiet),
                                           workers=args.workers or 1, batch=args.batch,
                                           client=client)
        arch = model.arch
    elif args.workers or args.rounds or args.batch or args.scheduler:
        merge = merge_config(args, cfg, data.X.shape[0])
        if not args.quiet:
            where = f" on Dask ({args.scheduler})" if args.scheduler else ""
            print(f"kanhw train: {merge.workers} worker(s){where}, {merge.rounds} rounds of "
                  f"{merge.batch:,} records each", flush=True)
        show = None if args.quiet else (
            lambda e: print(f"round {e['round']:3d}  records {e['records']:>10,}  val pearson "
                            f"[{fmt_list(e['validation_pearson'])}]  {e['seconds']:.2f} s",
                            flush=True))
        with dask_client(args.scheduler, merge.workers) as client:
            result = fit_merged(model, data, cfg, merge, progress=show, client=client)
    else:
        result = fit(model, data, cfg, backend=backend, progress=EpochBars(quiet=args.quiet))
    if args.save:
        persist.save(model, args.save)
    summary = result.to_dict()
    summary.update(dataset=data.name, architecture=arch.to_dict(), step=cfg.step,
                   alpha=cfg.alpha, seed=cfg.seed, anneal=cfg.anneal)
    if args.fixed:
        summary["contract"] = model.contract.to_dict()
        summary["counters"] = {"saturated_records": int(model.counts[0]),
                               "clamps": int(model.counts[1]),
                               "stretches": int(model.counts[2]),
                               "input_clamps": backend.input_clamps}
    if not args.quiet or not args.json:
        print(f"validation pearson [{fmt_list(result.validation_pearson)}]  "
              f"rmse [{fmt_list(result.validation_rmse)}]  "
              f"relative rmse [{fmt_list(result.validation_relative_rmse)}]"
              + (f"  accuracy {result.validation_accuracy:.4f}"
                 if result.validation_accuracy is not None else ""))
        print(f"{result.epochs} epochs, {result.records:,} records in {result.seconds:.2f} s "
              f"(JIT {result.jit_seconds:.2f} s), {result.records_per_s:,.0f} records/s"
              + (f"; saved {args.save}" if args.save else ""))
    if args.fixed and model.counts[0] > 1e-3 * result.records:
        print(f"kanhw train: warning: {model.counts[0]:,} of {result.records:,} records "
              "saturated a value; the contract's range is too small for this network and "
              "step (try the 'deep' contract, a smaller --alpha, or wider value/mul bits)",
              file=sys.stderr)
    if args.json:
        print(json.dumps(summary))
    return 0
