"""``kanhw stream``: train a device (real, simulated or soft) by streaming
records to it from the host, with validation, progress and checkpoints."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace

import numpy as np

from .. import datasets, metrics, persist
from ..arch import Architecture
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
    p.add_argument("--multilevel", metavar="SCHEDULE",
                   help="train coarse grids first, e.g. '5,8x2 5,22x18' (points per layer x "
                        "epochs; the last level is the design's grid): after each level the "
                        "host reads the tables, refines them and loads them again. Levels "
                        "with the design's inner grid run on the device itself (a coarser "
                        "outer grid on the same tables)")
    p.add_argument("--init", metavar="MODEL.npz",
                   help="load a saved float model (e.g. from kanhw metakan or kanhw train "
                        "--save) as the initial tables, quantised to the design's contract")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--save", metavar="PATH", help="write the trained model (.npz)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..fixed_model import FixedKAN
    from ..host.client import Device
    from ..host.transport import open_transport
    from ..multilevel import Level, refine_fixed

    # a serial link without a baud rate runs at the board's
    baud = None
    if args.board:
        from ..boards import get_board
        baud = get_board(args.board).baud

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
    schedule = None
    if args.multilevel:
        from ..multilevel import parse_schedule
        schedule = parse_schedule(args.multilevel, 2)
        if schedule[-1].points != tuple(design.arch.points):
            raise ConfigError(f"the schedule's last level {list(schedule[-1].points)} must be "
                              f"the design's grid {list(design.arch.points)}")
        if args.checkpoint:
            raise ConfigError("--checkpoint with --multilevel is not supported; checkpoint "
                              "the finest level in a separate run")
    start_epoch = 0
    if args.init and (schedule or (args.checkpoint and os.path.exists(args.checkpoint))):
        raise ConfigError("--init gives the initial tables; it cannot be combined with "
                          "--multilevel or with resuming a checkpoint")
    if args.init:
        start = persist.load(args.init)
        if start.arch != design.arch:
            raise ConfigError(f"{args.init} is a {start.arch.describe()} KAN; the design is "
                              f"{design.arch.describe()}")
        model = FixedKAN.from_model(start, design.contract, data.y.min(0), data.y.max(0))
        log(args, f"initial tables from {args.init}")
    elif args.checkpoint and os.path.exists(args.checkpoint):
        model = persist.load_fixed(args.checkpoint)
        if model.arch != design.arch or model.contract != design.contract:
            raise ConfigError(f"{args.checkpoint} holds another design's tables")
        start_epoch = int(model.info.get("stream_epochs", 0))
        log(args, f"resuming from {args.checkpoint} after epoch {start_epoch}")
    else:
        first = design.arch if not schedule else Architecture(design.arch.sizes,
                                                                schedule[0].points)
        model = FixedKAN.initialise(first, design.contract, data.X.min(0),
                                    data.X.max(0), data.y.min(0), data.y.max(0),
                                    seed=design.seed)
    levels = schedule or [Level(tuple(design.arch.points), args.epochs)]
    total = sum(lv.epochs for lv in levels)
    Yq = model.map_targets(data.y)
    Yvq = np.clip(np.floor((data.y_val - model.t_centre) / model.t_half
                           * 2.0 ** design.contract.value_frac + 0.5),
                  design.contract.value_min, design.contract.value_max).astype(np.int64)
    t0 = time.perf_counter()
    bars = EpochBars(quiet=args.quiet)
    trained = 0
    entry: dict = {}
    epoch = 0
    counters: dict = {}
    dev, opened = None, None
    ran_on: list[dict] = []              # where each level trained
    for li, level in enumerate(levels):
        if li:
            # read back, prolong onto the finer grid, load again
            model = refine_fixed(model, level.points)
            log(args, f"level {li + 1}: grids refined to {list(level.points)} points")
        # A level on the design's inner grid runs on the device: the core
        # takes a coarser outer grid on the same tables (its outer_points
        # register, set as the tables load). Another inner grid needs another
        # design: a serial board holds one bitstream, so such a level runs on
        # the reference behind the same protocol.
        on_core = level.points[0] == design.arch.points[0]
        level_design = design if on_core else \
            replace(design, arch=Architecture(design.arch.sizes, level.points))
        transport = args.transport if (on_core or not args.transport.startswith("serial")) \
            else "soft"
        if dev is None or dev.design != level_design or transport != opened:
            if dev is not None:
                dev.t.close()
            dev = Device(open_transport(transport, level_design, baud), level_design)
            opened = transport
        ran_on.append({"points": list(level.points), "transport": transport,
                       "design_points": list(level_design.arch.points)})
        dev.reset()
        dev.load_model(model)
        dev.clear_counters()
        U, _ = model.map_inputs(data.X)
        Uv, _ = model.map_inputs(data.X_val)
        n = len(U)
        every = args.validate_every or n
        for _ in range(level.epochs):
            epoch += 1
            if epoch <= start_epoch:
                continue
            order = np.random.default_rng([args.seed, epoch - 1]).permutation(n)
            bars.start_epoch(epoch, total, n)
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
                entry = {"epoch": epoch, "records": ((epoch - 1) * n) + s + part.size,
                         "seconds": round(time.perf_counter() - t0, 3),
                         "train_rmse": [float(np.sqrt(sq / (s + part.size)))],
                         "validation_pearson": m["pearson"], "validation_rmse": m["rmse"],
                         "validation_relative_rmse": m["relative_rmse"]}
                if schedule:
                    entry["level"] = li + 1
            model = dev.read_model(model)
            model.history.append(entry)
            model.info.update(stream_epochs=epoch, dataset=data.name, transport=args.transport)
            bars.end_epoch(entry)
            if args.checkpoint:
                persist.save(model, args.checkpoint)
        for k, v in dev.counters().items():
            counters[k] = counters.get(k, 0) + v
    if dev is not None:
        dev.t.close()
    seconds = time.perf_counter() - t0
    if args.save:
        persist.save(model, args.save)
    summary = {"transport": args.transport, "dataset": data.name, "epochs": total,
               "records": trained, "seconds": round(seconds, 3),
               "records_per_s": round(trained / seconds, 1) if seconds else 0.0,
               "validation_pearson": entry.get("validation_pearson", []),
               "validation_rmse": entry.get("validation_rmse", []), "counters": counters,
               "levels": ran_on}
    print(f"{args.transport}: {trained:,} records in {seconds:.1f} s "
          f"({summary['records_per_s']:,.0f} records/s); validation pearson "
          f"{summary['validation_pearson']}")
    if args.json:
        print(json.dumps(summary))
    return 0


def log(args, msg: str) -> None:
    if not args.quiet:
        print(f"kanhw stream: {msg}", file=sys.stderr, flush=True)
