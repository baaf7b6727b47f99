"""``kanhw sweep``: the depth sweep and the width-against-points experiment
of the training study (NK-KAN and the backprop models); writes a Markdown
table, JSON and a PNG per experiment."""

from __future__ import annotations

import argparse
import json
import os

#: The experiments (``kanhw.sweeps.EXPERIMENTS``; named here so that
#: ``kanhw --help`` need not import the study).
EXPERIMENTS = ("depth", "width")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sweep", help="depth sweep or width against points (NK-KAN and backprop models)",
        description="depth: one, two and three hidden layers of each dataset's recipe width; "
                    "width: one hidden layer whose parameters grow by widening it or by "
                    "giving its functions more points. NK-KAN, the backprop KAN, the MLP "
                    "and the wide MLP (dropout 0.2 by default). Needs PyTorch: "
                    "pip install -e '.[study]'.")
    p.add_argument("experiment", choices=EXPERIMENTS)
    p.add_argument("datasets", nargs="*", metavar="DATASET",
                   help="built-in datasets (default: digits, det4 and three Feynman "
                        "formulas)")
    p.add_argument("--scheme", default="kaiming_normal/adam/0.005",
                   help="backprop scheme INIT/OPTIMISER/LR (default kaiming_normal/adam/0.005)")
    p.add_argument("--dropout", type=float, default=0.2,
                   help="dropout on hidden units of the backprop models (default 0.2)")
    p.add_argument("--multipliers", default="1,2,4",
                   help="width: parameter multipliers (default 1,2,4)")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--train-records", type=int, default=10_000, metavar="N")
    p.add_argument("--test-records", type=int, default=2_000, metavar="N")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-o", "--output", required=True, metavar="DIR")
    p.add_argument("--json", action="store_true",
                   help="end stdout with one JSON line holding every run")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from .. import study, sweeps
    from ..arch import parse_int_list
    from ..backprop import parse_scheme
    from ..progress import run_bar

    cfg = sweeps.SweepConfig(
        experiment=args.experiment, datasets=tuple(args.datasets) or study.DEFAULT_DATASETS,
        scheme=parse_scheme(args.scheme), dropout=args.dropout,
        multipliers=tuple(parse_int_list(args.multipliers, "--multipliers")),
        epochs=args.epochs, batch=args.batch, train=args.train_records,
        test=args.test_records, seed=args.seed, workers=args.workers)
    with run_bar(len(sweeps.variants(cfg)), args.experiment) as done:
        runs = sweeps.run_sweep(cfg, done)
    os.makedirs(args.output, exist_ok=True)
    md = os.path.join(args.output, f"{args.experiment}.md")
    with open(md, "w") as fh:
        fh.write(sweeps.markdown(runs, cfg))
    with open(os.path.join(args.output, f"{args.experiment}.json"), "w") as fh:
        json.dump(study.to_json(runs), fh, indent=1)
    sweeps.plot(runs, cfg, args.output)
    for r in runs:
        print(f"{r.dataset:16s} {study.MODEL_NAMES[r.model]:30s} {sweeps.variant_of(r):26s} "
              f"{r.parameters:>8,} parameters  best {r.best_test:.4f}")
    print(f"wrote {md}, {args.experiment}.json and {args.experiment}.png in {args.output}")
    if args.json:
        print(json.dumps({"runs": study.to_json(runs)}))
    return 0
