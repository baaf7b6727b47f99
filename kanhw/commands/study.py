"""``kanhw study``: NK-KAN against backprop and HSIC-bottleneck KANs and
MLPs over the 27 training schemes and pykan's spline KAN; writes a Markdown
table, JSON and PNG plots."""

from __future__ import annotations

import argparse
import json
import os
import sys

from ..errors import ConfigError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "study", help="compare NK-KAN with backprop and HSIC KANs and MLPs (27 training "
                      "schemes) and pykan",
        description="Train NK-KAN, a backprop piecewise-linear KAN, an MLP of the same sizes "
                    "and a wide MLP with the KAN's parameter count, over initialisers x "
                    "optimisers x learning rates, the same three by the HSIC bottleneck, and "
                    "pykan's KAN with LBFGS and Adam; report best test score, train-test "
                    "gap, epochs to best, time, parameters and efficiency. Backprop and HSIC "
                    "models need PyTorch (pip install -e '.[study]'), pykan its extra "
                    "(pip install -e '.[pykan]'); by default a model whose extra is missing "
                    "is skipped with a note.")
    p.add_argument("datasets", nargs="*", metavar="DATASET",
                   help="built-in datasets (default: digits, det4 and three Feynman "
                        "formulas)")
    p.add_argument("--models",
                   help="comma-separated subset of nk_kan, bp_kan, mlp, mlp_wide, hsic_kan, "
                        "hsic_mlp, hsic_mlp_wide, pykan (default: all whose extras are "
                        "installed)")
    p.add_argument("--schemes", default="all",
                   help="'all' (the 27 schemes) or comma-separated INIT/OPTIMISER/LR, e.g. "
                        "kaiming_normal/adam/0.005")
    p.add_argument("--epochs", type=int, default=20, help="epochs per run (default 20)")
    p.add_argument("--batch", type=int, default=64, help="backprop minibatch (default 64)")
    p.add_argument("--train-records", type=int, default=10_000, metavar="N",
                   help="training records of generated datasets (default 10000)")
    p.add_argument("--test-records", type=int, default=2_000, metavar="N",
                   help="test records of generated datasets (default 2000)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="parallel runs (default: one per core)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dropout", type=float, default=0.0,
                   help="dropout on hidden units of the backprop and HSIC models (default 0)")
    p.add_argument("--hsic-beta", type=float, default=100.0, metavar="BETA",
                   help="balance factor of the HSIC bottleneck (default 100)")
    p.add_argument("--pykan-steps", default="20,100", metavar="LBFGS,ADAM",
                   help="steps of pykan's LBFGS and Adam trainings (default 20,100)")
    p.add_argument("-o", "--output", required=True, metavar="DIR",
                   help="folder for study.md, study.json and the PNG plots")
    p.add_argument("--json", action="store_true",
                   help="end stdout with one JSON line: the best run per dataset and model")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from .. import study
    from ..arch import parse_int_list
    from ..backprop import all_schemes, parse_scheme
    from ..progress import run_bar

    if args.schemes == "all":
        schemes = tuple(all_schemes())
    else:
        schemes = tuple(parse_scheme(s.strip()) for s in args.schemes.split(",") if s.strip())
    notes: list[str] = []
    if args.models is None:  # every model; those whose extra is missing are skipped
        skipped = study.missing_extras(study.MODELS)
        models = tuple(m for m in study.MODELS if m not in skipped)
        notes = list(dict.fromkeys(skipped.values()))
        for n in notes:
            print(f"kanhw study: {n}", file=sys.stderr)
    else:
        models = tuple(m.strip() for m in args.models.split(",") if m.strip())
        if not models:
            raise ConfigError("--models is empty")
    pykan_steps = parse_int_list(args.pykan_steps, "--pykan-steps")
    if len(pykan_steps) != 2:
        raise ConfigError("--pykan-steps takes two numbers: LBFGS,ADAM")
    cfg = study.StudyConfig(datasets=tuple(args.datasets) or study.DEFAULT_DATASETS,
                            models=models, schemes=schemes, epochs=args.epochs,
                            batch=args.batch, train=args.train_records,
                            test=args.test_records, seed=args.seed, workers=args.workers,
                            pykan_steps=tuple(pykan_steps), hsic_beta=args.hsic_beta,
                            dropout=args.dropout)
    n = len(study.tasks(cfg))
    with run_bar(n, "study") as done:
        runs = study.run_study(cfg, done)
    os.makedirs(args.output, exist_ok=True)
    md = os.path.join(args.output, "study.md")
    with open(md, "w") as fh:
        fh.write(study.markdown(runs, cfg, notes))
    with open(os.path.join(args.output, "study.json"), "w") as fh:
        json.dump(study.to_json(runs), fh, indent=1)
    pngs = study.plot(runs, args.output)
    best = study.best_per_model(runs)
    for r in best:
        print(f"{r.dataset:16s} {study.MODEL_NAMES[r.model]:30s} best {r.best_test:.4f} "
              f"({r.scheme}), {r.parameters:,} parameters, epoch {r.epochs_to_best}, "
              f"{r.seconds_to_best:.1f} s to best, efficiency {r.efficiency:.5f}")
    print(f"wrote {md}, study.json and {len(pngs)} plots in {args.output}")
    if args.json:
        print(json.dumps({"runs": n, "best": study.to_json(best)}))
    return 0
