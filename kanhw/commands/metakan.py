"""``kanhw metakan``: train a MetaKAN (a meta-learner generating the node
tables) beside the plain backprop KAN of the same shape, report parameters,
peak memory and accuracy, and save the MetaKAN expanded to an ordinary KAN."""

from __future__ import annotations

import argparse
import json

from ..errors import ConfigError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "metakan", help="train a MetaKAN and compare it with the plain KAN",
        description="Each function gets a learnable embedding; a small MLP per layer maps "
                    "embeddings to node values. Trained end to end by backprop (needs "
                    "PyTorch: pip install -e '.[study]'), compared with the plain backprop "
                    "KAN of the same sizes and grids, and saved expanded to an ordinary KAN "
                    "(usable by kanhw train --init, kanhw stream --init, kanhw plot).")
    p.add_argument("dataset", metavar="DATASET", help="built-in dataset")
    p.add_argument("--layers", default=None, help="hidden widths (default: the recipe's)")
    p.add_argument("--points", default=None, help="points per layer, e.g. 32,22")
    p.add_argument("--embed", type=int, default=1, help="embedding size per function")
    p.add_argument("--meta-hidden", type=int, default=8, help="meta-learner hidden width")
    p.add_argument("--scheme", default="kaiming_normal/adam/0.005",
                   help="INIT/OPTIMISER/LR of both models (default kaiming_normal/adam/0.005)")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--train-records", type=int, metavar="N")
    p.add_argument("--val-records", type=int, metavar="N")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--save", metavar="PATH", help="write the expanded MetaKAN (.npz)")
    p.add_argument("--json", action="store_true", help="end stdout with one JSON line")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from .. import datasets, persist
    from ..arch import parse_int_list
    from ..backprop import parse_scheme
    from ..metakan import compare

    for name in ("epochs", "batch", "embed", "meta_hidden"):
        if getattr(args, name) < 1:
            raise ConfigError(f"--{name.replace('_', '-')} must be at least 1")
    data = datasets.load(args.dataset, seed=args.seed, train=args.train_records,
                         val=args.val_records)
    recipe = datasets.recipe(data)
    hidden = parse_int_list(args.layers, "--layers") if args.layers else recipe["hidden"]
    n_layers = len(hidden) + 1
    if args.points:
        points = parse_int_list(args.points, "--points")
    else:
        points = recipe["points"] if len(recipe["points"]) == n_layers else [32] * n_layers
    if len(points) != n_layers:
        raise ConfigError(f"--points needs {n_layers} values, one per layer")
    c, kan = compare(data, hidden, points, args.embed, args.meta_hidden, args.epochs,
                     parse_scheme(args.scheme), args.batch, args.seed)
    what = "accuracy" if data.classes else "mean Pearson"
    print(f"{data.name}: KAN {' -> '.join(map(str, c.sizes))}, points {c.points}; "
          f"test {what}")
    print(f"  plain KAN  {c.plain_parameters:>8,} trainable parameters  best {c.plain_best:.4f}"
          f"  peak training memory {c.plain_peak_bytes / 1024:,.0f} KiB  {c.plain_seconds} s")
    print(f"  MetaKAN    {c.meta_parameters:>8,} trainable parameters  best {c.meta_best:.4f}"
          f"  peak training memory {c.meta_peak_bytes / 1024:,.0f} KiB  {c.meta_seconds} s")
    print(f"  {c.parameter_ratio}x fewer trainable parameters, difference "
          f"{c.difference:+.4f}; expanded KAN scores {c.expanded_score:.4f}")
    if args.save:
        persist.save(kan, args.save)
        print(f"  saved the expanded KAN to {args.save}")
    if args.json:
        print(json.dumps(c.to_dict()))
    return 0
