"""``kanhw train``: NK training of a KAN on a built-in or user dataset.

The command parses its options and prints; the training itself is
:func:`kanhw.fitting.train`, the entry point the estimators call too.
"""

from __future__ import annotations

import argparse
import contextlib
import sys

from ..errors import ConfigError
from . import options


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train", help="train a KAN record by record (Newton-Kaczmarz)",
        description="Train a piecewise-linear KAN by Newton-Kaczmarz on a built-in dataset "
                    "or a .csv/.npy/.npz table (regression, or classification with "
                    "--classify). Validation uses independently drawn records.")
    groups = options.add_shared(p)
    groups["architecture"].add_argument(
        "--layers", help="hidden widths, comma-separated, e.g. 32,8 for a three-layer KAN "
                         "(input/output widths come from the data)")
    tr = groups["training"]
    tr.add_argument("--step", choices=options.STEP_RULES, default="constant",
                    help="step rule: constant (mu = alpha/K) or kaczmarz (alpha r g/|g|^2); "
                         "default constant")
    tr.add_argument("--no-shuffle", action="store_true", help="keep the record order fixed")
    tr.add_argument("--anneal", type=int, metavar="N",
                    help="end with small, steady steps: the last N epochs (of the last "
                         "level with --multilevel) halve the step each epoch (default: the "
                         "recipe's, mostly 0); with --fixed the step shift grows by one per "
                         "epoch (software only: a generated core keeps one step)")
    tr.add_argument("--fixed", metavar="CONTRACT",
                    help="train the bit-exact fixed-point model instead of float64: a named "
                         "contract (hw: the hardware default, deep: for deeper networks) or "
                         "a TOML file with a [contract] table (e.g. a design file)")
    tr.add_argument("--pretrain", action="store_true",
                    help="pretrain random groups of addends alone, concurrently, before the "
                         "main training (two-layer KANs)")
    tr.add_argument("--pretrain-group", type=int, default=2, metavar="G",
                    help="addends per pretraining group (default 2)")
    tr.add_argument("--pretrain-epochs", type=int, default=1, metavar="E",
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
    p.set_defaults(run=run)


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


def train_options(args: argparse.Namespace):
    """The command line as :class:`kanhw.fitting.TrainOptions`."""
    from .. import persist
    from ..arch import parse_int_list
    from ..fitting import TrainOptions
    options.check_counts(args, ("workers", "rounds", "batch"))
    return TrainOptions(
        addends=args.addends,
        hidden=parse_int_list(args.layers, "--layers") if args.layers else None,
        points=options.points(args), alpha=args.alpha, step=args.step, epochs=args.epochs,
        target_pearson=args.target_pearson, validate_every=args.validate_every,
        anneal=args.anneal, seed=args.seed, shuffle=not args.no_shuffle, fixed=args.fixed, workers=args.workers,
        rounds=args.rounds, batch=args.batch, multilevel=args.multilevel,
        pretrain=args.pretrain, pretrain_group=args.pretrain_group,
        pretrain_epochs=args.pretrain_epochs,
        init=persist.load(args.init) if args.init else None)


def run(args: argparse.Namespace) -> int:
    from .. import classes, persist
    from ..fitting import train
    from ..progress import EpochBars, fmt_list

    data = options.load_data(args)
    opts = train_options(args)
    say = (lambda msg: print(f"kanhw train: {msg}", flush=True)) if not args.quiet \
        else None

    def header(plan, model, kind) -> None:
        if say:
            cfg = plan.cfg
            say(f"{data.name}, {data.X.shape[0]:,} training / {data.X_val.shape[0]:,} "
                f"validation records; KAN {model.arch.describe()}; {cfg.step} step, alpha "
                f"{cfg.alpha}; {kind}")

    rounds = None if args.quiet else (
        lambda e: print(f"round {e['round']:3d}  records {e['records']:>10,}  val pearson "
                        f"[{fmt_list(e['validation_pearson'])}]  {e['seconds']:.2f} s",
                        flush=True))
    with dask_client(args.scheduler, args.workers or 1) as client:
        trained = train(data, opts, client=client, progress=EpochBars(quiet=args.quiet),
                        rounds_progress=rounds, say=say, quiet=args.quiet, plan_ready=header)
    model, result = trained.model, trained.result
    if args.save:
        persist.save(model, args.save)
    summary = trained.summary(data)
    if not args.quiet or not args.json:
        print(f"validation pearson [{fmt_list(result.validation_pearson)}]  "
              f"rmse [{fmt_list(result.validation_rmse)}]  "
              f"relative rmse [{fmt_list(result.validation_relative_rmse)}]")
        if trained.classification:
            print("\n".join(classes.format_report(trained.classification)))
        print(f"{result.epochs} epochs, {result.records:,} records in {result.seconds:.2f} s "
              f"(JIT {result.jit_seconds:.2f} s), {result.records_per_s:,.0f} records/s"
              + (f"; saved {args.save}" if args.save else ""))
        options.print_counters(trained.counters)
    saturated = trained.counters.get("saturated_records", 0)
    if saturated > 1e-3 * result.records:
        print(f"kanhw train: warning: {saturated:,} of {result.records:,} records "
              "saturated a value; the contract's range is too small for this network and "
              "step (try the 'deep' contract, a smaller --alpha, or wider value/mul bits)",
              file=sys.stderr)
    if args.json:
        options.print_json(summary)
    return 0
