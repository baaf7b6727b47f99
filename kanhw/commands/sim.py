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
    p.add_argument("--json", action="store_true", help="end stdout with a JSON summary")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.records < 1:
        raise ConfigError(f"--records must be at least 1, got {args.records}")
    if args.warm_epochs < 0:
        raise ConfigError(f"--warm-epochs must be 0 or more, got {args.warm_epochs}")
    from ..design import load_design

    design = load_design(args.config)
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
