"""``kanhw train``: NK training of a KAN on a built-in or user dataset."""

from __future__ import annotations

import argparse
import json
import sys

from .. import datasets, persist
from ..arch import build_architecture, parse_int_list
from ..design import load_contract, resolve_contract
from ..errors import ConfigError
from ..fixed_model import FixedBackend, FixedKAN
from ..model import KAN
from ..progress import EpochBars, fmt_list
from ..train import STEP_RULES, TrainConfig, fit


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train", help="train a KAN record by record (Newton-Kaczmarz)",
        description="Train a piecewise-linear KAN by Newton-Kaczmarz on a built-in dataset "
                    f"({', '.join(sorted(datasets.BUILTINS))}) or a .csv/.npy/.npz table. "
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
    tr.add_argument("--target-pearson", type=float, metavar="P",
                    help="stop when every output's validation Pearson reaches P")
    tr.add_argument("--seed", type=int, default=0, help="seed for data, initialisation, order")
    tr.add_argument("--no-shuffle", action="store_true", help="keep the record order fixed")
    tr.add_argument("--fixed", metavar="CONTRACT",
                    help="train the bit-exact fixed-point model instead of float64: a named "
                         "contract (hw: the hardware default, deep: for deeper networks) or "
                         "a TOML file with a [contract] table (e.g. a design file)")
    data = p.add_argument_group("data")
    data.add_argument("--train-records", type=int, metavar="N", help="built-in: training records")
    data.add_argument("--val-records", type=int, metavar="N", help="built-in: validation records")
    data.add_argument("--target", help="user table: target column name(s) or index(es), "
                                       "comma-separated (default: the last column)")
    data.add_argument("--val-split", type=float, default=0.2,
                      help="user table: fraction held out for validation (default 0.2)")
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
                      shuffle=not args.no_shuffle)
    return arch, cfg


def run(args: argparse.Namespace) -> int:
    for name in ("train_records", "val_records", "epochs", "addends"):
        v = getattr(args, name)
        if v is not None and v < 1:
            raise ConfigError(f"--{name.replace('_', '-')} must be at least 1, got {v}")
    target = [t.strip() for t in args.target.split(",")] if args.target else None
    data = datasets.load(args.dataset, seed=args.seed, train=args.train_records,
                         val=args.val_records, target=target, val_split=args.val_split)
    arch, cfg = recipe_for(args, data)
    bounds = (data.X.min(0), data.X.max(0), data.y.min(0), data.y.max(0))
    backend = None
    if args.fixed:
        contract = resolve_contract(load_contract(args.fixed), arch, cfg.alpha)
        model = FixedKAN.initialise(arch, contract, *bounds, seed=args.seed)
        backend = FixedBackend(model, cfg)
        kind = f"fixed point ({args.fixed}: {contract.value_bits}-bit values, " \
               f"step {contract.step_mult}/2^{contract.step_shift})"
    else:
        model = KAN.initialise(arch, *bounds, seed=args.seed)
        kind = "float64"
    model.info.update(dataset=data.name, step=cfg.step, alpha=cfg.alpha, seed=cfg.seed,
                      features=data.feature_names, targets=data.target_names)
    if not args.quiet:
        print(f"kanhw train: {data.name}, {data.X.shape[0]:,} training / "
              f"{data.X_val.shape[0]:,} validation records; KAN {arch.describe()}; "
              f"{cfg.step} step, alpha {cfg.alpha}; {kind}", flush=True)
    result = fit(model, data, cfg, backend=backend, progress=EpochBars(quiet=args.quiet))
    if args.save:
        persist.save(model, args.save)
    summary = result.to_dict()
    summary.update(dataset=data.name, architecture=arch.to_dict(), step=cfg.step,
                   alpha=cfg.alpha, seed=cfg.seed)
    if args.fixed:
        summary["contract"] = model.contract.to_dict()
        summary["counters"] = {"saturated_records": int(model.counts[0]),
                               "clamps": int(model.counts[1]),
                               "stretches": int(model.counts[2]),
                               "input_clamps": backend.input_clamps}
    if not args.quiet or not args.json:
        print(f"validation pearson [{fmt_list(result.validation_pearson)}]  "
              f"rmse [{fmt_list(result.validation_rmse)}]  "
              f"relative rmse [{fmt_list(result.validation_relative_rmse)}]")
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
