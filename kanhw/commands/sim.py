"""``kanhw sim``: check a design's generated core against the fixed-point
reference, bit for bit, on a simulator."""

from __future__ import annotations

import argparse
import json
import sys
import time

from ..errors import ConfigError

#: Exit status when the hardware disagrees with the reference.
EXIT_MISMATCH = 1


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sim", help="simulate a design and compare it with the reference",
                       description="Stream records through the generated core in simulation "
                                   "and compare every prediction, residual, final table and "
                                   "counter with the fixed-point reference; report cycles per "
                                   "record against the manifest.")
    p.add_argument("--config", metavar="ARCH.toml", required=True)
    p.add_argument("--records", type=int, default=1000, metavar="N")
    p.add_argument("--simulator", choices=("verilator", "icarus", "amaranth"),
                   default="verilator")
    p.add_argument("--waves", action="store_true", help="dump waveforms (in the build folder)")
    p.add_argument("--frozen", action="store_true", help="inference mode instead of training")
    p.add_argument("--dataset", help="data source: a built-in with the design's input count, "
                                     "or 'mixed' (default: det4/tetra/triangle by input count)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--warm-epochs", type=int, default=0, metavar="E",
                   help="train the reference E epochs first, so a trained model is checked")
    p.add_argument("--epochs", type=int, metavar="E",
                   help="train epoch after epoch (N shuffled records each, then the "
                        "validation set in frozen mode) until the validation Pearson reaches "
                        "--target or E epochs ran; every segment checked bit for bit")
    p.add_argument("--target", type=float, default=0.97, metavar="R",
                   help="validation Pearson that ends an --epochs run (default 0.97)")
    p.add_argument("--val-records", type=int, metavar="V",
                   help="validation records of an --epochs run (default N / 5)")
    p.add_argument("--multilevel", metavar="SCHEDULE",
                   help="with --epochs: grid levels, e.g. '5,8x2 5,22x8' (points per layer "
                        "x epochs); coarse levels run on the core's grid registers (every "
                        "layer but the first)")
    p.add_argument("--json", action="store_true", help="end stdout with a JSON summary")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.records < 1:
        raise ConfigError(f"--records must be at least 1, got {args.records}")
    if args.warm_epochs < 0:
        raise ConfigError(f"--warm-epochs must be 0 or more, got {args.warm_epochs}")
    if args.epochs is None and (args.multilevel or args.val_records is not None):
        raise ConfigError("--multilevel and --val-records go with --epochs")
    from ..design import load_design

    design = load_design(args.config)
    if args.epochs is not None:
        return run_epochs(args, design)
    from ..interface.cycles import CycleModel
    from ..interface.geometry import Geometry
    from ..sim import runner
    from ..sim.compare import compare, expected_cycles
    from ..sim.vectors import make_vectors

    if design.layered:
        from ..interface.layered import LayeredGeometry
        from ..interface.layered_cycles import LayeredCycleModel
        cyc = LayeredCycleModel(LayeredGeometry(design))
    else:
        cyc = CycleModel(Geometry(design))

    def log(msg: str) -> None:
        print(f"kanhw sim: {msg}", file=sys.stderr, flush=True)

    log(f"reference vectors: {args.records} records, "
        f"{'frozen' if args.frozen else 'training'} mode")
    vec = make_vectors(design, args.records, seed=args.seed, train=not args.frozen,
                       dataset=args.dataset, warm_epochs=args.warm_epochs)
    t0 = time.perf_counter()
    out = runner.run(vec, args.simulator, waves=args.waves, log=log)
    seconds = time.perf_counter() - t0
    mismatches = compare(vec, out)
    predicted = expected_cycles(vec)
    cycles_ok = out.cycles == predicted
    per_record = cyc.per_record if vec.train else cyc.per_record_frozen
    summary = {
        "simulator": args.simulator, "records": args.records, "mode":
            "frozen" if args.frozen else "training",
        "mismatches": len(mismatches), "bit_exact": not mismatches,
        "cycles": out.cycles, "cycles_predicted": predicted,
        "cycles_per_record_manifest": per_record,
        "stretch_records": vec.stretch_records, "counters": {
            "saturated_records": int(out.counts[0]), "clamps": int(out.counts[1]),
            "stretches": int(out.counts[2])},
        "seconds": round(seconds, 2),
    }
    if out.stream_seconds > 0:  # the record stream alone, without build and table I/O
        summary["stream_records_per_s"] = round(args.records / out.stream_seconds, 1)
    for m in mismatches:
        print(m)
    if not cycles_ok:
        print(f"cycle count {out.cycles} differs from the manifest's model {predicted}")
    status = "bit-exact" if not mismatches else f"{len(mismatches)} MISMATCH(ES)"
    print(f"{args.simulator}: {args.records} records {status}; cycles {out.cycles} "
          f"(model {predicted}: {per_record} per record + stalls of "
          f"{vec.stretch_records} stretching records); counters sat/clamp/stretch "
          f"{out.counts.tolist()}; {seconds:.1f} s"
          + (f" ({summary['stream_records_per_s']:,.0f} records/s streaming)"
             if "stream_records_per_s" in summary else ""))
    if args.json:
        print(json.dumps(summary))
    return EXIT_MISMATCH if mismatches or not cycles_ok else 0


def run_epochs(args: argparse.Namespace, design) -> int:
    """``kanhw sim --epochs``: the reference plans the run, the simulator
    runs it whole on one core, every epoch is compared."""
    if args.epochs < 1:
        raise ConfigError(f"--epochs must be at least 1, got {args.epochs}")
    if args.frozen or args.warm_epochs:
        raise ConfigError("--epochs trains from the initial tables: drop --frozen and "
                          "--warm-epochs")
    val = args.val_records if args.val_records is not None else max(1, args.records // 5)
    if val < 2:
        raise ConfigError(f"--val-records must be at least 2, got {val}")
    from ..multilevel import parse_schedule
    from ..sim import runner, training

    def log(msg: str) -> None:
        print(f"kanhw sim: {msg}", file=sys.stderr, flush=True)

    schedule = parse_schedule(args.multilevel, design.arch.n_layers) if args.multilevel \
        else None
    t0 = time.perf_counter()
    epochs = training.plan(design, args.records, val, args.epochs, seed=args.seed,
                           dataset=args.dataset, target=args.target, schedule=schedule,
                           log=log)
    t_ref = time.perf_counter() - t0
    segs = training.segments_of(epochs)
    total = sum(len(v.U) for v in segs)
    log(f"reference: {len(epochs)} epoch(s), {total:,d} records in {t_ref:.1f} s; "
        f"simulating them back to back")
    t0 = time.perf_counter()
    outs = runner.run_segments(segs, args.simulator, waves=args.waves, log=log)
    seconds = time.perf_counter() - t0
    checks = training.check(epochs, outs)
    stream_s = sum(c.stream_seconds for c in checks)
    bad = 0
    rows = []
    print("| epoch | grid | records | validation Pearson | mismatches | cycles "
          "(train + validation) | model |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for c in checks:
        cyc = c.cycles[0] + c.validation_cycles[0]
        model = c.cycles[1] + c.validation_cycles[1]
        ok = not c.mismatches and cyc == model
        bad += not ok
        print(f"| {c.epoch.index} | {'/'.join(map(str, c.epoch.grid))} | "
              f"{len(c.epoch.train.U):,d} + "
              f"{len(c.epoch.validation.U):,d} | {c.epoch.pearson:.4f} | {len(c.mismatches)} | "
              f"{cyc:,d} | {model:,d} |")
        for m in c.mismatches:
            print(f"  epoch {c.epoch.index}: {m}")
        rows.append({"epoch": c.epoch.index, "grid": list(c.epoch.grid),
                     "outer_points": c.epoch.outer_points,
                     "validation_pearson": c.epoch.pearson, "mismatches": len(c.mismatches),
                     "cycles": cyc, "cycles_predicted": model})
    last = epochs[-1].pearson
    reached = last >= args.target
    rate = total / stream_s if stream_s > 0 else None
    print(f"{args.simulator}: {len(epochs)} epoch(s), {total:,d} records "
          f"{'bit-exact, cycle-exact' if not bad else f'{bad} EPOCH(S) DIFFER'}; validation "
          f"Pearson {last:.4f} ({'reached' if reached else 'below'} {args.target}); "
          f"{seconds:.1f} s" + (f" ({rate:,.0f} records/s streaming)" if rate else ""))
    if args.json:
        print(json.dumps({"simulator": args.simulator, "epochs": rows, "records": total,
                          "bit_exact": not bad, "target_reached": reached,
                          "seconds": round(seconds, 2), "reference_seconds": round(t_ref, 2),
                          "stream_records_per_s": round(rate, 1) if rate else None}))
    return EXIT_MISMATCH if bad else 0
