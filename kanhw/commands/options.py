"""The data and training options ``kanhw train`` and ``kanhw stream`` share:
one argparse helper, one way to load the data and to read the options.

Numpy-free at import, like every command module: ``kanhw --help`` builds
every parser without loading the numeric stack.
"""

from __future__ import annotations

import argparse
import json
import sys

from ..errors import ConfigError
from ..recipes import names

#: ``--step`` choices (kanhw.train.STEP_RULES holds their kernel codes).
STEP_RULES = ("constant", "kaczmarz")


def add_shared(p: argparse.ArgumentParser) -> dict[str, argparse._ArgumentGroup]:
    """Add the shared options to ``p``; returns the groups by name for the
    command to add its own options to."""
    p.add_argument("dataset", metavar="DATASET",
                   help=f"a built-in dataset ({', '.join(names())}) or a .csv/.npy/.npz "
                        "table")
    data = p.add_argument_group("data")
    data.add_argument("--target", metavar="COLUMNS",
                      help="table: target column name(s) or index(es), comma-separated "
                           "(default: the last column)")
    data.add_argument("--classify", action="store_true",
                      help="table: the target column holds class labels (text or integers); "
                           "train one output per class (two classes: one output) and report "
                           "accuracy, per-class counts and the confusion matrix")
    data.add_argument("--val-split", type=float, metavar="F",
                      help="table: fraction held out for validation, per class with "
                           "--classify (default 0.2)")
    data.add_argument("--train-records", type=int, metavar="N",
                      help="training records (generated datasets: how many to draw; "
                           "tables: the first N of the shuffled training part)")
    data.add_argument("--val-records", type=int, metavar="N",
                      help="validation records (generated datasets: drawn independently; "
                           "tables: held out instead of --val-split)")
    arch = p.add_argument_group("architecture (defaults: the dataset's recipe; tables: "
                                "2n+1 addends, points 5,22)")
    arch.add_argument("--addends", type=int, metavar="K",
                      help="addends K: width of the last hidden layer")
    arch.add_argument("--points", metavar="P",
                      help="grid points: INNER,OUTER or one value per layer")
    tr = p.add_argument_group("training")
    tr.add_argument("--alpha", type=float,
                    help="step factor: mu = alpha/K (default: the recipe's; tables 0.2)")
    tr.add_argument("--epochs", type=int,
                    help="epochs (default: the recipe's; tables 15)")
    tr.add_argument("--target-pearson", type=float, metavar="P",
                    help="stop when every output's validation Pearson reaches P")
    tr.add_argument("--validate-every", type=int, metavar="N",
                    help="validate every N training records as well as after each epoch "
                         "(train: on a snapshot in a second thread while training goes on)")
    tr.add_argument("--multilevel", metavar="SCHEDULE",
                    help="train on coarse grids first, refining between levels: points per "
                         "layer and epochs per level, e.g. '5,8x3 5,22x7' (each level must "
                         "nest the previous one: new points - 1 a multiple of old points - 1)")
    tr.add_argument("--init", metavar="MODEL.npz",
                    help="start from a saved float model (kanhw metakan, kanhw train --save) "
                         "instead of the initialisation heuristic (train: its architecture "
                         "replaces the recipe; stream: it must be the design's)")
    tr.add_argument("--seed", type=int, default=0,
                    help="seed of the data, the initial tables and the record order "
                         "(default 0; stream --config: the design file's seed gives the "
                         "initial tables)")
    out = p.add_argument_group("output")
    out.add_argument("--save", metavar="PATH", help="write the trained model (.npz)")
    out.add_argument("--json", action="store_true",
                     help="end stdout with one JSON line holding the summary")
    out.add_argument("--quiet", action="store_true", help="no progress output")
    return {"data": data, "architecture": arch, "training": tr, "output": out}


def check_counts(args: argparse.Namespace, names_: tuple[str, ...]) -> None:
    """Counts given on the command line must be at least 1."""
    for name in names_:
        v = getattr(args, name, None)
        if v is not None and v < 1:
            raise ConfigError(f"--{name.replace('_', '-')} must be at least 1, got {v}")


def load_data(args: argparse.Namespace):
    """The dataset the shared options name."""
    from .. import datasets
    check_counts(args, ("train_records", "val_records", "epochs", "addends",
                        "validate_every"))
    target = [t.strip() for t in args.target.split(",")] if args.target else None
    return datasets.load(args.dataset, seed=args.seed, train=args.train_records,
                         val=args.val_records, target=target, val_split=args.val_split,
                         classify=args.classify)


def points(args: argparse.Namespace) -> list[int] | None:
    from ..arch import parse_int_list
    return parse_int_list(args.points, "--points") if args.points else None


def print_counters(counters: dict, stream=None) -> None:
    """Saturation and clamp counts, when any is non-zero, in one line."""
    shown = [(counters.get(k, 0), text) for k, text in (
        ("saturated_records", "records saturated a value"),
        ("clamps", "hidden arguments clamped"),
        ("input_clamps", "input coordinates clamped"))]
    shown = [f"{v:,} {text}" for v, text in shown if v]
    if shown:
        print("counters: " + ", ".join(shown), file=stream or sys.stdout)


def print_json(summary: dict) -> None:
    print(json.dumps(summary))
