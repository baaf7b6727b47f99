"""``kanhw stream``: train a device (real, simulated or soft) by streaming
records to it from the host, with validation, progress and checkpoints."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

from .. import datasets, metrics, persist
from ..design import load_design
from ..errors import ConfigError
from ..progress import EpochBars


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("stream", help="train a device by streaming records from the host",
                       description="Map the dataset to device format, load the initial tables, "
                                   "stream training records in frames, validate in frozen "
                                   "mode, read the tables back and checkpoint them.")
    p.add_argument("dataset", metavar="DATASET")
    p.add_argument("--transport", required=True,
                   help="serial:PORT[@BAUD], sim (the simulated board) or soft (the reference)")
    p.add_argument("--config", required=True, metavar="ARCH.toml")
    p.add_argument("--board", help="board (for the serial transport's default baud rate)")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--train-records", type=int, metavar="N")
    p.add_argument("--val-records", type=int, metavar="N")
    p.add_argument("--validate-every", type=int, metavar="N",
                   help="validate after every N training records (default: each epoch)")
    p.add_argument("--checkpoint", metavar="PATH",
                   help="write the tables after every epoch; resume from PATH if it exists")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--save", metavar="PATH", help="write the trained model (.npz)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..fixed_model import FixedKAN
    from ..host.client import Device
    from ..host.transport import open_transport

    design = load_design(args.config)
    for name in ("epochs", "train_records", "val_records", "validate_every"):
        v = getattr(args, name)
        if v is not None and v < 1:
            raise ConfigError(f"--{name.replace('_', '-')} must be at least 1")
    data = datasets.load(args.dataset, seed=args.seed, train=args.train_records,
                         val=args.val_records)
    if data.X.shape[1] != design.n or data.y.shape[1] != 1:
        raise ConfigError(f"dataset {data.name} has {data.X.shape[1]} inputs and "
                          f"{data.y.shape[1]} outputs; the design takes {design.n} and 1")
    start_epoch = 0
    if args.checkpoint and os.path.exists(args.checkpoint):
        model = persist.load_fixed(args.checkpoint)
        if model.arch != design.arch or model.contract != design.contract:
            raise ConfigError(f"{args.checkpoint} holds another design's tables")
        start_epoch = int(model.info.get("stream_epochs", 0))
        log(args, f"resuming from {args.checkpoint} after epoch {start_epoch}")
    else:
        model = FixedKAN.initialise(design.arch, design.contract, data.X.min(0),
                                    data.X.max(0), data.y.min(0), data.y.max(0),
                                    seed=design.seed)
    U, _ = model.map_inputs(data.X)
    Yq = model.map_targets(data.y)
    Uv, _ = model.map_inputs(data.X_val)
    Yvq = np.clip(np.floor((data.y_val - model.t_centre) / model.t_half
                           * 2.0 ** design.contract.value_frac + 0.5),
                  design.contract.value_min, design.contract.value_max).astype(np.int64)
    t0 = time.perf_counter()
    dev = Device(open_transport(args.transport, design, args.board), design)
    dev.reset()
    dev.load_model(model)
    dev.clear_counters()
    bars = EpochBars(quiet=args.quiet)
    n = len(U)
    every = args.validate_every or n
    trained = 0
    entry: dict = {}
    for epoch in range(start_epoch, args.epochs):
        order = np.random.default_rng([args.seed, epoch]).permutation(n)
        bars.start_epoch(epoch + 1, args.epochs, n)
        sq = 0.0
        for s in range(0, n, every):
            part = order[s:s + every]
            dev.set_mode(True)
            _, resid = dev.stream(U[part], Yq[part])
            sq += float((model.unmap_values(resid) ** 2).sum())
            trained += part.size
            bars.advance(part.size)
            dev.set_mode(False)
            pred, _ = dev.stream(Uv, Yvq)
            m = metrics.summary(model.unmap_outputs(pred)[:, None], data.y_val)
            entry = {"epoch": epoch + 1, "records": (epoch * n) + s + part.size,
                     "seconds": round(time.perf_counter() - t0, 3),
                     "train_rmse": [float(np.sqrt(sq / (s + part.size)))],
                     "validation_pearson": m["pearson"], "validation_rmse": m["rmse"],
                     "validation_relative_rmse": m["relative_rmse"]}
        model = dev.read_model(model)
        model.history.append(entry)
        model.info.update(stream_epochs=epoch + 1, dataset=data.name, transport=args.transport)
        bars.end_epoch(entry)
        if args.checkpoint:
            persist.save(model, args.checkpoint)
    counters = dev.counters()
    dev.t.close()
    seconds = time.perf_counter() - t0
    if args.save:
        persist.save(model, args.save)
    summary = {"transport": args.transport, "dataset": data.name, "epochs": args.epochs,
               "records": trained, "seconds": round(seconds, 3),
               "records_per_s": round(trained / seconds, 1) if seconds else 0.0,
               "validation_pearson": entry.get("validation_pearson", []),
               "validation_rmse": entry.get("validation_rmse", []), "counters": counters}
    print(f"{args.transport}: {trained:,} records in {seconds:.1f} s "
          f"({summary['records_per_s']:,.0f} records/s); validation pearson "
          f"{summary['validation_pearson']}")
    if args.json:
        print(json.dumps(summary))
    return 0


def log(args, msg: str) -> None:
    if not args.quiet:
        print(f"kanhw stream: {msg}", file=sys.stderr, flush=True)
